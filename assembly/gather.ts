// assembly/gather.ts — the product with one-hot rows as a row gather, and its scatter-add.
// Indices are i32 and must lie in [0, V); the kernels do not check them.

/** dst[0,h) += src[0,h). dst, src: [h] f32. */
function addRow(dst: usize, src: usize, h: i32): void {
  const h4 = h & ~3;
  let j = 0;
  for (; j < h4; j += 4) {
    const o = <usize> j << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; j < h; j++) {
    const o = <usize> j << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** out[i,:] += w[idx[i],:]. out: [n,h] f32; idx: [n] i32; w: W [V,h] f32. */
export function gatherRowsForward(out: usize, idx: usize, w: usize, n: i32, h: i32): void {
  const rowBytes = <usize> h << 2;
  let dst = out;
  for (let i = 0; i < n; i++) {
    const src = w + <usize> load<i32>(idx + (<usize> i << 2)) * rowBytes;
    addRow(dst, src, h);
    dst += rowBytes;
  }
}

/**
 * dw[idx[i],:] += dout[i,:], repeated indices adding up.
 * dw: dW [V,h] f32; idx: [n] i32; dout: [n,h] f32.
 */
export function gatherRowsBackward(dw: usize, idx: usize, dout: usize, n: i32, h: i32): void {
  const rowBytes = <usize> h << 2;
  let src = dout;
  for (let i = 0; i < n; i++) {
    const dst = dw + <usize> load<i32>(idx + (<usize> i << 2)) * rowBytes;
    addRow(dst, src, h);
    src += rowBytes;
  }
}

/** Scalar twin of gatherRowsForward. out: [n,h] f32; idx: [n] i32; w: W [V,h] f32. */
export function gatherRowsForwardNaive(out: usize, idx: usize, w: usize, n: i32, h: i32): void {
  for (let i = 0; i < n; i++) {
    const r = load<i32>(idx + (<usize> i << 2));
    for (let j = 0; j < h; j++) {
      const o = out + (<usize> (i * h + j) << 2);
      store<f32>(o, load<f32>(o) + load<f32>(w + (<usize> (r * h + j) << 2)));
    }
  }
}

/** Scalar twin of gatherRowsBackward. dw: dW [V,h] f32; idx: [n] i32; dout: [n,h] f32. */
export function gatherRowsBackwardNaive(dw: usize, idx: usize, dout: usize, n: i32, h: i32): void {
  for (let i = 0; i < n; i++) {
    const r = load<i32>(idx + (<usize> i << 2));
    for (let j = 0; j < h; j++) {
      const o = dw + (<usize> (r * h + j) << 2);
      store<f32>(o, load<f32>(o) + load<f32>(dout + (<usize> (i * h + j) << 2)));
    }
  }
}
