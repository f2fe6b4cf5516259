// assembly/gru_cell.ts — the gated recurrent unit over a whole sequence, forward and
// backpropagation through time. GRU gates: Dive into Deep Learning, GRU section (variant = 0,
// the reset gate applied to H before the candidate's product) and torch.nn.GRU (variant = 1,
// applied after it, with the extra bias b_hn). Both keep PyTorch's gate order [r | z | n], G = 3H:
// zin[s] and the saved gates are [b, 3h] rows, whh [h, 3h] holds W_hr | W_hz | W_hn side by side.
//
// The recurrent weights are packed once per call (into matmul's PACK_B) and every step's product
// runs through the packed GEMM: one product of width 3h for variant = 1; for variant = 0 one
// of width 2h (r and z) and one of width h for the candidate, whose input r⊙H needs r first. The
// gate math is fused into one SIMD pass per row with a scalar tail. Too large an h to pack
// (3h² > PACK_B_FLOATS, h > 418) falls back to products that pack per call.
import { sigmoidf1, sigmoidf4, tanhf1, tanhf4 } from "./activations";
import {
  gemm,
  gemmPacked,
  PACK_B,
  PACK_B_FLOATS,
  packB,
  packedBSize,
  packingPays,
  stepWeights,
} from "./matmul";

/**
 * c[m,n] += a[m,k] · op(w): through the packed copy of op(w) when wp != 0, else packing per call.
 * c: [m,ldc] f32; a: [m,lda] f32; wp: packedBSize(k, n) f32 or 0; w: [k,ldw] f32, or [n,ldw]
 * when transW.
 */
function product(
  c: usize,
  ldc: i32,
  a: usize,
  lda: i32,
  wp: usize,
  w: usize,
  ldw: i32,
  m: i32,
  k: i32,
  n: i32,
  transW: bool,
): void {
  if (wp != 0) gemmPacked(c, ldc, a, lda, wp, m, k, n);
  else gemm(c, ldc, a, lda, w, ldw, m, k, n, false, transW);
}

// ---------------------------------------------------------------------------------------------
// Forward gate passes, one row of b per iteration; rows of g are 3h floats, of the rest h.

/**
 * variant = 1, after the product: g holds [zin_r + H·W_hr | zin_z + H·W_hz | H·W_hn + b_hn].
 * r = σ(·), z = σ(·), hn = H·W_hn + b_hn, n = tanh(zin_n + r⊙hn), H' = z⊙H + (1-z)⊙n.
 * gs: gates [b,3h]; hs: hn [b,h]; zs: zin [b,3h]; prev, next: H, H' [b,h]; all f32.
 */
function gatesAfterForward(
  gs: usize,
  hs: usize,
  zs: usize,
  prev: usize,
  next: usize,
  b: i32,
  h: i32,
): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const g = gs + <usize> row * 3 * hb, zn = zs + <usize> row * 3 * hb + 2 * hb;
    const q = hs + <usize> row * hb, hp = prev + <usize> row * hb, hx = next + <usize> row * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const r = sigmoidf4(v128.load(g + o));
      const z = sigmoidf4(v128.load(g + hb + o));
      const qv = v128.load(g + 2 * hb + o);
      const n = tanhf4(f32x4.add(v128.load(zn + o), f32x4.mul(r, qv)));
      v128.store(q + o, qv);
      v128.store(g + o, r);
      v128.store(g + hb + o, z);
      v128.store(g + 2 * hb + o, n);
      const y = f32x4.add(f32x4.mul(z, v128.load(hp + o)), f32x4.mul(f32x4.sub(one, z), n));
      v128.store(hx + o, y);
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const r = sigmoidf1(load<f32>(g + o));
      const z = sigmoidf1(load<f32>(g + hb + o));
      const qv = load<f32>(g + 2 * hb + o);
      const n = tanhf1(load<f32>(zn + o) + r * qv);
      store<f32>(q + o, qv);
      store<f32>(g + o, r);
      store<f32>(g + hb + o, z);
      store<f32>(g + 2 * hb + o, n);
      store<f32>(hx + o, z * load<f32>(hp + o) + (1 - z) * n);
    }
  }
}

