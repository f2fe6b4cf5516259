/**
 * The forward pass: tokens into the workspace, the recurrent layers step by step, the output
 * layer, and the loss. Each layer's outputs feed the next; the first layer's one-hot product is a
 * row gather.
 *
 * @module
 */
import type { Backend, FloatBuf, PackedBuf } from "../backend/types.ts";
import type { ModelConfig } from "../config/settings.ts";
import type { Rng } from "../rng.ts";
import type { LayerParams, PreparedWeights, RnnModel } from "./model.ts";
import { gateWidth } from "./params.ts";
import type { LayerWorkspace, Workspace } from "./workspace.ts";

/** Dropout between stacked layers during training (PyTorch's `nn.RNN(dropout=p)`). */
export interface Dropout {
  /** The probability of dropping each output of a layer below the top one, in [0, 1). */
  readonly p: number;
  /** Draws the masks. */
  readonly rng: Rng;
}

/**
 * Writes a [B,T] row-major minibatch of token indices into the workspace, time-major.
 *
 * @param model The model.
 * @param ws The workspace.
 * @param tokens Indices, row-major [batchSize, steps].
 * @param steps Steps in this minibatch (at most `ws.maxSteps`).
 * @param into `"inputs"` or `"targets"`.
 * @example Write one minibatch
 * ```ts
 * import { createModel } from "./model.ts";
 * import { writeTokens } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 });
 * const ws = model.acquireWorkspace(3, 1);
 * writeTokens(model, ws, Int32Array.of(0, 1, 2), 3, "inputs");
 * model.releaseWorkspace(ws);
 * ```
 */
export function writeTokens(
  model: RnnModel,
  ws: Workspace,
  tokens: ArrayLike<number>,
  steps: number,
  into: "inputs" | "targets",
): void {
  const B = ws.batchSize, V = model.config.vocabSize;
  if (steps < 1 || steps > ws.maxSteps || tokens.length !== B * steps) {
    throw new RangeError(
      `a minibatch of ${B}x${steps} tokens was expected (at most ${ws.maxSteps} steps), ` +
        `got ${tokens.length} tokens`,
    );
  }
  const s = ws.scratch;
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < steps; t++) {
      const token = tokens[r * steps + t];
      if (!(token >= 0 && token < V)) {
        throw new RangeError(`token index ${token} is outside the vocabulary [0, ${V})`);
      }
      s[t * B + r] = token;
    }
  }
  model.backend.writeIndices(into === "inputs" ? ws.inputs : ws.targets, s.subarray(0, B * steps));
}

/**
 * Sets every layer's initial state (and LSTM memory cell) to zero, as at the start of an epoch.
 *
 * @param model The model.
 * @param ws The workspace.
 * @example Reset before a new sequence
 * ```ts
 * import { createModel } from "./model.ts";
 * import { resetState } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 });
 * resetState(model, model.acquireWorkspace(3, 2));
 * ```
 */
export function resetState(model: RnnModel, ws: Workspace): void {
  const be = model.backend, block = ws.batchSize * model.config.hidden;
  for (const layer of ws.layers) {
    be.fill(be.view(layer.states, 0, block), 0);
    if (layer.cells) be.fill(be.view(layer.cells, 0, block), 0);
  }
}

/**
 * Makes the last state of the previous `steps`-step sequence the initial state of the next one,
 * in every layer (and for the LSTM's memory cells too). Gradients never flow across (the book's
 * `detach`): backward stops at block 0.
 *
 * @param model The model.
 * @param ws The workspace.
 * @param steps Steps of the sequence just run.
 * @example Carry the state between consecutive minibatches
 * ```ts
 * import { createModel } from "./model.ts";
 * import { carryState } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 });
 * carryState(model, model.acquireWorkspace(3, 2), 3);
 * ```
 */
export function carryState(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend, block = ws.batchSize * model.config.hidden;
  for (const layer of ws.layers) {
    for (const buf of layer.cells ? [layer.states, layer.cells] : [layer.states]) {
      be.copy(be.view(buf, 0, block), be.view(buf, steps * block, block));
    }
  }
}

/**
 * Runs the recurrent layers over `steps` steps from the states in block 0, each layer's outputs
 * feeding the next.
 *
 * @param model The model.
 * @param ws The workspace, with inputs written.
 * @param steps Steps to run.
 * @param dropout Dropout between layers (training only); none by default.
 * @param prepared The weights prepared for few rows (generation); the same numbers.
 * @example Hidden states of a short sequence
 * ```ts
 * import { createModel } from "./model.ts";
 * import { forwardHidden, writeTokens } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, cell: "gru" });
 * const ws = model.acquireWorkspace(2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * forwardHidden(model, ws, 2);
 * ```
 */
export function forwardHidden(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
  prepared?: PreparedWeights,
): void {
  const be = model.backend;
  const H = model.config.hidden;
  const B = ws.batchSize, n = steps * B, G = gateWidth(model.config);
  const drop = dropout && dropout.p > 0 ? dropout : undefined;
  model.layers.forEach((p, l) => {
    const w = ws.layers[l];
    const zin = be.view(w.zin, 0, n * G);
    be.fill(zin, 0);
    const I = model.config.inputSize;
    // One-hot tokens make the first layer's product a row gather; dense inputs a product.
    if (l > 0) be.matmulNN(zin, layerInput(model, ws, l - 1, steps, drop), p.W_x, n, H, G);
    else if (I > 0) be.matmulNN(zin, be.view(ws.x!, 0, n * I), p.W_x, n, I, G);
    else be.gatherRowsForward(zin, ws.inputs, p.W_x, n, G);
    be.biasForward(zin, p.b, n, G);
    cellForward(be, model.config, p, w, zin, steps, B, prepared?.W_h[l]);
  });
}

