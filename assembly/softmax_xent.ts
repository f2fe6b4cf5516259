// deno-fmt-ignore-file -- deno fmt drops AssemblyScript's @inline decorators, which keep the
// SIMD exp/tanh inlined in their loops; this file is formatted by hand to the same style.
// assembly/softmax_xent.ts — row-wise softmax with cross-entropy; probs/logits/dlogits [m,v] f32,
// targets [m] i32; stats: the statistics block of stats.ts. Also home of the f32 exp shared with
// activations.ts.
import { STAT_LOSS } from "./stats";

// exp(x) in f32: Cephes expf (S. L. Moshier, Cephes Math Library, expf.c). x = n·ln2 + r with
// |r| ≤ ln2/2 (ln2 split in two for an exact n·C1), exp(r) by a degree-5 polynomial, 2^n built in
// the exponent bits. Relative error about 1e-7 on [-87.3, 88.4]; below that the result is 0.
// n is rounded by adding ROUND = 1.5·2^23 + 127: the sum holds n + 127 in its low mantissa bits,
// so shifting its bits left by 23 gives 2^n, with no f32x4.nearest or float-to-int conversion.
const EXP_HI: f32 = 88.3762626647949;
const EXP_LO: f32 = -87.3365447504;
const LOG2E: f32 = 1.44269504088896341;
const ROUND: f32 = 12583039;
const EXP_C1: f32 = 0.693359375;
const EXP_C2: f32 = -2.12194440e-4;
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P5: f32 = 5.0000001201e-1;

// The same constants splatted, read with v128.load at constant addresses (no bounds check in
// V8): a v128.const is rebuilt from a general register at every use, three instructions each.
const EXP_K: usize = memory.data<f32>([
  EXP_LO, EXP_LO, EXP_LO, EXP_LO,
  EXP_HI, EXP_HI, EXP_HI, EXP_HI,
  LOG2E, LOG2E, LOG2E, LOG2E,
  ROUND, ROUND, ROUND, ROUND,
  EXP_C1, EXP_C1, EXP_C1, EXP_C1,
  EXP_C2, EXP_C2, EXP_C2, EXP_C2,
  EXP_P0, EXP_P0, EXP_P0, EXP_P0,
  EXP_P1, EXP_P1, EXP_P1, EXP_P1,
  EXP_P2, EXP_P2, EXP_P2, EXP_P2,
  EXP_P3, EXP_P3, EXP_P3, EXP_P3,
  EXP_P4, EXP_P4, EXP_P4, EXP_P4,
  EXP_P5, EXP_P5, EXP_P5, EXP_P5,
  1, 1, 1, 1,
], 16);

/** exp of each lane (Cephes expf); NaN stays NaN, x < -87.34 gives 0, x > 88.38 saturates. */
// @ts-ignore: decorator
@inline
export function expf4(x: v128): v128 {
  const lo = v128.load(EXP_K, 0);
  const under = f32x4.lt(x, lo);
  // pmin(a, b) = b < a ? b : a and pmax(a, b) = a < b ? b : a (one minps/maxps each, where
  // f32x4.min/max are long sequences); a NaN x passes through both.
  const c = f32x4.pmax(f32x4.pmin(x, v128.load(EXP_K, 16)), lo);
  const t = f32x4.add(f32x4.mul(c, v128.load(EXP_K, 32)), v128.load(EXP_K, 48));
  const fx = f32x4.sub(t, v128.load(EXP_K, 48));
  const r = f32x4.sub(
    f32x4.sub(c, f32x4.mul(fx, v128.load(EXP_K, 64))),
    f32x4.mul(fx, v128.load(EXP_K, 80)),
  );
  const z = f32x4.mul(r, r);
  let y = f32x4.add(f32x4.mul(v128.load(EXP_K, 96), r), v128.load(EXP_K, 112));
  y = f32x4.add(f32x4.mul(y, r), v128.load(EXP_K, 128));
  y = f32x4.add(f32x4.mul(y, r), v128.load(EXP_K, 144));
  y = f32x4.add(f32x4.mul(y, r), v128.load(EXP_K, 160));
  y = f32x4.add(f32x4.mul(y, r), v128.load(EXP_K, 176));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), v128.load(EXP_K, 192));
  return v128.andnot(f32x4.mul(y, i32x4.shl(t, 23)), under);
}

