/**
 * Checkpoints, format version 2: a model's weights, its vocabulary with the text settings it was
 * read with, its config, and optionally the settings it was trained with and the state to resume
 * that training from, as one safetensors file.
 *
 * Tensors are float32, row-major, under the book's names and in its orientation (see
 * `paramShapes`): for the vanilla RNN `W_xh` [V,H], `W_hh` [H,H], `b_h` [H]; for the GRU and LSTM
 * one `W_x<g>`, `W_h<g>`, `b_<g>` per gate; `_l0`, `_l1`, ... after each name in deep stacks;
 * then `W_hq` [H,V] and `b_q` [V]. With Adam's state, each weight `X` has its moments beside it as
 * `adam.m.X` and `adam.v.X` (same shape). `__metadata__` holds `format` (`"rnn-wasm"`),
 * `format_version` (`"2"`) and JSON strings: `model` (the model's config), `text` (the text
 * settings), `vocab` (tokens in index order), and optionally `train` (the training settings and
 * the corpus) and `state` (`{"epoch", "rngState", "dropoutRngState"?, "adamStep"?, "position"?}`,
 * `position` being `{"step", "epochRngState", "lossSum"}` for a run stopped inside an epoch, whose
 * carried hidden states are the tensors `state.hidden.l<k>` and `state.cells.l<k>` [B,H]). Every
 * setting is checked against the settings table on load. See docs/checkpoints.md.
 *
 * @module
 */
import type { Backend } from "../backend/types.ts";
import {
  checkSetting,
  type ModelConfig,
  resolveModelConfig,
  resolveTextConfig,
  resolveTrainConfig,
  settingNames,
  type TextConfig,
  type TrainConfig,
} from "../config/settings.ts";
import { CheckpointError, UsageError } from "../errors.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import { joinNamed, namedTensors, splitNamed } from "../model/params.ts";
import { dequantizeInt8, int8Axes, int8Matrices, type Int8Matrix } from "../model/quantize.ts";
import { Vocab } from "../text/vocab.ts";
import type { EpochPosition, TrainState } from "../train/state.ts";
import { writeFileAtomic, type WriteOptions } from "./atomic_write.ts";
import { describeOsError } from "./os_errors.ts";
import { readBytes } from "./runtime.ts";
import { decodeModelFile, encodeSafetensors, type Tensor } from "./safetensors.ts";

/** The format version this library writes and reads. */
export const CHECKPOINT_VERSION = 2;

/** The training settings a checkpoint records, with the corpus they were used on. */
export type TrainRecord = TrainConfig & { corpus?: string };

/** A checkpoint's contents: what {@linkcode loadCheckpoint} returns and {@linkcode saveCheckpoint} takes. */
export interface Checkpoint {
  /** The model (weights and config). */
  model: RnnModel;
  /** The vocabulary the model was trained with. */
  vocab: Vocab;
  /** How the training text became tokens; apply it to prefixes and evaluation text. */
  text: TextConfig;
  /** The settings the model was trained with, when recorded. */
  train?: TrainRecord;
  /** Where the training run stood, to resume it exactly (see `train`'s `resume`). */
  state?: TrainState;
}

/** Options of {@linkcode decodeCheckpoint} and {@linkcode loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Backend of the loaded model; default the shared WebAssembly backend. */
  backend?: Backend;
}

/**
 * Serialises a checkpoint to safetensors bytes.
 *
 * @param checkpoint The model, vocabulary, text settings, and optionally the training settings
 * and state.
 * @returns The file's bytes.
 * @throws {UsageError} When the vocabulary does not fit the model, a weight is NaN or infinite
 * (such a model is never saved), or the state's moments do not fit the model.
 * @example Encode and decode
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { Vocab } from "../text/vocab.ts";
 * import { resolveTextConfig } from "../config/settings.ts";
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const vocab = new Vocab(["a", "b"]);
 * const model = createModel({ vocabSize: 2, hidden: 3 });
 * const bytes = await encodeCheckpoint({ model, vocab, text: resolveTextConfig({}) });
 * console.log(decodeCheckpoint(bytes).vocab.tokens); // ["a", "b"]
 * ```
 */
