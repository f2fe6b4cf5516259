// assembly/optim.ts — optimizer updates; all buffers (n) f32.

/** params -= lr · grads. params: [n] f32; grads: [n] f32. */
export function sgdUpdate(params: usize, grads: usize, n: i32, lr: f32): void {
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
export function sgdUpdateNaive(params: usize, grads: usize, n: i32, lr: f32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(params + o, load<f32>(params + o) - lr * load<f32>(grads + o));
  }
}
