// assembly/lstm_cell.ts — long short-term memory over a whole sequence, forward and
// backpropagation through time. LSTM gates: Dive into Deep Learning, LSTM section, in
// torch.nn.LSTM's order [i | f | g | o] (input, forget, candidate, output), G = 4H:
// i, f, o = σ(zin + H·W_h·), g = tanh(zin_g + H·W_hc), C' = f⊙C + i⊙g, H' = o⊙tanh(C').
//
// whh [h,4h] (W_hi | W_hf | W_hc | W_ho) is packed once per call (into matmul's PACK_B) and each
// step runs one product of width 4h through the packed GEMM, then one fused SIMD pass per row
// with a scalar tail. Too large an h to pack (4h² > PACK_B_FLOATS, h > 362) falls back to
// products that pack per call.
import { sigmoidf1, sigmoidf4, tanhf1, tanhf4 } from "./activations";
import { gemm, gemmPacked, packingPays, stepWeights } from "./matmul";

/**
 * After the product, g holds the pre-activations: the gates in place, C' = f⊙C + i⊙g and
 * H' = o⊙tanh(C'). gs: gates [b,4h]; cprev, cnext: C, C' [b,h]; next: H' [b,h]; all f32.
 */
function gatesForward(gs: usize, cprev: usize, cnext: usize, next: usize, b: i32, h: i32): void {
  const hb = <usize> h << 2;
  for (let row = 0; row < b; row++) {
    const g = gs + <usize> row * 4 * hb, rb = <usize> row * hb;
    const cp = cprev + rb, cx = cnext + rb, hx = next + rb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const iv = sigmoidf4(v128.load(g + o));
      const fv = sigmoidf4(v128.load(g + hb + o));
      const gv = tanhf4(v128.load(g + 2 * hb + o));
      const ov = sigmoidf4(v128.load(g + 3 * hb + o));
      const c = f32x4.add(f32x4.mul(fv, v128.load(cp + o)), f32x4.mul(iv, gv));
      v128.store(g + o, iv);
      v128.store(g + hb + o, fv);
      v128.store(g + 2 * hb + o, gv);
      v128.store(g + 3 * hb + o, ov);
      v128.store(cx + o, c);
      v128.store(hx + o, f32x4.mul(ov, tanhf4(c)));
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const iv = sigmoidf1(load<f32>(g + o));
      const fv = sigmoidf1(load<f32>(g + hb + o));
      const gv = tanhf1(load<f32>(g + 2 * hb + o));
      const ov = sigmoidf1(load<f32>(g + 3 * hb + o));
      const c = fv * load<f32>(cp + o) + iv * gv;
      store<f32>(g + o, iv);
      store<f32>(g + hb + o, fv);
      store<f32>(g + 2 * hb + o, gv);
      store<f32>(g + 3 * hb + o, ov);
      store<f32>(cx + o, c);
      store<f32>(hx + o, ov * tanhf1(c));
    }
  }
}

/**
 * For s < t, one LSTM step from (states[s], cells[s]) to (states[s+1], cells[s+1]); block 0 of
 * each holds H_0, C_0 on entry. Saves the post-activation gates for lstmBackward.
 * states, cells: [t+1,b,h] f32; gates: [t,b,4h] f32 (i, f, g, o); zin: [t,b,4h] f32 (input
 * products plus biases); whh: W_hi | W_hf | W_hc | W_ho [h,4h] f32; whhPacked: whh packed by
 * packWeights, or 0.
 */
export function lstmForward(
  states: usize,
  cells: usize,
  gates: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  whhPacked: usize,
): void {
  lstmForwardRows(states, cells, gates, zin, whh, t, b, h, whhPacked, 0, b);
}

/**
 * lstmForward for the rows r0 ≤ r < r1 of the batch alone (independent sequences: threads each
 * run a block of them); every number is the one lstmForward computes.
 */
