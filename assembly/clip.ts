// assembly/clip.ts — clipping by global norm, the book's grad_clipping: when the norm of all
// gradients together exceeds theta, scale them all by theta / norm. grads (n) f32; stats: the
// statistics block of stats.ts.
import { STAT_DIVERGED, STAT_LOSS, STAT_NORM } from "./stats";

/**
 * stats.norm = ‖grads‖ (accumulated in f64); when that norm or stats.loss is not finite, sets
 * stats.diverged and leaves grads alone; otherwise, when theta > 0 and the norm exceeds it,
 * grads *= theta / norm (the factor rounded to f32 once). Once stats.diverged is set it changes
 * nothing, so the block keeps the norm that diverged.
 */
export function clipGradNorm(grads: usize, n: i32, theta: f64, stats: usize): void {
  clipWith(grads, n, theta, stats, Math.sqrt(sumSquares(grads, n)), false);
}

/** Scalar twin of clipGradNorm. */
export function clipGradNormNaive(grads: usize, n: i32, theta: f64, stats: usize): void {
  clipWith(grads, n, theta, stats, Math.sqrt(sumSquaresNaive(grads, n)), true);
}

/** The part of clipGradNorm after the norm: record it, flag divergence, or scale. */
// @ts-ignore: decorator

function clipWith(grads: usize, n: i32, theta: f64, stats: usize, norm: f64, naive: bool): void {
  if (load<f64>(stats + STAT_DIVERGED) != 0) return;
  store<f64>(stats + STAT_NORM, norm);
  if (!isFinite<f64>(norm) || !isFinite<f64>(load<f64>(stats + STAT_LOSS))) {
    store<f64>(stats + STAT_DIVERGED, 1);
    return;
  }
  if (theta > 0 && norm > theta) {
    if (naive) scaleNaive(grads, n, <f32> (theta / norm));
    else scale(grads, n, <f32> (theta / norm));
  }
}

/** Σ x² accumulated in f64 (two f64x2 accumulators). x: [n] f32. */
function sumSquares(x: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const v = v128.load(x + (<usize> i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) {
    const v = <f64> load<f32>(x + (<usize> i << 2));
    sum += v * v;
  }
  return sum;
}

/** x *= s. x: [n] f32. */
function scale(x: usize, n: i32, s: f32): void {
  const sv = f32x4.splat(s);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = x + (<usize> i << 2);
    v128.store(o, f32x4.mul(v128.load(o), sv));
  }
  for (; i < n; i++) {
    const o = x + (<usize> i << 2);
    store<f32>(o, load<f32>(o) * s);
  }
}

/** Scalar twin of sumSquares. x: [n] f32. */
function sumSquaresNaive(x: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64> load<f32>(x + (<usize> i << 2));
    sum += v * v;
  }
  return sum;
}

/** Scalar twin of scale. x: [n] f32. */
function scaleNaive(x: usize, n: i32, s: f32): void {
  for (let i = 0; i < n; i++) {
    const o = x + (<usize> i << 2);
    store<f32>(o, load<f32>(o) * s);
  }
}
