/**
 * Kernel benchmarks at the shapes of the default model (B = 32, T = 35, H = 256, V = 1027,
 * T·B = 1120): every kernel of the kernel table has a group (or shares one, see
 * {@linkcode BENCHES}) with a plain TypeScript loop over `Float32Array`s, or the float64
 * reference backend, as the baseline and the WASM SIMD kernel beside it. Inputs are built once,
 * outside the timed part. Bench names carry the FLOP count where one applies (2·m·k·n for a
 * product); when the run ends a table of GFLOP/s per WASM kernel is printed (best and median
 * iteration).
 *
 * Run with `deno bench -A bench/kernels_bench.ts`.
 */
import type { KernelName } from "../src/backend/kernels.ts";
import { KERNEL_NAMES } from "../src/backend/kernels.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { type Backend, type FloatBuf, STATS_SLOTS } from "../src/backend/types.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";

const B = 32, T = 35, H = 256, V = 1027, TB = T * B;
/** Parameters of the default model (a one-layer RNN): W_xh, W_hh, b_h, W_hq, b_q. */
const PARAMS = V * H + H * H + H + H * V + V;

const be: Backend = createWasmBackend();
const ref: Backend = createReferenceBackend();

function randomArray(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
  return a;
}

/** A buffer of `x` holding `data`. */
function put(x: Backend, data: Float32Array): FloatBuf {
  const buf = x.alloc(data.length);
  x.write(buf, data);
  return buf;
}

/** `n` targets or row indices below `v`, spread over the range. */
const indexArray = (n: number, v: number) =>
  Int32Array.from({ length: n }, (_, i) => (i * 7919) % v);

/** What a bench's setup returns: the timed call, and an untimed reset before each call. */
interface Timed {
  run: () => void;
  reset?: () => void;
}

/** One `Deno.bench`. */
interface BenchCase {
  /** `"ts"` for the baseline, `"wasm"` for the kernel, or another short label. */
  side: string;
  /** The bench name, after its side. */
  name: string;
  /** Floating-point operations per call, where a count applies (then GFLOP/s are reported). */
  flop?: number;
  /** Timed iterations. */
  n: number;
  /** Whether this is the group's baseline. */
  baseline?: boolean;
  /** Builds the inputs, once, at the first iteration, outside the timed part. */
  setup: () => Timed;
  /**
   * A call of a few microseconds, where Deno ignores `b.start()`/`b.end()`: timed without them
   * (it has no reset, and its setup runs in the first warmup call, which is not measured).
   */
  tiny?: boolean;
}

/** A group: the baseline first, the kernels beside it. */
interface BenchGroup {
  group: string;
  cases: readonly BenchCase[];
}

/** Per-iteration times of the WASM benches, for the GFLOP/s table printed at the end. */
const timings = new Map<string, { flop: number; ms: number[] }>();

function register({ group, cases }: BenchGroup): void {
  for (const c of cases) {
    const label = `${c.name}${c.flop ? ` (${(c.flop / 1e6).toFixed(1)} MFLOP)` : ""}`;
    let timed: Timed | undefined;
    const record = c.flop && !c.baseline ? { flop: c.flop, ms: [] as number[] } : undefined;
    if (record) timings.set(`${group}: ${c.side} ${label}`, record);
    Deno.bench({
      name: `${c.side} ${label}`,
      group,
      baseline: c.baseline ?? false,
      n: c.n,
      warmup: c.baseline ? 1 : Math.max(2, c.n >> 3),
      fn: c.tiny
        ? () => {
          timed ??= c.setup();
          const t0 = performance.now();
          timed.run();
          record?.ms.push(performance.now() - t0);
        }
        : (b) => {
          timed ??= c.setup();
          timed.reset?.();
          b.start();
          const t0 = performance.now();
          timed.run();
          const ms = performance.now() - t0;
          b.end();
          record?.ms.push(ms);
        },
    });
  }
}

/** The number of timed runs that keeps a call of `flop` operations near `budget` in all. */
const runs = (flop: number, budget: number, min: number, max: number) =>
  Math.max(min, Math.min(max, Math.round(budget / flop)));

// ---------------------------------------------------------------------------------------------
// Matrix products: plain TypeScript loops, each in its natural order.

function tsMatmulNN(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
) {
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j];
    }
  }
}

function tsMatmulNT(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      c[i * n + j] += s;
    }
  }
}

