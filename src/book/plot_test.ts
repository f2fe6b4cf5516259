import assert from "node:assert/strict";
import { lineChartSvg } from "./plot.ts";

Deno.test("lineChartSvg() draws labelled axes, a legend and one path per series", async () => {
  const x = [1, 2, 3, 4];
  const svg = await lineChartSvg([
    { name: "data", x, y: [1, 4, 9, 16] },
    { name: "1-step preds", x, y: [1, 5, 8, NaN] },
  ], { xTitle: "time", yTitle: "x", title: "predictions", logY: true });
  assert.match(svg, /^<svg/);
  for (const text of ["time", "predictions", "data", "1-step preds"]) {
    assert.ok(svg.includes(`>${text}<`), `missing text ${text}`);
  }
  assert.equal(svg.match(/<path[^>]*aria-roledescription="line mark"/g)?.length, 2);
});

Deno.test("lineChartSvg() rejects series whose x and y lengths differ", async () => {
  await assert.rejects(
    lineChartSvg([{ name: "bad", x: [1, 2], y: [1] }], { xTitle: "x", yTitle: "y" }),
    TypeError,
  );
});
