/**
 * Layer objects with the contract of PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM`: a stack of
 * recurrent layers over dense inputs, one or two directions per layer, that returns the outputs of
 * every step and the final state, takes an initial state, and has a backward pass for training.
 * They run the language model's cell kernels (see `layer_stack.ts` for how the reverse direction
 * reuses them).
 *
 * Shapes are PyTorch's: inputs `[T, B, inputSize]` (`[B, T, inputSize]` with `batchFirst`),
 * outputs `[T, B, D·H]` (or `[B, T, D·H]`) with the forward direction's `H` values first, states
 * `[numLayers·D, B, H]` with layer `l`'s direction `d` at row `l·D + d` whatever the layout, where
 * `D` is 2 for bidirectional layers and 1 otherwise. The reverse direction's output at step `t` is
 * its state after reading steps `T−1` down to `t`, so its final state is its output at step 0.
 *
 * @module
 */
import { defaultBackend } from "../backend/default.ts";
import type { Backend, CellKind, FloatBuf } from "../backend/types.ts";
import { UsageError } from "../errors.ts";
import { Rng } from "../rng.ts";
import {
  clearStackGradients,
  createStackWorkspace,
  stackBackward,
  stackBlocks,
  type StackConfig,
  type StackDropout,
  stackForward,
  type StackWorkspace,
  unitInputWidth,
  unitViews,
} from "./layer_stack.ts";
import type { LayerParams } from "./model.ts";
import { fromTorch, TORCH_NAMES, torchShapes, toTorch } from "./torch_layout.ts";

/** Sizes and choices of a recurrent layer (PyTorch's constructor arguments, in camelCase). */
export interface RecurrentLayerOptions {
  /** Width of each input vector. */
  inputSize: number;
  /** Hidden units of every layer and direction. */
  hiddenSize: number;
  /** Layers stacked, each feeding the next; default 1. */
  numLayers?: number;
  /** `"tanh"` (default) or `"relu"`: the vanilla cell's nonlinearity. */
  nonlinearity?: "tanh" | "relu";
  /** The GRU's equations: `"pytorch"` (as `nn.GRU`, the default here) or `"book"`. */
  gruVariant?: "book" | "pytorch";
  /** Inputs and outputs `[B, T, features]` instead of `[T, B, features]`; default false. */
  batchFirst?: boolean;
  /** Two directions per layer, forward and reverse, outputs side by side; default false. */
  bidirectional?: boolean;
  /**
   * Probability of dropping each output of every layer but the top one while
   * {@linkcode RecurrentLayer.training} (inverted dropout, as `nn.RNN(dropout=p)`); default 0.
   */
  dropout?: number;
  /** Kernels to run on; default the shared WebAssembly backend. */
  backend?: Backend;
  /** Seed of the initial weights and of the dropout masks; default 0. */
  seed?: number;
  /** `"uniform"` (PyTorch's default, every parameter in ±1/√H, the default) or `"normal"`. */
  init?: "normal" | "uniform";
}

/** A state: one row per layer and direction. */
export interface LayerState {
  /** Hidden states `[numLayers·D, B, H]`. */
  h: ArrayLike<number>;
  /** LSTM memory cells `[numLayers·D, B, H]`. */
  c?: ArrayLike<number>;
}

/** What {@linkcode RecurrentLayer.forward} returns. */
export interface LayerOutput {
  /** The top layer's outputs at every step, `[T, B, D·H]` (`[B, T, D·H]` with `batchFirst`). */
  outputs: Float64Array;
  /** The state after the last step (`h_n`, and the LSTM's `c_n`). */
  state: { h: Float64Array; c?: Float64Array };
}

/** What {@linkcode RecurrentLayer.backward} returns. */
export interface LayerGradients {
  /** Gradient with respect to the inputs, in their layout. */
  dInputs: Float64Array;
  /** Gradient with respect to the initial state. */
  dState: { h: Float64Array; c?: Float64Array };
}

/** A tensor of a state dict: row-major float32 values and their shape. */
export interface StateDictTensor {
  /** The shape. */
  shape: readonly number[];
  /** The values. */
  data: Float32Array;
}