function tsMatmulTN(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
) {
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < m; i++) {
      const x = a[p * m + i];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[p * n + j];
    }
  }
}

const TS_MATMUL = { matmulNN: tsMatmulNN, matmulNT: tsMatmulNT, matmulTN: tsMatmulTN };
type Form = keyof typeof TS_MATMUL;

/** One group per product shape: the TS loop and the WASM kernel. */
function gemm(what: string, form: Form, m: number, k: number, n: number): BenchGroup {
  const flop = 2 * m * k * n, name = `${form} ${m}x${k}x${n}`;
  const inputs = () => ({
    a: randomArray(form === "matmulTN" ? k * m : m * k),
    b: randomArray(k * n, 0.1),
    c: new Float32Array(m * n),
  });
  return {
    group: `${name}: ${what}`,
    cases: [
      {
        side: "ts",
        name,
        flop,
        // Slow baselines run a few times; the kernel enough to settle.
        n: runs(flop, 2e8, 3, 50),
        baseline: true,
        setup() {
          const { a, b, c } = inputs();
          return { run: () => TS_MATMUL[form](c, a, b, m, k, n) };
        },
      },
      {
        side: "wasm",
        name,
        flop,
        n: runs(flop, 2e10, 30, 2000),
        setup() {
          const { a, b, c } = inputs();
          const aw = put(be, a), bw = put(be, b), cw = put(be, c);
          return { run: () => be[form](cw, aw, bw, m, k, n) };
        },
      },
    ],
  };
}

/** Setup of a batch-1 product with the weight packed by `pack` and multiplied by its kernel. */
function packedProduct(pack: "packWeights" | "packInt8", k: number, n: number) {
  return () => {
    const a = put(be, randomArray(k)), b = put(be, randomArray(k * n, 0.1));
    const c = be.alloc(n), packed = be.allocPacked(k, n);
    be[pack](packed, b, k, n);
    const mm = pack === "packWeights" ? be.matmulPacked : be.matmulInt8;
    return { run: () => mm(c, a, packed, 1, k, n) };
  };
}

/**
 * Generation's products with one row: a weight read in place (the baseline here) against the
 * same weight packed once by packWeights and read in order by matmulPacked.
 */
function generationProduct(what: string, k: number, n: number): BenchGroup {
  const flop = 2 * k * n, tiny = k * n <= H * H;
  return {
    group: `batch-1 generation, h · ${what} (1x${k}x${n})`,
    cases: [
      {
        side: "wasm",
        name: "matmulNN in place",
        flop,
        n: 3000,
        baseline: true,
        tiny,
        setup() {
          const a = put(be, randomArray(k)), b = put(be, randomArray(k * n, 0.1));
          const c = be.alloc(n);
          return { run: () => be.matmulNN(c, a, b, 1, k, n) };
        },
      },
      {
        side: "wasm",
        name: `matmulPacked 1x${k}x${n}`,
        flop,
        n: 3000,
        tiny,
        setup: packedProduct("packWeights", k, n),
      },
    ],
  };
}

/**
 * Generation's output product in 8 bits: the float weight packed by packWeights (the baseline)
 * against the same weight packed by packInt8 and multiplied by matmulInt8.
 */
function int8Product(what: string, k: number, n: number): BenchGroup {
  const flop = 2 * k * n, tiny = k * n <= H * H;
  return {
    group: `batch-1 generation in 8 bits, h · ${what} (1x${k}x${n})`,
    cases: [
      {
        side: "wasm",
        name: "matmulPacked (float32)",
        flop,
        n: 3000,
        baseline: true,
        tiny,
        setup: packedProduct("packWeights", k, n),
      },
      {
        side: "wasm",
        name: "matmulInt8",
        flop,
        n: 3000,
        tiny,
        setup: packedProduct("packInt8", k, n),
      },
    ],
  };
}

/**
 * Packing a weight by `pack` (packWeights: the reference's copy against the WASM panels; packInt8:
 * the reference's quantisation against WASM), `runs` iterations on each side.
 */
