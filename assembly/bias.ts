// assembly/bias.ts — adding a bias row and its gradient; all buffers f32, row-major.

/** y[i,:] += bias for each of the m rows. y: Y [m,n] f32; bias: [n] f32. */
export function biasForward(y: usize, bias: usize, m: i32, n: i32): void {
  const n4 = n & ~3;
  let row = y;
  for (let i = 0; i < m; i++) {
    let j = 0;
    for (; j < n4; j += 4) {
      const o = <usize> j << 2;
      v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(bias + o)));
    }
    for (; j < n; j++) {
      const o = <usize> j << 2;
      store<f32>(row + o, load<f32>(row + o) + load<f32>(bias + o));
    }
    row += <usize> n << 2;
  }
}

/** dbias += Σ_i dy[i,:] over the m rows. dbias: [n] f32; dy: dY [m,n] f32. */
export function biasBackward(dbias: usize, dy: usize, m: i32, n: i32): void {
  const n4 = n & ~3;
  let row = dy;
  for (let i = 0; i < m; i++) {
    let j = 0;
    for (; j < n4; j += 4) {
      const o = <usize> j << 2;
      v128.store(dbias + o, f32x4.add(v128.load(dbias + o), v128.load(row + o)));
    }
    for (; j < n; j++) {
      const o = <usize> j << 2;
      store<f32>(dbias + o, load<f32>(dbias + o) + load<f32>(row + o));
    }
    row += <usize> n << 2;
  }
}

/** Scalar twin of biasForward. y: Y [m,n] f32; bias: [n] f32. */
export function biasForwardNaive(y: usize, bias: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const o = y + (<usize> (i * n + j) << 2);
      store<f32>(o, load<f32>(o) + load<f32>(bias + (<usize> j << 2)));
    }
  }
}

/** Scalar twin of biasBackward. dbias: [n] f32; dy: dY [m,n] f32. */
export function biasBackwardNaive(dbias: usize, dy: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const o = dbias + (<usize> j << 2);
      store<f32>(o, load<f32>(o) + load<f32>(dy + (<usize> (i * n + j) << 2)));
    }
  }
}
