/**
 * Parity of the WASM kernels with the float64 reference: every kernel of the SIMD build and every
 * scalar twin (`<kernel>Naive`, bound by `createNaiveWasmBackend()`) runs on the same
 * random float32 inputs as the reference, over random shapes that include 1, sizes that are not
 * multiples of 4, and a few shapes past the blocking boundaries of the matrix kernels. The
 * statistics kernels' rules (clipping, divergence, counting updates) are checked on every backend,
 * the reference included.
 *
 * The suite is the table {@linkcode PARITY}, keyed by the kernel table's names, so a kernel
 * cannot be missing; the tests after it check what spans kernels or the glue.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { kernelBytes } from "../src/backend/_wasm/kernels.ts";
import { KERNEL_NAMES, type KernelName } from "../src/backend/kernels.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import {
  type Activation,
  type AnyBuf,
  type Backend,
  type FloatBuf,
  type GruVariant,
  type IndexBuf,
  type PackedBuf,
  type ScalarBuf,
  STAT,
  STATS_SLOTS,
} from "../src/backend/types.ts";
import {
  createNaiveWasmBackend,
  createWasmBackend,
  hasRelaxedSimd,
  wasmBackendOver,
} from "../src/backend/wasm.ts";
import { webGpuAvailable, webGpuBackendOn } from "../src/backend/webgpu.ts";
import { quantizeInt8 } from "../src/model/quantize.ts";

const ref = createReferenceBackend();

/** A backend under test; each run gets a fresh instance so the arenas stay small. */
interface Subject {
  label: string;
  make: () => Backend;
}

/** The two WASM builds and the scalar twins, each checked against the reference. */
const SUBJECTS: Subject[] = [
  { label: "SIMD kernels", make: () => createWasmBackend({ relaxedSimd: false }) },
  // The relaxed build fuses the matrix products' multiply-adds; where the engine lacks relaxed
  // SIMD the default backend is the plain build, already covered above.
  ...(hasRelaxedSimd()
    ? [{ label: "relaxed-SIMD kernels", make: () => createWasmBackend({ relaxedSimd: true }) }]
    : []),
  { label: "scalar twins", make: () => createNaiveWasmBackend() },
];

/**
 * The WebGPU backend, where the runtime has an adapter (a software one here: Mesa's llvmpipe);
 * where it has none the suite says so once and runs without it.
 */
const gpuDevice = await (async () => {
  const adapter = webGpuAvailable() ? await navigator.gpu.requestAdapter() : null;
  if (!adapter) {
    console.log("kernels_test: no WebGPU adapter here, so the WebGPU backend is not checked");
    return undefined;
  }
  return { device: await adapter.requestDevice(), info: adapter.info };
})();
if (gpuDevice) {
  SUBJECTS.push({
    label: "WebGPU kernels",
    make: () => webGpuBackendOn(gpuDevice.device, gpuDevice.info.description),
  });
}

/** Every backend, the reference first: for the rules every backend must keep by itself. */
const EVERY: Subject[] = [
  { label: "reference", make: () => createReferenceBackend() },
  ...SUBJECTS,
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
function load(be: Backend, data: ArrayLike<number>): FloatBuf {
  const buf = be.alloc(data.length);
  be.write(buf, data);
  return buf;
}

/** An index buffer of `be` holding `data`. */
function loadIndices(be: Backend, data: ArrayLike<number>): IndexBuf {
  const buf = be.allocIndices(data.length);
  be.writeIndices(buf, data);
  return buf;
}

/** A statistics buffer of `be` holding `slots` (zeros by default). */
function loadStats(be: Backend, slots: readonly number[] = [0, 0, 0, 0]): ScalarBuf {
  const buf = be.allocScalars(STATS_SLOTS);
  be.writeScalars(buf, slots);
  return buf;
}

/** The slots of a statistics buffer, as a plain array. */
async function readStats(be: Backend, stats: ScalarBuf): Promise<number[]> {
  return Array.from(await be.readScalars(stats));
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

/** Asserts the same values element for element: signed zeros told apart, NaN equal to NaN. */
function assertSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Asserts that `fn` throws an `errorClass`, or returns a promise that rejects with one. */
async function assertThrowsOrRejects(
  fn: () => unknown,
  errorClass: new (...args: never[]) => Error,
  what: string,
): Promise<void> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    assert.ok(e instanceof errorClass, `${what}: threw ${e}, expected a ${errorClass.name}`);
    return;
  }
  assert.ok(result instanceof Promise, `${what}: expected a ${errorClass.name}, nothing thrown`);
  await assert.rejects(result, errorClass, what);
}

const small = (max: number) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
/** Whether the subject being checked is the WebGPU backend (each call a round trip to it). */
let onGpu = false;
/** `n` runs of a property, a fifth as many on WebGPU: its round trips cost milliseconds each. */
const runs = (n: number) => ({ numRuns: onGpu ? Math.max(5, Math.ceil(n / 5)) : n });

/** Runs `check` as one step per subject (a fresh backend from `make` at every call). */
async function eachSubject(
  t: Deno.TestContext,
  check: (make: () => Backend) => Promise<void>,
  subjects: Subject[] = SUBJECTS,
): Promise<void> {
  for (const { label, make } of subjects) {
    await t.step(label, async () => {
      onGpu = label.startsWith("WebGPU");
      try {
        await check(make);
      } finally {
        onGpu = false;
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix products.

type Form = "matmulNN" | "matmulNT" | "matmulTN";

/** Runs one matmul form on both sides and compares C (which starts non-zero: it accumulates). */
async function checkMatmul(be: Backend, form: Form, m: number, k: number, n: number, s: number) {
  const rnd = random(s);
  const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
  const cr = load(ref, c);
  ref[form](cr, load(ref, a), load(ref, b), m, k, n);
  const cw = load(be, c);
  be[form](cw, load(be, a), load(be, b), m, k, n);
  // float32 accumulation over k terms of size ≤ 1.
  const what = `${form} ${m}x${k}x${n}`;
  assertClose(await be.read(cw), await ref.read(cr), 2e-6 * k + 1e-6, 1e-5, what);
}

// Shapes past the blocking of assembly/matmul.ts: k > 256 (two k blocks), m > 128 (two row
// blocks), n > 2048 (two column blocks), and edge tiles in every direction.
const BIG_SHAPES: [number, number, number][] = [
  [130, 259, 70],
  [67, 300, 9],
  [5, 3, 2051],
  [129, 1, 17],
];

function matmulParity(form: Form): ParityTest {
  return parity("the reference on random shapes", (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(40), small(70), small(40), seed, async (m, k, n, s) => {
          await checkMatmul(make(), form, m, k, n, s);
        }),
        runs(40),
      );
      const be = make();
      for (const [m, k, n] of BIG_SHAPES) await checkMatmul(be, form, m, k, n, m + k + n);
    }));
}

/** A weight `b[k,n]` packed in 8 bits by `be`. */
function packedInt8(be: Backend, b: ArrayLike<number>, k: number, n: number): PackedBuf {
  const buf = be.allocPacked(k, n);
  be.packInt8(buf, load(be, b), k, n);
  return buf;
}

/**
 * packInt8 and matmulInt8 against the reference's (the same integers and scales, float32 steps):
 * the WebAssembly kernels to float32's last bits of the final sum, WebGPU (whose division may be
 * off by an ulp or two, moving an integer by one) to one step of a row times one of a column.
 */
async function checkInt8(be: Backend, m: number, k: number, n: number, s: number) {
  const rnd = random(s);
  const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
  const cr = load(ref, c);
  ref.matmulInt8(cr, load(ref, a), packedInt8(ref, b, k, n), m, k, n);
  const cw = load(be, c);
  be.matmulInt8(cw, load(be, a), packedInt8(be, b, k, n), m, k, n);
  const what = `matmulInt8 ${m}x${k}x${n}`;
  if (onGpu) assertClose(await be.read(cw), await ref.read(cr), 4 / 127, 1e-3, what);
  else assertClose(await be.read(cw), await ref.read(cr), 1e-6, 1e-6, what);
}

const int8Parity = parity(
  "the reference on random shapes, sizes of 1 and not multiples of 16 included",
  (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(9), small(70), small(80), seed, async (m, k, n, s) => {
          await checkInt8(make(), m, k, n, s);
        }),
        runs(40),
      );
      const be = make();
      for (const [m, k, n] of [[1, 1, 1], [1, 256, 1027], [3, 300, 5], [2, 16, 4], [1, 17, 7]]) {
        await checkInt8(be, m, k, n, m * k + n);
      }
    }),
);

