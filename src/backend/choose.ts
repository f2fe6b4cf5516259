/**
 * Choosing between WebGPU and WebAssembly: `auto` takes WebGPU only where the runtime gives a
 * hardware adapter (a software one, such as Mesa's llvmpipe, is far slower than the WASM kernels),
 * `webgpu` takes any adapter, software included, and `wasm` never looks. Nothing here touches
 * `navigator.gpu` until it is called, so a runtime without WebGPU (an edge function) imports it
 * safely.
 *
 * @module
 */
import { createWebGpuBackend, type WebGpuBackend } from "./webgpu.ts";

/** Where a job runs: `"auto"`, `"wasm"` or `"webgpu"`. */
export type BackendChoice = "auto" | "wasm" | "webgpu";

/** The choices, for flags and messages. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "wasm", "webgpu"];

/**
 * The WebGPU backend a choice asks for, or `undefined` when the job runs on WebAssembly.
 *
 * @param choice `"auto"`: WebGPU on a hardware adapter, else WASM; `"webgpu"`: WebGPU on any
 * adapter; `"wasm"`: WASM.
 * @returns The WebGPU backend (dispose of it when done), or `undefined`.
 * @throws {Error} For `"webgpu"` where the runtime has no WebGPU or no adapter (the message says
 * which).
 * @example WASM unless this machine has a GPU
 * ```ts
 * import { webGpuFor } from "./choose.ts";
 * const gpu = await webGpuFor("auto");
 * console.log(gpu === undefined || gpu.name === "webgpu"); // true
 * gpu?.dispose();
 * ```
 */
export async function webGpuFor(choice: BackendChoice): Promise<WebGpuBackend | undefined> {
  if (choice === "wasm") return undefined;
  if (choice === "webgpu") return await createWebGpuBackend({ allowFallback: true });
  try {
    return await createWebGpuBackend({ allowFallback: false });
  } catch {
    // No WebGPU, no adapter, or a software one: the WASM kernels are the faster choice.
    return undefined;
  }
}
