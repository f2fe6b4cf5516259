/**
 * Backpropagation through time: from the loss's gradient at the logits down through the output
 * layer and every recurrent layer, adding into the model's gradients.
 *
 * @module
 */
import type { Backend, FloatBuf } from "../backend/types.ts";
import type { ModelConfig } from "../config/settings.ts";
import type { Dropout } from "./forward.ts";
import type { LayerParams, RnnModel } from "./model.ts";
import { gateWidth } from "./params.ts";
import type { LayerWorkspace, Workspace } from "./workspace.ts";

/**
 * Backpropagation through time of the mean loss of the last `forwardLoss`, through
 * every layer from the top; adds the gradients into `model.grads` (the caller zeroes them once
 * per step). Afterwards each layer's `dstates` block 0 (and `dcells` block 0) holds the gradient
 * with respect to its initial state.
 *
 * @param model The model.
 * @param ws The workspace, right after `forwardLoss` with the same `steps`.
 * @param steps Steps in this minibatch.
 * @param dropout The dropout given to `forwardLoss`, whose masks it reuses.
 * @example Gradients of one minibatch
 * ```ts
 * import { createModel } from "./model.ts";
 * import { forwardLoss, writeTokens } from "./forward.ts";
 * import { backward } from "./backward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, layers: 2 }, { seed: 3 });
 * const ws = model.acquireWorkspace(2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * writeTokens(model, ws, [2, 3], 2, "targets");
 * forwardLoss(model, ws, 2);
 * backward(model, ws, 2);
 * ```
 */
export function backward(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
): void {
  const be = model.backend, out = model.output!, dout = model.outputGrads!;
  const { hidden: H, vocabSize: V } = model.config;
  const n = steps * ws.batchSize, block = ws.batchSize * H;
  const top = ws.layers[ws.layers.length - 1];
  const dlogits = be.view(ws.logits!, 0, n * V);
  be.softmaxXentBackward(dlogits, dlogits, ws.targets, n, V, 1 / n);
  clearGradients(model, ws, steps);
  be.biasBackward(dout.b_q, dlogits, n, V);
  be.matmulNT(be.view(top.dstates, block, n * H), dlogits, out.W_hq, n, V, H);
  // dW_hq reads only the top states and dlogits, which the recurrent backward leaves alone, so
  // a backend may overlap it with backpropagation through time, whose steps cannot be split.
  be.matmulTN(dout.W_hq, be.view(top.states, block, n * H), dlogits, H, n, V);
  backwardHidden(model, ws, steps, dropout);
}

/**
 * Zeroes the workspace's state and input gradients for `steps` steps, before the gradient of the
 * top layer's outputs is written into its `dstates` (blocks 1..steps) for
 * {@linkcode backwardHidden}.
 *
 * @param model The model.
 * @param ws The workspace.
 * @param steps Steps of the last forward pass.
 * @example Before a layer's backward pass
 * ```ts
 * import { createModel } from "./model.ts";
 * import { clearGradients } from "./backward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 });
 * clearGradients(model, model.acquireWorkspace(2, 1), 2);
 * ```
 */
export function clearGradients(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend;
  const { hidden: H, inputSize: I } = model.config;
  const n = steps * ws.batchSize, G = gateWidth(model.config), block = ws.batchSize * H;
  for (const w of ws.layers) {
    be.fill(be.view(w.dstates, 0, (steps + 1) * block), 0);
    be.fill(be.view(w.dzin, 0, n * G), 0);
    if (w.dcells) be.fill(be.view(w.dcells, 0, (steps + 1) * block), 0);
  }
  if (I > 0) be.fill(be.view(ws.dx!, 0, n * I), 0);
}

