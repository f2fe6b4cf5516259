/**
 * The WebGPU backend beyond single kernels (those are in `kernels_test.ts`): gradients of whole
 * models against the float64 reference (whose gradients are checked against central finite
 * differences in `gradient_check_test.ts`, and again here on a few weights) and against WASM;
 * training and generation through the library and the command line, on WebGPU and on WASM; and a
 * lost device. On this machine the adapter is a software one (Mesa's llvmpipe): right for
 * correctness, slow, so the models are small. Where there is no adapter at all the tests say so
 * and are skipped.
 */
import assert from "node:assert/strict";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { Backend } from "../src/backend/types.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import {
  createWebGpuBackend,
  DeviceLostError,
  webGpuAvailable,
  webGpuBackendOn,
} from "../src/backend/webgpu.ts";
import { generate, generateBatch } from "../src/generate/generate.ts";
import { createModel } from "../src/model/model.ts";
import { saveCheckpoint } from "../src/io/checkpoint.ts";
import { textCorpus } from "../src/text/text.ts";
import { train } from "../src/train/train.ts";
import { assertUsageError, cli, SMALL_MODEL } from "./_cli.ts";
import {
  drawProblem,
  lossAndGradients,
  lossSum,
  relativeError,
  setUp,
  type Sizes,
} from "./_helpers.ts";

const adapter = webGpuAvailable() ? await navigator.gpu.requestAdapter() : null;
const ignore = adapter === null;
if (ignore) console.log("webgpu_test: no WebGPU adapter here; these tests are skipped");

const TEXT = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(12);

/** The sizes whose gradients are compared: every cell and variant, one and two layers. */
const MODELS: Sizes[] = [
  { V: 7, H: 5, T: 4, B: 3, activation: "tanh", cell: "rnn" },
  { V: 6, H: 4, T: 3, B: 2, activation: "relu", cell: "rnn", layers: 2 },
  { V: 5, H: 6, T: 3, B: 2, activation: "tanh", cell: "gru", gruVariant: "book", layers: 2 },
  { V: 9, H: 3, T: 5, B: 1, activation: "tanh", cell: "gru", gruVariant: "pytorch" },
  { V: 6, H: 5, T: 4, B: 2, activation: "tanh", cell: "lstm", layers: 2 },
];

Deno.test({
  name: "WebGPU gradients of whole models equal the float64 reference's and WASM's",
  ignore,
  fn: async () => {
    const gpu = await createWebGpuBackend();
    try {
      for (const sizes of MODELS) {
        const problem = drawProblem(sizes, 7);
        const on = async (be: Backend) => {
          const { model, ws } = setUp(problem, be);
          return await lossAndGradients(model, ws, sizes.T);
        };
        const [g, r, w] = [
          await on(gpu),
          await on(createReferenceBackend()),
          await on(createWasmBackend()),
        ];
        const label = `${sizes.cell} x${sizes.layers ?? 1} ${sizes.gruVariant ?? ""}`;
        for (const [other, name] of [[r, "reference"], [w, "wasm"]] as const) {
          assert.ok(relativeError(g.loss, other.loss, 1e-6) < 1e-6, `${label}: loss vs ${name}`);
          for (
            const [key, a, b] of [
              ["grads", g.grads, other.grads],
              ["dh0", g.dh0, other.dh0],
              ...(g.dc0 ? [["dc0", g.dc0, other.dc0!] as const] : []),
            ] as const
          ) {
            assert.equal(a.length, b.length);
            for (let i = 0; i < a.length; i++) {
              // float32 sums in another order: agreement to 1e-5 relative, or 1e-7 near zero.
              assert.ok(
                relativeError(a[i], b[i], 1e-2) < 1e-5,
                `${label}: ${key}[${i}] ${a[i]} vs ${name} ${b[i]}`,
              );
            }
          }
        }
        // And the reference's gradients against central differences of its loss, on a few weights.
        const ref = createReferenceBackend(), { model, ws } = setUp(problem, ref);
        const n = sizes.T * sizes.B, eps = 1e-5;
        for (const i of [0, Math.floor(problem.params.length / 2), problem.params.length - 1]) {
          const at = async (d: number) => {
            const p = Float64Array.from(problem.params);
            p[i] += d;
            model.loadParams(p);
            return (await lossSum(model, ws, sizes.T)) / n;
          };
          const numeric = (await at(eps) - await at(-eps)) / (2 * eps);
          assert.ok(relativeError(g.grads[i], numeric, 1e-3) < 1e-4, `${label}: param ${i}`);
        }
      }
    } finally {
      gpu.dispose();
    }
  },
});