/** The common part of {@linkcode RNN}, {@linkcode GRU} and {@linkcode LSTM}. */
export class RecurrentLayer {
  /** `"rnn"`, `"gru"` or `"lstm"`. */
  readonly cell: CellKind;
  /** Width of each input vector. */
  readonly inputSize: number;
  /** Hidden units of every layer and direction. */
  readonly hiddenSize: number;
  /** Layers stacked. */
  readonly numLayers: number;
  /** The vanilla cell's nonlinearity. */
  readonly nonlinearity: "tanh" | "relu";
  /** The GRU's equations. */
  readonly gruVariant: "book" | "pytorch";
  /** Whether inputs and outputs are `[B, T, features]`. */
  readonly batchFirst: boolean;
  /** Whether each layer runs in both directions. */
  readonly bidirectional: boolean;
  /** Dropout between layers while training. */
  readonly dropout: number;
  /** The kernels. */
  readonly backend: Backend;
  /** Total number of parameters. */
  readonly numParams: number;
  /** Every parameter, layer by layer, each layer's forward direction first (see `stackBlocks`). */
  readonly params: FloatBuf;
  /** Every gradient, in the layout of `params`. */
  readonly grads: FloatBuf;
  /** Whether dropout applies (PyTorch's `train()` and `eval()`); true at first, as there. */
  training = true;
  /**
   * The generator the dropout masks are drawn from (seeded from `seed`); set it to
   * `Rng.fromState(saved)` to draw the same masks again.
   */
  dropoutRng: Rng;
  readonly #config: StackConfig;
  readonly #p: LayerParams[];
  readonly #g: LayerParams[];
  #ws?: StackWorkspace;
  #last?: { steps: number; batch: number; dropout?: StackDropout };

