// assembly/matmul.ts — C += A·B in the three transposition forms; all buffers f32, row-major.
//
// Blocked in the GotoBLAS/BLIS way (Goto & van de Geijn, "Anatomy of High-Performance Matrix
// Multiplication", 2008): a KC×NC block of B is packed into panels of 8 columns, an MC×KC block of
// A into panels of 4 rows, and a 4×8 register tile (8 f32x4 accumulators) runs over each pair of
// panels. Packing is where the forms differ, so NN, NT and TN share one inner kernel and run at
// the same speed; transposed operands are transposed 4×4 at a time while packing.
//
// The tile was chosen by measurement in Deno (V8 without a trap handler, so every load carries an
// explicit bounds check, and 15 usable xmm registers): one v128 load of A per k step with its
// lanes broadcast by shuffles beat four load32_splat (each a lea, a check and a load), and 4×8
// beat 5×8, 3×12 and 4×12 (the last spills).

import { madd4 } from "./fma";
import { int8Size } from "./int8";

/** Rows of the register tile. */
const MR: i32 = 4;
/** Columns of the register tile (two f32x4). */
const NR: i32 = 8;
/** Depth of a packed block: an A panel (KC×4) plus a B panel (KC×8) stay in L1. */
const KC: i32 = 256;
/** Rows of a packed A block (MC×KC, 128 KiB, stays in L2). */
const MC: i32 = 128;
/** Columns of a packed B block (KC×NC, 2 MiB). */
const NC: i32 = 2048;

// Scratch, in a block the host allocates for each instance and passes to useScratch before the
// first product: in the threaded build the instances share one memory, and each thread needs
// its own. (Static memory.data would also be emitted as 2 MiB of zeros in a build that imports
// its memory.)
const PACK_A_BYTES: usize = MC * KC * 4;
const PACK_B_BYTES: usize = KC * NC * 4;
const EDGE_BYTES: usize = MR * NR * 4;
// Packed A block: ceil(MC/4) panels, each [KC][4] f32.
export let PACK_A: usize = 0;
// Packed B block: ceil(NC/8) panels, each [KC][8] f32. The RNN, GRU and LSTM kernels also keep
// whole packed weight matrices here (see packB), which is why it is exported with its size.
export let PACK_B: usize = 0;
/** Floats that fit in PACK_B. */
export const PACK_B_FLOATS: i32 = KC * NC;
// 32 floats: the sums of a partial edge tile (kernel4x8) or of a row's last panels (packedFewRows).
let EDGE: usize = 0;

/** Bytes of scratch an instance needs (see useScratch). */
export function scratchBytes(): usize {
  return PACK_A_BYTES + PACK_B_BYTES + EDGE_BYTES;
}

/** Gives this instance its scratch: base, 64-byte aligned, scratchBytes() long. */
export function useScratch(base: usize): void {
  PACK_A = base;
  PACK_B = PACK_A + PACK_A_BYTES;
  EDGE = PACK_B + PACK_B_BYTES;
}

// ---------------------------------------------------------------------------------------------
// Register tile

/**
 * c[mr,nr] += ap[kc][4]ᵀ · bp[kc][8] for the valid mr ≤ 4 rows and nr ≤ 8 columns.
 * c: C at the tile's top-left corner, rows ldc bytes apart; ap: packed A panel [kc][4];
 * bp: packed B panel [kc][8].
 */
