/**
 * The generated kernel module: it needs no imports (so it loads anywhere with no permissions),
 * exports every Backend kernel with its scalar twin, and is fresh: rebuilding `assembly/` gives
 * the committed bytes.
 */
import assert from "node:assert/strict";
import { KERNELS_WASM, KERNELS_WASM_RELAXED } from "../src/_wasm/kernels.ts";
import { compileKernels } from "../scripts/build_wasm.ts";

const KERNELS = [
  "matmulNN",
  "matmulNT",
  "matmulTN",
  "biasForward",
  "biasBackward",
  "dropoutForward",
  "dropoutBackward",
  "tanhForward",
  "tanhBackward",
  "sigmoidForward",
  "sigmoidBackward",
  "reluForward",
  "reluBackward",
  "gatherRowsForward",
  "gatherRowsBackward",
  "softmaxXentForward",
  "softmaxXentBackward",
  "rnnForward",
  "rnnBackward",
  "gruForward",
  "gruBackward",
  "lstmForward",
  "lstmBackward",
  "sumSquares",
  "scale",
  "sgdUpdate",
  "adamUpdate",
];

const BUILDS = [
  ["simd", KERNELS_WASM],
  ["relaxed-simd", KERNELS_WASM_RELAXED],
] as const;

for (const [variant, bytes] of BUILDS) {
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);

  Deno.test(`the ${variant} kernel module has no imports`, () => {
    assert.deepEqual(WebAssembly.Module.imports(module), []);
  });

  Deno.test(`the ${variant} module exports every kernel, its scalar twin, heapBase and memory`, () => {
    const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    for (const name of [...KERNELS, ...KERNELS.map((k) => `${k}Naive`), "heapBase", "memory"]) {
      assert.ok(names.has(name), `missing export ${name}`);
    }
  });

  Deno.test(`src/_wasm/kernels.ts holds a fresh ${variant} build of assembly/`, async () => {
    const fresh = await compileKernels(variant);
    const same = fresh.length === bytes.length && fresh.every((b, i) => b === bytes[i]);
    assert.ok(same, "src/_wasm/kernels.ts is stale; run `deno task build:wasm`");
  });
}
