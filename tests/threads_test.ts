/**
 * The threaded backend: every split product and softmax gives the bits of one thread, and so
 * does a whole training run; a weight gradient (`matmulTN`) handed to the workers gives the bits
 * of one thread to every call after it, which waits for it exactly when it touches what the
 * product writes or writes what it reads; a disposed backend refuses work. The work threshold is
 * set to 1 so that even the small shapes here are split.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { buildCorpus } from "../src/text/corpus.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import {
  createThreadedBackend,
  type ThreadedBackend,
  threadsAvailable,
} from "../src/backend/threads.ts";
import {
  type Backend,
  type FloatBuf,
  type PackedBuf,
  STAT,
  STATS_SLOTS,
} from "../src/backend/types.ts";
import { LSTM } from "../src/model/layers.ts";
import { train } from "../src/train/train.ts";

const ignore = !threadsAvailable();
const one = () => createWasmBackend({ relaxedSimd: true });

/** Deterministic float32 data (mulberry32). */
function data(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  });
}

function load(be: Backend, values: ArrayLike<number>): FloatBuf {
  const buf = be.alloc(values.length);
  be.write(buf, values);
  return buf;
}

/** Runs `check` on a threaded backend of 2 threads, then of 3 (more than this machine has cores). */
async function onThreads(
  check: (many: ThreadedBackend, threads: number) => Promise<void>,
): Promise<void> {
  for (const threads of [2, 3]) {
    const many = await createThreadedBackend({ threads, minSplitWork: 1 });
    try {
      await check(many, threads);
    } finally {
      many.dispose();
    }
  }
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
};

type Arrays = Record<string, ArrayLike<number>>;

/**
 * Runs `compute` on the threaded backend and on one thread, and asserts that every array it
 * returns has the same bits on both.
 */
async function sameAsOneThread(
  many: Backend,
  what: string,
  compute: (be: Backend) => Promise<Arrays>,
): Promise<void> {
  const single = one();
  try {
    const split = await compute(many), alone = await compute(single);
    assert.deepEqual(Object.keys(split), Object.keys(alone), what);
    for (const name of Object.keys(alone)) sameBits(split[name], alone[name], `${what}: ${name}`);
  } finally {
    single.dispose();
  }
}

Deno.test({
  name: "split products and softmax give the bits of one thread",
  ignore,
  async fn() {
    await onThreads(async (many, threads) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 90 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          async (m, k, n, seed) => {
            for (const form of ["matmulNN", "matmulNT", "matmulTN"] as const) {
              const a = data(m * k, seed), b = data(k * n, seed + 1), c = data(m * n, seed + 2);
              await sameAsOneThread(
                many,
                `${form} ${m}x${k}x${n} on ${threads} threads`,
                async (be) => {
                  const cb = load(be, c);
                  be[form](cb, load(be, a), load(be, b), m, k, n);
                  return { c: await be.read(cb) };
                },
              );
            }
            const logits = data(m * n, seed + 3, -8, 8);
            const targets = Int32Array.from({ length: m }, (_, i) => (i * 7 + seed) % n);
            await sameAsOneThread(many, `softmax ${m}x${n}`, async (be) => {
              const probs = be.alloc(m * n), t = be.allocIndices(m);
              const stats = be.allocScalars(STATS_SLOTS);
              be.writeIndices(t, targets);
              be.softmaxXentForward(probs, load(be, logits), t, m, n, stats);
              const grad = be.alloc(m * n);
              be.softmaxXentBackward(grad, probs, t, m, n, 1 / m);
              return {
                loss: [(await be.readScalars(stats))[STAT.loss]],
                probs: await be.read(probs),
                gradient: await be.read(grad),
              };
            });
          },
        ),
        { numRuns: 25 },
      );
      assert.ok(many.splits > 50, `only ${many.splits} operations were split`);
    });
  },
});