/** A weight `b[k,n]` packed by `be`. */
function packed(be: Backend, b: ArrayLike<number>, k: number, n: number): PackedBuf {
  const buf = be.allocPacked(k, n);
  be.packWeights(buf, load(be, b), k, n);
  return buf;
}

/** matmulPacked on a weight packed by packWeights, against matmulNN of the reference. */
async function checkPacked(be: Backend, m: number, k: number, n: number, s: number) {
  const rnd = random(s);
  const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
  const cr = load(ref, c);
  ref.matmulNN(cr, load(ref, a), load(ref, b), m, k, n);
  const cw = load(be, c);
  be.matmulPacked(cw, load(be, a), packed(be, b, k, n), m, k, n);
  const what = `matmulPacked ${m}x${k}x${n}`;
  assertClose(await be.read(cw), await ref.read(cr), 2e-6 * k + 1e-6, 1e-5, what);
}

const packedParity = parity(
  "the reference on random shapes",
  (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(9), small(70), small(80), seed, async (m, k, n, s) => {
          await checkPacked(make(), m, k, n, s);
        }),
        runs(40),
      );
      const be = make();
      for (const [m, k, n] of [...BIG_SHAPES, [1, 300, 1027], [3, 513, 33]] as const) {
        await checkPacked(be, m, k, n, m + k + n);
      }
    }),
);

// ---------------------------------------------------------------------------------------------
// Elementwise kernels.

const biasParity = parity("the reference on random shapes", (t) =>
  eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(small(20), small(70), seed, async (m, n, s) => {
        const be = make(), rnd = random(s);
        const y = fill(m * n, rnd), bias = fill(n, rnd), db = fill(n, rnd);
        const yr = load(ref, y), yw = load(be, y);
        ref.biasForward(yr, load(ref, bias), m, n);
        be.biasForward(yw, load(be, bias), m, n);
        assertClose(await be.read(yw), await ref.read(yr), 1e-7, 1e-6, "biasForward");
        const dr = load(ref, db), dw = load(be, db);
        ref.biasBackward(dr, load(ref, y), m, n);
        be.biasBackward(dw, load(be, y), m, n);
        assertClose(await be.read(dw), await ref.read(dr), 1e-6 * m, 1e-6, "biasBackward");
      }),
      runs(40),
    );
  }));

const dropoutParity = parity(
  "the reference on random sizes",
  (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(300), seed, async (n, s) => {
          const be = make(), rnd = random(s);
          const x = fill(n, rnd), dy = fill(n, rnd), dx = fill(n, rnd);
          // Masks as dropout draws them: 0, or 1/(1-p) with p = 0.3.
          const mask = Float32Array.from(fill(n, rnd), (u) => (u < -0.4 ? 0 : 1 / 0.7));
          const yr = ref.alloc(n), yw = be.alloc(n);
          ref.dropoutForward(yr, load(ref, x), load(ref, mask), n);
          be.dropoutForward(yw, load(be, x), load(be, mask), n);
          assertClose(await be.read(yw), await ref.read(yr), 1e-7, 1e-6, "dropoutForward");
          const dr = load(ref, dx), dw = load(be, dx);
          ref.dropoutBackward(dr, load(ref, mask), load(ref, dy), n);
          be.dropoutBackward(dw, load(be, mask), load(be, dy), n);
          assertClose(await be.read(dw), await ref.read(dr), 1e-7, 1e-6, "dropoutBackward");
        }),
        runs(40),
      );
    }),
);

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

function activationParity(act: "tanh" | "sigmoid" | "relu"): ParityTest {
  const fwd = `${act}Forward` as const, bwd = `${act}Backward` as const;
  return parity("the reference, in place too", (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(70), seed, fc.boolean(), async (n, s, inPlace) => {
          const be = make(), rnd = random(s);
          const x = activationInputs(n, rnd), dy = fill(n, rnd), dx = fill(n, rnd);
          const xr = load(ref, x), yr = ref.alloc(n);
          ref[fwd](yr, xr, n);
          const xw = load(be, x), yw = inPlace ? xw : be.alloc(n);
          be[fwd](yw, xw, n);
          // Cephes tanhf and the expf-based sigmoid: about 1e-7 absolute; the bound leaves room.
          const y = await be.read(yw);
          assertClose(y, await ref.read(yr), 1e-6, 0, fwd);
          // Backward from the same (float32) saved output on both sides.
          const dxr = load(ref, dx), dxw = load(be, dx);
          ref[bwd](dxr, load(ref, y), load(ref, dy), n);
          be[bwd](dxw, load(be, y), load(be, dy), n);
          assertClose(await be.read(dxw), await ref.read(dxr), 1e-6, 1e-6, bwd);
        }),
        runs(40),
      );
    }));
}

// ---------------------------------------------------------------------------------------------
// Gather, argmax, softmax with cross-entropy.

/** `n` row indices below `v`. */
function indices(n: number, v: number, rnd: () => number): number[] {
  return Array.from({ length: n }, () => Math.floor(((rnd() + 1) / 2) * v) % v);
}

const gatherParity = parity("the reference", (t) =>
  eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(small(20), small(40), small(10), seed, async (n, h, v, s) => {
        const be = make(), rnd = random(s);
        const idx = indices(n, v, rnd);
        const w = fill(v * h, rnd), out = fill(n * h, rnd), dout = fill(n * h, rnd);
        const ir = loadIndices(ref, idx), iw = loadIndices(be, idx);
        const or = load(ref, out), ow = load(be, out);
        ref.gatherRowsForward(or, ir, load(ref, w), n, h);
        be.gatherRowsForward(ow, iw, load(be, w), n, h);
        assertClose(await be.read(ow), await ref.read(or), 1e-7, 1e-6, "gatherRowsForward");
        const dwr = load(ref, w), dww = load(be, w);
        ref.gatherRowsBackward(dwr, ir, load(ref, dout), n, h);
        be.gatherRowsBackward(dww, iw, load(be, dout), n, h);
        assertClose(await be.read(dww), await ref.read(dwr), 1e-6, 1e-6, "gatherRowsBackward");
      }),
      runs(40),
    );
  }));

const argmaxParity = parity(
  "the scan's first largest value, ties, NaN and signed zeros included",
  async (t) => {
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
    await eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(
          small(5),
          fc.integer({ min: 0, max: 41 }),
          fc.array(value, { minLength: 205 }),
          async (m, n, pool) => {
            const be = make();
            const x = pool.slice(0, m * n).map(Math.fround);
            const out = loadIndices(be, new Array<number>(m + 1).fill(-7));
            be.argmaxRows(out, load(be, x), m, n);
            const got = await be.readIndices(out);
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
        runs(200),
      );
    }, EVERY);
  },
);

