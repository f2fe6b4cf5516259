// assembly/clip.ts — the pieces of gradient-norm clipping; all buffers (n) f32.

/** Σ x² accumulated in f64 (two f64x2 accumulators). x: [n] f32. */
export function sumSquares(x: usize, n: i32): f64 {
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
export function scale(x: usize, n: i32, s: f32): void {
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
export function sumSquaresNaive(x: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64> load<f32>(x + (<usize> i << 2));
    sum += v * v;
  }
  return sum;
}

/** Scalar twin of scale. x: [n] f32. */
export function scaleNaive(x: usize, n: i32, s: f32): void {
  for (let i = 0; i < n; i++) {
    const o = x + (<usize> i << 2);
    store<f32>(o, load<f32>(o) * s);
  }
}
