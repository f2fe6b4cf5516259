/**
 * Layer objects like PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM`: a stack of recurrent layers over
 * dense inputs that returns the outputs of every time step and the final state, with a backward
 * pass for training. They run the same kernels as the language model; the language model itself
 * (`createModel`) is such a stack over one-hot inputs with a dense output layer, the book's
 * `RNNModel`.
 *
 * Shapes are time-major as in PyTorch's default: inputs [T, B, inputSize], outputs [T, B, H],
 * states [numLayers, B, H].
 *
 * @module
 */
import type { Backend, CellKind } from "../backend/types.ts";
import { backwardHidden, clearGradients } from "./backward.ts";
import { forwardHidden } from "./forward.ts";
import { createModel, type RnnModel } from "./model.ts";
import type { Workspace } from "./workspace.ts";

/** Sizes and choices of a recurrent layer. */
export interface RecurrentLayerOptions {
  /** Width of each input vector. */
  inputSize: number;
  /** Hidden units of every layer. */
  hiddenSize: number;
  /** Layers stacked, each feeding the next; default 1. */
  numLayers?: number;
  /** `"tanh"` (default) or `"relu"`: the vanilla cell's nonlinearity. */
  nonlinearity?: "tanh" | "relu";
  /** The GRU's equations: `"pytorch"` (as `nn.GRU`, the default here) or `"book"`. */
  gruVariant?: "book" | "pytorch";
  /** Kernels to run on; default the shared WebAssembly backend. */
  backend?: Backend;
  /** Seed of the initial weights; default 0. */
  seed?: number;
  /** `"uniform"` (PyTorch's default, every parameter in ±1/√H, the default) or `"normal"`. */
  init?: "normal" | "uniform";
}

/** The state between calls: one block per layer. */
export interface LayerState {
  /** Hidden states [numLayers, B, H]. */
  h: Float32Array | Float64Array;
  /** LSTM memory cells [numLayers, B, H]. */
  c?: Float32Array | Float64Array;
}

/** What {@linkcode RecurrentLayer.forward} returns. */
export interface LayerOutput {
  /** The top layer's output at every step [T, B, H]. */
  outputs: Float32Array | Float64Array;
  /** The state after the last step. */
  state: LayerState;
}

/** What {@linkcode RecurrentLayer.backward} returns. */
export interface LayerGradients {
  /** Gradient with respect to the inputs [T, B, inputSize]. */
  dInputs: Float32Array | Float64Array;
  /** Gradient with respect to the initial state. */
  dState: LayerState;
}

/** The common part of {@linkcode RNN}, {@linkcode GRU} and {@linkcode LSTM}. */
export class RecurrentLayer {
  /** The parameters and gradients (a bare stack: `vocabSize` 0, no output layer). */
  readonly model: RnnModel;
  #last?: { ws: Workspace; steps: number; batch: number };

  /**
   * Creates the layer's parameters.
   *
   * @param cell `"rnn"`, `"gru"` or `"lstm"`.
   * @param options Sizes, nonlinearity, backend, seed and initialisation.
   */
  constructor(cell: CellKind, options: RecurrentLayerOptions) {
    this.model = createModel({
      vocabSize: 0,
      inputSize: options.inputSize,
      hidden: options.hiddenSize,
      layers: options.numLayers ?? 1,
      activation: options.nonlinearity ?? "tanh",
      cell,
      gruVariant: options.gruVariant ?? "pytorch",
    }, { backend: options.backend, seed: options.seed, init: options.init ?? "uniform" });
  }

  /**
   * Runs the layers over a sequence.
   *
   * @param inputs [T, B, inputSize], time-major.
   * @param batch `B`, sequences in the batch.
   * @param state The state to start from; zero by default.
   * @returns The top layer's outputs at every step and the state after the last one.
   */
  async forward(
    inputs: ArrayLike<number>,
    batch: number,
    state?: LayerState,
  ): Promise<LayerOutput> {
    const { inputSize: I, hidden: H, layers } = this.model.config;
    const be = this.model.backend;
    if (!Number.isInteger(batch) || batch < 1 || inputs.length % (batch * I) !== 0) {
      throw new RangeError(
        `inputs must hold T x ${batch} x ${I} values for batch ${batch}, got ${inputs.length}`,
      );
    }
    const steps = inputs.length / (batch * I), block = batch * H;
    if (steps < 1) throw new RangeError("inputs hold no time step");
    const ws = this.#workspace(steps, batch);
    be.write(ws.x!, inputs);
    ws.layers.forEach((w, l) => {
      for (const [buf, init] of [[w.states, state?.h], [w.cells, state?.c]] as const) {
        if (!buf) continue;
        if (init && init.length !== layers * block) {
          throw new RangeError(`a state of ${layers} x ${batch} x ${H} values was expected`);
        }
        const first = be.view(buf, 0, block);
        if (init) be.write(first, Array.prototype.slice.call(init, l * block, (l + 1) * block));
        else be.fill(first, 0);
      }
    });
    forwardHidden(this.model, ws, steps);
    this.#last = { ws, steps, batch };
    const top = ws.layers[layers - 1];
    return {
      outputs: await be.read(be.view(top.states, block, steps * block)),
      state: await this.#blocks(ws, steps, "states", "cells"),
    };
  }