function kernel4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a = ap, b = bp;
  let p = kc;
  // Without a trap handler (Deno) every load pays a bounds check, so A comes in one v128 load
  // per k step and its lanes are broadcast with shuffles instead of four load32_splat.
  for (; p > 0; p--) {
    const av = v128.load(a);
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.shuffle<f32>(av, av, 0, 0, 0, 0);
    c00 = madd4(x, b0, c00);
    c01 = madd4(x, b1, c01);
    x = v128.shuffle<f32>(av, av, 1, 1, 1, 1);
    c10 = madd4(x, b0, c10);
    c11 = madd4(x, b1, c11);
    x = v128.shuffle<f32>(av, av, 2, 2, 2, 2);
    c20 = madd4(x, b0, c20);
    c21 = madd4(x, b1, c21);
    x = v128.shuffle<f32>(av, av, 3, 3, 3, 3);
    c30 = madd4(x, b0, c30);
    c31 = madd4(x, b1, c31);
    a += 16;
    b += 32;
  }
  if (mr == MR && nr == NR) {
    v128.store(c, f32x4.add(v128.load(c), c00));
    v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
    c += ldc;
    v128.store(c, f32x4.add(v128.load(c), c10));
    v128.store(c, f32x4.add(v128.load(c, 16), c11), 16);
    c += ldc;
    v128.store(c, f32x4.add(v128.load(c), c20));
    v128.store(c, f32x4.add(v128.load(c, 16), c21), 16);
    c += ldc;
    v128.store(c, f32x4.add(v128.load(c), c30));
    v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
    return;
  }
  // Edge tile: spill the accumulators, add the valid part element by element.
  v128.store(EDGE, c00);
  v128.store(EDGE, c01, 16);
  v128.store(EDGE, c10, 32);
  v128.store(EDGE, c11, 48);
  v128.store(EDGE, c20, 64);
  v128.store(EDGE, c21, 80);
  v128.store(EDGE, c30, 96);
  v128.store(EDGE, c31, 112);
  for (let r = 0; r < mr; r++) addSpilled(c + <usize> r * ldc, EDGE + (<usize> r << 5), nr);
}

/** dst[j] += spilled[j] for the first `count` floats: the valid columns of an edge tile. */
function addSpilled(dst: usize, spilled: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const o = <usize> j << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(spilled + o));
  }
}

// ---------------------------------------------------------------------------------------------
// Packing

/** Stores the 4×4 transpose of rows r0..r3: column q of the input goes to dst + q·stride. */
function transposeStore4(dst: usize, stride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/**
 * Packs rows ic..ic+mc, columns pc..pc+kc of a[m,k] (row-major, rows ldA floats apart) into dst
 * as panels [kc][4]. a: A [m,ldA] f32; dst: ceil(mc/4) panels of [kc][4] f32.
 */
function packAN(dst: usize, a: usize, ldA: i32, ic: i32, mc: i32, pc: i32, kc: i32): void {
  const lda = <usize> ldA << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir);
    const src = a + (<usize> (ic + ir) * <usize> ldA + <usize> pc) * 4;
    const out = dst + <usize> ir * <usize> kc * 4;
    let p = 0;
    if (mr == MR) {
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize> p << 2);
        transposeStore4(
          out + (<usize> p << 4),
          16,
          v128.load(s),
          v128.load(s + lda),
          v128.load(s + 2 * lda),
          v128.load(s + 3 * lda),
        );
      }
    }
    for (; p < kc; p++) {
      for (let r = 0; r < mr; r++) {
        store<f32>(
          out + (<usize> (p * MR + r) << 2),
          load<f32>(src + <usize> r * lda + (<usize> p << 2)),
        );
      }
    }
  }
}

/**
 * Packs rows ic..ic+mc, columns pc..pc+kc of Aᵀ, with a[k,m] row-major (rows ldA floats apart),
 * into panels [kc][4]. a: A [k,ldA] f32; dst: ceil(mc/4) panels of [kc][4] f32.
 */
function packAT(dst: usize, a: usize, ldA: i32, ic: i32, mc: i32, pc: i32, kc: i32): void {
  const lda = <usize> ldA << 2;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir);
    let src = a + (<usize> pc * <usize> ldA + <usize> (ic + ir)) * 4;
    let out = dst + <usize> ir * <usize> kc * 4;
    if (mr == MR) {
      for (let p = 0; p < kc; p++) {
        v128.store(out, v128.load(src));
        src += lda;
        out += 16;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < mr; r++) {
          store<f32>(out + (<usize> r << 2), load<f32>(src + (<usize> r << 2)));
        }
        src += lda;
        out += 16;
      }
    }
  }
}

