import assert from "node:assert/strict";
import fc from "fast-check";
import { type LineChartOptions, lineChartSvg, type Series } from "./plot.ts";

/** Attributes of the first element that starts with `open` (e.g. `<rect class="plot"`). */
function attrs(svg: string, open: string): Record<string, string> {
  const at = svg.indexOf(open);
  assert.ok(at >= 0, `no ${open} in the SVG`);
  const tag = svg.slice(at, svg.indexOf(">", at));
  return Object.fromEntries([...tag.matchAll(/ ([\w:-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** The box of an element with x, y, width and height attributes. */
function box(a: Record<string, string>): { x: number; y: number; w: number; h: number } {
  return { x: +a.x, y: +a.y, w: +a.width, h: +a.height };
}

/** The `d` of every series path, in order. */
function seriesPaths(svg: string): string[] {
  return [...svg.matchAll(/<path class="series"[^>]* d="([^"]*)"/g)].map((m) => m[1]);
}

/** A series path's unbroken pieces as absolute points (M x y, then l dx dy ..., or h0). */
function pieces(d: string): [number, number][][] {
  return d.split("M").slice(1).map((piece) => {
    const [head, tail = ""] = piece.replace(/h0$/, "").split("l");
    const [x, y] = head.split(" ").map(Number);
    const points: [number, number][] = [[x, y]];
    const deltas = tail === "" ? [] : tail.split(" ").map(Number);
    for (let i = 0; i < deltas.length; i += 2) {
      const [px, py] = points.at(-1)!;
      points.push([
        Math.round((px + deltas[i]) * 10) / 10,
        Math.round((py + deltas[i + 1]) * 10) / 10,
      ]);
    }
    return points;
  });
}

/** The tick labels of an axis ("x" or "y") as numbers (thousands commas and true minus read). */
function ticks(svg: string, axis: "x" | "y"): number[] {
  const start = svg.indexOf(`<g class="${axis}-axis"`);
  const group = svg.slice(start, svg.indexOf("</g>", start));
  return [...group.matchAll(/>([^<]+)<\/text>/g)].map((m) =>
    Number(m[1].replaceAll(",", "").replaceAll("\u2212", "-"))
  );
}

/** Fails unless the SVG is well-formed XML: balanced tags, quoted attributes, text escaped. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const escaped = /^(?:[^<>&"]|&(?:amp|lt|gt|quot);)*$/;
  for (const part of svg.split(/(<[^>]*>)/)) {
    if (!part.startsWith("<")) {
      assert.match(part, escaped, `text not escaped: ${part}`);
      continue;
    }
    const m = part.match(/^<(\/?)([a-z][\w-]*)((?: [\w:-]+="[^"]*")*)(\/?)>$/);
    assert.ok(m, `malformed tag ${part}`);
    for (const [, value] of m[3].matchAll(/="([^"]*)"/g)) assert.match(value, escaped, part);
    if (m[1]) assert.equal(stack.pop(), m[2], `unbalanced </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.deepEqual(stack, [], "unclosed elements");
}

Deno.test("lineChartSvg() draws labelled axes, a title, a legend and one path per series", async () => {
  const x = [1, 2, 3, 4];
  const svg = await lineChartSvg([
    { name: "data", x, y: [1, 4, 9, 16] },
    { name: "1-step preds", x, y: [1, 5, 8, NaN] },
  ], { xTitle: "time", yTitle: "x", title: "predictions", logY: true });
  assert.match(
    svg,
    /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/,
  );
  assertWellFormed(svg);
  for (const text of ["time", "x", "predictions", "data", "1-step preds"]) {
    assert.ok(svg.includes(`>${text}<`), `missing text ${text}`);
  }
  const paths = seriesPaths(svg);
  assert.equal(paths.length, 2);
  assert.deepEqual(pieces(paths[0]).map((p) => p.length), [4]);
  assert.deepEqual(pieces(paths[1]).map((p) => p.length), [3]);
  const colours = [...svg.matchAll(/<path class="series" stroke="(#[0-9A-F]{6})"/g)].map((m) =>
    m[1]
  );
  assert.equal(new Set(colours).size, 2, "one colour per series");
});

Deno.test("lineChartSvg() rejects series whose x and y lengths differ", async () => {
  await assert.rejects(
    lineChartSvg([{ name: "bad", x: [1, 2], y: [1] }], { xTitle: "x", yTitle: "y" }),
    TypeError,
  );
  await assert.rejects(
    lineChartSvg([{ name: "a", x: [1], y: [1] }], { xTitle: "x", yTitle: "y", width: 0 }),
    RangeError,
  );
});

Deno.test("lineChartSvg() leaves out values <= 0 on log axes and ticks at powers of ten", async () => {
  const svg = await lineChartSvg([
    { name: "counts", x: [0, 1, 2, 3, 4, 5, 6], y: [7, 10, 0, -5, 100, 1000, 2000] },
  ], { xTitle: "rank", yTitle: "count", logX: true, logY: true });
  assertWellFormed(svg);
  // x = 0 and y <= 0 are left out: pieces (1, 10) and (4, 100) (5, 1000) (6, 2000).
  assert.deepEqual(pieces(seriesPaths(svg)[0]).map((p) => p.length), [1, 3]);
  assert.ok(!/NaN|Infinity/.test(svg));
  assert.deepEqual(ticks(svg, "y"), [10, 100, 1000, 10000]);
  assert.deepEqual(ticks(svg, "x"), [1, 2, 5, 10]); // one decade: 2 and 5 labelled too
  const plot = box(attrs(svg, `<rect class="plot"`));
  const [[lone]] = pieces(seriesPaths(svg)[0]);
  assert.deepEqual(lone, [plot.x, plot.y + plot.h]); // (1, 10): the corner of the log-log plot
});

Deno.test("lineChartSvg() labels a log axis beyond 10^-4..10^6 as powers with raised exponents", async () => {
  const svg = await lineChartSvg([{ name: "p", x: [1, 2, 3], y: [1, 1e-4, 1e-8] }], {
    xTitle: "n",
    yTitle: "p",
    logY: true,
  });
  assertWellFormed(svg);
  const group = svg.slice(
    svg.indexOf(`<g class="y-axis"`),
    svg.indexOf("</g>", svg.indexOf(`<g class="y-axis"`)),
  );
  const labels = [...group.matchAll(/>10<tspan [^>]*>([^<]*)<\/tspan><\/text>/g)].map((m) => m[1]);
  // Eight decades in 300 px: every second power labelled, from the bottom.
  assert.deepEqual(labels, ["\u22128", "\u22126", "\u22124", "\u22122", "0"]);
});

Deno.test("lineChartSvg() breaks a line at NaN and infinities into separate pieces", async () => {
  const x = [0, 1, 2, 3, 4, 5, 6];
  const svg = await lineChartSvg([
    { name: "nan", x, y: [1, 2, 3, NaN, 5, 6, 7] },
    { name: "inf", x: [0, 1, Infinity, 3, 4, 5, 6], y: [1, 2, 3, 4, 5, -Infinity, 7] },
  ], { xTitle: "t", yTitle: "y" });
  const [nan, inf] = seriesPaths(svg).map(pieces);
  assert.deepEqual(nan.map((p) => p.length), [3, 3]);
  assert.deepEqual(inf.map((p) => p.length), [2, 2, 1]);
  // The gap is a gap: the pieces end and start at the neighbours of the missing point.
  const plot = box(attrs(svg, `<rect class="plot"`));
  const xAt = (t: number) => Math.round((plot.x + (t / 6) * plot.w) * 10) / 10;
  assert.deepEqual([nan[0].at(-1)![0], nan[1][0][0]], [xAt(2), xAt(4)]);
});

Deno.test("lineChartSvg() puts the legend outside the plotting area and every curve inside it", async () => {
  const x = Array.from({ length: 200 }, (_, i) => i);
  const long = "a legend label long enough to need a wide legend box";
  const series = [long, "b", "c", "d", "e", "f", "g", "h", "i", "j"].map((name, k) => ({
    name,
    x,
    y: x.map((t) => Math.sin(t / 10 + k)),
  }));
  const svg = await lineChartSvg(series, { xTitle: "t", yTitle: "y", title: "ten series" });
  const plot = box(attrs(svg, `<rect class="plot"`));
  const legend = box(attrs(svg, `<rect class="legend"`));
  const apart = legend.x >= plot.x + plot.w || legend.x + legend.w <= plot.x ||
    legend.y >= plot.y + plot.h || legend.y + legend.h <= plot.y;
  assert.ok(apart, `legend ${JSON.stringify(legend)} meets the plot ${JSON.stringify(plot)}`);
  const doc = attrs(svg, "<svg");
  assert.ok(legend.x + legend.w <= +doc.width && legend.y + legend.h <= +doc.height);
  const legendGroup = svg.slice(svg.indexOf(`<g class="legend"`));
  const rows = [...legendGroup.matchAll(/<text x="([\d.]+)" y="([\d.]+)">([^<]*)</g)];
  assert.deepEqual(rows.map((m) => m[3]), series.map((s) => s.name));
  // Sized to the longest label: room for 6 px a character at 12 px (Helvetica's average is less).
  const room = legend.x + legend.w - +rows[0][1];
  assert.ok(room >= long.length * 6, `${room} px for ${long.length} characters`);
  for (const [, tx, ty] of rows) {
    assert.ok(
      +tx > legend.x && +tx < legend.x + legend.w && +ty > legend.y && +ty < legend.y + legend.h,
    );
  }
  for (const d of seriesPaths(svg)) {
    for (const [px, py] of pieces(d).flat()) {
      assert.ok(px >= plot.x && px <= plot.x + plot.w && py >= plot.y && py <= plot.y + plot.h);
    }
  }
});

Deno.test("lineChartSvg() ticks a linear axis at 1, 2 or 5 x 10^k steps covering the data", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
      fc.integer({ min: 100, max: 1000 }),
      async (from, span, height) => {
        const y = [from, from + span / 3, from + span];
        const svg = await lineChartSvg([{ name: "s", x: [0, 1, 2], y }], {
          xTitle: "x",
          yTitle: "y",
          height,
        });
        const t = ticks(svg, "y");
        assert.ok(t.length >= 3 && t.length <= height / 20 + 2, `${t.length} ticks: ${t}`);
        // The step read from the labels, as the decimal m x 10^e it should be.
        const e = Math.floor(Math.log10((t[1] - t[0]) * (1 + 1e-6)));
        const m = Math.round((t[1] - t[0]) / 10 ** e), step = Number(`${m}e${e}`);
        assert.ok([1, 2, 5].includes(m), `step ${t[1] - t[0]}`);
        // Tick i is (n0 + i) steps, up to the rounding of a double of its size.
        const n0 = Math.round(t[0] / step);
        t.forEach((v, i) => {
          const exact = Number(`${(n0 + i) * m}e${e}`);
          assert.ok(Math.abs(v - exact) <= 1e-12 * Math.abs(exact), `tick ${v} of ${t}`);
        });
        // The ticks cover the data (up to the renderer's slack of a few units in the last place)
        // and no more than the data: the second and the last but one lie inside.
        const [lo, hi] = [Math.min(...y), Math.max(...y)];
        const slack = (v: number) => 1e-9 * step + 1e-15 * Math.abs(v);
        assert.ok(t[0] <= lo + slack(lo) && t.at(-1)! >= hi - slack(hi), `${t} for ${lo}..${hi}`);
        assert.ok(t[1] > lo && t.at(-2)! < hi, `ticks beyond the data ${t} for ${lo}..${hi}`);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("lineChartSvg() escapes titles and labels", async () => {
  const svg = await lineChartSvg(
    [{ name: "<script>alert(1)</script>", x: [1, 2], y: [1, 2] }],
    { title: `a < b & "c" > d`, xTitle: "x & y", yTitle: "<y>" },
  );
  assertWellFormed(svg);
  assert.ok(!svg.includes("<script>"));
  for (
    const text of [
      "&lt;script&gt;alert(1)&lt;/script&gt;",
      "a &lt; b &amp; &quot;c&quot; &gt; d",
      "x &amp; y",
      "&lt;y&gt;",
    ]
  ) {
    assert.ok(svg.includes(`>${text}<`), `missing ${text}`);
  }
});

Deno.test("lineChartSvg() gives the same document for the same input, and stays small", async () => {
  const n = 5000;
  const t = Float64Array.from({ length: n }, (_, i) => i);
  const y = t.map((v) => Math.sin(v / 100) + 0.1 * Math.sin(v * 7.3));
  const options: LineChartOptions = { title: "long", xTitle: "t", yTitle: "y" };
  const series: Series[] = [{ name: "typed", x: t, y }];
  const first = await lineChartSvg(series, options);
  assert.equal(await lineChartSvg(series, options), first);
  assert.equal(await lineChartSvg([{ name: "typed", x: [...t], y: [...y] }], options), first);
  const [d] = seriesPaths(first);
  for (const v of d.split(/[Mlh ]/).filter((v) => v !== "")) assert.match(v, /^-?\d+(\.\d)?$/);
  assert.ok(d.length < 12 * n, `${d.length} characters of path for ${n} points`);
});
