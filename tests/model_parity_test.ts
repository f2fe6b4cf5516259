// The WASM float32 model against the float64 reference: loss and every gradient.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import { drawProblem, lossAndGradients, relativeError, setUp } from "./_helpers.ts";

const TOLERANCE = 1e-3;

const maxAbs = (v: ArrayLike<number>) =>
  Array.from(v).reduce((m, g) => Math.max(m, Math.abs(g)), 0);

const sizes = fc.record({
  V: fc.integer({ min: 1, max: 70 }),
  H: fc.integer({ min: 1, max: 40 }),
  T: fc.integer({ min: 1, max: 6 }),
  B: fc.integer({ min: 1, max: 5 }),
  activation: fc.constantFrom("tanh" as const, "relu" as const),
  cell: fc.constantFrom("rnn" as const, "gru" as const, "lstm" as const),
  layers: fc.integer({ min: 1, max: 3 }),
  gruVariant: fc.constantFrom("book" as const, "pytorch" as const),
});

Deno.test("the WASM model's loss and gradients match the float64 reference (every cell, depth)", async () => {
  await fc.assert(
    fc.asyncProperty(sizes, fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (size, seed) => {
      const problem = drawProblem(size, seed, 0.3);
      const ref = setUp(problem, createReferenceBackend());
      const wasm = setUp(problem, createWasmBackend());
      const a = await lossAndGradients(wasm.model, wasm.ws, size.T);
      const r = await lossAndGradients(ref.model, ref.ws, size.T);
      assert.ok(relativeError(a.loss, r.loss, 1e-6) < 1e-5, `loss ${a.loss} vs ${r.loss}`);
      // Relative error per element, except that differences below 1e-6 of the tensor's largest
      // gradient count as agreement: float32 sums carried back through BPTT lose about that much
      // (a few ulps of the largest term), so a relative figure for elements that small is noise.
      const model = ref.model;
      // Per tensor: each layer's W_x, W_h, b (and b_hn), then W_hq and b_q, in storage order.
      const sizes = [
        ...model.layers.flatMap((
          l,
        ) => [l.W_x.length, l.W_h.length, l.b.length, l.b_hn?.length ?? 0]),
        model.output!.W_hq.length,
        model.output!.b_q.length,
      ];
      let offset = 0;
      for (const n of sizes) {
        const scale = maxAbs(r.grads.subarray(offset, offset + n));
        for (let i = offset; i < offset + n; i++) {
          const err = relativeError(a.grads[i], r.grads[i], Math.max(1e-3 * scale, 1e-12));
          assert.ok(err < TOLERANCE, `gradient ${i}: wasm ${a.grads[i]}, reference ${r.grads[i]}`);
        }
        offset += n;
      }
      for (const [name, got, want] of [["dH0", a.dh0, r.dh0], ["dC0", a.dc0, r.dc0]] as const) {
        if (!want) continue;
        const scale = maxAbs(want);
        for (let i = 0; i < want.length; i++) {
          const err = relativeError(got![i], want[i], Math.max(1e-3 * scale, 1e-12));
          assert.ok(err < TOLERANCE, `${name}[${i}]: wasm ${got![i]}, reference ${want[i]}`);
        }
      }
    }),
    { numRuns: 40 },
  );
});