for (const relaxedSimd of [true, false]) {
  Deno.test({
    name: `training on two threads gives the weights and losses of one, bit for bit (${
      relaxedSimd ? "relaxed SIMD" : "plain SIMD, as on engines without relaxed SIMD"
    })`,
    ignore,
    async fn() {
      // Over 48 distinct characters, so that the output weight's gradient (n = V) is handed to the
      // worker while the recurrent backward pass runs on this thread, on 2 threads.
      const corpus = buildCorpus(
        Array.from(
          "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(20) +
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".repeat(4),
        ),
      );
      const many = await createThreadedBackend({ threads: 2, minSplitWork: 1, relaxedSimd });
      const single = createWasmBackend({ relaxedSimd });
      try {
        const runs = await Promise.all([many, single].map((backend) =>
          train(corpus, {
            backend,
            cell: "lstm",
            layers: 2,
            hidden: 24,
            epochs: 3,
            batchSize: 12,
            numSteps: 9,
            optimizer: "adam",
            lr: 0.01,
            seed: 5,
            predEvery: 0,
          })
        ));
        assert.ok(many.splits > 0, "nothing was split");
        assert.deepEqual(
          runs[0].history.map((h) => h.perplexity),
          runs[1].history.map((h) => h.perplexity),
        );
        const [wa, wb] = await Promise.all(runs.map((r) => r.model.getWeights()));
        for (const name of Object.keys(wb)) sameBits(wa[name], wb[name], name);
      } finally {
        many.dispose();
        single.dispose();
      }
    },
  });
}

Deno.test({
  name: "recurrent forward passes split by rows give the bits of one thread, for every cell",
  ignore,
  async fn() {
    await onThreads(async (many) => {
      const splitsBefore = many.splits;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 37 }),
          fc.constantFrom("rnn-tanh", "rnn-relu", "gru-book", "gru-pytorch", "lstm"),
          fc.boolean(),
          fc.integer({ min: 0, max: 2 ** 30 }),
          async (t, b, h, cell, packed, seed) => {
            const g = cell === "lstm" ? 4 * h : cell.startsWith("gru") ? 3 * h : h;
            const block = b * h;
            const zin = data(t * b * g, seed, -2, 2), whh = data(h * g, seed + 1, -0.5, 0.5);
            const h0 = data(block, seed + 2), c0 = data(block, seed + 3), bhn = data(h, seed + 4);
            await sameAsOneThread(many, `${cell} t=${t} b=${b} h=${h}`, async (be) => {
              const states = be.alloc((t + 1) * block), cells = be.alloc((t + 1) * block);
              const gates = be.alloc(t * b * g), hn = be.alloc(t * block);
              be.write(states, h0);
              be.write(cells, c0);
              const w = load(be, whh), z = load(be, zin);
              // The weight packed for few-row products, as generation passes it.
              let wp: PackedBuf | undefined;
              if (packed && cell !== "gru-book") {
                wp = be.allocPacked(h, g);
                be.packWeights(wp, w, h, g);
              }
              if (cell === "rnn-tanh" || cell === "rnn-relu") {
                be.rnnForward(states, z, w, t, b, h, cell === "rnn-tanh" ? "tanh" : "relu", wp);
              } else if (cell === "lstm") {
                be.lstmForward(states, cells, gates, z, w, t, b, h, wp);
              } else if (cell === "gru-pytorch") {
                be.gruForward(states, gates, hn, z, w, load(be, bhn), t, b, h, "pytorch", wp);
              } else {
                be.gruForward(states, gates, hn, z, w, undefined, t, b, h, "book", wp);
              }
              return {
                states: await be.read(states),
                cells: await be.read(cells),
                gates: await be.read(gates),
                hn: await be.read(hn),
              };
            });
          },
        ),
        { numRuns: 40 },
      );
      assert.ok(many.splits > splitsBefore, "no forward pass was split");
    });
  },
});

Deno.test({
  name: "backpropagation through time gives the bits of one thread, its weight gradient split",
  ignore,
  async fn() {
    await onThreads(async (many, threads) => {
      const splitsBefore = many.splits;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 1, max: 37 }),
          fc.constantFrom("rnn-tanh", "rnn-relu", "lstm"),
          fc.integer({ min: 0, max: 2 ** 30 }),
          async (t, b, h, cell, seed) => {
            const g = cell === "lstm" ? 4 * h : h, block = b * h;
            await sameAsOneThread(many, `${cell} t=${t} b=${b} h=${h} (${threads})`, async (be) => {
              // Any values stand in for a forward pass: the kernels only read them.
              const states = load(be, data((t + 1) * block, seed, -0.9, 0.9));
              const cells = load(be, data((t + 1) * block, seed + 1));
              const gates = load(be, data(t * b * g, seed + 2, 0.05, 0.95));
              const whh = load(be, data(h * g, seed + 3, -0.5, 0.5));
              const dstates = load(be, data((t + 1) * block, seed + 4));
              const dcells = load(be, data((t + 1) * block, seed + 5));
              const dzin = be.alloc(t * b * g), dwhh = load(be, data(h * g, seed + 6));
              if (cell === "lstm") {
                be.lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h);
              } else {
                const act = cell === "rnn-tanh" ? "tanh" : "relu";
                be.rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act);
              }
              return {
                dzin: await be.read(dzin),
                dW_hh: await be.read(dwhh),
                dstates: await be.read(dstates),
                dcells: await be.read(dcells),
              };
            });
          },
        ),
        { numRuns: 40 },
      );
      assert.ok(many.splits > splitsBefore, "no weight gradient was split");
    });
  },
});

