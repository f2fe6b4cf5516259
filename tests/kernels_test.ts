/**
 * Parity of the WASM kernels with the float64 reference: every kernel of the SIMD build and every
 * scalar twin (`<kernel>Naive`, bound by `createNaiveWasmBackend()`) runs on the same
 * random float32 inputs as the reference, over random shapes that include 1, sizes that are not
 * multiples of 4, and a few shapes past the blocking boundaries of the matrix kernels.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { ActivationCode, Backend, Buf } from "../src/backend/types.ts";
import { createNaiveWasmBackend, createWasmBackend, hasRelaxedSimd } from "../src/backend/wasm.ts";

const ref = createReferenceBackend();

/** The two WASM builds under test; each run gets fresh instances so the arenas stay small. */
const SUBJECTS: { label: string; make: () => Backend }[] = [
  { label: "SIMD kernels", make: () => createWasmBackend({ relaxedSimd: false }) },
  // The relaxed build fuses the matrix products' multiply-adds; where the engine lacks relaxed
  // SIMD the default backend is the plain build, already covered above.
  ...(hasRelaxedSimd()
    ? [{ label: "relaxed-SIMD kernels", make: () => createWasmBackend({ relaxedSimd: true }) }]
    : []),
  { label: "scalar twins", make: () => createNaiveWasmBackend() },
];

/** Deterministic float32 data from a seed (mulberry32). */
function random(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.fround(lo + (hi - lo) * u);
  };
}

function fill(n: number, rnd: () => number): number[] {
  return Array.from({ length: n }, () => rnd());
}

/** A buffer of `be` holding `data`. */
function load(be: Backend, data: ArrayLike<number>): Buf {
  const buf = be.alloc(data.length);
  be.write(buf, data);
  return buf;
}

/** Asserts |actual - expected| ≤ atol + rtol·|expected| elementwise, naming the first failure. */
function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

const small = (max: number) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const RUNS = { numRuns: 40 };

type Form = "matmulNN" | "matmulNT" | "matmulTN";

/** Runs one matmul form on both sides and compares C (which starts non-zero: it accumulates). */
function checkMatmul(be: Backend, form: Form, m: number, k: number, n: number, s: number): void {
  const rnd = random(s);
  const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
  const cr = load(ref, c);
  ref[form](cr, load(ref, a), load(ref, b), m, k, n);
  const cw = load(be, c);
  be[form](cw, load(be, a), load(be, b), m, k, n);
  // float32 accumulation over k terms of size ≤ 1.
  assertClose(be.read(cw), ref.read(cr), 2e-6 * k + 1e-6, 1e-5, `${form} ${m}x${k}x${n}`);
}

// Shapes past the blocking of assembly/matmul.ts: k > 256 (two k blocks), m > 128 (two row
// blocks), n > 2048 (two column blocks), and edge tiles in every direction.
const BIG_SHAPES: [number, number, number][] = [
  [130, 259, 70],
  [67, 300, 9],
  [5, 3, 2051],
  [129, 1, 17],
];

for (const form of ["matmulNN", "matmulNT", "matmulTN"] as const) {
  Deno.test(`${form}() matches the reference on random shapes`, async (t) => {
    for (const { label, make } of SUBJECTS) {
      await t.step(label, () => {
        fc.assert(
          fc.property(small(40), small(70), small(40), seed, (m, k, n, s) => {
            checkMatmul(make(), form, m, k, n, s);
          }),
          RUNS,
        );
        const be = make();
        for (const [m, k, n] of BIG_SHAPES) checkMatmul(be, form, m, k, n, m + k + n);
      });
    }
  });
}

/** matmulPacked on a weight packed by packWeights, against matmulNN of the reference. */
function checkPacked(be: Backend, m: number, k: number, n: number, s: number): void {
  const rnd = random(s);
  const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
  const cr = load(ref, c);
  ref.matmulNN(cr, load(ref, a), load(ref, b), m, k, n);
  const packed = be.alloc(be.packedSize(k, n));
  be.packWeights(packed, load(be, b), k, n);
  const cw = load(be, c);
  be.matmulPacked(cw, load(be, a), packed, m, k, n);
  assertClose(be.read(cw), ref.read(cr), 2e-6 * k + 1e-6, 1e-5, `matmulPacked ${m}x${k}x${n}`);
}

Deno.test("matmulPacked() on a packed weight matches the reference on random shapes", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(9), small(70), small(80), seed, (m, k, n, s) => {
          checkPacked(make(), m, k, n, s);
        }),
        RUNS,
      );
      const be = make();
      for (const [m, k, n] of [...BIG_SHAPES, [1, 300, 1027], [3, 513, 33]] as const) {
        checkPacked(be, m, k, n, m + k + n);
      }
    });
  }
});