function packing(
  pack: "packWeights" | "packInt8",
  what: string,
  k: number,
  n: number,
  runs: [reference: number, wasm: number],
): BenchGroup {
  const inputs = (x: Backend) => {
    const b = put(x, randomArray(k * n, 0.1)), packed = x.allocPacked(k, n);
    return { run: () => x[pack](packed, b, k, n) };
  };
  return {
    group: `${pack} ${k}x${n}: ${what}`,
    cases: [
      { side: "reference", name: pack, n: runs[0], baseline: true, setup: () => inputs(ref) },
      { side: "wasm", name: pack, n: runs[1], setup: () => inputs(be) },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Elementwise kernels, over one activation or gradient of the default model.

/**
 * A group of an elementwise kernel: a TypeScript loop over `Float32Array`s (`ts`, given the
 * arrays) against the WASM kernel (`wasm`, given the same data in buffers), with `arrays` inputs
 * of `n` elements each; `reset` restores what a call overwrites.
 */
function elementwise(
  group: string,
  name: string,
  n: number,
  flopPerElement: number | undefined,
  arrays: () => Float32Array[],
  ts: (a: Float32Array[]) => void,
  wasm: (b: FloatBuf[]) => void,
  runsTs = 50,
  runsWasm = 500,
): BenchGroup {
  const flop = flopPerElement === undefined ? undefined : flopPerElement * n;
  return {
    group,
    cases: [
      {
        side: "ts",
        name,
        flop,
        n: runsTs,
        baseline: true,
        setup() {
          const a = arrays();
          return { run: () => ts(a) };
        },
      },
      {
        side: "wasm",
        name,
        flop,
        n: runsWasm,
        setup() {
          const b = arrays().map((a) => put(be, a));
          return { run: () => wasm(b) };
        },
      },
    ],
  };
}

const STEPS_HIDDEN = TB * H;

type F32 = Float32Array;

/** The activations as plain TypeScript loops, one per kernel (no call per element). */
const TS_ACTIVATIONS = {
  tanh: {
    forward(y: F32, x: F32, n: number) {
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
    },
    backward(dx: F32, y: F32, dy: F32, n: number) {
      for (let i = 0; i < n; i++) dx[i] += (1 - y[i] * y[i]) * dy[i];
    },
  },
  sigmoid: {
    forward(y: F32, x: F32, n: number) {
      for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
    },
    backward(dx: F32, y: F32, dy: F32, n: number) {
      for (let i = 0; i < n; i++) dx[i] += y[i] * (1 - y[i]) * dy[i];
    },
  },
  relu: {
    forward(y: F32, x: F32, n: number) {
      for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
    },
    backward(dx: F32, y: F32, dy: F32, n: number) {
      for (let i = 0; i < n; i++) if (y[i] > 0) dx[i] += dy[i];
    },
  },
};

/** An activation over the hidden states of a sequence, forward or backward. */
function activation(act: keyof typeof TS_ACTIVATIONS, direction: "Forward" | "Backward") {
  const kernel = `${act}${direction}` as const, ts = TS_ACTIVATIONS[act], n = STEPS_HIDDEN;
  if (direction === "Forward") {
    return elementwise(
      `${kernel} n=${n} (T·B·H)`,
      kernel,
      n,
      undefined,
      () => [randomArray(n, 3), new Float32Array(n)],
      ([x, y]) => ts.forward(y, x, n),
      ([x, y]) => be[`${act}Forward`](y, x, n),
    );
  }
  // Saved outputs as the forward pass leaves them.
  const outputs = () => {
    const y = new Float32Array(n);
    ts.forward(y, randomArray(n, 3), n);
    return y;
  };
  return elementwise(
    `${kernel} n=${n} (T·B·H)`,
    kernel,
    n,
    3,
    () => [new Float32Array(n), outputs(), randomArray(n)],
    ([dx, y, dy]) => ts.backward(dx, y, dy, n),
    ([dx, y, dy]) => be[`${act}Backward`](dx, y, dy, n),
  );
}

/** Dropout masks as drawn for p = 0.5: 0 or 2. */
const mask = (n: number) => randomArray(n).map((u) => (u < 0 ? 0 : 2));

// ---------------------------------------------------------------------------------------------
// The recurrent cells over the whole sequence; FLOPs count the multiplies: forward 2·T·B·H·G,
// backward twice that (dH and dW).

const BLOCK = B * H;

function rnnGroup(direction: "Forward" | "Backward"): BenchGroup {
  const fwdFlop = 2 * T * B * H * H, flop = direction === "Forward" ? fwdFlop : 2 * fwdFlop;
  const inputs = () => ({
    states: randomArray((T + 1) * BLOCK),
    zin: randomArray(T * BLOCK),
    whh: randomArray(H * H, 1 / 16),
    dstates: randomArray((T + 1) * BLOCK),
  });
  const name = `rnn${direction}`;
  const ts: BenchCase = direction === "Forward"
    ? {
      side: "ts",
      name,
      flop,
      n: 3,
      baseline: true,
      setup() {
        const { states, zin, whh } = inputs();
        return {
          run() {
            for (let s = 0; s < T; s++) {
              const prev = states.subarray(s * BLOCK, (s + 1) * BLOCK);
              const next = states.subarray((s + 1) * BLOCK, (s + 2) * BLOCK);
              next.set(zin.subarray(s * BLOCK, (s + 1) * BLOCK));
              tsMatmulNN(next, prev, whh, B, H, H);
              for (let i = 0; i < BLOCK; i++) next[i] = Math.tanh(next[i]);
            }
          },
        };
      },
    }
    : {
      side: "ts",
      name,
      flop,
      n: 3,
      baseline: true,
      setup() {
        const { states, whh, dstates } = inputs();
        const dzin = new Float32Array(T * BLOCK), dwhh = new Float32Array(H * H);
        const ds = dstates.slice();
        return {
          reset() {
            ds.set(dstates);
            dzin.fill(0);
          },
          run() {
            for (let s = T - 1; s >= 0; s--) {
              const y = states.subarray((s + 1) * BLOCK), dy = ds.subarray((s + 1) * BLOCK);
              const dz = dzin.subarray(s * BLOCK, (s + 1) * BLOCK);
              for (let i = 0; i < BLOCK; i++) dz[i] += (1 - y[i] * y[i]) * dy[i];
              tsMatmulNT(ds.subarray(s * BLOCK, (s + 1) * BLOCK), dz, whh, B, H, H);
            }
            tsMatmulTN(dwhh, states, dzin, H, T * B, H);
          },
        };
      },
    };
  const wasm: BenchCase = {
    side: "wasm",
    name,
    flop,
    n: 100,
    setup() {
      const x = inputs();
      const sw = put(be, x.states), zw = put(be, x.zin), ww = put(be, x.whh);
      if (direction === "Forward") return { run: () => be.rnnForward(sw, zw, ww, T, B, H, "tanh") };
      const dzw = be.alloc(T * BLOCK), dww = be.alloc(H * H);
      const dsw = put(be, x.dstates), dsSaved = put(be, x.dstates);
      return {
        // dzin must be zero on entry; dstates is restored so values stay of the same size.
        reset() {
          be.fill(dzw, 0);
          be.copy(dsw, dsSaved);
        },
        run: () => be.rnnBackward(dzw, dww, dsw, sw, ww, T, B, H, "tanh"),
      };
    },
  };
  return { group: `${name} T=${T} B=${B} H=${H}`, cases: [ts, wasm] };
}

/** The GRU's buffers on `x`, the forward pass run once so backward reads real gates. */
function gruBuffers(x: Backend, variant: "book" | "pytorch") {
  const G = 3 * H;
  const g = {
    states: put(x, randomArray((T + 1) * BLOCK)),
    gates: x.alloc(T * B * G),
    hn: x.alloc(T * BLOCK),
    zin: put(x, randomArray(T * B * G)),
    whh: put(x, randomArray(H * G, 1 / 16)),
    bhn: variant === "pytorch" ? put(x, randomArray(H, 0.1)) : undefined,
    dzin: x.alloc(T * B * G),
    dwhh: x.alloc(H * G),
    dbhn: variant === "pytorch" ? x.alloc(H) : undefined,
    dstates: put(x, randomArray((T + 1) * BLOCK)),
    dsSaved: put(x, randomArray((T + 1) * BLOCK)),
  };
  x.gruForward(g.states, g.gates, g.hn, g.zin, g.whh, g.bhn, T, B, H, variant);
  return g;
}

/** GRU forward or backward: the reference (book's variant) against WASM, both variants. */
function gruGroup(direction: "Forward" | "Backward"): BenchGroup {
  const fwdFlop = 2 * T * B * H * 3 * H, flop = direction === "Forward" ? fwdFlop : 2 * fwdFlop;
  const timed = (x: Backend, variant: "book" | "pytorch"): Timed => {
    const g = gruBuffers(x, variant);
    if (direction === "Forward") {
      return {
        run: () => x.gruForward(g.states, g.gates, g.hn, g.zin, g.whh, g.bhn, T, B, H, variant),
      };
    }
    return {
      // dzin must be zero on entry; dstates is restored so values stay of the same size.
      reset() {
        x.fill(g.dzin, 0);
        x.copy(g.dstates, g.dsSaved);
      },
      run: () =>
        x.gruBackward(
          g.dzin,
          g.dwhh,
          g.dbhn,
          g.dstates,
          g.states,
          g.gates,
          g.hn,
          g.whh,
          T,
          B,
          H,
          variant,
        ),
    };
  };
  const name = `gru${direction}`;
  return {
    group: `${name} T=${T} B=${B} H=${H}`,
    cases: [
      {
        side: "reference",
        name: `${name} (book)`,
        flop,
        n: 2,
        baseline: true,
        setup: () => timed(ref, "book"),
      },
      ...(["book", "pytorch"] as const).map((variant): BenchCase => ({
        side: "wasm",
        name: `${name} (${variant})`,
        flop,
        n: 100,
        setup: () => timed(be, variant),
      })),
    ],
  };
}

/** LSTM forward or backward: the reference against WASM. */
function lstmGroup(direction: "Forward" | "Backward"): BenchGroup {
  const G = 4 * H;
  const fwdFlop = 2 * T * B * H * G, flop = direction === "Forward" ? fwdFlop : 2 * fwdFlop;
  const timed = (x: Backend): Timed => {
    const l = {
      states: put(x, randomArray((T + 1) * BLOCK)),
      cells: put(x, randomArray((T + 1) * BLOCK)),
      gates: x.alloc(T * B * G),
      zin: put(x, randomArray(T * B * G)),
      whh: put(x, randomArray(H * G, 1 / 16)),
      dzin: x.alloc(T * B * G),
      dwhh: x.alloc(H * G),
      dstates: put(x, randomArray((T + 1) * BLOCK)),
      dsSaved: put(x, randomArray((T + 1) * BLOCK)),
      dcells: x.alloc((T + 1) * BLOCK),
    };
    x.lstmForward(l.states, l.cells, l.gates, l.zin, l.whh, T, B, H);
    if (direction === "Forward") {
      return { run: () => x.lstmForward(l.states, l.cells, l.gates, l.zin, l.whh, T, B, H) };
    }
    return {
      reset() {
        x.fill(l.dzin, 0);
        x.fill(l.dcells, 0);
        x.copy(l.dstates, l.dsSaved);
      },
      run: () =>
        x.lstmBackward(
          l.dzin,
          l.dwhh,
          l.dstates,
          l.dcells,
          l.states,
          l.cells,
          l.gates,
          l.whh,
          T,
          B,
          H,
        ),
    };
  };
  const name = `lstm${direction}`;
  return {
    group: `${name} T=${T} B=${B} H=${H}`,
    cases: [
      { side: "reference", name, flop, n: 2, baseline: true, setup: () => timed(ref) },
      { side: "wasm", name, flop, n: 100, setup: () => timed(be) },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The output layer: softmax with cross-entropy (about 5 FLOP per element, exp counted as 1),
// its gradient, and the greedy choice.

function softmaxForward(): BenchGroup {
  const name = "softmaxXentForward", flop = 5 * TB * V;
  return {
    group: `${name} ${TB}x${V}`,
    cases: [
      {
        side: "ts",
        name,
        flop,
        n: 10,
        baseline: true,
        setup() {
          const logits = randomArray(TB * V, 5), probs = new Float32Array(TB * V);
          const targets = indexArray(TB, V), stats = new Float64Array(STATS_SLOTS);
          return {
            run() {
              let loss = 0;
              for (let i = 0; i < TB; i++) {
                const o = i * V;
                let max = -Infinity;
                for (let j = 0; j < V; j++) max = Math.max(max, logits[o + j]);
                let sum = 0;
                for (let j = 0; j < V; j++) sum += probs[o + j] = Math.exp(logits[o + j] - max);
                for (let j = 0; j < V; j++) probs[o + j] /= sum;
                loss += Math.log(sum) + max - logits[o + targets[i]];
              }
              stats[0] += loss;
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        flop,
        n: 200,
        setup() {
          const lw = put(be, randomArray(TB * V, 5)), pw = be.alloc(TB * V);
          const tw = be.allocIndices(TB), stats = be.allocScalars(STATS_SLOTS);
          be.writeIndices(tw, indexArray(TB, V));
          return { run: () => be.softmaxXentForward(pw, lw, tw, TB, V, stats) };
        },
      },
    ],
  };
}

function softmaxBackward(): BenchGroup {
  const name = "softmaxXentBackward", flop = 2 * TB * V, scale = 1 / TB;
  const probs = () => randomArray(TB * V).map((u) => (u + 1) / (2 * V));
  return {
    group: `${name} ${TB}x${V}`,
    cases: [
      {
        side: "ts",
        name,
        flop,
        n: 20,
        baseline: true,
        setup() {
          const p = probs(), d = new Float32Array(TB * V), targets = indexArray(TB, V);
          return {
            run() {
              for (let i = 0; i < TB; i++) {
                for (let j = 0; j < V; j++) {
                  d[i * V + j] = scale * (p[i * V + j] - (j === targets[i] ? 1 : 0));
                }
              }
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        flop,
        n: 300,
        setup() {
          const pw = put(be, probs()), dw = be.alloc(TB * V), tw = be.allocIndices(TB);
          be.writeIndices(tw, indexArray(TB, V));
          return { run: () => be.softmaxXentBackward(dw, pw, tw, TB, V, scale) };
        },
      },
    ],
  };
}

/** Greedy generation's choice over a batch of B rows of logits. */
function argmax(): BenchGroup {
  const name = "argmaxRows";
  return {
    group: `${name} ${B}x${V}: greedy choice per generated token`,
    cases: [
      {
        side: "ts",
        name,
        n: 2000,
        baseline: true,
        tiny: true,
        setup() {
          const x = randomArray(B * V), out = new Int32Array(B);
          return {
            run() {
              for (let i = 0; i < B; i++) {
                let best = 0;
                for (let j = 1; j < V; j++) if (x[i * V + j] > x[i * V + best]) best = j;
                out[i] = best;
              }
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        n: 5000,
        tiny: true,
        setup() {
          const x = put(be, randomArray(B * V)), out = be.allocIndices(B);
          return { run: () => be.argmaxRows(out, x, B, V) };
        },
      },
    ],
  };
}

/** The one-hot input product of the first layer as a row gather from W_xh [V,H], and back. */
function gather(direction: "Forward" | "Backward"): BenchGroup {
  const name = `gatherRows${direction}`, idx = indexArray(TB, V);
  const inputs = () => ({ w: randomArray(V * H), rows: randomArray(TB * H) });
  return {
    group: `${name} ${TB} rows of ${H} (V=${V})`,
    cases: [
      {
        side: "ts",
        name,
        flop: TB * H,
        n: 200,
        baseline: true,
        setup() {
          const { w, rows } = inputs();
          return direction === "Forward"
            ? {
              run() {
                for (let i = 0; i < TB; i++) {
                  for (let j = 0; j < H; j++) rows[i * H + j] += w[idx[i] * H + j];
                }
              },
            }
            : {
              run() {
                for (let i = 0; i < TB; i++) {
                  for (let j = 0; j < H; j++) w[idx[i] * H + j] += rows[i * H + j];
                }
              },
            };
        },
      },
      {
        side: "wasm",
        name,
        flop: TB * H,
        n: 2000,
        setup() {
          const { w, rows } = inputs(), ww = put(be, w), rw = put(be, rows);
          const iw = be.allocIndices(TB);
          be.writeIndices(iw, idx);
          return direction === "Forward"
            ? { run: () => be.gatherRowsForward(rw, iw, ww, TB, H) }
            : { run: () => be.gatherRowsBackward(ww, iw, rw, TB, H) };
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Clipping and the updates over every parameter of the default model.

/** Clipping by global norm (3 FLOP per element: square, add, scale), gradients restored. */
function clipping(): BenchGroup {
  const n = PARAMS, name = "clipGradNorm", theta = 1;
  // Gradients whose norm exceeds theta, so every call scales.
  const grads = () => randomArray(n, 0.1);
  return {
    group: `${name} n=${n}`,
    cases: [
      {
        side: "ts",
        name,
        flop: 3 * n,
        n: 50,
        baseline: true,
        setup() {
          const saved = grads(), g = saved.slice(), stats = new Float64Array(STATS_SLOTS);
          return {
            reset: () => g.set(saved),
            run() {
              let sq = 0;
              for (let i = 0; i < n; i++) sq += g[i] * g[i];
              const norm = Math.sqrt(sq);
              stats[1] = norm;
              if (norm > theta) {
                const k = Math.fround(theta / norm);
                for (let i = 0; i < n; i++) g[i] *= k;
              }
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        flop: 3 * n,
        n: 500,
        setup() {
          const saved = put(be, grads()), g = put(be, grads());
          const stats = be.allocScalars(STATS_SLOTS);
          return {
            reset() {
              be.copy(g, saved);
              be.fill(stats, 0);
            },
            run: () => be.clipGradNorm(g, n, theta, stats),
          };
        },
      },
    ],
  };
}

/** Plain SGD (2 FLOP per element), counted in a statistics buffer as training does. */
function sgd(): BenchGroup {
  const n = PARAMS, name = "sgdUpdate", lr = 0.01;
  return {
    group: `${name} n=${n}`,
    cases: [
      {
        side: "ts",
        name,
        flop: 2 * n,
        n: 50,
        baseline: true,
        setup() {
          const p = randomArray(n), g = randomArray(n);
          return {
            run() {
              for (let i = 0; i < n; i++) p[i] -= lr * g[i];
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        flop: 2 * n,
        n: 500,
        setup() {
          const p = put(be, randomArray(n)), g = put(be, randomArray(n));
          const stats = be.allocScalars(STATS_SLOTS);
          return { run: () => be.sgdUpdate(p, g, n, lr, stats) };
        },
      },
    ],
  };
}

/** Adam (about 12 FLOP per element, the square root and divisions counted as 1 each). */
function adam(): BenchGroup {
  const n = PARAMS, name = "adamUpdate", flop = 12 * n;
  return {
    group: `${name} n=${n}`,
    cases: [
      {
        side: "ts",
        name,
        flop,
        n: 20,
        baseline: true,
        setup() {
          const p = randomArray(n), g = randomArray(n);
          const m = new Float32Array(n), v = new Float32Array(n);
          let step = 0;
          return {
            run() {
              step++;
              const bc1 = 1 - 0.9 ** step, sqrtBc2 = Math.sqrt(1 - 0.999 ** step);
              for (let i = 0; i < n; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                p[i] -= (0.01 / bc1) * (m[i] / (Math.sqrt(v[i]) / sqrtBc2 + 1e-8));
              }
            },
          };
        },
      },
      {
        side: "wasm",
        name,
        flop,
        n: 200,
        setup() {
          const p = put(be, randomArray(n)), g = put(be, randomArray(n));
          const m = be.alloc(n), v = be.alloc(n), stats = be.allocScalars(STATS_SLOTS);
          let step = 0;
          return {
            run: () => be.adamUpdate(p, g, m, v, n, 0.01, 0.9, 0.999, 1e-8, ++step, stats),
          };
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The table: one entry per kernel, registered below.

/**
 * Every kernel's bench groups, or the name of the kernel whose groups also measure it. Nothing
 * is built until a bench first runs, so importing the table is cheap.
 */
export const BENCHES = {
  matmulNN: [
    gemm("recurrence, H_s · W_hh", "matmulNN", B, H, H),
    gemm("output projection, Hs · W_hq", "matmulNN", TB, H, V),
  ],
  matmulNT: [
    gemm("recurrence backward, dZ · W_hhᵀ", "matmulNT", B, H, H),
    gemm("dHs = dlogits · W_hqᵀ", "matmulNT", TB, V, H),
  ],
  matmulTN: [
    gemm("dW_hq += Hsᵀ · dlogits", "matmulTN", H, TB, V),
    gemm("dW_hh += Hsᵀ · dZ", "matmulTN", H, TB, H),
  ],
  packWeights: [packing("packWeights", "W_hq, once per generation", H, V, [200, 2000])],
  matmulPacked: [generationProduct("W_hh", H, H), generationProduct("W_hq", H, V)],
  packInt8: [packing("packInt8", "W_hq, once per 8-bit model", H, V, [20, 500])],
  matmulInt8: [int8Product("W_hh", H, H), int8Product("W_hq", H, V)],
  biasForward: [
    elementwise(
      `biasForward ${TB}x${V}: logits += b_q`,
      "biasForward",
      TB * V,
      1,
      () => [new Float32Array(TB * V), randomArray(V)],
      ([y, bias]) => {
        for (let i = 0; i < TB; i++) for (let j = 0; j < V; j++) y[i * V + j] += bias[j];
      },
      ([y, bias]) => be.biasForward(y, bias, TB, V),
    ),
  ],
  biasBackward: [
    elementwise(
      `biasBackward ${TB}x${V}: db_q += Σ dlogits`,
      "biasBackward",
      TB * V,
      1,
      () => [new Float32Array(V), randomArray(TB * V)],
      ([db, dy]) => {
        for (let i = 0; i < TB; i++) for (let j = 0; j < V; j++) db[j] += dy[i * V + j];
      },
      ([db, dy]) => be.biasBackward(db, dy, TB, V),
    ),
  ],
  tanhForward: [activation("tanh", "Forward")],
  tanhBackward: [activation("tanh", "Backward")],
  sigmoidForward: [activation("sigmoid", "Forward")],
  sigmoidBackward: [activation("sigmoid", "Backward")],
  reluForward: [activation("relu", "Forward")],
  reluBackward: [activation("relu", "Backward")],
  gatherRowsForward: [gather("Forward")],
  gatherRowsBackward: [gather("Backward")],
  argmaxRows: [argmax()],
  softmaxXentForward: [softmaxForward()],
  softmaxXentBackward: [softmaxBackward()],
  rnnForward: [rnnGroup("Forward")],
  rnnBackward: [rnnGroup("Backward")],
  gruForward: [gruGroup("Forward")],
  gruBackward: [gruGroup("Backward")],
  lstmForward: [lstmGroup("Forward")],
  lstmBackward: [lstmGroup("Backward")],
  dropoutForward: [
    elementwise(
      `dropoutForward n=${STEPS_HIDDEN} (T·B·H, p = 0.5)`,
      "dropoutForward",
      STEPS_HIDDEN,
      1,
      () => [new Float32Array(STEPS_HIDDEN), randomArray(STEPS_HIDDEN), mask(STEPS_HIDDEN)],
      ([y, x, m]) => {
        for (let i = 0; i < STEPS_HIDDEN; i++) y[i] = x[i] * m[i];
      },
      ([y, x, m]) => be.dropoutForward(y, x, m, STEPS_HIDDEN),
    ),
  ],
  dropoutBackward: [
    elementwise(
      `dropoutBackward n=${STEPS_HIDDEN} (T·B·H, p = 0.5)`,
      "dropoutBackward",
      STEPS_HIDDEN,
      2,
      () => [new Float32Array(STEPS_HIDDEN), mask(STEPS_HIDDEN), randomArray(STEPS_HIDDEN)],
      ([dx, m, dy]) => {
        for (let i = 0; i < STEPS_HIDDEN; i++) dx[i] += dy[i] * m[i];
      },
      ([dx, m, dy]) => be.dropoutBackward(dx, m, dy, STEPS_HIDDEN),
    ),
  ],
  clipGradNorm: [clipping()],
  sgdUpdate: [sgd()],
  adamUpdate: [adam()],
} satisfies Record<KernelName, readonly BenchGroup[] | KernelName>;

for (const name of KERNEL_NAMES) {
  const entry: readonly BenchGroup[] | KernelName = BENCHES[name];
  if (typeof entry === "string") {
    // A name must lead to groups of its own, not to another name.
    if (typeof BENCHES[entry] === "string") {
      throw new TypeError(`BENCHES.${name} names ${entry}, which has no groups of its own`);
    }
    continue;
  }
  entry.forEach(register);
}

globalThis.addEventListener("unload", () => {
  const rows: string[] = [];
  for (const [name, { flop, ms }] of timings) {
    if (ms.length === 0) continue;
    const sorted = ms.toSorted((x, y) => x - y);
    const best = flop / sorted[0] / 1e6, median = flop / sorted[sorted.length >> 1] / 1e6;
    rows.push(
      `${name.padEnd(80)} best ${best.toFixed(1).padStart(6)}  median ${
        median.toFixed(1).padStart(6)
      }`,
    );
  }
  // stderr, so `deno bench --json` output on stdout stays valid JSON.
  if (rows.length > 0) console.error(`\nWASM GFLOP/s (single thread)\n${rows.join("\n")}`);
});