export async function encodeCheckpoint(checkpoint: Checkpoint): Promise<Uint8Array> {
  const { model, vocab, text, train, state } = checkpoint;
  if (vocab.size !== model.config.vocabSize) {
    throw new UsageError(
      `the vocabulary has ${vocab.size} tokens, the model ${model.config.vocabSize}`,
    );
  }
  const all = await model.backend.read(model.params);
  if (firstNonFinite(all) >= 0) {
    throw new UsageError("the model has NaN or infinite weights; it was not saved");
  }
  const adam = state?.optimizer;
  for (const [key, moments] of adam ? [["m", adam.m], ["v", adam.v]] as const : []) {
    if (moments.length !== model.numParams) {
      throw new UsageError(
        `the optimizer state holds ${moments.length} values in ${key}, the model ` +
          `${model.numParams} parameters`,
      );
    }
  }
  if (model.quantized && state) {
    throw new UsageError(
      "an 8-bit model is for generation: its checkpoint keeps no training state; leave state out",
    );
  }
  const named = splitNamed(model.config, all);
  const int8 = model.quantized ? int8Matrices(model.config, named) : new Map<string, Int8Matrix>();
  const tensors: Tensor[] = [];
  const add = (prefix: string, values: Record<string, Float32Array>) => {
    for (const t of namedTensors(model.config)) {
      const m = prefix === "" ? int8.get(t.name) : undefined;
      tensors.push({ name: prefix + t.name, shape: [...t.shape], data: m?.q ?? values[t.name] });
      if (m) tensors.push({ name: `${t.name}.scale`, shape: [m.scale.length], data: m.scale });
    }
  };
  add("", named);
  if (adam) {
    add("adam.m.", splitNamed(model.config, adam.m));
    add("adam.v.", splitNamed(model.config, adam.v));
  }
  const at = state?.position, H = model.config.hidden;
  for (const [kind, list] of [["hidden", at?.hidden], ["cells", at?.cells]] as const) {
    list?.forEach((data, l) => {
      tensors.push({ name: `state.${kind}.l${l}`, shape: [data.length / H, H], data });
    });
  }
  return encodeSafetensors({
    tensors,
    metadata: {
      format: "rnn-wasm",
      format_version: String(CHECKPOINT_VERSION),
      model: JSON.stringify(model.config),
      text: JSON.stringify(resolveTextConfig(text)),
      vocab: JSON.stringify(vocab.toJSON()),
      ...(model.quantized
        ? {
          quantized: JSON.stringify({
            weights: model.quantized,
            axes: Object.fromEntries([...int8].map(([name, m]) => [name, m.axis])),
          }),
        }
        : {}),
      ...(train ? { train: JSON.stringify(train) } : {}),
      ...(state
        ? {
          state: JSON.stringify({
            epoch: state.epoch,
            rngState: state.rngState,
            ...(state.dropoutRngState ? { dropoutRngState: state.dropoutRngState } : {}),
            ...(adam ? { adamStep: adam.step } : {}),
            ...(at
              ? {
                position: { step: at.step, epochRngState: at.epochRngState, lossSum: at.lossSum },
              }
              : {}),
          }),
        }
        : {}),
    },
  });
}

/** A metadata entry's JSON value; absent entries are `undefined` unless required. */
function entry(meta: Record<string, string>, key: string, required: boolean): unknown {
  const text = meta[key];
  if (text === undefined) {
    if (required) throw new CheckpointError(`the checkpoint's metadata has no "${key}" entry`);
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckpointError(`the checkpoint's metadata "${key}" is not valid JSON`);
  }
}

/**
 * A settings object from the metadata: exactly the names of the given groups (plus `extra`),
 * each value checked against the table, resolved by `resolve`.
 */
