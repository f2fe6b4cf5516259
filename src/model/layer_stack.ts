/**
 * The engine under the layer objects: a stack of recurrent layers over dense inputs, each layer of
 * one or two directions ("units", numbered `u = layer · directions + direction` as PyTorch numbers
 * the rows of `h_n`). Each unit runs the same cell kernels as the language model's layers
 * (`cellForward`, `cellBackward`). The reverse direction reads its inputs in reversed time: a
 * product that feeds it from a forward-running source (or feeds a forward unit from it) is
 * time-reversed with a row gather by a reversed index, `out[t·B + b] += p[(T−1−t)·B + b]`, and
 * its gradient flows back through the same gather, since reversing twice is the identity. So each
 * unit keeps its states in its own time order, and no cell has a second, reversed copy.
 *
 * A layer above the first reads both directions of the layer below side by side
 * (`[T, B, directions · H]`): its input weights split by rows into one block per direction, so it
 * multiplies each direction's states by its block and never assembles the concatenation.
 *
 * @module
 */
import type {
  Activation,
  Backend,
  CellKind,
  FloatBuf,
  GruVariant,
  IndexBuf,
} from "../backend/types.ts";
import type { Rng } from "../rng.ts";
import { cellBackward } from "./backward.ts";
import { cellForward } from "./forward.ts";
import type { LayerParams } from "./model.ts";
import { gateWidth } from "./params.ts";
import { createLayerWorkspace, type LayerWorkspace } from "./workspace.ts";

/** The shape of a stack. */
export interface StackConfig {
  /** The cell. */
  readonly cell: CellKind;
  /** Width of each input vector. */
  readonly inputSize: number;
  /** Hidden units of every unit. */
  readonly hidden: number;
  /** Layers. */
  readonly layers: number;
  /** 1, or 2 for bidirectional layers. */
  readonly directions: 1 | 2;
  /** The vanilla cell's nonlinearity. */
  readonly activation: Activation;
  /** The GRU's equations. */
  readonly gruVariant: GruVariant;
}

/** One block of a stack's parameter buffer. */
export interface StackBlock {
  /** The unit it belongs to. */
  readonly unit: number;
  /** `W_x`, `W_h`, `b` or `b_hn`. */
  readonly kind: keyof LayerParams;
  /** `[I, G]`, `[H, G]`, `[G]` or `[H]`. */
  readonly shape: readonly number[];
  /** Its first element. */
  readonly offset: number;
  /** Its elements. */
  readonly size: number;
}

/** The input width of layer `l`'s units: the inputs, or every direction of the layer below. */
export function unitInputWidth(config: StackConfig, l: number): number {
  return l === 0 ? config.inputSize : config.directions * config.hidden;
}

/**
 * The parameter buffer's blocks: unit by unit (layer by layer, forward direction first), each
 * `W_x`, `W_h`, `b` (and PyTorch's GRU `b_hn`), gates side by side as everywhere.
 *
 * @param config The stack.
 * @returns The blocks in storage order.
 */
export function stackBlocks(config: StackConfig): StackBlock[] {
  const H = config.hidden, G = gateWidth(config);
  const out: StackBlock[] = [];
  let offset = 0;
  for (let u = 0; u < config.layers * config.directions; u++) {
    const I = unitInputWidth(config, Math.floor(u / config.directions));
    const kinds: [keyof LayerParams, number[]][] = [["W_x", [I, G]], ["W_h", [H, G]], ["b", [G]]];
    if (config.cell === "gru" && config.gruVariant === "pytorch") kinds.push(["b_hn", [H]]);
    for (const [kind, shape] of kinds) {
      const size = shape.reduce((a, b) => a * b, 1);
      out.push({ unit: u, kind, shape, offset, size });
      offset += size;
    }
  }
  return out;
}

/**
 * Each unit's parameters as views of `buf` (the parameters, or the gradients).
 *
 * @param be The backend that owns `buf`.
 * @param config The stack.
 * @param buf A buffer laid out as {@linkcode stackBlocks}.
 * @returns One entry per unit.
 */
export function unitViews(be: Backend, config: StackConfig, buf: FloatBuf): LayerParams[] {
  const units: Record<string, FloatBuf>[] = Array.from(
    { length: config.layers * config.directions },
    () => ({}),
  );
  for (const b of stackBlocks(config)) units[b.unit][b.kind] = be.view(buf, b.offset, b.size);
  return units as unknown as LayerParams[];
}