/**
 * Backpropagation through time through the recurrent layers, from the gradient of the top
 * layer's outputs in its `dstates` (see {@linkcode clearGradients}); adds into the layers'
 * gradients and, for dense inputs, writes the inputs' gradient into `ws.dx`.
 *
 * @param model The model.
 * @param ws The workspace, right after the forward pass.
 * @param steps Steps of the forward pass.
 * @param dropout The dropout given to the forward pass, whose masks it reuses.
 * @example Through a bare stack
 * ```ts
 * import { createModel } from "./model.ts";
 * import { forwardHidden } from "./forward.ts";
 * import { backwardHidden, clearGradients } from "./backward.ts";
 * const model = createModel({ vocabSize: 0, inputSize: 3, hidden: 4 });
 * const ws = model.acquireWorkspace(2, 1);
 * forwardHidden(model, ws, 2);
 * clearGradients(model, ws, 2);
 * backwardHidden(model, ws, 2);
 * ```
 */
export function backwardHidden(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
): void {
  const be = model.backend;
  const { hidden: H, inputSize: I } = model.config;
  const B = ws.batchSize, n = steps * B, G = gateWidth(model.config), block = B * H;
  for (let l = model.layers.length - 1; l >= 0; l--) {
    const p = model.layers[l], g = model.layerGrads[l], w = ws.layers[l];
    const dzin = be.view(w.dzin, 0, n * G);
    cellBackward(be, model.config, p, g, w, dzin, steps, B);
    be.biasBackward(g.b, dzin, n, G);
    if (l === 0) {
      if (I > 0) {
        be.matmulTN(g.W_x, be.view(ws.x!, 0, n * I), dzin, I, n, G);
        be.matmulNT(be.view(ws.dx!, 0, n * I), dzin, p.W_x, n, G, I);
      } else {
        be.gatherRowsBackward(g.W_x, ws.inputs, dzin, n, G);
      }
    } else {
      // The layer below's outputs were this layer's inputs: dW_x += Xᵀ·dZ, dX += dZ·W_xᵀ.
      const below = ws.layers[l - 1];
      const belowOut = be.view(below.dstates, block, n * H);
      if (dropout && dropout.p > 0) {
        const ddropped = be.view(below.ddropped!, 0, n * H);
        be.fill(ddropped, 0);
        be.matmulTN(g.W_x, be.view(below.dropped!, 0, n * H), dzin, H, n, G);
        be.matmulNT(ddropped, dzin, p.W_x, n, G, H);
        be.dropoutBackward(belowOut, be.view(below.mask!, 0, n * H), ddropped, n * H);
      } else {
        be.matmulTN(g.W_x, be.view(below.states, block, n * H), dzin, H, n, G);
        be.matmulNT(belowOut, dzin, p.W_x, n, G, H);
      }
    }
  }
}

/**
 * One layer's backpropagation through time: from the gradient of its states in `dstates`
 * (blocks 1..steps, and the LSTM's `dcells`), writes `dzin` [T,B,G], adds into `g.W_h` (and
 * `g.b_hn`), and leaves the initial state's gradient in block 0. For the language model and the
 * layer objects alike.
 *
 * @param be The kernels.
 * @param config The cell, hidden size, nonlinearity and GRU variant.
 * @param p The layer's parameters.
 * @param g The layer's gradients.
 * @param w The layer's activations from the forward pass, and their gradients.
 * @param dzin Where the gradient of the input products goes.
 * @param steps Steps of the forward pass.
 * @param B Rows.
 */
export function cellBackward(
  be: Backend,
  config: Pick<ModelConfig, "hidden" | "cell" | "activation" | "gruVariant">,
  p: LayerParams,
  g: LayerParams,
  w: LayerWorkspace,
  dzin: FloatBuf,
  steps: number,
  B: number,
): void {
  const { hidden: H, cell, activation, gruVariant } = config;
  const dstates = be.view(w.dstates, 0, (steps + 1) * B * H);
  if (cell === "rnn") {
    be.rnnBackward(dzin, g.W_h, dstates, w.states, p.W_h, steps, B, H, activation);
  } else if (cell === "gru") {
    be.gruBackward(
      dzin,
      g.W_h,
      g.b_hn,
      dstates,
      w.states,
      w.gates!,
      w.hn!,
      p.W_h,
      steps,
      B,
      H,
      gruVariant,
    );
  } else {
    be.lstmBackward(
      dzin,
      g.W_h,
      dstates,
      w.dcells!,
      w.states,
      w.cells!,
      w.gates!,
      p.W_h,
      steps,
      B,
      H,
    );
  }
}