  /**
   * Backpropagation through time for the last {@linkcode RecurrentLayer.forward}: adds the
   * parameters' gradients into `model.grads` (zero them with {@linkcode RecurrentLayer.zeroGrad}).
   *
   * @param dOutputs Gradient with respect to the outputs [T, B, H].
   * @returns The gradients with respect to the inputs and the initial state.
   */
  async backward(dOutputs: ArrayLike<number>): Promise<LayerGradients> {
    if (!this.#last) throw new TypeError("backward() needs a forward() first");
    const { ws, steps, batch } = this.#last;
    const { hidden: H, inputSize: I } = this.model.config;
    const be = this.model.backend, block = batch * H;
    if (dOutputs.length !== steps * block) {
      throw new RangeError(`dOutputs must hold ${steps} x ${batch} x ${H} values`);
    }
    clearGradients(this.model, ws, steps);
    be.write(be.view(ws.layers[ws.layers.length - 1].dstates, block, steps * block), dOutputs);
    backwardHidden(this.model, ws, steps);
    return {
      dInputs: await be.read(be.view(ws.dx!, 0, steps * batch * I)),
      dState: await this.#blocks(ws, 0, "dstates", "dcells"),
    };
  }

  /**
   * Sets every gradient to zero.
   */
  zeroGrad(): void {
    this.model.backend.fill(this.model.grads, 0);
  }

  /**
   * The layer's workspace for this batch and length: kept between calls (backward reads what
   * forward saved), grown when a longer sequence or another batch size comes.
   */
  #workspace(steps: number, batch: number): Workspace {
    const held = this.#last?.ws;
    if (held && held.batchSize === batch && held.maxSteps >= steps) return held;
    if (held) this.model.releaseWorkspace(held);
    this.#last = undefined;
    return this.model.acquireWorkspace(steps, batch);
  }

  /** Block `at` of every layer's `h` (and `c`) buffers, as a [numLayers, B, H] state. */
  async #blocks(
    ws: Workspace,
    at: number,
    h: "states" | "dstates",
    c: "cells" | "dcells",
  ): Promise<LayerState> {
    const be = this.model.backend, block = ws.batchSize * this.model.config.hidden;
    const gather = async (key: typeof h | typeof c) => {
      const out = new Float64Array(ws.layers.length * block);
      for (const [l, w] of ws.layers.entries()) {
        out.set(await be.read(be.view(w[key]!, at * block, block)), l * block);
      }
      return out;
    };
    return { h: await gather(h), ...(ws.layers[0].cells ? { c: await gather(c) } : {}) };
  }
}

/**
 * A stack of vanilla RNN layers, like `nn.RNN`: `H_t = act(X_t W_xh + H_{t-1} W_hh + b_h)`.
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
   * @param options Sizes, nonlinearity, backend, seed and initialisation.
   */
  constructor(options: RecurrentLayerOptions) {
    super("rnn", options);
  }
}

/**
 * A stack of GRU layers, like `nn.GRU` (PyTorch's equations by default: the reset gate applies
 * after the hidden product; `gruVariant: "book"` for the book's).
 *
 * @example One step of a batch of 1
 * ```ts
 * import { GRU } from "./layers.ts";
 * const gru = new GRU({ inputSize: 2, hiddenSize: 3 });
 * console.log((await gru.forward([1, 0], 1)).outputs.length); // 3
 * ```
 */
export class GRU extends RecurrentLayer {
  /**
   * Creates the layer.
   *
   * @param options Sizes, backend, seed and initialisation.
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
   * @param options Sizes, backend, seed and initialisation.
   */
  constructor(options: RecurrentLayerOptions) {
    super("lstm", options);
  }
}
