/**
 * A multilayer perceptron on the {@linkcode Backend} kernels: dense layers `Y = X W + b` with
 * ReLU between them and none after the last, as the book's
 * `nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 1))` in the sequence-model section.
 *
 * As in the RNN model, all parameters live in one contiguous buffer and all gradients in another
 * with the same layout (`W_1, b_1, W_2, b_2, ...`), so an optimizer step is one kernel call.
 * Weights are stored `[fan_in, fan_out]` row-major (the book's `X W` orientation; PyTorch's
 * `nn.Linear.weight` is the transpose). An {@linkcode MlpWorkspace} holds the activations of up
 * to `maxBatch` rows: forward saves every layer's output, backward reads them.
 *
 * @module
 */
import type { Backend, FloatBuf } from "../backend/types.ts";
import type { Rng } from "../rng.ts";

/** The weight and bias of one dense layer (views of the shared buffer). */
export interface DenseParams {
  /** Weights `[fan_in, fan_out]`, row-major. */
  readonly W: FloatBuf;
  /** Bias `[fan_out]`. */
  readonly b: FloatBuf;
}

/** A dense network: its sizes, backend, and parameter and gradient buffers. */
export interface Mlp {
  /** The kernels the network runs on. */
  readonly backend: Backend;
  /** Widths from input to output, e.g. `[4, 10, 1]`. */
  readonly sizes: readonly number[];
  /** Total number of parameters. */
  readonly numParams: number;
  /** All parameters, contiguous: `W_1, b_1, W_2, b_2, ...`. */
  readonly params: FloatBuf;
  /** All gradients, same layout as `params`. */
  readonly grads: FloatBuf;
  /** Views of `params`, one entry per layer. */
  readonly layers: readonly DenseParams[];
  /** Views of `grads`, one entry per layer. */
  readonly gradients: readonly DenseParams[];
}

/** Activations and their gradients for minibatches of up to `maxBatch` rows. */
export interface MlpWorkspace {
  /** Capacity in rows. */
  readonly maxBatch: number;
  /** `acts[0]` the input `[B, sizes[0]]`; `acts[l]` layer l's output `[B, sizes[l]]` (after ReLU). */
  readonly acts: readonly FloatBuf[];
  /** `dacts[l]` the loss gradient with respect to `acts[l]`, for `l >= 1` (`dacts[0]` is unused). */
  readonly dacts: readonly FloatBuf[];
  /** `dz[l]` the gradient before layer l's ReLU, for hidden layers (others unused). */
  readonly dz: readonly FloatBuf[];
  /** Rows of the last {@linkcode mlpForward}, which {@linkcode mlpBackward} differentiates. */
  batch: number;
}

/**
 * Creates a network with Xavier-uniform weights, `U(±sqrt(6 / (fan_in + fan_out)))` (Glorot &
 * Bengio 2010, as `torch.nn.init.xavier_uniform_` with gain 1, which the book applies to the
 * weights only) and zero biases.
 *
 * @param backend The kernels to run on.
 * @param sizes Widths from input to output (at least two, each a positive integer).
 * @param rng The generator the weights are drawn from, layer by layer.
 * @returns The network.
 * @throws {RangeError} When `sizes` has fewer than two entries or one is not a positive integer.
 * @example The book's network
 * ```ts
 * import { createMlp } from "./mlp.ts";
 * import { createWasmBackend } from "../backend/wasm.ts";
 * import { Rng } from "../rng.ts";
 * const net = createMlp(createWasmBackend(), [4, 10, 1], new Rng(0));
 * console.log(net.numParams); // 4*10 + 10 + 10*1 + 1 = 61
 * ```
 */
export function createMlp(backend: Backend, sizes: readonly number[], rng: Rng): Mlp {
  if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new RangeError(
      `sizes must list at least two positive integers (input to output), got [${sizes}]`,
    );
  }
  const counts = sizes.slice(1).map((out, l) => [sizes[l] * out, out]);
  const numParams = counts.flat().reduce((a, b) => a + b, 0);
  const params = backend.alloc(numParams), grads = backend.alloc(numParams);
  const layers: DenseParams[] = [], gradients: DenseParams[] = [];
  let offset = 0;
  for (const [nW, nB] of counts) {
    layers.push({ W: backend.view(params, offset, nW), b: backend.view(params, offset + nW, nB) });
    gradients.push({ W: backend.view(grads, offset, nW), b: backend.view(grads, offset + nW, nB) });
    offset += nW + nB;
  }
  layers.forEach((layer, l) => {
    const bound = Math.sqrt(6 / (sizes[l] + sizes[l + 1]));
    const w = new Float64Array(layer.W.length);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * bound;
    backend.write(layer.W, w);
  });
  return { backend, sizes: [...sizes], numParams, params, grads, layers, gradients };
}

/**
 * Allocates the activations for minibatches of up to `maxBatch` rows.
 *
 * @param mlp The network.
 * @param maxBatch Most rows one forward pass may take.
 * @returns The workspace.
 * @throws {RangeError} When `maxBatch` is not a positive integer.
 * @example Room for the book's minibatches of 16
 * ```ts
 * import { createMlp, createMlpWorkspace } from "./mlp.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { Rng } from "../rng.ts";
 * const net = createMlp(createReferenceBackend(), [4, 10, 1], new Rng(0));
 * console.log(createMlpWorkspace(net, 16).acts[1].length); // 160
 * ```
 */
