/**
 * The generated kernel module: it needs no imports (so it loads anywhere with no permissions),
 * exports every Backend kernel with its scalar twin, and is fresh: rebuilding `assembly/` gives
 * the committed bytes.
 */
import assert from "node:assert/strict";
import {
  KERNELS_WASM,
  KERNELS_WASM_RELAXED,
  KERNELS_WASM_THREADS,
} from "../src/backend/_wasm/kernels.ts";
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
  "packedSize",
  "packWeights",
  "matmulPacked",
];

const BUILDS = [
  ["simd", KERNELS_WASM],
  ["relaxed-simd", KERNELS_WASM_RELAXED],
  ["threads", KERNELS_WASM_THREADS],
] as const;

for (const [variant, bytes] of BUILDS) {
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);

  // The threaded build imports the memory its instances share; the others import nothing.
  const imports = variant === "threads" ? [{ module: "env", name: "memory", kind: "memory" }] : [];
  Deno.test(`the ${variant} kernel module imports ${imports.length ? "only its memory" : "nothing"}`, () => {
    assert.deepEqual(WebAssembly.Module.imports(module), imports);
  });

  Deno.test(`the ${variant} module exports every kernel, its scalar twin and the host helpers`, () => {
    const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const extra = ["heapBase", "useScratch", "scratchBytes", "matmulStrided", "softmaxXentRows"];
    for (const name of [...KERNELS, ...KERNELS.map((k) => `${k}Naive`), ...extra]) {
      assert.ok(names.has(name), `missing export ${name}`);
    }
  });

  Deno.test(`src/backend/_wasm/kernels.ts holds a fresh ${variant} build of assembly/`, async () => {
    const fresh = await compileKernels(variant);
    const same = fresh.length === bytes.length && fresh.every((b, i) => b === bytes[i]);
    assert.ok(same, "src/backend/_wasm/kernels.ts is stale; run `deno task build:wasm`");
  });
}