  /**
   * Creates the layer's parameters.
   *
   * @param cell `"rnn"`, `"gru"` or `"lstm"`.
   * @param options Sizes, layout, directions, dropout, backend, seed and initialisation.
   * @throws {UsageError} When an option is out of range (named).
   */
  constructor(cell: CellKind, options: RecurrentLayerOptions) {
    const count = (name: string, value: unknown, max: number) => {
      if (!(Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= max)) {
        throw new UsageError(`${name} must be an integer in [1, ${max}], got ${value}`);
      }
      return value as number;
    };
    const choice = <T extends string>(name: string, value: T | undefined, of: T[]): T => {
      if (value === undefined) return of[0];
      if (!of.includes(value)) {
        throw new UsageError(
          `${name} must be one of ${of.join(", ")}, got ${JSON.stringify(value)}`,
        );
      }
      return value;
    };
    this.cell = choice("cell", cell, ["rnn", "gru", "lstm"]);
    this.inputSize = count("inputSize", options.inputSize, 1 << 20);
    this.hiddenSize = count("hiddenSize", options.hiddenSize, 1 << 16);
    this.numLayers = count("numLayers", options.numLayers ?? 1, 64);
    this.nonlinearity = choice("nonlinearity", options.nonlinearity, ["tanh", "relu"]);
    this.gruVariant = choice("gruVariant", options.gruVariant, ["pytorch", "book"]);
    this.batchFirst = options.batchFirst ?? false;
    this.bidirectional = options.bidirectional ?? false;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) {
      throw new UsageError(`dropout must be in [0, 1), got ${options.dropout}`);
    }
    if (this.dropout > 0 && this.numLayers < 2) {
      throw new UsageError("dropout applies between stacked layers; set numLayers to 2 or more");
    }
    this.backend = options.backend ?? defaultBackend();
    this.#config = {
      cell: this.cell,
      inputSize: this.inputSize,
      hidden: this.hiddenSize,
      layers: this.numLayers,
      directions: this.bidirectional ? 2 : 1,
      activation: this.nonlinearity,
      gruVariant: this.gruVariant,
    };
    const blocks = stackBlocks(this.#config);
    this.numParams = blocks.reduce((n, b) => n + b.size, 0);
    this.params = this.backend.alloc(this.numParams);
    this.grads = this.backend.alloc(this.numParams);
    this.#p = unitViews(this.backend, this.#config, this.params);
    this.#g = unitViews(this.backend, this.#config, this.grads);
    // Drawn in storage order, so a seed gives the same layer on every backend.
    const rng = new Rng(options.seed ?? 0);
    const init = choice("init", options.init, ["uniform", "normal"]);
    const values = new Float64Array(this.numParams);
    if (init === "uniform") {
      const bound = 1 / Math.sqrt(this.hiddenSize);
      for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * bound;
    } else {
      for (const b of blocks) {
        if (b.shape.length < 2) continue;
        for (let i = b.offset; i < b.offset + b.size; i++) values[i] = rng.normal() * 0.01;
      }
    }
    this.backend.write(this.params, values);
    this.dropoutRng = new Rng((options.seed ?? 0) ^ 0x2545f491);
  }

  /** `D`: 2 for bidirectional layers, else 1. */
  get numDirections(): 1 | 2 {
    return this.#config.directions;
  }

  /**
   * Runs the layers over a batch of sequences.
   *
   * @param inputs `[T, B, inputSize]`, or `[B, T, inputSize]` with `batchFirst`.
   * @param batch `B`, sequences in the batch.
   * @param state The state to start from (`h_0`, and the LSTM's `c_0`); zero by default.
   * @returns The top layer's outputs at every step and the state after the last one.
   * @throws {RangeError} When the inputs or the state have the wrong size.
   */
  async forward(
    inputs: ArrayLike<number>,
    batch: number,
    state?: LayerState,
  ): Promise<LayerOutput> {
    const be = this.backend, I = this.inputSize, H = this.hiddenSize;
    const D = this.numDirections, units = this.numLayers * D;
    if (!Number.isInteger(batch) || batch < 1 || inputs.length % (batch * I) !== 0) {
      throw new RangeError(
        `inputs must hold ${this.batchFirst ? `${batch} x T` : `T x ${batch}`} x ${I} values ` +
          `for batch ${batch}, got ${inputs.length}`,
      );
    }
    const steps = inputs.length / (batch * I), block = batch * H;
    if (steps < 1) throw new RangeError("inputs hold no time step");
    for (const [key, given] of [["h", state?.h], ["c", state?.c]] as const) {
      if (given && given.length !== units * block) {
        throw new RangeError(
          `state.${key} must hold ${units} x ${batch} x ${H} values, got ${given.length}`,
        );
      }
    }
    if (state?.c && this.cell !== "lstm") throw new RangeError("only an LSTM's state has c");
    const ws = this.#workspace(steps, batch);
    be.write(ws.x, this.batchFirst ? swapLeading(inputs, batch, steps, I) : inputs);
    ws.units.forEach((w, u) => {
      for (const [buf, given] of [[w.states, state?.h], [w.cells, state?.c]] as const) {
        if (!buf) continue;
        const first = be.view(buf, 0, block);
        if (given) be.write(first, Array.prototype.slice.call(given, u * block, (u + 1) * block));
        else be.fill(first, 0);
      }
    });
    const dropout = this.training && this.dropout > 0
      ? { p: this.dropout, rng: this.dropoutRng }
      : undefined;
    stackForward(be, this.#config, this.#p, ws, steps, dropout);
    this.#last = { steps, batch, dropout };

    // The top layer's directions side by side, each step in natural time.
    const top = ws.units.slice(units - D);
    const width = D * H, timeMajor = new Float64Array(steps * batch * width);
    for (const [d, w] of top.entries()) {
      const states = await be.read(be.view(w.states, block, steps * block));
      for (let t = 0; t < steps; t++) {
        const k = d === 0 ? t : steps - 1 - t; // the step in the unit's own time
        for (let b = 0; b < batch; b++) {
          timeMajor.set(
            states.subarray((k * batch + b) * H, (k * batch + b + 1) * H),
            (t * batch + b) * width + d * H,
          );
        }
      }
    }
    return {
      outputs: this.batchFirst ? swapLeading(timeMajor, steps, batch, width) : timeMajor,
      state: await this.#rows(steps, "states", "cells"),
    };
  }

  /**
   * Backpropagation through time for the last {@linkcode RecurrentLayer.forward}: adds the
   * parameters' gradients into `grads` (zero them with {@linkcode RecurrentLayer.zeroGrad}).
   *
   * @param dOutputs Gradient with respect to the outputs, in their layout.
   * @param dState Gradient with respect to the final state (`h_n`, `c_n`), when the loss reads it.
   * @returns The gradients with respect to the inputs and the initial state.
   * @throws {TypeError} Before any forward pass.
   * @throws {RangeError} When a gradient has the wrong size.
   */
  async backward(dOutputs: ArrayLike<number>, dState?: LayerState): Promise<LayerGradients> {
    if (!this.#last || !this.#ws) throw new TypeError("backward() needs a forward() first");
    const { steps, batch, dropout } = this.#last;
    const ws = this.#ws, be = this.backend, H = this.hiddenSize, I = this.inputSize;
    const D = this.numDirections, units = this.numLayers * D, block = batch * H;
    const width = D * H;
    if (dOutputs.length !== steps * batch * width) {
      throw new RangeError(
        `dOutputs must hold ${steps * batch * width} values (${
          this.batchFirst ? `${batch} x ${steps}` : `${steps} x ${batch}`
        } x ${width}), got ${dOutputs.length}`,
      );
    }
    for (const [key, given] of [["h", dState?.h], ["c", dState?.c]] as const) {
      if (given && given.length !== units * block) {
        throw new RangeError(`dState.${key} must hold ${units} x ${batch} x ${H} values`);
      }
    }
    clearStackGradients(be, this.#config, ws, steps);
    const dOut = this.batchFirst ? swapLeading(dOutputs, batch, steps, width) : dOutputs;
    ws.units.forEach((w, u) => {
      const d = u % D, isTop = u >= units - D;
      // Blocks 1..steps of the unit's state gradients, in its own time order.
      const dh = new Float64Array(steps * block);
      if (isTop) {
        for (let t = 0; t < steps; t++) {
          const k = d === 0 ? t : steps - 1 - t;
          for (let b = 0; b < batch; b++) {
            for (let j = 0; j < H; j++) {
              dh[(k * batch + b) * H + j] = dOut[(t * batch + b) * width + d * H + j];
            }
          }
        }
      }
      // The final state is block `steps`: its gradient adds to the last output's.
      const last = (steps - 1) * block;
      if (dState?.h) { for (let i = 0; i < block; i++) dh[last + i] += dState.h[u * block + i]; }
      if (isTop || dState?.h) be.write(be.view(w.dstates, block, steps * block), dh);
      if (dState?.c && w.dcells) {
        be.write(
          be.view(w.dcells, steps * block, block),
          Array.prototype.slice.call(dState.c, u * block, (u + 1) * block),
        );
      }
    });
    stackBackward(be, this.#config, this.#p, this.#g, ws, steps, dropout);
    const dx = await be.read(be.view(ws.dx, 0, steps * batch * I));
    return {
      dInputs: this.batchFirst ? swapLeading(dx, steps, batch, I) : Float64Array.from(dx),
      dState: await this.#rows(0, "dstates", "dcells"),
    };
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.backend.fill(this.grads, 0);
  }

  /**
   * The parameters as PyTorch's state dict of the same module: `weight_ih_l<k>`,
   * `weight_hh_l<k>`, `bias_ih_l<k>`, `bias_hh_l<k>`, and `..._l<k>_reverse` for the reverse
   * direction, each of PyTorch's shape (`bias_hh` is zero but for the GRU's `b_hn`, since the
   * two biases are stored as one).
   *
   * @param prefix Put before every name, as a module's name in a larger model (`"rnn."`).
   * @returns The tensors by name, in PyTorch's order.
   * @throws {UsageError} For the book's GRU, which no `nn.GRU` computes.
   * @example Names and shapes of a bidirectional LSTM
   * ```ts
   * import { LSTM } from "./layers.ts";
   * const lstm = new LSTM({ inputSize: 3, hiddenSize: 2, bidirectional: true });
   * const dict = await lstm.stateDict();
   * console.log(Object.keys(dict).length, dict.weight_ih_l0_reverse.shape); // 8 [8, 3]
   * ```
   */
  async stateDict(prefix = ""): Promise<Record<string, StateDictTensor>> {
    this.#torchOnly();
    const all = await this.backend.read(this.params);
    const stored = this.#stored(all);
    const out: Record<string, StateDictTensor> = {};
    for (const [u, unit] of stored.entries()) {
      const { I, suffix } = this.#unit(u);
      const torch = toTorch(this.cell, I, this.hiddenSize, unit);
      const shapes = torchShapes(this.cell, I, this.hiddenSize);
      for (const name of TORCH_NAMES) {
        out[`${prefix}${name}${suffix}`] = { shape: shapes[name], data: torch[name] };
      }
    }
    return out;
  }

  /**
   * Loads PyTorch's state dict of the same module (strict, as `load_state_dict`): every tensor
   * with `prefix` must be one of {@linkcode RecurrentLayer.stateDict}'s names with its shape, and
   * every one must be there; names without the prefix belong to other modules and are left alone.
   * `bias_ih` and `bias_hh` add into the one stored bias (the GRU's candidate keeps `bias_hh` as
   * `b_hn`).
   *
   * @param tensors The tensors by name.
   * @param prefix The module's name in a larger model, as in {@linkcode RecurrentLayer.stateDict}.
   * @throws {UsageError} When a tensor is missing, unexpected or of another shape (named), or the
   * layer is the book's GRU.
   */
  loadStateDict(
    tensors: Readonly<Record<string, { shape: readonly number[]; data: ArrayLike<number> }>>,
    prefix = "",
  ): void {
    this.#torchOnly();
    const H = this.hiddenSize, blocks = stackBlocks(this.#config);
    const expected = new Set<string>();
    const values = new Float64Array(this.numParams);
    for (let u = 0; u < this.numLayers * this.numDirections; u++) {
      const { I, suffix } = this.#unit(u);
      const shapes = torchShapes(this.cell, I, H);
      const given = {} as Record<(typeof TORCH_NAMES)[number], ArrayLike<number>>;
      for (const name of TORCH_NAMES) {
        const key = `${prefix}${name}${suffix}`, t = tensors[key];
        expected.add(key);
        if (!t) throw new UsageError(`the state dict has no tensor "${key}"`);
        if (JSON.stringify(t.shape) !== JSON.stringify(shapes[name])) {
          throw new UsageError(
            `tensor "${key}" has shape ${JSON.stringify(t.shape)}, expected ${
              JSON.stringify(shapes[name])
            }`,
          );
        }
        given[name] = t.data;
      }
      const stored = fromTorch(this.cell, I, H, given);
      for (const b of blocks.filter((b) => b.unit === u)) values.set(stored[b.kind]!, b.offset);
    }
    const extra = Object.keys(tensors).filter((k) => k.startsWith(prefix) && !expected.has(k));
    if (extra.length > 0) {
      throw new UsageError(
        `the state dict has unexpected tensors: ${extra.join(", ")} (this is an ` +
          `nn.${{ rnn: "RNN", gru: "GRU", lstm: "LSTM" }[this.cell]} of ${this.numLayers} ` +
          `layer(s)${this.bidirectional ? ", bidirectional" : ""})`,
      );
    }
    this.backend.write(this.params, values);
  }

  /** Gives the parameters and workspace back to the backend; the layer is unusable after. */
  dispose(): void {
    this.#ws?.free();
    this.#ws = undefined;
    this.#last = undefined;
    this.backend.free(this.params);
    this.backend.free(this.grads);
  }

  /** Unit `u`'s input width and its suffix in PyTorch's names. */
  #unit(u: number): { I: number; suffix: string } {
    const D = this.numDirections, l = Math.floor(u / D);
    return {
      I: unitInputWidth(this.#config, l),
      suffix: `_l${l}${u % D === 1 ? "_reverse" : ""}`,
    };
  }

  /** Each unit's blocks, cut from a copy of the parameters. */
  #stored(all: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }) {
    const units: Record<string, ArrayLike<number>>[] = Array.from(
      { length: this.numLayers * this.numDirections },
      () => ({}),
    );
    for (const b of stackBlocks(this.#config)) {
      units[b.unit][b.kind] = all.subarray(b.offset, b.offset + b.size);
    }
    return units as unknown as {
      W_x: ArrayLike<number>;
      W_h: ArrayLike<number>;
      b: ArrayLike<number>;
      b_hn?: ArrayLike<number>;
    }[];
  }

  /** Refuses what PyTorch has no module for. */
  #torchOnly(): void {
    if (this.cell === "gru" && this.gruVariant === "book") {
      throw new UsageError(
        "the book's GRU has no nn.GRU equivalent (nn.GRU applies the reset gate after the " +
          'recurrent product); use gruVariant "pytorch"',
      );
    }
  }

  /**
   * The workspace for this batch and length: kept between calls (backward reads what forward
   * saved), made anew when a longer sequence or another batch size comes.
   */
  #workspace(steps: number, batch: number): StackWorkspace {
    const held = this.#ws;
    if (held && held.batchSize === batch && held.maxSteps >= steps) return held;
    held?.free();
    this.#last = undefined;
    this.#ws = createStackWorkspace(this.backend, this.#config, steps, batch, this.dropout > 0);
    return this.#ws;
  }

  /** Block `at` of every unit's state (and cell) buffers, as `[numLayers·D, B, H]` rows. */
  async #rows(
    at: number,
    h: "states" | "dstates",
    c: "cells" | "dcells",
  ): Promise<{ h: Float64Array; c?: Float64Array }> {
    const ws = this.#ws!, be = this.backend, block = ws.batchSize * this.hiddenSize;
    const gather = async (key: typeof h | typeof c) => {
      const out = new Float64Array(ws.units.length * block);
      for (const [u, w] of ws.units.entries()) {
        out.set(await be.read(be.view(w[key]!, at * block, block)), u * block);
      }
      return out;
    };
    return { h: await gather(h), ...(this.cell === "lstm" ? { c: await gather(c) } : {}) };
  }
}

/** `[A, B, W]` row-major as `[B, A, W]`: batch-first to time-major and back. */
function swapLeading(x: ArrayLike<number>, A: number, B: number, W: number): Float64Array {
  const out = new Float64Array(A * B * W);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < W; j++) out[(b * A + a) * W + j] = x[(a * B + b) * W + j];
    }
  }
  return out;
}

