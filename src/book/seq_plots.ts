/**
 * The three figures of the book's sequence-model section, drawn with {@linkcode lineChartSvg}:
 * the data, the 1-step and multistep predictions over the data, and the k-step predictions. Kept
 * apart from `seq_experiment.ts` so the experiment loads without the plotting code.
 *
 * @module
 */
import { lineChartSvg } from "./plot.ts";
import type { SequenceExperimentResult } from "./seq_experiment.ts";

/** The figures as SVG documents, with the file names the CLI writes them under. */
export interface SequenceFigures {
  /** The noisy series (`seq-data.svg`). */
  data: string;
  /** Data, 1-step and multistep predictions (`seq-predictions.svg`). */
  predictions: string;
  /** The k-step predictions, one line per k (`seq-kstep.svg`). */
  kstep: string;
}

/** File names of {@linkcode SequenceFigures}, in the order the book shows them. */
export const SEQUENCE_FIGURE_FILES: Readonly<Record<keyof SequenceFigures, string>> = {
  data: "seq-data.svg",
  predictions: "seq-predictions.svg",
  kstep: "seq-kstep.svg",
};

/**
 * Draws the book's three figures of a {@linkcode runSequenceExperiment} result: x against time,
 * titled "Noisy sine: the data", "1-step and multistep predictions" and "k-step predictions", with
 * the legends `data`, `1-step preds`, `multistep preds` and `k-step preds`.
 *
 * @param result The experiment's result.
 * @returns The three SVG documents.
 * @example Draw the figures of a short run
 * ```ts
 * import { runSequenceExperiment } from "./seq_experiment.ts";
 * import { sequenceFigures } from "./seq_plots.ts";
 * const figures = await sequenceFigures(await runSequenceExperiment({ epochs: 1 }));
 * console.log(figures.kstep.includes(">64-step preds<")); // true
 * ```
 */
export async function sequenceFigures(result: SequenceExperimentResult): Promise<SequenceFigures> {
  const axes = { xTitle: "time", yTitle: "x" };
  const data = { name: "data", x: result.time, y: result.x };
  const onestep = { name: "1-step preds", x: result.onestep.time, y: result.onestep.preds };
  const multistep = {
    name: "multistep preds",
    x: result.multistep.time,
    y: result.multistep.preds,
  };
  const ksteps = [...result.kstep].map(([k, p]) => ({
    name: `${k}-step preds`,
    x: p.time,
    y: p.preds,
  }));
  const [dataSvg, predictions, kstep] = await Promise.all([
    lineChartSvg([data], { ...axes, title: "Noisy sine: the data" }),
    lineChartSvg([data, onestep, multistep], {
      ...axes,
      title: "1-step and multistep predictions",
    }),
    lineChartSvg(ksteps, { ...axes, title: "k-step predictions" }),
  ]);
  return { data: dataSvg, predictions, kstep };
}