export function createMlpWorkspace(mlp: Mlp, maxBatch: number): MlpWorkspace {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  }
  const be = mlp.backend, L = mlp.sizes.length - 1;
  const acts = mlp.sizes.map((s) => be.alloc(maxBatch * s));
  // No gradient for the input, and none before the output layer's (absent) activation.
  const dacts = mlp.sizes.map((s, l) => be.alloc(l === 0 ? 0 : maxBatch * s));
  const dz = mlp.sizes.map((s, l) => be.alloc(l === 0 || l === L ? 0 : maxBatch * s));
  return { maxBatch, acts, dacts, dz, batch: 0 };
}

/**
 * The forward pass: `a_0 = x`, `a_{l+1} = relu(a_l W_{l+1} + b_{l+1})` for hidden layers and no
 * activation after the last. Saves every layer's output in the workspace for
 * {@linkcode mlpBackward}.
 *
 * @param mlp The network.
 * @param ws A workspace of this network.
 * @param x Input rows, row-major `[batch, sizes[0]]`.
 * @param batch Number of rows (1 to `ws.maxBatch`).
 * @returns A copy of the outputs, row-major `[batch, sizes[L]]`.
 * @throws {RangeError} When `batch` is out of range or `x` holds the wrong number of values.
 * @example Two rows through a 2 → 3 → 1 network
 * ```ts
 * import { createMlp, createMlpWorkspace, mlpForward } from "./mlp.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { Rng } from "../rng.ts";
 * const net = createMlp(createReferenceBackend(), [2, 3, 1], new Rng(1));
 * const ws = createMlpWorkspace(net, 2);
 * console.log((await mlpForward(net, ws, new Float64Array([1, 2, 3, 4]), 2)).length); // 2
 * ```
 */
export function mlpForward(
  mlp: Mlp,
  ws: MlpWorkspace,
  x: ArrayLike<number>,
  batch: number,
): Promise<Float32Array | Float64Array> {
  const { backend: be, sizes } = mlp;
  const L = sizes.length - 1;
  if (!Number.isInteger(batch) || batch < 1 || batch > ws.maxBatch) {
    throw new RangeError(`batch must be an integer in [1, ${ws.maxBatch}], got ${batch}`);
  }
  if (x.length !== batch * sizes[0]) {
    throw new RangeError(
      `x must hold batch × ${sizes[0]} = ${batch * sizes[0]} values, got ${x.length}`,
    );
  }
  be.write(ws.acts[0], x);
  for (let l = 0; l < L; l++) {
    const nIn = sizes[l], nOut = sizes[l + 1];
    const out = be.view(ws.acts[l + 1], 0, batch * nOut);
    be.fill(out, 0);
    be.matmulNN(out, ws.acts[l], mlp.layers[l].W, batch, nIn, nOut);
    be.biasForward(out, mlp.layers[l].b, batch, nOut);
    if (l < L - 1) be.reluForward(out, out, batch * nOut);
  }
  ws.batch = batch;
  return be.read(be.view(ws.acts[L], 0, batch * sizes[L]));
}

/**
 * Backpropagation through the last {@linkcode mlpForward}: given the loss gradient with respect
 * to the outputs, adds the gradients of every weight and bias into `mlp.grads` (the caller zeroes
 * them once per step).
 *
 * @param mlp The network.
 * @param ws The workspace of the last forward pass.
 * @param dOut Gradient with respect to the outputs, row-major `[batch, sizes[L]]`.
 * @returns Nothing; `mlp.grads` is accumulated.
 * @throws {RangeError} When no forward pass ran or `dOut` does not match its batch.
 * @example Gradients of the summed squared error of one row
 * ```ts
 * import { createMlp, createMlpWorkspace, mlpBackward, mlpForward } from "./mlp.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { Rng } from "../rng.ts";
 * const net = createMlp(createReferenceBackend(), [4, 10, 1], new Rng(0));
 * const ws = createMlpWorkspace(net, 1);
 * const [yHat] = await mlpForward(net, ws, [0.1, 0.2, 0.3, 0.4], 1);
 * net.backend.fill(net.grads, 0);
 * mlpBackward(net, ws, [2 * (yHat - 0.5)]); // d/dŷ (ŷ - y)²
 * console.log((await net.backend.read(net.grads)).length); // 61
 * ```
 */
export function mlpBackward(mlp: Mlp, ws: MlpWorkspace, dOut: ArrayLike<number>): void {
  const { backend: be, sizes } = mlp;
  const L = sizes.length - 1, B = ws.batch;
  if (B < 1) throw new RangeError("mlpBackward needs a forward pass first (mlpForward)");
  if (dOut.length !== B * sizes[L]) {
    throw new RangeError(
      `dOut must hold ${B} × ${sizes[L]} = ${B * sizes[L]} values (the last forward's batch), ` +
        `got ${dOut.length}`,
    );
  }
  be.write(ws.dacts[L], dOut);
  for (let l = L - 1; l >= 0; l--) {
    const nIn = sizes[l], nOut = sizes[l + 1];
    let dz = be.view(ws.dacts[l + 1], 0, B * nOut);
    if (l < L - 1) {
      // Through the ReLU, from its saved output: dz = (a > 0) · da.
      const dzl = be.view(ws.dz[l + 1], 0, B * nOut);
      be.fill(dzl, 0);
      be.reluBackward(dzl, ws.acts[l + 1], dz, B * nOut);
      dz = dzl;
    }
    be.matmulTN(mlp.gradients[l].W, ws.acts[l], dz, nIn, B, nOut);
    be.biasBackward(mlp.gradients[l].b, dz, B, nOut);
    if (l > 0) {
      const din = be.view(ws.dacts[l], 0, B * nIn);
      be.fill(din, 0);
      be.matmulNT(din, dz, mlp.layers[l].W, B, nOut, nIn);
    }
  }
}