/**
 * Packs rows pc..pc+kc, columns jc..jc+nc of b[k,n] (row-major, rows ldB floats apart) into
 * panels [kc][8]. b: B [k,ldB] f32; dst: ceil(nc/8) panels of [kc][8] f32.
 */
function packBN(dst: usize, b: usize, ldB: i32, pc: i32, kc: i32, jc: i32, nc: i32): void {
  const ldb = <usize> ldB << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let src = b + (<usize> pc * <usize> ldB + <usize> (jc + jr)) * 4;
    let out = dst + <usize> jr * <usize> kc * 4;
    if (nr == NR) {
      for (let p = 0; p < kc; p++) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += ldb;
        out += 32;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < nr; j++) {
          store<f32>(out + (<usize> j << 2), load<f32>(src + (<usize> j << 2)));
        }
        src += ldb;
        out += 32;
      }
    }
  }
}

/**
 * Packs rows pc..pc+kc, columns jc..jc+nc of Bᵀ, with b[n,k] row-major (rows ldB floats apart),
 * into panels [kc][8]. b: B [n,ldB] f32; dst: ceil(nc/8) panels of [kc][8] f32.
 */
function packBT(dst: usize, b: usize, ldB: i32, pc: i32, kc: i32, jc: i32, nc: i32): void {
  const ldb = <usize> ldB << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const src = b + (<usize> (jc + jr) * <usize> ldB + <usize> pc) * 4;
    const out = dst + <usize> jr * <usize> kc * 4;
    let p = 0;
    if (nr == NR) {
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize> p << 2);
        const o = out + (<usize> p << 5);
        transposeStore4(
          o,
          32,
          v128.load(s),
          v128.load(s + ldb),
          v128.load(s + 2 * ldb),
          v128.load(s + 3 * ldb),
        );
        const s4 = s + 4 * ldb;
        transposeStore4(
          o + 16,
          32,
          v128.load(s4),
          v128.load(s4 + ldb),
          v128.load(s4 + 2 * ldb),
          v128.load(s4 + 3 * ldb),
        );
      }
    }
    for (; p < kc; p++) {
      for (let j = 0; j < nr; j++) {
        store<f32>(
          out + (<usize> (p * NR + j) << 2),
          load<f32>(src + <usize> j * ldb + (<usize> p << 2)),
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Drivers

/**
 * C[:, jc..jc+nc] += A[:, pc..pc+kc] · Bblock over all m rows, with the B block already packed.
 * c: C [m, ldc/4] f32 at column jc; a: A [m,lda] (or [k,lda] when transA) f32; bBlock: packed B
 * [ceil(nc/8)][kc][8] f32.
 */
function gemmSlice(
  c: usize,
  ldc: usize,
  a: usize,
  lda: i32,
  bBlock: usize,
  m: i32,
  pc: i32,
  kc: i32,
  nc: i32,
  transA: bool,
): void {
  for (let ic = 0; ic < m; ic += MC) {
    const mc = min(MC, m - ic);
    if (transA) packAT(PACK_A, a, lda, ic, mc, pc, kc);
    else packAN(PACK_A, a, lda, ic, mc, pc, kc);
    const cRow = c + <usize> ic * ldc;
    for (let jr = 0; jr < nc; jr += NR) {
      const nr = min(NR, nc - jr);
      const bp = bBlock + <usize> jr * <usize> kc * 4;
      const cCol = cRow + (<usize> jr << 2);
      for (let ir = 0; ir < mc; ir += MR) {
        kernel4x8(
          cCol + <usize> ir * ldc,
          ldc,
          PACK_A + <usize> ir * <usize> kc * 4,
          bp,
          kc,
          min(MR, mc - ir),
          nr,
        );
      }
    }
  }
}

/**
 * Depth of the k blocks: k split into ceil(k/KC) blocks of equal depth, so that k = 1027 runs
 * as 5×206 rather than 4×256 plus a 3-deep block that would cost a full pass over C.
 */
function kStep(k: i32): i32 {
  const blocks = (k + KC - 1) / KC;
  return (k + blocks - 1) / blocks;
}

/**
 * C[m,n] += op(A)·op(B), packing B block by block, with explicit row strides (in floats) so the
 * operands may be column blocks of wider matrices (the gate blocks of the GRU and LSTM).
 * c: C [m,ldc] f32; a: A [m,lda] f32, or [k,lda] when transA; b: B [k,ldb] f32, or [n,ldb] when
 * transB.
 */
export function gemm(
  c: usize,
  ldc: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  m: i32,
  k: i32,
  n: i32,
  transA: bool,
  transB: bool,
): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  if (!packingPays(m) && !transA && !transB) {
    gemmFewRows(c, ldc, a, lda, b, ldb, m, k, n);
    return;
  }
  const ldcBytes = <usize> ldc << 2;
  const ks = kStep(k);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += ks) {
      const kc = min(ks, k - pc);
      if (transB) packBT(PACK_B, b, ldb, pc, kc, jc, nc);
      else packBN(PACK_B, b, ldb, pc, kc, jc, nc);
      gemmSlice(c + (<usize> jc << 2), ldcBytes, a, lda, PACK_B, m, pc, kc, nc, transA);
    }
  }
}