/**
 * One layer's recurrence over `steps` steps from its state in block 0, given its input products
 * plus bias `zin` [T,B,G]: the cell's forward kernel, for the language model and the layer
 * objects alike.
 *
 * @param be The kernels.
 * @param config The cell, hidden size, nonlinearity and GRU variant.
 * @param p The layer's parameters.
 * @param w The layer's activations (its states, cells and saved gates are written).
 * @param zin The input products plus bias.
 * @param steps Steps to run.
 * @param B Rows.
 * @param whPacked `W_h` packed for few rows (generation); the same numbers.
 */
export function cellForward(
  be: Backend,
  config: Pick<ModelConfig, "hidden" | "cell" | "activation" | "gruVariant">,
  p: LayerParams,
  w: LayerWorkspace,
  zin: FloatBuf,
  steps: number,
  B: number,
  whPacked?: PackedBuf,
): void {
  const { hidden: H, cell, activation, gruVariant } = config;
  if (cell === "rnn") {
    be.rnnForward(w.states, zin, p.W_h, steps, B, H, activation, whPacked);
  } else if (cell === "gru") {
    // PyTorch's variant applies the reset gate after the product and adds b_hn inside it.
    be.gruForward(
      w.states,
      w.gates!,
      w.hn!,
      zin,
      p.W_h,
      p.b_hn,
      steps,
      B,
      H,
      gruVariant,
      whPacked,
    );
  } else {
    be.lstmForward(w.states, w.cells!, w.gates!, zin, p.W_h, steps, B, H, whPacked);
  }
}

/**
 * The outputs of layer `l` as the next layer reads them: its states, or with dropout the states
 * times a freshly drawn mask (inverted dropout: kept values are scaled by 1/(1−p)).
 */
function layerInput(
  model: RnnModel,
  ws: Workspace,
  l: number,
  steps: number,
  dropout: Dropout | undefined,
): FloatBuf {
  const be = model.backend, w = ws.layers[l];
  const n = steps * ws.batchSize * model.config.hidden;
  const outputs = be.view(w.states, ws.batchSize * model.config.hidden, n);
  if (!dropout) return outputs;
  const mask = w.maskValues!.subarray(0, n), keep = 1 / (1 - dropout.p);
  for (let i = 0; i < n; i++) mask[i] = dropout.rng.next() < dropout.p ? 0 : keep;
  be.write(w.mask!, mask);
  const dropped = be.view(w.dropped!, 0, n);
  be.dropoutForward(dropped, outputs, be.view(w.mask!, 0, n), n);
  return dropped;
}

/**
 * Computes the logits of every step at once from the top layer's states: `O = H W_hq + b_q`.
 *
 * @param model The model.
 * @param ws The workspace, after {@linkcode forwardHidden}.
 * @param steps Steps to project.
 * @param prepared The weights prepared for few rows (generation); the same numbers.
 * @returns The logits view [steps·B, V].
 * @example Logits of one step
 * ```ts
 * import { createModel } from "./model.ts";
 * import { forwardHidden, forwardLogits, writeTokens } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 });
 * const ws = model.acquireWorkspace(1, 1);
 * writeTokens(model, ws, [3], 1, "inputs");
 * forwardHidden(model, ws, 1);
 * console.log((await model.backend.read(forwardLogits(model, ws, 1))).length); // 5
 * ```
 */
export function forwardLogits(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  prepared?: PreparedWeights,
): FloatBuf {
  const be = model.backend, out = model.output!;
  const { hidden: H, vocabSize: V } = model.config;
  const n = steps * ws.batchSize;
  const hs = be.view(ws.layers[ws.layers.length - 1].states, ws.batchSize * H, n * H);
  const logits = be.view(ws.logits!, 0, n * V);
  be.fill(logits, 0);
  // An 8-bit model computes its logits in 8 bits, in generation and evaluation alike.
  if (model.quantized) be.matmulInt8(logits, hs, (prepared ?? model.prepared()).W_hq!, n, H, V);
  else if (prepared) be.matmulPacked(logits, hs, prepared.W_hq!, n, H, V);
  else be.matmulNN(logits, hs, out.W_hq, n, H, V);
  be.biasForward(logits, out.b_q, n, V);
  return logits;
}

/**
 * The forward pass with the loss: adds the summed cross-entropy of `steps·B` predictions to the
 * `loss` slot of `ws.stats` (see `STAT`) and leaves the probabilities in `ws.logits` for
 * `backward`. Nothing is read back: the caller reads the statistics when it needs the number.
 *
 * @param model The model.
 * @param ws The workspace, with inputs, targets and the initial state written.
 * @param steps Steps in this minibatch.
 * @param dropout Dropout between layers (training only); none by default.
 * @example The loss of a uniform model is log V per prediction
 * ```ts
 * import { STAT } from "../backend/types.ts";
 * import { createModel } from "./model.ts";
 * import { forwardLoss, writeTokens } from "./forward.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 }, { initScale: 0 });
 * const ws = model.acquireWorkspace(2, 1);
 * model.backend.fill(ws.stats, 0);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * writeTokens(model, ws, [2, 3], 2, "targets");
 * forwardLoss(model, ws, 2);
 * console.log((await model.backend.readScalars(ws.stats))[STAT.loss] / 2); // Math.log(5)
 * ```
 */
export function forwardLoss(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
): void {
  forwardHidden(model, ws, steps, dropout);
  const logits = forwardLogits(model, ws, steps);
  const n = steps * ws.batchSize;
  model.backend.softmaxXentForward(logits, logits, ws.targets, n, model.config.vocabSize, ws.stats);
}
