/**
 * Kernel benchmarks at the shapes of the default model (B = 32, T = 35, H = 256, V = 1027,
 * T·B = 1120): each group has a plain TypeScript loop over `Float32Array`s as the baseline and
 * the WASM SIMD kernel beside it. Bench names carry the FLOP count (2·m·k·n for a product);
 * when the run ends a table of GFLOP/s per WASM kernel is printed (best and median iteration).
 *
 * Run with `deno bench -A bench/kernels_bench.ts`.
 */
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { Backend, Buf } from "../src/backend/types.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";

const B = 32, T = 35, H = 256, V = 1027, TB = T * B;

const be: Backend = createWasmBackend();

function randomArray(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
  return a;
}

function wasmBuf(data: Float32Array): Buf {
  const buf = be.alloc(data.length);
  be.write(buf, data);
  return buf;
}

/** Per-iteration times of the WASM benches, for the GFLOP/s table printed at the end. */
const timings = new Map<string, { flop: number; ms: number[] }>();

/** Registers a WASM bench that times `run` (after an untimed `setup`) and records its GFLOP/s. */
function wasmBench(
  group: string,
  name: string,
  flop: number,
  n: number,
  run: () => void,
  setup?: () => void,
): void {
  const label = `${name} (${(flop / 1e6).toFixed(1)} MFLOP)`;
  const record = { flop, ms: [] as number[] };
  timings.set(`${group}: ${label}`, record);
  Deno.bench({
    name: `wasm ${label}`,
    group,
    n,
    warmup: Math.max(2, n >> 3),
    fn(b) {
      setup?.();
      b.start();
      const t0 = performance.now();
      run();
      record.ms.push(performance.now() - t0);
      b.end();
    },
  });
}

/** Registers the TypeScript baseline of a group. */
function tsBench(group: string, name: string, flop: number, n: number, run: () => void): void {
  Deno.bench({
    name: `ts ${name} (${(flop / 1e6).toFixed(1)} MFLOP)`,
    group,
    baseline: true,
    n,
    warmup: 1,
    fn(b) {
      b.start();
      run();
      b.end();
    },
  });
}

// Plain TypeScript products, each in its natural loop order.
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

/** One group per product shape: the TS loop and the WASM kernel. */
function gemmGroup(what: string, form: keyof typeof TS_MATMUL, m: number, k: number, n: number) {
  const group = `${form} ${m}x${k}x${n}: ${what}`;
  const flop = 2 * m * k * n;
  const aShape = form === "matmulTN" ? k * m : m * k;
  const bShape = k * n;
  const a = randomArray(aShape), b = randomArray(bShape, 0.1), c = new Float32Array(m * n);
  // Slow baselines run a few times; the kernel enough to settle.
  const tsRuns = Math.max(3, Math.min(50, Math.round(2e8 / flop)));
  const wasmRuns = Math.max(30, Math.min(2000, Math.round(2e10 / flop)));
  tsBench(group, `${form} ${m}x${k}x${n}`, flop, tsRuns, () => TS_MATMUL[form](c, a, b, m, k, n));
  const ca = wasmBuf(c), aa = wasmBuf(a), ba = wasmBuf(b);
  wasmBench(group, `${form} ${m}x${k}x${n}`, flop, wasmRuns, () => be[form](ca, aa, ba, m, k, n));
}

gemmGroup("recurrence, H_s · W_hh", "matmulNN", B, H, H);
gemmGroup("recurrence backward, dZ · W_hhᵀ", "matmulNT", B, H, H);
gemmGroup("output projection, Hs · W_hq", "matmulNN", TB, H, V);
gemmGroup("dHs = dlogits · W_hqᵀ", "matmulNT", TB, V, H);
gemmGroup("dW_hq += Hsᵀ · dlogits", "matmulTN", H, TB, V);
gemmGroup("dW_hh += Hsᵀ · dZ", "matmulTN", H, TB, H);

// Generation's products with one row: a weight read in place (the baseline here) against the
// same weight packed once by packWeights and read in order by matmulPacked.
for (const [what, k, n] of [["W_hh", H, H], ["W_hq", H, V]] as const) {
  const group = `batch-1 generation, h · ${what} (1x${k}x${n})`;
  const flop = 2 * k * n, runs = 3000;
  const a = wasmBuf(randomArray(k)), b = wasmBuf(randomArray(k * n, 0.1)), c = be.alloc(n);
  const packed = be.alloc(be.packedSize(k, n));
  be.packWeights(packed, b, k, n);
  Deno.bench({
    name: `wasm matmulNN in place (${(flop / 1e6).toFixed(1)} MFLOP)`,
    group,
    baseline: true,
    n: runs,
    warmup: 300,
    fn: () => be.matmulNN(c, a, b, 1, k, n),
  });
  wasmBench(group, `matmulPacked 1x${k}x${n}`, flop, runs, () => {
    be.matmulPacked(c, a, packed, 1, k, n);
  });
}