/** The activations of a stack's passes of up to `maxSteps` steps of `batchSize` rows. */
export interface StackWorkspace {
  /** Capacity in steps. */
  readonly maxSteps: number;
  /** Rows. */
  readonly batchSize: number;
  /** One per unit; below the top layer with dropout buffers when the stack has dropout. */
  readonly units: readonly LayerWorkspace[];
  /** The inputs, time-major [T,B,I]. */
  readonly x: FloatBuf;
  /** Their gradient. */
  readonly dx: FloatBuf;
  /** Room for a product on its way to being time-reversed [T,B,G]. */
  readonly reversing: FloatBuf;
  /** `(T−1−t)·B + b` at `t·B + b`, for the steps of the last pass. */
  readonly reversed: IndexBuf;
  /** Host room for that index. */
  readonly reversedValues: Int32Array;
  /** Gives every buffer back. */
  free(): void;
}

/**
 * Allocates a stack's workspace.
 *
 * @param be The kernels.
 * @param config The stack.
 * @param maxSteps Longest sequence.
 * @param batchSize Rows.
 * @param withDropout Whether the layers below the top need dropout buffers.
 * @returns The workspace.
 */
export function createStackWorkspace(
  be: Backend,
  config: StackConfig,
  maxSteps: number,
  batchSize: number,
  withDropout: boolean,
): StackWorkspace {
  const owned: (FloatBuf | IndexBuf)[] = [];
  const alloc = (size: number) => {
    const buf = be.alloc(size);
    owned.push(buf);
    return buf;
  };
  const n = maxSteps * batchSize, D = config.directions;
  const units = Array.from(
    { length: config.layers * D },
    (_, u) =>
      createLayerWorkspace(
        alloc,
        config,
        maxSteps,
        batchSize,
        withDropout && Math.floor(u / D) < config.layers - 1,
      ),
  );
  const reversed = be.allocIndices(n);
  owned.push(reversed);
  return {
    maxSteps,
    batchSize,
    units,
    x: alloc(n * config.inputSize),
    dx: alloc(n * config.inputSize),
    reversing: alloc(D === 2 ? n * gateWidth(config) : 1),
    reversed,
    reversedValues: new Int32Array(n),
    free() {
      for (const buf of owned.splice(0)) be.free(buf);
    },
  };
}

/** What a unit reads: the inputs, or one direction of the layer below, and where its weights are. */
interface Source {
  /** The values [T,B,width], in the source's own time order. */
  readonly values: FloatBuf;
  /** Where their gradient goes. */
  readonly grads: FloatBuf;
  /** Whether they run in reversed time. */
  readonly reversed: boolean;
  /** Their width. */
  readonly width: number;
  /** The first row of the reading unit's `W_x` that multiplies them. */
  readonly row: number;
}

/** The sources of layer `l`'s units. */
function sources(
  be: Backend,
  config: StackConfig,
  ws: StackWorkspace,
  l: number,
  steps: number,
  dropout: boolean,
): Source[] {
  const n = steps * ws.batchSize, H = config.hidden, I = config.inputSize;
  if (l === 0) {
    return [{
      values: be.view(ws.x, 0, n * I),
      grads: be.view(ws.dx, 0, n * I),
      reversed: false,
      width: I,
      row: 0,
    }];
  }
  return Array.from({ length: config.directions }, (_, d) => {
    const below = ws.units[(l - 1) * config.directions + d];
    const outputs = be.view(below.states, ws.batchSize * H, n * H);
    return {
      values: dropout ? be.view(below.dropped!, 0, n * H) : outputs,
      grads: dropout
        ? be.view(below.ddropped!, 0, n * H)
        : be.view(below.dstates, ws.batchSize * H, n * H),
      reversed: d === 1,
      width: H,
      row: d * H,
    };
  });
}

/** Dropout between a stack's layers, while training. */
export interface StackDropout {
  /** The probability of dropping each output of a layer below the top one. */
  readonly p: number;
  /** Draws the masks. */
  readonly rng: Rng;
}

/**
 * Runs every unit over `steps` steps from the states in block 0 of each, the inputs in `ws.x`.
 *
 * @param be The kernels.
 * @param config The stack.
 * @param params Each unit's parameters (see {@linkcode unitViews}).
 * @param ws The workspace.
 * @param steps Steps to run.
 * @param dropout Dropout between layers; none by default.
 */
