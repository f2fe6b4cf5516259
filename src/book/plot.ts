/**
 * Line charts as standalone SVG, drawn by a small renderer of our own: the figures of the
 * sequence-model section and of the text statistics. It needs no DOM and no fonts: text widths are
 * estimated from a table of advance widths, generously enough to size the margins and the legend.
 *
 * @module
 */

/** One line of a chart. */
export interface Series {
  /** Legend label. */
  name: string;
  /** X values. */
  x: ArrayLike<number>;
  /**
   * Y values (same length as `x`). A point with a non-finite value, or a value ≤ 0 on a
   * logarithmic axis, is left out and breaks the line there.
   */
  y: ArrayLike<number>;
}

/** Titles, scales and size of a chart. */
export interface LineChartOptions {
  /** Title above the chart; none by default. */
  title?: string;
  /** X axis title. */
  xTitle: string;
  /** Y axis title. */
  yTitle: string;
  /** Logarithmic x axis (ticks at powers of ten); default linear. */
  logX?: boolean;
  /** Logarithmic y axis (ticks at powers of ten); default linear. */
  logY?: boolean;
  /** Width of the plotting area in pixels; default 600. Title, axes and legend add margins. */
  width?: number;
  /** Height of the plotting area in pixels; default 300. */
  height?: number;
}

/** Okabe and Ito's colour-blind-safe palette ("Color Universal Design", 2008), yellow last. */
const PALETTE = "#0072B2 #E69F00 #009E73 #D55E00 #CC79A7 #56B4E9 #000000 #F0E442".split(" ");
const FONT = { tick: 11, axis: 12, title: 14, legend: 12 };
const PAD = 10, TICK = 5, LEGEND_GAP = 16, SWATCH = 20, ROW = 18;

/** A labelled tick; `sup`, when present, is an exponent raised after the label ("10", "−8"). */
interface Tick {
  value: number;
  label: string;
  sup?: string;
}

/** Labelled ticks, unlabelled minor ticks, and where a value lies across the axis, in [0, 1]. */
interface Axis {
  ticks: Tick[];
  minor: number[];
  at(value: number): number;
}

/** Escapes text for SVG content and double-quoted attributes. */
function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * Estimated width in px of `text` at `size` px: advance widths in classes, those of DejaVu Sans
 * (the widest usual fallback for Helvetica and Arial) rounded up, so text fits whatever the font.
 */
function textWidth(text: string, size: number): number {
  let em = 0;
  for (const ch of text) {
    if ("ijl.,:;'|!".includes(ch)) em += 0.3;
    else if ("frt -()[]/I".includes(ch)) em += 0.42;
    else if ("mwMW%@".includes(ch)) em += 1;
    else if (ch >= "A" && ch <= "Z") em += 0.78;
    else em += ch.codePointAt(0)! >= 0x2e80 ? 1 : 0.64; // CJK is square
  }
  return em * size;
}

/** Estimated width of a tick label at the tick size, a raised exponent at 3/4 of it. */
const tickWidth = (t: Tick | undefined): number =>
  t ? textWidth(t.label, FONT.tick) + textWidth(t.sup ?? "", FONT.tick * 0.75) : 0;

/** Rounds to 0.1 px: enough for any screen or print, and short. */
const r = (v: number): number => Math.round(v * 10) / 10;

/** m × 10^e as the double nearest the decimal (0.3, never 0.30000000000000004). */
const sci = (m: number, e: number): number => Number(`${m}e${e}`);

/** A tick label: `decimals` places, thousands grouped, a true minus; exponents when extreme. */
function tickLabel(v: number, decimals: number): string {
  if (decimals > 6 || Math.abs(v) >= 1e15) return v.toExponential().replace(/-/g, "\u2212");
  const [int, frac] = Math.abs(v).toFixed(decimals).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+$)/g, ",");
  return (v < 0 ? "\u2212" : "") + grouped + (frac ? `.${frac}` : "");
}

/**
 * A linear axis with about `count` ticks at multiples of 1, 2 or 5 × 10^e, its domain widened to
 * the ticks around the data (the step rule of Heckbert, "Nice numbers for graph labels", 1990).
 */