Deno.test("matmulPacked() gives each row the same bits whatever the number of rows", async (t) => {
  // Generation relies on it: a prefix continued alone or in a batch of 8 gets the same text.
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(300), small(80), seed, (k, n, s) => {
          const be = make(), rnd = random(s), m = 6;
          const a = fill(m * k, rnd), b = fill(k * n, rnd);
          const packed = be.alloc(be.packedSize(k, n));
          be.packWeights(packed, load(be, b), k, n);
          const all = be.alloc(m * n);
          be.matmulPacked(all, load(be, a), packed, m, k, n);
          const unpacked = be.alloc(m * n);
          be.matmulNN(unpacked, load(be, a), load(be, b), m, k, n);
          assert.deepEqual(be.read(all), be.read(unpacked), "packed vs matmulNN");
          for (const rows of [1, 2, 3]) {
            const part = be.alloc(rows * n);
            be.matmulPacked(part, load(be, a.slice(0, rows * k)), packed, rows, k, n);
            assert.deepEqual(be.read(part), be.read(all).subarray(0, rows * n), `${rows} rows`);
          }
        }),
        RUNS,
      );
    });
  }
});

Deno.test("biasForward() and biasBackward() match the reference on random shapes", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(20), small(70), seed, (m, n, s) => {
          const be = make(), rnd = random(s);
          const y = fill(m * n, rnd), bias = fill(n, rnd), db = fill(n, rnd);
          const yr = load(ref, y), yw = load(be, y);
          ref.biasForward(yr, load(ref, bias), m, n);
          be.biasForward(yw, load(be, bias), m, n);
          assertClose(be.read(yw), ref.read(yr), 1e-7, 1e-6, "biasForward");
          const dr = load(ref, db), dw = load(be, db);
          ref.biasBackward(dr, load(ref, y), m, n);
          be.biasBackward(dw, load(be, y), m, n);
          assertClose(be.read(dw), ref.read(dr), 1e-6 * m, 1e-6, "biasBackward");
        }),
        RUNS,
      );
    });
  }
});

Deno.test("dropoutForward() and dropoutBackward() match the reference on random sizes", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(300), seed, (n, s) => {
          const be = make(), rnd = random(s);
          const x = fill(n, rnd), dy = fill(n, rnd), dx = fill(n, rnd);
          // Masks as dropout draws them: 0, or 1/(1-p) with p = 0.3.
          const mask = Float32Array.from(fill(n, rnd), (u) => (u < -0.4 ? 0 : 1 / 0.7));
          const yr = ref.alloc(n), yw = be.alloc(n);
          ref.dropoutForward(yr, load(ref, x), load(ref, mask), n);
          be.dropoutForward(yw, load(be, x), load(be, mask), n);
          assertClose(be.read(yw), ref.read(yr), 1e-7, 1e-6, "dropoutForward");
          const dr = load(ref, dx), dw = load(be, dx);
          ref.dropoutBackward(dr, load(ref, mask), load(ref, dy), n);
          be.dropoutBackward(dw, load(be, mask), load(be, dy), n);
          assertClose(be.read(dw), ref.read(dr), 1e-7, 1e-6, "dropoutBackward");
        }),
        RUNS,
      );
    });
  }
});

/** Inputs for the activations: mostly moderate values, some large, some tiny, some exactly 0. */
function activationInputs(n: number, rnd: (lo?: number, hi?: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => {
    switch (i % 7) {
      case 0:
        return rnd(-30, 30);
      case 1:
        return rnd(-1e-3, 1e-3);
      case 2:
        return 0;
      default:
        return rnd(-3, 3);
    }
  });
}

for (const act of ["tanh", "sigmoid", "relu"] as const) {
  const fwd = `${act}Forward` as const, bwd = `${act}Backward` as const;
  Deno.test(`${fwd}() and ${bwd}() match the reference, in place too`, async (t) => {
    for (const { label, make } of SUBJECTS) {
      await t.step(label, () => {
        fc.assert(
          fc.property(small(70), seed, fc.boolean(), (n, s, inPlace) => {
            const be = make(), rnd = random(s);
            const x = activationInputs(n, rnd), dy = fill(n, rnd), dx = fill(n, rnd);
            const xr = load(ref, x), yr = ref.alloc(n);
            ref[fwd](yr, xr, n);
            const xw = load(be, x), yw = inPlace ? xw : be.alloc(n);
            be[fwd](yw, xw, n);
            // Cephes tanhf and the expf-based sigmoid: about 1e-7 absolute; the bound leaves room.
            assertClose(be.read(yw), ref.read(yr), 1e-6, 0, fwd);
            // Backward from the same (float32) saved output on both sides.
            const y = be.read(yw);
            const dxr = load(ref, dx), dxw = load(be, dx);
            ref[bwd](dxr, load(ref, y), load(ref, dy), n);
            be[bwd](dxw, load(be, y), load(be, dy), n);
            assertClose(be.read(dxw), ref.read(dxr), 1e-6, 1e-6, bwd);
          }),
          RUNS,
        );
      });
    }
  });
}

