/**
 * Where a model's parameters live and what they are called. All parameters sit in one contiguous
 * buffer, layer by layer with every gate side by side (PyTorch's order, which the kernels read),
 * then the output layer; the book's names (`W_xh`, `W_hr`, `b_c`, ...) cut that storage into one
 * tensor per gate. Checkpoints, PyTorch export and the optimizer's moments all use the book's
 * names through {@linkcode namedTensors}.
 *
 * @module
 */
import type { CellKind } from "../backend/types.ts";
import type { ModelConfig } from "../config/settings.ts";

/**
 * Each cell's gates in storage order (PyTorch's), with the book's letter for each: the GRU's reset
 * `r`, update `z` and candidate `h`; the LSTM's input `i`, forget `f`, candidate `c`, output `o`.
 */
export const GATES: Readonly<Record<CellKind, readonly string[]>> = {
  rnn: ["h"],
  gru: ["r", "z", "h"],
  lstm: ["i", "f", "c", "o"],
};

/** One block of the parameter buffer: a layer's `W_x`, `W_h`, `b` (or `b_hn`), or the output's. */
export interface Block {
  /** `"0.W_x"`, `"0.W_h"`, `"0.b"`, `"0.b_hn"`, ..., `"W_hq"`, `"b_q"`. */
  readonly key: string;
  /** Its shape: `[I, G]`, `[H, G]`, `[G]`, `[H]`, `[H, V]`, `[V]`. */
  readonly shape: readonly number[];
  /** Its first element in the buffer. */
  readonly offset: number;
  /** Its elements. */
  readonly size: number;
}

/** One tensor under the book's names: a gate's columns of a block, or a whole block. */
export interface NamedTensor {
  /** `W_xh`, `W_hr_l1`, `b_c`, `b_hn`, `W_hq`, ... */
  readonly name: string;
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** The block it is cut from. */
  readonly block: Block;
  /** The gate whose columns it is (0 for a whole block). */
  readonly gate: number;
  /** Whether it is the whole block (a one-gate cell's, a bias of PyTorch's GRU, the output's). */
  readonly whole: boolean;
}

/** Whether the layers carry PyTorch's extra GRU bias `b_hn`. */
export function hasBhn(config: ModelConfig): boolean {
  return config.cell === "gru" && config.gruVariant === "pytorch";
}

/** The first layer's input width: dense inputs, or one-hot tokens. */
export function inputWidth(config: ModelConfig): number {
  return config.inputSize > 0 ? config.inputSize : config.vocabSize;
}

/** The gate width `G`: the hidden size times the cell's gates. */
export function gateWidth(config: Pick<ModelConfig, "cell" | "hidden">): number {
  return GATES[config.cell].length * config.hidden;
}

/**
 * The parameter buffer's blocks in storage order: per layer `W_x` [I,G], `W_h` [H,G], `b` [G]
 * (and PyTorch's GRU `b_hn` [H]); then `W_hq` [H,V] and `b_q` [V] unless the model is a bare
 * stack (`vocabSize` 0).
 */