/** expf4 on one value, operation for operation: SIMD bodies and scalar tails agree bit for bit. */
// @ts-ignore: decorator
@inline
export function expf1(x: f32): f32 {
  if (x < EXP_LO) return 0;
  const hi = EXP_HI < x ? EXP_HI : x;
  const c = hi < EXP_LO ? EXP_LO : hi;
  const t = c * LOG2E + ROUND;
  const fx = t - ROUND;
  const r = c - fx * EXP_C1 - fx * EXP_C2;
  const z = r * r;
  let y = EXP_P0 * r + EXP_P1;
  y = y * r + EXP_P2;
  y = y * r + EXP_P3;
  y = y * r + EXP_P4;
  y = y * r + EXP_P5;
  y = y * z + r + 1;
  return y * reinterpret<f32>(reinterpret<i32>(t) << 23);
}

/**
 * probs[i,:] = softmax(logits[i,:]); adds Σ_i (logsumexp(logits[i,:]) - logits[i,targets[i]])
 * (summed in f64, row by row) to stats.loss. probs may alias logits. A target outside [0, v)
 * makes the loss NaN.
 * probs: P [m,v] f32; logits: Z [m,v] f32; targets: [m] i32.
 */
export function softmaxXentForward(
  probs: usize,
  logits: usize,
  targets: usize,
  m: i32,
  v: i32,
  stats: usize,
): void {
  const loss = softmaxXentRows(probs, logits, targets, m, v, 0);
  store<f64>(stats + STAT_LOSS, load<f64>(stats + STAT_LOSS) + loss);
}

/**
 * softmaxXentForward that also stores each row's loss in rowLoss[m] (f64) unless rowLoss is 0:
 * threads each take a block of rows, and summing the rows' losses in order gives the same bits
 * as one thread.
 */
export function softmaxXentRows(
  probs: usize,
  logits: usize,
  targets: usize,
  m: i32,
  v: i32,
  rowLoss: usize,
): f64 {
  const v4 = v & ~3;
  const rowBytes = <usize> v << 2;
  let loss: f64 = 0;
  for (let i = 0; i < m; i++) {
    const z = logits + <usize> i * rowBytes;
    const p = probs + <usize> i * rowBytes;
    const t = load<i32>(targets + (<usize> i << 2));
    // Read the target logit before probs (maybe the same row) is overwritten.
    const zt: f64 = <u32> t < <u32> v ? <f64> load<f32>(z + (<usize> t << 2)) : NaN;
    let mv = f32x4.splat(-Infinity);
    let j = 0;
    // pmax(m, z) = m < z ? z : m is one maxps; a NaN logit still makes its row NaN through exp.
    for (; j < v4; j += 4) mv = f32x4.pmax(mv, v128.load(z + (<usize> j << 2)));
    let mx = max(
      max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
      max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)),
    );
    for (; j < v; j++) mx = max(mx, load<f32>(z + (<usize> j << 2)));
    const mxv = f32x4.splat(mx);
    let sv = f32x4.splat(0);
    let sv2 = f32x4.splat(0);
    // Two independent exps per iteration: the polynomial is one long dependency chain.
    for (j = 0; j + 8 <= v; j += 8) {
      const o = <usize> j << 2;
      const e0 = expf4(f32x4.sub(v128.load(z + o), mxv));
      const e1 = expf4(f32x4.sub(v128.load(z + o, 16), mxv));
      v128.store(p + o, e0);
      v128.store(p + o, e1, 16);
      sv = f32x4.add(sv, e0);
      sv2 = f32x4.add(sv2, e1);
    }
    for (; j < v4; j += 4) {
      const o = <usize> j << 2;
      const e = expf4(f32x4.sub(v128.load(z + o), mxv));
      v128.store(p + o, e);
      sv = f32x4.add(sv, e);
    }
    sv = f32x4.add(sv, sv2);
    let sum = (f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1)) +
      (f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3));
    for (; j < v; j++) {
      const o = <usize> j << 2;
      const e = expf1(load<f32>(z + o) - mx);
      store<f32>(p + o, e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    const iv = f32x4.splat(inv);
    for (j = 0; j < v4; j += 4) {
      const o = <usize> j << 2;
      v128.store(p + o, f32x4.mul(v128.load(p + o), iv));
    }
    for (; j < v; j++) {
      const o = <usize> j << 2;
      store<f32>(p + o, load<f32>(p + o) * inv);
    }
    // -log p_target = logsumexp - z_target, exact even when p_target underflows.
    const row = Math.log(<f64> sum) + <f64> mx - zt;
    if (rowLoss != 0) store<f64>(rowLoss + (<usize> i << 3), row);
    loss += row;
  }
  return loss;
}