// The whole recurrence, forward and backward through time (tanh).
{
  const group = `rnn T=${T} B=${B} H=${H}`;
  const block = B * H;
  const states = randomArray((T + 1) * block), zin = randomArray(T * block);
  const whh = randomArray(H * H, 1 / 16), dstates = randomArray((T + 1) * block);
  const fwdFlop = 2 * T * B * H * H, bwdFlop = 2 * fwdFlop;
  tsBench(group, "rnnForward", fwdFlop, 3, () => {
    for (let s = 0; s < T; s++) {
      const prev = states.subarray(s * block, (s + 1) * block);
      const next = states.subarray((s + 1) * block, (s + 2) * block);
      next.set(zin.subarray(s * block, (s + 1) * block));
      tsMatmulNN(next, prev, whh, B, H, H);
      for (let i = 0; i < block; i++) next[i] = Math.tanh(next[i]);
    }
  });
  const sw = wasmBuf(states), zw = wasmBuf(zin), ww = wasmBuf(whh);
  wasmBench(group, "rnnForward", fwdFlop, 100, () => be.rnnForward(sw, zw, ww, T, B, H, 0));
  const dzin = new Float32Array(T * block), dwhh = new Float32Array(H * H);
  tsBench(group, "rnnBackward", bwdFlop, 3, () => {
    const ds = dstates.slice();
    dzin.fill(0);
    for (let s = T - 1; s >= 0; s--) {
      const y = states.subarray((s + 1) * block), dy = ds.subarray((s + 1) * block);
      const dz = dzin.subarray(s * block, (s + 1) * block);
      for (let i = 0; i < block; i++) dz[i] += (1 - y[i] * y[i]) * dy[i];
      tsMatmulNT(ds.subarray(s * block, (s + 1) * block), dz, whh, B, H, H);
    }
    tsMatmulTN(dwhh, states, dzin, H, T * B, H);
  });
  const dzw = be.alloc(T * block), dww = be.alloc(H * H);
  const dsw = wasmBuf(dstates), dsSaved = wasmBuf(dstates);
  wasmBench(
    group,
    "rnnBackward",
    bwdFlop,
    100,
    () => be.rnnBackward(dzw, dww, dsw, sw, ww, T, B, H, 0),
    () => {
      // dzin must be zero on entry; dstates is restored so values stay of the same size.
      be.fill(dzw, 0);
      be.copy(dsw, dsSaved);
    },
  );
}

