/**
 * WebGPU against WASM in one run: the time of each kernel at the default model's shapes, an epoch
 * of the default RNN (Jay Chou: 10000 characters, vocabulary 1027, hidden 256, minibatches of
 * 32 x 35), and greedy generation of 64 rows, each on both backends, with the adapter named. One
 * script that prints every figure, so that it runs unchanged wherever a GPU is:
 *
 *     deno run -A bench/webgpu_bench.ts [--json FILE] [--small]
 *
 * On a software adapter (Mesa's llvmpipe, which Deno gives without a GPU) the shapes are cut down
 * (hidden 32, vocabulary 64, one minibatch of 8 x 8) and the figures are for correctness only;
 * `--small` asks for those shapes anywhere. The targets, for a real GPU: an epoch at most 0.086 s
 * (5x the book's GPU figure of 0.43 s) and at least 500,000 characters a second in batch-64
 * generation.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Backend, FloatBuf } from "../src/backend/types.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import { createWebGpuBackend } from "../src/backend/webgpu.ts";
import { generateBatch } from "../src/generate/generate.ts";
import { createModel } from "../src/model/model.ts";
import { Rng } from "../src/rng.ts";
import { buildCorpus } from "../src/text/corpus.ts";
import { train } from "../src/train/train.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { json: { type: "string" }, small: { type: "boolean" } },
});

let gpu;
try {
  gpu = await createWebGpuBackend();
} catch (e) {
  console.log(`no WebGPU here (${(e as Error).message}); nothing to measure`);
  Deno.exit(0);
}
const wasm = createWasmBackend();
const small = values.small === true || gpu.fallback;
const [V, H, B, T] = small ? [64, 32, 8, 8] : [1027, 256, 32, 35];
const LENGTH = small ? 2 * T * B : 10000;
console.log(`WebGPU adapter: ${gpu.adapter}${gpu.fallback ? " (software)" : ""}`);
if (small) console.log("small shapes: these figures check that it runs, not how fast it is");
console.log(`shapes: V ${V}, H ${H}, B ${B}, T ${T}; corpus ${LENGTH} characters`);

/** Median milliseconds of `reps` runs of `f`, each ended by a read (the GPU's work is done). */
async function ms(be: Backend, f: () => void, reps: number): Promise<number> {
  const probe = be.alloc(1);
  const once = async () => {
    f();
    await be.read(probe);
  };
  await once();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  be.free(probe);
  return times.toSorted((a, b) => a - b)[reps >> 1];
}

const rows: { what: string; webgpu: number; wasm: number; unit: string }[] = [];
const row = (what: string, webgpu: number, wasmValue: number, unit: string) => {
  rows.push({ what, webgpu, wasm: wasmValue, unit });
  console.log(
    `${what.padEnd(34)} webgpu ${webgpu.toFixed(3).padStart(10)} ${unit}   wasm ${
      wasmValue.toFixed(3).padStart(10)
    } ${unit}`,
  );
};

