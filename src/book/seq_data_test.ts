import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../rng.ts";
import { sineSeries, tauFeatures } from "./seq_data.ts";

Deno.test("sineSeries() is sin(0.01 t) plus seeded noise of the given scale", () => {
  const clean = sineSeries(new Rng(0), { noise: 0 });
  assert.equal(clean.x.length, 1000);
  clean.x.forEach((v, j) => assert.equal(v, Math.sin(0.01 * (j + 1))));
  const a = sineSeries(new Rng(4)), b = sineSeries(new Rng(4)), c = sineSeries(new Rng(5));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.x, c.x);
  // The residuals are the N(0, 0.2²) draws: their variance is 0.04 within sampling error
  // (standard error 0.04·sqrt(2/1000) ≈ 0.0018).
  const r = a.x.map((v, j) => v - clean.x[j]);
  const variance = r.reduce((s, e) => s + e * e, 0) / r.length;
  assert.ok(Math.abs(variance - 0.04) < 0.008, `noise variance ${variance}`);
  assert.throws(() => sineSeries(new Rng(0), { T: 0 }), RangeError);
  assert.throws(() => sineSeries(new Rng(0), { noise: -1 }), RangeError);
});

Deno.test("tauFeatures() rows are the tau values before each label", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ noNaN: true }), { minLength: 2, maxLength: 40 }),
      fc.integer({ min: 1, max: 39 }),
      (x, tauDraw) => {
        const tau = 1 + (tauDraw - 1) % (x.length - 1);
        const { rows, features, labels } = tauFeatures(x, tau);
        assert.equal(rows, x.length - tau);
        assert.equal(features.length, rows * tau);
        for (let i = 0; i < rows; i++) {
          assert.deepEqual(
            Array.from(features.subarray(i * tau, (i + 1) * tau)),
            x.slice(i, i + tau),
          );
          assert.equal(labels[i], x[i + tau]);
        }
      },
    ),
    { numRuns: 50 },
  );
  assert.throws(() => tauFeatures([1, 2, 3], 3), RangeError);
  assert.throws(() => tauFeatures([1, 2, 3], 0), RangeError);
});