Deno.test("tanhForward() is within 1e-6 of Math.tanh over a dense grid", () => {
  const be = createWasmBackend();
  const xs = Array.from({ length: 40001 }, (_, i) => Math.fround(-20 + i * 0.001));
  const x = load(be, xs), y = be.alloc(xs.length);
  be.tanhForward(y, x, xs.length);
  assertClose(be.read(y), xs.map(Math.tanh), 1e-6, 0, "tanh");
});

Deno.test("sigmoidForward() is within 1e-6 of 1/(1+exp(-x)) over a dense grid", () => {
  for (const be of [createWasmBackend(), createNaiveWasmBackend()]) {
    const xs = Array.from({ length: 40001 }, (_, i) => Math.fround(-100 + i * 0.005));
    const x = load(be, xs), y = be.alloc(xs.length);
    be.sigmoidForward(y, x, xs.length);
    assertClose(be.read(y), xs.map((v) => 1 / (1 + Math.exp(-v))), 1e-6, 0, "sigmoid");
  }
});

Deno.test("argmaxRows() is the scan's first largest value, ties, NaN and signed zeros included", async (t) => {
  /** The book's argmax as a scan: later values replace the best only when strictly larger. */
  const scan = (row: ArrayLike<number>) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    return best;
  };
  // Few distinct values (ties), NaN anywhere (also first), and both zeros.
  const value = fc.oneof(
    fc.constantFrom(0, -0, 1, -1, 2.5, NaN, -Infinity, Infinity),
    fc.float({ noNaN: true }),
  );
  for (const { label, make } of [...SUBJECTS, { label: "reference", make: () => ref }]) {
    await t.step(label, () => {
      fc.assert(
        fc.property(
          small(5),
          fc.integer({ min: 0, max: 41 }),
          fc.array(value, { minLength: 205 }),
          (m, n, pool) => {
            const be = make();
            const x = pool.slice(0, m * n).map(Math.fround);
            const got = new Int32Array(m + 1).fill(-7);
            be.argmaxRows(load(be, x), m, n, got);
            for (let i = 0; i < m; i++) {
              assert.equal(
                got[i],
                scan(x.slice(i * n, (i + 1) * n)),
                `row ${i} of ${JSON.stringify(x)}`,
              );
            }
            assert.equal(got[m], -7, "nothing past the rows is written");
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

Deno.test("gatherRowsForward() and gatherRowsBackward() match the reference", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(20), small(40), small(10), seed, (n, h, v, s) => {
          const be = make(), rnd = random(s);
          const idx = Array.from({ length: n }, () => Math.floor(((rnd() + 1) / 2) * v) % v);
          const w = fill(v * h, rnd), out = fill(n * h, rnd), dout = fill(n * h, rnd);
          const ir = ref.allocIndices(n), iw = be.allocIndices(n);
          ref.writeIndices(ir, idx);
          be.writeIndices(iw, idx);
          const or = load(ref, out), ow = load(be, out);
          ref.gatherRowsForward(or, ir, load(ref, w), n, h);
          be.gatherRowsForward(ow, iw, load(be, w), n, h);
          assertClose(be.read(ow), ref.read(or), 1e-7, 1e-6, "gatherRowsForward");
          const dwr = load(ref, w), dww = load(be, w);
          ref.gatherRowsBackward(dwr, ir, load(ref, dout), n, h);
          be.gatherRowsBackward(dww, iw, load(be, dout), n, h);
          assertClose(be.read(dww), ref.read(dwr), 1e-6, 1e-6, "gatherRowsBackward");
        }),
        RUNS,
      );
    });
  }
});

Deno.test("gatherRowsForward() equals the one-hot product and gatherRowsBackward() its transpose", () => {
  fc.assert(
    fc.property(small(20), small(40), small(10), seed, (n, h, v, s) => {
      const be = createWasmBackend(), rnd = random(s);
      const idx = Array.from({ length: n }, () => Math.floor(((rnd() + 1) / 2) * v) % v);
      const onehot = new Array<number>(n * v).fill(0);
      idx.forEach((r, i) => (onehot[i * v + r] = 1));
      const ib = be.allocIndices(n);
      be.writeIndices(ib, idx);
      const w = fill(v * h, rnd), out = fill(n * h, rnd), dout = fill(n * h, rnd);
      // Forward: out += onehot[n,V] · w[V,h]; the zero terms add nothing, so the two agree exactly.
      const o1 = load(be, out), o2 = load(be, out);
      be.gatherRowsForward(o1, ib, load(be, w), n, h);
      be.matmulNN(o2, load(be, onehot), load(be, w), n, v, h);
      assert.deepEqual(be.read(o1), be.read(o2));
      // Backward: dw += onehot[n,V]ᵀ · dout[n,h]; repeated rows may add in another order.
      const d1 = load(be, w), d2 = load(be, w);
      be.gatherRowsBackward(d1, ib, load(be, dout), n, h);
      be.matmulTN(d2, load(be, onehot), load(be, dout), v, n, h);
      assertClose(be.read(d1), be.read(d2), 1e-6, 1e-6, "scatter-add vs onehotᵀ·dout");
    }),
    RUNS,
  );
});

Deno.test("softmaxXentForward() and softmaxXentBackward() match the reference, aliased too", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(12), small(70), seed, fc.boolean(), (m, v, s, alias) => {
          const be = make(), rnd = random(s);
          // Logits of both signs with an occasional large one, to exercise the max shift.
          const z = Array.from(
            { length: m * v },
            (_, i) => (i % 11 === 3 ? rnd(-80, 80) : rnd(-6, 6)),
          );
          const tg = Array.from({ length: m }, () => Math.floor(((rnd() + 1) / 2) * v) % v);
          const scale = Math.fround(1 / m);
          const tr = ref.allocIndices(m), tw = be.allocIndices(m);
          ref.writeIndices(tr, tg);
          be.writeIndices(tw, tg);
          const zr = load(ref, z), pr = ref.alloc(m * v);
          const lossRef = ref.softmaxXentForward(pr, zr, tr, m, v);
          const zw = load(be, z), pw = alias ? zw : be.alloc(m * v);
          const loss = be.softmaxXentForward(pw, zw, tw, m, v);
          assertClose([loss], [lossRef], 1e-5 * m, 1e-6, "loss");
          assertClose(be.read(pw), ref.read(pr), 1e-7, 1e-5, "probs");
          // Backward from the same float32 probabilities on both sides.
          const p = be.read(pw);
          const dr = ref.alloc(m * v);
          ref.softmaxXentBackward(dr, load(ref, p), tr, m, v, scale);
          const pw2 = load(be, p), dw = alias ? pw2 : be.alloc(m * v);
          be.softmaxXentBackward(dw, pw2, tw, m, v, scale);
          assertClose(be.read(dw), ref.read(dr), 1e-8, 1e-6, "dlogits");
        }),
        RUNS,
      );
    });
  }
});