/**
 * Whether packing B pays for a product with `rows` rows of A: each packed panel is reused by
 * every 4-row tile, so with fewer rows (batch-1 generation) reading B in place is cheaper.
 */
export function packingPays(rows: i32): bool {
  return rows >= MR;
}

/**
 * C[m,n] += A[m,k]·B[k,n] for m < MR, reading B in place (no packing): the matrix-vector products
 * of generating with a batch of 1. Each output is summed over p in order, then added to C, as
 * kernel4x8 does within one k block, so both paths agree bit for bit when k ≤ KC.
 * c: C [m,ldc] f32; a: A [m,lda] f32; b: B [k,ldb] f32 (strides in floats).
 */
function gemmFewRows(
  c: usize,
  ldc: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  m: i32,
  k: i32,
  n: i32,
): void {
  const ldbBytes = <usize> ldb << 2;
  for (let i = 0; i < m; i++) {
    const arow = a + ((<usize> i * <usize> lda) << 2);
    const crow = c + ((<usize> i * <usize> ldc) << 2);
    let j = 0;
    // 32 columns at a time in eight registers: B is read once, down each column block.
    for (; j + 32 <= n; j += 32) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
      let bp = b + (<usize> j << 2);
      for (let p = 0; p < k; p++) {
        const x = v128.load32_splat(arow + (<usize> p << 2));
        s0 = madd4(x, v128.load(bp), s0);
        s1 = madd4(x, v128.load(bp, 16), s1);
        s2 = madd4(x, v128.load(bp, 32), s2);
        s3 = madd4(x, v128.load(bp, 48), s3);
        s4 = madd4(x, v128.load(bp, 64), s4);
        s5 = madd4(x, v128.load(bp, 80), s5);
        s6 = madd4(x, v128.load(bp, 96), s6);
        s7 = madd4(x, v128.load(bp, 112), s7);
        bp += ldbBytes;
      }
      const o = crow + (<usize> j << 2);
      v128.store(o, f32x4.add(v128.load(o), s0));
      v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
      v128.store(o, f32x4.add(v128.load(o, 32), s2), 32);
      v128.store(o, f32x4.add(v128.load(o, 48), s3), 48);
      v128.store(o, f32x4.add(v128.load(o, 64), s4), 64);
      v128.store(o, f32x4.add(v128.load(o, 80), s5), 80);
      v128.store(o, f32x4.add(v128.load(o, 96), s6), 96);
      v128.store(o, f32x4.add(v128.load(o, 112), s7), 112);
    }
    for (; j + 4 <= n; j += 4) {
      let acc = f32x4.splat(0);
      let bp = b + (<usize> j << 2);
      for (let p = 0; p < k; p++) {
        acc = madd4(v128.load32_splat(arow + (<usize> p << 2)), v128.load(bp), acc);
        bp += ldbBytes;
      }
      const o = crow + (<usize> j << 2);
      v128.store(o, f32x4.add(v128.load(o), acc));
    }
    // Scalar tail for the last n mod 4 columns.
    for (; j < n; j++) {
      let acc: f32 = 0;
      let bp = b + (<usize> j << 2);
      for (let p = 0; p < k; p++) {
        acc += load<f32>(arow + (<usize> p << 2)) * load<f32>(bp);
        bp += ldbBytes;
      }
      const o = crow + (<usize> j << 2);
      store<f32>(o, load<f32>(o) + acc);
    }
  }
}