export function stackForward(
  be: Backend,
  config: StackConfig,
  params: readonly LayerParams[],
  ws: StackWorkspace,
  steps: number,
  dropout?: StackDropout,
): void {
  const B = ws.batchSize, n = steps * B, H = config.hidden, G = gateWidth(config);
  const D = config.directions;
  if (D === 2) {
    const idx = ws.reversedValues.subarray(0, n);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < B; b++) idx[t * B + b] = (steps - 1 - t) * B + b;
    }
    be.writeIndices(ws.reversed, idx);
  }
  const drop = dropout && dropout.p > 0 ? dropout : undefined;
  for (let l = 0; l < config.layers; l++) {
    const from = sources(be, config, ws, l, steps, drop !== undefined);
    for (let d = 0; d < D; d++) {
      const u = l * D + d, p = params[u], w = ws.units[u];
      const zin = be.view(w.zin, 0, n * G);
      be.fill(zin, 0);
      for (const s of from) {
        const W = be.view(p.W_x, s.row * G, s.width * G);
        if (s.reversed === (d === 1)) {
          be.matmulNN(zin, s.values, W, n, s.width, G);
        } else {
          const product = be.view(ws.reversing, 0, n * G);
          be.fill(product, 0);
          be.matmulNN(product, s.values, W, n, s.width, G);
          be.gatherRowsForward(zin, ws.reversed, product, n, G);
        }
      }
      be.biasForward(zin, p.b, n, G);
      cellForward(be, config, p, w, zin, steps, B);
      if (drop && l < config.layers - 1) {
        const mask = w.maskValues!.subarray(0, n * H), keep = 1 / (1 - drop.p);
        for (let i = 0; i < mask.length; i++) mask[i] = drop.rng.next() < drop.p ? 0 : keep;
        be.write(w.mask!, mask);
        be.dropoutForward(
          be.view(w.dropped!, 0, n * H),
          be.view(w.states, B * H, n * H),
          be.view(w.mask!, 0, n * H),
          n * H,
        );
      }
    }
  }
}

/**
 * Zeroes the gradients of every unit's states, inputs products and the inputs for `steps` steps,
 * before the gradients of the outputs and final states are written into the units' `dstates`
 * (and `dcells`).
 *
 * @param be The kernels.
 * @param config The stack.
 * @param ws The workspace.
 * @param steps Steps of the last forward pass.
 */
export function clearStackGradients(
  be: Backend,
  config: StackConfig,
  ws: StackWorkspace,
  steps: number,
): void {
  const n = steps * ws.batchSize, block = ws.batchSize * config.hidden, G = gateWidth(config);
  for (const w of ws.units) {
    be.fill(be.view(w.dstates, 0, (steps + 1) * block), 0);
    be.fill(be.view(w.dzin, 0, n * G), 0);
    if (w.dcells) be.fill(be.view(w.dcells, 0, (steps + 1) * block), 0);
  }
  be.fill(be.view(ws.dx, 0, n * config.inputSize), 0);
}

/**
 * Backpropagation through time through every unit, from the gradients in the units' `dstates`
 * and `dcells` (see {@linkcode clearStackGradients}): adds into `grads` and leaves the inputs'
 * gradient in `ws.dx` and each unit's initial-state gradient in its block 0.
 *
 * @param be The kernels.
 * @param config The stack.
 * @param params Each unit's parameters.
 * @param grads Each unit's gradients.
 * @param ws The workspace, right after {@linkcode stackForward}.
 * @param steps Steps of that pass.
 * @param dropout The dropout given to it, whose masks are reused.
 */
export function stackBackward(
  be: Backend,
  config: StackConfig,
  params: readonly LayerParams[],
  grads: readonly LayerParams[],
  ws: StackWorkspace,
  steps: number,
  dropout?: StackDropout,
): void {
  const B = ws.batchSize, n = steps * B, H = config.hidden, G = gateWidth(config);
  const D = config.directions;
  const dropped = dropout !== undefined && dropout.p > 0;
  for (let l = config.layers - 1; l >= 0; l--) {
    const from = sources(be, config, ws, l, steps, dropped);
    if (dropped && l > 0) { for (const s of from) be.fill(s.grads, 0); }
    for (let d = 0; d < D; d++) {
      const u = l * D + d, p = params[u], g = grads[u], w = ws.units[u];
      const dzin = be.view(w.dzin, 0, n * G);
      cellBackward(be, config, p, g, w, dzin, steps, B);
      be.biasBackward(g.b, dzin, n, G);
      for (const s of from) {
        const W = be.view(p.W_x, s.row * G, s.width * G);
        const dW = be.view(g.W_x, s.row * G, s.width * G);
        let dz = dzin;
        if (s.reversed !== (d === 1)) {
          dz = be.view(ws.reversing, 0, n * G);
          be.fill(dz, 0);
          be.gatherRowsForward(dz, ws.reversed, dzin, n, G);
        }
        be.matmulTN(dW, s.values, dz, s.width, n, G);
        be.matmulNT(s.grads, dz, W, n, G, s.width);
      }
    }
    if (dropped && l > 0) {
      for (let d = 0; d < D; d++) {
        const below = ws.units[(l - 1) * D + d];
        be.dropoutBackward(
          be.view(below.dstates, B * H, n * H),
          be.view(below.mask!, 0, n * H),
          be.view(below.ddropped!, 0, n * H),
          n * H,
        );
      }
    }
  }
}
