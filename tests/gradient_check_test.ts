// The model's analytic gradients (float64 reference backend) against central finite differences.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { type FloatBuf, STAT } from "../src/backend/types.ts";
import { backward } from "../src/model/backward.ts";
import { forwardLoss } from "../src/model/forward.ts";
import type { RnnModel } from "../src/model/model.ts";
import type { Workspace } from "../src/model/workspace.ts";
import { Rng } from "../src/rng.ts";
import { drawProblem, lossAndGradients, lossSum, relativeError, setUp } from "./_helpers.ts";

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

/**
 * Central differences of `lossAt` at chosen coordinates of backend buffers, compared with the
 * analytic gradients. A coordinate whose two evaluations differ in which relu units are active
 * (in any layer) straddles a kink, where the loss has no derivative, and is skipped.
 */
function centralDifferences(model: RnnModel, ws: Workspace, lossAt: () => Promise<number>) {
  const be = model.backend;
  const pattern = async () => {
    const layers = [];
    for (const w of ws.layers) {
      layers.push(Array.from(await be.read(w.states), (y) => (y > 0 ? 1 : 0)).join(""));
    }
    return layers.join();
  };
  // A perturbed weight is written through the model, as every change of its weights must be.
  const write = (buf: FloatBuf, v: number, i: number) =>
    buf === model.params ? model.changeWeights(() => be.write(buf, [v], i)) : be.write(buf, [v], i);
  let compared = 0, straddled = 0;
  return {
    /** Perturbs `buf[i]` (whose value is `value`) both ways and compares with `analytic`. */
    async probe(what: string, buf: FloatBuf, i: number, value: number, analytic: number) {
      write(buf, value + EPS, i);
      const up = await lossAt(), upPattern = await pattern();
      write(buf, value - EPS, i);
      const down = await lossAt(), same = upPattern === await pattern();
      write(buf, value, i);
      if (!same) return void straddled++;
      compared++;
      const numeric = (up - down) / (2 * EPS);
      const err = relativeError(analytic, numeric, TINY);
      assert.ok(err < TOLERANCE, `${what}: analytic ${analytic}, numeric ${numeric}`);
    },
    /** Kinks within EPS of a drawn point are rare; a check that skipped most would be none. */
    assertMostCompared(): void {
      assert.ok(straddled <= compared / 4, `${straddled} of ${compared + straddled} straddled`);
    },
  };
}

/** Every parameter when there are few, otherwise a spread of 40 of them. */
function sampledParams(numParams: number): number[] {
  const count = Math.min(numParams, 40);
  return Array.from({ length: count }, (_, c) => Math.floor((c * numParams) / count));
}

Deno.test("every cell's and depth's gradients match central finite differences (float64)", async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (size, seed) => {
      const problem = drawProblem(size, seed);
      const be = createReferenceBackend();
      const { model, ws } = setUp(problem, be);
      const { grads, dh0, dc0 } = await lossAndGradients(model, ws, size.T);
      const n = size.T * size.B;
      const fd = centralDifferences(model, ws, async () => (await lossSum(model, ws, size.T)) / n);
      for (const i of sampledParams(model.numParams)) {
        await fd.probe(`parameter ${i}`, model.params, i, problem.params[i], grads[i]);
      }
      // The gradients with respect to the initial state (what BPTT would pass further back).
      const first = ws.layers[0];
      for (let i = 0; i < problem.h0.length; i++) {
        await fd.probe(`H0[${i}]`, first.states, i, problem.h0[i], dh0[i]);
      }
      for (let i = 0; first.cells && i < problem.c0.length; i++) {
        await fd.probe(`C0[${i}]`, first.cells, i, problem.c0[i], dc0![i]);
      }
      fd.assertMostCompared();
    }),
    { numRuns: 60 },
  );
});

Deno.test("with dropout between layers the gradients match central finite differences", async () => {
  await fc.assert(
    fc.asyncProperty(
      sizes.filter((s) => s.layers >= 2),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom(0.2, 0.5),
      async (size, seed, p) => {
        const problem = drawProblem(size, seed);
        const be = createReferenceBackend();
        const { model, ws } = setUp(problem, be);
        // The same generator state for every pass, so every evaluation drops the same values.
        const dropout = () => ({ p, rng: new Rng(seed) });
        const n = size.T * size.B;
        const lossAt = async () => {
          be.fill(ws.stats, 0);
          forwardLoss(model, ws, size.T, dropout());
          return (await be.readScalars(ws.stats))[STAT.loss] / n;
        };
        be.fill(model.grads, 0);
        await lossAt();
        backward(model, ws, size.T, dropout());
        const grads = await be.read(model.grads);
        const fd = centralDifferences(model, ws, lossAt);
        for (const i of sampledParams(model.numParams)) {
          await fd.probe(`parameter ${i}`, model.params, i, problem.params[i], grads[i]);
        }
        fd.assertMostCompared();
      },
    ),
    { numRuns: 30 },
  );
});
