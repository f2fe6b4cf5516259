/**
 * Checkpoints: a model, its vocabulary and the settings it was trained with, as a safetensors
 * file. Tensors are float32, row-major, in the book's orientation and under the book's names (see
 * `paramShapes`): for the vanilla RNN `W_xh` [V,H], `W_hh` [H,H], `b_h` [H]; for the GRU and LSTM
 * one `W_x<g>`, `W_h<g>`, `b_<g>` per gate; `_l0`, `_l1`, ... after each name in deep stacks; then
 * `W_hq` [H,V] and `b_q` [V]. `__metadata__` holds `format` (`"rnn-wasm"`), `format_version`
 * (`"1"`), `cell` (`"rnn"`, `"gru"` or `"lstm"`), and JSON strings `config`, `vocab`,
 * `hyperparameters` and `text` (`{"tokens": "char"|"word", "normalize": "none"|"letters"}`).
 *
 * @module
 */
import type { AdamState } from "../train/adam.ts";
import type { Backend } from "../backend/types.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import {
  createModel,
  GATES,
  getWeights,
  type ModelConfig,
  paramShapes,
  type RnnModel,
  setWeights,
} from "../model/model.ts";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "./safetensors.ts";
import { CHAR_TEXT, type TextSettings } from "../text/text.ts";
import { Vocab } from "../text/vocab.ts";

/** A loaded checkpoint. */
export interface Checkpoint {
  /** The model, on the backend asked for. */
  model: RnnModel;
  /** The vocabulary the model was trained with. */
  vocab: Vocab;
  /** The training settings recorded at save time. */
  hyperparameters: Record<string, unknown>;
  /** How the training text was tokenised. */
  text: TextSettings;
  /** Adam's state, when the model was trained with Adam. */
  optimizer?: AdamState;
  /** Where the run stood when it was saved, when the checkpoint records it. */
  training?: TrainingProgress;
}

/** Options of {@linkcode decodeCheckpoint} and {@linkcode loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Backend of the loaded model; default a new WebAssembly backend. */
  backend?: Backend;
}

/** What a checkpoint records beside the weights and vocabulary. */
export interface CheckpointExtras {
  /** Training settings to record (JSON-serialisable). */
  hyperparameters?: Record<string, unknown>;
  /** How the training text was tokenised; default characters. */
  text?: TextSettings;
  /** Adam's moments and step, so that `--init` resumes as if the run had not stopped. */
  optimizer?: AdamState;
  /** Epochs completed and the generators' states, so that `--resume` continues exactly. */
  training?: TrainingProgress;
}

/** Where a run stands: epochs completed and its generators' states (see `train`'s `resume`). */
export interface TrainingProgress {
  /** Epochs completed. */
  epoch: number;
  /** The sampler's generator. */
  rngState: number[];
  /** The dropout masks' generator, when dropout was on. */
  dropoutRngState?: number[];
}

/**
 * Serialises a model, its vocabulary, settings and optimizer state to safetensors bytes. Adam's
 * moments are the tensors `adam.m` and `adam.v` (one value per parameter, in the order of the
 * weight tensors) and its step is the metadata entry `optimizer` (`{"name":"adam","step":N}`).
 *
 * @param model The model.
 * @param vocab Its vocabulary (size must match the model).
 * @param extras Hyperparameters, text settings and optimizer state.
 * @returns The file's bytes.
 * @throws {RangeError} When a weight is NaN or infinite: such a model is never saved.
 * @example Encode and decode
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { Vocab } from "../text/vocab.ts";
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const vocab = new Vocab(["a", "b"]);
 * const model = createModel({ vocabSize: 2, hidden: 3, activation: "tanh" });
 * const back = decodeCheckpoint(encodeCheckpoint(model, vocab, { hyperparameters: { lr: 1 } }));
 * console.log(back.vocab.tokens); // ["a", "b"]
 * ```
 */
