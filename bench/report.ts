/**
 * The benchmark report (`deno task bench`): kernel GFLOP/s at the default model's shapes on 1 and
 * 2 threads, seconds per epoch of the default RNN, GRU and LSTM on 1 and 2 threads beside a plain
 * TypeScript epoch (the float64 reference backend) measured in the same run, and how an epoch's
 * time and the process's peak memory scale with corpus length, hidden size and batch size. It
 * prints a table headed by the machine's CPU line and writes `bench/results/report.json`; then
 * WebGPU beside WASM (`bench/webgpu_bench.ts`, `bench/results/webgpu.json`) and Chromium beside
 * Deno (`bench/browser_bench.ts`, `bench/results/browser.json`); then Deno, Node and Bun on the
 * npm build (`bench/runtimes_bench.ts`, `bench/results/runtimes.json`).
 *
 * Corpora are synthetic (the cost depends on sizes, not on the text): 10000 characters with the
 * Jay Chou run's vocabulary of 1027 unless a scaling row says otherwise. Each scaling point runs
 * in a fresh process (`--point`), so its peak memory is its own.
 *
 * Run with `deno task bench`, or `deno run -A bench/report.ts --quick` for a short smoke run.
 */
import { parseArgs } from "node:util";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createThreadedBackend, threadsAvailable } from "../src/backend/threads.ts";
import { type Backend, type CellKind, type FloatBuf, STATS_SLOTS } from "../src/backend/types.ts";
import { createWasmBackend, hasRelaxedSimd } from "../src/backend/wasm.ts";
import { buildCorpus, type Corpus } from "../src/text/corpus.ts";
import { createModel } from "../src/model/model.ts";
import { GATES } from "../src/model/params.ts";
import { Rng } from "../src/rng.ts";
import { train } from "../src/train/train.ts";

const V = 1027, H = 256, B = 32, T = 35, TB = T * B;

/** A synthetic corpus of `length` characters over `vocab` distinct ones (all of them used). */
function syntheticCorpus(length: number, vocab: number): Corpus {
  const rng = new Rng(0);
  const alphabet = Array.from({ length: vocab }, (_, i) => String.fromCodePoint(0x4e00 + i));
  return buildCorpus(
    Array.from({ length }, (_, i) => alphabet[i < vocab ? i : rng.nextInt(vocab)]),
  );
}

/** Multiply FLOPs of one epoch (see bench/epoch_bench.ts). */
function epochFlops(cell: CellKind, minibatches: number, hidden = H, vocab = V, rows = TB) {
  const G = GATES[cell].length * hidden;
  return minibatches * 2 * (3 * rows * hidden * G + 3 * rows * hidden * vocab);
}

/** Seconds of one training epoch of `model`'s shape on `corpus`. */
async function epochSeconds(
  corpus: Corpus,
  backend: Backend,
  cell: CellKind,
  hidden = H,
  batchSize = B,
): Promise<number> {
  const model = createModel(
    { vocabSize: corpus.vocab.size, hidden, activation: "tanh", cell },
    { seed: 0, backend },
  );
  const t0 = performance.now();
  await train(corpus, { model, epochs: 1, predEvery: 0, batchSize, numSteps: T });
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];

/** Peak resident memory of this process in MiB (VmHWM on Linux; current RSS elsewhere). */
function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** The CPU's model name (Linux), the core count and the runtime. */
function machine(): { cpu: string; cores: number; runtime: string; relaxedSimd: boolean } {
  let cpu = "unknown CPU";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    runtime: `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}) ${Deno.build.target}`,
    relaxedSimd: hasRelaxedSimd(),
  };
}

// ---------------------------------------------------------------------------------------------
// One scaling point, in its own process.

interface Point {
  chars: number;
  vocab: number;
  hidden: number;
  batch: number;
}

async function runPoint(p: Point): Promise<void> {
  const corpus = syntheticCorpus(p.chars, p.vocab);
  const backend = createWasmBackend();
  // A short warm-up (the kernels tier up), then one timed epoch.
  await epochSeconds(
    syntheticCorpus(Math.min(p.chars, 3000), p.vocab),
    backend,
    "rnn",
    p.hidden,
    Math.min(p.batch, 8),
  );
  const seconds = await epochSeconds(corpus, backend, "rnn", p.hidden, p.batch);
  console.log(JSON.stringify({ seconds, peakRssMiB: peakRssMiB() }));
}

