// deno-fmt-ignore-file -- deno fmt drops AssemblyScript's @inline decorators, which keep the
// SIMD exp/tanh inlined in their loops; this file is formatted by hand to the same style.
// assembly/activations.ts — elementwise activations; all buffers (n) f32. Forward writes y and
// may alias x; backward adds into dx from the saved output y.
import { expf1, expf4 } from "./softmax_xent";

// tanh in f32: Cephes tanhf (S. L. Moshier, Cephes Math Library, tanhf.c). For |x| < 0.625 an
// odd polynomial, x + x³·P(x²); otherwise 1 - 2/(exp(2|x|) + 1) with the sign of x. Absolute
// error below 1e-6 everywhere.
const TANH_SMALL: f32 = 0.625;
const TANH_P0: f32 = -5.70498872745e-3;
const TANH_P1: f32 = 2.06390887954e-2;
const TANH_P2: f32 = -5.37397155531e-2;
const TANH_P3: f32 = 1.33314422036e-1;
const TANH_P4: f32 = -3.33332819422e-1;
// exp(2|x|) is capped here: beyond it tanh rounds to ±1 in f32 anyway.
const TANH_BIG: f32 = 20;

// The constants splatted, loaded at constant addresses (see EXP_K in softmax_xent.ts for why).
const TANH_K: usize = memory.data<f32>([
  TANH_P0, TANH_P0, TANH_P0, TANH_P0,
  TANH_P1, TANH_P1, TANH_P1, TANH_P1,
  TANH_P2, TANH_P2, TANH_P2, TANH_P2,
  TANH_P3, TANH_P3, TANH_P3, TANH_P3,
  TANH_P4, TANH_P4, TANH_P4, TANH_P4,
  TANH_BIG, TANH_BIG, TANH_BIG, TANH_BIG,
  TANH_SMALL, TANH_SMALL, TANH_SMALL, TANH_SMALL,
  1, 1, 1, 1,
  2, 2, 2, 2,
  -0.0, -0.0, -0.0, -0.0,
], 16);

/** tanh of each lane (Cephes tanhf); NaN stays NaN. Shared with the GRU and LSTM cells. */
// @ts-ignore: decorator
@inline
export function tanhf4(x: v128): v128 {
  const sign = v128.load(TANH_K, 144);
  const ax = v128.andnot(x, sign);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(v128.load(TANH_K, 0), z), v128.load(TANH_K, 16));
  p = f32x4.add(f32x4.mul(p, z), v128.load(TANH_K, 32));
  p = f32x4.add(f32x4.mul(p, z), v128.load(TANH_K, 48));
  p = f32x4.add(f32x4.mul(p, z), v128.load(TANH_K, 64));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  // pmin(ax, BIG) = BIG < ax ? BIG : ax keeps a NaN.
  const capped = f32x4.pmin(ax, v128.load(TANH_K, 80));
  const e = expf4(f32x4.add(capped, capped));
  const one = v128.load(TANH_K, 112);
  const mag = f32x4.sub(one, f32x4.div(v128.load(TANH_K, 128), f32x4.add(e, one)));
  // Copy the sign of x onto the large-|x| branch.
  const big = v128.or(mag, v128.and(x, sign));
  return v128.bitselect(small, big, f32x4.lt(ax, v128.load(TANH_K, 96)));
}

/** tanhf4 on one value, operation for operation: SIMD bodies and scalar tails agree bit for bit. */
// @ts-ignore: decorator
@inline
export function tanhf1(x: f32): f32 {
  const ax = abs(x);
  if (ax < TANH_SMALL) {
    const z = x * x;
    let p = TANH_P0 * z + TANH_P1;
    p = p * z + TANH_P2;
    p = p * z + TANH_P3;
    p = p * z + TANH_P4;
    return p * z * x + x;
  }
  const capped = TANH_BIG < ax ? TANH_BIG : ax;
  const e = expf1(capped + capped);
  return copysign<f32>(1 - 2 / (e + 1), x);
}

// sigmoid(x) = 1 / (1 + exp(-x)) with the SIMD exp: exp(-x) saturates near 2.4e38 for
// x < -88.4 (giving ~4e-39, not 0) and is 0 for x > 87.3 (giving 1), so the quotient never meets
// inf/inf. Absolute error about 1e-7 (expf's relative error, damped by y(1-y) <= 1/4).
const SIG_ONE: usize = memory.data<f32>([1, 1, 1, 1, -0.0, -0.0, -0.0, -0.0], 16);