/**
 * variant = 0, after the r|z product: r = σ(·), z = σ(·) in place, and hn = r⊙H, the input
 * of the candidate's product. gs: gates [b,3h]; hs: hn [b,h]; prev: H [b,h]; all f32.
 */
function resetGateForward(gs: usize, hs: usize, prev: usize, b: i32, h: i32): void {
  const hb = <usize> h << 2;
  for (let row = 0; row < b; row++) {
    const g = gs + <usize> row * 3 * hb;
    const q = hs + <usize> row * hb, hp = prev + <usize> row * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const r = sigmoidf4(v128.load(g + o));
      v128.store(g + o, r);
      v128.store(g + hb + o, sigmoidf4(v128.load(g + hb + o)));
      v128.store(q + o, f32x4.mul(r, v128.load(hp + o)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const r = sigmoidf1(load<f32>(g + o));
      store<f32>(g + o, r);
      store<f32>(g + hb + o, sigmoidf1(load<f32>(g + hb + o)));
      store<f32>(q + o, r * load<f32>(hp + o));
    }
  }
}

/**
 * variant = 0, after the candidate's product: n = tanh(zin_n + (r⊙H)·W_hn) in place and
 * H' = z⊙H + (1-z)⊙n. gs: gates [b,3h]; prev, next: H, H' [b,h]; all f32.
 */
function candidateForward(gs: usize, prev: usize, next: usize, b: i32, h: i32): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const g = gs + <usize> row * 3 * hb;
    const hp = prev + <usize> row * hb, hx = next + <usize> row * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const z = v128.load(g + hb + o);
      const n = tanhf4(v128.load(g + 2 * hb + o));
      v128.store(g + 2 * hb + o, n);
      const y = f32x4.add(f32x4.mul(z, v128.load(hp + o)), f32x4.mul(f32x4.sub(one, z), n));
      v128.store(hx + o, y);
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const z = load<f32>(g + hb + o);
      const n = tanhf1(load<f32>(g + 2 * hb + o));
      store<f32>(g + 2 * hb + o, n);
      store<f32>(hx + o, z * load<f32>(hp + o) + (1 - z) * n);
    }
  }
}

/**
 * For s < t, one GRU step from states[s] to states[s+1] (see the file comment for the gates);
 * states[0] holds H_0 on entry. Saves the post-activation gates and hn (variant = 0: r⊙H_s;
 * 1: H_s·W_hn + b_hn) for gruBackward.
 * states: [t+1,b,h] f32; gates: [t,b,3h] f32 (r, z, n); hn: [t,b,h] f32; zin: [t,b,3h] f32 (input
 * products plus input-side biases); whh: W_hr | W_hz | W_hn [h,3h] f32; bhn: b_hn [h] f32 (read
 * only when variant = 1); whhPacked: whh packed by packWeights, or 0 (read only when
 * variant = 1: the book's variant multiplies by two column blocks of whh, packed apart).
 */
export function gruForward(
  states: usize,
  gates: usize,
  hn: usize,
  zin: usize,
  whh: usize,
  bhn: usize,
  t: i32,
  b: i32,
  h: i32,
  variant: i32,
  whhPacked: usize,
): void {
  gruForwardRows(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked, 0, b);
}

/**
 * gruForward for the rows r0 ≤ r < r1 of the batch alone (independent sequences: threads each
 * run a block of them); every number is the one gruForward computes.
 */