function settings<T>(
  key: string,
  value: unknown,
  names: string[],
  resolve: (given: Record<string, unknown>) => T,
): T {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CheckpointError(`the checkpoint's "${key}" entry is not an object`);
  }
  const unknown = Object.keys(value).filter((k) => !names.includes(k));
  if (unknown.length > 0) {
    throw new CheckpointError(
      `the checkpoint's "${key}" entry has unknown settings: ${unknown.join(", ")}`,
    );
  }
  try {
    for (const [k, v] of Object.entries(value)) checkSetting(k, v);
    return resolve(value as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new CheckpointError(`the checkpoint's "${key}" entry is invalid: ${e.message}`);
  }
}

/** A position inside an epoch (a run stopped there): its JSON and its carried-state tensors. */
function readPosition(
  p: unknown,
  byName: Map<string, { shape: number[]; data: Float32Array }>,
  config: ModelConfig,
): EpochPosition {
  const q = p as Record<string, unknown> | null;
  if (
    typeof q !== "object" || q === null || !Number.isSafeInteger(q.step) ||
    (q.step as number) < 0 ||
    !isWords(q.epochRngState) || typeof q.lossSum !== "number" || !(q.lossSum >= 0)
  ) {
    throw new CheckpointError(
      `the checkpoint's state position ${JSON.stringify(p)} is not understood`,
    );
  }
  const carried = (kind: string) => {
    const list: Float32Array[] = [];
    for (let l = 0; byName.has(`state.${kind}.l${l}`); l++) {
      const t = byName.get(`state.${kind}.l${l}`)!;
      if (t.shape.length !== 2 || t.shape[1] !== config.hidden) {
        throw new CheckpointError(
          `tensor "state.${kind}.l${l}" has shape ${
            JSON.stringify(t.shape)
          }, expected [B,${config.hidden}]`,
        );
      }
      list.push(t.data);
    }
    return list;
  };
  const hidden = carried("hidden"), cells = carried("cells");
  return {
    step: q.step as number,
    epochRngState: q.epochRngState as number[],
    lossSum: q.lossSum,
    ...(hidden.length > 0 ? { hidden } : {}),
    ...(cells.length > 0 ? { cells } : {}),
  };
}

/**
 * The index of the first NaN or infinity, or -1: a loop over the bits (all ones in the exponent),
 * fast even before the engine optimises it (a callback per element is not: a checkpoint's
 * 600,000 weights took 12 ms). Float64 weights (the reference backend's) are tested by value.
 */
function firstNonFinite(data: Float32Array | Float64Array): number {
  if (data instanceof Float64Array) return data.findIndex((x) => !Number.isFinite(x));
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7f800000) === 0x7f800000) return i;
  }
  return -1;
}

/** A generator's state: four unsigned 32-bit words. */
function isWords(x: unknown): boolean {
  return Array.isArray(x) && x.length === 4 &&
    x.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);
}

