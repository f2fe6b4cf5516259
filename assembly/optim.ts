// assembly/optim.ts — optimizer updates; all buffers (n) f32. With a statistics block (stats.ts,
// or 0 for none) an update runs only while the block has not diverged, and counts itself.
import { updateAllowed } from "./stats";

/** params -= lr · grads. params: [n] f32; grads: [n] f32. */
export function sgdUpdate(params: usize, grads: usize, n: i32, lr: f32, stats: usize): void {
  if (!updateAllowed(stats)) return;
  const lv = f32x4.splat(lr);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    v128.store(params + o, f32x4.sub(v128.load(params + o), f32x4.mul(lv, v128.load(grads + o))));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(params + o, load<f32>(params + o) - lr * load<f32>(grads + o));
  }
}

/** Scalar twin of sgdUpdate. params: [n] f32; grads: [n] f32. */
export function sgdUpdateNaive(params: usize, grads: usize, n: i32, lr: f32, stats: usize): void {
  if (!updateAllowed(stats)) return;
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(params + o, load<f32>(params + o) - lr * load<f32>(grads + o));
  }
}

// Adam: Kingma & Ba 2015 ("Adam: A Method for Stochastic Optimization", Algorithm 1), in the
// arrangement of torch.optim.Adam (single-tensor path): the bias corrections are scalars computed
// once per call in f64, then p -= (lr / (1 - β1^step)) · m / (sqrt(v) / sqrt(1 - β2^step) + eps).

/** base^e for e >= 0 by repeated squaring: within a few ulps of pow, without pow's 8 KB of code. */
function powi(base: f64, e: i32): f64 {
  let r: f64 = 1;
  let b = base;
  for (let k = e; k > 0; k >>= 1) {
    if (k & 1) r *= b;
    b *= b;
  }
  return r;
}

/**
 * One Adam step, `step` counted from 1: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
 * params -= lr · (m / (1-β1^step)) / (sqrt(v / (1-β2^step)) + eps).
 * params: [n] f32, updated; grads: [n] f32; m, v: [n] f32 moment buffers, updated.
 */
export function adamUpdate(
  params: usize,
  grads: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f64,
  beta1: f64,
  beta2: f64,
  eps: f64,
  step: i32,
  stats: usize,
): void {
  if (!updateAllowed(stats)) return;
  const b1 = <f32> beta1, c1 = <f32> (1 - beta1);
  const b2 = <f32> beta2, c2 = <f32> (1 - beta2);
  const stepSize = <f32> (lr / (1 - powi(beta1, step)));
  const sqrtBc2 = <f32> Math.sqrt(1 - powi(beta2, step));
  const e = <f32> eps;
  const b1v = f32x4.splat(b1), c1v = f32x4.splat(c1);
  const b2v = f32x4.splat(b2), c2v = f32x4.splat(c2);
  const sv = f32x4.splat(stepSize), bcv = f32x4.splat(sqrtBc2), ev = f32x4.splat(e);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    const g = v128.load(grads + o);
    const mv = f32x4.add(f32x4.mul(b1v, v128.load(m + o)), f32x4.mul(c1v, g));
    const vv = f32x4.add(f32x4.mul(b2v, v128.load(v + o)), f32x4.mul(c2v, f32x4.mul(g, g)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), bcv), ev);
    const p = v128.load(params + o);
    v128.store(params + o, f32x4.sub(p, f32x4.mul(sv, f32x4.div(mv, denom))));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    const g = load<f32>(grads + o);
    const mv = b1 * load<f32>(m + o) + c1 * g;
    const vv = b2 * load<f32>(v + o) + c2 * (g * g);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const denom = Mathf.sqrt(vv) / sqrtBc2 + e;
    store<f32>(params + o, load<f32>(params + o) - stepSize * (mv / denom));
  }
}

/**
 * Scalar twin of adamUpdate (the same f32 operations in the same order).
 * params: [n] f32, updated; grads: [n] f32; m, v: [n] f32 moment buffers, updated.
 */
export function adamUpdateNaive(
  params: usize,
  grads: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f64,
  beta1: f64,
  beta2: f64,
  eps: f64,
  step: i32,
  stats: usize,
): void {
  if (!updateAllowed(stats)) return;
  const b1 = <f32> beta1, c1 = <f32> (1 - beta1);
  const b2 = <f32> beta2, c2 = <f32> (1 - beta2);
  const stepSize = <f32> (lr / (1 - powi(beta1, step)));
  const sqrtBc2 = <f32> Math.sqrt(1 - powi(beta2, step));
  const e = <f32> eps;
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    const g = load<f32>(grads + o);
    const mv = b1 * load<f32>(m + o) + c1 * g;
    const vv = b2 * load<f32>(v + o) + c2 * (g * g);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const denom = Mathf.sqrt(vv) / sqrtBc2 + e;
    store<f32>(params + o, load<f32>(params + o) - stepSize * (mv / denom));
  }
}