/**
 * A stack of vanilla RNN layers, like `nn.RNN`: `h_t = act(x_t W_xh + h_{t−1} W_hh + b_h)`.
 *
 * @example Outputs of every step and the final state
 * ```ts
 * import { RNN } from "./layers.ts";
 * const rnn = new RNN({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
 * const { outputs, state } = await rnn.forward(new Float32Array(5 * 2 * 3).fill(0.5), 2);
 * console.log(outputs.length, state.h.length); // 40 16
 * ```
 */
export class RNN extends RecurrentLayer {
  /**
   * Creates the layer.
   *
   * @param options Sizes, layout, directions, nonlinearity, dropout, backend, seed, initialisation.
   */
  constructor(options: RecurrentLayerOptions) {
    super("rnn", options);
  }
}

/**
 * A stack of GRU layers, like `nn.GRU` (PyTorch's equations by default: the reset gate applies
 * after the hidden product; `gruVariant: "book"` for the book's).
 *
 * @example A bidirectional GRU, batch first: each step's output is both directions' states
 * ```ts
 * import { GRU } from "./layers.ts";
 * const gru = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, batchFirst: true });
 * const { outputs, state } = await gru.forward([1, 0, 0, 1], 1); // B = 1, T = 2
 * console.log(outputs.length, state.h.length); // 12 6
 * ```
 */
export class GRU extends RecurrentLayer {
  /**
   * Creates the layer.
   *
   * @param options Sizes, layout, directions, dropout, backend, seed and initialisation.
   */
  constructor(options: RecurrentLayerOptions) {
    super("gru", options);
  }
}

/**
 * A stack of LSTM layers, like `nn.LSTM`; its state holds the memory cells `c` too.
 *
 * @example The state is (h, c)
 * ```ts
 * import { LSTM } from "./layers.ts";
 * const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
 * const { state } = await lstm.forward([1, 0, 0, 1], 1);
 * console.log(state.h.length, state.c?.length); // 3 3
 * ```
 */
export class LSTM extends RecurrentLayer {
  /**
   * Creates the layer.
   *
   * @param options Sizes, layout, directions, dropout, backend, seed and initialisation.
   */
  constructor(options: RecurrentLayerOptions) {
    super("lstm", options);
  }
}
