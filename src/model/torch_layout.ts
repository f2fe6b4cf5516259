/**
 * One recurrent layer (one direction of it) in PyTorch's terms. We store a layer as `W_x` [I,G],
 * `W_h` [H,G] and one bias `b` [G] (plus `b_hn` [H] for PyTorch's GRU), gates side by side in
 * PyTorch's order; `nn.RNN`, `nn.GRU` and `nn.LSTM` hold `weight_ih` [G,I], `weight_hh` [G,H],
 * `bias_ih` [G] and `bias_hh` [G]. The weights are transposes; the two biases add into one,
 * except the GRU's candidate block of `bias_hh`, which sits inside the reset product and is our
 * `b_hn`. Used by the layer objects' state dicts and by the language model's PyTorch export.
 *
 * @module
 */
import type { CellKind } from "../backend/types.ts";
import { GATES } from "./params.ts";

/** A layer's four tensors under PyTorch's names (without the `_l<k>` suffix). */
export interface TorchLayer {
  /** [G, I]. */
  weight_ih: Float32Array;
  /** [G, H]. */
  weight_hh: Float32Array;
  /** [G]. */
  bias_ih: Float32Array;
  /** [G]. */
  bias_hh: Float32Array;
}

/** A layer as we store it: the blocks of the parameter buffer. */
export interface StoredLayer {
  /** [I, G]. */
  W_x: ArrayLike<number>;
  /** [H, G]. */
  W_h: ArrayLike<number>;
  /** [G]. */
  b: ArrayLike<number>;
  /** PyTorch's GRU only: [H]. */
  b_hn?: ArrayLike<number>;
}

/** The names of PyTorch's four tensors, in its order. */
export const TORCH_NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] as const;

/**
 * `a` [rows, cols] row-major, transposed to [cols, rows].
 *
 * @param a The matrix.
 * @param rows Its rows.
 * @param cols Its columns.
 * @returns The transpose, as float32.
 */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  }
  return out;
}

/**
 * The shapes of a layer's PyTorch tensors.
 *
 * @param cell The cell.
 * @param I The layer's input width.
 * @param H Hidden units.
 * @returns Each name's shape.
 */
export function torchShapes(
  cell: CellKind,
  I: number,
  H: number,
): Record<(typeof TORCH_NAMES)[number], number[]> {
  const G = GATES[cell].length * H;
  return { weight_ih: [G, I], weight_hh: [G, H], bias_ih: [G], bias_hh: [G] };
}

/**
 * A stored layer as PyTorch's tensors (`bias_hh` zero but for the GRU's `b_hn`).
 *
 * @param cell The cell.
 * @param I The layer's input width.
 * @param H Hidden units.
 * @param layer Its stored blocks.
 * @returns The four tensors.
 */
export function toTorch(cell: CellKind, I: number, H: number, layer: StoredLayer): TorchLayer {
  const G = GATES[cell].length * H;
  const bias_hh = new Float32Array(G);
  if (layer.b_hn) bias_hh.set(layer.b_hn, 2 * H);
  return {
    weight_ih: transpose(layer.W_x, I, G),
    weight_hh: transpose(layer.W_h, H, G),
    bias_ih: Float32Array.from(layer.b),
    bias_hh,
  };
}

/**
 * PyTorch's tensors of a layer as we store it: `bias_ih + bias_hh` in one bias, except the GRU's
 * candidate block, whose `bias_hh` part becomes `b_hn` (so a GRU always has one).
 *
 * @param cell The cell.
 * @param I The layer's input width.
 * @param H Hidden units.
 * @param t The four tensors, of the shapes of {@linkcode torchShapes} (not checked here).
 * @returns The stored blocks, in float64.
 */
export function fromTorch(
  cell: CellKind,
  I: number,
  H: number,
  t: Readonly<Record<keyof TorchLayer, ArrayLike<number>>>,
): { W_x: Float32Array; W_h: Float32Array; b: Float64Array; b_hn?: Float64Array } {
  const G = GATES[cell].length * H;
  const b = new Float64Array(G);
  for (let c = 0; c < G; c++) {
    b[c] = cell === "gru" && c >= 2 * H ? t.bias_ih[c] : t.bias_ih[c] + t.bias_hh[c];
  }
  return {
    W_x: transpose(t.weight_ih, G, I),
    W_h: transpose(t.weight_hh, G, H),
    b,
    ...(cell === "gru"
      ? { b_hn: Float64Array.from({ length: H }, (_, j) => t.bias_hh[2 * H + j]) }
      : {}),
  };
}
