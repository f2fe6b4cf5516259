import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { commandBackend } from "./backend.ts";

/** Runs `f` with `navigator.gpu` hidden by an own property, as in a runtime without WebGPU. */
async function withoutWebGpu<T>(f: () => Promise<T>): Promise<T> {
  Object.defineProperty(navigator, "gpu", { value: undefined, configurable: true });
  try {
    return await f();
  } finally {
    // The runtime's getter lives on the prototype: removing the own property brings it back.
    delete (navigator as unknown as Record<string, unknown>).gpu;
  }
}

Deno.test("without WebGPU, auto runs on WASM and --backend webgpu is one usage error", async () => {
  await withoutWebGpu(async () => {
    const auto = await commandBackend({ threads: "1" }, true);
    assert.equal(auto.backend, undefined);
    assert.equal(auto.label, "wasm (1 thread)");
    assert.equal(
      (await commandBackend({ backend: "auto", threads: "1" }, true)).label,
      "wasm (1 thread)",
    );
    await assert.rejects(commandBackend({ backend: "webgpu" }, true), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(
        e.message,
        /^--backend webgpu: this runtime has no WebGPU \(navigator\.gpu\); use --backend wasm or auto$/,
      );
      return true;
    });
  });
});

Deno.test("the library imports and trains in a runtime without navigator.gpu", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const code = `Object.defineProperty(navigator, "gpu", { value: undefined });
const m = await import(${JSON.stringify(mod)});
const corpus = m.textCorpus("abcabcabc".repeat(20));
const r = await m.train(corpus, { hidden: 4, epochs: 1, batchSize: 2, numSteps: 4, predEvery: 0 });
console.log(await m.webGpuFor("auto"), Number.isFinite(r.perplexity));`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.equal(text.trim(), "undefined true");
});
