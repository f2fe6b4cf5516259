/**
 * The book's chapter-8 experiments beside the language models, as the `@rnn/wasm/book` entry: the
 * sequence model (a noisy sine, an autoregressive MLP, 1-step, multistep and k-step predictions
 * with their figures), text statistics (n-gram frequencies and Zipf's law), the samplers of the
 * "Language Models" section, and the pieces they are built from (the MLP, Adam, the generator).
 *
 * @example The sequence-model experiment
 * ```ts
 * import { runSequenceExperiment } from "./book.ts";
 * const result = await runSequenceExperiment({ epochs: 2 });
 * console.log(result.mse.onestep < result.mse.multistep); // true
 * ```
 *
 * @module
 */
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
export {
  SEQUENCE_FIGURE_FILES,
  type SequenceFigures,
  sequenceFigures,
} from "./src/book/seq_plots.ts";
export { type LineChartOptions, lineChartSvg, type Series } from "./src/book/plot.ts";
export {
  createMlp,
  createMlpWorkspace,
  type DenseParams,
  type Mlp,
  mlpBackward,
  mlpForward,
  type MlpWorkspace,
} from "./src/book/mlp.ts";
export { countNgrams, fitZipf, type ZipfFit, type ZipfFitOptions } from "./src/book/ngrams.ts";
export { flatten, normalizeLetters, tokenize, type TokenKind } from "./src/text/tokenize.ts";
export {
  batches,
  countBatches,
  type Minibatch,
  randomBatches,
  type SamplerOptions,
  type SamplingKind,
  sequentialBatches,
} from "./src/text/batches.ts";
export { Adam, type AdamOptions, type AdamState } from "./src/train/adam.ts";
export { Rng } from "./src/rng.ts";