export function blocks(config: ModelConfig): Block[] {
  const { vocabSize: V, hidden: H, layers } = config;
  const G = gateWidth(config);
  const shapes: [string, number[]][] = [];
  for (let l = 0; l < layers; l++) {
    shapes.push([`${l}.W_x`, [l === 0 ? inputWidth(config) : H, G]], [`${l}.W_h`, [H, G]]);
    shapes.push([`${l}.b`, [G]]);
    if (hasBhn(config)) shapes.push([`${l}.b_hn`, [H]]);
  }
  if (V > 0) shapes.push(["W_hq", [H, V]], ["b_q", [V]]);
  let offset = 0;
  return shapes.map(([key, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const block = { key, shape, offset, size };
    offset += size;
    return block;
  });
}

/**
 * The book's tensors: per layer and gate `W_x<g>` [I,H], `W_h<g>` [H,H], `b_<g>` [H] (PyTorch's
 * GRU adds `b_hn`), `_l<k>` after each name in deep stacks; then `W_hq` [H,V] and `b_q` [V].
 */
export function namedTensors(config: ModelConfig): NamedTensor[] {
  const H = config.hidden;
  const byKey = new Map(blocks(config).map((b) => [b.key, b]));
  const out: NamedTensor[] = [];
  // A cell of one gate (the vanilla RNN) stores each tensor as a whole block.
  const whole = GATES[config.cell].length === 1;
  for (let l = 0; l < config.layers; l++) {
    const suffix = config.layers > 1 ? `_l${l}` : "";
    const I = l === 0 ? inputWidth(config) : H;
    GATES[config.cell].forEach((g, gate) => {
      out.push({
        name: `W_x${g}${suffix}`,
        shape: [I, H],
        block: byKey.get(`${l}.W_x`)!,
        gate,
        whole,
      });
      out.push({
        name: `W_h${g}${suffix}`,
        shape: [H, H],
        block: byKey.get(`${l}.W_h`)!,
        gate,
        whole,
      });
      out.push({
        name: `b_${g}${suffix}`,
        shape: [H],
        block: byKey.get(`${l}.b`)!,
        gate,
        whole,
      });
    });
    if (hasBhn(config)) {
      out.push({
        name: `b_hn${suffix}`,
        shape: [H],
        block: byKey.get(`${l}.b_hn`)!,
        gate: 0,
        whole: true,
      });
    }
  }
  for (const key of ["W_hq", "b_q"]) {
    const block = byKey.get(key);
    if (block) out.push({ name: key, shape: block.shape, block, gate: 0, whole: true });
  }
  return out;
}

/**
 * Cuts a buffer laid out as the parameters (the weights, or Adam's moments) into the book's
 * tensors.
 *
 * @param config The model's config.
 * @param all Every value, in storage order.
 * @returns One row-major array per named tensor, in checkpoint order.
 */
export function splitNamed(
  config: ModelConfig,
  all: Float32Array | Float64Array,
): Record<string, Float32Array> {
  const H = config.hidden, G = gateWidth(config);
  const out: Record<string, Float32Array> = {};
  for (const t of namedTensors(config)) {
    const block = all.subarray(t.block.offset, t.block.offset + t.block.size);
    if (t.whole) {
      out[t.name] = Float32Array.from(block);
      continue;
    }
    // Gate `gate` is columns [gate·H, (gate+1)·H) of a row-major [rows, G] block.
    const rows = t.block.size / G, slice = new Float32Array(rows * H);
    for (let r = 0; r < rows; r++) {
      slice.set(block.subarray(r * G + t.gate * H, r * G + (t.gate + 1) * H), r * H);
    }
    out[t.name] = slice;
  }
  return out;
}

/**
 * Checks that `values` holds every named tensor of the model with its shape's size.
 *
 * @throws {TypeError} When a tensor is missing or of the wrong size (named).
 */
export function checkNamed(
  config: ModelConfig,
  values: Readonly<Record<string, ArrayLike<number>>>,
): void {
  for (const t of namedTensors(config)) {
    const data = values[t.name], expected = t.shape.reduce((a, b) => a * b, 1);
    if (!data || data.length !== expected) {
      throw new TypeError(
        `${t.name} must have ${expected} values, got ${data ? data.length : "none"}`,
      );
    }
  }
}

/**
 * One block's values in storage order from the named tensors it holds: a whole tensor as given
 * (no copy), gates interleaved column block by column block.
 */
export function blockValues(
  config: ModelConfig,
  block: Block,
  values: Readonly<Record<string, ArrayLike<number>>>,
): ArrayLike<number> {
  const H = config.hidden, G = gateWidth(config);
  const parts = namedTensors(config).filter((t) => t.block.key === block.key);
  if (parts.length === 1 && parts[0].whole) return values[parts[0].name];
  const out = new Float64Array(block.size), rows = block.size / G;
  for (const t of parts) {
    const data = values[t.name];
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < H; j++) out[r * G + t.gate * H + j] = data[r * H + j];
    }
  }
  return out;
}

/**
 * Joins the book's tensors into one array in storage order: the inverse of
 * {@linkcode splitNamed}.
 *
 * @param config The model's config.
 * @param values One array per named tensor (all of them, each of its shape's size).
 * @returns Every value, in storage order.
 * @throws {TypeError} When a tensor is missing or of the wrong size (named).
 */
export function joinNamed(
  config: ModelConfig,
  values: Readonly<Record<string, ArrayLike<number>>>,
): Float64Array {
  checkNamed(config, values);
  const all = blocks(config);
  const out = new Float64Array(all.reduce((n, b) => n + b.size, 0));
  for (const b of all) out.set(blockValues(config, b, values), b.offset);
  return out;
}

/**
 * The shape of each parameter under the book's names, in checkpoint order (see
 * {@linkcode namedTensors}).
 *
 * @param config The model's sizes and cell.
 * @returns Shapes by name.
 * @example Shapes of the default model
 * ```ts
 * import { resolveModelConfig } from "../config/settings.ts";
 * import { paramShapes } from "./params.ts";
 * console.log(paramShapes(resolveModelConfig({ vocabSize: 1027 })).W_hq); // [256, 1027]
 * ```
 */
export function paramShapes(config: ModelConfig): Record<string, number[]> {
  return Object.fromEntries(namedTensors(config).map((t) => [t.name, [...t.shape]]));
}
