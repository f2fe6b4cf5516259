// The model's analytic gradients (float64 reference backend) against central finite differences.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { forwardLoss } from "../src/model.ts";
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
});

Deno.test("the RNN's gradients match central finite differences (float64 reference)", () => {
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
      const pattern = () => Array.from(be.read(ws.states), (y) => (y > 0 ? 1 : 0)).join("");
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
        be.write(ws.states, [h + EPS], i);
        const up = lossAt(), upPattern = pattern();
        be.write(ws.states, [h - EPS], i);
        const down = lossAt(), same = upPattern === pattern();
        be.write(ws.states, [h], i);
        check(`H0[${i}]`, dh0[i], up, down, same);
      }
      // Kinks within EPS of a drawn point are rare; a check that skipped most coordinates
      // would be no check.
      assert.ok(straddled <= compared / 4, `${straddled} of ${compared + straddled} straddled`);
    }),
    { numRuns: 60 },
  );
});
