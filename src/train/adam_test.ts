import assert from "node:assert/strict";
import fc from "fast-check";
import { Adam } from "./adam.ts";
import { createReferenceBackend } from "../backend/reference.ts";
import { type Backend, type FloatBuf, STAT, STATS_SLOTS } from "../backend/types.ts";
import { createWasmBackend } from "../backend/wasm.ts";
import { Rng } from "../rng.ts";

/** Adam written out in float64 from the paper's Algorithm 1, independent of the backends. */
function plainAdam(
  p: number[],
  grads: number[][],
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
): number[] {
  const m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((g, t) => {
    const step = t + 1;
    for (let i = 0; i < p.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const mHat = m[i] / (1 - Math.pow(beta1, step));
      const vHat = v[i] / (1 - Math.pow(beta2, step));
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  });
  return p;
}

const BACKENDS: { be: () => Backend; tol: number }[] = [
  // Same formula in float64: only rounding differs.
  { be: createReferenceBackend, tol: 1e-12 },
  // float32 state; each step moves a parameter by at most about lr, with ~1e-7 relative error.
  { be: createWasmBackend, tol: 1e-5 },
];

Deno.test("Adam.step() matches a float64 Adam written out in the test over several steps", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 23 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      async (n, steps, seed) => {
        const rng = new Rng(seed);
        const p0 = Array.from({ length: n }, () => Math.fround(rng.normal()));
        const grads = Array.from(
          { length: steps },
          () => Array.from({ length: n }, () => Math.fround(rng.normal())),
        );
        const opts = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
        const expected = plainAdam([...p0], grads, opts.lr, opts.beta1, opts.beta2, opts.eps);
        for (const { be: make, tol } of BACKENDS) {
          const be = make();
          const p = be.alloc(n), g = be.alloc(n);
          be.write(p, p0);
          const adam = new Adam(be, p, g, n, opts);
          for (const gs of grads) {
            be.write(g, gs);
            adam.step();
          }
          assert.equal(adam.steps, steps);
          const got = await be.read(p);
          for (let i = 0; i < n; i++) {
            assert.ok(
              Math.abs(got[i] - expected[i]) <= tol,
              `${be.name} p[${i}] after ${steps} steps: ${got[i]} vs ${expected[i]}`,
            );
          }
          be.dispose();
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("Adam minimises a 1-D quadratic on both backends", async () => {
  for (const make of [createReferenceBackend, createWasmBackend]) {
    const be = make();
    const p = be.alloc(1), g = be.alloc(1);
    be.write(p, [-4]);
    const adam = new Adam(be, p, g, 1, { lr: 0.05 });
    // f(p) = (p - 1.5)²; Adam's steps are about lr in size until the moments see the minimum.
    for (let i = 0; i < 1000; i++) {
      be.write(g, [2 * ((await be.read(p))[0] - 1.5)]);
      adam.step();
    }
    const [final] = await be.read(p);
    assert.ok(Math.abs(final - 1.5) < 1e-3, `${be.name}: ${final}`);
    be.dispose();
  }
});

Deno.test("Adam.state() and loadState() resume the same trajectory", async () => {
  const be = createWasmBackend();
  const n = 7, rng = new Rng(3);
  const grads = Array.from({ length: 6 }, () => Array.from({ length: n }, () => rng.normal()));
  const run = (from: number, adam: Adam, g: FloatBuf) => {
    for (const gs of grads.slice(from)) {
      be.write(g, gs);
      adam.step();
    }
  };
  const p1 = be.alloc(n), g1 = be.alloc(n);
  const whole = new Adam(be, p1, g1, n, { lr: 0.1 });
  run(0, whole, g1);

  const p2 = be.alloc(n), g2 = be.alloc(n);
  const first = new Adam(be, p2, g2, n, { lr: 0.1 });
  for (const gs of grads.slice(0, 3)) {
    be.write(g2, gs);
    first.step();
  }
  const saved = await first.state();
  assert.equal(saved.step, 3);
  const second = new Adam(be, p2, g2, n, { lr: 0.1 });
  second.loadState(saved);
  run(3, second, g2);
  assert.deepEqual(await be.read(p2), await be.read(p1));
  be.dispose();
});

Deno.test("Adam rejects bad options and states", () => {
  const be = createReferenceBackend();
  const p = be.alloc(2), g = be.alloc(2);
  assert.throws(() => new Adam(be, p, g, 3), TypeError);
  assert.throws(() => new Adam(be, p, g, -1), RangeError);
  assert.throws(() => new Adam(be, p, g, 2, { lr: -1 }), {
    name: "UsageError",
    message: "lr must be a finite number >= 0, got -1",
  });
  assert.throws(() => new Adam(be, p, g, 2, { beta1: 1 }), {
    name: "UsageError",
    message: "beta1 must lie in [0, 1), got 1",
  });
  assert.throws(() => new Adam(be, p, g, 2, { beta2: NaN }), {
    name: "UsageError",
    message: "beta2 must lie in [0, 1), got NaN",
  });
  assert.throws(() => new Adam(be, p, g, 2, { eps: Infinity }), {
    name: "UsageError",
    message: "eps must be a finite number >= 0, got Infinity",
  });
  const adam = new Adam(be, p, g, 2);
  const ok = { m: new Float32Array(2), v: new Float32Array(2), step: 1 };
  assert.throws(() => adam.loadState({ ...ok, m: new Float32Array(3) }), TypeError);
  assert.throws(() => adam.loadState({ ...ok, step: -1 }), RangeError);
  assert.throws(() => adam.loadState({ ...ok, v: new Float32Array([1, -1]) }), RangeError);
});

Deno.test("Adam.step(stats) counts its updates and changes nothing once a divergence is recorded", async () => {
  for (const make of [createReferenceBackend, createWasmBackend]) {
    const be = make();
    const p = be.alloc(2), g = be.alloc(2), stats = be.allocScalars(STATS_SLOTS);
    be.write(p, [1, -1]);
    be.write(g, [0.5, -0.25]);
    const adam = new Adam(be, p, g, 2, { lr: 0.1 });
    adam.step(stats);
    adam.step(stats);
    assert.equal((await be.readScalars(stats))[STAT.updates], 2, be.name);
    const before = Array.from(await be.read(p));
    assert.notDeepEqual(before, [1, -1], be.name);
    const moments = await adam.state();

    be.writeScalars(stats, [1], STAT.diverged);
    adam.step(stats);
    assert.deepEqual(Array.from(await be.read(p)), before, be.name);
    assert.equal((await be.readScalars(stats))[STAT.updates], 2, be.name);
    // The moments stay those before the divergence too.
    const after = await adam.state();
    assert.deepEqual([after.m, after.v], [moments.m, moments.v], be.name);
    be.dispose();
  }
});