async function measurePoint(p: Point): Promise<{ seconds: number; peakRssMiB: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--point", JSON.stringify(p)],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`scaling point ${JSON.stringify(p)} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

// ---------------------------------------------------------------------------------------------
// Kernels

function randomArray(n: number, scale = 1): Float32Array {
  const rng = new Rng(n);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

function load(be: Backend, data: Float32Array): FloatBuf {
  const buf = be.alloc(data.length);
  be.write(buf, data);
  return buf;
}

/**
 * Median GFLOP/s of `run` (`flop` each) over `reps` timed runs after a warm-up. Each run ends by
 * reading one element of what it wrote (`out`): a backend may still be computing when a kernel
 * call returns (the threaded one hands weight gradients to its workers), and a read waits for it.
 */
async function gflops(
  be: Backend,
  out: FloatBuf,
  flop: number,
  reps: number,
  run: () => void,
): Promise<number> {
  const last = be.view(out, 0, 1);
  for (let i = 0; i < Math.max(2, reps >> 2); i++) {
    run();
    await be.read(last);
  }
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    await be.read(last);
    ms.push(performance.now() - t0);
  }
  return flop / median(ms) / 1e6;
}

type Form = "matmulNN" | "matmulNT" | "matmulTN";
const SHAPES: [string, Form, number, number, number][] = [
  ["output projection H·W_hq", "matmulNN", TB, H, V],
  ["dH = dO·W_hqᵀ", "matmulNT", TB, V, H],
  ["dW_hq = Hᵀ·dO", "matmulTN", H, TB, V],
  ["dW_hh = Hᵀ·dZ", "matmulTN", H, TB, H],
  ["one recurrent step H·W_hh", "matmulNN", B, H, H],
  ["one recurrent step dZ·W_hhᵀ", "matmulNT", B, H, H],
];

async function kernelRow(be: Backend, quick: boolean): Promise<Record<string, number>> {
  const row: Record<string, number> = {};
  for (const [name, form, m, k, n] of SHAPES) {
    const a = load(be, randomArray(m * k)), b = load(be, randomArray(k * n, 0.1));
    const c = be.alloc(m * n);
    const flop = 2 * m * k * n;
    const reps = quick ? 5 : Math.max(15, Math.min(400, Math.round(3e10 / flop)));
    row[`${form} ${m}x${k}x${n}: ${name}`] = await gflops(
      be,
      c,
      flop,
      reps,
      () => be[form](c, a, b, m, k, n),
    );
  }
  const logits = load(be, randomArray(TB * V, 4)), probs = be.alloc(TB * V);
  const targets = be.allocIndices(TB), stats = be.allocScalars(STATS_SLOTS);
  be.writeIndices(targets, Int32Array.from({ length: TB }, (_, i) => (i * 31) % V));
  // Softmax: counted as 1 FLOP per element, its rate is in Gelem/s.
  row[`softmaxXentForward ${TB}x${V} (Gelem/s)`] = await gflops(
    be,
    probs,
    TB * V,
    quick ? 5 : 60,
    () => be.softmaxXentForward(probs, logits, targets, TB, V, stats),
  );
  row[`softmaxXentBackward ${TB}x${V} (Gelem/s)`] = await gflops(
    be,
    probs,
    TB * V,
    quick ? 5 : 60,
    () => be.softmaxXentBackward(probs, probs, targets, TB, V, 1 / TB),
  );
  return row;
}

// ---------------------------------------------------------------------------------------------
// The report

async function report(quick: boolean): Promise<void> {
  const info = machine();
  console.log(
    `${info.cpu}, ${info.cores} cores; ${info.runtime}; relaxed SIMD ${info.relaxedSimd}`,
  );
  const threadCounts = threadsAvailable() && info.cores > 1 ? [1, 2] : [1];
  const backends = new Map<number, Backend>();
  for (const t of threadCounts) {
    backends.set(t, t === 1 ? createWasmBackend() : await createThreadedBackend({ threads: t }));
  }

  // Kernels: GFLOP/s per shape and thread count.
  const kernels: Record<string, Record<string, number>> = {};
  for (const t of threadCounts) {
    kernels[`${t} thread${t > 1 ? "s" : ""}`] = await kernelRow(backends.get(t)!, quick);
  }

  // Epochs: each cell on each thread count, interleaved so the machine's phases hit all alike.
  const corpus = syntheticCorpus(10000, V);
  const minibatches = Math.floor((corpus.indices.length - 1) / TB);
  const cells: CellKind[] = ["rnn", "gru", "lstm"];
  const samples = new Map<string, number[]>();
  const rounds = quick ? 2 : 7;
  for (let r = 0; r < rounds; r++) {
    for (const cell of cells) {
      for (const t of threadCounts) {
        const s = await epochSeconds(corpus, backends.get(t)!, cell);
        // The first round warms up (the kernels tier up to optimised code).
        if (r > 0) {
          samples.set(`${cell}/${t}`, [...(samples.get(`${cell}/${t}`) ?? []), s]);
        }
      }
    }
  }
  const tsSeconds = quick ? NaN : await epochSeconds(corpus, createReferenceBackend(), "rnn");
  const epochs = cells.map((cell) => {
    const flop = epochFlops(cell, minibatches);
    const row: Record<string, number | string> = { cell, gflop: flop / 1e9 };
    for (const t of threadCounts) {
      const s = median(samples.get(`${cell}/${t}`)!);
      row[`seconds, ${t} thread${t > 1 ? "s" : ""}`] = s;
      row[`GFLOP/s, ${t} thread${t > 1 ? "s" : ""}`] = flop / s / 1e9;
    }
    return row;
  });
  const rnn1 = epochs[0]["seconds, 1 thread"] as number;
  for (const b of backends.values()) b.dispose();

  // Scaling, one fresh process per point, one thread.
  const base: Point = { chars: 10000, vocab: V, hidden: H, batch: B };
  const sweep = async (points: Point[]) => {
    const rows = [];
    for (const p of points) rows.push({ ...p, ...(await measurePoint(p)) });
    return rows;
  };
  const scaling = {
    corpusLength: await sweep(
      (quick ? [10000] : [10000, 63282, 178979]).map((chars) => ({ ...base, chars })),
    ),
    hidden: await sweep(
      (quick ? [128] : [128, 256, 512, 1024]).map((hidden) => ({ ...base, hidden })),
    ),
    batch: await sweep(
      (quick ? [4] : [1, 4, 16, 32, 64, 256]).map((batch) => ({ ...base, batch })),
    ),
  };

  const result = {
    date: new Date().toISOString(),
    machine: info,
    notes: "medians; kernels at the default model's shapes (B 32, T 35, H 256, V 1027); " +
      "epochs of 10000 synthetic characters, 8 minibatches; softmax rates in elements/s",
    kernels,
    epochs,
    typescriptEpoch: { seconds: tsSeconds, ratioToWasm1Thread: tsSeconds / rnn1 },
    scaling,
  };

  const f = (x: number, d = 2) => Number.isFinite(x) ? x.toFixed(d) : "-";
  console.log("\nkernels (GFLOP/s, median)");
  const names = Object.keys(Object.values(kernels)[0]);
  for (const name of names) {
    console.log(
      `  ${name.padEnd(58)} ${
        Object.keys(kernels).map((k) => `${k} ${f(kernels[k][name], 1).padStart(6)}`).join("  ")
      }`,
    );
  }
  console.log("\nepoch of the default model (seconds, median)");
  for (const e of epochs) {
    console.log(
      `  ${String(e.cell).padEnd(5)} ${f(e.gflop as number, 1)} GFLOP  ` +
        threadCounts.map((t) => {
          const k = `${t} thread${t > 1 ? "s" : ""}`;
          return `${k} ${f(e[`seconds, ${k}`] as number, 3)} s (${
            f(e[`GFLOP/s, ${k}`] as number, 1)
          } GFLOP/s)`;
        }).join("  "),
    );
  }
  console.log(
    `  plain TypeScript rnn epoch ${f(tsSeconds, 1)} s: ${
      f(tsSeconds / rnn1, 1)
    }x the 1-thread WASM epoch`,
  );
  console.log("\nscaling (vanilla RNN, 1 thread): seconds per epoch, peak RSS");
  for (const [what, rows] of Object.entries(scaling)) {
    for (const r of rows) {
      console.log(
        `  ${what.padEnd(13)} chars ${String(r.chars).padStart(6)} V ${r.vocab} H ${
          String(r.hidden).padStart(4)
        } ` +
          `B ${String(r.batch).padStart(3)}: ${f(r.seconds, 3).padStart(7)} s  ${
            f(r.peakRssMiB, 0).padStart(5)
          } MiB`,
      );
    }
  }
  if (!quick) {
    await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(
      new URL("./results/report.json", import.meta.url),
      JSON.stringify(result, null, 2) + "\n",
    );
    console.log("\nwrote bench/results/report.json");
  }
  // WebGPU beside WASM, in a process of its own (bench/webgpu_bench.ts, runnable by itself).
  console.log("\nWebGPU against WASM");
  const gpu = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./webgpu_bench.ts", import.meta.url).pathname,
      ...(quick
        ? ["--small"]
        : ["--json", new URL("./results/webgpu.json", import.meta.url).pathname]),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!gpu.success) throw new Error("bench/webgpu_bench.ts failed");
  // The browser: the default model's epoch in Chromium next to Deno's (bench/browser_bench.ts).
  console.log("\nChromium against Deno");
  const page = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./browser_bench.ts", import.meta.url).pathname,
      ...(quick ? [] : ["--json", new URL("./results/browser.json", import.meta.url).pathname]),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!page.success) throw new Error("bench/browser_bench.ts failed");
  // Deno, Node and Bun on the npm build (bench/runtimes_bench.ts).
  console.log("\nDeno, Node and Bun");
  const runtimes = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./runtimes_bench.ts", import.meta.url).pathname,
      ...(quick
        ? ["--quick"]
        : ["--json", new URL("./results/runtimes.json", import.meta.url).pathname]),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!runtimes.success) throw new Error("bench/runtimes_bench.ts failed");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { point: { type: "string" }, quick: { type: "boolean" } },
  });
  if (values.point) await runPoint(JSON.parse(values.point));
  else await report(values.quick === true);
}