/** The operands of a weight gradient `c[m,n] += a[k,m]ᵀ · b[k,n]` and a seed for more data. */
interface Product {
  a: FloatBuf;
  b: FloatBuf;
  c: FloatBuf;
  m: number;
  k: number;
  n: number;
  seed: number;
  /** Other values for `a` [k·m], drawn before the product so that the calls after it come at once. */
  other: Float32Array;
}

/** Blocks this thread for `ms` milliseconds: time for work left running to show its effects. */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** What the product's buffers hold once everything before has run. */
const operands = async (be: Backend, p: Product): Promise<Arrays> => ({
  a: await be.read(p.a),
  b: await be.read(p.b),
  c: await be.read(p.c),
});

/**
 * Calls made right after a weight gradient, while the threaded backend may still be computing
 * it; each returns what it computed, and the product's buffers where they may still be read.
 */
const AFTER: Record<string, (be: Backend, p: Product) => Promise<Arrays>> = {
  // (a) Kernels that read what the product writes.
  "matmulNN reading c": async (be, p) => {
    const z = be.alloc(p.m * 5);
    be.matmulNN(z, p.c, load(be, data(p.n * 5, p.seed + 10)), p.m, p.n, 5);
    return { z: await be.read(z), ...await operands(be, p) };
  },
  "tanhForward reading c": async (be, p) => {
    const y = be.alloc(p.m * p.n);
    be.tanhForward(y, p.c, p.m * p.n);
    return { y: await be.read(y), ...await operands(be, p) };
  },
  "biasForward adding into c": (be, p) => {
    be.biasForward(p.c, load(be, data(p.n, p.seed + 11)), p.m, p.n);
    return operands(be, p);
  },
  "softmaxXentForward reading c": async (be, p) => {
    const probs = be.alloc(p.m * p.n), targets = be.allocIndices(p.m);
    const stats = be.allocScalars(STATS_SLOTS);
    be.writeIndices(targets, Int32Array.from({ length: p.m }, (_, i) => (i * 5) % p.n));
    be.softmaxXentForward(probs, p.c, targets, p.m, p.n, stats);
    return {
      probs: await be.read(probs),
      loss: [(await be.readScalars(stats))[STAT.loss]],
      ...await operands(be, p),
    };
  },
  // (b) Kernels that write what the product reads.
  "tanhForward overwriting a": (be, p) => {
    be.tanhForward(p.a, p.a, p.k * p.m);
    return operands(be, p);
  },
  "matmulNN adding into b": (be, p) => {
    const x = load(be, data(p.k * 3, p.seed + 12)), y = load(be, data(3 * p.n, p.seed + 13));
    be.matmulNN(p.b, x, y, p.k, 3, p.n);
    return operands(be, p);
  },
  // (c) Buffer operations on the product's buffers.
  "read of c": async (be, p) => ({ early: await be.read(p.c), ...await operands(be, p) }),
  "write to a": (be, p) => {
    be.write(p.a, p.other);
    return operands(be, p);
  },
  "write to part of b": (be, p) => {
    be.write(p.b, [0.5, -0.25, 2], p.k * p.n - 3);
    return operands(be, p);
  },
  "fill of b": (be, p) => {
    be.fill(p.b, 0.125);
    return operands(be, p);
  },
  "fill of c": (be, p) => {
    be.fill(p.c, 0);
    // Nothing may add into c afterwards.
    pause(50);
    return operands(be, p);
  },
  "copy into a": (be, p) => {
    const other = load(be, p.other);
    be.copy(p.a, other);
    return operands(be, p);
  },
  "copy from c": async (be, p) => {
    const z = be.alloc(p.m * p.n);
    be.copy(z, p.c);
    return { z: await be.read(z), ...await operands(be, p) };
  },
  "free of c, then a buffer of its size": async (be, p) => {
    be.free(p.c);
    // The freed block is handed out again, zeroed: nothing may write into it any more.
    const again = be.alloc(p.m * p.n);
    pause(50);
    return { again: await be.read(again), a: await be.read(p.a), b: await be.read(p.b) };
  },
  // (d) Calls that touch none of its buffers.
  "unrelated matmulNN": async (be, p) => {
    const z = be.alloc(12 * 16);
    be.matmulNN(
      z,
      load(be, data(12 * 20, p.seed + 16)),
      load(be, data(20 * 16, p.seed + 17)),
      12,
      20,
      16,
    );
    return { z: await be.read(z), ...await operands(be, p) };
  },
  "unrelated tanhForward and read": async (be, p) => {
    const x = load(be, data(300, p.seed + 18)), y = be.alloc(300);
    be.tanhForward(y, x, 300);
    return { y: await be.read(y), ...await operands(be, p) };
  },
};