export function gruForwardRows(
  states: usize,
  gates: usize,
  hn: usize,
  zin: usize,
  whh: usize,
  bhn: usize,
  t: i32,
  b: i32,
  h: i32,
  variant: i32,
  whhPacked: usize,
  r0: i32,
  r1: i32,
): void {
  const rows = r1 - r0;
  if (t <= 0 || rows <= 0 || h <= 0) return;
  const g = 3 * h;
  const hb = <usize> h << 2, gb = <usize> g << 2;
  const blockH = <usize> b * hb, blockG = <usize> b * gb;
  const firstH = <usize> r0 * hb, firstG = <usize> r0 * gb;
  if (variant != 0) {
    // One product of width 3h per step: H·[W_hr | W_hz | W_hn], packed by the caller
    // (generation), or here when it fits and the batch reuses it.
    const wp = stepWeights(whhPacked, whh, g, h, g, false, packingPays(rows));
    for (let s = 0; s < t; s++) {
      const prev = states + <usize> s * blockH + firstH;
      const gs = gates + <usize> s * blockG + firstG;
      const zs = zin + <usize> s * blockG + firstG;
      // The r and z blocks start from zin, the n block from b_hn: zin_n waits until r is known.
      for (let row = 0; row < rows; row++) {
        const o = <usize> row * gb;
        memory.copy(gs + o, zs + o, 2 * hb);
        memory.copy(gs + o + 2 * hb, bhn, hb);
      }
      product(gs, g, prev, h, wp, whh, g, rows, h, g, false);
      gatesAfterForward(gs, hn + <usize> s * blockH + firstH, zs, prev, prev + blockH, rows, h);
    }
    return;
  }
  // Two products per step: H·[W_hr | W_hz] (width 2h), then (r⊙H)·W_hn (width h).
  const sizeRZ = packedBSize(h, 2 * h);
  const fits = packingPays(rows) && sizeRZ + packedBSize(h, h) <= PACK_B_FLOATS;
  const wrz: usize = fits ? PACK_B : 0;
  const wn: usize = fits ? PACK_B + (<usize> sizeRZ << 2) : 0;
  if (fits) {
    packB(wrz, whh, g, h, 2 * h, false);
    packB(wn, whh + 2 * hb, g, h, h, false);
  }
  for (let s = 0; s < t; s++) {
    const prev = states + <usize> s * blockH + firstH;
    const gs = gates + <usize> s * blockG + firstG;
    const hs = hn + <usize> s * blockH + firstH;
    memory.copy(gs, zin + <usize> s * blockG + firstG, <usize> rows * gb);
    product(gs, g, prev, h, wrz, whh, g, rows, h, 2 * h, false);
    resetGateForward(gs, hs, prev, rows, h);
    product(gs + 2 * hb, g, hs, h, wn, whh + 2 * hb, g, rows, h, h, false);
    candidateForward(gs, prev, prev + blockH, rows, h);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward gate passes. dh: dstates[s+1] rows, the full gradient reaching H'; dprev: dstates[s]
// rows, added into; d: dzin[s] rows [b,3h], the gradients of the gates' pre-activations.

/**
 * variant = 1: d = [dr̂ | dẑ | dhn] with dhn = dn̂⊙r (what the fused product and dW_hn need;
 * gruBackward swaps in dn̂ at the end), and dprev += dh⊙z.
 * d: [b,3h]; dprev, dh: [b,h]; gs: gates [b,3h]; hs: hn [b,h]; prev: H [b,h]; all f32.
 */
function gatesAfterBackward(
  d: usize,
  dprev: usize,
  dh: usize,
  gs: usize,
  hs: usize,
  prev: usize,
  b: i32,
  h: i32,
): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const dr = d + <usize> row * 3 * hb, g = gs + <usize> row * 3 * hb;
    const rb = <usize> row * hb;
    const dp = dprev + rb, dy = dh + rb, q = hs + rb, hp = prev + rb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const dyv = v128.load(dy + o);
      const r = v128.load(g + o), z = v128.load(g + hb + o), n = v128.load(g + 2 * hb + o);
      const dn = f32x4.mul(f32x4.mul(dyv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
      const dz = f32x4.mul(
        f32x4.mul(dyv, f32x4.sub(v128.load(hp + o), n)),
        f32x4.mul(z, f32x4.sub(one, z)),
      );
      const dq = f32x4.mul(dn, r);
      const drv = f32x4.mul(f32x4.mul(dn, v128.load(q + o)), f32x4.mul(r, f32x4.sub(one, r)));
      v128.store(dr + o, drv);
      v128.store(dr + hb + o, dz);
      v128.store(dr + 2 * hb + o, dq);
      v128.store(dp + o, f32x4.add(v128.load(dp + o), f32x4.mul(dyv, z)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const dyv = load<f32>(dy + o);
      const r = load<f32>(g + o), z = load<f32>(g + hb + o), n = load<f32>(g + 2 * hb + o);
      const dn = dyv * (1 - z) * (1 - n * n);
      store<f32>(dr + o, dn * load<f32>(q + o) * (r * (1 - r)));
      store<f32>(dr + hb + o, dyv * (load<f32>(hp + o) - n) * (z * (1 - z)));
      store<f32>(dr + 2 * hb + o, dn * r);
      store<f32>(dp + o, load<f32>(dp + o) + dyv * z);
    }
  }
}

/**
 * variant = 1, after the loop: d's n block gets dn̂ = dh⊙(1-z)⊙(1-n²), computed exactly as in
 * gatesAfterBackward (the same f32 operations, so the same bits). Rows: m = t·b.
 * d: [m,3h]; dh: dstates[1..t] [m,h]; gs: gates [m,3h]; all f32.
 */
function candidateGradient(d: usize, dh: usize, gs: usize, m: i32, h: i32): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < m; row++) {
    const dn = d + <usize> row * 3 * hb + 2 * hb, g = gs + <usize> row * 3 * hb;
    const dy = dh + <usize> row * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const z = v128.load(g + hb + o), n = v128.load(g + 2 * hb + o);
      const v = f32x4.mul(
        f32x4.mul(v128.load(dy + o), f32x4.sub(one, z)),
        f32x4.sub(one, f32x4.mul(n, n)),
      );
      v128.store(dn + o, v);
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const z = load<f32>(g + hb + o), n = load<f32>(g + 2 * hb + o);
      store<f32>(dn + o, load<f32>(dy + o) * (1 - z) * (1 - n * n));
    }
  }
}