/**
 * dlogits = scale · (probs - onehot(targets)); dlogits may alias probs. Targets outside [0, v)
 * subtract nothing.
 * dlogits: dZ [m,v] f32; probs: P [m,v] f32; targets: [m] i32.
 */
export function softmaxXentBackward(
  dlogits: usize,
  probs: usize,
  targets: usize,
  m: i32,
  v: i32,
  scale: f32,
): void {
  const v4 = v & ~3;
  const rowBytes = <usize> v << 2;
  const sv = f32x4.splat(scale);
  for (let i = 0; i < m; i++) {
    const p = probs + <usize> i * rowBytes;
    const d = dlogits + <usize> i * rowBytes;
    const t = load<i32>(targets + (<usize> i << 2));
    const hit = <u32> t < <u32> v;
    // Read p_target before d (maybe the same row) is overwritten.
    const pt = hit ? load<f32>(p + (<usize> t << 2)) : 0;
    let j = 0;
    for (; j < v4; j += 4) {
      const o = <usize> j << 2;
      v128.store(d + o, f32x4.mul(v128.load(p + o), sv));
    }
    for (; j < v; j++) {
      const o = <usize> j << 2;
      store<f32>(d + o, load<f32>(p + o) * scale);
    }
    if (hit) store<f32>(d + (<usize> t << 2), scale * (pt - 1));
  }
}

/**
 * Scalar twin of softmaxXentForward, with Mathf.exp.
 * probs: P [m,v] f32; logits: Z [m,v] f32; targets: [m] i32.
 */
export function softmaxXentForwardNaive(
  probs: usize,
  logits: usize,
  targets: usize,
  m: i32,
  v: i32,
  stats: usize,
): void {
  let loss: f64 = 0;
  for (let i = 0; i < m; i++) {
    const z = logits + (<usize> (i * v) << 2);
    const p = probs + (<usize> (i * v) << 2);
    const t = load<i32>(targets + (<usize> i << 2));
    const zt: f64 = <u32> t < <u32> v ? <f64> load<f32>(z + (<usize> t << 2)) : NaN;
    let mx: f32 = -Infinity;
    for (let j = 0; j < v; j++) mx = max(mx, load<f32>(z + (<usize> j << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < v; j++) {
      const e = Mathf.exp(load<f32>(z + (<usize> j << 2)) - mx);
      store<f32>(p + (<usize> j << 2), e);
      sum += e;
    }
    for (let j = 0; j < v; j++) {
      const o = p + (<usize> j << 2);
      store<f32>(o, load<f32>(o) / sum);
    }
    loss += Math.log(<f64> sum) + <f64> mx - zt;
  }
  store<f64>(stats + STAT_LOSS, load<f64>(stats + STAT_LOSS) + loss);
}

/**
 * Scalar twin of softmaxXentBackward.
 * dlogits: dZ [m,v] f32; probs: P [m,v] f32; targets: [m] i32.
 */
export function softmaxXentBackwardNaive(
  dlogits: usize,
  probs: usize,
  targets: usize,
  m: i32,
  v: i32,
  scale: f32,
): void {
  for (let i = 0; i < m; i++) {
    const t = load<i32>(targets + (<usize> i << 2));
    for (let j = 0; j < v; j++) {
      const o = <usize> (i * v + j) << 2;
      const y: f32 = j == t ? 1 : 0;
      store<f32>(dlogits + o, scale * (load<f32>(probs + o) - y));
    }
  }
}