const softmaxParity = parity(
  "the reference, aliased too, and add the loss to stats",
  (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(small(12), small(70), seed, fc.boolean(), async (m, v, s, alias) => {
          const be = make(), rnd = random(s);
          // Logits of both signs with an occasional large one, to exercise the max shift.
          const z = Array.from(
            { length: m * v },
            (_, i) => (i % 11 === 3 ? rnd(-80, 80) : rnd(-6, 6)),
          );
          const tg = indices(m, v, rnd);
          const scale = Math.fround(1 / m);
          const tr = loadIndices(ref, tg), tw = loadIndices(be, tg);
          const zr = load(ref, z), pr = ref.alloc(m * v), sr = loadStats(ref);
          ref.softmaxXentForward(pr, zr, tr, m, v, sr);
          const lossRef = (await ref.readScalars(sr))[STAT.loss];
          const zw = load(be, z), pw = alias ? zw : be.alloc(m * v), sw = loadStats(be);
          be.softmaxXentForward(pw, zw, tw, m, v, sw);
          const once = await readStats(be, sw);
          assertClose([once[STAT.loss]], [lossRef], 1e-5 * m, 1e-6, "loss");
          assertSameBits(once, [once[STAT.loss], 0, 0, 0], "only the loss slot is written");
          const p = await be.read(pw);
          assertClose(p, await ref.read(pr), 1e-7, 1e-5, "probs");

          // The loss adds to what the slot holds, and the other slots stay as they were.
          const start = [rnd(1, 100), rnd(0, 5), 0, 17].map(precision(be).stat);
          const acc = loadStats(be, start);
          for (let call = 0; call < 2; call++) {
            be.softmaxXentForward(be.alloc(m * v), load(be, z), tw, m, v, acc);
          }
          const l = once[STAT.loss], add = (a: number, b: number) => precision(be).stat(a + b);
          assertSameBits(
            await readStats(be, acc),
            [add(add(start[0], l), l), ...start.slice(1)],
            "sum",
          );

          // Backward from the same float32 probabilities on both sides.
          const dr = ref.alloc(m * v);
          ref.softmaxXentBackward(dr, load(ref, p), tr, m, v, scale);
          const pw2 = load(be, p), dw = alias ? pw2 : be.alloc(m * v);
          be.softmaxXentBackward(dw, pw2, tw, m, v, scale);
          assertClose(await be.read(dw), await ref.read(dr), 1e-8, 1e-6, "dlogits");
        }),
        runs(40),
      );
    }, EVERY),
);

// ---------------------------------------------------------------------------------------------
// The recurrent cells.

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

async function checkRnnForward(
  be: Backend,
  t: number,
  b: number,
  h: number,
  act: Activation,
  s: number,
) {
  const { states, zin, whh } = rnnInputs(t, b, h, s);
  const sr = load(ref, states), sw = load(be, states);
  ref.rnnForward(sr, load(ref, zin), load(ref, whh), t, b, h, act);
  be.rnnForward(sw, load(be, zin), load(be, whh), t, b, h, act);
  const what = `rnnForward t${t} b${b} h${h} ${act}`;
  assertClose(await be.read(sw), await ref.read(sr), 1e-5 * t + 2e-6 * h, 1e-5, what);
}

async function checkRnnBackward(
  be: Backend,
  t: number,
  b: number,
  h: number,
  act: Activation,
  s: number,
) {
  const { states, zin, whh, rnd } = rnnInputs(t, b, h, s);
  // The forward pass in float64, rounded to float32: both sides start from the same states.
  const fwd = load(ref, states);
  ref.rnnForward(fwd, load(ref, zin), load(ref, whh), t, b, h, act);
  const saved = Array.from(await ref.read(fwd), Math.fround);
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
  const what = `rnnBackward t${t} b${b} h${h} ${act}`;
  const tol = 1e-5 * t + 2e-6 * h;
  assertClose(await be.read(w.dzin), await ref.read(r.dzin), tol, 1e-5, `${what} dzin`);
  assertClose(await be.read(w.dstates), await ref.read(r.dstates), tol, 1e-5, `${what} dstates`);
  assertClose(await be.read(w.dwhh), await ref.read(r.dwhh), tol * b, 1e-5, `${what} dwhh`);
}

// h = 260 crosses the k blocking; h = 725 is too large to pack W_hh once and takes the
// per-step path.
const RNN_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 725]];
const ACTIVATIONS = ["tanh", "relu"] as const satisfies readonly Activation[];

function rnnParity(check: typeof checkRnnForward): ParityTest {
  return parity("the reference for tanh and relu", (t) =>
    eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(
          small(4),
          small(6),
          small(40),
          fc.constantFrom(...ACTIVATIONS),
          seed,
          async (tt, b, h, act, s) => {
            await check(make(), tt, b, h, act, s);
          },
        ),
        runs(40),
      );
      const be = make();
      for (const [tt, b, h] of RNN_BIG) {
        for (const act of ACTIVATIONS) await check(be, tt, b, h, act, h);
      }
    }));
}

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

const VARIANTS = ["book", "pytorch"] as const satisfies readonly GruVariant[];

async function checkGru(be: Backend, t: number, b: number, h: number, v: GruVariant, s: number) {
  const g = 3 * h, block = b * h;
  const { states, zin, whh, bhn, rnd } = cellInputs(t, b, h, g, s);
  const what = `t${t} b${b} h${h} ${v}`;
  const tol = cellTol(t, h);
  // b_hn (and its gradient) exist for PyTorch's variant only.
  const withBhn = (x: Backend, data: number[]) => v === "pytorch" ? load(x, data) : undefined;

  const r = { states: load(ref, states), gates: ref.alloc(t * b * g), hn: ref.alloc(t * block) };
  const w = { states: load(be, states), gates: be.alloc(t * b * g), hn: be.alloc(t * block) };
  ref.gruForward(
    r.states,
    r.gates,
    r.hn,
    load(ref, zin),
    load(ref, whh),
    withBhn(ref, bhn),
    t,
    b,
    h,
    v,
  );
  be.gruForward(
    w.states,
    w.gates,
    w.hn,
    load(be, zin),
    load(be, whh),
    withBhn(be, bhn),
    t,
    b,
    h,
    v,
  );
  for (const k of ["states", "gates", "hn"] as const) {
    assertClose(await be.read(w[k]), await ref.read(r[k]), tol, 1e-5, `gruForward ${what} ${k}`);
  }

  // Backward from the same float32 saved values on both sides.
  const saved = async (x: FloatBuf) => Array.from(await ref.read(x), Math.fround);
  const st = await saved(r.states), gt = await saved(r.gates), hn = await saved(r.hn);
  const dstates = fill((t + 1) * block, rnd), dwhh = fill(h * g, rnd), dbhn = fill(h, rnd);
  const run = (x: Backend) => {
    const d = { dzin: x.alloc(t * b * g), dwhh: load(x, dwhh), dbhn: withBhn(x, dbhn) };
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
      v,
    );
    return { ...d, dstates: ds };
  };
  const rb = run(ref), wb = run(be);
  const close = async (k: "dzin" | "dstates" | "dwhh", atol: number) =>
    assertClose(
      await be.read(wb[k]),
      await ref.read(rb[k]),
      atol,
      1e-5,
      `gruBackward ${what} ${k}`,
    );
  await close("dzin", tol);
  await close("dstates", tol);
  await close("dwhh", tol * b);
  if (wb.dbhn && rb.dbhn) {
    const got = await be.read(wb.dbhn), want = await ref.read(rb.dbhn);
    assertClose(got, want, tol * b, 1e-5, `gruBackward ${what} dbhn`);
  }
}

