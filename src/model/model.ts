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
import { createWasmBackend } from "../backend/wasm.ts";
import type { ActivationCode, Backend, Buf, IndexBuf } from "../backend/types.ts";
import { Rng } from "../rng.ts";

/** The parameter names of the one-layer vanilla RNN, in the book's notation and storage order. */
export const PARAM_NAMES = ["W_xh", "W_hh", "b_h", "W_hq", "b_q"] as const;

/** One of {@linkcode PARAM_NAMES}. */
export type ParamName = typeof PARAM_NAMES[number];

/** Nonlinearity of the vanilla recurrent cell. */
export type Activation = "tanh" | "relu";

/** The recurrent cell: the vanilla RNN, the GRU or the LSTM. */
export type CellType = "rnn" | "gru" | "lstm";

/**
 * The GRU's candidate: the book's `tanh(X W_xh + (R ⊙ H) W_hh + b_h)` (`"book"`), or PyTorch's
 * `tanh(X W_xh + b_h + R ⊙ (H W_hh + b_hn))` (`"pytorch"`, `nn.GRU`), which applies the reset gate
 * after the recurrent product and has one more bias `b_hn` [H] per layer.
 */
export type GruVariant = "book" | "pytorch";

/**
 * Each cell's gates in storage order (PyTorch's), with the book's letter for each: the GRU's reset
 * `r`, update `z` and candidate `h`; the LSTM's input `i`, forget `f`, candidate `c`, output `o`.
 */
export const GATES: Readonly<Record<CellType, readonly string[]>> = {
  rnn: ["h"],
  gru: ["r", "z", "h"],
  lstm: ["i", "f", "c", "o"],
};

/** Sizes and choices that define a model. */
export interface ModelConfig {
  /**
   * Number of tokens in the vocabulary (`V`): the width of the one-hot inputs and of the output
   * layer. 0, with `inputSize`, makes a bare recurrent stack with no output layer.
   */
  vocabSize: number;
  /** Dense inputs of this width instead of one-hot tokens (the layer objects); default 0: none. */
  inputSize?: number;
  /** Hidden units (`H`) of every layer; the book uses 256. */
  hidden: number;
  /** Activation of the vanilla cell, `"tanh"` (the book's) or `"relu"`; unused by GRU and LSTM. */
  activation: Activation;
  /** The cell; default `"rnn"`. */
  cell?: CellType;
  /** Recurrent layers stacked, each feeding the next; default 1. */
  layers?: number;
  /**
   * The GRU's candidate (see {@linkcode GruVariant}); default `"book"`. `"pytorch"` adds the
   * parameter `b_hn` [H] to every layer and is what `nn.GRU` computes; unused by RNN and LSTM.
   */
  gruVariant?: GruVariant;
}

/** Options of {@linkcode createModel}. */
export interface CreateModelOptions {
  /** Kernels to run on; default: a new WebAssembly backend. */
  backend?: Backend;
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /** Standard deviation of the normal initial weights (biases start at zero); default 0.01. */
  initScale?: number;
  /**
   * `"normal"` (the book's from-scratch models: weights N(0, initScale²), biases 0, the default)
   * or `"uniform"` (its concise models, PyTorch's layer defaults: every weight and bias
   * U(−1/√H, 1/√H)).
   */
  init?: "normal" | "uniform";
}

/** The parameters of one recurrent layer, every gate side by side (see {@linkcode GATES}). */
export interface LayerParams {
  /** Input weights [I, G]: `I` is V for the first layer, H above; `G` is H times the gates. */
  W_x: Buf;
  /** Recurrent weights [H, G]. */
  W_h: Buf;
  /** Biases [G]. */
  b: Buf;
  /** PyTorch's GRU only: the candidate's recurrent bias `b_hn` [H], inside the reset product. */
  b_hn?: Buf;
}

/** The dense output layer. */
export interface OutputParams {
  /** [H, V]. */
  W_hq: Buf;
  /** [V]. */
  b_q: Buf;
}