/** sigmoid of each lane; NaN stays NaN. Shared with the GRU and LSTM cells. */
// @ts-ignore: decorator
@inline
export function sigmoidf4(x: v128): v128 {
  const one = v128.load(SIG_ONE);
  const e = expf4(v128.xor(x, v128.load(SIG_ONE, 16)));
  return f32x4.div(one, f32x4.add(one, e));
}

/** sigmoidf4 on one value, operation for operation. */
// @ts-ignore: decorator
@inline
export function sigmoidf1(x: f32): f32 {
  return 1 / (1 + expf1(-x));
}

/** y = tanh(x); y may alias x. y: [n] f32; x: [n] f32. */
export function tanhForward(y: usize, x: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  // Two vectors per iteration: each tanhf4 is one long dependency chain.
  for (; i + 8 <= n; i += 8) {
    const o = <usize> i << 2;
    const a = tanhf4(v128.load(x + o));
    const b = tanhf4(v128.load(x + o, 16));
    v128.store(y + o, a);
    v128.store(y + o, b, 16);
  }
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    v128.store(y + o, tanhf4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, tanhf1(load<f32>(x + o)));
  }
}

/** dx += (1 - y²) · dy, from the saved output y. dx, y, dy: [n] f32. */
export function tanhBackward(dx: usize, y: usize, dy: usize, n: i32): void {
  const one = f32x4.splat(1);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    const yv = v128.load(y + o);
    const g = f32x4.mul(f32x4.sub(one, f32x4.mul(yv, yv)), v128.load(dy + o));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + (1 - yv * yv) * load<f32>(dy + o));
  }
}

/** y = sigmoid(x) = 1 / (1 + exp(-x)); y may alias x. y: [n] f32; x: [n] f32. */
export function sigmoidForward(y: usize, x: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  // Two vectors per iteration, as in tanhForward: each sigmoidf4 is one long dependency chain.
  for (; i + 8 <= n; i += 8) {
    const o = <usize> i << 2;
    const a = sigmoidf4(v128.load(x + o));
    const b = sigmoidf4(v128.load(x + o, 16));
    v128.store(y + o, a);
    v128.store(y + o, b, 16);
  }
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    v128.store(y + o, sigmoidf4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, sigmoidf1(load<f32>(x + o)));
  }
}

/** dx += y · (1 - y) · dy, from the saved output y. dx, y, dy: [n] f32. */
export function sigmoidBackward(dx: usize, y: usize, dy: usize, n: i32): void {
  const one = f32x4.splat(1);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    const yv = v128.load(y + o);
    const g = f32x4.mul(f32x4.mul(yv, f32x4.sub(one, yv)), v128.load(dy + o));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + yv * (1 - yv) * load<f32>(dy + o));
  }
}

/** y = max(x, 0), with NaN and -0 giving +0 as in the reference; y may alias x. y, x: [n] f32. */
export function reluForward(y: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    // pmax(0, x) = 0 < x ? x : 0.
    v128.store(y + o, f32x4.pmax(zero, v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** dx += (y > 0) · dy, from the saved output y. dx, y, dy: [n] f32. */
export function reluBackward(dx: usize, y: usize, dy: usize, n: i32): void {
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    const g = v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), zero));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    if (load<f32>(y + o) > 0) store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
  }
}

/** Scalar twin of tanhForward, with Mathf.tanh. y, x: [n] f32. */
export function tanhForwardNaive(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, Mathf.tanh(load<f32>(x + o)));
  }
}

/** Scalar twin of tanhBackward. dx, y, dy: [n] f32. */
export function tanhBackwardNaive(dx: usize, y: usize, dy: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + (1 - yv * yv) * load<f32>(dy + o));
  }
}

/** Scalar twin of reluForward. y, x: [n] f32. */
export function reluForwardNaive(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** Scalar twin of reluBackward. dx, y, dy: [n] f32. */
export function reluBackwardNaive(dx: usize, y: usize, dy: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    if (load<f32>(y + o) > 0) store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
  }
}

/** Scalar twin of sigmoidForward, with Mathf.exp. y, x: [n] f32. */
export function sigmoidForwardNaive(y: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, 1 / (1 + Mathf.exp(-load<f32>(x + o))));
  }
}

/** Scalar twin of sigmoidBackward. dx, y, dy: [n] f32. */
export function sigmoidBackwardNaive(dx: usize, y: usize, dy: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + yv * (1 - yv) * load<f32>(dy + o));
  }
}