async function checkLstm(be: Backend, t: number, b: number, h: number, s: number) {
  const g = 4 * h, block = b * h;
  const { states, cells, zin, whh, rnd } = cellInputs(t, b, h, g, s);
  const what = `t${t} b${b} h${h}`;
  const tol = cellTol(t, h);

  const r = { states: load(ref, states), cells: load(ref, cells), gates: ref.alloc(t * b * g) };
  const w = { states: load(be, states), cells: load(be, cells), gates: be.alloc(t * b * g) };
  ref.lstmForward(r.states, r.cells, r.gates, load(ref, zin), load(ref, whh), t, b, h);
  be.lstmForward(w.states, w.cells, w.gates, load(be, zin), load(be, whh), t, b, h);
  for (const k of ["states", "cells", "gates"] as const) {
    assertClose(await be.read(w[k]), await ref.read(r[k]), tol, 1e-5, `lstmForward ${what} ${k}`);
  }

  const saved = async (x: FloatBuf) => Array.from(await ref.read(x), Math.fround);
  const st = await saved(r.states), ct = await saved(r.cells), gt = await saved(r.gates);
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
    const got = await be.read(wb[k]), want = await ref.read(rb[k]);
    assertClose(got, want, tol, 1e-5, `lstmBackward ${what} ${k}`);
  }
  const got = await be.read(wb.dwhh), want = await ref.read(rb.dwhh);
  assertClose(got, want, tol * b, 1e-5, `lstmBackward ${what} dwhh`);
}

// h = 70 crosses the 8-column panels with a ragged edge, h = 260 the k blocking (k = 3h, 4h in
// backward) and the 128-row blocks of the TN product; h = 420 (GRU) and 370 (LSTM) are too large
// to pack whh once and take the per-call packing path.
const GRU_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 420]];
const LSTM_BIG: [number, number, number][] = [[3, 5, 70], [2, 3, 260], [2, 1, 370]];

const gruParity = parity("the reference (both variants)", (t) =>
  eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(
        small(4),
        small(6),
        small(40),
        fc.constantFrom(...VARIANTS),
        seed,
        async (tt, b, h, v, s) => await checkGru(make(), tt, b, h, v, s),
      ),
      runs(40),
    );
    const be = make();
    for (const [tt, b, h] of GRU_BIG) {
      for (const v of VARIANTS) await checkGru(be, tt, b, h, v, h + (v === "pytorch" ? 1 : 0));
    }
  }));

const lstmParity = parity("the reference", (t) =>
  eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(small(4), small(6), small(40), seed, async (tt, b, h, s) => {
        await checkLstm(make(), tt, b, h, s);
      }),
      runs(40),
    );
    const be = make();
    for (const [tt, b, h] of LSTM_BIG) await checkLstm(be, tt, b, h, h);
  }));

// ---------------------------------------------------------------------------------------------
// Clipping and the updates, with the statistics buffer.

/** Gradients for clipping: values up to 10 in magnitude, with both zeros among them. */
function gradInputs(n: number, rnd: (lo?: number, hi?: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => (i % 13 === 5 ? -0 : i % 13 === 6 ? 0 : rnd(-10, 10)));
}

/** The Euclidean norm, accumulated in float64. */
function norm64(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/**
 * A float32 result of scaling by a factor rounded to float32 once: two roundings of 2^-24 each,
 * plus the float64 norm's own error.
 */
const SCALED_RTOL = 2 ** -23 + 1e-12;
/**
 * The norm's relative tolerance: products of float32 values are exact in float64, so only the
 * summation order differs; 1e-12 on the sum of squares (sumSquares' old bound) is 5e-13 on its
 * square root.
 */
const NORM_RTOL = 5e-13;

/**
 * How precisely a backend keeps its statistics: in float64, or in float32 where the device has no
 * float64 (WebGPU), whose norms and sums are then good to float32's precision over these sizes
 * (at most 200 squares in a tree of sums).
 */
function precision(be: Backend) {
  const f32 = be.name === "webgpu";
  return {
    stat: f32 ? Math.fround : (x: number) => x,
    norm: f32 ? 2e-6 : NORM_RTOL,
    scaled: f32 ? 2e-6 : SCALED_RTOL,
    clipped: f32 ? 1e-6 : 1e-7,
  };
}

const clipParity = parity(
  "the reference and a float64 norm, clips to theta, and stops at divergence",
  async (t) => {
    await eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 200 }), seed, async (n, s) => {
          const be = make(), rnd = random(s), P = precision(be);
          const x = gradInputs(n, rnd), want = norm64(x);
          // theta 0: the norm only, never a change.
          const g0 = load(be, x), s0 = loadStats(be);
          be.clipGradNorm(g0, n, 0, s0);
          const norm = (await readStats(be, s0))[STAT.norm];
          assertClose([norm], [want], 0, P.norm, "norm vs float64");
          const gr = load(ref, x), sr = loadStats(ref);
          ref.clipGradNorm(gr, n, 0, sr);
          const normRef = (await readStats(ref, sr))[STAT.norm];
          assertClose([norm], [normRef], 0, P.norm, "norm vs reference");
          assertSameBits(await be.read(g0), x, "theta 0");
          assertSameBits(await readStats(be, s0), [0, norm, 0, 0], "stats after theta 0");
          // At the norm (as this backend computed it), above it, and theta < 0: no change.
          for (const theta of [norm, norm * 1.5 + 1, -1 - norm]) {
            const g = load(be, x), st = loadStats(be);
            be.clipGradNorm(g, n, theta, st);
            assertSameBits(await be.read(g), x, `theta ${theta}, norm ${norm}`);
            assertSameBits(await readStats(be, st), [0, norm, 0, 0], `stats, theta ${theta}`);
          }
          if (!(want > 0)) return;

          // theta = k·‖x‖ with k in float32: the factor theta/norm rounds to k exactly, so the
          // result is the old scale(x, k) and keeps its bound against the reference.
          const k = Math.fround(0.005 + 0.99 * (rnd() + 1) / 2), theta1 = k * want;
          const g1 = load(be, x), s1 = loadStats(be), r1 = load(ref, x);
          be.clipGradNorm(g1, n, theta1, s1);
          ref.clipGradNorm(r1, n, theta1, loadStats(ref));
          assertClose(await be.read(g1), await ref.read(r1), 0, P.clipped, "clipped vs reference");
          assertClose(await readStats(be, s1), [0, want, 0, 0], 0, P.norm, "stats, clipped");

          // Any theta below the norm: the result has norm theta and the direction of x.
          const theta2 = want * (0.01 + 0.98 * (rnd() + 1) / 2);
          const g2 = load(be, x);
          be.clipGradNorm(g2, n, theta2, loadStats(be));
          const out = await be.read(g2);
          assertClose([norm64(out)], [theta2], 0, P.scaled, "norm after clipping");
          assertClose(out, x.map((v) => v * (theta2 / want)), 0, P.scaled, "direction");
          for (let i = 0; i < n; i++) {
            assert.ok(Object.is(Math.sign(out[i]), Math.sign(x[i])), `sign of element ${i}`);
          }
        }),
        runs(40),
      );

      // A NaN or infinite gradient: diverged, gradients untouched; later calls change nothing.
      await fc.assert(
        fc.asyncProperty(
          small(200),
          seed,
          fc.constantFrom(NaN, Infinity, -Infinity),
          fc.nat(),
          async (n, s, bad, at) => {
            const be = make(), rnd = random(s);
            const x = gradInputs(n, rnd);
            x[at % n] = bad;
            const start = [rnd(0, 50), 0.25, 0, 7];
            const g = load(be, x), st = loadStats(be, start);
            be.clipGradNorm(g, n, 1e-3, st);
            assertSameBits(await be.read(g), x, "gradients after a non-finite one");
            const first = precision(be).stat(start[0]);
            const diverged = [first, Number.isNaN(bad) ? NaN : Infinity, 1, 7];
            assertSameBits(await readStats(be, st), diverged, "stats after a non-finite gradient");
            const y = gradInputs(n, rnd), gy = load(be, y);
            be.clipGradNorm(gy, n, 1e-3, st);
            assertSameBits(await be.read(gy), y, "gradients once diverged");
            assertSameBits(await readStats(be, st), diverged, "stats once diverged");
          },
        ),
        runs(40),
      );

      // A non-finite loss: diverged with the gradients' norm recorded, gradients untouched.
      await fc.assert(
        fc.asyncProperty(
          small(200),
          seed,
          fc.constantFrom(NaN, Infinity, -Infinity),
          async (n, s, loss) => {
            const be = make(), rnd = random(s);
            const x = gradInputs(n, rnd);
            const g = load(be, x), st = loadStats(be, [loss, 0.25, 0, 3]);
            be.clipGradNorm(g, n, 1e-3, st);
            assertSameBits(await be.read(g), x, "gradients after a non-finite loss");
            const stats = await readStats(be, st);
            const rtol = precision(be).norm;
            assertClose([stats[STAT.norm]], [norm64(x)], 0, rtol, "norm of a diverged step");
            assertSameBits(stats, [loss, stats[STAT.norm], 1, 3], "stats after a non-finite loss");
            const y = gradInputs(n, rnd), gy = load(be, y);
            be.clipGradNorm(gy, n, 1e-3, st);
            assertSameBits(await be.read(gy), y, "gradients once diverged");
            assertSameBits(await readStats(be, st), stats, "stats once diverged");
          },
        ),
        runs(40),
      );
    }, EVERY);
  },
);

