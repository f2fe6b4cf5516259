/**
 * Greedy generation with the default model's shapes (vocabulary 1027, hidden 256, vanilla RNN,
 * random weights: the cost does not depend on them), in characters generated per second.
 *
 * - `greedy, batch 1`: the baseline is a plain TypeScript loop over `Float32Array`s (one-hot row
 *   gather, `h W_hh`, tanh, `h W_hq + b_q`, argmax per character, the same model's weights);
 *   beside it `generate` on the WebAssembly backend, `generateStream` (what the edge example
 *   serves) and `generate` on the float64 reference backend.
 * - `greedy, batches`: `generate` (batch 1) as the baseline, `generateBatch` with 8 and 64
 *   prefixes (characters of all rows counted).
 * - `greedy, batch 1, 8 bits`: the same model quantised (`quantize`: its output product in 8 bits)
 *   against the float model; and, when the run ends, the two interleaved in one loop (the median
 *   of per-round ratios, measured before the benches), so that a phase of the machine falls on
 *   both alike.
 *
 * When the run ends a table of characters per second (best and median iteration) is printed on
 * stderr, so `deno bench --json` output stays valid JSON.
 *
 * Run with `deno bench -A bench/generate_bench.ts`.
 */
import { createReferenceBackend } from "../src/backend/reference.ts";
import { generate, generateBatch, generateStream } from "../src/generate/generate.ts";
import type { ModelConfig } from "../src/config/settings.ts";
import { createModel } from "../src/model/model.ts";
import { quantize } from "../src/model/quantize.ts";
import { Vocab } from "../src/text/vocab.ts";

const V = 1027, H = 256, LENGTH = 200;
const config: Partial<ModelConfig> = { vocabSize: V, hidden: H, activation: "tanh" };
const vocab = new Vocab(Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i)));
const model = createModel(config, { seed: 0, initScale: 0.1 });
// The same seed draws the same weights on either backend.
const reference = createModel(config, {
  seed: 0,
  initScale: 0.1,
  backend: createReferenceBackend(),
});
const small = await quantize(model);
const PREFIX = vocab.tokens[0] + vocab.tokens[1];
const prefixes = (n: number) => Array.from({ length: n }, (_, i) => vocab.tokens[i % V] + PREFIX);

/** Greedy generation as a plain TypeScript loop over the model's float32 weights. */
async function makeTsGenerate(): Promise<(prefix: string, length: number) => string> {
  const w = await model.getWeights();
  const [W_xh, W_hh, b_h, W_hq, b_q] = (["W_xh", "W_hh", "b_h", "W_hq", "b_q"] as const)
    .map((n) => Float32Array.from(w[n]));
  const h = new Float32Array(H), pre = new Float32Array(H), logits = new Float32Array(V);
  /** One step: h = tanh(W_xh[token] + h W_hh + b_h), then the argmax of h W_hq + b_q. */
  const step = (token: number): number => {
    for (let j = 0; j < H; j++) pre[j] = W_xh[token * H + j] + b_h[j];
    for (let i = 0; i < H; i++) {
      const hi = h[i], row = i * H;
      for (let j = 0; j < H; j++) pre[j] += hi * W_hh[row + j];
    }
    for (let j = 0; j < H; j++) h[j] = Math.tanh(pre[j]);
    logits.set(b_q);
    for (let i = 0; i < H; i++) {
      const hi = h[i], row = i * V;
      for (let v = 0; v < V; v++) logits[v] += hi * W_hq[row + v];
    }
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
    return best;
  };
  return (prefix, length) => {
    h.fill(0);
    const tokens = vocab.encode(Array.from(prefix));
    let next = 0;
    for (const t of tokens) next = step(t);
    let out = prefix;
    for (let k = 0; k < length; k++) {
      out += vocab.tokenAt(next);
      if (k < length - 1) next = step(next);
    }
    return out;
  };
}
const tsGenerate = await makeTsGenerate();

/** Per-iteration times and characters of each bench, for the table printed at the end. */
const timings = new Map<string, { chars: number; ms: number[] }>();