/**
 * dbhn += Σ_rows of the n block of d. dbhn: [h] f32; d: [m,3h] f32 (its n block holding dhn).
 */
function candidateBiasGradient(dbhn: usize, d: usize, m: i32, h: i32): void {
  const hb = <usize> h << 2;
  for (let row = 0; row < m; row++) {
    const dq = d + <usize> row * 3 * hb + 2 * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      v128.store(dbhn + o, f32x4.add(v128.load(dbhn + o), v128.load(dq + o)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      store<f32>(dbhn + o, load<f32>(dbhn + o) + load<f32>(dq + o));
    }
  }
}

/**
 * variant = 0, before the products: d's z and n blocks get dẑ and dn̂, dprev += dh⊙z.
 * d: [b,3h]; dprev, dh: [b,h]; gs: gates [b,3h]; prev: H [b,h]; all f32.
 */
function updateGateBackward(
  d: usize,
  dprev: usize,
  dh: usize,
  gs: usize,
  prev: usize,
  b: i32,
  h: i32,
): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const dr = d + <usize> row * 3 * hb, g = gs + <usize> row * 3 * hb;
    const rb = <usize> row * hb;
    const dp = dprev + rb, dy = dh + rb, hp = prev + rb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const dyv = v128.load(dy + o);
      const z = v128.load(g + hb + o), n = v128.load(g + 2 * hb + o);
      const dn = f32x4.mul(f32x4.mul(dyv, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
      const dz = f32x4.mul(
        f32x4.mul(dyv, f32x4.sub(v128.load(hp + o), n)),
        f32x4.mul(z, f32x4.sub(one, z)),
      );
      v128.store(dr + hb + o, dz);
      v128.store(dr + 2 * hb + o, dn);
      v128.store(dp + o, f32x4.add(v128.load(dp + o), f32x4.mul(dyv, z)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const dyv = load<f32>(dy + o);
      const z = load<f32>(g + hb + o), n = load<f32>(g + 2 * hb + o);
      store<f32>(dr + hb + o, dyv * (load<f32>(hp + o) - n) * (z * (1 - z)));
      store<f32>(dr + 2 * hb + o, dyv * (1 - z) * (1 - n * n));
      store<f32>(dp + o, load<f32>(dp + o) + dyv * z);
    }
  }
}

/**
 * variant = 0, after the candidate's product left q = d(r⊙H) in d's r block: dr̂ = q⊙H⊙r(1-r)
 * replaces it, and dprev += q⊙r. d: [b,3h]; dprev: [b,h]; gs: gates [b,3h]; prev: H [b,h]; f32.
 */
function resetGateBackward(d: usize, dprev: usize, gs: usize, prev: usize, b: i32, h: i32): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const dr = d + <usize> row * 3 * hb, g = gs + <usize> row * 3 * hb;
    const dp = dprev + <usize> row * hb, hp = prev + <usize> row * hb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const q = v128.load(dr + o), r = v128.load(g + o);
      const v = f32x4.mul(f32x4.mul(q, v128.load(hp + o)), f32x4.mul(r, f32x4.sub(one, r)));
      v128.store(dr + o, v);
      v128.store(dp + o, f32x4.add(v128.load(dp + o), f32x4.mul(q, r)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const q = load<f32>(dr + o), r = load<f32>(g + o);
      store<f32>(dr + o, q * load<f32>(hp + o) * (r * (1 - r)));
      store<f32>(dp + o, load<f32>(dp + o) + q * r);
    }
  }
}

/**
 * Backpropagation through time for gruForward. On entry dstates[s+1] holds the gradient reaching
 * H_{s+1} from above; walking s = t-1 … 0 the kernel adds the recurrent part into dstates[s] and
 * writes dzin[s], the gradient of zin[s] (the gates' pre-activations). dwhh and dbhn (only when
 * variant = 1) are added into. dzin must be zero on entry. On exit dstates[0] holds the
 * gradient with respect to H_0.
 * dzin: [t,b,3h] f32; dwhh: [h,3h] f32; dbhn: [h] f32; dstates, states: [t+1,b,h] f32; gates:
 * [t,b,3h] f32; hn: [t,b,h] f32 (from gruForward); whh: [h,3h] f32.
 */
export function gruBackward(
  dzin: usize,
  dwhh: usize,
  dbhn: usize,
  dstates: usize,
  states: usize,
  gates: usize,
  hn: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  variant: i32,
): void {
  if (t <= 0 || b <= 0 || h <= 0) return;
  const g = 3 * h, m = t * b;
  const hb = <usize> h << 2, gb = <usize> g << 2;
  const blockH = <usize> b * hb, blockG = <usize> b * gb;
  if (variant != 0) {
    // One NT product of width 3h per step, dstates[s] += [dr̂ | dẑ | dhn]·whhᵀ, so whhᵀ is packed.
    const wp = stepWeights(0, whh, g, g, h, true, true);
    for (let s = t - 1; s >= 0; s--) {
      const d = dzin + <usize> s * blockG, dprev = dstates + <usize> s * blockH;
      const prev = states + <usize> s * blockH;
      gatesAfterBackward(
        d,
        dprev,
        dprev + blockH,
        gates + <usize> s * blockG,
        hn + <usize> s * blockH,
        prev,
        b,
        h,
      );
      product(dprev, h, d, g, wp, whh, g, b, g, h, true);
    }
    // The weight gradients as one TN product over the whole sequence (k = t·b) rather than t thin
    // ones (k = b), each a full pass over dW: dW += states[0..t)ᵀ · [dr̂ | dẑ | dhn].
    gemm(dwhh, g, states, h, dzin, g, h, m, g, true, false);
    candidateBiasGradient(dbhn, dzin, m, h);
    candidateGradient(dzin, dstates + blockH, gates, m, h);
    return;
  }
  const sizeRZ = packedBSize(2 * h, h);
  const fits = sizeRZ + packedBSize(h, h) <= PACK_B_FLOATS;
  const wrz: usize = fits ? PACK_B : 0;
  const wn: usize = fits ? PACK_B + (<usize> sizeRZ << 2) : 0;
  if (fits) {
    packB(wrz, whh, g, 2 * h, h, true);
    packB(wn, whh + 2 * hb, g, h, h, true);
  }
  for (let s = t - 1; s >= 0; s--) {
    const d = dzin + <usize> s * blockG, dprev = dstates + <usize> s * blockH;
    const gs = gates + <usize> s * blockG, prev = states + <usize> s * blockH;
    updateGateBackward(d, dprev, dprev + blockH, gs, prev, b, h);
    // d(r⊙H) = dn̂ · W_hnᵀ, into d's r block (zero on entry).
    product(d, g, d + 2 * hb, g, wn, whh + 2 * hb, g, b, h, h, true);
    resetGateBackward(d, dprev, gs, prev, b, h);
    product(dprev, h, d, g, wrz, whh, g, b, 2 * h, h, true);
  }
  // As above, one TN product per weight block: dW_hr|hz += statesᵀ·[dr̂ | dẑ], dW_hn += hnᵀ·dn̂.
  gemm(dwhh, g, states, h, dzin, g, h, m, 2 * h, true, false);
  gemm(dwhh + 2 * hb, g, hn, h, dzin + 2 * hb, g, h, m, h, true, false);
}

// ---------------------------------------------------------------------------------------------
// Scalar twins

/** Scalar twin of gruForward; buffers as there (whhPacked: a copy of whh, or 0). */
export function gruForwardNaive(
  states: usize,
  gates: usize,
  hn: usize,
  zin: usize,
  whh: usize,
  bhn: usize,
  t: i32,
  b: i32,
  h: i32,
  variant: i32,
  whhPacked: usize,
): void {
  if (whhPacked != 0 && variant != 0) whh = whhPacked;
  const g = 3 * h;
  for (let s = 0; s < t; s++) {
    for (let r = 0; r < b; r++) {
      const hp = <usize> ((s * b + r) * h) << 2, hx = <usize> (((s + 1) * b + r) * h) << 2;
      const go = <usize> ((s * b + r) * g) << 2, qo = <usize> ((s * b + r) * h) << 2;
      for (let j = 0; j < 2 * h; j++) {
        let a = load<f32>(zin + go + (<usize> j << 2));
        for (let p = 0; p < h; p++) {
          a += load<f32>(states + hp + (<usize> p << 2)) *
            load<f32>(whh + (<usize> (p * g + j) << 2));
        }
        store<f32>(gates + go + (<usize> j << 2), 1 / (1 + Mathf.exp(-a)));
      }
      for (let j = 0; j < h; j++) {
        let q: f32;
        if (variant != 0) {
          q = load<f32>(bhn + (<usize> j << 2));
          for (let p = 0; p < h; p++) {
            q += load<f32>(states + hp + (<usize> p << 2)) *
              load<f32>(whh + (<usize> (p * g + 2 * h + j) << 2));
          }
        } else {
          q = load<f32>(gates + go + (<usize> j << 2)) * load<f32>(states + hp + (<usize> j << 2));
        }
        store<f32>(hn + qo + (<usize> j << 2), q);
      }
      for (let j = 0; j < h; j++) {
        let a = load<f32>(zin + go + (<usize> (2 * h + j) << 2));
        if (variant != 0) {
          a += load<f32>(gates + go + (<usize> j << 2)) * load<f32>(hn + qo + (<usize> j << 2));
        } else {
          for (let p = 0; p < h; p++) {
            a += load<f32>(hn + qo + (<usize> p << 2)) *
              load<f32>(whh + (<usize> (p * g + 2 * h + j) << 2));
          }
        }
        const n = Mathf.tanh(a);
        const z = load<f32>(gates + go + (<usize> (h + j) << 2));
        store<f32>(gates + go + (<usize> (2 * h + j) << 2), n);
        store<f32>(
          states + hx + (<usize> j << 2),
          z * load<f32>(states + hp + (<usize> j << 2)) + (1 - z) * n,
        );
      }
    }
  }
}

/** Scalar twin of gruBackward; buffers as there. Weight gradients are added per step. */
export function gruBackwardNaive(
  dzin: usize,
  dwhh: usize,
  dbhn: usize,
  dstates: usize,
  states: usize,
  gates: usize,
  hn: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  variant: i32,
): void {
  const g = 3 * h;
  for (let s = t - 1; s >= 0; s--) {
    for (let r = 0; r < b; r++) {
      const hp = <usize> ((s * b + r) * h) << 2, hx = <usize> (((s + 1) * b + r) * h) << 2;
      const go = <usize> ((s * b + r) * g) << 2, qo = <usize> ((s * b + r) * h) << 2;
      // The z and n blocks of dzin, and the direct path H_s -> H_{s+1}.
      for (let j = 0; j < h; j++) {
        const o = <usize> j << 2;
        const dy = load<f32>(dstates + hx + o);
        const z = load<f32>(gates + go + (<usize> (h + j) << 2));
        const n = load<f32>(gates + go + (<usize> (2 * h + j) << 2));
        const dz = dzin + go + (<usize> (h + j) << 2), dn = dzin + go + (<usize> (2 * h + j) << 2);
        store<f32>(dz, load<f32>(dz) + dy * (load<f32>(states + hp + o) - n) * z * (1 - z));
        store<f32>(dn, load<f32>(dn) + dy * (1 - z) * (1 - n * n));
        store<f32>(dstates + hp + o, load<f32>(dstates + hp + o) + dy * z);
      }
      if (variant != 0) {
        // hn = H_s·W_hn + b_hn enters n̂ as r⊙hn.
        for (let j = 0; j < h; j++) {
          const o = <usize> j << 2;
          const dn = load<f32>(dzin + go + (<usize> (2 * h + j) << 2));
          const rg = load<f32>(gates + go + o);
          const dq = dn * rg;
          store<f32>(dbhn + o, load<f32>(dbhn + o) + dq);
          const dr = dzin + go + o;
          store<f32>(dr, load<f32>(dr) + dn * load<f32>(hn + qo + o) * rg * (1 - rg));
          for (let p = 0; p < h; p++) {
            const w = <usize> (p * g + 2 * h + j) << 2;
            const ds = dstates + hp + (<usize> p << 2);
            store<f32>(ds, load<f32>(ds) + dq * load<f32>(whh + w));
            store<f32>(
              dwhh + w,
              load<f32>(dwhh + w) + load<f32>(states + hp + (<usize> p << 2)) * dq,
            );
          }
        }
      } else {
        // hn = r⊙H_s is the candidate's input: first its gradient, then r's and H_s's.
        for (let p = 0; p < h; p++) {
          let dq: f32 = 0;
          for (let j = 0; j < h; j++) {
            const w = <usize> (p * g + 2 * h + j) << 2;
            const dn = load<f32>(dzin + go + (<usize> (2 * h + j) << 2));
            dq += dn * load<f32>(whh + w);
            store<f32>(dwhh + w, load<f32>(dwhh + w) + load<f32>(hn + qo + (<usize> p << 2)) * dn);
          }
          const o = <usize> p << 2;
          const rg = load<f32>(gates + go + o);
          const dr = dzin + go + o;
          store<f32>(dr, load<f32>(dr) + dq * load<f32>(states + hp + o) * rg * (1 - rg));
          store<f32>(dstates + hp + o, load<f32>(dstates + hp + o) + dq * rg);
        }
      }
      // The r and z products with H_s.
      for (let j = 0; j < 2 * h; j++) {
        const dg = load<f32>(dzin + go + (<usize> j << 2));
        for (let p = 0; p < h; p++) {
          const w = <usize> (p * g + j) << 2;
          const ds = dstates + hp + (<usize> p << 2);
          store<f32>(ds, load<f32>(ds) + dg * load<f32>(whh + w));
          store<f32>(
            dwhh + w,
            load<f32>(dwhh + w) + load<f32>(states + hp + (<usize> p << 2)) * dg,
          );
        }
      }
    }
  }
}
