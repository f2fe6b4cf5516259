/**
 * Line charts as SVG, drawn with Vega-Lite and rendered headless by Vega: the pictures of the
 * sequence-model chapter and of the text statistics. Vega loads on the first chart, so importing
 * this module (or the book's entry) costs nothing until something is drawn.
 *
 * @module
 */
import type * as vl from "vega-lite";

/** One line of a chart. */
export interface Series {
  /** Legend label. */
  name: string;
  /** X values. */
  x: ArrayLike<number>;
  /** Y values (same length as `x`); non-finite values are left out. */
  y: ArrayLike<number>;
}

/** Axes and size of a chart. */
export interface LineChartOptions {
  /** Title above the chart. */
  title?: string;
  /** X axis label. */
  xTitle: string;
  /** Y axis label. */
  yTitle: string;
  /** Logarithmic x axis. */
  logX?: boolean;
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Width in pixels; default 600. */
  width?: number;
  /** Height in pixels; default 300. */
  height?: number;
}

/**
 * Draws series as lines with a legend, labelled axes and an optional title.
 *
 * @param series The lines.
 * @param options Axis titles, log scales, size.
 * @returns The SVG document.
 * @example A sine curve
 * ```ts
 * import { lineChartSvg } from "./plot.ts";
 * const x = Array.from({ length: 50 }, (_, i) => i / 5);
 * const svg = await lineChartSvg([{ name: "sin", x, y: x.map(Math.sin) }], {
 *   xTitle: "time", yTitle: "x",
 * });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export async function lineChartSvg(series: Series[], options: LineChartOptions): Promise<string> {
  const values: { x: number; y: number; series: string }[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new TypeError(
        `series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`,
      );
    }
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i], y = s.y[i];
      if (Number.isFinite(x) && Number.isFinite(y)) values.push({ x, y, series: s.name });
    }
  }
  const scale = (log?: boolean) => (log ? { type: "log" as const } : { zero: false });
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 600,
    height: options.height ?? 300,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "x", type: "quantitative", title: options.xTitle, scale: scale(options.logX) },
      y: { field: "y", type: "quantitative", title: options.yTitle, scale: scale(options.logY) },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: series.map((s) => s.name),
        legend: { orient: "top-right" },
      },
    },
  };
  const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