function linearAxis(min: number, max: number, count: number): Axis {
  if (min === max) [min, max] = [min - (Math.abs(min) / 10 || 1), max + (Math.abs(max) / 10 || 1)];
  const raw = (max - min) / Math.max(count, 1);
  const e = Math.floor(Math.log10(raw)), err = raw / 10 ** e;
  const m = err >= Math.sqrt(50) ? 10 : err >= Math.sqrt(10) ? 5 : err >= Math.sqrt(2) ? 2 : 1;
  const step = sci(m, e);
  // A few units in the last place of slack keep a rounding error (0.3 / 0.1 is
  // 2.9999999999999996) from adding a tick.
  const slack = (q: number) => 1e-9 + 4 * Number.EPSILON * Math.abs(q);
  const lo = Math.floor(min / step + slack(min / step));
  const hi = Math.ceil(max / step - slack(max / step));
  const ticks = [];
  for (let i = lo; i <= hi; i++) {
    ticks.push({ value: sci(i * m, e), label: tickLabel(sci(i * m, e), Math.max(0, -e)) });
  }
  const a = ticks[0].value, b = ticks[ticks.length - 1].value;
  return { ticks, minor: [], at: (v) => (v - a) / (b - a) };
}

/**
 * A logarithmic axis from the power of ten at or below the data to the one at or above. Every
 * power is labelled if they lie `spacing` px apart (else every second, third, ...), 2 and 5 times
 * them too over at most two decades; the other multiples are minor ticks. Labels are plain numbers
 * from 0.0001 to 1,000,000, and 10 with a raised exponent on an axis that reaches beyond.
 */
function logAxis(min: number, max: number, pixels: number, spacing: number): Axis {
  const lo = Math.floor(Math.log10(min) + 1e-9);
  const hi = Math.max(Math.ceil(Math.log10(max) - 1e-9), lo + 1);
  const every = Math.ceil((hi - lo) / Math.max(Math.floor(pixels / spacing), 1));
  const ticks = [], minor = [];
  for (let k = lo; k <= hi; k++) {
    for (let m = 1; m <= (k < hi && every === 1 ? 9 : 1); m++) {
      const v = sci(m, k);
      const labelled = m === 1 ? (k - lo) % every === 0 : hi - lo <= 2 && (m === 2 || m === 5);
      if (!labelled) minor.push(v);
      else if (lo >= -4 && hi <= 6) ticks.push({ value: v, label: tickLabel(v, Math.max(0, -k)) });
      else ticks.push({ value: v, label: m === 1 ? "10" : `${m}\u00d710`, sup: tickLabel(k, 0) });
    }
  }
  return { ticks, minor, at: (v) => (Math.log10(v) - lo) / (hi - lo) };
}

/** The axis over the usable values of one coordinate; a default domain if there are none. */
function makeAxis(values: number[], log: boolean, pixels: number, spacing: number): Axis {
  let min = Infinity, max = -Infinity;
  for (const v of values) min = Math.min(min, v), max = Math.max(max, v);
  if (values.length === 0) [min, max] = log ? [1, 10] : [0, 1];
  return log ? logAxis(min, max, pixels, spacing) : linearAxis(min, max, pixels / spacing);
}

/**
 * Draws series as lines with a title, axis titles, nice ticks, light gridlines and a legend to
 * the right of the plotting area (so it never covers a curve), in the Okabe–Ito colours (after
 * eight series the colours repeat). A point with a non-finite coordinate, or one ≤ 0 on a
 * logarithmic axis, is left out and breaks its line. Coordinates are rounded to 0.1 px, so a
 * series of thousands of points stays small; the same input always gives the same document.
 *
 * The work is synchronous; the result comes as a promise so that callers written for the earlier,
 * lazily loaded renderer keep working unchanged.
 *
 * @param series The lines, drawn in order (later ones on top), listed in the legend in order.
 * @param options Titles, log scales, size of the plotting area.
 * @returns The SVG document (`<svg xmlns=...>` with width, height and viewBox).
 * @throws {TypeError} A series whose `x` and `y` lengths differ (as a rejected promise).
 * @throws {RangeError} A width or height that is not a positive number (as a rejected promise).
 * @example A sine curve with a gap
 * ```ts
 * import { lineChartSvg } from "./plot.ts";
 * const x = Array.from({ length: 50 }, (_, i) => i / 5);
 * const y = x.map((t) => (t > 4 && t < 5 ? NaN : Math.sin(t)));
 * const svg = await lineChartSvg([{ name: "sin", x, y }], {
 *   title: "A sine", xTitle: "time", yTitle: "x",
 * });
 * console.log(svg.startsWith("<svg")); // true
 * console.log(svg.match(/<path class="series"[^>]* d="M[^"]*M/) !== null); // true: two pieces
 * ```
 */
