// deno-fmt-ignore-file -- deno fmt drops AssemblyScript's @inline decorators; formatted by hand.
// assembly/int8.ts — 8-bit products for generation: c += a·b with b quantised per column to 8 bits
// and each row of a quantised to 7 bits as it is read.
//
// packInt8 turns a weight b[k,n] into n float32 scales s_j = max|b[:,j]| / 127, the n column sums
// of the integers (i32), and n columns of k signed bytes q = nearest(b / s_j) (ties to
// even), each column padded with zeros to a multiple of 16. matmulInt8 quantises each row of a
// to x = nearest(a / s_a) in [-63, 63] with s_a = max / 63, sums q·x exactly in 32-bit
// integers, and adds f32(sum) · (s_a · s_j) to c. Integer sums make every build and the scalar
// twin give the same bits, on every engine.
//
// Seven bits for the row, because the relaxed-SIMD build multiplies with
// i32x4.relaxed_dot_i8x16_i7x16_add_s: 16 multiply-adds in one instruction, exact on every engine
// when the second operand's bytes lie in [0, 127]: it takes x + 64 and subtracts 64 · Σq. The
// plain SIMD build widens 16 weights to two i16x8 and multiplies them by the row's 16-bit lanes
// with i32x4.dot_i16x8_s (16 multiply-adds in seven instructions). Either reads a quarter of the
// float weight's bytes: batch-1 generation is bound by reading W_hq.

import { PACK_A } from "./matmul";

/** Bytes of a packed column: k rounded up to 16. */
function columnBytes(k: i32): i32 {
  return (k + 15) & ~15;
}

/** Floats a weight b[k,n] takes once packed by packInt8: n scales, n sums, the columns' bytes. */
export function int8Size(k: i32, n: i32): i32 {
  return 2 * n + ((n * columnBytes(k)) >> 2);
}

/** nearest(x / s) in [-limit, limit], 0 for NaN (a row of a diverged model). */
@inline function quantize(x: f32, s: f32, limit: f32): i32 {
  const v = nearest<f32>(x / s);
  return v != v ? 0 : <i32> Mathf.min(limit, Mathf.max(-limit, v));
}

/**
 * Packs a weight b[k,n] for matmulInt8 (see the module comment). dst: int8Size(k, n) f32;
 * b: B [k,n] f32.
 */
export function packInt8(dst: usize, b: usize, k: i32, n: i32): void {
  const cb = columnBytes(k);
  const sums = dst + (<usize> n << 2), q0 = sums + (<usize> n << 2);
  memory.fill(q0, 0, <usize> n * <usize> cb);
  for (let j = 0; j < n; j++) {
    let max: f32 = 0;
    for (let i = 0; i < k; i++) {
      max = Mathf.max(max, Mathf.abs(load<f32>(b + ((<usize> i * <usize> n + <usize> j) << 2))));
    }
    const s: f32 = max / 127;
    store<f32>(dst + (<usize> j << 2), s);
    let sum = 0;
    // A unit of zeros, or so small that its scale underflows: its integers stay 0.
    if (s != 0) {
      const col = q0 + <usize> j * <usize> cb;
      for (let i = 0; i < k; i++) {
        const q = quantize(load<f32>(b + ((<usize> i * <usize> n + <usize> j) << 2)), s, 127);
        store<i8>(col + <usize> i, <i8> q);
        sum += q;
      }
    }
    store<i32>(sums + (<usize> j << 2), sum);
  }
}

/** Scalar twin of packInt8 (the same layout: matmulInt8Naive reads it). */
export function packInt8Naive(dst: usize, b: usize, k: i32, n: i32): void {
  packInt8(dst, b, k, n);
}

/**
 * Quantises row a[0,k] to 7 bits into PACK_A: k 16-bit lanes, then (at PACK_A + 2·cb) the same
 * integers plus 64 as k bytes, each padded with zeros (the bytes with 64) to cb = k rounded up to
 * 16. Returns the row's scale, 0 for a row of zeros (or so small that its scale underflows).
 */
function quantizeRow(a: usize, k: i32): f32 {
  let max: f32 = 0;
  for (let i = 0; i < k; i++) max = Mathf.max(max, Mathf.abs(load<f32>(a + (<usize> i << 2))));
  const cb = columnBytes(k);
  const s: f32 = max / 63;
  if (s == 0) return 0;
  const bytes = PACK_A + (<usize> cb << 1);
  for (let i = 0; i < k; i++) {
    const x = quantize(load<f32>(a + (<usize> i << 2)), s, 63);
    store<i16>(PACK_A + (<usize> i << 1), <i16> x);
    store<u8>(bytes + <usize> i, <u8> (x + 64));
  }
  for (let i = k; i < cb; i++) {
    store<i16>(PACK_A + (<usize> i << 1), 0);
    store<u8>(bytes + <usize> i, 64);
  }
  return s;
}

/** The sum of a vector's four lanes. */
@inline function lanes(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) +
    i32x4.extract_lane(v, 3);
}

/**
 * acc + the products of the 16 weight bytes at w with the row's 16 values at p: its bytes (x + 64)
 * in the relaxed build, its 16-bit lanes in the plain one.
 */
