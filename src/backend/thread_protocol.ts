/**
 * The control block the threaded backend and its workers share (int32 slots in the shared
 * memory): a sequence number the backend bumps to post work, per worker an operation with its
 * arguments, and per worker the sequence number it finished and whether it failed.
 *
 * @module
 */

/** A bound kernel export. */
export type Fn = (...args: number[]) => number;

/** Operations a worker runs. */
export const OP = {
  /** `matmulStrided(c, ldc, a, lda, b, ldb, m, k, n, transA, transB)` on a block. */
  gemm: 1,
  /** `softmaxXentRows(probs, logits, targets, m, v, rowLoss)` on a block of rows. */
  softmaxRows: 2,
  /** `softmaxXentBackward(dlogits, probs, targets, m, v, scale)` on a block of rows. */
  softmaxBackward: 3,
  /** Leave the loop (the backend is closing). */
  exit: 4,
  /**
   * A product's column blocks, claimed one at a time until none is left (see
   * {@linkcode runClaimedBlocks}): `matmulStrided`'s arguments, then the block width.
   */
  gemmClaimed: 5,
  /** `rnnForwardRows(states, zin, whh, t, b, h, act, whhPacked, r0, r1)`: a block of rows. */
  rnnRows: 6,
  /** `gruForwardRows(states, gates, hn, zin, whh, bhn, t, b, h, resetAfter, whhPacked, r0, r1)`. */
  gruRows: 7,
  /** `lstmForwardRows(states, cells, gates, zin, whh, t, b, h, whhPacked, r0, r1)`. */
  lstmRows: 8,
} as const;

/** The kernel export behind each row-block operation, and how many arguments it takes. */
export const ROW_KERNELS: Readonly<Record<number, readonly [string, number]>> = {
  [OP.rnnRows]: ["rnnForwardRows", 10],
  [OP.gruRows]: ["gruForwardRows", 13],
  [OP.lstmRows]: ["lstmForwardRows", 11],
};

/** Slot layout of the control block, in int32 elements. */
export const CONTROL = {
  /** Bumped by the backend to post work to every worker. */
  sequence: 0,
  /** The next column block of an OP.gemmClaimed product to take. */
  claim: 1,
  /** Per worker: the last sequence number finished. */
  done: 16,
  /** Per worker: 1 when its last operation threw. */
  failed: 32,
  /** Per worker: the operation, then its arguments. */
  args: 48,
  /** Int32 slots per worker's operation and arguments. */
  argsPerSlot: 16,
  /** Workers the block has room for. */
  maxWorkers: 15,
  /** Int32 slots in all. */
  ints: 48 + 15 * 16,
  /** Polls of the sequence number before a worker (or the backend) sleeps on it. */
  spin: 5000,
} as const;

/**
 * Runs column blocks of one product, `matmulStrided(c, ldc, a, lda, b, ldb, m, k, n, ta, tb)`,
 * `width` columns each (a multiple of 8, so every block computes its elements as the whole
 * product would), taking the next block from the control block's claim counter until every block
 * is taken. Each thread that calls it takes whatever is left, so threads that start late share
 * the product with those that started early.
 */
export function runClaimedBlocks(
  matmulStrided: Fn,
  ctl: Int32Array,
  args: ArrayLike<number>,
): void {
  const [c, ldc, a, lda, b, ldb, m, k, n, ta, tb, width] = Array.from(args);
  for (;;) {
    const lo = Atomics.add(ctl, CONTROL.claim, 1) * width;
    if (lo >= n) return;
    const bAt = b + 4 * (tb ? lo * ldb : lo);
    matmulStrided(c + 4 * lo, ldc, a, lda, bAt, ldb, m, k, Math.min(width, n - lo), ta, tb);
  }
}