// Kernels, at one minibatch's shapes: the whole-sequence products and the recurrent sweeps.
const TB = T * B, rnd = new Rng(1);
const filled = (be: Backend, n: number): FloatBuf => {
  const buf = be.alloc(n);
  be.write(buf, Float32Array.from({ length: n }, () => rnd.normal() * 0.1));
  return buf;
};
const kernels: [string, (be: Backend) => () => void][] = [
  ["matmulNN (output layer)", (be) => {
    const [c, a, b] = [be.alloc(TB * V), filled(be, TB * H), filled(be, H * V)];
    return () => be.matmulNN(c, a, b, TB, H, V);
  }],
  ["matmulNT (dH from logits)", (be) => {
    const [c, a, b] = [be.alloc(TB * H), filled(be, TB * V), filled(be, H * V)];
    return () => be.matmulNT(c, a, b, TB, V, H);
  }],
  ["matmulTN (dW_hq)", (be) => {
    const [c, a, b] = [be.alloc(H * V), filled(be, TB * H), filled(be, TB * V)];
    return () => be.matmulTN(c, a, b, H, TB, V);
  }],
  ["softmax cross-entropy forward", (be) => {
    const [z, t, s] = [filled(be, TB * V), be.allocIndices(TB), be.allocScalars(4)];
    return () => be.softmaxXentForward(z, z, t, TB, V, s);
  }],
  ["rnnForward (T steps)", (be) => {
    const [st, z, w] = [filled(be, (T + 1) * B * H), filled(be, TB * H), filled(be, H * H)];
    return () => be.rnnForward(st, z, w, T, B, H, "tanh");
  }],
  ["rnnBackward (T steps)", (be) => {
    const [dz, dw, ds] = [be.alloc(TB * H), be.alloc(H * H), filled(be, (T + 1) * B * H)];
    const [st, w] = [filled(be, (T + 1) * B * H), filled(be, H * H)];
    return () => {
      be.fill(dz, 0);
      be.rnnBackward(dz, dw, ds, st, w, T, B, H, "tanh");
    };
  }],
  ["lstmForward (T steps)", (be) => {
    const [st, c, g] = [
      filled(be, (T + 1) * B * H),
      filled(be, (T + 1) * B * H),
      be.alloc(TB * 4 * H),
    ];
    const [z, w] = [filled(be, TB * 4 * H), filled(be, H * 4 * H)];
    return () => be.lstmForward(st, c, g, z, w, T, B, H);
  }],
  ["adamUpdate (all parameters)", (be) => {
    const n = H * V + V + V * H + H * H + H;
    const [p, g, m, v] = [filled(be, n), filled(be, n), be.alloc(n), be.alloc(n)];
    let step = 0;
    return () => be.adamUpdate(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-8, ++step);
  }],
];
const reps = small ? 3 : 10;
for (const [what, make] of kernels) {
  row(what, await ms(gpu, make(gpu), reps), await ms(wasm, make(wasm), reps), "ms");
}

// An epoch of the default RNN, from the same weights on both.
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const corpus = buildCorpus(
  Array.from({ length: LENGTH }, (_, i) => alphabet[i < V ? i : rnd.nextInt(V)]),
);
const epoch = async (be: Backend) => {
  const model = createModel({ vocabSize: V, hidden: H }, { seed: 0, backend: be });
  const options = { model, epochs: 1, predEvery: 0, batchSize: B, numSteps: T };
  await train(corpus, options); // the first epoch compiles the shaders
  const t = performance.now();
  const result = await train(corpus, options);
  return { seconds: (performance.now() - t) / 1000, perplexity: result.perplexity };
};
const [eg, ew] = [await epoch(gpu), await epoch(wasm)];
row(small ? "epoch of a small RNN" : "epoch of the default RNN", eg.seconds, ew.seconds, "s");
console.log(
  `  perplexity after it: webgpu ${eg.perplexity.toFixed(4)}, wasm ${ew.perplexity.toFixed(4)}`,
);

// Greedy generation of 64 rows.
const generation = async (be: Backend) => {
  const model = createModel({ vocabSize: V, hidden: H }, { seed: 2, backend: be, initScale: 0.1 });
  const prefixes = Array.from({ length: 64 }, (_, i) => alphabet[i % V]);
  const length = small ? 40 : 500;
  await generateBatch(model, corpus.vocab, prefixes, { length: 8 });
  const t = performance.now();
  const texts = await generateBatch(model, corpus.vocab, prefixes, { length });
  return { rate: (64 * length) / ((performance.now() - t) / 1000), texts };
};
const [gg, gw] = [await generation(gpu), await generation(wasm)];
row("greedy generation, 64 rows", gg.rate / 1000, gw.rate / 1000, "k chars/s");
console.log(`  the same texts on both: ${JSON.stringify(gg.texts) === JSON.stringify(gw.texts)}`);
if (!small) {
  console.log(
    `targets: epoch <= 0.086 s (${eg.seconds <= 0.086 ? "met" : "not met"}), ` +
      `generation >= 500k chars/s (${gg.rate >= 500_000 ? "met" : "not met"})`,
  );
}
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ adapter: gpu.adapter, fallback: gpu.fallback, small, rows }, null, 2) + "\n",
  );
}
gpu.dispose();
wasm.dispose();
