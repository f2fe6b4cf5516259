import assert from "node:assert/strict";
import fc from "fast-check";
import {
  batches,
  countBatches,
  type Minibatch,
  randomBatches,
  type SamplerOptions,
  type SamplingKind,
  sequentialBatches,
} from "./batches.ts";
import { Rng } from "../rng.ts";

const KINDS: SamplingKind[] = ["random", "sequential"];
const OFFSET: SamplerOptions = { randomOffset: true };

/** The shortest corpus that gives one minibatch. */
const needed = (B: number, T: number, o: SamplerOptions) =>
  B * T + 1 + (o.randomOffset ? T - 1 : 0);

/** corpus[i] = i, so every input and target is its own corpus position. */
const positions = (length: number): Int32Array => Int32Array.from({ length }, (_, i) => i);

/** An Rng whose first nextInt() (the epoch offset) is forced; shuffles come from a real Rng. */
function fixedOffset(offset: number, seed = 0): Rng {
  const real = new Rng(seed);
  let first = true;
  return {
    nextInt: (n: number) => {
      if (first) {
        first = false;
        assert.ok(offset < n);
        return offset;
      }
      return real.nextInt(n);
    },
    shuffle: (a: { length: number; [i: number]: number }) => real.shuffle(a),
  } as unknown as Rng;
}

/** Row `r` of a minibatch's inputs as corpus positions. */
const row = (b: Minibatch, which: "inputs" | "targets", r: number): number[] =>
  Array.from(b[which].subarray(r * b.numSteps, (r + 1) * b.numSteps));

/** Checks one epoch over a positions corpus; returns the offset it started at. */
function checkEpoch(
  kind: SamplingKind,
  epoch: Minibatch[],
  L: number,
  B: number,
  T: number,
  options: SamplerOptions = OFFSET,
) {
  assert.equal(epoch.length, countBatches(kind, L, B, T, options));
  const starts = epoch.map((b) => Array.from({ length: B }, (_, r) => b.inputs[r * T]));
  for (const b of epoch) {
    assert.equal(b.batchSize, B);
    assert.equal(b.numSteps, T);
    assert.equal(b.inputs.length, B * T);
    assert.equal(b.targets.length, B * T);
    for (let r = 0; r < B; r++) {
      const inputs = row(b, "inputs", r), targets = row(b, "targets", r);
      // Each row is T consecutive positions, and each target is its input shifted by one.
      inputs.forEach((p, t) => assert.equal(p, inputs[0] + t));
      targets.forEach((p, t) => assert.equal(p, inputs[t] + 1));
      // Nothing reads past the end.
      assert.ok(inputs[0] >= 0 && targets[T - 1] <= L - 1);
    }
  }
  const offset = starts[0][0] % T;
  // Without the random offset the corpus is cut from element 0, as in the Jay Chou chapter.
  if (!options.randomOffset) assert.equal(offset, 0);
  if (kind === "random") {
    // Subsequences start on the epoch's grid o + kT and never overlap.
    const all = starts.flat();
    for (const s of all) assert.equal(s % T, offset);
    assert.equal(new Set(all).size, all.length);
  } else {
    // B streams of equal length n starting at o, o + n, …; minibatch i + 1 continues minibatch i.
    const n = B > 1 ? starts[0][1] - starts[0][0] : 0;
    assert.ok(starts[0][0] < T);
    for (let r = 0; r < B; r++) assert.equal(starts[0][r], starts[0][0] + r * n);
    for (let i = 1; i < epoch.length; i++) {
      for (let r = 0; r < B; r++) assert.equal(starts[i][r], starts[i - 1][r] + T);
    }
  }
  return starts[0][0] % T;
}

Deno.test("batches(): the book's setting (10000, B = 32, T = 35) gives 8 minibatches for every offset", () => {
  const corpus = positions(10000);
  for (const kind of KINDS) {
    assert.equal(countBatches(kind, 10000, 32, 35), 8);
    assert.equal(countBatches(kind, 10000, 32, 35, OFFSET), 8);
    checkEpoch(kind, [...batches(kind, corpus, 32, 35, new Rng(0))], 10000, 32, 35, {});
    for (let offset = 0; offset < 35; offset++) {
      const epoch = [...batches(kind, corpus, 32, 35, fixedOffset(offset), OFFSET)];
      assert.equal(epoch.length, 8, `${kind}, offset ${offset}`);
      assert.equal(checkEpoch(kind, epoch, 10000, 32, 35), offset);
    }
    const rng = new Rng(0);
    for (let e = 0; e < 5; e++) {
      assert.equal([...batches(kind, corpus, 32, 35, rng, OFFSET)].length, 8);
    }
  }
});

