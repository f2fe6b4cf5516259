/**
 * A workspace: the activations of one pass of a model and their gradients, for minibatches of up
 * to `maxSteps` steps of `batchSize` rows. Allocated once and reused (see
 * `RnnModel.acquireWorkspace`). `[T,...]` blocks are time-major.
 *
 * @module
 */
import type { Backend, FloatBuf, IndexBuf, ScalarBuf } from "../backend/types.ts";
import { STATS_SLOTS } from "../backend/types.ts";
import type { ModelConfig } from "../config/settings.ts";
import { gateWidth } from "./params.ts";

/** One layer's activations and their gradients. */
export interface LayerWorkspace {
  /** Input products plus bias [T,B,G]. */
  readonly zin: FloatBuf;
  /** Hidden states [T+1,B,H]; block 0 is the initial state. */
  readonly states: FloatBuf;
  /** Gradient of `zin` [T,B,G]. */
  readonly dzin: FloatBuf;
  /** Gradients of the hidden states [T+1,B,H]. */
  readonly dstates: FloatBuf;
  /** GRU and LSTM: the gates after their activations, saved for backward [T,B,G]. */
  readonly gates?: FloatBuf;
  /** GRU: the candidate's recurrent input saved for backward [T,B,H]. */
  readonly hn?: FloatBuf;
  /** LSTM: memory cells [T+1,B,H]; block 0 is the initial cell. */
  readonly cells?: FloatBuf;
  /** LSTM: gradients of the memory cells [T+1,B,H]. */
  readonly dcells?: FloatBuf;
  /** Below the top layer: the dropout mask of this layer's outputs, 0 or 1/(1−p) [T,B,H]. */
  readonly mask?: FloatBuf;
  /** Below the top layer: the outputs after dropout, the next layer's input [T,B,H]. */
  readonly dropped?: FloatBuf;
  /** Below the top layer: the gradient reaching `dropped` [T,B,H]. */
  readonly ddropped?: FloatBuf;
  /** Below the top layer: host room to draw the mask in before it is written [T·B·H]. */
  readonly maskValues?: Float64Array;
}

/** The activations and gradients of passes of up to `maxSteps` steps of `batchSize` rows. */
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
  /** Logits, then probabilities, then their gradient [T·B,V] (absent in a bare stack). */
  readonly logits: FloatBuf | undefined;
  /** Each row's greedy choice [B] (generation). */
  readonly choices: IndexBuf;
  /** The loss sum and the other training statistics (see `STAT`). */
  readonly stats: ScalarBuf;
  /** Dense inputs [T,B,I] (models with `inputSize`). */
  readonly x?: FloatBuf;
  /** Gradient of the dense inputs [T,B,I] (models with `inputSize`). */
  readonly dx?: FloatBuf;
  /** Host scratch for transposing [B,T] minibatches to time-major. */
  readonly scratch: Int32Array;
  /** Gives every buffer back to the backend. */
  free(): void;
}

/**
 * Allocates the activations for passes of `batchSize` rows and up to `maxSteps` steps.
 *
 * @param model The model's config and backend.
 * @param maxSteps Longest sequence the workspace can hold.
 * @param batchSize Rows per pass.
 * @returns The workspace; its initial state is zero.
 * @throws {RangeError} When a size is not a positive integer.
 */
export function createWorkspace(
  model: { readonly config: Readonly<ModelConfig>; readonly backend: Backend },
  maxSteps: number,
  batchSize: number,
): Workspace {
  for (const [key, v] of [["steps", maxSteps], ["batch size", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${v}`);
    }
  }
  const be = model.backend, config = model.config;
  const { vocabSize: V, inputSize: I } = config;
  const n = maxSteps * batchSize;
  const owned: (FloatBuf | IndexBuf | ScalarBuf)[] = [];
  const alloc = (size: number) => {
    const buf = be.alloc(size);
    owned.push(buf);
    return buf;
  };
  const layers = Array.from(
    { length: config.layers },
    (_, l) => createLayerWorkspace(alloc, config, maxSteps, batchSize, l < config.layers - 1),
  );
  const inputs = be.allocIndices(n), targets = be.allocIndices(n);
  const choices = be.allocIndices(batchSize), stats = be.allocScalars(STATS_SLOTS);
  owned.push(inputs, targets, choices, stats);
  return {
    maxSteps,
    batchSize,
    inputs,
    targets,
    layers,
    logits: V > 0 ? alloc(n * V) : undefined,
    choices,
    stats,
    ...(I > 0 ? { x: alloc(n * I), dx: alloc(n * I) } : {}),
    scratch: new Int32Array(n),
    free() {
      for (const buf of owned.splice(0)) be.free(buf);
    },
  };
}

/**
 * One layer's activations and gradients for passes of up to `maxSteps` steps of `batchSize` rows
 * (the language model's layers, and each direction of each layer of a layer object).
 *
 * @param alloc Allocates a buffer of that many elements (and records it to free).
 * @param config The cell and hidden size.
 * @param maxSteps Longest sequence.
 * @param batchSize Rows.
 * @param withDropout Whether its outputs feed a layer above through dropout (the mask buffers).
 * @returns The layer's buffers.
 */
export function createLayerWorkspace(
  alloc: (size: number) => FloatBuf,
  config: Pick<ModelConfig, "hidden" | "cell">,
  maxSteps: number,
  batchSize: number,
  withDropout: boolean,
): LayerWorkspace {
  const { hidden: H, cell } = config;
  const G = gateWidth(config);
  const n = maxSteps * batchSize, block = batchSize * H;
  return {
    zin: alloc(n * G),
    states: alloc((maxSteps + 1) * block),
    dzin: alloc(n * G),
    dstates: alloc((maxSteps + 1) * block),
    ...(cell !== "rnn" ? { gates: alloc(n * G) } : {}),
    ...(cell === "gru" ? { hn: alloc(n * H) } : {}),
    ...(cell === "lstm"
      ? { cells: alloc((maxSteps + 1) * block), dcells: alloc((maxSteps + 1) * block) }
      : {}),
    ...(withDropout
      ? {
        mask: alloc(n * H),
        dropped: alloc(n * H),
        ddropped: alloc(n * H),
        maskValues: new Float64Array(n * H),
      }
      : {}),
  };
}
