/**
 * The threaded backend: every split product and softmax gives the bits of one thread, and so
 * does a whole training run; a closed backend refuses work. The work threshold is set to 1 so
 * that even the small shapes here are split.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { buildCorpus } from "../src/text/corpus.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import {
  createThreadedBackend,
  type ThreadedBackend,
  threadsAvailable,
} from "../src/backend/threads.ts";
import type { Backend, Buf } from "../src/backend/types.ts";
import { getWeights } from "../src/model/model.ts";
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

function load(be: Backend, values: ArrayLike<number>): Buf {
  const buf = be.alloc(values.length);
  be.write(buf, values);
  return buf;
}

/** Runs `check` on a threaded backend of 2 threads, then of 3 (more than this machine has cores). */
async function onThreads(check: (many: ThreadedBackend, threads: number) => void): Promise<void> {
  for (const threads of [2, 3]) {
    const many = await createThreadedBackend({ threads, minSplitWork: 1 });
    try {
      check(many, threads);
    } finally {
      many.close();
    }
  }
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
};

/**
 * Runs `compute` on the threaded backend and on one thread, and asserts that every array it
 * returns has the same bits on both.
 */
function sameAsOneThread(
  many: Backend,
  what: string,
  compute: (be: Backend) => Record<string, ArrayLike<number>>,
): void {
  const [split, alone] = [many, one()].map(compute);
  for (const name of Object.keys(alone)) sameBits(split[name], alone[name], `${what}: ${name}`);
}

Deno.test({
  name: "split products and softmax give the bits of one thread",
  ignore,
  async fn() {
    await onThreads((many, threads) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 90 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          (m, k, n, seed) => {
            for (const form of ["matmulNN", "matmulNT", "matmulTN"] as const) {
              const a = data(m * k, seed), b = data(k * n, seed + 1), c = data(m * n, seed + 2);
              sameAsOneThread(many, `${form} ${m}x${k}x${n} on ${threads} threads`, (be) => {
                const cb = load(be, c);
                be[form](cb, load(be, a), load(be, b), m, k, n);
                return { c: be.read(cb) };
              });
            }
            const logits = data(m * n, seed + 3, -8, 8);
            const targets = Int32Array.from({ length: m }, (_, i) => (i * 7 + seed) % n);
            sameAsOneThread(many, `softmax ${m}x${n}`, (be) => {
              const probs = be.alloc(m * n), t = be.allocIndices(m);
              be.writeIndices(t, targets);
              const loss = be.softmaxXentForward(probs, load(be, logits), t, m, n);
              const grad = be.alloc(m * n);
              be.softmaxXentBackward(grad, probs, t, m, n, 1 / m);
              return { loss: [loss], probs: be.read(probs), gradient: be.read(grad) };
            });
          },
        ),
        { numRuns: 25 },
      );
      assert.ok(many.splits > 50, `only ${many.splits} operations were split`);
    });
  },
});