const shape = fc.record({
  L: fc.integer({ min: 0, max: 600 }),
  B: fc.integer({ min: 1, max: 9 }),
  T: fc.integer({ min: 1, max: 13 }),
  seed: fc.integer(),
  kind: fc.constantFrom(...KINDS),
  options: fc.constantFrom<SamplerOptions>({}, OFFSET),
});

Deno.test("batches(): targets are inputs shifted by one, in bounds, counted by countBatches() (property)", () => {
  fc.assert(
    fc.property(shape, ({ L, B, T, seed, kind, options }) => {
      const corpus = positions(L);
      if (L < needed(B, T, options)) {
        assert.equal(countBatches(kind, L, B, T, options), 0);
        assert.throws(() => batches(kind, corpus, B, T, new Rng(seed), options), {
          name: "RangeError",
          message: new RegExp(`it needs at least ${needed(B, T, options)};`),
        });
        return;
      }
      assert.ok(countBatches(kind, L, B, T, options) >= 1);
      checkEpoch(kind, [...batches(kind, corpus, B, T, new Rng(seed), options)], L, B, T, options);
    }),
    { numRuns: 300 },
  );
});

Deno.test("batches(): the count is the same for every offset (property)", () => {
  fc.assert(
    fc.property(shape, fc.nat(), ({ L, B, T, seed, kind }, o) => {
      fc.pre(L >= needed(B, T, OFFSET));
      const offset = o % T;
      const epoch = [...batches(kind, positions(L), B, T, fixedOffset(offset, seed), OFFSET)];
      assert.equal(checkEpoch(kind, epoch, L, B, T), offset);
    }),
    { numRuns: 300 },
  );
});

Deno.test("batches(): minibatches hold the corpus values at their positions (property)", () => {
  fc.assert(
    fc.property(shape, ({ L, B, T, seed, kind, options }) => {
      fc.pre(L >= needed(B, T, options));
      const corpus = Int32Array.from({ length: L }, (_, i) => Math.imul(i + 1, 2654435761) % 1000);
      const where = [...batches(kind, positions(L), B, T, new Rng(seed), options)];
      const what = [...batches(kind, corpus, B, T, new Rng(seed), options)];
      assert.equal(what.length, where.length);
      what.forEach((b, i) => {
        assert.deepEqual(b.inputs, where[i].inputs.map((p) => corpus[p]));
        assert.deepEqual(b.targets, where[i].targets.map((p) => corpus[p]));
      });
    }),
    { numRuns: 150 },
  );
});

Deno.test("batches(): the same seed gives the same batches; epochs of one Rng differ", () => {
  fc.assert(
    fc.property(shape, ({ L, B, T, seed, kind, options }) => {
      fc.pre(L >= needed(B, T, options));
      const corpus = positions(L);
      const a = [...batches(kind, corpus, B, T, new Rng(seed), options)];
      const b = [...batches(kind, corpus, B, T, new Rng(seed), options)];
      assert.deepEqual(a, b);
    }),
    { numRuns: 150 },
  );
  for (const kind of KINDS) {
    const rng = new Rng(1), corpus = positions(10000);
    const firsts = new Set<number>();
    for (let e = 0; e < 20; e++) {
      firsts.add([...batches(kind, corpus, 32, 35, rng, OFFSET)][0].inputs[0]);
    }
    assert.ok(firsts.size > 1, `${kind}: 20 epochs all started at the same place`);
  }
});

Deno.test("batches(): reuseBuffers yields one pair of arrays holding what fresh ones hold", () => {
  fc.assert(
    fc.property(shape, ({ L, B, T, seed, kind, options }) => {
      fc.pre(L >= needed(B, T, options));
      const corpus = positions(L);
      const fresh = [...batches(kind, corpus, B, T, new Rng(seed), options)];
      const seen: Minibatch[] = [];
      let i = 0;
      for (
        const mb of batches(kind, corpus, B, T, new Rng(seed), { ...options, reuseBuffers: true })
      ) {
        // Each is checked while it is current: the next one overwrites it.
        assert.deepEqual(mb, fresh[i++]);
        seen.push(mb);
      }
      assert.equal(i, fresh.length);
      assert.ok(seen.every((mb) => mb.inputs === seen[0].inputs && mb.targets === seen[0].targets));
    }),
    { numRuns: 100 },
  );
});