/** RNN inputs: H_0, zin and W_hh scaled by 1/sqrt(h) so states stay of order 1. */
function rnnInputs(t: number, b: number, h: number, s: number) {
  const rnd = random(s);
  const block = b * h;
  const states = new Array<number>((t + 1) * block).fill(0);
  for (let i = 0; i < block; i++) states[i] = rnd();
  const zin = fill(t * block, rnd);
  const whh = fill(h * h, () => Math.fround(rnd() / Math.sqrt(h)));
  return { states, zin, whh, rnd };
}

function checkRnnForward(
  be: Backend,
  t: number,
  b: number,
  h: number,
  act: ActivationCode,
  s: number,
) {
  const { states, zin, whh } = rnnInputs(t, b, h, s);
  const sr = load(ref, states), sw = load(be, states);
  ref.rnnForward(sr, load(ref, zin), load(ref, whh), t, b, h, act);
  be.rnnForward(sw, load(be, zin), load(be, whh), t, b, h, act);
  assertClose(be.read(sw), ref.read(sr), 1e-5 * t + 2e-6 * h, 1e-5, `rnnForward t${t} b${b} h${h}`);
}

function checkRnnBackward(
  be: Backend,
  t: number,
  b: number,
  h: number,
  act: ActivationCode,
  s: number,
) {
  const { states, zin, whh, rnd } = rnnInputs(t, b, h, s);
  // The forward pass in float64, rounded to float32: both sides start from the same states.
  const fwd = load(ref, states);
  ref.rnnForward(fwd, load(ref, zin), load(ref, whh), t, b, h, act);
  const saved = Array.from(ref.read(fwd), Math.fround);
  const block = b * h;
  const dstates = fill((t + 1) * block, rnd), dwhh = fill(h * h, rnd);
  const r = {
    dzin: ref.alloc(t * block),
    dwhh: load(ref, dwhh),
    dstates: load(ref, dstates),
  };
  const w = {
    dzin: be.alloc(t * block),
    dwhh: load(be, dwhh),
    dstates: load(be, dstates),
  };
  ref.rnnBackward(r.dzin, r.dwhh, r.dstates, load(ref, saved), load(ref, whh), t, b, h, act);
  be.rnnBackward(w.dzin, w.dwhh, w.dstates, load(be, saved), load(be, whh), t, b, h, act);
  const what = `rnnBackward t${t} b${b} h${h} act${act}`;
  const tol = 1e-5 * t + 2e-6 * h;
  assertClose(be.read(w.dzin), ref.read(r.dzin), tol, 1e-5, `${what} dzin`);
  assertClose(be.read(w.dstates), ref.read(r.dstates), tol, 1e-5, `${what} dstates`);
  assertClose(be.read(w.dwhh), ref.read(r.dwhh), tol * b, 1e-5, `${what} dwhh`);
}

