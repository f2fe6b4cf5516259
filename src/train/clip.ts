/**
 * Gradient clipping by global norm, as in the book's `grad_clipping`: when the norm of all
 * gradients together exceeds `theta`, scale them all by `theta / norm`.
 *
 * @module
 */
import type { Backend, Buf } from "../backend/types.ts";

/**
 * Clips `grads` in place to a global norm of at most `theta`, keeping their direction.
 *
 * @param backend The backend holding the buffer.
 * @param grads All gradients, contiguous.
 * @param n Number of elements.
 * @param theta Largest allowed norm; 0 turns clipping off.
 * @returns The norm before clipping (NaN or Infinity when the gradients are not finite; they are
 *   then left as they are).
 * @example Clip a vector of norm 5 to norm 1
 * ```ts
 * import { createReferenceBackend } from "../backend/reference.ts";
 * import { clipGradNorm } from "./clip.ts";
 * const be = createReferenceBackend();
 * const g = be.alloc(2);
 * be.write(g, [3, 4]);
 * console.log(clipGradNorm(be, g, 2, 1), Array.from(be.read(g))); // 5 [0.6, 0.8]
 * ```
 */
export function clipGradNorm(backend: Backend, grads: Buf, n: number, theta: number): number {
  const norm = Math.sqrt(backend.sumSquares(grads, n));
  if (theta > 0 && Number.isFinite(norm) && norm > theta) backend.scale(grads, n, theta / norm);
  return norm;
}
