// assembly/dropout.ts — dropout between stacked layers as a product with a mask; buffers (n) f32.
// The mask holds 0 for a dropped value and 1/(1-p) for a kept one (inverted dropout), drawn by
// the caller, so the same mask serves forward and backward.

/** y = x * mask. y: [n] f32 (may alias x); x: [n] f32; mask: [n] f32. */
export function dropoutForward(y: usize, x: usize, mask: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), v128.load(mask + o)));
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, load<f32>(x + o) * load<f32>(mask + o));
  }
}

/** dx += dy * mask. dx: [n] f32; mask: [n] f32; dy: [n] f32. */
export function dropoutBackward(dx: usize, mask: usize, dy: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize> i << 2;
    v128.store(
      dx + o,
      f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dy + o), v128.load(mask + o))),
    );
  }
  for (; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) * load<f32>(mask + o));
  }
}

/** Scalar twin of dropoutForward. y, x, mask: [n] f32. */
export function dropoutForwardNaive(y: usize, x: usize, mask: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(y + o, load<f32>(x + o) * load<f32>(mask + o));
  }
}

/** Scalar twin of dropoutBackward. dx, mask, dy: [n] f32. */
export function dropoutBackwardNaive(dx: usize, mask: usize, dy: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize> i << 2;
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) * load<f32>(mask + o));
  }
}