// h = 260 crosses the k blocking; h = 725 is too large to pack W_hh once and takes the
// per-step path.
const RNN_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 725]];

Deno.test("rnnForward() matches the reference for tanh and relu", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(
          small(4),
          small(6),
          small(40),
          fc.constantFrom<ActivationCode>(0, 1),
          seed,
          (tt, b, h, act, s) => {
            checkRnnForward(make(), tt, b, h, act, s);
          },
        ),
        RUNS,
      );
      const be = make();
      for (const [tt, b, h] of RNN_BIG) {
        for (const act of [0, 1] as const) checkRnnForward(be, tt, b, h, act, h);
      }
    });
  }
});

Deno.test("rnnBackward() matches the reference for tanh and relu", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(
          small(4),
          small(6),
          small(40),
          fc.constantFrom<ActivationCode>(0, 1),
          seed,
          (tt, b, h, act, s) => {
            checkRnnBackward(make(), tt, b, h, act, s);
          },
        ),
        RUNS,
      );
      const be = make();
      for (const [tt, b, h] of RNN_BIG) {
        for (const act of [0, 1] as const) checkRnnBackward(be, tt, b, h, act, h);
      }
    });
  }
});

/** Gated-cell inputs: H_0, C_0, zin, bhn, and whh[h,g] scaled by 1/sqrt(h). */
function cellInputs(t: number, b: number, h: number, g: number, s: number) {
  const rnd = random(s);
  const block = b * h;
  const initial = () => {
    const x = new Array<number>((t + 1) * block).fill(0);
    for (let i = 0; i < block; i++) x[i] = rnd();
    return x;
  };
  const states = initial(), cells = initial();
  const zin = fill(t * b * g, () => rnd(-2, 2));
  const whh = fill(h * g, () => Math.fround(rnd() / Math.sqrt(h)));
  const bhn = fill(h, rnd);
  return { states, cells, zin, whh, bhn, rnd };
}

/** Tolerances of the gated cells: as the RNN's, products of depth h through a few steps. */
const cellTol = (t: number, h: number) => 1e-5 * t + 2e-6 * h;

function checkGru(be: Backend, t: number, b: number, h: number, ra: 0 | 1, s: number): void {
  const g = 3 * h, block = b * h;
  const { states, zin, whh, bhn, rnd } = cellInputs(t, b, h, g, s);
  const what = `t${t} b${b} h${h} resetAfter ${ra}`;
  const tol = cellTol(t, h);

  const r = { states: load(ref, states), gates: ref.alloc(t * b * g), hn: ref.alloc(t * block) };
  const w = { states: load(be, states), gates: be.alloc(t * b * g), hn: be.alloc(t * block) };
  ref.gruForward(
    r.states,
    r.gates,
    r.hn,
    load(ref, zin),
    load(ref, whh),
    load(ref, bhn),
    t,
    b,
    h,
    ra,
  );
  be.gruForward(w.states, w.gates, w.hn, load(be, zin), load(be, whh), load(be, bhn), t, b, h, ra);
  for (const k of ["states", "gates", "hn"] as const) {
    assertClose(be.read(w[k]), ref.read(r[k]), tol, 1e-5, `gruForward ${what} ${k}`);
  }

  // Backward from the same float32 saved values on both sides.
  const saved = (x: Buf) => Array.from(ref.read(x), Math.fround);
  const st = saved(r.states), gt = saved(r.gates), hn = saved(r.hn);
  const dstates = fill((t + 1) * block, rnd), dwhh = fill(h * g, rnd), dbhn = fill(h, rnd);
  const run = (x: Backend) => {
    const d = { dzin: x.alloc(t * b * g), dwhh: load(x, dwhh), dbhn: load(x, dbhn) };
    const ds = load(x, dstates);
    x.gruBackward(
      d.dzin,
      d.dwhh,
      d.dbhn,
      ds,
      load(x, st),
      load(x, gt),
      load(x, hn),
      load(x, whh),
      t,
      b,
      h,
      ra,
    );
    return { ...d, dstates: ds };
  };
  const rb = run(ref), wb = run(be);
  assertClose(be.read(wb.dzin), ref.read(rb.dzin), tol, 1e-5, `gruBackward ${what} dzin`);
  assertClose(be.read(wb.dstates), ref.read(rb.dstates), tol, 1e-5, `gruBackward ${what} dstates`);
  assertClose(be.read(wb.dwhh), ref.read(rb.dwhh), tol * b, 1e-5, `gruBackward ${what} dwhh`);
  assertClose(be.read(wb.dbhn), ref.read(rb.dbhn), tol * b, 1e-5, `gruBackward ${what} dbhn`);
}

