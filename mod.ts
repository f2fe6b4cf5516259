/**
 * @rnn/wasm: recurrent language models whose numeric core is AssemblyScript compiled to
 * WebAssembly SIMD. It reproduces the character-level RNN of *Dive into Deep Learning*
 * (chapter 8) on any CPU, with no Python and no GPU: load a corpus, train, generate.
 *
 * The library needs no permissions: the kernels are inlined as bytes. Only the file helpers
 * (`loadText`, `loadCorpus`, `saveCheckpoint`, `loadCheckpoint`) touch the file system or network.
 *
 * @example Train on a tiny text and continue a prefix
 * ```ts
 * import { buildCorpus, generate, train } from "./mod.ts";
 *
 * const corpus = buildCorpus(Array.from("分开 不分开 ".repeat(50)));
 * const { model, perplexity } = await train(corpus, {
 *   hidden: 32, epochs: 20, batchSize: 4, numSteps: 8, lr: 1, clip: 1, predEvery: 0,
 * });
 * console.log(perplexity.toFixed(2), generate(model, corpus.vocab, "分开", { length: 10 }));
 * ```
 *
 * From the command line: `deno run -A mod.ts train` (see `deno run -A mod.ts help`).
 *
 * @module
 */
export { Rng } from "./src/rng.ts";
export { Vocab, type VocabOptions } from "./src/text/vocab.ts";
export { flatten, normalizeLetters, tokenize, type TokenKind } from "./src/text/tokenize.ts";
export { countNgrams, fitZipf, type ZipfFit, type ZipfFitOptions } from "./src/book/ngrams.ts";
export {
  CHAR_TEXT,
  joinTokens,
  textCorpus,
  type TextCorpusOptions,
  type TextSettings,
  textTokens,
} from "./src/text/text.ts";
export { type Preset, PRESETS, type PresetSettings } from "./src/train/presets.ts";
export {
  buildCorpus,
  CORPORA,
  type Corpus,
  type CorpusSource,
  loadCorpus,
  loadText,
  type LoadTextOptions,
  preprocess,
  type PreprocessOptions,
} from "./src/text/corpus.ts";
export {
  batches,
  countBatches,
  type Minibatch,
  randomBatches,
  type SamplerOptions,
  type SamplingKind,
  sequentialBatches,
} from "./src/text/batches.ts";
export type { ActivationCode, Backend, Buf, IndexBuf } from "./src/backend/types.ts";
export { createReferenceBackend } from "./src/backend/reference.ts";
export { createWasmBackend, hasRelaxedSimd, type WasmBackendOptions } from "./src/backend/wasm.ts";
export {
  createThreadedBackend,
  type ThreadedBackend,
  type ThreadedBackendOptions,
  threadsAvailable,
} from "./src/backend/threads.ts";
export {
  type Activation,
  type CellType,
  createModel,
  type CreateModelOptions,
  type Dropout,
  GATES,
  getWeights,
  type GruVariant,
  type LayerParams,
  type ModelConfig,
  type OutputParams,
  PARAM_NAMES,
  type ParamName,
  paramShapes,
  type RnnModel,
  setWeights,
  weightsChanged,
  weightsVersion,
} from "./src/model/model.ts";
export {
  type EpochReport,
  train,
  TrainingDivergedError,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainState,
} from "./src/train/train.ts";
export {
  GRU,
  type LayerGradients,
  type LayerOutput,
  type LayerState,
  LSTM,
  RecurrentLayer,
  type RecurrentLayerOptions,
  RNN,
} from "./src/model/layers.ts";
export {
  generate,
  generateBatch,
  type GenerateOptions,
  generateReadableStream,
  generateStream,
  type GenerateStreamOptions,
  prefixTokens,
  type SampleOptions,
  sampleToken,
} from "./src/generate/generate.ts";
export { evaluate, type EvaluateOptions, type EvaluateResult } from "./src/train/evaluate.ts";
export {
  type Checkpoint,
  type CheckpointExtras,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  type LoadCheckpointOptions,
  saveCheckpoint,
  type TrainingProgress,
} from "./src/io/checkpoint.ts";
export {
  exportPyTorch,
  type ExportPyTorchOptions,
  importPyTorch,
  type ImportPyTorchOptions,
  type PyTorchImport,
} from "./src/io/pytorch.ts";
export { Adam, type AdamOptions, type AdamState } from "./src/train/adam.ts";
export {
  createMlp,
  createMlpWorkspace,
  type DenseParams,
  type Mlp,
  mlpBackward,
  mlpForward,
  type MlpWorkspace,
} from "./src/book/mlp.ts";
export {
  type SineSeries,
  sineSeries,
  type SineSeriesOptions,
  type TauFeatures,
  tauFeatures,
} from "./src/book/seq_data.ts";
export {
  type Prediction,
  runSequenceExperiment,
  type SequenceExperimentOptions,
  type SequenceExperimentResult,
  type SequenceMse,
} from "./src/book/seq_experiment.ts";
export { main } from "./src/cli/main.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}
