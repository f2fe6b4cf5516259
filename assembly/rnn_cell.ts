// assembly/rnn_cell.ts — the vanilla RNN over a whole sequence, forward and backpropagation
// through time, built from the matmul and activation kernels. The recurrent weight is packed once
// per call (into matmul's PACK_B) and reused by every step's product.
import { reluBackward, reluForward, tanhBackward, tanhForward } from "./activations";
import { gemmPacked, matmulNN, matmulNT, matmulTN, packingPays, stepWeights } from "./matmul";

/**
 * For s < t: states[s+1] = act(zin[s] + states[s] · whh); act 0 = tanh, 1 = relu. states[0]
 * holds H_0 on entry.
 * states: [t+1,b,h] f32; zin: [t,b,h] f32 (input products plus bias); whh: W_hh [h,h] f32;
 * whhPacked: W_hh packed by packWeights, or 0.
 */
export function rnnForward(
  states: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
  whhPacked: usize,
): void {
  rnnForwardRows(states, zin, whh, t, b, h, act, whhPacked, 0, b);
}

/**
 * rnnForward for the rows r0 ≤ r < r1 of the batch alone: the rows are independent sequences, so
 * threads can each run a block of them; every number is the one rnnForward computes.
 */
export function rnnForwardRows(
  states: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
  whhPacked: usize,
  r0: i32,
  r1: i32,
): void {
  const rows = r1 - r0;
  if (t <= 0 || rows <= 0 || h <= 0) return;
  const blockBytes = <usize> (b * h) << 2;
  const first = <usize> (r0 * h) << 2, n = rows * h;
  // W_hh packed by the caller (generation, one step per call), or here once when the batch
  // reuses it; otherwise the per-step product.
  const wp = stepWeights(whhPacked, whh, h, h, h, false, packingPays(rows));
  for (let s = 0; s < t; s++) {
    const prev = states + <usize> s * blockBytes + first;
    const next = prev + blockBytes;
    memory.copy(next, zin + <usize> s * blockBytes + first, <usize> n << 2);
    if (wp != 0) gemmPacked(next, h, prev, h, wp, rows, h, h);
    else matmulNN(next, prev, whh, rows, h, h);
    if (act == 0) tanhForward(next, next, n);
    else reluForward(next, next, n);
  }
}

/**
 * Backpropagation through time for rnnForward. On entry dstates[s+1] holds the gradient reaching
 * H_{s+1} from above; for s = t-1 … 0: dz = act'(states[s+1]) · dstates[s+1], dzin[s] += dz,
 * dstates[s] += dz · whhᵀ; then dwhh += states[0..t)ᵀ · dzin. dzin must be zero on entry, since
 * dzin[s] serves as dz. On exit dstates[0] holds the gradient with respect to H_0.
 * dzin: [t,b,h] f32; dwhh: dW_hh [h,h] f32; dstates: [t+1,b,h] f32; states: [t+1,b,h] f32 (from
 * rnnForward); whh: W_hh [h,h] f32.
 */
export function rnnBackward(
  dzin: usize,
  dwhh: usize,
  dstates: usize,
  states: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
): void {
  rnnBackwardSteps(dzin, dstates, states, whh, t, b, h, act);
  // One product for the whole sequence: dW_hh += Σ_s states[s]ᵀ · dz[s].
  matmulTN(dwhh, states, dzin, h, t * b, h);
}

/**
 * rnnBackward without its last product (dW_hh += states[0..t)ᵀ · dzin), which the threaded
 * backend splits between its threads.
 */
export function rnnBackwardSteps(
  dzin: usize,
  dstates: usize,
  states: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
): void {
  const block = b * h;
  if (t <= 0 || block <= 0) return;
  const blockBytes = <usize> block << 2;
  // dz · whhᵀ is an NT product; pack whhᵀ once when it fits.
  const wp = stepWeights(0, whh, h, h, h, true, true);
  for (let s = t - 1; s >= 0; s--) {
    const dz = dzin + <usize> s * blockBytes;
    const y = states + <usize> (s + 1) * blockBytes;
    const dy = dstates + <usize> (s + 1) * blockBytes;
    if (act == 0) tanhBackward(dz, y, dy, block);
    else reluBackward(dz, y, dy, block);
    const dprev = dstates + <usize> s * blockBytes;
    if (wp != 0) gemmPacked(dprev, h, dz, h, wp, b, h, h);
    else matmulNT(dprev, dz, whh, b, h, h);
  }
}

/**
 * Scalar twin of rnnForward. states: [t+1,b,h] f32; zin: [t,b,h] f32; whh: W_hh [h,h] f32;
 * whhPacked: 0, or W_hh as packWeightsNaive leaves it (a copy), used in its place.
 */
export function rnnForwardNaive(
  states: usize,
  zin: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
  whhPacked: usize,
): void {
  if (whhPacked != 0) whh = whhPacked;
  const block = b * h;
  for (let s = 0; s < t; s++) {
    for (let r = 0; r < b; r++) {
      for (let j = 0; j < h; j++) {
        let z = load<f32>(zin + (<usize> (s * block + r * h + j) << 2));
        for (let p = 0; p < h; p++) {
          z += load<f32>(states + (<usize> (s * block + r * h + p) << 2)) *
            load<f32>(whh + (<usize> (p * h + j) << 2));
        }
        const y: f32 = act == 0 ? Mathf.tanh(z) : (z > 0 ? z : 0);
        store<f32>(states + (<usize> ((s + 1) * block + r * h + j) << 2), y);
      }
    }
  }
}

/**
 * Scalar twin of rnnBackward.
 * dzin: [t,b,h] f32; dwhh: dW_hh [h,h] f32; dstates, states: [t+1,b,h] f32; whh: W_hh [h,h] f32.
 */
export function rnnBackwardNaive(
  dzin: usize,
  dwhh: usize,
  dstates: usize,
  states: usize,
  whh: usize,
  t: i32,
  b: i32,
  h: i32,
  act: i32,
): void {
  const block = b * h;
  for (let s = t - 1; s >= 0; s--) {
    for (let r = 0; r < b; r++) {
      for (let j = 0; j < h; j++) {
        const y = load<f32>(states + (<usize> ((s + 1) * block + r * h + j) << 2));
        const dy = load<f32>(dstates + (<usize> ((s + 1) * block + r * h + j) << 2));
        const dz: f32 = act == 0 ? (1 - y * y) * dy : (y > 0 ? dy : 0);
        const o = dzin + (<usize> (s * block + r * h + j) << 2);
        store<f32>(o, load<f32>(o) + dz);
        for (let p = 0; p < h; p++) {
          const ds = dstates + (<usize> (s * block + r * h + p) << 2);
          store<f32>(ds, load<f32>(ds) + dz * load<f32>(whh + (<usize> (p * h + j) << 2)));
          const dw = dwhh + (<usize> (p * h + j) << 2);
          store<f32>(
            dw,
            load<f32>(dw) + load<f32>(states + (<usize> (s * block + r * h + p) << 2)) * dz,
          );
        }
      }
    }
  }
}