function bench(
  group: string,
  name: string,
  chars: number,
  n: number,
  run: () => unknown,
  baseline = false,
): void {
  const record = { chars, ms: [] as number[] };
  timings.set(`${group}: ${name}`, record);
  Deno.bench({
    name,
    group,
    baseline,
    n,
    warmup: 2,
    async fn(b) {
      b.start();
      const t0 = performance.now();
      await run();
      record.ms.push(performance.now() - t0);
      b.end();
    },
  });
}

bench(
  "greedy, batch 1",
  `ts loop, ${LENGTH} chars`,
  LENGTH,
  10,
  () => tsGenerate(PREFIX, LENGTH),
  true,
);
bench("greedy, batch 1", `wasm generate, ${LENGTH} chars`, LENGTH, 50, async () => {
  await generate(model, vocab, PREFIX, { length: LENGTH });
});
bench("greedy, batch 1", `wasm generateStream, ${LENGTH} chars`, LENGTH, 50, async () => {
  for await (const _ of generateStream(model, vocab, PREFIX, { length: LENGTH }));
});
bench(
  "greedy, batch 1",
  `reference (float64 TS) generate, ${LENGTH} chars`,
  LENGTH,
  5,
  async () => {
    await generate(reference, vocab, PREFIX, { length: LENGTH });
  },
);

bench("greedy, batches", `wasm batch 1, ${LENGTH} chars`, LENGTH, 50, async () => {
  await generate(model, vocab, PREFIX, { length: LENGTH });
}, true);
for (const B of [8, 64]) {
  const rows = prefixes(B);
  bench("greedy, batches", `wasm batch ${B}, ${B}x${LENGTH} chars`, B * LENGTH, 20, async () => {
    await generateBatch(model, vocab, rows, { length: LENGTH });
  });
}

bench("greedy, batch 1, 8 bits", `float32 generate, ${LENGTH} chars`, LENGTH, 50, async () => {
  await generate(model, vocab, PREFIX, { length: LENGTH });
}, true);
bench("greedy, batch 1, 8 bits", `8-bit generate, ${LENGTH} chars`, LENGTH, 50, async () => {
  await generate(small, vocab, PREFIX, { length: LENGTH });
});

/** Float against 8-bit, interleaved: characters per second of each, and the median ratio. */
async function interleaved(rounds: number): Promise<string> {
  const time = async (m: typeof model) => {
    const t0 = performance.now();
    await generate(m, vocab, PREFIX, { length: LENGTH });
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) await time(model), await time(small);
  const ratios: number[] = [], f: number[] = [], q: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = await time(model), b = await time(small);
    f.push(a), q.push(b), ratios.push(a / b);
  }
  const median = (x: number[]) => x.toSorted((u, v) => u - v)[x.length >> 1];
  const rate = (ms: number) => (LENGTH / ms * 1000).toFixed(0);
  return `8-bit against float32, batch-1 greedy, interleaved over ${rounds} rounds: ` +
    `${median(ratios).toFixed(2)}x (median ratio; float32 ${rate(median(f))}, 8-bit ` +
    `${rate(median(q))} characters/s)`;
}

// Measured before the benches (an unload listener cannot wait), printed with the table.
const interleavedResult = await interleaved(30);

globalThis.addEventListener("load", async () => {
  // A check, not a measurement: the TS loop and the WASM model choose the same characters.
  const a = tsGenerate(PREFIX, 50), b = await generate(model, vocab, PREFIX, { length: 50 });
  const same = Array.from(a).filter((c, i) => c === Array.from(b)[i]).length;
  console.error(`ts loop and wasm agree on ${same} of ${Array.from(a).length} characters`);
});

globalThis.addEventListener("unload", () => {
  const rows: string[] = [];
  for (const [name, { chars, ms }] of timings) {
    if (ms.length === 0) continue;
    const sorted = ms.toSorted((x, y) => x - y);
    const best = chars / sorted[0] * 1000, median = chars / sorted[sorted.length >> 1] * 1000;
    rows.push(
      `${name.padEnd(60)} best ${best.toFixed(0).padStart(8)}  median ${
        median.toFixed(0).padStart(8)
      }`,
    );
  }
  // stderr, so `deno bench --json` output on stdout stays valid JSON.
  if (rows.length > 0) console.error(`\ncharacters per second (single thread)\n${rows.join("\n")}`);
  console.error(interleavedResult);
});