Deno.test({
  name: "a deferred weight gradient gives the bits of one thread to every call after it",
  ignore,
  async fn() {
    await onThreads(async (many, threads) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 300 }),
          // The workers take the product in 2 column blocks per thread of 8 columns or more.
          fc.integer({ min: 16 * threads, max: 200 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          fc.constantFrom(...Object.keys(AFTER)),
          async (m, k, n, seed, after) => {
            const what = `matmulTN ${m}x${k}x${n} then ${after} on ${threads} threads`;
            await sameAsOneThread(many, what, async (be) => {
              const p = {
                a: load(be, data(k * m, seed)),
                b: load(be, data(k * n, seed + 1)),
                c: load(be, data(m * n, seed + 2)),
                m,
                k,
                n,
                seed,
                other: data(k * m, seed + 3),
              };
              const before = many.splits;
              be.matmulTN(p.c, p.a, p.b, m, k, n);
              if (be === many) assert.equal(many.splits, before + 1, `${what}: not handed over`);
              return await AFTER[after](be, p);
            });
          },
        ),
        { numRuns: 60 },
      );
    });
  },
});

/** The dW_hq product of the default model twice over (H 256, 2·T·B 2240, V 1027): tens of ms. */
const BIG = (() => {
  const m = 256, k = 2240, n = 1027;
  return { m, k, n, a: data(k * m, 1), b: data(k * n, 2) };
})();

Deno.test({
  name: "each call right after a long deferred weight gradient gives the bits of one thread",
  ignore,
  async fn(t) {
    // Long enough that every call below comes while the workers are still at it.
    const m = 96, k = 1120, n = 1027;
    const a = data(k * m, 1), b = data(k * n, 2), c = data(m * n, 3), other = data(k * m, 5);
    await onThreads(async (many, threads) => {
      for (const after of Object.keys(AFTER)) {
        await t.step(`${after} (${threads} threads)`, async () => {
          await sameAsOneThread(many, `${after} on ${threads} threads`, async (be) => {
            const p = {
              a: load(be, a),
              b: load(be, b),
              c: load(be, c),
              m,
              k,
              n,
              seed: 4,
              other,
            };
            const before = many.splits;
            be.matmulTN(p.c, p.a, p.b, m, k, n);
            if (be === many) assert.equal(many.splits, before + 1, "not handed over");
            return await AFTER[after](be, p);
          });
        });
      }
    });
  },
});

