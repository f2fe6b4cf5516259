/**
 * Backends: where the numbers are computed. `types.ts` is the interface (Backend v2: typed
 * handles, asynchronous reads, no host values from kernels), `kernels.ts` the one kernel table
 * every backend, test and benchmark is checked against, `reference.ts` the float64 oracle,
 * `wasm.ts` the AssemblyScript kernels (inlined in `_wasm/kernels.ts`, generated), `threads.ts`
 * the same kernels on several threads, `webgpu.ts` (with `webgpu_queue.ts`, `webgpu_shaders.ts`) every kernel as
 * WGSL compute shaders, `choose.ts` WebGPU or WASM (`auto`), `default.ts` the one default.
 *
 * @module
 */
export * from "./types.ts";
export { checkCall, KERNEL_NAMES, type KernelArg, type KernelName, KERNELS } from "./kernels.ts";
export { defaultBackend } from "./default.ts";
export { createReferenceBackend } from "./reference.ts";
export {
  createNaiveWasmBackend,
  createWasmBackend,
  hasRelaxedSimd,
  type WasmBackendOptions,
} from "./wasm.ts";
export {
  createThreadedBackend,
  type ThreadedBackend,
  type ThreadedBackendOptions,
  threadsAvailable,
} from "./threads.ts";
export {
  createWebGpuBackend,
  DeviceLostError,
  webGpuAvailable,
  type WebGpuBackend,
  webGpuBackendOn,
  type WebGpuBackendOptions,
} from "./webgpu.ts";
export { BACKEND_CHOICES, type BackendChoice, webGpuFor } from "./choose.ts";
