/**
 * The generated kernel module: it needs no imports (so it loads anywhere with no permissions),
 * records the hash of the sources it was built from (a test fails as soon as `assembly/` changes
 * without a rebuild), decodes only the build a process uses, and is fresh: rebuilding
 * `assembly/` gives the committed bytes. That every kernel is exported is the kernel table's test.
 */
import assert from "node:assert/strict";
import { kernelBytes, KERNELS_SOURCE_HASH } from "../src/backend/_wasm/kernels.ts";
import { compileKernels, KERNEL_VARIANTS, sourceHash } from "../scripts/build_wasm.ts";
import { hasRelaxedSimd } from "../src/backend/wasm.ts";

const BUILDS = KERNEL_VARIANTS;

Deno.test("src/backend/_wasm/kernels.ts was built from the assembly/ sources as they are", async () => {
  assert.equal(
    KERNELS_SOURCE_HASH,
    await sourceHash(),
    "assembly/ (or asconfig.json, or the compiler pin) changed since the kernels were built; " +
      "run `deno task build:wasm`",
  );
});

Deno.test("the source hash changes when any assembly/ file changes", async () => {
  const before = await sourceHash();
  for (const file of ["assembly/clip.ts", "assembly/index.ts", "asconfig.json"]) {
    const edited = await sourceHash((name, text) => name === file ? text + "\n" : text);
    assert.notEqual(edited, before, file);
  }
});

Deno.test("importing the backend decodes only the build it runs", async () => {
  const probe = `
    import { createWasmBackend } from ${
    JSON.stringify(new URL("../src/backend/wasm.ts", import.meta.url).href)
  };
    const decoded = [];
    const atob0 = globalThis.atob;
    globalThis.atob = (s) => { decoded.push(s.length); return atob0(s); };
    const be = createWasmBackend();
    const x = be.alloc(4);
    be.tanhForward(x, x, 4);
    console.log(decoded.length);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", probe],
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "1");
});

Deno.test("hasRelaxedSimd() agrees with the engine's validation of the relaxed build", () => {
  assert.equal(
    hasRelaxedSimd(),
    WebAssembly.validate(kernelBytes("relaxed-simd") as Uint8Array<ArrayBuffer>),
  );
});

for (const variant of BUILDS) {
  const module = new WebAssembly.Module(kernelBytes(variant) as Uint8Array<ArrayBuffer>);

  // The threaded builds import the memory their instances share; the others import nothing.
  const imports = variant.startsWith("threads")
    ? [{ module: "env", name: "memory", kind: "memory" }]
    : [];
  Deno.test(`the ${variant} kernel module imports ${imports.length ? "only its memory" : "nothing"}`, () => {
    assert.deepEqual(WebAssembly.Module.imports(module), imports);
  });

  Deno.test(`the ${variant} module exports the host helpers`, () => {
    const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const helpers = ["heapBase", "useScratch", "scratchBytes", "matmulStrided", "softmaxXentRows"];
    for (const name of helpers) assert.ok(names.has(name), `missing export ${name}`);
  });

  Deno.test(`src/backend/_wasm/kernels.ts holds a fresh ${variant} build of assembly/`, async () => {
    const fresh = await compileKernels(variant);
    const bytes = kernelBytes(variant);
    const same = fresh.length === bytes.length && fresh.every((b, i) => b === bytes[i]);
    assert.ok(same, "src/backend/_wasm/kernels.ts is stale; run `deno task build:wasm`");
  });
}