const sgdParity = parity(
  "the reference, counts updates, and changes nothing once diverged",
  async (t) => {
    await eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 200 }), seed, async (n, s) => {
          const be = make(), rnd = random(s);
          const x = fill(n, () => rnd(-10, 10)), g = fill(n, rnd);
          const lr = Math.fround(Math.abs(rnd()) / 10);
          const pr = load(ref, x), pw = load(be, x);
          ref.sgdUpdate(pr, load(ref, g), n, lr);
          be.sgdUpdate(pw, load(be, g), n, lr);
          assertClose(await be.read(pw), await ref.read(pr), 1e-6, 1e-6, "sgdUpdate");

          // With statistics: the same update, counted; once diverged, nothing at all.
          const start = [rnd(0, 50), rnd(0, 5), 0, 41];
          const plain = load(be, x), counted = load(be, x), st = loadStats(be, start);
          const gw = load(be, g);
          for (let step = 1; step <= 2; step++) {
            be.sgdUpdate(plain, gw, n, lr);
            be.sgdUpdate(counted, gw, n, lr, st);
            assertSameBits(await be.read(counted), await be.read(plain), `counted, step ${step}`);
            assertSameBits(await readStats(be, st), [start[0], start[1], 0, 41 + step], "count");
          }
          const frozen = load(be, x), sd = loadStats(be, [start[0], start[1], 1, 41]);
          be.sgdUpdate(frozen, gw, n, lr, sd);
          assertSameBits(await be.read(frozen), x, "params once diverged");
          assertSameBits(await readStats(be, sd), [start[0], start[1], 1, 41], "stats diverged");
        }),
        runs(40),
      );
    }, EVERY);
  },
);

