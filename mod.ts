/**
 * @rnn/wasm: recurrent language models whose numeric core is AssemblyScript compiled to
 * WebAssembly SIMD. It reproduces the character-level RNN of *Dive into Deep Learning*
 * (chapter 8) on any CPU, with no Python and no GPU: load a corpus, train, generate.
 *
 * The library needs no permissions: the kernels are inlined as bytes. Only the file helpers
 * (`loadText`, `saveCheckpoint`, `loadCheckpoint`) touch the file system or network. The book's
 * other chapter experiments (the sequence model, n-grams and Zipf's law) are in the `./book`
 * entry.
 *
 * @example Train on a tiny text and continue a prefix
 * ```ts
 * import { generate, textCorpus, train } from "./mod.ts";
 *
 * const corpus = textCorpus("分开 不分开 ".repeat(50));
 * const { model, perplexity } = await train(corpus, {
 *   hidden: 32, epochs: 20, batchSize: 4, numSteps: 8, lr: 1, clip: 1, predEvery: 0,
 * });
 * console.log(perplexity.toFixed(2), await generate(model, corpus.vocab, "分开", { length: 10 }));
 * ```
 *
 * From the command line: `deno run -A mod.ts train` (see `deno run -A mod.ts help`).
 *
 * @module
 */
export {
  CheckpointError,
  CorpusError,
  DataError,
  TrainingDivergedError,
  UsageError,
} from "./src/errors.ts";
export {
  type ModelConfig,
  type RunConfig,
  type Setting,
  SETTINGS,
  type TextConfig,
  type TrainConfig,
} from "./src/config/settings.ts";
export { type Preset, PRESETS } from "./src/config/presets.ts";
export { Rng } from "./src/rng.ts";
export { Vocab, type VocabOptions } from "./src/text/vocab.ts";
export { buildCorpus, type Corpus, preprocess, type PreprocessOptions } from "./src/text/corpus.ts";
export {
  joinTokens,
  prefixTokens,
  textCorpus,
  textTokens,
  type Tokenization,
} from "./src/text/text.ts";
export {
  CORPORA,
  type CorpusSource,
  loadText,
  type LoadTextOptions,
} from "./src/io/corpus_files.ts";
export type {
  Activation,
  AnyBuf,
  Backend,
  CellKind,
  FloatBuf,
  GruVariant,
  IndexBuf,
  PackedBuf,
  ScalarBuf,
} from "./src/backend/types.ts";
export { defaultBackend } from "./src/backend/default.ts";
export { createReferenceBackend } from "./src/backend/reference.ts";
export { createWasmBackend, type WasmBackendOptions } from "./src/backend/wasm.ts";
export {
  createWebGpuBackend,
  DeviceLostError,
  webGpuAvailable,
  type WebGpuBackend,
  webGpuBackendOn,
  type WebGpuBackendOptions,
} from "./src/backend/webgpu.ts";
export { BACKEND_CHOICES, type BackendChoice, webGpuFor } from "./src/backend/choose.ts";
export {
  createThreadedBackend,
  type ThreadedBackend,
  type ThreadedBackendOptions,
  threadsAvailable,
} from "./src/backend/threads.ts";
export {
  createModel,
  type CreateModelOptions,
  type LayerParams,
  type OutputParams,
  type PreparedWeights,
  RnnModel,
} from "./src/model/model.ts";
export { paramShapes } from "./src/model/params.ts";
export { quantize } from "./src/model/quantize.ts";
export type { LayerWorkspace, Workspace } from "./src/model/workspace.ts";
export {
  GRU,
  type LayerGradients,
  type LayerOutput,
  type LayerState,
  LSTM,
  RecurrentLayer,
  type RecurrentLayerOptions,
  RNN,
  type StateDictTensor,
} from "./src/model/layers.ts";
export {
  type EpochReport,
  type ProgressReport,
  train,
  type TrainOptions,
  type TrainResult,
} from "./src/train/train.ts";
export type { EpochPosition, TrainState } from "./src/train/state.ts";
export { Adam, type AdamOptions, type AdamState } from "./src/train/adam.ts";
export { evaluate, type EvaluateOptions, type EvaluateResult } from "./src/train/evaluate.ts";
export {
  generate,
  generateBatch,
  type GenerateOptions,
  generateReadableStream,
  generateStream,
  type GenerateStreamOptions,
} from "./src/generate/generate.ts";
export { type SampleOptions, sampleToken } from "./src/generate/sample.ts";
export {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  type LoadCheckpointOptions,
  saveCheckpoint,
  type TrainRecord,
} from "./src/io/checkpoint.ts";
export type { WriteOptions } from "./src/io/atomic_write.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsFile,
  type Tensor,
} from "./src/io/safetensors.ts";
export {
  exportPyTorch,
  type ExportPyTorchOptions,
  importPyTorch,
  type ImportPyTorchOptions,
  type PyTorchImport,
} from "./src/io/pytorch.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}