Deno.test({
  name: "splits: a deferred product counts once, unrelated products run beside it, readers wait",
  ignore,
  async fn() {
    await onThreads(async (many, threads) => {
      const { m, k, n } = BIG;
      const x = data(64 * 64, 3), y = data(64 * 64, 4), w = data(n * 8, 5);
      await sameAsOneThread(many, `on ${threads} threads`, async (be) => {
        const a = load(be, BIG.a), b = load(be, BIG.b), c = be.alloc(m * n);
        const z1 = be.alloc(64 * 64), z2 = be.alloc(m * 8), z3 = be.alloc(64 * 64);
        const xb = load(be, x), yb = load(be, y), wb = load(be, w);
        const before = many.splits;
        const splits = () => be === many ? many.splits - before : undefined;
        be.matmulTN(c, a, b, m, k, n);
        const handedOver = splits();
        // Touches none of its buffers: runs at once, on this thread (the workers are busy).
        be.matmulNN(z1, xb, yb, 64, 64, 64);
        const beside = splits();
        // Reads c: waits for the product, then splits again.
        be.matmulNN(z2, c, wb, m, n, 8);
        const afterReader = splits();
        if (be === many) {
          assert.equal(handedOver, 1, "the weight gradient is one split");
          assert.equal(beside, 1, "the unrelated product waited for the weight gradient");
          assert.equal(afterReader, 2, "the reader did not wait, or did not split after");
        }
        // Once the workers are done, products split again without waiting for anything.
        const c2 = be.alloc(8 * n);
        be.matmulTN(c2, be.view(a, 0, 64 * 8), be.view(b, 0, 64 * n), 8, 64, n);
        pause(200);
        be.matmulNN(z3, xb, yb, 64, 64, 64);
        if (be === many) assert.equal(splits(), 4, "a product after the workers finished");
        return {
          c: await be.read(c),
          z1: await be.read(z1),
          z2: await be.read(z2),
          c2: await be.read(c2),
          z3: await be.read(z3),
        };
      });
    });
  },
});

Deno.test({
  name: "a call that throws while a product is deferred leaves the product whole",
  ignore,
  async fn() {
    await onThreads(async (many, threads) => {
      const { m, k, n } = BIG;
      const single = one();
      try {
        const { a, b } = BIG;
        const expected = single.alloc(m * n);
        single.matmulTN(expected, load(single, a), load(single, b), m, k, n);
        const want = await single.read(expected);
        const foreign = createReferenceBackend().alloc(m * n);
        for (const bad of ["a buffer of another backend", "a buffer too short"]) {
          const c = many.alloc(m * n);
          many.matmulTN(c, load(many, a), load(many, b), m, k, n);
          assert.throws(
            () =>
              bad === "a buffer too short"
                ? many.tanhForward(many.alloc(10), c, m * n)
                : many.tanhForward(c, foreign, m * n),
            TypeError,
          );
          sameBits(await many.read(c), want, `after ${bad} on ${threads} threads`);
        }
        // And the backend still works.
        const again = many.alloc(m * n);
        many.matmulTN(again, load(many, a), load(many, b), m, k, n);
        sameBits(await many.read(again), want, "a product after the failures");
      } finally {
        single.dispose();
      }
    });
  },
});

Deno.test({
  name: "the threaded backend checks its thread count and refuses work once disposed",
  ignore,
  async fn() {
    await assert.rejects(() => createThreadedBackend({ threads: 0 }), RangeError);
    await assert.rejects(() => createThreadedBackend({ threads: 1.5 }), RangeError);
    const be = await createThreadedBackend({ threads: 2, minSplitWork: 1 });
    const a = be.alloc(64), c = be.alloc(64);
    // Disposing with a product still deferred waits for it rather than leaving workers behind.
    const { m, k, n } = BIG;
    be.matmulTN(be.alloc(m * n), load(be, BIG.a), load(be, BIG.b), m, k, n);
    be.dispose();
    be.dispose();
    assert.throws(() => be.matmulNN(c, a, a, 8, 8, 8), /disposed/);
    // Operations that run on this thread alone refuse too.
    assert.throws(() => be.tanhForward(c, a, 64), /disposed/);
    assert.throws(() => be.write(a, [1]), /disposed/);
  },
});

Deno.test({
  name: "a bidirectional two-layer layer object gives one thread's bits on several, backward too",
  ignore,
  fn: async () => {
    const options = {
      inputSize: 5,
      hiddenSize: 7,
      numLayers: 2,
      bidirectional: true,
      batchFirst: true,
      seed: 3,
    };
    const [T, B] = [6, 3];
    const x = data(B * T * 5, 1), dy = data(B * T * 14, 2);
    const run = async (backend: Backend) => {
      const layer = new LSTM({ ...options, backend });
      const out = await layer.forward(x, B);
      layer.zeroGrad();
      const grads = await layer.backward(dy, { h: data(4 * B * 7, 3) });
      const result = {
        out,
        grads,
        params: Array.from(await backend.read(layer.grads)),
      };
      layer.dispose();
      return result;
    };
    const want = await run(one());
    await onThreads(async (many) => {
      assert.deepEqual(await run(many), want);
    });
  },
});
