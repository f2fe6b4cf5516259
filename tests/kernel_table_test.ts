/**
 * The kernel table (src/backend/kernels.ts) against every place a kernel is named: the
 * AssemblyScript exports (the same parameters in the same order, a scalar twin beside each), the
 * compiled module, and every backend (each has every kernel, and each rejects a buffer shorter
 * than the table says, of the wrong kind, or missing). The Backend interface, the parity tests
 * (`PARITY` in kernels_test.ts) and the kernel benchmarks (`BENCHES` in kernels_bench.ts) are
 * held to the table by the compiler: each is a `Record<KernelName, ...>`.
 */
import assert from "node:assert/strict";
import { kernelBytes } from "../src/backend/_wasm/kernels.ts";
import { checkCall, KERNEL_NAMES, type KernelArg, KERNELS } from "../src/backend/kernels.ts";
import { createReferenceBackend } from "../src/backend/reference.ts";
import { createThreadedBackend } from "../src/backend/threads.ts";
import { type AnyBuf, type Backend, STATS_SLOTS } from "../src/backend/types.ts";
import { createNaiveWasmBackend, createWasmBackend } from "../src/backend/wasm.ts";
import { createWebGpuBackend, webGpuAvailable } from "../src/backend/webgpu.ts";

const ASSEMBLY = new URL("../assembly/", import.meta.url);

/** Every `export function name(a: T, b: U)` of the AssemblyScript sources: name → parameters. */
async function assemblyExports(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const entry of Deno.readDir(ASSEMBLY)) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, ASSEMBLY));
    for (const m of source.matchAll(/export function (\w+)\(([^)]*)\)/g)) {
      const params = m[2].split(",").map((p) => p.trim().split(":")[0].trim()).filter(Boolean);
      out.set(m[1], params);
    }
  }
  return out;
}

Deno.test("every kernel of the table is an AssemblyScript export with the table's parameters, in order, and a scalar twin", async () => {
  const exports = await assemblyExports();
  for (const name of KERNEL_NAMES) {
    const want = KERNELS[name].args.map((a: KernelArg) => a.name);
    assert.deepEqual(exports.get(name), want, `assembly/ ${name}`);
    assert.deepEqual(exports.get(`${name}Naive`), want, `assembly/ ${name}Naive`);
  }
});

Deno.test("every kernel of the table is exported by each build with the table's arity", () => {
  for (const build of ["simd", "relaxed-simd"] as const) {
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(kernelBytes(build) as Uint8Array<ArrayBuffer>),
      {},
    );
    const ex = instance.exports as Record<string, (...a: number[]) => unknown>;
    for (const name of KERNEL_NAMES) {
      for (const fn of [name, `${name}Naive`]) {
        assert.equal(typeof ex[fn], "function", `${build}: ${fn}`);
        assert.equal(ex[fn].length, KERNELS[name].args.length, `${build}: ${fn} arity`);
      }
    }
  }
});

/** Sizes for a call: small, distinct, and such that every table length is above 1. */
const SIZES: Readonly<Record<string, number>> = { m: 5, k: 3, n: 6, t: 2, b: 3, h: 4, v: 7 };

/** A valid call of `name` on `be`, and a buffer made to measure for each buffer argument. */
function validArgs(be: Backend, name: keyof typeof KERNELS): unknown[] {
  return KERNELS[name].args.map((arg: KernelArg) => {
    switch (arg.type) {
      case "size":
        return SIZES[arg.name];
      case "number":
        return arg.name === "step" ? 1 : 0.5;
      case "activation":
        return "tanh";
      case "variant":
        return "pytorch";
      case "packed": {
        const [k, n] = arg.shape(SIZES);
        return be.allocPacked(k, n);
      }
      case "float":
        return be.alloc(arg.length(SIZES));
      case "index":
        return be.allocIndices(arg.length(SIZES));
      case "scalar":
        return be.allocScalars(STATS_SLOTS);
    }
  });
}