/** The training state when the checkpoint records one; checks its form. */
function readState(
  meta: Record<string, string>,
  byName: Map<string, { shape: number[]; data: Float32Array }>,
  config: ModelConfig,
): TrainState | undefined {
  const s = entry(meta, "state", false) as Record<string, unknown> | undefined;
  if (s === undefined) return undefined;
  const words = isWords;
  if (
    typeof s !== "object" || s === null || !Number.isSafeInteger(s.epoch) ||
    (s.epoch as number) < 0 ||
    !words(s.rngState) || (s.dropoutRngState !== undefined && !words(s.dropoutRngState)) ||
    (s.adamStep !== undefined && !(Number.isSafeInteger(s.adamStep) && (s.adamStep as number) >= 0))
  ) {
    throw new CheckpointError(`the checkpoint's state entry ${meta.state} is not understood`);
  }
  const state: TrainState = {
    epoch: s.epoch as number,
    rngState: s.rngState as number[],
    ...(s.dropoutRngState ? { dropoutRngState: s.dropoutRngState as number[] } : {}),
    ...(s.position !== undefined ? { position: readPosition(s.position, byName, config) } : {}),
  };
  if (s.adamStep === undefined) return state;
  for (const t of namedTensors(config)) {
    for (const prefix of ["adam.m.", "adam.v."]) {
      const tensor = byName.get(prefix + t.name);
      if (tensor && JSON.stringify(tensor.shape) !== JSON.stringify(t.shape)) {
        throw new CheckpointError(
          `tensor "${prefix}${t.name}" has shape ${JSON.stringify(tensor.shape)}, expected ` +
            JSON.stringify(t.shape),
        );
      }
    }
  }
  const moments = (prefix: string) =>
    joinNamed(
      config,
      Object.fromEntries(
        namedTensors(config).map((t) => [t.name, byName.get(prefix + t.name)?.data ?? []]),
      ),
    );
  try {
    return {
      ...state,
      optimizer: {
        m: Float32Array.from(moments("adam.m.")),
        v: Float32Array.from(moments("adam.v.")),
        step: s.adamStep as number,
      },
    };
  } catch (e) {
    throw new CheckpointError(
      `the checkpoint's Adam moments are incomplete: ${(e as Error).message}`,
    );
  }
}

/**
 * An 8-bit checkpoint's matrices (metadata `quantized`), checked, each replaced in `byName` by its
 * float32 values; `undefined` for a float checkpoint, in which no tensor may be 8-bit.
 */
function readInt8(
  meta: Record<string, string>,
  byName: Map<string, Tensor>,
  config: ModelConfig,
): Map<string, Int8Matrix> | undefined {
  const q = entry(meta, "quantized", false) as { weights?: unknown; axes?: unknown } | undefined;
  if (q === undefined) {
    const int8 = [...byName.values()].find((t) => t.data instanceof Int8Array);
    if (int8) {
      throw new CheckpointError(
        `tensor "${int8.name}" is 8-bit, but the checkpoint's metadata has no "quantized" entry`,
      );
    }
    return undefined;
  }
  const axes = int8Axes(config);
  if (
    typeof q !== "object" || q === null || q.weights !== "int8" ||
    JSON.stringify(q.axes) !== JSON.stringify(Object.fromEntries(axes))
  ) {
    throw new CheckpointError(
      `the checkpoint's "quantized" entry ${meta.quantized} is not understood (this version ` +
        `writes {"weights":"int8","axes":${JSON.stringify(Object.fromEntries(axes))}})`,
    );
  }
  const shapes = new Map(namedTensors(config).map((t) => [t.name, t.shape]));
  const matrices = new Map<string, Int8Matrix>();
  for (const [name, axis] of axes) {
    const [rows, cols] = shapes.get(name)!;
    const t = byName.get(name), sc = byName.get(`${name}.scale`);
    const units = axis === "rows" ? rows : cols;
    if (!(t?.data instanceof Int8Array) || JSON.stringify(t.shape) !== `[${rows},${cols}]`) {
      throw new CheckpointError(`tensor "${name}" must be I8 of shape [${rows},${cols}]`);
    }
    if (
      !(sc?.data instanceof Float32Array) || JSON.stringify(sc.shape) !== `[${units}]` ||
      !sc.data.every((x) => Number.isFinite(x) && x >= 0)
    ) {
      throw new CheckpointError(
        `tensor "${name}.scale" must hold ${units} finite float32 scales >= 0`,
      );
    }
    if (t.data.includes(-128)) {
      throw new CheckpointError(`tensor "${name}" holds -128; 8-bit weights lie in [-127, 127]`);
    }
    const m: Int8Matrix = { q: t.data, scale: sc.data, axis };
    matrices.set(name, m);
    byName.set(name, { name, shape: [rows, cols], data: dequantizeInt8(m, rows, cols) });
  }
  return matrices;
}

