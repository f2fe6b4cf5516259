import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "./rng.ts";

Deno.test("Rng matches sfc32 seeded by splitmix32 (known answers from an independent implementation)", () => {
  // Computed with a separate Python implementation of splitmix32 + sfc32 (12 warm-up rounds).
  const expected: Record<string, number[]> = {
    "0": [591558436, 2737234123, 107644106, 1338548054, 2499804003],
    "42": [2476999517, 2284424721, 914527439, 3398404915, 1005869237],
    "-1": [2683610207, 939484656, 4259728816, 3789245818, 3347974398],
    "1099511627781": [3761739802, 521297585, 1114914119, 824506309, 1265683080],
  };
  for (const [seed, words] of Object.entries(expected)) {
    const rng = new Rng(Number(seed));
    assert.deepEqual(words.map(() => rng.nextUint32()), words, `seed ${seed}`);
  }
  assert.equal(new Rng(0).next(), 0.13773293522977814);
});

Deno.test("Rng: the same seed gives the same stream; different seeds differ", () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (seed) => {
      const a = new Rng(seed), b = new Rng(seed);
      for (let i = 0; i < 20; i++) assert.equal(a.nextUint32(), b.nextUint32());
      assert.equal(a.normal(), b.normal());
      assert.equal(a.nextInt(1000), b.nextInt(1000));
    }),
    { numRuns: 100 },
  );
  const first = new Set(Array.from({ length: 1000 }, (_, seed) => new Rng(seed).nextUint32()));
  assert.ok(first.size > 995, `1000 seeds gave only ${first.size} distinct first words`);
});

Deno.test("Rng.next() is uniform in [0, 1)", () => {
  const rng = new Rng(1);
  const n = 100_000;
  const bins = new Array(10).fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.next();
    assert.ok(x >= 0 && x < 1, `next() gave ${x}`);
    sum += x;
    bins[Math.floor(x * 10)]++;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
  // Chi-square with 9 degrees of freedom; 27.9 is the 0.999 quantile.
  const chi2 = bins.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 27.9, `chi-square ${chi2}`);
});

Deno.test("Rng.nextInt(n) stays in [0, n) and is uniform", () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 2 ** 32 }), (seed, n) => {
      const rng = new Rng(seed);
      for (let i = 0; i < 20; i++) {
        const k = rng.nextInt(n);
        assert.ok(Number.isInteger(k) && k >= 0 && k < n, `nextInt(${n}) gave ${k}`);
      }
    }),
    { numRuns: 200 },
  );
  assert.equal(new Rng(5).nextInt(1), 0);
  const rng = new Rng(2);
  const counts = new Array(7).fill(0);
  const n = 70_000;
  for (let i = 0; i < n; i++) counts[rng.nextInt(7)]++;
  // Chi-square with 6 degrees of freedom; 22.5 is the 0.999 quantile.
  const chi2 = counts.reduce((s, c) => s + (c - n / 7) ** 2 / (n / 7), 0);
  assert.ok(chi2 < 22.5, `chi-square ${chi2}`);
});

Deno.test("Rng.nextInt() rejects n outside [1, 2^32] with a RangeError", () => {
  const rng = new Rng(0);
  for (const n of [0, -1, 1.5, 2 ** 32 + 1, NaN, Infinity]) {
    assert.throws(() => rng.nextInt(n), RangeError, `n = ${n}`);
  }
  assert.throws(() => rng.nextInt("3" as unknown as number), TypeError);
});

Deno.test("Rng.normal() has mean 0 and variance 1", () => {
  const rng = new Rng(3);
  const n = 100_000;
  let sum = 0, sq = 0, within1 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    assert.ok(Number.isFinite(z));
    sum += z;
    sq += z * z;
    if (Math.abs(z) < 1) within1++;
  }
  const mean = sum / n, variance = sq / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  assert.ok(Math.abs(within1 / n - 0.6827) < 0.01, `P(|z| < 1) = ${within1 / n}`);
});

Deno.test("Rng.shuffle() permutes in place, deterministically, with every order equally likely", () => {
  fc.assert(
    fc.property(fc.integer(), fc.array(fc.integer(), { maxLength: 50 }), (seed, values) => {
      const a = [...values], b = Int32Array.from(values);
      new Rng(seed).shuffle(a);
      new Rng(seed).shuffle(b);
      assert.deepEqual([...a].sort(), [...values].sort());
      assert.deepEqual(a, Array.from(b));
    }),
    { numRuns: 100 },
  );
  const rng = new Rng(4);
  const counts = new Map<string, number>();
  const n = 60_000;
  for (let i = 0; i < n; i++) {
    const a = [0, 1, 2];
    rng.shuffle(a);
    counts.set(a.join(""), (counts.get(a.join("")) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  for (const [order, c] of counts) assert.ok(Math.abs(c - n / 6) < 500, `${order}: ${c}`);
  const empty: number[] = [];
  rng.shuffle(empty);
  assert.deepEqual(empty, []);
});

Deno.test("Rng.state() and Rng.fromState() resume the same stream", () => {
  fc.assert(
    fc.property(fc.integer(), fc.nat({ max: 50 }), (seed, skip) => {
      const rng = new Rng(seed);
      for (let i = 0; i < skip; i++) rng.next();
      const saved = rng.state();
      assert.equal(saved.length, 4);
      for (const w of saved) assert.ok(Number.isInteger(w) && w >= 0 && w < 2 ** 32);
      const copy = Rng.fromState(JSON.parse(JSON.stringify(saved)));
      for (let i = 0; i < 10; i++) assert.equal(copy.nextUint32(), rng.nextUint32());
      assert.equal(copy.normal(), rng.normal());
    }),
    { numRuns: 100 },
  );
});

Deno.test("Rng rejects bad seeds and states with errors that name the value", () => {
  assert.throws(() => new Rng(1.5), { name: "RangeError", message: /seed.*1\.5/ });
  assert.throws(() => new Rng(2 ** 53), RangeError);
  assert.throws(() => new Rng(NaN), RangeError);
  assert.throws(() => new Rng("1" as unknown as number), TypeError);
  assert.throws(() => Rng.fromState([1, 2, 3]), TypeError);
  assert.throws(() => Rng.fromState("1,2,3,4" as unknown as number[]), TypeError);
  assert.throws(() => Rng.fromState([1, 2, 3, "4" as unknown as number]), TypeError);
  assert.throws(() => Rng.fromState([1, 2, 3, -1]), { name: "RangeError", message: /word 3/ });
  assert.throws(() => Rng.fromState([1, 2, 2 ** 32, 0]), { name: "RangeError", message: /word 2/ });
  assert.throws(() => Rng.fromState([0.5, 2, 3, 4]), RangeError);
});