Deno.test({
  name: "training on two threads gives the weights and losses of one, bit for bit",
  ignore,
  async fn() {
    // Over 48 distinct characters, so that the output weight's gradient is split beside the
    // recurrent backward pass (matmulTNAlongside) on 2 threads.
    const corpus = buildCorpus(
      Array.from(
        "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(20) +
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".repeat(4),
      ),
    );
    const many = await createThreadedBackend({ threads: 2, minSplitWork: 1 });
    try {
      const runs = await Promise.all([many, one()].map((backend) =>
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
      const [wa, wb] = runs.map((r) => getWeights(r.model));
      for (const name of Object.keys(wb)) sameBits(wa[name], wb[name], name);
    } finally {
      many.close();
    }
  },
});

Deno.test({
  name: "recurrent forward passes split by rows give the bits of one thread, for every cell",
  ignore,
  async fn() {
    await onThreads((many) => {
      const splitsBefore = many.splits;
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 37 }),
          fc.constantFrom("rnn-tanh", "rnn-relu", "gru-book", "gru-pytorch", "lstm"),
          fc.boolean(),
          fc.integer({ min: 0, max: 2 ** 30 }),
          (t, b, h, cell, packed, seed) => {
            const g = cell === "lstm" ? 4 * h : cell.startsWith("gru") ? 3 * h : h;
            const block = b * h;
            const zin = data(t * b * g, seed, -2, 2), whh = data(h * g, seed + 1, -0.5, 0.5);
            const h0 = data(block, seed + 2), c0 = data(block, seed + 3), bhn = data(h, seed + 4);
            sameAsOneThread(many, `${cell} t=${t} b=${b} h=${h}`, (be) => {
              const states = be.alloc((t + 1) * block), cells = be.alloc((t + 1) * block);
              const gates = be.alloc(t * b * g), hn = be.alloc(t * block);
              be.write(states, h0);
              be.write(cells, c0);
              const w = load(be, whh), z = load(be, zin);
              // The weight packed for few-row products, as generation passes it.
              let wp: Buf | undefined;
              if (packed && cell !== "gru-book") {
                wp = be.alloc(be.packedSize(h, g));
                be.packWeights(wp, w, h, g);
              }
              if (cell === "rnn-tanh" || cell === "rnn-relu") {
                be.rnnForward(states, z, w, t, b, h, cell === "rnn-tanh" ? 0 : 1, wp);
              } else if (cell === "lstm") {
                be.lstmForward(states, cells, gates, z, w, t, b, h, wp);
              } else {
                const after = cell === "gru-pytorch" ? 1 : 0;
                be.gruForward(states, gates, hn, z, w, load(be, bhn), t, b, h, after, wp);
              }
              const read = (buf: Buf) => be.read(buf);
              return { states: read(states), cells: read(cells), gates: read(gates), hn: read(hn) };
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
    await onThreads((many, threads) => {
      const splitsBefore = many.splits;
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 1, max: 37 }),
          fc.constantFrom("rnn-tanh", "rnn-relu", "lstm"),
          fc.integer({ min: 0, max: 2 ** 30 }),
          (t, b, h, cell, seed) => {
            const g = cell === "lstm" ? 4 * h : h, block = b * h;
            sameAsOneThread(many, `${cell} t=${t} b=${b} h=${h} (${threads})`, (be) => {
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
                const act = cell === "rnn-tanh" ? 0 : 1;
                be.rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act);
              }
              const read = (buf: Buf) => be.read(buf);
              return {
                dzin: read(dzin),
                dW_hh: read(dwhh),
                dstates: read(dstates),
                dcells: read(dcells),
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

Deno.test({
  name: "matmulTNAlongside() gives matmulTN's bits while the work runs, and passes on its errors",
  ignore,
  async fn() {
    await onThreads((many, threads) => {
      const splitsBefore = many.splits;
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 0, max: 2 ** 30 }),
          (m, k, n, seed) => {
            const a = data(k * m, seed), b = data(k * n, seed + 1), c = data(m * n, seed + 2);
            const x = data(12 * 20, seed + 3), y = data(20 * 16, seed + 4);
            sameAsOneThread(many, `matmulTNAlongside ${m}x${k}x${n} on ${threads}`, (be) => {
              const cb = load(be, c), z = be.alloc(12 * 16);
              let runs = 0;
              // The work multiplies too: on the threaded backend it must run on this thread.
              be.matmulTNAlongside(cb, load(be, a), load(be, b), m, k, n, () => {
                runs++;
                be.matmulNN(z, load(be, x), load(be, y), 12, 20, 16);
              });
              assert.equal(runs, 1, "the work runs once");
              return { c: be.read(cb), "the product inside the work": be.read(z) };
            });
          },
        ),
        { numRuns: 25 },
      );
      assert.ok(many.splits > splitsBefore, "no product ran alongside");
      // A failing work: its error comes out, the product is still whole, and the backend works.
      const m = 8, k = 50, n = 96, single = one();
      const a = data(k * m, 1), b = data(k * n, 2);
      const expected = single.alloc(m * n);
      single.matmulTN(expected, load(single, a), load(single, b), m, k, n);
      const c = many.alloc(m * n);
      assert.throws(
        () =>
          many.matmulTNAlongside(c, load(many, a), load(many, b), m, k, n, () => {
            throw new Error("work failed");
          }),
        /work failed/,
      );
      sameBits(many.read(c), single.read(expected), "the product beside a failing work");
      const again = many.alloc(m * n);
      many.matmulTN(again, load(many, a), load(many, b), m, k, n);
      sameBits(many.read(again), single.read(expected), "a product after the failure");
      // Work that outlasts the workers' share: its own products are split again once they are
      // free (the pause gives a worker ample time for its blocks of so small a product).
      const before = many.splits;
      const x = data(40 * 30, 7), y = data(30 * 24, 8);
      const inside = many.alloc(40 * 24), c2 = many.alloc(m * n);
      many.matmulTNAlongside(c2, load(many, a), load(many, b), m, k, n, () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        many.matmulNN(inside, load(many, x), load(many, y), 40, 30, 24);
      });
      assert.equal(many.splits, before + 2, "the product inside the work was split");
      sameBits(many.read(c2), single.read(expected), "the product beside a long work");
      const alone = single.alloc(40 * 24);
      single.matmulNN(alone, load(single, x), load(single, y), 40, 30, 24);
      sameBits(many.read(inside), single.read(alone), "the product inside the work");
    });
  },
});

Deno.test({
  name: "the threaded backend checks its thread count and refuses work once closed",
  ignore,
  async fn() {
    await assert.rejects(() => createThreadedBackend({ threads: 0 }), RangeError);
    await assert.rejects(() => createThreadedBackend({ threads: 1.5 }), RangeError);
    const be = await createThreadedBackend({ threads: 2, minSplitWork: 1 });
    const a = be.alloc(64), c = be.alloc(64);
    be.close();
    be.close();
    assert.throws(() => be.matmulNN(c, a, a, 8, 8, 8), /closed/);
  },
});