export function lstmForwardRows(
  states: usize,
  cells: usize,
  gates: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  whhPacked: usize,
  r0: i32,
  r1: i32,
): void {
  const rows = r1 - r0;
  if (t <= 0 || rows <= 0 || h <= 0) return;
  const g = 4 * h;
  const blockH = <usize> b * h << 2, blockG = <usize> b * g << 2;
  const firstH = <usize> (r0 * h) << 2, firstG = <usize> (r0 * g) << 2;
  // Packed by the caller (generation), or here when it fits and the batch reuses it.
  const wp = stepWeights(whhPacked, whh, g, h, g, false, packingPays(rows));
  for (let s = 0; s < t; s++) {
    const prev = states + <usize> s * blockH + firstH;
    const cprev = cells + <usize> s * blockH + firstH;
    const gs = gates + <usize> s * blockG + firstG;
    memory.copy(gs, zin + <usize> s * blockG + firstG, <usize> (rows * g) << 2);
    // One product of width 4h: H·[W_hi | W_hf | W_hc | W_ho].
    if (wp != 0) gemmPacked(gs, g, prev, h, wp, rows, h, g);
    else gemm(gs, g, prev, h, whh, g, rows, h, g, false, false);
    gatesForward(gs, cprev, cprev + blockH, prev + blockH, rows, h);
  }
}

/**
 * One step's gate gradients. dh: dstates[s+1], the full gradient reaching H'; dc: dcells[s+1],
 * the gradient reaching C' from above and from step s+1, replaced by the full gradient
 * dC' = dc + dh⊙o⊙(1 - tanh²C'); dcprev: dcells[s] += dC'⊙f; d: dzin[s] = the pre-activation
 * gradients [dC'⊙g⊙i(1-i) | dC'⊙C⊙f(1-f) | dC'⊙i⊙(1-g²) | dh⊙tanh C'⊙o(1-o)].
 * d: [b,4h]; dcprev, dc, dh: [b,h]; gs: gates [b,4h]; cprev, cnext: C, C' [b,h]; all f32.
 */
function gatesBackward(
  d: usize,
  dcprev: usize,
  dc: usize,
  dh: usize,
  gs: usize,
  cprev: usize,
  cnext: usize,
  b: i32,
  h: i32,
): void {
  const hb = <usize> h << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < b; row++) {
    const dr = d + <usize> row * 4 * hb, g = gs + <usize> row * 4 * hb;
    const rb = <usize> row * hb;
    const dcp = dcprev + rb, dcx = dc + rb, dy = dh + rb, cp = cprev + rb, cx = cnext + rb;
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const o = <usize> j << 2;
      const iv = v128.load(g + o), fv = v128.load(g + hb + o);
      const gv = v128.load(g + 2 * hb + o), ov = v128.load(g + 3 * hb + o);
      const dyv = v128.load(dy + o);
      // tanh C' is recomputed rather than saved: one more buffer for one tanh per element.
      const tc = tanhf4(v128.load(cx + o));
      const dcv = f32x4.add(
        v128.load(dcx + o),
        f32x4.mul(f32x4.mul(dyv, ov), f32x4.sub(one, f32x4.mul(tc, tc))),
      );
      v128.store(dcx + o, dcv);
      v128.store(dcp + o, f32x4.add(v128.load(dcp + o), f32x4.mul(dcv, fv)));
      v128.store(dr + o, f32x4.mul(f32x4.mul(dcv, gv), f32x4.mul(iv, f32x4.sub(one, iv))));
      const df = f32x4.mul(f32x4.mul(dcv, v128.load(cp + o)), f32x4.mul(fv, f32x4.sub(one, fv)));
      v128.store(dr + hb + o, df);
      const dg = f32x4.mul(f32x4.mul(dcv, iv), f32x4.sub(one, f32x4.mul(gv, gv)));
      v128.store(dr + 2 * hb + o, dg);
      const dov = f32x4.mul(f32x4.mul(dyv, tc), f32x4.mul(ov, f32x4.sub(one, ov)));
      v128.store(dr + 3 * hb + o, dov);
    }
    for (; j < h; j++) {
      const o = <usize> j << 2;
      const iv = load<f32>(g + o), fv = load<f32>(g + hb + o);
      const gv = load<f32>(g + 2 * hb + o), ov = load<f32>(g + 3 * hb + o);
      const dyv = load<f32>(dy + o);
      const tc = tanhf1(load<f32>(cx + o));
      const dcv = load<f32>(dcx + o) + dyv * ov * (1 - tc * tc);
      store<f32>(dcx + o, dcv);
      store<f32>(dcp + o, load<f32>(dcp + o) + dcv * fv);
      store<f32>(dr + o, dcv * gv * (iv * (1 - iv)));
      store<f32>(dr + hb + o, dcv * load<f32>(cp + o) * (fv * (1 - fv)));
      store<f32>(dr + 2 * hb + o, dcv * iv * (1 - gv * gv));
      store<f32>(dr + 3 * hb + o, dyv * tc * (ov * (1 - ov)));
    }
  }
}