const adamParity = parity(
  "the reference over consecutive steps, counts updates, and changes nothing once diverged",
  async (t) => {
    const simd = createWasmBackend(), twin = createNaiveWasmBackend();
    await eachSubject(t, async (make) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 200 }),
          seed,
          fc.integer({ min: 1, max: 1000 }),
          fc.boolean(),
          async (n, s, first, defaults) => {
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
            // The same steps with a statistics buffer (counted), and with a diverged one.
            const c = { p: load(be, p), m: load(be, m), v: load(be, v) };
            const d = { p: load(be, p), m: load(be, m), v: load(be, v) };
            const start = [rnd(0, 50), rnd(0, 5), 0, 5];
            const sc = loadStats(be, start), sd = loadStats(be, [start[0], start[1], 1, 5]);
            for (let step = first; step < first + 3; step++) {
              const g = fill(n, rnd), gw = load(be, g);
              ref.adamUpdate(r.p, load(ref, g), r.m, r.v, n, lr, beta1, beta2, eps, step);
              be.adamUpdate(w.p, gw, w.m, w.v, n, lr, beta1, beta2, eps, step);
              be.adamUpdate(c.p, gw, c.m, c.v, n, lr, beta1, beta2, eps, step, sc);
              be.adamUpdate(d.p, gw, d.m, d.v, n, lr, beta1, beta2, eps, step, sd);
              // Both sides go on from the float32 state, so errors do not compound.
              for (const k of ["p", "m", "v"] as const) {
                const got = await be.read(w[k]);
                assertClose(got, await ref.read(r[k]), 1e-6, 1e-5, `adamUpdate ${k} step ${step}`);
                assertSameBits(await be.read(c[k]), got, `${k} with statistics, step ${step}`);
                ref.write(r[k], got);
              }
              const count = 5 + step - first + 1;
              assertSameBits(await readStats(be, sc), [start[0], start[1], 0, count], "count");
            }
            assertSameBits(await be.read(d.p), p, "params once diverged");
            assertSameBits(await be.read(d.m), m, "m once diverged");
            assertSameBits(await be.read(d.v), v, "v once diverged");
            assertSameBits(await readStats(be, sd), [start[0], start[1], 1, 5], "stats diverged");
          },
        ),
        runs(40),
      );
    }, EVERY);
    await t.step("SIMD and scalar twin agree bit for bit", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 200 }), seed, async (n, s) => {
          const rnd = random(s);
          const p = fill(n, rnd), g = fill(n, rnd), m = fill(n, rnd), v = fill(n, () => rnd(0, 1));
          const out = await Promise.all([simd, twin].map(async (be) => {
            const bufs = [p, m, v].map((a) => load(be, a));
            be.adamUpdate(bufs[0], load(be, g), bufs[1], bufs[2], n, 0.01, 0.9, 0.999, 1e-8, 7);
            return await Promise.all(bufs.map(async (b) => Array.from(await be.read(b))));
          }));
          assert.deepEqual(out[0], out[1]);
        }),
        runs(40),
      );
    });
    for (const be of [ref, simd]) {
      const x = be.alloc(4);
      assert.throws(() => be.adamUpdate(x, x, x, x, 4, 0.1, 0.9, 0.999, 1e-8, 0), RangeError);
      assert.throws(() => be.adamUpdate(x, x, x, x, 4, 0.1, 0.9, 0.999, 1e-8, 1.5), RangeError);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// The table: one entry per kernel, registered below.

/** A parity test, run as one `Deno.test`; `holds` says what (after "matches"). */
interface ParityTest {
  (t: Deno.TestContext): Promise<void>;
  /** The rest of the title after the kernels' names and "match(es)". */
  readonly holds: string;
}

function parity(holds: string, fn: (t: Deno.TestContext) => Promise<void>): ParityTest {
  return Object.assign(fn, { holds });
}

/**
 * Every kernel's parity test, or the name of the kernel whose test also covers it (a forward
 * kernel and its backward are checked together where the backward reads the forward's output).
 */
export const PARITY = {
  matmulNN: matmulParity("matmulNN"),
  matmulNT: matmulParity("matmulNT"),
  matmulTN: matmulParity("matmulTN"),
  packWeights: "matmulPacked",
  matmulPacked: packedParity,
  packInt8: "matmulInt8",
  matmulInt8: int8Parity,
  biasForward: biasParity,
  biasBackward: "biasForward",
  tanhForward: activationParity("tanh"),
  tanhBackward: "tanhForward",
  sigmoidForward: activationParity("sigmoid"),
  sigmoidBackward: "sigmoidForward",
  reluForward: activationParity("relu"),
  reluBackward: "reluForward",
  gatherRowsForward: gatherParity,
  gatherRowsBackward: "gatherRowsForward",
  argmaxRows: argmaxParity,
  softmaxXentForward: softmaxParity,
  softmaxXentBackward: "softmaxXentForward",
  rnnForward: rnnParity(checkRnnForward),
  rnnBackward: rnnParity(checkRnnBackward),
  gruForward: gruParity,
  gruBackward: "gruForward",
  lstmForward: lstmParity,
  lstmBackward: "lstmForward",
  dropoutForward: dropoutParity,
  dropoutBackward: "dropoutForward",
  clipGradNorm: clipParity,
  sgdUpdate: sgdParity,
  adamUpdate: adamParity,
} satisfies Record<KernelName, ParityTest | KernelName>;

/** `a()`, `a() and b()`, `a(), b() and c()`. */
function calls(names: readonly string[]): string {
  const c = names.map((n) => `${n}()`);
  return c.length === 1 ? c[0] : `${c.slice(0, -1).join(", ")} and ${c[c.length - 1]}`;
}

for (const name of KERNEL_NAMES) {
  const entry: ParityTest | KernelName = PARITY[name];
  if (typeof entry === "string") {
    // A name must lead to a test, not to another name (or to itself).
    if (typeof PARITY[entry] !== "function") {
      throw new TypeError(`PARITY.${name} names ${entry}, which has no test of its own`);
    }
    continue;
  }
  // Named in table order, so a forward kernel comes before its backward.
  const covered = KERNEL_NAMES.filter((k) => k === name || PARITY[k] === name);
  Deno.test(`${calls(covered)} ${covered.length > 1 ? "match" : "matches"} ${entry.holds}`, entry);
}

// ---------------------------------------------------------------------------------------------
// Properties that span kernels.

Deno.test("matmulInt8() gives the same bits on the SIMD, relaxed-SIMD and scalar kernels (integer sums)", async () => {
  const builds = [
    createWasmBackend({ relaxedSimd: false }),
    ...(hasRelaxedSimd() ? [createWasmBackend({ relaxedSimd: true })] : []),
    createNaiveWasmBackend(),
  ];
  await fc.assert(
    fc.asyncProperty(small(5), small(300), small(70), seed, async (m, k, n, s) => {
      const rnd = random(s);
      const a = fill(m * k, rnd), b = fill(k * n, rnd), c = fill(m * n, rnd);
      const out = await Promise.all(builds.map(async (be) => {
        const cw = load(be, c);
        be.matmulInt8(cw, load(be, a), packedInt8(be, b, k, n), m, k, n);
        return Array.from(await be.read(cw));
      }));
      for (const o of out.slice(1)) assert.deepEqual(o, out[0]);
    }),
    runs(30),
  );
});

Deno.test("matmulInt8() stays within the 8-bit rounding of the float product", async () => {
  const be = createWasmBackend();
  await fc.assert(
    fc.asyncProperty(small(4), small(200), small(40), seed, async (m, k, n, s) => {
      const rnd = random(s);
      const a = fill(m * k, rnd), b = fill(k * n, rnd);
      const exact = load(be, new Array(m * n).fill(0)), int8 = load(be, new Array(m * n).fill(0));
      be.matmulNN(exact, load(be, a), load(be, b), m, k, n);
      be.matmulInt8(int8, load(be, a), packedInt8(be, b, k, n), m, k, n);
      const [e, q] = [await be.read(exact), await be.read(int8)];
      for (let r = 0; r < m; r++) {
        // The row in 7 bits (steps of max / 63), the column in 8 (max / 127).
        const sa = Math.max(...a.slice(r * k, (r + 1) * k).map(Math.abs)) / 63;
        for (let j = 0; j < n; j++) {
          const sb = Math.max(...Array.from({ length: k }, (_, p) => Math.abs(b[p * n + j]))) / 127;
          // Each term errs by at most half a step of each factor (times the other's magnitude).
          let bound = 1e-5;
          for (let p = 0; p < k; p++) {
            bound += (sa / 2) * Math.abs(b[p * n + j]) + (sb / 2) * Math.abs(a[r * k + p]) +
              sa * sb / 4;
          }
          const at = r * n + j;
          assert.ok(Math.abs(q[at] - e[at]) <= bound, `${at}: ${q[at]} vs ${e[at]} (${bound})`);
        }
      }
    }),
    runs(30),
  );
});

Deno.test("packInt8() of an 8-bit model's weights gives back its checkpoint's integers and scales", async () => {
  // Read back through matmulInt8 with one-hot rows: row p of the identity quantises to 63 at p
  // (scale 1/63), so c[p,j] = f32(63 · q[p,j]) · (f32(1/63) · s_j), exactly.
  for (const be of [createWasmBackend(), createNaiveWasmBackend(), ref]) {
    await fc.assert(
      fc.asyncProperty(small(40), small(30), seed, async (k, n, s) => {
        const rnd = random(s);
        const m = quantizeInt8(Float32Array.from(fill(k * n, rnd)), k, n, "columns");
        // The weights an 8-bit checkpoint loads: q · s.
        const values = Array.from(m.q, (q, i) => Math.fround(q * m.scale[i % n]));
        const eye = Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0));
        const c = load(be, new Array(k * n).fill(0));
        be.matmulInt8(c, load(be, eye), packedInt8(be, values, k, n), k, k, n);
        const got = await be.read(c);
        const inv = Math.fround(1 / 63);
        const want = Array.from(m.q, (q, i) => 63 * q * Math.fround(inv * m.scale[i % n]));
        // The reference keeps float64 sums; the WebAssembly kernels round them to float32.
        assert.deepEqual(Array.from(got), be === ref ? want : want.map(Math.fround));
      }),
      runs(60),
    );
  }
});

Deno.test("matmulPacked() gives each row the same bits whatever the number of rows", async (t) => {
  // Generation relies on it: a prefix continued alone or in a batch of 8 gets the same text.
  await eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(small(300), small(80), seed, async (k, n, s) => {
        const be = make(), rnd = random(s), m = 6;
        const a = fill(m * k, rnd), b = fill(k * n, rnd);
        const p = packed(be, b, k, n);
        const all = be.alloc(m * n);
        be.matmulPacked(all, load(be, a), p, m, k, n);
        const unpacked = be.alloc(m * n);
        be.matmulNN(unpacked, load(be, a), load(be, b), m, k, n);
        const allRows = await be.read(all);
        assert.deepEqual(allRows, await be.read(unpacked), "packed vs matmulNN");
        for (const rows of [1, 2, 3]) {
          const part = be.alloc(rows * n);
          be.matmulPacked(part, load(be, a.slice(0, rows * k)), p, rows, k, n);
          assert.deepEqual(await be.read(part), allRows.subarray(0, rows * n), `${rows} rows`);
        }
      }),
      runs(40),
    );
  });
});

Deno.test("tanhForward() is within 1e-6 of Math.tanh over a dense grid", async () => {
  const be = createWasmBackend();
  const xs = Array.from({ length: 40001 }, (_, i) => Math.fround(-20 + i * 0.001));
  const x = load(be, xs), y = be.alloc(xs.length);
  be.tanhForward(y, x, xs.length);
  assertClose(await be.read(y), xs.map(Math.tanh), 1e-6, 0, "tanh");
});

