// The model's analytic gradients (float64 reference backend) against central finite differences.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { backward, forwardLoss } from "../src/model.ts";
import { Rng } from "../src/rng.ts";
import { drawProblem, lossAndGradients, relativeError, setUp } from "./_helpers.ts";

const EPS = 1e-5;
// Gradients below ~1e-4 in size are compared in absolute terms (1e-10): central differences of
// a loss near log V carry about 1e-11 of rounding error, so a relative figure there is noise.
const TINY = 1e-4;
const TOLERANCE = 1e-6;

const sizes = fc.record({
  V: fc.integer({ min: 1, max: 7 }),
  H: fc.integer({ min: 1, max: 6 }),
  T: fc.integer({ min: 1, max: 5 }),
  B: fc.integer({ min: 1, max: 3 }),
  activation: fc.constantFrom("tanh" as const, "relu" as const),
  cell: fc.constantFrom("rnn" as const, "gru" as const, "lstm" as const),
  layers: fc.integer({ min: 1, max: 3 }),
  gruVariant: fc.constantFrom("book" as const, "pytorch" as const),
});

Deno.test("every cell's and depth's gradients match central finite differences (float64)", () => {
  fc.assert(
    fc.property(sizes, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (size, seed) => {
      const problem = drawProblem(size, seed);
      const be = createReferenceBackend();
      const { model, ws } = setUp(problem, be);
      const { grads, dh0 } = lossAndGradients(model, ws, size.T);
      const n = size.T * size.B;
      const lossAt = () => forwardLoss(model, ws, size.T) / n;
      // Which units are active (relu): a central difference whose two ends differ here straddles
      // a kink, where the loss has no derivative, so that coordinate is not compared.
      const pattern = () =>
        Array.from(be.read(ws.layers[0].states), (y) => (y > 0 ? 1 : 0)).join("");
      let compared = 0, straddled = 0;
      const check = (what: string, analytic: number, up: number, down: number, same: boolean) => {
        if (!same) return void straddled++;
        compared++;
        const numeric = (up - down) / (2 * EPS);
        const err = relativeError(analytic, numeric, TINY);
        assert.ok(err < TOLERANCE, `${what}: analytic ${analytic}, numeric ${numeric}`);
      };

      // Every parameter when there are few, otherwise a spread of 40 of them.
      const count = Math.min(model.numParams, 40);
      for (let c = 0; c < count; c++) {
        const i = Math.floor((c * model.numParams) / count);
        const p = problem.params[i];
        be.write(model.params, [p + EPS], i);
        const up = lossAt(), upPattern = pattern();
        be.write(model.params, [p - EPS], i);
        const down = lossAt(), same = upPattern === pattern();
        be.write(model.params, [p], i);
        check(`parameter ${i}`, grads[i], up, down, same);
      }
      // The gradient with respect to the initial state (what BPTT would pass further back).
      for (let i = 0; i < problem.h0.length; i++) {
        const h = problem.h0[i];
        be.write(ws.layers[0].states, [h + EPS], i);
        const up = lossAt(), upPattern = pattern();
        be.write(ws.layers[0].states, [h - EPS], i);
        const down = lossAt(), same = upPattern === pattern();
        be.write(ws.layers[0].states, [h], i);
        check(`H0[${i}]`, dh0[i], up, down, same);
      }
      // The LSTM's initial memory cell.
      const { dc0 } = lossAndGradients(model, ws, size.T);
      const cells = ws.layers[0].cells;
      for (let i = 0; cells && i < problem.c0.length; i++) {
        const c = problem.c0[i];
        be.write(cells, [c + EPS], i);
        const up = lossAt(), upPattern = pattern();
        be.write(cells, [c - EPS], i);
        const down = lossAt(), same = upPattern === pattern();
        be.write(cells, [c], i);
        check(`C0[${i}]`, dc0![i], up, down, same);
      }
      // Kinks within EPS of a drawn point are rare; a check that skipped most coordinates
      // would be no check.
      assert.ok(straddled <= compared / 4, `${straddled} of ${compared + straddled} straddled`);
    }),
    { numRuns: 60 },
  );
});

Deno.test("with dropout between layers the gradients match central finite differences", () => {
  fc.assert(
    fc.property(
      sizes.filter((s) => s.layers >= 2),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom(0.2, 0.5),
      (size, seed, p) => {
        const problem = drawProblem(size, seed);
        const be = createReferenceBackend();
        const { model, ws } = setUp(problem, be);
        // The same generator state for every pass, so every evaluation drops the same values.
        const dropout = () => ({ p, rng: new Rng(seed) });
        const n = size.T * size.B;
        be.fill(model.grads, 0);
        forwardLoss(model, ws, size.T, dropout());
        backward(model, ws, size.T, dropout());
        const grads = be.read(model.grads);
        const lossAt = () => forwardLoss(model, ws, size.T, dropout()) / n;
        const pattern = () =>
          ws.layers.map((w) => Array.from(be.read(w.states), (y) => (y > 0 ? 1 : 0)).join(""))
            .join();
        let compared = 0, straddled = 0;
        const count = Math.min(model.numParams, 40);
        for (let c = 0; c < count; c++) {
          const i = Math.floor((c * model.numParams) / count);
          const v = problem.params[i];
          be.write(model.params, [v + EPS], i);
          const up = lossAt(), upPattern = pattern();
          be.write(model.params, [v - EPS], i);
          const down = lossAt(), same = upPattern === pattern();
          be.write(model.params, [v], i);
          if (!same) {
            straddled++;
            continue;
          }
          compared++;
          const numeric = (up - down) / (2 * EPS);
          const err = relativeError(grads[i], numeric, TINY);
          assert.ok(err < TOLERANCE, `parameter ${i}: analytic ${grads[i]}, numeric ${numeric}`);
        }
        assert.ok(straddled <= compared / 4, `${straddled} of ${compared + straddled} straddled`);
      },
    ),
    { numRuns: 30 },
  );
});