/** A buffer like `buf` but one element short (or of a packed weight's wrong shape). */
function shortOf(be: Backend, arg: KernelArg): AnyBuf {
  switch (arg.type) {
    case "float":
      return be.alloc(arg.length(SIZES) - 1);
    case "index":
      return be.allocIndices(arg.length(SIZES) - 1);
    case "scalar":
      return be.allocScalars(STATS_SLOTS - 1);
    case "packed": {
      const [k, n] = arg.shape(SIZES);
      return be.allocPacked(k, n + 1);
    }
    default:
      throw new TypeError(`${arg.name} is not a buffer`);
  }
}

/** Another kind of buffer where `arg` takes one. */
function wrongKindOf(be: Backend, arg: KernelArg): AnyBuf {
  return arg.type === "float" ? be.allocIndices(1000) : be.alloc(1000);
}

const BACKENDS: [string, () => Backend | Promise<Backend>][] = [
  ["reference", createReferenceBackend],
  ["wasm", () => createWasmBackend()],
  ["wasm scalar twins", createNaiveWasmBackend],
  ["threads", () => createThreadedBackend({ threads: 2, minSplitWork: 1 })],
  // A software adapter will do: what is checked is the glue, not the speed.
  ...(await webGpuAdapterHere()
    ? [["WebGPU", () => createWebGpuBackend()] as [string, () => Promise<Backend>]]
    : []),
];

/** Whether WebGPU gives an adapter here; says so once when it does not. */
async function webGpuAdapterHere(): Promise<boolean> {
  const adapter = webGpuAvailable() ? await navigator.gpu.requestAdapter() : null;
  if (!adapter) console.log("kernel_table_test: no WebGPU adapter here; its backend is not run");
  return adapter !== null;
}

for (const [label, make] of BACKENDS) {
  Deno.test(`the ${label} backend runs every kernel of the table and rejects what the table rules out`, async () => {
    const be = await make();
    try {
      for (const name of KERNEL_NAMES) {
        const kernel = be[name] as (...a: unknown[]) => void;
        assert.equal(typeof kernel, "function", name);
        const args = validArgs(be, name);
        // The table's own check accepts the call it describes.
        checkCall(name, args, (buf, kind) => (buf as AnyBuf).kind === kind);
        kernel.apply(be, args);
        KERNELS[name].args.forEach((arg: KernelArg, i: number) => {
          if (arg.type === "size") {
            const bad = [...args];
            bad[i] = -1;
            assert.throws(() => kernel.apply(be, bad), RangeError, `${name}: ${arg.name} = -1`);
          }
          if (!("role" in arg)) return;
          const short = [...args];
          short[i] = shortOf(be, arg);
          assert.throws(() => kernel.apply(be, short), TypeError, `${name}: ${arg.name} short`);
          if (arg.type !== "packed") {
            const wrong = [...args];
            wrong[i] = wrongKindOf(be, arg);
            assert.throws(() => kernel.apply(be, wrong), TypeError, `${name}: ${arg.name} kind`);
          }
          const optional = "optional" in arg && arg.optional &&
            !("withVariant" in arg && arg.withVariant);
          if (!optional) {
            const missing = [...args];
            missing[i] = undefined;
            assert.throws(
              () => kernel.apply(be, missing),
              TypeError,
              `${name}: ${arg.name} missing`,
            );
          }
        });
      }
    } finally {
      be.dispose();
    }
  });
}

Deno.test("a buffer of another backend is refused by every backend", () => {
  const a = createWasmBackend(), b = createWasmBackend(), r = createReferenceBackend();
  const x = a.alloc(4), y = a.alloc(4);
  for (const be of [b, r]) assert.throws(() => be.tanhForward(y, x, 4), TypeError);
  assert.throws(() => a.tanhForward(r.alloc(4), x, 4), TypeError);
});

Deno.test("every backend refuses to free a view or the same buffer twice", async () => {
  for (const [label, make] of BACKENDS) {
    const be = await make();
    try {
      const a = be.alloc(16);
      assert.throws(() => be.free(be.view(a, 0, 8)), TypeError, `${label}: view`);
      be.free(a);
      assert.throws(() => be.free(a), TypeError, `${label}: twice`);
    } finally {
      be.dispose();
    }
  }
});