Deno.test("sigmoidForward() is within 1e-6 of 1/(1+exp(-x)) over a dense grid", async () => {
  for (const be of [createWasmBackend(), createNaiveWasmBackend()]) {
    const xs = Array.from({ length: 40001 }, (_, i) => Math.fround(-100 + i * 0.005));
    const x = load(be, xs), y = be.alloc(xs.length);
    be.sigmoidForward(y, x, xs.length);
    assertClose(await be.read(y), xs.map((v) => 1 / (1 + Math.exp(-v))), 1e-6, 0, "sigmoid");
  }
});

Deno.test("gatherRowsForward() equals the one-hot product and gatherRowsBackward() its transpose", async () => {
  await fc.assert(
    fc.asyncProperty(small(20), small(40), small(10), seed, async (n, h, v, s) => {
      const be = createWasmBackend(), rnd = random(s);
      const idx = indices(n, v, rnd);
      const onehot = new Array<number>(n * v).fill(0);
      idx.forEach((r, i) => (onehot[i * v + r] = 1));
      const ib = loadIndices(be, idx);
      const w = fill(v * h, rnd), out = fill(n * h, rnd), dout = fill(n * h, rnd);
      // Forward: out += onehot[n,V] · w[V,h]; the zero terms add nothing, so the two agree exactly.
      const o1 = load(be, out), o2 = load(be, out);
      be.gatherRowsForward(o1, ib, load(be, w), n, h);
      be.matmulNN(o2, load(be, onehot), load(be, w), n, v, h);
      assert.deepEqual(await be.read(o1), await be.read(o2));
      // Backward: dw += onehot[n,V]ᵀ · dout[n,h]; repeated rows may add in another order.
      const d1 = load(be, w), d2 = load(be, w);
      be.gatherRowsBackward(d1, ib, load(be, dout), n, h);
      be.matmulTN(d2, load(be, onehot), load(be, dout), v, n, h);
      assertClose(await be.read(d1), await be.read(d2), 1e-6, 1e-6, "scatter-add vs onehotᵀ·dout");
    }),
    runs(40),
  );
});

