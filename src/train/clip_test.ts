import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../backend/reference.ts";
import { createWasmBackend } from "../backend/wasm.ts";
import { clipGradNorm } from "./clip.ts";

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

for (const backend of [createReferenceBackend(), createWasmBackend()]) {
  Deno.test(`clipGradNorm() keeps the direction and bounds the norm (${backend.name})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 67 }),
        fc.double({ min: 1e-3, max: 50, noNaN: true }),
        (values, theta) => {
          const g = backend.alloc(values.length);
          backend.write(g, values);
          const before = norm(values);
          const reported = clipGradNorm(backend, g, values.length, theta);
          const after = backend.read(g);
          assert.ok(Math.abs(reported - before) <= 1e-5 * before + 1e-30);
          assert.ok(norm(after) <= theta * (1 + 1e-5) || norm(after) <= before * (1 + 1e-6));
          if (before <= theta) {
            assert.deepEqual(Array.from(after), Array.from(backend.read(g)));
            for (let i = 0; i < values.length; i++) assert.equal(after[i], Math.fround(values[i]));
          } else {
            assert.ok(Math.abs(norm(after) - theta) <= 1e-4 * theta);
            // Same direction: a positive multiple of the input, element by element.
            const k = theta / before;
            for (let i = 0; i < values.length; i++) {
              assert.ok(
                Math.abs(after[i] - k * values[i]) <= 1e-5 * Math.abs(k * values[i]) + 1e-12,
              );
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
}

Deno.test("clipGradNorm() with theta 0 leaves the gradients alone", () => {
  const be = createReferenceBackend();
  const g = be.alloc(2);
  be.write(g, [30, 40]);
  assert.equal(clipGradNorm(be, g, 2, 0), 50);
  assert.deepEqual(Array.from(be.read(g)), [30, 40]);
});
