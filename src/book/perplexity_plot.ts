/**
 * The perplexity curve of a training run, by epoch: training, and validation when tokens were held
 * out. One chart for the command line (`train --plot FILE`) and the browser playground, drawn by
 * {@linkcode lineChartSvg}.
 *
 * @module
 */
import { lineChartSvg, type Series } from "./plot.ts";

/** What the curve needs of each reported epoch (an `EpochReport` has it). */
export interface PerplexityPoint {
  /** Epoch, from 1. */
  epoch: number;
  /** Training perplexity. */
  perplexity: number;
  /** Validation perplexity, when held out. */
  valPerplexity?: number;
}

/**
 * The perplexity curve as a standalone SVG, on a logarithmic perplexity axis.
 *
 * @param history The epochs so far, in order (at least one).
 * @param title The chart's title, e.g. the corpus and model.
 * @returns The SVG document.
 * @throws {RangeError} When the history is empty.
 * @example Two epochs
 * ```ts
 * import { perplexityChart } from "./perplexity_plot.ts";
 * const svg = await perplexityChart([{ epoch: 1, perplexity: 300 }, { epoch: 2, perplexity: 120 }]);
 * console.log(svg.startsWith("<svg"), svg.includes(">training<")); // true true
 * ```
 */
export function perplexityChart(
  history: readonly PerplexityPoint[],
  title = "perplexity by epoch",
): Promise<string> {
  if (history.length === 0) throw new RangeError("perplexityChart() needs at least one epoch");
  const x = history.map((r) => r.epoch);
  const series: Series[] = [{ name: "training", x, y: history.map((r) => r.perplexity) }];
  if (history.some((r) => r.valPerplexity !== undefined)) {
    series.push({ name: "validation", x, y: history.map((r) => r.valPerplexity ?? NaN) });
  }
  return lineChartSvg(series, { title, xTitle: "epoch", yTitle: "perplexity", logY: true });
}