Deno.test("the cell forward kernels match the reference with a packed recurrent weight", async (t) => {
  // Generation packs W_h once (packWeights) and passes it to every one-step call.
  await eachSubject(t, async (make) => {
    await fc.assert(
      fc.asyncProperty(small(3), small(5), small(40), seed, async (tt, b, h, s) => {
        const be = make(), tol = cellTol(tt, h), what = `t${tt} b${b} h${h}`;
        const rnn = cellInputs(tt, b, h, h, s);
        const sr = load(ref, rnn.states), sw = load(be, rnn.states);
        ref.rnnForward(sr, load(ref, rnn.zin), load(ref, rnn.whh), tt, b, h, "tanh");
        // The unpacked weight is zeros: only the packed one may be read.
        const zeros = be.alloc(h * h);
        be.rnnForward(sw, load(be, rnn.zin), zeros, tt, b, h, "tanh", packed(be, rnn.whh, h, h));
        assertClose(await be.read(sw), await ref.read(sr), tol, 1e-5, `rnnForward ${what}`);

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
          "pytorch",
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
          "pytorch",
          packed(be, gru.whh, h, 3 * h),
        );
        assertClose(await be.read(w.states), await ref.read(r.states), tol, 1e-5, `gru ${what}`);

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
        const got = await be.read(lw.states), want = await ref.read(lr.states);
        assertClose(got, want, tol, 1e-5, `lstmForward ${what}`);
      }),
      runs(40),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Argument checks, buffers and the backend's life cycle.

Deno.test("the gated cells check their sizes, the GRU variant and the activation", () => {
  for (const be of [ref, createWasmBackend()]) {
    const x = be.alloc(64);
    assert.throws(
      () => be.gruForward(x, x, x, x, x, x, 1, 1, 2, "other" as GruVariant),
      RangeError,
    );
    assert.throws(
      () => be.gruBackward(x, x, x, x, x, x, x, x, 1, 1, 2, -1 as unknown as GruVariant),
      RangeError,
    );
    assert.throws(() => be.rnnForward(x, x, x, 1, 1, 2, "sigmoid" as Activation), RangeError);
    assert.throws(
      () => be.rnnBackward(x, x, x, x, x, 1, 1, 2, 0 as unknown as Activation),
      RangeError,
    );
  }
  for (const be of [ref, createWasmBackend()]) {
    const x = be.alloc(64), short = be.alloc(11);
    // gates [t,b,3h] = 12 elements for t = 1, b = 1, h = 4.
    assert.throws(() => be.gruForward(x, short, x, x, x, undefined, 1, 1, 4, "book"), TypeError);
    assert.throws(() => be.lstmBackward(x, x, x, x, x, x, x, x, 1, 1.5, 2), RangeError);
    assert.throws(() => be.lstmForward(x, x, x, x, be.alloc(4 * 4 * 4 - 1), 1, 1, 4), TypeError);
    // The book's variant has no b_hn: it goes without.
    const [states, gates, hn] = [be.alloc(8), be.alloc(12), be.alloc(4)];
    be.gruForward(states, gates, hn, be.alloc(12), be.alloc(48), undefined, 1, 1, 4, "book");
    // PyTorch's needs one of h elements.
    assert.throws(() => be.gruForward(x, x, x, x, x, be.alloc(3), 1, 1, 4, "pytorch"), TypeError);
    assert.throws(() => be.gruForward(x, x, x, x, x, undefined, 1, 1, 4, "pytorch"), TypeError);
    assert.throws(
      () => be.gruBackward(x, x, undefined, x, x, x, x, x, 1, 1, 4, "pytorch"),
      TypeError,
    );
  }
});

Deno.test("the backends check buffers, kinds and sizes, and views share storage", async (t) => {
  await eachSubject(t, async (make) => {
    const be = make(), other = make();
    const a = be.alloc(6), c = be.alloc(4);
    assert.throws(() => be.matmulNN(c, a, be.alloc(5), 2, 3, 2), TypeError);
    assert.throws(() => be.matmulNN(c, other.alloc(6), be.alloc(6), 2, 3, 2), TypeError);
    assert.throws(() => be.tanhForward(a, a, -1), RangeError);
    assert.throws(() => be.tanhForward(a, a, 1.5), RangeError);
    assert.throws(() => be.view(a, 4, 3), TypeError);
    assert.throws(() => be.copy(a, c), TypeError);

    // A buffer of another kind where a float, index, scalar or packed one is expected.
    const idx = be.allocIndices(6), stats = be.allocScalars(STATS_SLOTS);
    const pk = be.allocPacked(3, 2);
    const asFloat = (b: AnyBuf) => b as unknown as FloatBuf;
    assert.throws(() => be.tanhForward(asFloat(idx), a, 6), TypeError);
    assert.throws(() => be.tanhForward(a, asFloat(stats), 4), TypeError);
    assert.throws(() => be.matmulNN(c, a, asFloat(pk), 2, 3, 2), TypeError);
    assert.throws(() => be.argmaxRows(a as unknown as IndexBuf, a, 2, 3), TypeError);
    assert.throws(() => be.gatherRowsForward(a, a as unknown as IndexBuf, a, 1, 1), TypeError);
    assert.throws(() => be.clipGradNorm(a, 6, 1, a as unknown as ScalarBuf), TypeError);
    assert.throws(() => be.sgdUpdate(a, a, 6, 0.1, idx as unknown as ScalarBuf), TypeError);
    assert.throws(() => be.matmulPacked(c, a, a as unknown as PackedBuf, 2, 3, 2), TypeError);
    await assertThrowsOrRejects(() => be.read(asFloat(idx)), TypeError, "read(index)");
    await assertThrowsOrRejects(
      () => be.readIndices(a as unknown as IndexBuf),
      TypeError,
      "readIndices(float)",
    );
    // Foreign or too short: statistics, packed weights.
    assert.throws(() => be.clipGradNorm(a, 6, 1, other.allocScalars(STATS_SLOTS)), TypeError);
    assert.throws(() => be.clipGradNorm(a, 6, 1, be.allocScalars(STATS_SLOTS - 1)), TypeError);
    assert.throws(
      () => be.softmaxXentForward(a, a, idx, 2, 3, be.allocScalars(STATS_SLOTS - 1)),
      TypeError,
    );
    assert.throws(() => be.matmulPacked(c, a, other.allocPacked(3, 2), 2, 3, 2), TypeError);
    assert.throws(() => be.matmulPacked(c, a, be.allocPacked(2, 3), 2, 3, 2), TypeError);

    be.write(a, [1, 2, 3, 4, 5, 6]);
    const v = be.view(a, 2, 3);
    be.fill(v, 9);
    assert.deepEqual(Array.from(await be.read(a)), [1, 2, 9, 9, 9, 6]);
    // An index view: argmax into the middle of a longer index buffer, and read through it.
    const ids = loadIndices(be, [-1, -1, -1, -1, -1]);
    assert.throws(() => be.viewIndices(ids, 3, 3), TypeError);
    assert.throws(() => be.viewIndices(a as unknown as IndexBuf, 0, 1), TypeError);
    const iv = be.viewIndices(ids, 1, 2);
    be.argmaxRows(iv, a, 2, 3);
    assert.deepEqual(Array.from(await be.readIndices(ids)), [-1, 2, 0, -1, -1]);
    assert.deepEqual(Array.from(await be.readIndices(iv)), [2, 0]);
    assert.throws(() => be.free(iv), TypeError);
    // Growing memory must keep earlier buffers readable (the views are rebuilt).
    const big = be.alloc(1 << 22);
    be.fill(big, 1);
    assert.deepEqual(Array.from(await be.read(a)), [1, 2, 9, 9, 9, 6]);
    const st = loadStats(be);
    be.clipGradNorm(big, 1 << 22, 0, st);
    assert.equal((await readStats(be, st))[STAT.norm], 1 << 11);
  }, EVERY);
});

Deno.test("packWeights() rejects a packed buffer of another shape and writes nothing", async (t) => {
  await eachSubject(t, async (make) => {
    const be = make();
    const dst = be.allocPacked(2, 2), next = load(be, new Array<number>(4096).fill(7));
    const b = load(be, new Array<number>(64 * 64).fill(1));
    assert.throws(() => be.packWeights(dst, b, 64, 64), TypeError);
    assertSameBits(await be.read(next), new Array<number>(4096).fill(7), "the next buffer");
  }, EVERY);
});

Deno.test("free() hands a buffer's memory, zeroed, to the next allocation of its size", async (t) => {
  await eachSubject(t, async (make) => {
    const be = make();
    const f = load(be, [1, 2, 3, 4, 5]), i = loadIndices(be, [1, 2, 3]);
    const s = loadStats(be, [1, 2, 3, 4]), p = packed(be, fill(6, () => 1), 2, 3);
    assert.throws(() => be.free(be.view(f, 1, 2)), TypeError, "a view cannot be freed");
    for (const buf of [f, i, s, p]) be.free(buf);
    assert.deepEqual(Array.from(await be.read(be.alloc(5))), [0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(await be.readIndices(be.allocIndices(3))), [0, 0, 0]);
    assert.deepEqual(await readStats(be, be.allocScalars(4)), [0, 0, 0, 0]);
    // The packed weight's memory comes back zeroed too: a product with it adds nothing.
    const c = load(be, [1, 2, 3]);
    be.matmulPacked(c, load(be, [5, 6]), be.allocPacked(2, 3), 1, 2, 3);
    assert.deepEqual(Array.from(await be.read(c)), [1, 2, 3]);
  }, EVERY);

  await t.step("WASM: the same bytes again", async () => {
    // The backend over an instance of our own, whose byte ranges we can see.
    const module = new WebAssembly.Module(kernelBytes("simd") as Uint8Array<ArrayBuffer>);
    const ex = new WebAssembly.Instance(module, {}).exports as Record<string, unknown>;
    const { backend: be, range } = wasmBackendOver(ex, ex.memory as WebAssembly.Memory, "");
    for (
      const [alloc, write] of [
        [() => be.alloc(1000), (b: AnyBuf) => be.fill(b as FloatBuf, 3)],
        [() => be.allocIndices(17), (b: AnyBuf) => be.writeIndices(b as IndexBuf, [9])],
        [() => be.allocScalars(4), (b: AnyBuf) => be.fill(b as ScalarBuf, 5)],
      ] as const
    ) {
      const first = alloc();
      write(first);
      const where = range(first);
      be.free(first);
      const again = alloc();
      assert.deepEqual(range(again), where, `${first.kind} buffer reuses the freed bytes`);
      const zeros = again.kind === "float"
        ? await be.read(again)
        : again.kind === "index"
        ? await be.readIndices(again)
        : await be.readScalars(again as ScalarBuf);
      assert.ok(
        Array.from(zeros).every((x) => Object.is(x, 0)),
        `${again.kind} buffer comes back zeroed`,
      );
      assert.notDeepEqual(range(alloc()), where, "a freed block is handed out once");
    }
  });
});

Deno.test("dispose() makes every later call throw, and a second dispose() is harmless", async (t) => {
  await eachSubject(t, async (make) => {
    const be = make();
    const x = load(be, [1, 2, 3, 4]), i = loadIndices(be, [0]), s = loadStats(be);
    be.dispose();
    assert.throws(() => be.alloc(4), TypeError, "alloc");
    assert.throws(() => be.allocIndices(4), TypeError, "allocIndices");
    assert.throws(() => be.allocScalars(4), TypeError, "allocScalars");
    assert.throws(() => be.tanhForward(x, x, 4), TypeError, "tanhForward");
    assert.throws(() => be.clipGradNorm(x, 4, 1, s), TypeError, "clipGradNorm");
    assert.throws(() => be.write(x, [1]), TypeError, "write");
    assert.throws(() => be.fill(x, 0), TypeError, "fill");
    assert.throws(() => be.view(x, 0, 1), TypeError, "view");
    await assertThrowsOrRejects(() => be.read(x), TypeError, "read");
    await assertThrowsOrRejects(() => be.readIndices(i), TypeError, "readIndices");
    await assertThrowsOrRejects(() => be.readScalars(s), TypeError, "readScalars");
    be.dispose();
  }, EVERY);
});

Deno.test("read() copies into a given array, which it returns, on every backend", async () => {
  for (const be of [createWasmBackend(), ref]) {
    const a = be.alloc(3);
    be.write(a, [1, 2, 3]);
    const into = await be.read(be.alloc(4));
    const got = await be.read(a, into);
    assert.equal(got, into, be.name);
    assert.deepEqual(Array.from(got), [1, 2, 3, 0], be.name);
    be.write(a, [4, 5, 6]);
    assert.deepEqual(Array.from(await be.read(a, into)), [4, 5, 6, 0], be.name);
    // The same for index and scalar buffers.
    const ia = loadIndices(be, [7, 8]), iInto = await be.readIndices(be.allocIndices(3));
    assert.equal(await be.readIndices(ia, iInto), iInto, be.name);
    assert.deepEqual(Array.from(iInto), [7, 8, 0], be.name);
    const sa = loadStats(be, [1.5, 2.5, 0, 1]), sInto = await be.readScalars(be.allocScalars(5));
    assert.equal(await be.readScalars(sa, sInto), sInto, be.name);
    assert.deepEqual(Array.from(sInto), [1.5, 2.5, 0, 1, 0], be.name);
  }
});