/** Floats a whole packed B (k×n) takes: k rows of n rounded up to 8 columns. */
export function packedBSize(k: i32, n: i32): i32 {
  return k * ((n + NR - 1) & ~(NR - 1));
}

/**
 * Packs the whole of op(B) (k×n) into dst, k block after k block, for gemmPacked.
 * dst: packedBSize(k, n) f32; b: B [k,ldb] f32, or [n,ldb] when transB (ldb: its row stride in
 * floats, so B may be a column block of a wider matrix).
 */
export function packB(dst: usize, b: usize, ldb: i32, k: i32, n: i32, transB: bool): void {
  const npad = <usize> ((n + NR - 1) & ~(NR - 1));
  const ks = kStep(k);
  for (let pc = 0; pc < k; pc += ks) {
    const kc = min(ks, k - pc);
    const out = dst + <usize> pc * npad * 4;
    if (transB) packBT(out, b, ldb, pc, kc, 0, n);
    else packBN(out, b, ldb, pc, kc, 0, n);
  }
}

/**
 * The packed op(w) (k×n) that a recurrent kernel multiplies by at every step: `given` when the
 * caller packed it (packWeights: generation), else w packed here into PACK_B when the steps
 * reuse it and it fits, else 0 (each product then reads w itself).
 * w: [k,ldw] f32, or [n,ldw] when trans.
 */
export function stepWeights(
  given: usize,
  w: usize,
  ldw: i32,
  k: i32,
  n: i32,
  trans: bool,
  reuse: bool,
): usize {
  if (given != 0) return given;
  if (!reuse || packedBSize(k, n) > PACK_B_FLOATS) return 0;
  packB(PACK_B, w, ldw, k, n, trans);
  return PACK_B;
}

/**
 * c[m,n] += a[m,k] · op(B) with op(B) packed beforehand by packB (a B reused across products).
 * c: C [m,ldc] f32; a: A [m,lda] f32; bPacked: packedBSize(k, n) f32. Row strides in floats.
 */
export function gemmPacked(
  c: usize,
  ldc: i32,
  a: usize,
  lda: i32,
  bPacked: usize,
  m: i32,
  k: i32,
  n: i32,
): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  const npad = <usize> ((n + NR - 1) & ~(NR - 1));
  const ldcBytes = <usize> ldc << 2;
  const ks = kStep(k);
  for (let pc = 0; pc < k; pc += ks) {
    const kc = min(ks, k - pc);
    const block = bPacked + <usize> pc * npad * 4;
    if (packingPays(m)) gemmSlice(c, ldcBytes, a, lda, block, m, pc, kc, n, false);
    else packedFewRows(c, ldcBytes, a + (<usize> pc << 2), lda, block, m, kc, n);
  }
}

/**
 * C[m,n] += A[m,kc] · Bblock for m < MR rows (batch-1 generation), reading one packed k block
 * (panels [kc][8]) four panels at a time: eight accumulators as in kernel4x8, but no wasted rows,
 * and B streams through memory in order. Each output is summed over p from zero and then added
 * to C, as kernel4x8 does, so a row's result does not depend on how many rows the batch has.
 * c: C [m, ldc/4] f32; a: A [m,lda] f32 at the block's first column; block: [ceil(n/8)][kc][8].
 */