/**
 * Reads a checkpoint from bytes, checking its header, metadata, settings, shapes and sizes.
 *
 * @param bytes The file's bytes.
 * @param options Backend for the model.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the bytes are not a valid version-2 checkpoint; the message says
 * what is wrong (and, for another version, what to do).
 * @example Reject garbage
 * ```ts
 * import { CheckpointError } from "../errors.ts";
 * import { decodeCheckpoint } from "./checkpoint.ts";
 * try {
 *   decodeCheckpoint(new Uint8Array(4));
 * } catch (e) {
 *   console.log(e instanceof CheckpointError); // true
 * }
 * ```
 */
export function decodeCheckpoint(
  bytes: Uint8Array,
  options: LoadCheckpointOptions = {},
): Checkpoint {
  const file = decodeModelFile(bytes);
  const meta = file.metadata;
  if (meta.format !== "rnn-wasm") {
    throw new CheckpointError(
      `not an @rnn/wasm checkpoint: metadata "format" is ${JSON.stringify(meta.format)}`,
    );
  }
  if (meta.format_version !== String(CHECKPOINT_VERSION)) {
    const version = Number(meta.format_version);
    throw new CheckpointError(
      meta.format_version === undefined
        ? "the checkpoint's metadata has no format_version"
        : !/^[1-9][0-9]{0,5}$/.test(meta.format_version)
        ? `the checkpoint's format_version ${JSON.stringify(meta.format_version)} is not understood`
        : version < CHECKPOINT_VERSION
        ? `this is a version-${version} checkpoint (written before @rnn/wasm 0.1.0); this ` +
          `version reads version ${CHECKPOINT_VERSION} only: train the model again`
        : `this is a version-${version} checkpoint, newer than this @rnn/wasm reads (version ` +
          `${CHECKPOINT_VERSION}): update @rnn/wasm`,
    );
  }
  const model = settings("model", entry(meta, "model", true), settingNames("model"), (g) => {
    if (g.vocabSize === undefined) throw new UsageError("{vocabSize} is required");
    return resolveModelConfig(g);
  });
  const text = settings("text", entry(meta, "text", true), settingNames("text"), resolveTextConfig);
  const train = meta.train === undefined ? undefined : settings(
    "train",
    entry(meta, "train", true),
    [...settingNames("train"), "corpus"],
    (g) => ({ ...resolveTrainConfig(g), ...(g.corpus ? { corpus: g.corpus as string } : {}) }),
  );
  let vocab: Vocab;
  try {
    vocab = Vocab.fromJSON(entry(meta, "vocab", true));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`the checkpoint's vocabulary is invalid: ${(e as Error).message}`);
  }
  if (model.vocabSize !== vocab.size || model.inputSize !== 0) {
    throw new CheckpointError(
      `the checkpoint's model config (vocabSize ${model.vocabSize}, inputSize ` +
        `${model.inputSize}) does not fit its vocabulary of ${vocab.size} tokens`,
    );
  }
  const tensorsByName = new Map(file.tensors.map((t) => [t.name, t]));
  const int8 = readInt8(meta, tensorsByName, model);
  // Every tensor left is float32: the 8-bit matrices now hold their values.
  const byName = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensorsByName) {
    if (!(t.data instanceof Float32Array)) {
      throw new CheckpointError(`tensor "${name}" must be F32, not 8-bit`);
    }
    byName.set(name, { shape: t.shape, data: t.data });
  }
  const expected = namedTensors(model);
  for (const t of expected) {
    const tensor = byName.get(t.name);
    const want = JSON.stringify(t.shape);
    if (!tensor) {
      throw new CheckpointError(`the checkpoint has no tensor "${t.name}" (expected ${want})`);
    }
    if (JSON.stringify(tensor.shape) !== want) {
      throw new CheckpointError(
        `tensor "${t.name}" has shape ${JSON.stringify(tensor.shape)}, expected ${want}`,
      );
    }
  }
  const state = readState(meta, byName, model);
  if (int8 && state) {
    throw new CheckpointError(
      "an 8-bit checkpoint cannot hold a training state, and this one does",
    );
  }
  const known = new Set(
    expected.flatMap((t) =>
      state?.optimizer ? [t.name, `adam.m.${t.name}`, `adam.v.${t.name}`] : [t.name]
    ),
  );
  const at = state?.position;
  at?.hidden?.forEach((_, l) => known.add(`state.hidden.l${l}`));
  at?.cells?.forEach((_, l) => known.add(`state.cells.l${l}`));
  for (const name of int8?.keys() ?? []) known.add(`${name}.scale`);
  const extra = file.tensors.filter((t) => !known.has(t.name));
  if (extra.length > 0) {
    throw new CheckpointError(
      `the checkpoint has unexpected tensors: ${extra.map((t) => t.name).join(", ")}`,
    );
  }
  // saveCheckpoint never writes one: such a file was damaged or made elsewhere. The file's own
  // float tensors (an 8-bit matrix is finite by construction, its scales were checked).
  for (const t of file.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const at = firstNonFinite(t.data);
    if (at >= 0) {
      throw new CheckpointError(`tensor "${t.name}" holds ${t.data[at]} at index ${at}`);
    }
  }
  const loaded = createModel(model, {
    backend: options.backend,
    initScale: 0,
    ...(int8 ? { quantized: "int8" as const } : {}),
  });
  loaded.setWeights(Object.fromEntries(expected.map((t) => [t.name, byName.get(t.name)!.data])));
  return {
    model: loaded,
    vocab,
    text,
    ...(train ? { train } : {}),
    ...(state ? { state } : {}),
  };
}