// The gated cells over the whole sequence at the same shapes, next to the RNN: GRU (G = 3H, both
// variants) and LSTM (G = 4H). FLOPs count the multiplies: forward 2·T·B·H·G, backward twice
// that (dH and dW). The baseline is the float64 reference backend, the plain TypeScript loops.
{
  const ref = createReferenceBackend();
  const block = B * H;
  /** A buffer of `x` holding `data`. */
  const put = (x: Backend, data: Float32Array) => {
    const buf = x.alloc(data.length);
    x.write(buf, data);
    return buf;
  };

  const G3 = 3 * H;
  const gruGroup = `gru T=${T} B=${B} H=${H}`;
  const gruFwdFlop = 2 * T * B * H * G3, gruBwdFlop = 2 * gruFwdFlop;
  const gru = (x: Backend) => ({
    states: put(x, randomArray((T + 1) * block)),
    gates: x.alloc(T * B * G3),
    hn: x.alloc(T * block),
    zin: put(x, randomArray(T * B * G3)),
    whh: put(x, randomArray(H * G3, 1 / 16)),
    bhn: put(x, randomArray(H, 0.1)),
    dzin: x.alloc(T * B * G3),
    dwhh: x.alloc(H * G3),
    dbhn: x.alloc(H),
    dstates: put(x, randomArray((T + 1) * block)),
  });
  const gruRef = gru(ref);
  tsBench(gruGroup, "gruForward", gruFwdFlop, 2, () => {
    const g = gruRef;
    ref.gruForward(g.states, g.gates, g.hn, g.zin, g.whh, g.bhn, T, B, H, 0);
  });
  tsBench(gruGroup, "gruBackward", gruBwdFlop, 2, () => {
    const g = gruRef;
    ref.fill(g.dzin, 0);
    ref.gruBackward(g.dzin, g.dwhh, g.dbhn, g.dstates, g.states, g.gates, g.hn, g.whh, T, B, H, 0);
  });
  for (const resetAfter of [0, 1] as const) {
    const variant = resetAfter === 0 ? "book" : "resetAfter 1";
    const g = gru(be), dsSaved = put(be, randomArray((T + 1) * block));
    wasmBench(gruGroup, `gruForward (${variant})`, gruFwdFlop, 100, () => {
      be.gruForward(g.states, g.gates, g.hn, g.zin, g.whh, g.bhn, T, B, H, resetAfter);
    });
    wasmBench(
      gruGroup,
      `gruBackward (${variant})`,
      gruBwdFlop,
      100,
      () => {
        be.gruBackward(
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
          resetAfter,
        );
      },
      () => {
        // dzin must be zero on entry; dstates is restored so values stay of the same size.
        be.fill(g.dzin, 0);
        be.copy(g.dstates, dsSaved);
      },
    );
  }

  const G4 = 4 * H;
  const lstmGroup = `lstm T=${T} B=${B} H=${H}`;
  const lstmFwdFlop = 2 * T * B * H * G4, lstmBwdFlop = 2 * lstmFwdFlop;
  const lstm = (x: Backend) => ({
    states: put(x, randomArray((T + 1) * block)),
    cells: put(x, randomArray((T + 1) * block)),
    gates: x.alloc(T * B * G4),
    zin: put(x, randomArray(T * B * G4)),
    whh: put(x, randomArray(H * G4, 1 / 16)),
    dzin: x.alloc(T * B * G4),
    dwhh: x.alloc(H * G4),
    dstates: put(x, randomArray((T + 1) * block)),
    dcells: x.alloc((T + 1) * block),
  });
  const lstmRef = lstm(ref);
  tsBench(lstmGroup, "lstmForward", lstmFwdFlop, 2, () => {
    const l = lstmRef;
    ref.lstmForward(l.states, l.cells, l.gates, l.zin, l.whh, T, B, H);
  });
  tsBench(lstmGroup, "lstmBackward", lstmBwdFlop, 2, () => {
    const l = lstmRef;
    ref.fill(l.dzin, 0);
    ref.fill(l.dcells, 0);
    ref.lstmBackward(
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
    );
  });
  const l = lstm(be), dsSaved = put(be, randomArray((T + 1) * block));
  wasmBench(lstmGroup, "lstmForward", lstmFwdFlop, 100, () => {
    be.lstmForward(l.states, l.cells, l.gates, l.zin, l.whh, T, B, H);
  });
  wasmBench(
    lstmGroup,
    "lstmBackward",
    lstmBwdFlop,
    100,
    () => {
      be.lstmBackward(
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
      );
    },
    () => {
      be.fill(l.dzin, 0);
      be.fill(l.dcells, 0);
      be.copy(l.dstates, dsSaved);
    },
  );
}

// Softmax with cross-entropy over the output logits (about 5 FLOP per element, exp counted as 1).
{
  const group = `softmaxXentForward ${TB}x${V}`;
  const logits = randomArray(TB * V, 5), probs = new Float32Array(TB * V);
  const targets = Int32Array.from({ length: TB }, (_, i) => (i * 7919) % V);
  const flop = 5 * TB * V;
  tsBench(group, "softmaxXentForward", flop, 10, () => {
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
    return loss;
  });
  const lw = wasmBuf(logits), pw = be.alloc(TB * V), tw = be.allocIndices(TB);
  be.writeIndices(tw, targets);
  wasmBench(group, "softmaxXentForward", flop, 200, () => {
    be.softmaxXentForward(pw, lw, tw, TB, V);
  });
}

// Adam over every parameter of the default model (about 12 FLOP per element, the square root
// and divisions counted as 1 each).
{
  const n = V * H + H * H + H + H * V + V;
  const group = `adamUpdate n=${n}`;
  const flop = 12 * n;
  const p = randomArray(n), g = randomArray(n), m = new Float32Array(n), v = new Float32Array(n);
  let step = 0;
  tsBench(group, "adamUpdate", flop, 20, () => {
    step++;
    const bc1 = 1 - 0.9 ** step, sqrtBc2 = Math.sqrt(1 - 0.999 ** step);
    for (let i = 0; i < n; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      p[i] -= (0.01 / bc1) * (m[i] / (Math.sqrt(v[i]) / sqrtBc2 + 1e-8));
    }
  });
  const pw = wasmBuf(p), gw = wasmBuf(g), mw = be.alloc(n), vw = be.alloc(n);
  let wasmStep = 0;
  wasmBench(group, "adamUpdate", flop, 200, () => {
    be.adamUpdate(pw, gw, mw, vw, n, 0.01, 0.9, 0.999, 1e-8, ++wasmStep);
  });
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