/**
 * Backpropagation through time for lstmForward. On entry dstates[s+1] and dcells[s+1] hold the
 * gradients reaching H_{s+1} and C_{s+1} from outside the recurrence (dcells usually zero but for
 * dcells[t]); walking s = t-1 … 0 the kernel writes dzin[s], the gradient of zin[s], adds the
 * recurrent parts into dstates[s] and dcells[s], and leaves in dcells[s+1] the full gradient with
 * respect to C_{s+1}. dzin must be zero on entry; dwhh is added into. On exit dstates[0] and dcells[0] hold
 * the gradients with respect to H_0 and C_0.
 * dzin: [t,b,4h] f32; dwhh: [h,4h] f32; dstates, dcells, states, cells: [t+1,b,h] f32; gates:
 * [t,b,4h] f32 (from lstmForward); whh: [h,4h] f32.
 */
export function lstmBackward(
  dzin: usize,
  dwhh: usize,
  dstates: usize,
  dcells: usize,
  states: usize,
  cells: usize,
  gates: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
): void {
  if (t <= 0 || b <= 0 || h <= 0) return;
  lstmBackwardSteps(dzin, dstates, dcells, cells, gates, whh, t, b, h);
  // One TN product over the whole sequence (k = t·b) rather than t thin ones (k = b), each a full
  // pass over dW: dW_hh += states[0..t)ᵀ · dzin.
  const g = 4 * h;
  gemm(dwhh, g, states, h, dzin, g, h, t * b, g, true, false);
}

/**
 * lstmBackward without its last product (dW_hh += states[0..t)ᵀ · dzin, a matmulTN of h rows and
 * 4h columns), which the threaded backend splits between its threads.
 */
export function lstmBackwardSteps(
  dzin: usize,
  dstates: usize,
  dcells: usize,
  cells: usize,
  gates: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
): void {
  if (t <= 0 || b <= 0 || h <= 0) return;
  const g = 4 * h;
  const blockH = <usize> b * h << 2, blockG = <usize> b * g << 2;
  // dstates[s] += dzin[s] · whhᵀ is an NT product of width 4h; pack whhᵀ once.
  const wp = stepWeights(0, whh, g, g, h, true, true);
  for (let s = t - 1; s >= 0; s--) {
    const d = dzin + <usize> s * blockG, dprev = dstates + <usize> s * blockH;
    const dcprev = dcells + <usize> s * blockH, cprev = cells + <usize> s * blockH;
    gatesBackward(
      d,
      dcprev,
      dcprev + blockH,
      dprev + blockH,
      gates + <usize> s * blockG,
      cprev,
      cprev + blockH,
      b,
      h,
    );
    if (wp != 0) gemmPacked(dprev, h, d, g, wp, b, g, h);
    else gemm(dprev, h, d, g, whh, g, b, g, h, false, true);
  }
}