Deno.test("randomBatches() and sequentialBatches() are the two kinds of batches()", () => {
  const corpus = positions(500);
  assert.deepEqual([...randomBatches(corpus, 3, 7, new Rng(9))], [
    ...batches("random", corpus, 3, 7, new Rng(9)),
  ]);
  assert.deepEqual([...sequentialBatches(corpus, 3, 7, new Rng(9))], [
    ...batches("sequential", corpus, 3, 7, new Rng(9)),
  ]);
});

Deno.test("sequentialBatches() matches the book's reshape into B streams", () => {
  // d2l seq_data_iter_sequential with offset 2 on 0..34, B = 2, T = 5: Xs = 2..33 as 2 × 16.
  const epoch = [...sequentialBatches(positions(35), 2, 5, fixedOffset(2), OFFSET)];
  assert.deepEqual(epoch.map((b) => Array.from(b.inputs)), [
    [2, 3, 4, 5, 6, 18, 19, 20, 21, 22],
    [7, 8, 9, 10, 11, 23, 24, 25, 26, 27],
    [12, 13, 14, 15, 16, 28, 29, 30, 31, 32],
  ]);
  assert.equal(countBatches("sequential", 35, 2, 5, OFFSET), 3);
  // Without the offset: the book's data_iter_consecutive on 0..34 (streams 0..16 and 17..33).
  const book = [...sequentialBatches(positions(35), 2, 5, new Rng(0))];
  assert.deepEqual(book.map((b) => Array.from(b.inputs)), [
    [0, 1, 2, 3, 4, 17, 18, 19, 20, 21],
    [5, 6, 7, 8, 9, 22, 23, 24, 25, 26],
    [10, 11, 12, 13, 14, 27, 28, 29, 30, 31],
  ]);
});

Deno.test("randomBatches() without the offset uses the book's fixed grid of subsequences", () => {
  // data_iter_random: (L - 1) // T subsequences at 0, T, 2T, …, shuffled; ⌊that / B⌋ minibatches.
  const epoch = [...randomBatches(positions(10000), 32, 35, new Rng(4))];
  assert.equal(epoch.length, 8);
  const starts = epoch.flatMap((b) => Array.from({ length: 32 }, (_, r) => b.inputs[r * 35]));
  for (const s of starts) assert.ok(s % 35 === 0 && s / 35 < 285, String(s));
  assert.equal(new Set(starts).size, 256);
});

Deno.test("batches() rejects bad arguments eagerly, saying what was wrong", () => {
  const corpus = positions(100), rng = new Rng(0);
  assert.throws(() => batches("random", corpus, 0, 5, rng), {
    name: "RangeError",
    message: /batchSize must be an integer >= 1, got 0/,
  });
  assert.throws(() => batches("sequential", corpus, 2, 1.5, rng), {
    name: "RangeError",
    message: /numSteps .* got 1\.5/,
  });
  assert.throws(() => batches("shuffled" as SamplingKind, corpus, 2, 5, rng), {
    name: "RangeError",
    message: /"random" or "sequential", got "shuffled"/,
  });
  assert.throws(() => randomBatches([1, 2, 3] as unknown as Int32Array, 1, 1, rng), TypeError);
  assert.throws(() => sequentialBatches(corpus, 2, 5, undefined as unknown as Rng), TypeError);
  assert.throws(() => sequentialBatches(positions(10), 2, 5, rng), {
    name: "RangeError",
    message: /the corpus has 10 elements.*it needs at least 11;/,
  });
  assert.throws(() => countBatches("random", -1, 2, 5), RangeError);
  assert.equal(countBatches("random", 0, 2, 5), 0);
  assert.equal(countBatches("random", 11, 2, 5), 1);
  assert.equal(countBatches("sequential", 11, 2, 5), 1);
  assert.equal(countBatches("random", 14, 2, 5, OFFSET), 0);
  assert.equal(countBatches("random", 15, 2, 5, OFFSET), 1);
  assert.equal(countBatches("sequential", 15, 2, 5, OFFSET), 1);
});