export function lineChartSvg(series: Series[], options: LineChartOptions): Promise<string> {
  return new Promise((resolve) => resolve(render(series, options)));
}

/**
 * One element; numbers in attributes rounded to 0.1 px, strings and text escaped; `sup` is an
 * exponent raised after the text.
 */
function el(tag: string, attrs: Record<string, string | number>, text?: string, sup?: string) {
  const a = Object.entries(attrs).map(([k, v]) =>
    ` ${k}="${typeof v === "number" ? r(v) : esc(v)}"`
  );
  if (text === undefined) return `<${tag}${a.join("")}/>`;
  const raised = sup ? `<tspan dy="-0.45em" font-size="0.75em">${esc(sup)}</tspan>` : "";
  return `<${tag}${a.join("")}>${esc(text)}${raised}</${tag}>`;
}

function render(series: Series[], options: LineChartOptions): string {
  const w = options.width ?? 600, h = options.height ?? 300;
  for (const [name, v] of [["width", w], ["height", h]] as const) {
    if (!(Number.isFinite(v) && v > 0)) {
      throw new RangeError(`${name} must be a positive number of pixels, got ${v}`);
    }
  }
  const ok = (s: Series, i: number) =>
    Number.isFinite(s.x[i]) && Number.isFinite(s.y[i]) &&
    (!options.logX || s.x[i] > 0) && (!options.logY || s.y[i] > 0);
  const xs: number[] = [], ys: number[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new TypeError(
        `series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`,
      );
    }
    for (let i = 0; i < s.x.length; i++) if (ok(s, i)) xs.push(s.x[i]), ys.push(s.y[i]);
  }
  const xa = makeAxis(xs, !!options.logX, w, 80), ya = makeAxis(ys, !!options.logY, h, 45);

  // Layout, outside in: title on top, y title and tick labels left, legend right of the plot.
  const title = options.title ?? "";
  const titleW = textWidth(title, FONT.title) * 1.12; // bold
  const left = PAD + FONT.axis + 10 + Math.max(0, ...ya.ticks.map(tickWidth)) + TICK + 3;
  const top = title ? PAD + FONT.title + 14 : PAD + FONT.tick / 2;
  const right = left + w, bottom = top + h;
  const legend = { x: right + LEGEND_GAP, y: top, h: 8 + ROW * series.length, w: 0 };
  legend.w = 12 + SWATCH + 6 + Math.max(0, ...series.map((s) => textWidth(s.name, FONT.legend)));
  const titleX = Math.max(left + w / 2, PAD + titleW / 2);
  const width = Math.ceil(
    PAD + Math.max(
      series.length > 0 ? legend.x + legend.w : right,
      right + tickWidth(xa.ticks.at(-1)) / 2,
      titleX + titleW / 2,
    ),
  );
  const height = Math.ceil(
    PAD + Math.max(bottom + TICK + FONT.tick + 14 + FONT.axis, top + legend.h),
  );
  const X = (v: number) => left + xa.at(v) * w, Y = (v: number) => bottom - ya.at(v) * h;

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" ` +
    `font-size="${FONT.tick}" role="img">`,
  ];
  if (title) out.push(el("title", {}, title));
  out.push(el("rect", { width, height, fill: "#fff" }));
  // Gridlines light enough to read the curves through, minor ones fainter; ticks outside.
  const vLines = (vs: number[], y0: number, y1: number) =>
    vs.map((v) => `M${r(X(v))} ${r(y0)}V${r(y1)}`).join("");
  const hLines = (vs: number[], x0: number, x1: number) =>
    vs.map((v) => `M${r(x0)} ${r(Y(v))}H${r(x1)}`).join("");
  const xMajor = xa.ticks.map((t) => t.value), yMajor = ya.ticks.map((t) => t.value);
  const minorGrid = vLines(xa.minor, top, bottom) + hLines(ya.minor, left, right);
  if (minorGrid) out.push(el("path", { class: "grid-minor", stroke: "#f0f0f0", d: minorGrid }));
  const grid = vLines(xMajor, top, bottom) + hLines(yMajor, left, right);
  out.push(el("path", { class: "grid", stroke: "#dddddd", d: grid }));
  const plot = { x: left, y: top, width: w, height: h };
  out.push(el("rect", { class: "plot", ...plot, fill: "none", stroke: "#999999" }));
  const ticks = vLines(xMajor, bottom, bottom + TICK) +
    vLines(xa.minor, bottom, bottom + TICK / 2) +
    hLines(yMajor, left - TICK, left) + hLines(ya.minor, left - TICK / 2, left);
  out.push(el("path", { class: "ticks", stroke: "#999999", d: ticks }));
  const xLabelY = bottom + TICK + 3 + FONT.tick * 0.8;
  out.push(`<g class="x-axis" text-anchor="middle" fill="#333333">`);
  for (const t of xa.ticks) out.push(el("text", { x: X(t.value), y: xLabelY }, t.label, t.sup));
  out.push(`</g>`, `<g class="y-axis" text-anchor="end" fill="#333333">`);
  const yLabel = (v: number) => ({ x: left - TICK - 3, y: Y(v) + FONT.tick * 0.35 });
  for (const t of ya.ticks) out.push(el("text", yLabel(t.value), t.label, t.sup));
  out.push(`</g>`);

  // Titles: the chart's above, the axes' below and left (turned), all centred and bold.
  out.push(`<g text-anchor="middle" font-weight="bold" font-size="${FONT.axis}">`);
  const big = { class: "title", x: titleX, y: PAD + FONT.title, "font-size": FONT.title };
  if (title) out.push(el("text", big, title));
  const xt = { x: left + w / 2, y: bottom + TICK + FONT.tick + 12 + FONT.axis * 0.8 };
  const yt = { x: PAD + FONT.axis * 0.8, y: top + h / 2 };
  const turn = `rotate(-90 ${r(yt.x)} ${r(yt.y)})`;
  out.push(el("text", { class: "x-title", ...xt }, options.xTitle));
  out.push(el("text", { class: "y-title", ...yt, transform: turn }, options.yTitle), `</g>`);

  // The curves, then the legend: a swatch and a label per series, outside the plotting area.
  const color = (i: number) => PALETTE[i % PALETTE.length];
  out.push(`<g fill="none" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round">`);
  series.forEach((s, i) => {
    const d = pathData(s.x.length, (j) => (ok(s, j) ? [X(s.x[j]), Y(s.y[j])] : undefined));
    out.push(el("path", { class: "series", stroke: color(i), d }));
  });
  out.push(`</g>`);
  if (series.length > 0) {
    out.push(`<g class="legend" font-size="${FONT.legend}" fill="#333333">`);
    const box = { x: legend.x, y: legend.y, width: legend.w, height: legend.h };
    out.push(el("rect", { class: "legend", ...box, fill: "none" }));
    series.forEach((s, i) => {
      const x = legend.x + 6, y = legend.y + 4 + ROW * i + ROW / 2;
      out.push(
        el("line", { x1: x, y1: y, x2: x + SWATCH, y2: y, stroke: color(i), "stroke-width": 2.5 }),
        el("text", { x: x + SWATCH + 6, y: y + FONT.legend * 0.35 }, s.name),
      );
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * Path data of points `at(0..n-1)` (`undefined` breaks the line): each unbroken piece an absolute
 * move, then relative lines in whole tenths of a pixel (exact, so no drift), a repeat of the same
 * rounded point left out. A piece of one point is a dot (`h0` with round caps).
 */
function pathData(n: number, at: (i: number) => [number, number] | undefined): string {
  let d = "", piece = "", count = 0, px = 0, py = 0;
  const flush = () => {
    if (count > 0) d += count === 1 ? `${piece}h0` : piece;
    count = 0;
  };
  for (let i = 0; i < n; i++) {
    const p = at(i);
    if (p === undefined) {
      flush();
      continue;
    }
    const qx = Math.round(p[0] * 10), qy = Math.round(p[1] * 10);
    if (count === 0) [piece, count] = [`M${qx / 10} ${qy / 10}`, 1];
    else if (qx !== px || qy !== py) {
      piece += `${count === 1 ? "l" : " "}${(qx - px) / 10} ${(qy - py) / 10}`;
      count++;
    }
    [px, py] = [qx, qy];
  }
  flush();
  return d;
}
