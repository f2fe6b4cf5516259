// assembly/argmax.ts — the greedy choice: the first index of the largest value of each row, as
// the book's argmax over a step's logits. x [m,n] f32; out [m] i32.

/**
 * out[i] = the first j with x[i,j] the largest of row i, read as a scan that keeps the first of
 * equal values and never takes a NaN (a row starting with NaN gives 0). n = 0 gives 0.
 */
export function argmaxRows(out: usize, x: usize, m: i32, n: i32): void {
  const rowBytes = <usize> n << 2;
  for (let i = 0; i < m; i++) {
    store<i32>(out + (<usize> i << 2), argmaxRow(x + <usize> i * rowBytes, n));
  }
}

/** argmaxRows for one row: the largest value by lanes, then the first index holding it. */
function argmaxRow(row: usize, n: i32): i32 {
  if (n <= 1) return 0;
  const first = load<f32>(row);
  if (isNaN<f32>(first)) return 0;
  // pmax(a, b) = a < b ? b : a never takes a NaN b, and starting from a number keeps it so.
  let mv = f32x4.splat(first);
  let j = 0;
  for (; j + 4 <= n; j += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize> j << 2)));
  let mx = first;
  for (let lane = 0; lane < 4; lane++) {
    const v = f32x4.extract_lane(mv, 0);
    if (mx < v) mx = v;
    mv = v128.shuffle<f32>(mv, mv, 1, 2, 3, 0);
  }
  for (; j < n; j++) {
    const v = load<f32>(row + (<usize> j << 2));
    if (mx < v) mx = v;
  }
  // Equal compares +0 and -0 as one value, as the scan's ">" does.
  const target = f32x4.splat(mx);
  j = 0;
  for (; j + 4 <= n; j += 4) {
    const hit = f32x4.eq(v128.load(row + (<usize> j << 2)), target);
    if (v128.any_true(hit)) return j + ctz<i32>(i32x4.bitmask(hit));
  }
  for (; j < n; j++) if (load<f32>(row + (<usize> j << 2)) == mx) return j;
  return 0;
}

/** Scalar twin of argmaxRows: the scan itself. out [m] i32; x [m,n] f32. */
export function argmaxRowsNaive(out: usize, x: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const row = x + ((<usize> i * <usize> n) << 2);
    let best = 0;
    let mx = n > 0 ? load<f32>(row) : 0;
    for (let j = 1; j < n; j++) {
      const v = load<f32>(row + (<usize> j << 2));
      if (v > mx) {
        mx = v;
        best = j;
      }
    }
    store<i32>(out + (<usize> i << 2), best);
  }
}