/** A model: its configuration, backend and parameter and gradient buffers. */
export interface RnnModel {
  /** The sizes and choices, with defaults filled in. */
  readonly config: Readonly<Required<ModelConfig>>;
  /** The kernels the model runs on. */
  readonly backend: Backend;
  /** Total number of parameters. */
  readonly numParams: number;
  /**
   * All parameters, contiguous: layer by layer (W_x, W_h, b[, b_hn]), then W_hq and b_q. Code
   * that writes them with backend calls of its own calls {@linkcode weightsChanged} afterwards
   * (training and {@linkcode setWeights} do).
   */
  readonly params: Buf;
  /** All gradients, same layout as `params`. */
  readonly grads: Buf;
  /** Views of `params`, one entry per layer. */
  readonly layers: readonly LayerParams[];
  /** Views of `grads`, one entry per layer. */
  readonly layerGrads: readonly LayerParams[];
  /** Views of the output layer's parameters (absent in a bare stack). */
  readonly output: OutputParams;
  /** Views of the output layer's gradients (absent in a bare stack). */
  readonly outputGrads: OutputParams;
}

function fullConfig(config: ModelConfig): Required<ModelConfig> {
  const full = {
    cell: "rnn" as CellType,
    layers: 1,
    inputSize: 0,
    gruVariant: "book" as GruVariant,
    ...config,
  };
  if (!Number.isInteger(full.inputSize) || full.inputSize < 0) {
    throw new RangeError(`inputSize must be an integer >= 0, got ${full.inputSize}`);
  }
  const sizes = full.inputSize > 0 && full.vocabSize === 0
    ? ["hidden", "layers"] as const
    : ["vocabSize", "hidden", "layers"] as const;
  for (const key of sizes) {
    const v = full[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }
  if (full.activation !== "tanh" && full.activation !== "relu") {
    throw new RangeError(`activation must be "tanh" or "relu", got ${String(full.activation)}`);
  }
  if (!Object.hasOwn(GATES, full.cell)) {
    throw new RangeError(`cell must be "rnn", "gru" or "lstm", got ${String(full.cell)}`);
  }
  if (full.gruVariant !== "book" && full.gruVariant !== "pytorch") {
    throw new RangeError(`gruVariant must be "book" or "pytorch", got ${String(full.gruVariant)}`);
  }
  return full;
}

/** Whether the layers carry PyTorch's extra GRU bias `b_hn`. */
function hasBhn(config: Required<ModelConfig>): boolean {
  return config.cell === "gru" && config.gruVariant === "pytorch";
}

/**
 * Storage order of the parameters: per layer W_x [I,G], W_h [H,G], b [G] (and PyTorch's GRU
 * b_hn [H]); then the output.
 */
function storage(config: Required<ModelConfig>): { key: string; shape: number[] }[] {
  const { vocabSize: V, hidden: H, layers } = config;
  const G = GATES[config.cell].length * H;
  const out: { key: string; shape: number[] }[] = [];
  for (let l = 0; l < layers; l++) {
    out.push({ key: `${l}.W_x`, shape: [l === 0 ? inputWidth(config) : H, G] });
    out.push({ key: `${l}.W_h`, shape: [H, G] });
    out.push({ key: `${l}.b`, shape: [G] });
    if (hasBhn(config)) out.push({ key: `${l}.b_hn`, shape: [H] });
  }
  if (V > 0) out.push({ key: "W_hq", shape: [H, V] }, { key: "b_q", shape: [V] });
  return out;
}

/** The first layer's input width: dense inputs, or one-hot tokens. */
function inputWidth(config: Required<ModelConfig>): number {
  return config.inputSize > 0 ? config.inputSize : config.vocabSize;
}

/** One named tensor of the book's notation: a gate's slice of a layer's parameter. */
interface NamedSlice {
  name: string;
  shape: number[];
  key: string;
  gate: number;
}

/**
 * The book's names: `W_x<g>`, `W_h<g>`, `b_<g>` per gate (PyTorch's GRU adds `b_hn`), `_l<k>`
 * after them in deep stacks.
 */
function namedSlices(config: Required<ModelConfig>): NamedSlice[] {
  const { vocabSize: V, hidden: H, layers } = config;
  const out: NamedSlice[] = [];
  for (let l = 0; l < layers; l++) {
    const suffix = layers > 1 ? `_l${l}` : "";
    const I = l === 0 ? inputWidth(config) : H;
    GATES[config.cell].forEach((g, gate) => {
      out.push({ name: `W_x${g}${suffix}`, shape: [I, H], key: `${l}.W_x`, gate });
      out.push({ name: `W_h${g}${suffix}`, shape: [H, H], key: `${l}.W_h`, gate });
      out.push({ name: `b_${g}${suffix}`, shape: [H], key: `${l}.b`, gate });
    });
    if (hasBhn(config)) out.push({ name: `b_hn${suffix}`, shape: [H], key: `${l}.b_hn`, gate: 0 });
  }
  if (V > 0) {
    out.push({ name: "W_hq", shape: [H, V], key: "W_hq", gate: 0 });
    out.push({ name: "b_q", shape: [V], key: "b_q", gate: 0 });
  }
  return out;
}

/**
 * The shape of each parameter under the book's names (`X W`, row-major), in checkpoint order:
 * per layer and gate `W_x<g>` [I,H], `W_h<g>` [H,H], `b_<g>` [H], then `W_hq` [H,V] and `b_q` [V].
 * Gate letters are those of {@linkcode GATES}; deep stacks add `_l0`, `_l1`, ... to the names.
 * PyTorch's GRU (`gruVariant: "pytorch"`) has `b_hn` [H] after each layer's gates.
 *
 * @param config The model's sizes and cell.
 * @returns Shapes by name, in checkpoint order.
 * @example Shapes of the default model
 * ```ts
 * import { paramShapes } from "./model.ts";
 * console.log(paramShapes({ vocabSize: 1027, hidden: 256, activation: "tanh" }).W_hq); // [256, 1027]
 * ```
 */
export function paramShapes(config: ModelConfig): Record<string, number[]> {
  return Object.fromEntries(namedSlices(fullConfig(config)).map((t) => [t.name, t.shape]));
}

/**
 * Creates a model with weights drawn from N(0, initScale²) and zero biases, as the book's
 * from-scratch models do, or with PyTorch's defaults as its concise models do.
 *
 * @param config Vocabulary size, hidden units, activation, cell and layers.
 * @param options Backend, seed and initial scale.
 * @returns The model.
 * @example A small model on the reference backend
 * ```ts
 * import { createModel } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel(
 *   { vocabSize: 10, hidden: 8, activation: "tanh" },
 *   { backend: createReferenceBackend(), seed: 1 },
 * );
 * console.log(model.numParams); // 10*8 + 8*8 + 8 + 8*10 + 10 = 242
 * ```
 */
export function createModel(config: ModelConfig, options: CreateModelOptions = {}): RnnModel {
  const full = fullConfig(config);
  const backend = options.backend ?? createWasmBackend();
  const table = storage(full);
  const sizes = table.map((t) => t.shape.reduce((a, b) => a * b, 1));
  const numParams = sizes.reduce((a, b) => a + b, 0);
  const params = backend.alloc(numParams);
  const grads = backend.alloc(numParams);
  const views = (buf: Buf) => {
    const byKey = new Map<string, Buf>();
    let offset = 0;
    table.forEach((t, i) => {
      byKey.set(t.key, backend.view(buf, offset, sizes[i]));
      offset += sizes[i];
    });
    const layers = Array.from({ length: full.layers }, (_, l) => ({
      W_x: byKey.get(`${l}.W_x`)!,
      W_h: byKey.get(`${l}.W_h`)!,
      b: byKey.get(`${l}.b`)!,
      ...(hasBhn(full) ? { b_hn: byKey.get(`${l}.b_hn`)! } : {}),
    }));
    // A bare stack has no output layer; its `output` is never read.
    return { layers, output: { W_hq: byKey.get("W_hq")!, b_q: byKey.get("b_q")! } };
  };
  const p = views(params), g = views(grads);
  const model: RnnModel = {
    config: full,
    backend,
    numParams,
    params,
    grads,
    layers: p.layers,
    layerGrads: g.layers,
    output: p.output,
    outputGrads: g.output,
  };
  // Drawn in storage order, so a seed gives the same model everywhere.
  const rng = new Rng(options.seed ?? 0);
  if (options.init === "uniform") {
    // nn.RNN/GRU/LSTM and nn.Linear(H, V) both draw U(-1/sqrt(H), 1/sqrt(H)), biases included.
    const bound = 1 / Math.sqrt(full.hidden);
    const values = new Float64Array(numParams);
    for (let i = 0; i < numParams; i++) values[i] = (2 * rng.next() - 1) * bound;
    backend.write(params, values);
    return model;
  }
  if (options.init !== undefined && options.init !== "normal") {
    throw new RangeError(`init must be "normal" or "uniform", got ${String(options.init)}`);
  }
  const scale = options.initScale ?? 0.01;
  // A zero scale leaves the zeroed buffers as they are: loading a checkpoint skips the draws.
  if (scale === 0) return model;
  const weights = [
    ...p.layers.flatMap((l) => [l.W_x, l.W_h]),
    ...(full.vocabSize > 0 ? [p.output.W_hq] : []),
  ];
  for (const w of weights) {
    const values = new Float64Array(w.length);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
    backend.write(w, values);
  }
  return model;
}

function storageView(model: RnnModel, key: string): Buf {
  if (key === "W_hq" || key === "b_q") return model.output[key];
  const [l, part] = key.split(".");
  return model.layers[Number(l)][part as keyof LayerParams]!;
}

/** Whether a storage block is one named tensor (not gates side by side). */
function isWhole(key: string): boolean {
  return key === "W_hq" || key === "b_q" || key.endsWith(".b_hn");
}

/**
 * Copies the parameters out of the backend under the book's names (see {@linkcode paramShapes}).
 *
 * @param model The model.
 * @returns One row-major array per named parameter, in checkpoint order.
 * @example Read the output bias
 * ```ts
 * import { createModel, getWeights } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 3, hidden: 2, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * console.log(Array.from(getWeights(model).b_q)); // [0, 0, 0]
 * ```
 */
export function getWeights(model: RnnModel): Record<string, Float32Array | Float64Array> {
  const H = model.config.hidden;
  const out: Record<string, Float32Array | Float64Array> = {};
  const cache = new Map<string, Float32Array | Float64Array>();
  for (const t of namedSlices(model.config)) {
    let all = cache.get(t.key);
    if (!all) cache.set(t.key, all = model.backend.read(storageView(model, t.key)));
    if (isWhole(t.key)) {
      out[t.name] = all;
      continue;
    }
    // Gate `gate` is columns [gate·H, (gate+1)·H) of a row-major [rows, G] block.
    const G = GATES[model.config.cell].length * H, rows = all.length / G;
    const slice = new (all.constructor as Float32ArrayConstructor)(rows * H);
    for (let r = 0; r < rows; r++) {
      slice.set(all.subarray(r * G + t.gate * H, r * G + (t.gate + 1) * H), r * H);
    }
    out[t.name] = slice;
  }
  return out;
}

/**
 * Copies parameters, under the book's names, into the model; every one must be given with the
 * size of {@linkcode paramShapes}.
 *
 * @param model The model.
 * @param values One array per named parameter (all of them).
 * @example Zero every weight
 * ```ts
 * import { createModel, getWeights, setWeights } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
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
  values: Readonly<Record<string, ArrayLike<number>>>,
): void {
  const slices = namedSlices(model.config);
  for (const t of slices) {
    const data = values[t.name];
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (!data || data.length !== expected) {
      throw new TypeError(
        `${t.name} must have ${expected} values, got ${data ? data.length : "none"}`,
      );
    }
  }
  const H = model.config.hidden, G = GATES[model.config.cell].length * H;
  const blocks = new Map<string, Float64Array>();
  for (const t of slices) {
    const data = values[t.name];
    if (isWhole(t.key)) {
      model.backend.write(storageView(model, t.key), data);
      continue;
    }
    let block = blocks.get(t.key);
    if (!block) blocks.set(t.key, block = new Float64Array(storageView(model, t.key).length));
    const rows = block.length / G;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < H; j++) block[r * G + t.gate * H + j] = data[r * H + j];
    }
  }
  for (const [key, block] of blocks) model.backend.write(storageView(model, key), block);
  weightsChanged(model);
}

/** One layer's activations and their gradients ([T,...] blocks are time-major). */
export interface LayerWorkspace {
  /** Input products plus bias [T,B,G]. */
  readonly zin: Buf;
  /** Hidden states [T+1,B,H]; block 0 is the initial state. */
  readonly states: Buf;
  /** Gradient of `zin` [T,B,G]. */
  readonly dzin: Buf;
  /** Gradients of the hidden states [T+1,B,H]. */
  readonly dstates: Buf;
  /** GRU and LSTM: the gates after their activations, saved for backward [T,B,G]. */
  readonly gates?: Buf;
  /** GRU: the candidate's recurrent input saved for backward [T,B,H]. */
  readonly hn?: Buf;
  /** LSTM: memory cells [T+1,B,H]; block 0 is the initial cell. */
  readonly cells?: Buf;
  /** LSTM: gradients of the memory cells [T+1,B,H]. */
  readonly dcells?: Buf;
  /** Below the top layer: the dropout mask of this layer's outputs, 0 or 1/(1−p) [T,B,H]. */
  readonly mask?: Buf;
  /** Below the top layer: the outputs after dropout, the next layer's input [T,B,H]. */
  readonly dropped?: Buf;
  /** Below the top layer: the gradient reaching `dropped` [T,B,H]. */
  readonly ddropped?: Buf;
  /** Below the top layer: JS-side room to draw the mask in before it is written [T·B·H]. */
  readonly maskValues?: Float64Array;
}

/** Dropout between stacked layers during training (PyTorch's `nn.RNN(dropout=p)`). */
export interface Dropout {
  /** The probability of dropping each output of a layer below the top one, in [0, 1). */
  p: number;
  /** Draws the masks. */
  rng: Rng;
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
  /** One entry per recurrent layer, bottom first. */
  readonly layers: readonly LayerWorkspace[];
  /** Logits, then probabilities, then their gradient [T·B,V]. */
  readonly logits: Buf;
  /** Dense inputs [T,B,I] (models with `inputSize`). */
  readonly x?: Buf;
  /** Gradient of the dense inputs [T,B,I] (models with `inputSize`). */
  readonly dx?: Buf;
  /** Unused bias of the book's GRU, whose kernel takes PyTorch's extra bias `b_hn` [H]. */
  readonly spare: Buf;
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
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 35, 32);
 * console.log(ws.layers[0].states.length); // 36 * 32 * 4
 * ```
 */
export function createWorkspace(model: RnnModel, maxSteps: number, batchSize: number): Workspace {
  for (const [key, v] of [["steps", maxSteps], ["batch size", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }
  const be = model.backend;
  const { hidden: H, vocabSize: V, cell } = model.config;
  const G = GATES[cell].length * H;
  const n = maxSteps * batchSize, block = batchSize * H;
  const layers = model.layers.map((_, l): LayerWorkspace => ({
    zin: be.alloc(n * G),
    states: be.alloc((maxSteps + 1) * block),
    dzin: be.alloc(n * G),
    dstates: be.alloc((maxSteps + 1) * block),
    ...(cell !== "rnn" ? { gates: be.alloc(n * G) } : {}),
    ...(cell === "gru" ? { hn: be.alloc(n * H) } : {}),
    ...(cell === "lstm"
      ? { cells: be.alloc((maxSteps + 1) * block), dcells: be.alloc((maxSteps + 1) * block) }
      : {}),
    ...(l < model.layers.length - 1
      ? {
        mask: be.alloc(n * H),
        dropped: be.alloc(n * H),
        ddropped: be.alloc(n * H),
        maskValues: new Float64Array(n * H),
      }
      : {}),
  }));
  return {
    maxSteps,
    batchSize,
    inputs: be.allocIndices(n),
    targets: be.allocIndices(n),
    layers,
    logits: be.alloc(n * V),
    ...(model.config.inputSize > 0
      ? { x: be.alloc(n * model.config.inputSize), dx: be.alloc(n * model.config.inputSize) }
      : {}),
    spare: be.alloc(H),
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
 * import { createReferenceBackend } from "../backend/reference.ts";
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
 * Sets every layer's initial state (and LSTM memory cell) to zero, as at the start of an epoch.
 *
 * @param model The model.
 * @param ws The workspace.
 * @example Reset before a new sequence
 * ```ts
 * import { createModel, createWorkspace, resetState } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * resetState(model, createWorkspace(model, 3, 2));
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
 * import { carryState, createModel, createWorkspace } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * carryState(model, createWorkspace(model, 3, 2), 3);
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
 * @example Hidden states of a short sequence
 * ```ts
 * import { createModel, createWorkspace, forwardHidden, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh", cell: "gru" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * forwardHidden(model, ws, 2);
 * ```
 */
export function forwardHidden(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
  packed?: PackedWeights,
): void {
  const be = model.backend;
  const { hidden: H, cell } = model.config;
  const B = ws.batchSize, n = steps * B, G = GATES[cell].length * H;
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
    const whPacked = packed?.W_h[l];
    if (cell === "rnn") {
      be.rnnForward(w.states, zin, p.W_h, steps, B, H, activationCode(model), whPacked);
    } else if (cell === "gru") {
      // PyTorch's variant applies the reset gate after the product and adds b_hn inside it.
      const bhn = p.b_hn ?? ws.spare, resetAfter = p.b_hn ? 1 : 0;
      be.gruForward(w.states, w.gates!, w.hn!, zin, p.W_h, bhn, steps, B, H, resetAfter, whPacked);
    } else {
      be.lstmForward(w.states, w.cells!, w.gates!, zin, p.W_h, steps, B, H, whPacked);
    }
  });
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
): Buf {
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
 * The recurrent and output weights in the backend's packed layout (see `Backend.packWeights`),
 * for generation: a batch of one multiplies each weight by one row per step, and reading a
 * packed weight in order is about twice as fast as reading it in place.
 */
export interface PackedWeights {
  /**
   * Per layer, `W_h` packed; `undefined` for the book's GRU, whose kernel multiplies by two
   * column blocks of it.
   */
  readonly W_h: readonly (Buf | undefined)[];
  /** `W_hq` packed. */
  readonly W_hq: Buf;
}

/**
 * Allocates packed copies of the model's weights and packs them; {@linkcode repackModel} packs
 * them again after the weights change.
 *
 * @param model The model.
 * @returns The packed weights, for {@linkcode forwardHidden} and {@linkcode forwardLogits}.
 * @example Pack a model for generation
 * ```ts
 * import { createModel, packModel } from "./model.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" });
 * console.log(packModel(model).W_h.length); // 1
 * ```
 */
export function packModel(model: RnnModel): PackedWeights {
  const be = model.backend, { hidden: H, vocabSize: V, cell } = model.config;
  const G = GATES[cell].length * H;
  const packed: PackedWeights = {
    // The book's GRU (no b_hn) multiplies by two column blocks of W_h, packed apart by its kernel.
    W_h: model.layers.map((p) =>
      cell === "gru" && !p.b_hn ? undefined : be.alloc(be.packedSize(H, G))
    ),
    W_hq: be.alloc(be.packedSize(H, V)),
  };
  repackModel(model, packed);
  return packed;
}

const weightVersions = new WeakMap<RnnModel, number>();

/**
 * Records that the model's parameters changed, so that copies made from them (the packed weights
 * generation multiplies by) are made again before their next use. Training and
 * {@linkcode setWeights} call it; call it after writing `model.params` with backend calls of your
 * own.
 *
 * @param model The model whose parameters changed.
 * @example After an update written by hand
 * ```ts
 * import { createModel, weightsChanged, weightsVersion } from "./model.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" });
 * model.backend.scale(model.params, model.numParams, 0.5);
 * weightsChanged(model);
 * console.log(weightsVersion(model)); // 1
 * ```
 */
export function weightsChanged(model: RnnModel): void {
  weightVersions.set(model, weightsVersion(model) + 1);
}

/**
 * How many times {@linkcode weightsChanged} has been called on the model: a copy made at one
 * version is current while the version stays the same.
 *
 * @param model The model.
 * @returns 0 for a new model.
 * @example A new model
 * ```ts
 * import { createModel, weightsVersion } from "./model.ts";
 * console.log(weightsVersion(createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }))); // 0
 * ```
 */
export function weightsVersion(model: RnnModel): number {
  return weightVersions.get(model) ?? 0;
}

/**
 * Packs the model's current weights into buffers from {@linkcode packModel}.
 *
 * @param model The model the buffers were allocated for.
 * @param packed The buffers.
 * @example Pack again after training
 * ```ts
 * import { createModel, packModel, repackModel } from "./model.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" });
 * const packed = packModel(model);
 * repackModel(model, packed);
 * ```
 */
export function repackModel(model: RnnModel, packed: PackedWeights): void {
  const be = model.backend, { hidden: H, vocabSize: V, cell } = model.config;
  const G = GATES[cell].length * H;
  model.layers.forEach((p, l) => {
    const dst = packed.W_h[l];
    if (dst) be.packWeights(dst, p.W_h, H, G);
  });
  be.packWeights(packed.W_hq, model.output.W_hq, H, V);
}

/**
 * Computes the logits of every step at once from the top layer's states: `O = H W_hq + b_q`.
 *
 * @param model The model.
 * @param ws The workspace, after {@linkcode forwardHidden}.
 * @param steps Steps to project.
 * @param packed The weights packed by {@linkcode packModel} (generation); the same numbers.
 * @returns The logits view [steps·B, V].
 * @example Logits of one step
 * ```ts
 * import { createModel, createWorkspace, forwardHidden, forwardLogits, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 1, 1);
 * writeTokens(model, ws, [3], 1, "inputs");
 * forwardHidden(model, ws, 1);
 * console.log(model.backend.read(forwardLogits(model, ws, 1)).length); // 5
 * ```
 */
export function forwardLogits(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  packed?: PackedWeights,
): Buf {
  const be = model.backend, out = model.output;
  const { hidden: H, vocabSize: V } = model.config;
  const n = steps * ws.batchSize;
  const hs = be.view(ws.layers[ws.layers.length - 1].states, ws.batchSize * H, n * H);
  const logits = be.view(ws.logits, 0, n * V);
  be.fill(logits, 0);
  if (packed) be.matmulPacked(logits, hs, packed.W_hq, n, H, V);
  else be.matmulNN(logits, hs, out.W_hq, n, H, V);
  be.biasForward(logits, out.b_q, n, V);
  return logits;
}

/**
 * The forward pass with the loss: returns the summed cross-entropy of `steps·B` predictions and
 * leaves the probabilities in `ws.logits` for {@linkcode backward}.
 *
 * @param model The model.
 * @param ws The workspace, with inputs, targets and the initial state written.
 * @param steps Steps in this minibatch.
 * @param dropout Dropout between layers (training only); none by default.
 * @returns Sum of `-log p(target)` over all predictions (divide by `steps·B` for the mean).
 * @example The loss of a uniform model is log V per prediction
 * ```ts
 * import { createModel, createWorkspace, forwardLoss, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(), initScale: 0,
 * });
 * const ws = createWorkspace(model, 2, 1);
 * writeTokens(model, ws, [1, 2], 2, "inputs");
 * writeTokens(model, ws, [2, 3], 2, "targets");
 * console.log(forwardLoss(model, ws, 2) / 2); // Math.log(5)
 * ```
 */
export function forwardLoss(
  model: RnnModel,
  ws: Workspace,
  steps: number,
  dropout?: Dropout,
): number {
  forwardHidden(model, ws, steps, dropout);
  const logits = forwardLogits(model, ws, steps);
  const n = steps * ws.batchSize;
  return model.backend.softmaxXentForward(logits, logits, ws.targets, n, model.config.vocabSize);
}

/**
 * Backpropagation through time of the mean loss of the last {@linkcode forwardLoss}, through
 * every layer from the top; adds the gradients into `model.grads` (the caller zeroes them once
 * per step). Afterwards each layer's `dstates` block 0 (and `dcells` block 0) holds the gradient
 * with respect to its initial state.
 *
 * @param model The model.
 * @param ws The workspace, right after {@linkcode forwardLoss} with the same `steps`.
 * @param steps Steps in this minibatch.
 * @param dropout The dropout given to {@linkcode forwardLoss}, whose masks it reuses.
 * @example Gradients of one minibatch
 * ```ts
 * import { backward, createModel, createWorkspace, forwardLoss, writeTokens } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh", layers: 2 }, {
 *   backend: createReferenceBackend(), seed: 3,
 * });
 * const ws = createWorkspace(model, 2, 1);
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
  const be = model.backend, out = model.output, dout = model.outputGrads;
  const { hidden: H, vocabSize: V } = model.config;
  const n = steps * ws.batchSize, block = ws.batchSize * H;
  const top = ws.layers[ws.layers.length - 1];
  const dlogits = be.view(ws.logits, 0, n * V);
  be.softmaxXentBackward(dlogits, dlogits, ws.targets, n, V, 1 / n);
  clearGradients(model, ws, steps);
  be.biasBackward(dout.b_q, dlogits, n, V);
  be.matmulNT(be.view(top.dstates, block, n * H), dlogits, out.W_hq, n, V, H);
  // dW_hq reads only the top states and dlogits, which the recurrent backward leaves alone: a
  // threaded backend computes it on its other threads while this one runs backpropagation
  // through time, which cannot be split.
  const topStates = be.view(top.states, block, n * H);
  be.matmulTNAlongside(dout.W_hq, topStates, dlogits, H, n, V, () => {
    backwardHidden(model, ws, steps, dropout);
  });
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
 * import { clearGradients, createModel, createWorkspace } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * clearGradients(model, createWorkspace(model, 2, 1), 2);
 * ```
 */
export function clearGradients(model: RnnModel, ws: Workspace, steps: number): void {
  const be = model.backend;
  const { hidden: H, cell, inputSize: I } = model.config;
  const n = steps * ws.batchSize, G = GATES[cell].length * H, block = ws.batchSize * H;
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
 * import { backwardHidden, clearGradients, createModel, createWorkspace, forwardHidden } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 0, inputSize: 3, hidden: 4, activation: "tanh" }, {
 *   backend: createReferenceBackend(),
 * });
 * const ws = createWorkspace(model, 2, 1);
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
  const { hidden: H, cell, inputSize: I } = model.config;
  const B = ws.batchSize, n = steps * B, G = GATES[cell].length * H, block = B * H;
  for (let l = model.layers.length - 1; l >= 0; l--) {
    const p = model.layers[l], g = model.layerGrads[l], w = ws.layers[l];
    const dzin = be.view(w.dzin, 0, n * G);
    const dstates = be.view(w.dstates, 0, (steps + 1) * block);
    if (cell === "rnn") {
      be.rnnBackward(dzin, g.W_h, dstates, w.states, p.W_h, steps, B, H, activationCode(model));
    } else if (cell === "gru") {
      be.gruBackward(
        dzin,
        g.W_h,
        g.b_hn ?? ws.spare,
        dstates,
        w.states,
        w.gates!,
        w.hn!,
        p.W_h,
        steps,
        B,
        H,
        g.b_hn ? 1 : 0,
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
 * import { createReferenceBackend } from "../backend/reference.ts";
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
