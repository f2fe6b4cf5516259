/**
 * The book's chapter experiments beside the language models: the sequence model (a noisy sine, an
 * MLP on the last τ values, 1-step, multistep and k-step predictions, `seq_*.ts`, `mlp.ts`), text
 * statistics (n-grams and Zipf's law, `ngrams.ts`), and the SVG figures (`plot.ts`). Exported as
 * the package's `./book` entry.
 *
 * @module
 */
export * from "./seq_data.ts";
export * from "./seq_experiment.ts";
export * from "./seq_plots.ts";
export * from "./mlp.ts";
export * from "./ngrams.ts";
export * from "./plot.ts";
