// assembly/stats.ts — the training statistics block: four f64 slots that the loss, clipping and
// update kernels share, so training never reads a number back per minibatch (src/backend/types.ts
// documents the same layout as STAT).

/** Σ of the cross-entropy losses since the block was zeroed (softmaxXentForward adds). */
export const STAT_LOSS: usize = 0;
/** The global gradient norm of the last clipGradNorm. */
export const STAT_NORM: usize = 8;
/** 1 once a loss or gradient norm was NaN or infinite: the updates then change nothing. */
export const STAT_DIVERGED: usize = 16;
/** Updates applied since the block was zeroed (sgdUpdate, adamUpdate). */
export const STAT_UPDATES: usize = 24;

/** Whether an update may run: no statistics block (0), or one that has not diverged. */
// @ts-ignore: decorator

export function updateAllowed(stats: usize): bool {
  if (stats == 0) return true;
  if (load<f64>(stats + STAT_DIVERGED) != 0) return false;
  store<f64>(stats + STAT_UPDATES, load<f64>(stats + STAT_UPDATES) + 1);
  return true;
}