/** Scalar twin of lstmForward; buffers as there (whhPacked: a copy of whh, or 0). */
export function lstmForwardNaive(
  states: usize,
  cells: usize,
  gates: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  whhPacked: usize,
): void {
  if (whhPacked != 0) whh = whhPacked;
  const g = 4 * h;
  for (let s = 0; s < t; s++) {
    for (let r = 0; r < b; r++) {
      const hp = <usize> ((s * b + r) * h) << 2, hx = <usize> (((s + 1) * b + r) * h) << 2;
      const go = <usize> ((s * b + r) * g) << 2;
      for (let c = 0; c < g; c++) {
        let a = load<f32>(zin + go + (<usize> c << 2));
        for (let p = 0; p < h; p++) {
          a += load<f32>(states + hp + (<usize> p << 2)) *
            load<f32>(whh + (<usize> (p * g + c) << 2));
        }
        const y: f32 = c >= 2 * h && c < 3 * h ? Mathf.tanh(a) : 1 / (1 + Mathf.exp(-a));
        store<f32>(gates + go + (<usize> c << 2), y);
      }
      for (let j = 0; j < h; j++) {
        const o = <usize> j << 2;
        const iv = load<f32>(gates + go + o), fv = load<f32>(gates + go + (<usize> (h + j) << 2));
        const gv = load<f32>(gates + go + (<usize> (2 * h + j) << 2));
        const ov = load<f32>(gates + go + (<usize> (3 * h + j) << 2));
        const c = fv * load<f32>(cells + hp + o) + iv * gv;
        store<f32>(cells + hx + o, c);
        store<f32>(states + hx + o, ov * Mathf.tanh(c));
      }
    }
  }
}

/** Scalar twin of lstmBackward; buffers as there. Weight gradients are added per step. */
export function lstmBackwardNaive(
  dzin: usize,
  dwhh: usize,
  dstates: usize,
  dcells: usize,
  states: usize,
  cells: usize,
  gates: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
): void {
  const g = 4 * h;
  for (let s = t - 1; s >= 0; s--) {
    for (let r = 0; r < b; r++) {
      const hp = <usize> ((s * b + r) * h) << 2, hx = <usize> (((s + 1) * b + r) * h) << 2;
      const go = <usize> ((s * b + r) * g) << 2;
      for (let j = 0; j < h; j++) {
        const o = <usize> j << 2;
        const iv = load<f32>(gates + go + o), fv = load<f32>(gates + go + (<usize> (h + j) << 2));
        const gv = load<f32>(gates + go + (<usize> (2 * h + j) << 2));
        const ov = load<f32>(gates + go + (<usize> (3 * h + j) << 2));
        const dy = load<f32>(dstates + hx + o);
        const tc = Mathf.tanh(load<f32>(cells + hx + o));
        const dc = load<f32>(dcells + hx + o) + dy * ov * (1 - tc * tc);
        store<f32>(dcells + hx + o, dc);
        store<f32>(dcells + hp + o, load<f32>(dcells + hp + o) + dc * fv);
        const di = dzin + go + o, df = dzin + go + (<usize> (h + j) << 2);
        const dg = dzin + go + (<usize> (2 * h + j) << 2);
        const dout = dzin + go + (<usize> (3 * h + j) << 2);
        store<f32>(di, load<f32>(di) + dc * gv * iv * (1 - iv));
        store<f32>(df, load<f32>(df) + dc * load<f32>(cells + hp + o) * fv * (1 - fv));
        store<f32>(dg, load<f32>(dg) + dc * iv * (1 - gv * gv));
        store<f32>(dout, load<f32>(dout) + dy * tc * ov * (1 - ov));
      }
      for (let c = 0; c < g; c++) {
        const dg = load<f32>(dzin + go + (<usize> c << 2));
        for (let p = 0; p < h; p++) {
          const w = <usize> (p * g + c) << 2;
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
