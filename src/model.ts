/**
 * The character-level RNN language model of Dive into Deep Learning ("RNN from scratch"):
 * `H_t = act(X_t W_xh + H_{t-1} W_hh + b_h)`, `O_t = H_t W_hq + b_q`, with one-hot inputs `X_t`
 * (computed as a row gather of `W_xh`).
 *
 * All parameters live in one contiguous backend buffer and all gradients in another with the same
 * layout, so the global norm, clipping and the update are one kernel call each. A
 * {@linkcode Workspace} holds the activations of one minibatch shape.
 *
 * @module
 */
import { createWasmBackend } from "./backend/wasm.ts";
import type { ActivationCode, Backend, Buf, IndexBuf } from "./backend/types.ts";
import { Rng } from "./rng.ts";

/** The parameter names, in the book's notation and in storage order. */
export const PARAM_NAMES = ["W_xh", "W_hh", "b_h", "W_hq", "b_q"] as const;

/** One of {@linkcode PARAM_NAMES}. */
export type ParamName = typeof PARAM_NAMES[number];

/** Nonlinearity of the recurrent cell. */
export type Activation = "tanh" | "relu";

/** Sizes and choices that define a model. */
export interface ModelConfig {
  /** Number of tokens in the vocabulary (`V`). */
  vocabSize: number;
  /** Hidden units (`H`); the book uses 256. */
  hidden: number;
  /** `"tanh"` (the book's) or `"relu"`. */
  activation: Activation;
}

/** Options of {@linkcode createModel}. */
export interface CreateModelOptions {
  /** Kernels to run on; default: a new WebAssembly backend. */
  backend?: Backend;
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /** Standard deviation of the normal initial weights (biases start at zero); default 0.01. */
  initScale?: number;
}

/** A model: its configuration, backend and parameter and gradient buffers. */
export interface RnnModel {
  /** The sizes and activation. */
  readonly config: Readonly<ModelConfig>;
  /** The kernels the model runs on. */
  readonly backend: Backend;
  /** Total number of parameters. */
  readonly numParams: number;
  /** All parameters, contiguous, in the order of {@linkcode PARAM_NAMES}. */
  readonly params: Buf;
  /** All gradients, same layout as `params`. */
  readonly grads: Buf;
  /** Views of `params`, one per parameter. */
  readonly weights: Readonly<Record<ParamName, Buf>>;
  /** Views of `grads`, one per parameter. */
  readonly gradients: Readonly<Record<ParamName, Buf>>;
}

/**
 * The shape of each parameter in the book's orientation (`X W`, row-major).
 *
 * @param config Vocabulary size and hidden units.
 * @returns Shapes by name: `W_xh` [V,H], `W_hh` [H,H], `b_h` [H], `W_hq` [H,V], `b_q` [V].
 * @example Shapes of the default model
 * ```ts
 * import { paramShapes } from "./model.ts";
 * console.log(paramShapes({ vocabSize: 1027, hidden: 256 }).W_hq); // [256, 1027]
 * ```
 */
export function paramShapes(
  config: Pick<ModelConfig, "vocabSize" | "hidden">,
): Record<ParamName, number[]> {
  const { vocabSize: V, hidden: H } = config;
  return { W_xh: [V, H], W_hh: [H, H], b_h: [H], W_hq: [H, V], b_q: [V] };
}

function checkConfig(config: ModelConfig): void {
  for (const key of ["vocabSize", "hidden"] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }
  if (config.activation !== "tanh" && config.activation !== "relu") {
    throw new RangeError(`activation must be "tanh" or "relu", got ${String(config.activation)}`);
  }
}

/**
 * Creates a model with weights drawn from N(0, initScale²) and zero biases, as in the book.
 *
 * @param config Vocabulary size, hidden units and activation.
 * @param options Backend, seed and initial scale.
 * @returns The model.
 * @example A small model on the reference backend
 * ```ts
 * import { createModel } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel(
 *   { vocabSize: 10, hidden: 8, activation: "tanh" },
 *   { backend: createReferenceBackend(), seed: 1 },
 * );
 * console.log(model.numParams); // 10*8 + 8*8 + 8 + 8*10 + 10 = 242
 * ```
 */
