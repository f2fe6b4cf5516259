/**
 * Training: the loop (`train.ts`), its resume state (`state.ts`), the Adam optimizer (`adam.ts`)
 * and perplexity over a text (`evaluate.ts`). Clipping and the updates are kernels.
 *
 * @module
 */
export * from "./train.ts";
export * from "./state.ts";
export * from "./adam.ts";
export * from "./evaluate.ts";
