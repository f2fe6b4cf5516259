/**
 * 8-bit weights for generation: symmetric int8 with one float32 scale per output unit. A weight
 * `w` becomes `q = round(w / s)` (ties to even) in [-127, 127] with the scale `s = max / 127`,
 * `max` the largest magnitude of its unit, and reads back as `q · s` (in float32):
 * the float32 steps of the kernels' `packInt8`, so that packing an 8-bit model's weights gives
 * back exactly these integers and scales. The output unit of a product `x · W` ([K, N]) is a column of `W`;
 * of the first layer's input weights, gathered by token (the one-hot product), a row. Biases stay
 * float32.
 *
 * @module
 */
import type { ModelConfig } from "../config/settings.ts";
import { createModel, type RnnModel } from "./model.ts";
import { namedTensors } from "./params.ts";

/** One weight matrix in 8 bits: its integers, row-major, and a scale per row or per column. */
export interface Int8Matrix {
  /** The integers, row-major, each in [-127, 127]. */
  q: Int8Array;
  /** One scale per unit along `axis`. */
  scale: Float32Array;
  /** `"rows"`: a scale per row (a gathered embedding); `"columns"`: per column (a product). */
  axis: "rows" | "columns";
}

/**
 * Which of a model's named tensors are stored in 8 bits, and along which axis: every matrix (the
 * first layer's input weights by rows, the rest by columns); biases are not.
 *
 * @param config The model's config.
 * @returns Tensor name → axis.
 */
export function int8Axes(config: ModelConfig): Map<string, Int8Matrix["axis"]> {
  const axes = new Map<string, Int8Matrix["axis"]>();
  for (const t of namedTensors(config)) {
    if (t.shape.length !== 2) continue;
    // The first layer's input weights, over one-hot tokens (no dense inputs): a row gather.
    const gathered = t.block.key === "0.W_x" && config.inputSize === 0;
    axes.set(t.name, gathered ? "rows" : "columns");
  }
  return axes;
}

/**
 * Quantises a [rows, cols] float32 matrix (see the module doc).
 *
 * @param w The matrix, row-major.
 * @param rows Its rows.
 * @param cols Its columns.
 * @param axis Scale per row or per column.
 * @returns The integers and scales.
 * @example A row of two
 * ```ts
 * import { dequantizeInt8, quantizeInt8 } from "./quantize.ts";
 * const m = quantizeInt8(new Float32Array([1, -0.5]), 1, 2, "rows");
 * console.log(Array.from(m.q), Array.from(dequantizeInt8(m, 1, 2))); // [ 127, -64 ] [ 1, -0.503937... ]
 * ```
 */
export function quantizeInt8(
  w: Float32Array,
  rows: number,
  cols: number,
  axis: Int8Matrix["axis"],
): Int8Matrix {
  const units = axis === "rows" ? rows : cols;
  const at = axis === "rows"
    ? (u: number, i: number) => u * cols + i
    : (u: number, i: number) => i * cols + u;
  const along = axis === "rows" ? cols : rows;
  const q = new Int8Array(rows * cols), scale = new Float32Array(units);
  for (let u = 0; u < units; u++) {
    let max = 0;
    for (let i = 0; i < along; i++) max = Math.max(max, Math.abs(w[at(u, i)]));
    scale[u] = Math.fround(max / 127);
    // A unit of zeros, or so small that its scale underflows: its integers stay 0.
    if (scale[u] === 0) continue;
    for (let i = 0; i < along; i++) {
      q[at(u, i)] = toInt8(roundEven(Math.fround(w[at(u, i)] / scale[u])));
    }
  }
  return { q, scale, axis };
}

/**
 * The float32 values an 8-bit matrix stands for: `q · s`.
 *
 * @param m The matrix.
 * @param rows Its rows.
 * @param cols Its columns.
 * @returns The values, row-major.
 */
export function dequantizeInt8(m: Int8Matrix, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols), { q, scale } = m;
  for (let r = 0, i = 0; r < rows; r++) {
    if (m.axis === "rows") {
      const s = scale[r];
      for (let c = 0; c < cols; c++, i++) out[i] = q[i] * s;
    } else {
      for (let c = 0; c < cols; c++, i++) out[i] = q[i] * scale[c];
    }
  }
  return out;
}

/**
 * Every 8-bit matrix of a model (see {@linkcode int8Axes}), from its named weights. Quantising is
 * idempotent: the weights of an 8-bit model give back the integers and scales they came from.
 *
 * @param config The model's config.
 * @param weights Its weights by name (`RnnModel.getWeights`).
 * @returns Tensor name → its 8-bit form.
 */
export function int8Matrices(
  config: ModelConfig,
  weights: Readonly<Record<string, Float32Array>>,
): Map<string, Int8Matrix> {
  const shapes = new Map(namedTensors(config).map((t) => [t.name, t.shape]));
  const out = new Map<string, Int8Matrix>();
  for (const [name, axis] of int8Axes(config)) {
    const [rows, cols] = shapes.get(name)!;
    out.set(name, quantizeInt8(weights[name], rows, cols, axis));
  }
  return out;
}

/**
 * The model with 8-bit weights, for generation: a new model on the same backend whose matrices
 * are their int8 values (biases as they were), marked `quantized: "int8"` so that
 * `encodeCheckpoint` writes the small file and `train` refuses it.
 *
 * @param model A trained model.
 * @returns The 8-bit model.
 * @example Quantise and compare
 * ```ts
 * import { createModel } from "./model.ts";
 * import { quantize } from "./quantize.ts";
 * const model = createModel({ vocabSize: 5, hidden: 4 }, { seed: 1 });
 * const small = await quantize(model);
 * console.log(small.quantized, small.numParams === model.numParams); // int8 true
 * ```
 */
export async function quantize(model: RnnModel): Promise<RnnModel> {
  const weights = await model.getWeights();
  const shapes = new Map(namedTensors(model.config).map((t) => [t.name, t.shape]));
  for (const [name, m] of int8Matrices(model.config, weights)) {
    const [rows, cols] = shapes.get(name)!;
    weights[name] = dequantizeInt8(m, rows, cols);
  }
  const out = createModel(model.config, {
    backend: model.backend,
    initScale: 0,
    quantized: "int8",
  });
  out.setWeights(weights);
  return out;
}

/** An integer in [-127, 127]; NaN (a weight of a diverged model) is 0. */
function toInt8(x: number): number {
  return Number.isNaN(x) ? 0 : Math.min(127, Math.max(-127, x));
}

/** Rounds to the nearest integer, ties to even (WebAssembly's `nearest`). */
function roundEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}