function checkLstm(be: Backend, t: number, b: number, h: number, s: number): void {
  const g = 4 * h, block = b * h;
  const { states, cells, zin, whh, rnd } = cellInputs(t, b, h, g, s);
  const what = `t${t} b${b} h${h}`;
  const tol = cellTol(t, h);

  const r = { states: load(ref, states), cells: load(ref, cells), gates: ref.alloc(t * b * g) };
  const w = { states: load(be, states), cells: load(be, cells), gates: be.alloc(t * b * g) };
  ref.lstmForward(r.states, r.cells, r.gates, load(ref, zin), load(ref, whh), t, b, h);
  be.lstmForward(w.states, w.cells, w.gates, load(be, zin), load(be, whh), t, b, h);
  for (const k of ["states", "cells", "gates"] as const) {
    assertClose(be.read(w[k]), ref.read(r[k]), tol, 1e-5, `lstmForward ${what} ${k}`);
  }

  const saved = (x: Buf) => Array.from(ref.read(x), Math.fround);
  const st = saved(r.states), ct = saved(r.cells), gt = saved(r.gates);
  // Gradients from outside the recurrence reach every H_s and C_s.
  const dstates = fill((t + 1) * block, rnd), dcells = fill((t + 1) * block, rnd);
  const dwhh = fill(h * g, rnd);
  const run = (x: Backend) => {
    const d = {
      dzin: x.alloc(t * b * g),
      dwhh: load(x, dwhh),
      dstates: load(x, dstates),
      dcells: load(x, dcells),
    };
    x.lstmBackward(
      d.dzin,
      d.dwhh,
      d.dstates,
      d.dcells,
      load(x, st),
      load(x, ct),
      load(x, gt),
      load(x, whh),
      t,
      b,
      h,
    );
    return d;
  };
  const rb = run(ref), wb = run(be);
  for (const k of ["dzin", "dstates", "dcells"] as const) {
    assertClose(be.read(wb[k]), ref.read(rb[k]), tol, 1e-5, `lstmBackward ${what} ${k}`);
  }
  assertClose(be.read(wb.dwhh), ref.read(rb.dwhh), tol * b, 1e-5, `lstmBackward ${what} dwhh`);
}

// h = 70 crosses the 8-column panels with a ragged edge, h = 260 the k blocking (k = 3h, 4h in
// backward) and the 128-row blocks of the TN product; h = 420 (GRU) and 370 (LSTM) are too large
// to pack whh once and take the per-call packing path.
const GRU_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 420]];
const LSTM_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 370]];

Deno.test("gruForward() and gruBackward() match the reference (both variants)", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(
          small(4),
          small(6),
          small(40),
          fc.constantFrom<0 | 1>(0, 1),
          seed,
          (tt, b, h, ra, s) => checkGru(make(), tt, b, h, ra, s),
        ),
        RUNS,
      );
      const be = make();
      for (const [tt, b, h] of GRU_BIG) {
        for (const ra of [0, 1] as const) checkGru(be, tt, b, h, ra, h + ra);
      }
    });
  }
});

Deno.test("lstmForward() and lstmBackward() match the reference", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(4), small(6), small(40), seed, (tt, b, h, s) => {
          checkLstm(make(), tt, b, h, s);
        }),
        RUNS,
      );
      const be = make();
      for (const [tt, b, h] of LSTM_BIG) checkLstm(be, tt, b, h, h);
    });
  }
});

Deno.test("the gated cells check their sizes and the GRU variant", () => {
  for (const be of [ref, createWasmBackend()]) {
    const x = be.alloc(64);
    assert.throws(() => be.gruForward(x, x, x, x, x, x, 1, 1, 2, 2 as 0), RangeError);
    assert.throws(() => be.gruBackward(x, x, x, x, x, x, x, x, 1, 1, 2, -1 as 0), RangeError);
  }
  const be = createWasmBackend();
  const x = be.alloc(64), small = be.alloc(11);
  // gates [t,b,3h] = 12 elements for t = 1, b = 1, h = 4.
  assert.throws(() => be.gruForward(x, small, x, x, x, x, 1, 1, 4, 0), TypeError);
  assert.throws(() => be.lstmBackward(x, x, x, x, x, x, x, x, 1, 1.5, 2), RangeError);
  assert.throws(() => be.lstmForward(x, x, x, x, be.alloc(4 * 4 * 4 - 1), 1, 1, 4), TypeError);
  // The book's variant never reads bhn: any buffer will do, an empty one too.
  const [states, gates, hn] = [be.alloc(8), be.alloc(12), be.alloc(4)];
  be.gruForward(states, gates, hn, be.alloc(12), be.alloc(48), be.alloc(0), 1, 1, 4, 0);
  assert.throws(() => be.gruForward(x, x, x, x, x, be.alloc(3), 1, 1, 4, 1), TypeError);
});