function packedFewRows(
  c: usize,
  ldc: usize,
  a: usize,
  lda: i32,
  block: usize,
  m: i32,
  kc: i32,
  n: i32,
): void {
  const panelBytes = <usize> kc << 5;
  for (let i = 0; i < m; i++) {
    const arow = a + ((<usize> i * <usize> lda) << 2);
    const crow = c + <usize> i * ldc;
    let jr = 0;
    // Four panels at a time while four remain (the last of them may be partial).
    for (; jr + 3 * NR < n; jr += 4 * NR) {
      let p0 = block + <usize> (jr / NR) * panelBytes;
      let p1 = p0 + panelBytes, p2 = p0 + 2 * panelBytes, p3 = p0 + 3 * panelBytes;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
      let p = 0;
      // Four k steps per v128 load of A, its lanes broadcast by shuffles: one bounds-checked load
      // fewer per step (as in kernel4x8). The panel pointers advance every step and every load
      // uses offset 0 or 16: V8 then keeps two bounds limits in registers, not eight. The sums
      // keep the order of p, so the bits do not change.
      for (; p + 4 <= kc; p += 4) {
        const av = v128.load(arow + (<usize> p << 2));
        let x: v128;
        x = v128.shuffle<f32>(av, av, 0, 0, 0, 0);
        s0 = madd4(x, v128.load(p0), s0);
        s1 = madd4(x, v128.load(p0, 16), s1);
        s2 = madd4(x, v128.load(p1), s2);
        s3 = madd4(x, v128.load(p1, 16), s3);
        s4 = madd4(x, v128.load(p2), s4);
        s5 = madd4(x, v128.load(p2, 16), s5);
        s6 = madd4(x, v128.load(p3), s6);
        s7 = madd4(x, v128.load(p3, 16), s7);
        p0 += 32;
        p1 += 32;
        p2 += 32;
        p3 += 32;
        x = v128.shuffle<f32>(av, av, 1, 1, 1, 1);
        s0 = madd4(x, v128.load(p0), s0);
        s1 = madd4(x, v128.load(p0, 16), s1);
        s2 = madd4(x, v128.load(p1), s2);
        s3 = madd4(x, v128.load(p1, 16), s3);
        s4 = madd4(x, v128.load(p2), s4);
        s5 = madd4(x, v128.load(p2, 16), s5);
        s6 = madd4(x, v128.load(p3), s6);
        s7 = madd4(x, v128.load(p3, 16), s7);
        p0 += 32;
        p1 += 32;
        p2 += 32;
        p3 += 32;
        x = v128.shuffle<f32>(av, av, 2, 2, 2, 2);
        s0 = madd4(x, v128.load(p0), s0);
        s1 = madd4(x, v128.load(p0, 16), s1);
        s2 = madd4(x, v128.load(p1), s2);
        s3 = madd4(x, v128.load(p1, 16), s3);
        s4 = madd4(x, v128.load(p2), s4);
        s5 = madd4(x, v128.load(p2, 16), s5);
        s6 = madd4(x, v128.load(p3), s6);
        s7 = madd4(x, v128.load(p3, 16), s7);
        p0 += 32;
        p1 += 32;
        p2 += 32;
        p3 += 32;
        x = v128.shuffle<f32>(av, av, 3, 3, 3, 3);
        s0 = madd4(x, v128.load(p0), s0);
        s1 = madd4(x, v128.load(p0, 16), s1);
        s2 = madd4(x, v128.load(p1), s2);
        s3 = madd4(x, v128.load(p1, 16), s3);
        s4 = madd4(x, v128.load(p2), s4);
        s5 = madd4(x, v128.load(p2, 16), s5);
        s6 = madd4(x, v128.load(p3), s6);
        s7 = madd4(x, v128.load(p3, 16), s7);
        p0 += 32;
        p1 += 32;
        p2 += 32;
        p3 += 32;
      }
      for (; p < kc; p++) {
        const x = v128.load32_splat(arow + (<usize> p << 2));
        s0 = madd4(x, v128.load(p0), s0);
        s1 = madd4(x, v128.load(p0, 16), s1);
        s2 = madd4(x, v128.load(p1), s2);
        s3 = madd4(x, v128.load(p1, 16), s3);
        s4 = madd4(x, v128.load(p2), s4);
        s5 = madd4(x, v128.load(p2, 16), s5);
        s6 = madd4(x, v128.load(p3), s6);
        s7 = madd4(x, v128.load(p3, 16), s7);
        p0 += 32;
        p1 += 32;
        p2 += 32;
        p3 += 32;
      }
      const o = crow + (<usize> jr << 2);
      if (jr + 4 * NR <= n) {
        v128.store(o, f32x4.add(v128.load(o), s0));
        v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
        v128.store(o, f32x4.add(v128.load(o, 32), s2), 32);
        v128.store(o, f32x4.add(v128.load(o, 48), s3), 48);
        v128.store(o, f32x4.add(v128.load(o, 64), s4), 64);
        v128.store(o, f32x4.add(v128.load(o, 80), s5), 80);
        v128.store(o, f32x4.add(v128.load(o, 96), s6), 96);
        v128.store(o, f32x4.add(v128.load(o, 112), s7), 112);
        continue;
      }
      // The last columns: spill the sums and add the valid ones.
      v128.store(EDGE, s0);
      v128.store(EDGE, s1, 16);
      v128.store(EDGE, s2, 32);
      v128.store(EDGE, s3, 48);
      v128.store(EDGE, s4, 64);
      v128.store(EDGE, s5, 80);
      v128.store(EDGE, s6, 96);
      v128.store(EDGE, s7, 112);
      addSpilled(o, EDGE, n - jr);
    }
    // The last one to three panels one at a time, summed in the same order.
    for (; jr < n; jr += NR) {
      let q0 = block + <usize> (jr / NR) * panelBytes;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const av = v128.load(arow + (<usize> p << 2));
        let x = v128.shuffle<f32>(av, av, 0, 0, 0, 0);
        s0 = madd4(x, v128.load(q0), s0);
        s1 = madd4(x, v128.load(q0, 16), s1);
        x = v128.shuffle<f32>(av, av, 1, 1, 1, 1);
        s0 = madd4(x, v128.load(q0, 32), s0);
        s1 = madd4(x, v128.load(q0, 48), s1);
        x = v128.shuffle<f32>(av, av, 2, 2, 2, 2);
        s0 = madd4(x, v128.load(q0, 64), s0);
        s1 = madd4(x, v128.load(q0, 80), s1);
        x = v128.shuffle<f32>(av, av, 3, 3, 3, 3);
        s0 = madd4(x, v128.load(q0, 96), s0);
        s1 = madd4(x, v128.load(q0, 112), s1);
        q0 += 128;
      }
      for (; p < kc; p++) {
        const x = v128.load32_splat(arow + (<usize> p << 2));
        s0 = madd4(x, v128.load(q0), s0);
        s1 = madd4(x, v128.load(q0, 16), s1);
        q0 += 32;
      }
      const o = crow + (<usize> jr << 2);
      if (jr + NR <= n) {
        v128.store(o, f32x4.add(v128.load(o), s0));
        v128.store(o, f32x4.add(v128.load(o, 16), s1), 16);
        continue;
      }
      v128.store(EDGE, s0);
      v128.store(EDGE, s1, 16);
      addSpilled(o, EDGE, n - jr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Exports

/** c[m,n] += a[m,k] · b[k,n]. c: C [m,n] f32; a: A [m,k] f32; b: B [k,n] f32. */
export function matmulNN(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  gemm(c, n, a, k, b, n, m, k, n, false, false);
}

/** c[m,n] += a[m,k] · b[n,k]ᵀ. c: C [m,n] f32; a: A [m,k] f32; b: B [n,k] f32. */
export function matmulNT(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  gemm(c, n, a, k, b, k, m, k, n, false, true);
}

/** c[m,n] += a[k,m]ᵀ · b[k,n]. c: C [m,n] f32; a: A [k,m] f32; b: B [k,n] f32. */
export function matmulTN(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  gemm(c, n, a, m, b, n, m, k, n, true, false);
}

/**
 * c[m,n] += op(a)·op(b) with row strides in floats: a block of a larger product, which is how
 * the threaded backend splits one product between threads (each block's numbers are those of
 * the whole product). transA, transB: 0 or 1.
 */
export function matmulStrided(
  c: usize,
  ldc: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  m: i32,
  k: i32,
  n: i32,
  transA: i32,
  transB: i32,
): void {
  gemm(c, ldc, a, lda, b, ldb, m, k, n, transA != 0, transB != 0);
}

/**
 * Floats a weight b[k,n] takes once packed by packWeights, or by packInt8 (int8.ts), whichever
 * is more: one allocation holds either.
 */
export function packedSize(k: i32, n: i32): i32 {
  return max(packedBSize(k, n), int8Size(k, n));
}

/** Packs a weight b[k,n] for matmulPacked. dst: packedSize(k, n) f32; b: B [k,n] f32. */
export function packWeights(dst: usize, b: usize, k: i32, n: i32): void {
  if (k > 0 && n > 0) packB(dst, b, n, k, n, false);
}

/**
 * c[m,n] += a[m,k] · b[k,n] with b packed by packWeights: a weight multiplied many times, by
 * few rows (generation). c: C [m,n] f32; a: A [m,k] f32; b: packedSize(k, n) f32, packed.
 */
export function matmulPacked(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  gemmPacked(c, n, a, k, b, m, k, n);
}

/** Scalar twin of packedSize: the naive layout is the matrix itself (or packInt8's). */
export function packedSizeNaive(k: i32, n: i32): i32 {
  return max(k * n, int8Size(k, n));
}

/** Scalar twin of packWeights: a plain copy. dst: [k,n] f32; b: B [k,n] f32. */
export function packWeightsNaive(dst: usize, b: usize, k: i32, n: i32): void {
  if (k > 0 && n > 0) memory.copy(dst, b, (<usize> k * <usize> n) << 2);
}

/** Scalar twin of matmulPacked. c: C [m,n] f32; a: A [m,k] f32; b: B [k,n] f32. */
export function matmulPackedNaive(
  c: usize,
  a: usize,
  b: usize,
  m: i32,
  k: i32,
  n: i32,
): void {
  matmulNNNaive(c, a, b, m, k, n);
}

/** Scalar twin of matmulNN. c: C [m,n] f32; a: A [m,k] f32; b: B [k,n] f32. */
export function matmulNNNaive(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) {
        s += load<f32>(a + (<usize> (i * k + p) << 2)) * load<f32>(b + (<usize> (p * n + j) << 2));
      }
      const o = c + (<usize> (i * n + j) << 2);
      store<f32>(o, load<f32>(o) + s);
    }
  }
}

/** Scalar twin of matmulNT. c: C [m,n] f32; a: A [m,k] f32; b: B [n,k] f32. */
export function matmulNTNaive(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) {
        s += load<f32>(a + (<usize> (i * k + p) << 2)) * load<f32>(b + (<usize> (j * k + p) << 2));
      }
      const o = c + (<usize> (i * n + j) << 2);
      store<f32>(o, load<f32>(o) + s);
    }
  }
}

/** Scalar twin of matmulTN. c: C [m,n] f32; a: A [k,m] f32; b: B [k,n] f32. */
export function matmulTNNaive(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) {
        s += load<f32>(a + (<usize> (p * m + i) << 2)) * load<f32>(b + (<usize> (p * n + j) << 2));
      }
      const o = c + (<usize> (i * n + j) << 2);
      store<f32>(o, load<f32>(o) + s);
    }
  }
}
