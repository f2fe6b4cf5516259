/**
 * The one place the default backend is chosen.
 *
 * @module
 */
import type { Backend } from "./types.ts";
import { createWasmBackend } from "./wasm.ts";

let shared: Backend | undefined;

/**
 * The backend models run on when none is given: one WebAssembly SIMD backend (the relaxed-SIMD
 * build where the engine has it) shared by every caller in this JavaScript realm, created on first
 * use. Do not dispose of it; create a backend of your own to release its memory.
 *
 * @returns The shared backend.
 * @example Two models share the default backend
 * ```ts
 * import { defaultBackend } from "./default.ts";
 * console.log(defaultBackend() === defaultBackend(), defaultBackend().name); // true "wasm"
 * ```
 */
export function defaultBackend(): Backend {
  return shared ??= createWasmBackend();
}