export function createModel(config: ModelConfig, options: CreateModelOptions = {}): RnnModel {
  checkConfig(config);
  const backend = options.backend ?? createWasmBackend();
  const shapes = paramShapes(config);
  const sizes = PARAM_NAMES.map((name) => shapes[name].reduce((a, b) => a * b, 1));
  const numParams = sizes.reduce((a, b) => a + b, 0);
  const params = backend.alloc(numParams);
  const grads = backend.alloc(numParams);
  const weights = {} as Record<ParamName, Buf>;
  const gradients = {} as Record<ParamName, Buf>;
  let offset = 0;
  PARAM_NAMES.forEach((name, i) => {
    weights[name] = backend.view(params, offset, sizes[i]);
    gradients[name] = backend.view(grads, offset, sizes[i]);
    offset += sizes[i];
  });
  const model: RnnModel = {
    config: { ...config },
    backend,
    numParams,
    params,
    grads,
    weights,
    gradients,
  };
  const rng = new Rng(options.seed ?? 0);
  const scale = options.initScale ?? 0.01;
  for (const name of ["W_xh", "W_hh", "W_hq"] as const) {
    const values = new Float64Array(weights[name].length);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
    backend.write(weights[name], values);
  }
  return model;
}

/**
 * Copies the parameters out of the backend.
 *
 * @param model The model.
 * @returns One array per parameter, row-major in the shapes of {@linkcode paramShapes}.
 * @example Read the output bias
 * ```ts
 * import { createModel, getWeights } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 3, hidden: 2, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * console.log(Array.from(getWeights(model).b_q)); // [0, 0, 0]
 * ```
 */
export function getWeights(model: RnnModel): Record<ParamName, Float32Array | Float64Array> {
  const out = {} as Record<ParamName, Float32Array | Float64Array>;
  for (const name of PARAM_NAMES) out[name] = model.backend.read(model.weights[name]);
  return out;
}

/**
 * Copies parameters into the model; sizes must match {@linkcode paramShapes}.
 *
 * @param model The model.
 * @param values One array per parameter (all of them).
 * @example Zero every weight
 * ```ts
 * import { createModel, getWeights, setWeights } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 3, hidden: 2, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const w = getWeights(model);
 * for (const a of Object.values(w)) a.fill(0);
 * setWeights(model, w);
 * ```
 */
export function setWeights(
  model: RnnModel,
  values: Readonly<Record<ParamName, ArrayLike<number>>>,
): void {
  for (const name of PARAM_NAMES) {
    const data = values[name];
    const expected = model.weights[name].length;
    if (!data || data.length !== expected) {
      throw new TypeError(
        `${name} must have ${expected} values, got ${data ? data.length : "none"}`,
      );
    }
  }
  for (const name of PARAM_NAMES) model.backend.write(model.weights[name], values[name]);
}

/**
 * Activations and their gradients for minibatches of up to `maxSteps` steps of `batchSize`
 * rows. Allocated once and reused for every minibatch.
 */
export interface Workspace {
  /** Capacity in time steps (`T`). */
  readonly maxSteps: number;
  /** Rows per minibatch (`B`). */
  readonly batchSize: number;
  /** Inputs, time-major [T,B]. */
  readonly inputs: IndexBuf;
  /** Targets, time-major [T,B]. */
  readonly targets: IndexBuf;
  /** Input products plus bias [T,B,H]. */
  readonly zin: Buf;
  /** Hidden states [T+1,B,H]; block 0 is the initial state. */
  readonly states: Buf;
  /** Logits, then probabilities, then their gradient [T·B,V]. */
  readonly logits: Buf;
  /** Gradients of the hidden states [T+1,B,H]. */
  readonly dstates: Buf;
  /** Gradient of `zin` [T,B,H]. */
  readonly dzin: Buf;
  /** JS-side scratch for transposing [B,T] minibatches to time-major. */
  readonly scratch: Int32Array;
}

/**
 * Allocates the activations for minibatches of `batchSize` rows and up to `maxSteps` steps.
 *
 * @param model The model.
 * @param maxSteps Longest sequence the workspace can hold.
 * @param batchSize Rows per minibatch.
 * @returns The workspace; its initial state is zero.
 * @example A workspace for the book's minibatches
 * ```ts
 * import { createModel, createWorkspace } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 35, 32);
 * console.log(ws.states.length); // 36 * 32 * 4
 * ```
 */