Deno.test("the cell forward kernels match the reference with a packed recurrent weight", async (t) => {
  // Generation packs W_h once (packWeights) and passes it to every one-step call.
  const packed = (be: Backend, whh: number[], h: number, g: number) => {
    const buf = be.alloc(be.packedSize(h, g));
    be.packWeights(buf, load(be, whh), h, g);
    return buf;
  };
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(small(3), small(5), small(40), seed, (tt, b, h, s) => {
          const be = make(), tol = cellTol(tt, h), what = `t${tt} b${b} h${h}`;
          const rnn = cellInputs(tt, b, h, h, s);
          const sr = load(ref, rnn.states), sw = load(be, rnn.states);
          ref.rnnForward(sr, load(ref, rnn.zin), load(ref, rnn.whh), tt, b, h, 0);
          // The unpacked weight is zeros: only the packed one may be read.
          const zeros = be.alloc(h * h);
          be.rnnForward(sw, load(be, rnn.zin), zeros, tt, b, h, 0, packed(be, rnn.whh, h, h));
          assertClose(be.read(sw), ref.read(sr), tol, 1e-5, `rnnForward ${what}`);

          const gru = cellInputs(tt, b, h, 3 * h, s);
          const out = (x: Backend) => ({
            states: load(x, gru.states),
            gates: x.alloc(tt * b * 3 * h),
            hn: x.alloc(tt * b * h),
          });
          const r = out(ref), w = out(be);
          const [zr, zw] = [load(ref, gru.zin), load(be, gru.zin)];
          ref.gruForward(
            r.states,
            r.gates,
            r.hn,
            zr,
            load(ref, gru.whh),
            load(ref, gru.bhn),
            tt,
            b,
            h,
            1,
          );
          be.gruForward(
            w.states,
            w.gates,
            w.hn,
            zw,
            be.alloc(3 * h * h),
            load(be, gru.bhn),
            tt,
            b,
            h,
            1,
            packed(be, gru.whh, h, 3 * h),
          );
          assertClose(be.read(w.states), ref.read(r.states), tol, 1e-5, `gruForward ${what}`);

          const lstm = cellInputs(tt, b, h, 4 * h, s);
          const lr = {
            states: load(ref, lstm.states),
            cells: load(ref, lstm.cells),
            gates: ref.alloc(tt * b * 4 * h),
          };
          const lw = {
            states: load(be, lstm.states),
            cells: load(be, lstm.cells),
            gates: be.alloc(tt * b * 4 * h),
          };
          ref.lstmForward(
            lr.states,
            lr.cells,
            lr.gates,
            load(ref, lstm.zin),
            load(ref, lstm.whh),
            tt,
            b,
            h,
          );
          be.lstmForward(
            lw.states,
            lw.cells,
            lw.gates,
            load(be, lstm.zin),
            be.alloc(4 * h * h),
            tt,
            b,
            h,
            packed(be, lstm.whh, h, 4 * h),
          );
          assertClose(be.read(lw.states), ref.read(lr.states), tol, 1e-5, `lstmForward ${what}`);
        }),
        RUNS,
      );
    });
  }
});

Deno.test("sumSquares(), scale() and sgdUpdate() match the reference", async (t) => {
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 200 }), seed, (n, s) => {
          const be = make(), rnd = random(s);
          const x = fill(n, () => rnd(-10, 10)), g = fill(n, rnd);
          const k = rnd(-2, 2), lr = Math.fround(Math.abs(rnd()) / 10);
          // Products of float32 values are exact in float64: only the summation order differs.
          assertClose(
            [be.sumSquares(load(be, x), n)],
            [ref.sumSquares(load(ref, x), n)],
            0,
            1e-12,
            "sumSquares",
          );
          const xr = load(ref, x), xw = load(be, x);
          ref.scale(xr, n, k);
          be.scale(xw, n, k);
          assertClose(be.read(xw), ref.read(xr), 0, 1e-7, "scale");
          const pr = load(ref, x), pw = load(be, x);
          ref.sgdUpdate(pr, load(ref, g), n, lr);
          be.sgdUpdate(pw, load(be, g), n, lr);
          assertClose(be.read(pw), ref.read(pr), 1e-6, 1e-6, "sgdUpdate");
        }),
        RUNS,
      );
    });
  }
});

