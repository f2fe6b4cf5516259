// One runtime's figures for bench/runtimes_bench.ts, against the npm build (plain JavaScript, so
// that Deno, Node and Bun run the same file). Prints one JSON line.
// Usage: <runtime> _runtime_job.mjs ENTRY [--quick]
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const entry = args.find((a) => !a.startsWith("--"));
const lib = await import(pathToFileURL(entry).href);

const V = 1027, H = 256, B = 32, T = 35;
const median = (xs) => xs.toSorted((a, b) => a - b)[(xs.length - 1) >> 1];

// A synthetic corpus of 10000 characters over the Jay Chou run's vocabulary of 1027.
const rng = new lib.Rng(0);
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const text = Array.from({ length: 10000 }, (_, i) => alphabet[i < V ? i : rng.nextInt(V)]).join("");
const corpus = lib.textCorpus(text);

let relaxedSimd = true;
try {
  lib.createWasmBackend({ relaxedSimd: true }).dispose();
} catch {
  relaxedSimd = false;
}

/** Median GFLOP/s of an m×k · k×n product on the default backend. */
async function gflops(m, k, n, reps) {
  const be = lib.createWasmBackend();
  const a = be.alloc(m * k), b = be.alloc(k * n), c = be.alloc(m * n);
  be.write(a, Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)));
  be.write(b, Float32Array.from({ length: k * n }, (_, i) => Math.cos(i)));
  // Enough products per timing for about 20 ms of work.
  const inner = Math.max(1, Math.round(2e8 / (2 * m * k * n)));
  const rates = [];
  for (let r = 0; r < reps + 1; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) be.matmulNN(c, a, b, m, k, n);
    await be.read(c);
    const s = (performance.now() - t0) / 1000;
    if (r > 0) rates.push((2 * m * k * n * inner) / s / 1e9);
  }
  be.dispose();
  return median(rates);
}

/** Greedy batch-1 generation of the default-size model: median characters per second. */
async function greedy(reps) {
  const model = lib.createModel({ vocabSize: corpus.vocab.size, hidden: H }, { seed: 0 });
  const length = 2000, rates = [];
  for (let r = 0; r < reps + 1; r++) {
    const t0 = performance.now();
    await lib.generate(model, corpus.vocab, alphabet[0], { length });
    if (r > 0) rates.push(length / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

/** The default RNN's epoch: the median of epochs 2 onwards (the first warms up), seconds. */
async function epoch(threads, epochs) {
  const backend = threads > 1
    ? await lib.createThreadedBackend({ threads })
    : lib.createWasmBackend();
  try {
    const { history } = await lib.train(corpus, {
      backend,
      hidden: H,
      batchSize: B,
      numSteps: T,
      epochs,
      predEvery: 0,
    });
    return median(history.slice(1).map((h) => h.seconds));
  } finally {
    backend.dispose();
  }
}

const reps = quick ? 2 : 5, epochs = quick ? 2 : 6;
const result = {
  relaxedSimd,
  greedyCharsPerSecond: await greedy(reps),
  largeGflops: await gflops(T * B, H, V, reps),
  fewRowGflops: await gflops(1, H, V, reps),
  epochSeconds1: await epoch(1, epochs),
  epochSeconds2: lib.threadsAvailable() ? await epoch(2, epochs) : null,
};
console.log(JSON.stringify(result));