@inline function dot16(acc: v128, w: usize, xb: v128, xlo: v128, xhi: v128): v128 {
  const q = v128.load(w);
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(q, xb, acc);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q), xlo));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q), xhi));
}

/**
 * The integer sum of column j from its accumulator: the relaxed build multiplied x + 64, so it
 * takes 64 · Σq back.
 */
@inline function columnSum(acc: v128, b: usize, n: i32, j: i32): i32 {
  const sum = lanes(acc);
  if (ASC_FEATURE_RELAXED_SIMD) return sum - 64 * load<i32>(b + ((<usize> (n + j)) << 2));
  return sum;
}

/** crow[j] += f32(sum) · (sa · s_j), s_j the packed weight's scale of column j. */
@inline function addScaled(crow: usize, b: usize, j: i32, sum: i32, sa: f32): void {
  const at = crow + (<usize> j << 2);
  store<f32>(at, load<f32>(at) + <f32> sum * (sa * load<f32>(b + (<usize> j << 2))));
}

/** [Σa0, Σa1, Σa2, Σa3]: the four accumulators' lanes summed, by transposing them in pairs. */
@inline function sums4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const t23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(t01, t23, 0, 1, 4, 5), i32x4.shuffle(t01, t23, 2, 3, 6, 7));
}

/**
 * addScaled for columns j..j+3 at once: the same float32 operations lane by lane (a multiply,
 * then an add: never fused), so the same bits as one column at a time.
 */
@inline function addScaled4(crow: usize, b: usize, n: i32, j: i32, sums: v128, sa: f32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    sums = i32x4.sub(sums, i32x4.shl(v128.load(b + (<usize> (n + j) << 2)), 6));
  }
  const at = crow + (<usize> j << 2);
  const scale = f32x4.mul(f32x4.splat(sa), v128.load(b + (<usize> j << 2)));
  v128.store(at, f32x4.add(v128.load(at), f32x4.mul(f32x4.convert_i32x4_s(sums), scale)));
}

/**
 * c[m,n] += a[m,k] · b[k,n] in 8 bits, b packed by packInt8 (see the module comment).
 * c: C [m,n] f32; a: A [m,k] f32; b: int8Size(k, n) f32, packed.
 */
export function matmulInt8(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  if (k == 0 || n == 0) return;
  const cb = columnBytes(k);
  const q0 = b + (<usize> n << 3), bytes = PACK_A + (<usize> cb << 1);
  for (let r = 0; r < m; r++) {
    const sa = quantizeRow(a + (<usize> r * <usize> k << 2), k);
    if (sa == 0) continue;
    const crow = c + (<usize> r * <usize> n << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w = q0 + <usize> j * <usize> cb;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let p = 0; p < cb; p += 16) {
        const x = PACK_A + (<usize> p << 1);
        // Each build loads what it multiplies: the bytes, or the 16-bit lanes.
        const xb = ASC_FEATURE_RELAXED_SIMD ? v128.load(bytes + <usize> p) : i32x4.splat(0);
        const xlo = ASC_FEATURE_RELAXED_SIMD ? xb : v128.load(x);
        const xhi = ASC_FEATURE_RELAXED_SIMD ? xb : v128.load(x, 16);
        const at = w + <usize> p;
        a0 = dot16(a0, at, xb, xlo, xhi);
        a1 = dot16(a1, at + <usize> cb, xb, xlo, xhi);
        a2 = dot16(a2, at + <usize> (2 * cb), xb, xlo, xhi);
        a3 = dot16(a3, at + <usize> (3 * cb), xb, xlo, xhi);
      }
      addScaled4(crow, b, n, j, sums4(a0, a1, a2, a3), sa);
    }
    for (; j < n; j++) {
      const w = q0 + <usize> j * <usize> cb;
      let acc = i32x4.splat(0);
      for (let p = 0; p < cb; p += 16) {
        const x = PACK_A + (<usize> p << 1);
        const xb = ASC_FEATURE_RELAXED_SIMD ? v128.load(bytes + <usize> p) : i32x4.splat(0);
        const xlo = ASC_FEATURE_RELAXED_SIMD ? xb : v128.load(x);
        const xhi = ASC_FEATURE_RELAXED_SIMD ? xb : v128.load(x, 16);
        acc = dot16(acc, w + <usize> p, xb, xlo, xhi);
      }
      addScaled(crow, b, j, columnSum(acc, b, n, j), sa);
    }
  }
}

/** Scalar twin of matmulInt8: one multiply-add at a time, the same integer sums. */
export function matmulInt8Naive(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  if (k == 0 || n == 0) return;
  const cb = columnBytes(k);
  const q0 = b + (<usize> n << 3);
  for (let r = 0; r < m; r++) {
    const sa = quantizeRow(a + (<usize> r * <usize> k << 2), k);
    if (sa == 0) continue;
    for (let j = 0; j < n; j++) {
      const w = q0 + <usize> j * <usize> cb;
      let sum = 0;
      for (let i = 0; i < k; i++) {
        sum += <i32> load<i16>(PACK_A + (<usize> i << 1)) * <i32> load<i8>(w + <usize> i);
      }
      addScaled(c + (<usize> r * <usize> n << 2), b, j, sum, sa);
    }
  }
}