Deno.test("adamUpdate() matches the reference over consecutive steps", async (t) => {
  const simd = createWasmBackend(), twin = createNaiveWasmBackend();
  for (const { label, make } of SUBJECTS) {
    await t.step(label, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 200 }),
          seed,
          fc.integer({ min: 1, max: 1000 }),
          fc.boolean(),
          (n, s, first, defaults) => {
            const be = make(), rnd = random(s);
            // The book's settings half the time, otherwise any betas in [0, 0.999] and eps up
            // to 1e-3; learning rates up to 0.1.
            const lr = Math.fround((rnd() + 1) / 20 + 1e-4);
            const beta1 = defaults ? 0.9 : Math.fround((rnd() + 1) * 0.4995);
            const beta2 = defaults ? 0.999 : Math.fround((rnd() + 1) * 0.4995);
            const eps = defaults ? 1e-8 : Math.fround((rnd() + 1) * 5e-4 + 1e-8);
            const p = fill(n, rnd);
            // Moments as a run in progress would hold them (v >= 0); zero at step 1.
            const m = first === 1 ? new Array<number>(n).fill(0) : fill(n, rnd);
            const v = first === 1 ? new Array<number>(n).fill(0) : fill(n, () => rnd(0, 1));
            const r = { p: load(ref, p), m: load(ref, m), v: load(ref, v) };
            const w = { p: load(be, p), m: load(be, m), v: load(be, v) };
            for (let step = first; step < first + 3; step++) {
              const g = fill(n, rnd);
              ref.adamUpdate(r.p, load(ref, g), r.m, r.v, n, lr, beta1, beta2, eps, step);
              be.adamUpdate(w.p, load(be, g), w.m, w.v, n, lr, beta1, beta2, eps, step);
              // Both sides go on from the float32 state, so errors do not compound.
              for (const k of ["p", "m", "v"] as const) {
                const got = be.read(w[k]);
                assertClose(got, ref.read(r[k]), 1e-6, 1e-5, `adamUpdate ${k} step ${step}`);
                ref.write(r[k], got);
              }
            }
          },
        ),
        RUNS,
      );
    });
  }
  await t.step("SIMD and scalar twin agree bit for bit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), seed, (n, s) => {
        const rnd = random(s);
        const p = fill(n, rnd), g = fill(n, rnd), m = fill(n, rnd), v = fill(n, () => rnd(0, 1));
        const out = [simd, twin].map((be) => {
          const bufs = [p, m, v].map((a) => load(be, a));
          be.adamUpdate(bufs[0], load(be, g), bufs[1], bufs[2], n, 0.01, 0.9, 0.999, 1e-8, 7);
          return bufs.map((b) => Array.from(be.read(b)));
        });
        assert.deepEqual(out[0], out[1]);
      }),
      RUNS,
    );
  });
  for (const be of [ref, simd]) {
    const x = be.alloc(4);
    assert.throws(() => be.adamUpdate(x, x, x, x, 4, 0.1, 0.9, 0.999, 1e-8, 0), RangeError);
    assert.throws(() => be.adamUpdate(x, x, x, x, 4, 0.1, 0.9, 0.999, 1e-8, 1.5), RangeError);
  }
});

Deno.test("the WASM backend checks buffers and sizes, and its views share storage", () => {
  const be = createWasmBackend(), other = createWasmBackend();
  const a = be.alloc(6), c = be.alloc(4);
  assert.throws(() => be.matmulNN(c, a, be.alloc(5), 2, 3, 2), TypeError);
  assert.throws(() => be.matmulNN(c, other.alloc(6), be.alloc(6), 2, 3, 2), TypeError);
  assert.throws(() => be.tanhForward(a, a, -1), RangeError);
  assert.throws(() => be.tanhForward(a, a, 1.5), RangeError);
  assert.throws(() => be.view(a, 4, 3), TypeError);
  assert.throws(() => be.copy(a, c), TypeError);
  be.write(a, [1, 2, 3, 4, 5, 6]);
  const v = be.view(a, 2, 3);
  be.fill(v, 9);
  assert.deepEqual(Array.from(be.read(a)), [1, 2, 9, 9, 9, 6]);
  // Growing memory must keep earlier buffers readable (the views are rebuilt).
  const big = be.alloc(1 << 22);
  be.fill(big, 1);
  assert.deepEqual(Array.from(be.read(a)), [1, 2, 9, 9, 9, 6]);
  assert.equal(be.sumSquares(big, 1 << 22), 1 << 22);
});

Deno.test("read() copies into a given array, which it returns, on every backend", () => {
  for (const be of [createWasmBackend(), ref]) {
    const a = be.alloc(3);
    be.write(a, [1, 2, 3]);
    const into = be.read(be.alloc(4));
    const got = be.read(a, into);
    assert.equal(got, into, be.name);
    assert.deepEqual(Array.from(got), [1, 2, 3, 0], be.name);
    be.write(a, [4, 5, 6]);
    assert.deepEqual(Array.from(be.read(a, into)), [4, 5, 6, 0], be.name);
  }
});