export function encodeCheckpoint(
  model: RnnModel,
  vocab: Vocab,
  extras: CheckpointExtras = {},
): Uint8Array {
  const { hyperparameters = {}, text = CHAR_TEXT, optimizer } = extras;
  if (vocab.size !== model.config.vocabSize) {
    throw new RangeError(
      `the vocabulary has ${vocab.size} tokens, the model ${model.config.vocabSize}`,
    );
  }
  if (!Number.isFinite(model.backend.sumSquares(model.params, model.numParams))) {
    throw new RangeError("the model has NaN or infinite weights; it was not saved");
  }
  if (
    optimizer && (optimizer.m.length !== model.numParams || optimizer.v.length !== model.numParams)
  ) {
    throw new RangeError(
      `the optimizer state holds ${optimizer.m.length} moments, the model ${model.numParams} parameters`,
    );
  }
  const weights = getWeights(model);
  const shapes = paramShapes(model.config);
  const tensors: Tensor[] = Object.keys(shapes).map((name) => ({
    name,
    shape: shapes[name],
    data: weights[name] instanceof Float32Array
      ? weights[name] as Float32Array
      : Float32Array.from(weights[name]),
  }));
  if (optimizer) {
    tensors.push({ name: "adam.m", shape: [model.numParams], data: optimizer.m });
    tensors.push({ name: "adam.v", shape: [model.numParams], data: optimizer.v });
  }
  return encodeSafetensors({
    tensors,
    metadata: {
      format: "rnn-wasm",
      format_version: "1",
      cell: model.config.cell,
      config: JSON.stringify(model.config),
      vocab: JSON.stringify(vocab.toJSON()),
      hyperparameters: JSON.stringify(hyperparameters),
      text: JSON.stringify({ tokens: text.tokens, normalize: text.normalize }),
      ...(optimizer ? { optimizer: JSON.stringify({ name: "adam", step: optimizer.step }) } : {}),
      ...(extras.training
        ? {
          training: JSON.stringify({
            epoch: extras.training.epoch,
            rngState: extras.training.rngState,
            ...(extras.training.dropoutRngState
              ? { dropoutRngState: extras.training.dropoutRngState }
              : {}),
          }),
        }
        : {}),
    },
  });
}