/**
 * Writes a checkpoint atomically (temporary file, then rename): an interrupted save never leaves
 * a broken file.
 *
 * @param path Destination, conventionally `*.safetensors`.
 * @param checkpoint What to save.
 * @param options An abort signal: an abandoned save leaves `path` as it was.
 * @throws {DataError} When the file cannot be written (the message names it and says why).
 * @example Save a model trained on a text
 * ```ts
 * import { textCorpus } from "../text/text.ts";
 * import { createModel } from "../model/model.ts";
 * import { saveCheckpoint } from "./checkpoint.ts";
 * const corpus = textCorpus("分开 不分开");
 * const model = createModel({ vocabSize: corpus.vocab.size, hidden: 8 });
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveCheckpoint(path, { model, vocab: corpus.vocab, text: corpus.text });
 * await Deno.remove(path);
 * ```
 */
export async function saveCheckpoint(
  path: string,
  checkpoint: Checkpoint,
  options: WriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(checkpoint), options);
}

/**
 * Reads a checkpoint file.
 *
 * @param path The file.
 * @param options Backend for the model.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the file is missing, unreadable or not a valid checkpoint (the
 * message names the file).
 * @example Save, load and generate
 * ```ts
 * import { textCorpus } from "../text/text.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate } from "../generate/generate.ts";
 * import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
 * const corpus = textCorpus("分开 不分开");
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const saved = createModel({ vocabSize: corpus.vocab.size, hidden: 8 }, { seed: 3 });
 * await saveCheckpoint(path, { model: saved, vocab: corpus.vocab, text: corpus.text });
 * const { model, vocab, text } = await loadCheckpoint(path);
 * const options = { text, length: 5 };
 * console.log(await generate(model, vocab, "分开", options) ===
 *   await generate(saved, corpus.vocab, "分开", options)); // true
 * await Deno.remove(path);
 * ```
 */
export async function loadCheckpoint(
  path: string,
  options: LoadCheckpointOptions = {},
): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path);
  } catch (e) {
    throw new CheckpointError(
      `${path}: ${describeOsError(e)}; give the path of a checkpoint file`,
      path,
      {
        cause: e,
      },
    );
  }
  try {
    return decodeCheckpoint(bytes, options);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${path}: ${e.message}`, path);
    throw e;
  }
}