Deno.test({
  name: "training 3 epochs on WebGPU ends within 1e-3 of WASM, and both generate the same text",
  ignore,
  fn: async () => {
    const corpus = textCorpus(TEXT);
    const options = {
      hidden: 16,
      epochs: 3,
      batchSize: 4,
      numSteps: 8,
      lr: 1,
      clip: 1,
      seed: 3,
      predEvery: 0,
      cell: "gru" as const,
      sampling: "sequential" as const,
    };
    const gpu = await createWebGpuBackend();
    try {
      const onGpu = await train(corpus, { ...options, backend: gpu });
      const onWasm = await train(corpus, { ...options, backend: createWasmBackend() });
      onGpu.history.forEach((r, i) => {
        const err = Math.abs(r.perplexity - onWasm.history[i].perplexity) /
          onWasm.history[i].perplexity;
        assert.ok(
          err < 1e-3,
          `epoch ${r.epoch}: ${r.perplexity} vs ${onWasm.history[i].perplexity}`,
        );
      });
      // The model trained on the GPU, read back and run on WASM, gives the GPU's greedy text.
      const dir = await Deno.makeTempDir();
      try {
        const path = `${dir}/gpu.safetensors`;
        await saveCheckpoint(path, { model: onGpu.model, vocab: corpus.vocab, text: corpus.text });
        const { loadCheckpoint } = await import("../src/io/checkpoint.ts");
        const back = await loadCheckpoint(path);
        const a = await generate(onGpu.model, corpus.vocab, "分开", { length: 30 });
        const b = await generate(back.model, back.vocab, "分开", { length: 30 });
        assert.equal(a, b);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      gpu.dispose();
    }
  },
});

Deno.test({
  name: "the CLI trains and generates with --backend webgpu as with wasm, and names the backend",
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const corpus = `${dir}/lyrics.txt`;
      await Deno.writeTextFile(corpus, TEXT);
      const run = (backend: string) =>
        cli(
          "train",
          "--corpus",
          corpus,
          ...SMALL_MODEL,
          "--epochs",
          "3",
          "--max-tokens",
          "0",
          "--pred-every",
          "0",
          "--backend",
          backend,
          "--save",
          `${dir}/${backend}.safetensors`,
          "--json",
        );
      const [g, w] = [await run("webgpu"), await run("wasm")];
      assert.equal(g.code, 0, g.stderr);
      assert.equal(w.code, 0, w.stderr);
      const last = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      const [sg, sw] = [last(g), last(w)];
      assert.match(sg.backend, /^webgpu \(.+\)$/);
      assert.match(sw.backend, /^wasm \(\d+ threads?\)$/);
      assert.ok(
        Math.abs(sg.perplexity - sw.perplexity) / sw.perplexity < 1e-3,
        `${sg.perplexity} vs ${sw.perplexity}`,
      );
      // The checkpoint written from the GPU generates the same text on both backends.
      const gen = (backend: string) =>
        cli(
          "generate",
          "--model",
          `${dir}/webgpu.safetensors`,
          "--prefix",
          "分开",
          "--prefix",
          "窗外",
          "--backend",
          backend,
        );
      const [a, b] = [await gen("webgpu"), await gen("wasm")];
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.stdout, b.stdout);
      // Without --backend this machine's software adapter is passed over, and the first line says so.
      const auto = await cli(
        "train",
        "--corpus",
        corpus,
        ...SMALL_MODEL,
        "--epochs",
        "1",
        "--max-tokens",
        "0",
      );
      assert.equal(auto.code, 0, auto.stderr);
      const first = auto.stdout.split("\n")[0];
      if (adapter!.info.isFallbackAdapter) assert.match(first, /, on wasm \(\d+ threads?\)$/);
      else assert.match(first, /, on webgpu \(/);
      assertUsageError(
        await cli("train", "--corpus", corpus, "--backend", "webgpu", "--threads", "2"),
        /--threads counts WASM threads; drop it, or use --backend wasm/,
      );
      assertUsageError(
        await cli("train", "--corpus", corpus, "--backend", "gpu"),
        /--backend must be one of auto, wasm, webgpu, got "gpu"/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a lost device stops training with DeviceLostError and leaves the last checkpoint whole",
  ignore,
  fn: async () => {
    const device = await adapter!.requestDevice();
    const gpu = webGpuBackendOn(device, "test device");
    const corpus = textCorpus(TEXT);
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/m.safetensors`;
      const options = { hidden: 8, batchSize: 4, numSteps: 8, lr: 1, predEvery: 0, backend: gpu };
      const first = await train(corpus, { ...options, epochs: 1 });
      await saveCheckpoint(path, { model: first.model, vocab: corpus.vocab, text: corpus.text });
      const saved = await Deno.readFile(path);
      device.destroy();
      await device.lost;
      await assert.rejects(
        train(corpus, { ...options, epochs: 2, model: first.model, resume: first.state }),
        (e: unknown) => e instanceof DeviceLostError && /the GPU device was lost/.test(e.message),
      );
      await assert.rejects(
        saveCheckpoint(path, { model: first.model, vocab: corpus.vocab, text: corpus.text }),
        DeviceLostError,
      );
      assert.deepEqual(await Deno.readFile(path), saved);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.safetensors"]);
    } finally {
      gpu.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "greedy batches on WebGPU run ahead of the reads and give WASM's text, stop strings too",
  ignore,
  fn: async () => {
    const corpus = textCorpus(TEXT);
    const gpu = await createWebGpuBackend();
    try {
      const options = { hidden: 16, epochs: 2, batchSize: 4, numSteps: 8, lr: 1, seed: 5 };
      const trained = await train(corpus, {
        ...options,
        predEvery: 0,
        backend: createWasmBackend(),
      });
      const weights = await trained.model.getWeights();
      const onGpu = createModel(trained.model.config, { backend: gpu, initScale: 0 });
      onGpu.setWeights(weights);
      let reads = 0;
      const read = gpu.readIndices.bind(gpu);
      gpu.readIndices = (...args) => (reads++, read(...args));
      const prefixes = ["分开", "不分开的是我", "窗"];
      for (const o of [{ length: 70 }, { length: 70, stop: ["的"] }]) {
        reads = 0;
        const want = await generateBatch(trained.model, corpus.vocab, prefixes, o);
        const got = await generateBatch(onGpu, corpus.vocab, prefixes, o);
        assert.deepEqual(got, want);
        if (!o.stop) {
          // The longest prefix's 5 forced steps, then 70 tokens in chunks of 32: 3 reads, not 70.
          assert.ok(reads <= 5 + 3, `${reads} reads`);
        }
      }
    } finally {
      gpu.dispose();
    }
  },
});