function parseJson(metadata: Record<string, string>, key: string): unknown {
  const text = metadata[key];
  if (text === undefined) {
    throw new SyntaxError(`the checkpoint's metadata has no "${key}" entry`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new SyntaxError(`the checkpoint's metadata "${key}" is not valid JSON`);
  }
}

function countParams(shapes: Record<string, number[]>): number {
  return Object.values(shapes).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/** The run's progress when the checkpoint records it; checks its form. */
function readTraining(meta: Record<string, string>): TrainingProgress | undefined {
  if (meta.training === undefined) return undefined;
  const t = parseJson(meta, "training") as Partial<TrainingProgress> | null;
  const words = (x: unknown) =>
    Array.isArray(x) && x.length === 4 &&
    x.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);
  if (
    typeof t !== "object" || t === null || !Number.isInteger(t.epoch) || t.epoch! < 0 ||
    !words(t.rngState) || (t.dropoutRngState !== undefined && !words(t.dropoutRngState))
  ) {
    throw new SyntaxError(`the checkpoint's training entry ${meta.training} is not understood`);
  }
  return {
    epoch: t.epoch!,
    rngState: t.rngState!,
    ...(t.dropoutRngState ? { dropoutRngState: t.dropoutRngState } : {}),
  };
}

/** Adam's state when the checkpoint holds one; checks the moments' sizes. */
function readOptimizer(
  meta: Record<string, string>,
  byName: Map<string, { shape: number[]; data: Float32Array }>,
  numParams: number,
): AdamState | undefined {
  if (meta.optimizer === undefined) return undefined;
  const info = parseJson(meta, "optimizer") as { name?: unknown; step?: unknown };
  if (info?.name !== "adam" || !Number.isInteger(info.step) || (info.step as number) < 0) {
    throw new SyntaxError(`the checkpoint's optimizer entry ${meta.optimizer} is not understood`);
  }
  const [m, v] = [byName.get("adam.m"), byName.get("adam.v")];
  for (const [name, t] of [["adam.m", m], ["adam.v", v]] as const) {
    if (!t || t.data.length !== numParams) {
      throw new SyntaxError(
        `tensor "${name}" must hold ${numParams} values (one per parameter), got ${
          t ? t.data.length : "none"
        }`,
      );
    }
  }
  return { m: m!.data, v: v!.data, step: info.step as number };
}

/**
 * Reads a checkpoint from bytes, checking its header, metadata, shapes and sizes.
 *
 * @param bytes The file's bytes.
 * @param options Backend for the model.
 * @returns The model, vocabulary and hyperparameters.
 * @throws {SyntaxError} When the bytes are not a valid checkpoint; the message says what is wrong.
 * @example Reject garbage
 * ```ts
 * import { decodeCheckpoint } from "./checkpoint.ts";
 * try {
 *   decodeCheckpoint(new Uint8Array(4));
 * } catch (e) {
 *   console.log(e instanceof SyntaxError); // true
 * }
 * ```
 */
export function decodeCheckpoint(
  bytes: Uint8Array,
  options: LoadCheckpointOptions = {},
): Checkpoint {
  const file = decodeSafetensors(bytes);
  const meta = file.metadata;
  if (meta.format !== "rnn-wasm") {
    throw new SyntaxError(
      `not an @rnn/wasm checkpoint: metadata "format" is ${JSON.stringify(meta.format)}`,
    );
  }
  if (!Object.hasOwn(GATES, meta.cell)) {
    throw new SyntaxError(
      `the checkpoint holds a ${JSON.stringify(meta.cell)} cell; this version reads rnn, gru, lstm`,
    );
  }
  const config = parseJson(meta, "config") as ModelConfig;
  let vocab: Vocab;
  try {
    vocab = Vocab.fromJSON(parseJson(meta, "vocab"));
  } catch (e) {
    throw new SyntaxError(`the checkpoint's vocabulary is invalid: ${(e as Error).message}`);
  }
  if (
    typeof config !== "object" || config === null || !Number.isInteger(config.hidden) ||
    config.hidden < 1 || config.vocabSize !== vocab.size ||
    (config.activation !== "tanh" && config.activation !== "relu") ||
    (config.cell ?? "rnn") !== meta.cell ||
    !(Number.isInteger(config.layers ?? 1) && (config.layers ?? 1) >= 1) ||
    !["book", "pytorch"].includes(config.gruVariant ?? "book")
  ) {
    throw new SyntaxError(
      `the checkpoint's config ${meta.config} does not fit its vocabulary of ${vocab.size} ` +
        `and its ${JSON.stringify(meta.cell)} cell`,
    );
  }
  const expected = paramShapes(config);
  const names = Object.keys(expected);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  for (const name of names) {
    const tensor = byName.get(name);
    const want = JSON.stringify(expected[name]);
    if (!tensor) throw new SyntaxError(`the checkpoint has no tensor "${name}" (expected ${want})`);
    if (JSON.stringify(tensor.shape) !== want) {
      throw new SyntaxError(
        `tensor "${name}" has shape ${JSON.stringify(tensor.shape)}, expected ${want}`,
      );
    }
  }
  const optimizer = readOptimizer(meta, byName, countParams(expected));
  const known = [...names, ...(optimizer ? ["adam.m", "adam.v"] : [])];
  const extra = file.tensors.filter((t) => !known.includes(t.name));
  if (extra.length > 0) {
    throw new SyntaxError(
      `the checkpoint has unexpected tensors: ${extra.map((t) => t.name).join(", ")}`,
    );
  }
  const model = createModel({
    vocabSize: config.vocabSize,
    hidden: config.hidden,
    activation: config.activation,
    cell: config.cell ?? "rnn",
    layers: config.layers ?? 1,
    gruVariant: config.gruVariant ?? "book",
  }, { backend: options.backend, initScale: 0 });
  setWeights(model, Object.fromEntries(names.map((n) => [n, byName.get(n)!.data])));
  const hyperparameters = parseJson(meta, "hyperparameters");
  // Checkpoints written before word tokens existed hold characters.
  const text = meta.text === undefined ? CHAR_TEXT : parseJson(meta, "text") as TextSettings;
  if (
    (text.tokens !== "char" && text.tokens !== "word") ||
    (text.normalize !== "none" && text.normalize !== "letters")
  ) {
    throw new SyntaxError(`the checkpoint's text settings ${meta.text} are not understood`);
  }
  const training = readTraining(meta);
  return {
    ...(optimizer ? { optimizer } : {}),
    ...(training ? { training } : {}),
    text: { tokens: text.tokens, normalize: text.normalize },
    model,
    vocab,
    hyperparameters: typeof hyperparameters === "object" && hyperparameters !== null
      ? hyperparameters as Record<string, unknown>
      : {},
  };
}

/**
 * Writes a checkpoint atomically (temporary file, then rename): an interrupted save never leaves
 * a broken file.
 *
 * @param path Destination, conventionally `*.safetensors`.
 * @param model The model.
 * @param vocab Its vocabulary.
 * @param extras Hyperparameters, text settings and optimizer state to record.
 * @example Save a model
 * ```ts ignore
 * import { saveCheckpoint } from "./checkpoint.ts";
 * await saveCheckpoint("jaychou.safetensors", model, vocab, { hyperparameters: { epochs: 250 } });
 * ```
 */
export async function saveCheckpoint(
  path: string,
  model: RnnModel,
  vocab: Vocab,
  extras: CheckpointExtras = {},
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(model, vocab, extras));
}

/**
 * Reads a checkpoint file.
 *
 * @param path The file.
 * @param options Backend for the model.
 * @returns The model, vocabulary and hyperparameters.
 * @throws {SyntaxError} When the file is not a valid checkpoint (the message names the file).
 * @example Load and generate
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import { generate } from "../generate/generate.ts";
 * const { model, vocab } = await loadCheckpoint("jaychou.safetensors");
 * console.log(generate(model, vocab, "分开"));
 * ```
 */
export async function loadCheckpoint(
  path: string,
  options: LoadCheckpointOptions = {},
): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`no checkpoint at ${path}`);
    }
    throw e;
  }
  try {
    return decodeCheckpoint(bytes, options);
  } catch (e) {
    if (e instanceof SyntaxError) throw new SyntaxError(`${path}: ${e.message}`);
    throw e;
  }
}