export function createWorkspace(model: RnnModel, maxSteps: number, batchSize: number): Workspace {
  for (const [key, v] of [["steps", maxSteps], ["batch size", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }
  const be = model.backend;
  const { hidden: H, vocabSize: V } = model.config;
  const n = maxSteps * batchSize;
  return {
    maxSteps,
    batchSize,
    inputs: be.allocIndices(n),
    targets: be.allocIndices(n),
    zin: be.alloc(n * H),
    states: be.alloc((maxSteps + 1) * batchSize * H),
    logits: be.alloc(n * V),
    dstates: be.alloc((maxSteps + 1) * batchSize * H),
    dzin: be.alloc(n * H),
    scratch: new Int32Array(n),
  };
}

const activationCode = (model: RnnModel): ActivationCode =>
  model.config.activation === "tanh" ? 0 : 1;

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
 * import { createModel, createWorkspace, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 3, 1);
 * writeTokens(model, ws, Int32Array.of(0, 1, 2), 3, "inputs");
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
 * Sets the initial hidden state (block 0 of `ws.states`) to zero, as at the start of an epoch.
 *
 * @param model The model.
 * @param ws The workspace.
 * @example Reset before a new sequence
 * ```ts
 * import { createModel, createWorkspace, resetState } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * resetState(model, createWorkspace(model, 3, 2));
 * ```
 */
export function resetState(model: RnnModel, ws: Workspace): void {
  const block = ws.batchSize * model.config.hidden;
  model.backend.fill(model.backend.view(ws.states, 0, block), 0);
}

/**
 * Makes the last state of the previous `steps`-step sequence the initial state of the next one.
 * Gradients never flow across (the book's `detach`): backward stops at block 0.
 *
 * @param model The model.
 * @param ws The workspace.
 * @param steps Steps of the sequence just run.
 * @example Carry the state between consecutive minibatches
 * ```ts
 * import { carryState, createModel, createWorkspace } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * carryState(model, createWorkspace(model, 3, 2), 3);
 * ```
 */
export function carryState(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend;
  const block = ws.batchSize * model.config.hidden;
  be.copy(be.view(ws.states, 0, block), be.view(ws.states, steps * block, block));
}

/**
 * Runs the recurrent layer over `steps` steps from the state in block 0 of `ws.states`.
 *
 * @param model The model.
 * @param ws The workspace, with inputs written.
 * @param steps Steps to run.
 * @example Hidden states of a short sequence
 * ```ts
 * import { createModel, createWorkspace, forwardHidden, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * forwardHidden(model, ws, 2);
 * ```
 */
export function forwardHidden(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend, w = model.weights;
  const { hidden: H } = model.config;
  const n = steps * ws.batchSize;
  const zin = be.view(ws.zin, 0, n * H);
  be.fill(zin, 0);
  be.gatherRowsForward(zin, ws.inputs, w.W_xh, n, H);
  be.biasForward(zin, w.b_h, n, H);
  be.rnnForward(ws.states, zin, w.W_hh, steps, ws.batchSize, H, activationCode(model));
}

/**
 * Computes the logits of every step at once from the hidden states: `O = H W_hq + b_q`.
 *
 * @param model The model.
 * @param ws The workspace, after {@linkcode forwardHidden}.
 * @param steps Steps to project.
 * @returns The logits view [steps·B, V].
 * @example Logits of one step
 * ```ts
 * import { createModel, createWorkspace, forwardHidden, forwardLogits, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 1, 1);
 * writeTokens(model, ws, [3], 1, "inputs");
 * forwardHidden(model, ws, 1);
 * console.log(model.backend.read(forwardLogits(model, ws, 1)).length); // 5
 * ```
 */
export function forwardLogits(model: RnnModel, ws: Workspace, steps: number): Buf {
  const be = model.backend, w = model.weights;
  const { hidden: H, vocabSize: V } = model.config;
  const n = steps * ws.batchSize;
  const hs = be.view(ws.states, ws.batchSize * H, n * H);
  const logits = be.view(ws.logits, 0, n * V);
  be.fill(logits, 0);
  be.matmulNN(logits, hs, w.W_hq, n, H, V);
  be.biasForward(logits, w.b_q, n, V);
  return logits;
}

/**
 * The forward pass with the loss: returns the summed cross-entropy of `steps·B` predictions and
 * leaves the probabilities in `ws.logits` for {@linkcode backward}.
 *
 * @param model The model.
 * @param ws The workspace, with inputs, targets and the initial state written.
 * @param steps Steps in this minibatch.
 * @returns Sum of `-log p(target)` over all predictions (divide by `steps·B` for the mean).
 * @example The loss of a uniform model is log V per prediction
 * ```ts
 * import { createModel, createWorkspace, forwardLoss, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(), initScale: 0,
 * });
 * const ws = createWorkspace(model, 2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * writeTokens(model, ws, [2, 3], 2, "targets");
 * console.log(forwardLoss(model, ws, 2) / 2); // Math.log(5)
 * ```
 */
export function forwardLoss(model: RnnModel, ws: Workspace, steps: number): number {
  forwardHidden(model, ws, steps);
  const logits = forwardLogits(model, ws, steps);
  const n = steps * ws.batchSize;
  return model.backend.softmaxXentForward(logits, logits, ws.targets, n, model.config.vocabSize);
}

/**
 * Backpropagation through time of the mean loss of the last {@linkcode forwardLoss}; adds the
 * gradients into `model.grads` (the caller zeroes them once per step).
 *
 * @param model The model.
 * @param ws The workspace, right after {@linkcode forwardLoss} with the same `steps`.
 * @param steps Steps in this minibatch.
 * @example Gradients of one minibatch
 * ```ts
 * import { backward, createModel, createWorkspace, forwardLoss, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(), seed: 3,
 * });
 * const ws = createWorkspace(model, 2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * writeTokens(model, ws, [2, 3], 2, "targets");
 * forwardLoss(model, ws, 2);
 * backward(model, ws, 2);
 * ```
 */
export function backward(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend, w = model.weights, g = model.gradients;
  const { hidden: H, vocabSize: V } = model.config;
  const B = ws.batchSize, n = steps * B;
  const dlogits = be.view(ws.logits, 0, n * V);
  const hs = be.view(ws.states, B * H, n * H);
  const dstates = be.view(ws.dstates, 0, (steps + 1) * B * H);
  const dhs = be.view(ws.dstates, B * H, n * H);
  const dzin = be.view(ws.dzin, 0, n * H);
  be.softmaxXentBackward(dlogits, dlogits, ws.targets, n, V, 1 / n);
  be.fill(dstates, 0);
  be.fill(dzin, 0);
  be.matmulTN(g.W_hq, hs, dlogits, H, n, V);
  be.biasBackward(g.b_q, dlogits, n, V);
  be.matmulNT(dhs, dlogits, w.W_hq, n, V, H);
  be.rnnBackward(dzin, g.W_hh, dstates, ws.states, w.W_hh, steps, B, H, activationCode(model));
  be.gatherRowsBackward(g.W_xh, ws.inputs, dzin, n, H);
  be.biasBackward(g.b_h, dzin, n, H);
}

const workspaceCache = new WeakMap<RnnModel, Map<number, Workspace>>();

/**
 * A workspace of `batchSize` rows holding at least `minSteps` steps, reused across calls (for
 * generation and evaluation, which would otherwise allocate on every call). Capacity doubles when
 * a longer sequence comes, so the arena grows at most logarithmically.
 *
 * @param model The model.
 * @param minSteps Steps the workspace must hold.
 * @param batchSize Rows.
 * @returns A shared workspace; its contents are the caller's until the next call.
 * @example Reuse across calls
 * ```ts
 * import { createModel, sharedWorkspace } from "./model.ts";
 * import { createReferenceBackend } from "./backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * console.log(sharedWorkspace(model, 3, 1) === sharedWorkspace(model, 2, 1)); // true
 * ```
 */
export function sharedWorkspace(model: RnnModel, minSteps: number, batchSize: number): Workspace {
  let byBatch = workspaceCache.get(model);
  if (!byBatch) workspaceCache.set(model, byBatch = new Map());
  const ws = byBatch.get(batchSize);
  if (ws && ws.maxSteps >= minSteps) return ws;
  const steps = Math.max(minSteps, 2 * (ws?.maxSteps ?? 16));
  const fresh = createWorkspace(model, steps, batchSize);
  byBatch.set(batchSize, fresh);
  return fresh;
}
