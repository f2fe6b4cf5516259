/**
 * The recurrent language model of Dive into Deep Learning, chapter 8: a stack of recurrent layers
 * over one-hot inputs (a row gather of `W_xh`) and a dense output layer,
 * `H_t = act(X_t W_xh + H_{t-1} W_hh + b_h)`, `O_t = H_t W_hq + b_q`; GRU and LSTM cells
 * likewise. The model owns its parameter and gradient buffers, the workspaces its passes run in,
 * and the copies of its weights prepared for generation, which it makes again after its weights
 * change: the only ways to change them are {@linkcode RnnModel.setWeights} and
 * {@linkcode RnnModel.changeWeights}, so no cache can go stale.
 *
 * @module
 */
import { defaultBackend } from "../backend/default.ts";
import type { Backend, FloatBuf, PackedBuf } from "../backend/types.ts";
import { type ModelConfig, resolveModelConfig } from "../config/settings.ts";
import { UsageError } from "../errors.ts";
import { Rng } from "../rng.ts";
import { blocks, blockValues, checkNamed, gateWidth, hasBhn, splitNamed } from "./params.ts";
import { createWorkspace, type Workspace } from "./workspace.ts";

/** Options of {@linkcode createModel}. */
export interface CreateModelOptions {
  /** Kernels to run on; default {@linkcode defaultBackend}. */
  backend?: Backend;
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /**
   * `"normal"` (the book's from-scratch models: weights N(0, 0.01²), biases 0, the default) or
   * `"uniform"` (its concise models, PyTorch's layer defaults: every weight and bias
   * U(−1/√H, 1/√H)).
   */
  init?: "normal" | "uniform";
  /**
   * Standard deviation of the normal initial weights; default 0.01 (the book's). 0 leaves every
   * parameter at zero, whatever `init` (for weights about to be loaded).
   */
  initScale?: number;
  /** `"int8"` for a model with 8-bit weights (see `quantize`): for generation only. */
  quantized?: "int8";
}

/** The parameters of one recurrent layer, every gate side by side (see `GATES`). */
export interface LayerParams {
  /** Input weights [I, G]: `I` is V for the first layer, H above; `G` is H times the gates. */
  readonly W_x: FloatBuf;
  /** Recurrent weights [H, G]. */
  readonly W_h: FloatBuf;
  /** Biases [G]. */
  readonly b: FloatBuf;
  /** PyTorch's GRU only: the candidate's recurrent bias `b_hn` [H], inside the reset product. */
  readonly b_hn?: FloatBuf;
}

/** The dense output layer. */
export interface OutputParams {
  /** [H, V]. */
  readonly W_hq: FloatBuf;
  /** [V]. */
  readonly b_q: FloatBuf;
}

/** The recurrent and output weights packed for generation's products with few rows. */
export interface PreparedWeights {
  /** Per layer, `W_h` packed; `undefined` for the book's GRU, whose kernel packs two blocks itself. */
  readonly W_h: readonly (PackedBuf | undefined)[];
  /** `W_hq` packed (absent in a bare stack); by `packInt8` for an 8-bit model. */
  readonly W_hq: PackedBuf | undefined;
}

/** A model: its config, backend, parameters and gradients (see the module doc). */
export class RnnModel {
  /** The sizes and choices, with defaults filled in. */
  readonly config: Readonly<ModelConfig>;
  /** The kernels the model runs on. */
  readonly backend: Backend;
  /** Total number of parameters. */
  readonly numParams: number;
  /**
   * All parameters, contiguous: layer by layer (W_x, W_h, b[, b_hn]), then W_hq and b_q. Kernels
   * read it; write it only through {@linkcode RnnModel.setWeights} or
   * {@linkcode RnnModel.changeWeights}.
   */
  readonly params: FloatBuf;
  /** All gradients, same layout as `params`. */
  readonly grads: FloatBuf;
  /** Views of `params`, one entry per layer. */
  readonly layers: readonly LayerParams[];
  /** Views of `grads`, one entry per layer. */
  readonly layerGrads: readonly LayerParams[];
  /** Views of the output layer's parameters (absent in a bare stack). */
  readonly output: OutputParams | undefined;
  /** Views of the output layer's gradients (absent in a bare stack). */
  readonly outputGrads: OutputParams | undefined;
  /**
   * `"int8"` when the weights are 8-bit values (`quantize`, or an 8-bit checkpoint): the model is
   * for generation, and `train` refuses it.
   */
  readonly quantized: "int8" | undefined;
  #version = 0;
  #prepared: { weights: PreparedWeights; version: number } | undefined;
  /** Workspaces not in use, for the next pass of their batch size. */
  #idle: Workspace[] = [];
  #disposed = false;

  /**
   * Allocates the buffers of a model; {@linkcode createModel} also initialises them.
   *
   * @param config The full config.
   * @param backend The kernels.
   * @param quantized `"int8"` for 8-bit weights.
   */
  constructor(config: ModelConfig, backend: Backend, quantized?: "int8") {
    this.config = Object.freeze({ ...config });
    this.backend = backend;
    this.quantized = quantized;
    const table = blocks(config);
    this.numParams = table.reduce((n, b) => n + b.size, 0);
    this.params = backend.alloc(this.numParams);
    this.grads = backend.alloc(this.numParams);
    const views = (buf: FloatBuf) => {
      const byKey = new Map(table.map((b) => [b.key, backend.view(buf, b.offset, b.size)]));
      const layers = Array.from({ length: config.layers }, (_, l) => ({
        W_x: byKey.get(`${l}.W_x`)!,
        W_h: byKey.get(`${l}.W_h`)!,
        b: byKey.get(`${l}.b`)!,
        ...(hasBhn(config) ? { b_hn: byKey.get(`${l}.b_hn`)! } : {}),
      }));
      const output = byKey.has("W_hq")
        ? { W_hq: byKey.get("W_hq")!, b_q: byKey.get("b_q")! }
        : undefined;
      return { layers, output };
    };
    const p = views(this.params), g = views(this.grads);
    this.layers = p.layers;
    this.layerGrads = g.layers;
    this.output = p.output;
    this.outputGrads = g.output;
  }

  /** How many times the weights have changed: copies made at one version stay current while it does. */
  get version(): number {
    return this.#version;
  }

  /**
   * Runs `write`, which changes `params` with backend calls (an optimizer step), and records the
   * change so that the prepared weights are made again before their next use.
   *
   * @param write Kernel calls that write the parameters.
   */
  changeWeights(write: () => void): void {
    this.#check();
    try {
      write();
    } finally {
      this.#version++;
    }
  }

  /**
   * Copies the parameters out under the book's names (see `paramShapes`).
   *
   * @returns One row-major array per named parameter, in checkpoint order.
   * @example Read the output bias
   * ```ts
   * import { createModel } from "./model.ts";
   * const model = createModel({ vocabSize: 3, hidden: 2 });
   * console.log(Array.from((await model.getWeights()).b_q)); // [0, 0, 0]
   * ```
   */
  async getWeights(): Promise<Record<string, Float32Array>> {
    this.#check();
    return splitNamed(this.config, await this.backend.read(this.params));
  }

  /**
   * Copies parameters, under the book's names, into the model; every one must be given with the
   * size of `paramShapes`.
   *
   * @param values One array per named parameter (all of them).
   * @throws {TypeError} When a parameter is missing or of the wrong size (named).
   * @example Zero every weight
   * ```ts
   * import { createModel } from "./model.ts";
   * const model = createModel({ vocabSize: 3, hidden: 2 });
   * const w = await model.getWeights();
   * for (const a of Object.values(w)) a.fill(0);
   * model.setWeights(w);
   * ```
   */
  setWeights(values: Readonly<Record<string, ArrayLike<number>>>): void {
    checkNamed(this.config, values);
    // Block by block: a whole tensor is written as given, with no copy in between.
    this.changeWeights(() => {
      for (const b of blocks(this.config)) {
        this.backend.write(this.params, blockValues(this.config, b, values), b.offset);
      }
    });
  }

  /**
   * Copies every parameter, in storage order (the layout of `params`), into the model.
   *
   * @param values `numParams` values.
   * @throws {TypeError} When the count differs.
   */
  loadParams(values: ArrayLike<number>): void {
    if (values.length !== this.numParams) {
      throw new TypeError(`expected ${this.numParams} parameters, got ${values.length}`);
    }
    this.changeWeights(() => this.backend.write(this.params, values));
  }

  /**
   * The recurrent and output weights packed for products with few rows, packed again when the
   * weights changed since the last call.
   *
   * @returns The prepared weights, owned by the model.
   */
  prepared(): PreparedWeights {
    this.#check();
    const be = this.backend, { hidden: H, vocabSize: V, cell } = this.config;
    const G = gateWidth(this.config);
    let entry = this.#prepared;
    if (!entry) {
      const weights: PreparedWeights = {
        // The book's GRU (no b_hn) multiplies by two column blocks of W_h, packed by its kernel.
        W_h: this.layers.map((p) => cell === "gru" && !p.b_hn ? undefined : be.allocPacked(H, G)),
        W_hq: this.output ? be.allocPacked(H, V) : undefined,
      };
      entry = this.#prepared = { weights, version: -1 };
    }
    if (entry.version !== this.#version) {
      this.layers.forEach((p, l) => {
        const dst = entry!.weights.W_h[l];
        if (dst) be.packWeights(dst, p.W_h, H, G);
      });
      // An 8-bit model's output product runs in 8 bits (matmulInt8), the rest in float32.
      if (this.output && this.quantized) be.packInt8(entry.weights.W_hq!, this.output.W_hq, H, V);
      else if (this.output) be.packWeights(entry.weights.W_hq!, this.output.W_hq, H, V);
      entry.version = this.#version;
    }
    return entry.weights;
  }

  /**
   * A workspace for passes of `batchSize` rows and up to `minSteps` steps, the caller's alone
   * until it gives it back with {@linkcode RnnModel.releaseWorkspace}. Released ones are reused;
   * a new one holds at least twice the steps of the largest before it, so memory grows at most
   * logarithmically.
   *
   * @param minSteps Steps the workspace must hold.
   * @param batchSize Rows.
   * @returns The workspace (its contents are left from earlier use).
   */
  acquireWorkspace(minSteps: number, batchSize: number): Workspace {
    this.#check();
    const fits = this.#idle.filter((w) => w.batchSize === batchSize && w.maxSteps >= minSteps);
    if (fits.length > 0) {
      const best = fits.reduce((a, b) => (b.maxSteps < a.maxSteps ? b : a));
      this.#idle.splice(this.#idle.indexOf(best), 1);
      return best;
    }
    const largest = this.#idle
      .filter((w) => w.batchSize === batchSize)
      .reduce((n, w) => Math.max(n, w.maxSteps), 8);
    return createWorkspace(this, Math.max(minSteps, 2 * largest), batchSize);
  }

  /**
   * Gives a workspace from {@linkcode RnnModel.acquireWorkspace} back for reuse; a smaller idle
   * one of the same batch size is freed.
   *
   * @param ws The workspace.
   */
  releaseWorkspace(ws: Workspace): void {
    if (this.#disposed) return;
    for (const old of this.#idle.filter((w) => w.batchSize === ws.batchSize)) {
      if (old.maxSteps < ws.maxSteps) {
        this.#idle.splice(this.#idle.indexOf(old), 1);
        old.free();
      }
    }
    this.#idle.push(ws);
  }

  /**
   * Frees the model's buffers on its backend. The model must not be used afterwards; calling it
   * twice is harmless.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const ws of this.#idle) ws.free();
    this.#idle = [];
    if (this.#prepared) {
      for (const p of [...this.#prepared.weights.W_h, this.#prepared.weights.W_hq]) {
        if (p) this.backend.free(p);
      }
    }
    this.backend.free(this.params);
    this.backend.free(this.grads);
  }

  #check(): void {
    if (this.#disposed) throw new TypeError("this model is disposed");
  }
}

/**
 * Creates a model with weights drawn from N(0, 0.01²) and zero biases, as the book's
 * from-scratch models do, or with PyTorch's defaults as its concise models do.
 *
 * @param config Vocabulary size, and any of hidden units, activation, cell, layers, GRU variant
 * (defaults: the book's model).
 * @param options Backend, seed and initialisation.
 * @returns The model.
 * @throws {UsageError} When a setting is out of range (named).
 * @example A small model on the reference backend
 * ```ts
 * import { createModel } from "./model.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const model = createModel({ vocabSize: 10, hidden: 8 }, {
 *   backend: createReferenceBackend(),
 *   seed: 1,
 * });
 * console.log(model.numParams); // 10*8 + 8*8 + 8 + 8*10 + 10 = 242
 * ```
 */
export function createModel(
  config: Readonly<Partial<ModelConfig>>,
  options: CreateModelOptions = {},
): RnnModel {
  const full = resolveModelConfig(config);
  const init = options.init ?? "normal";
  if (init !== "normal" && init !== "uniform") {
    throw new UsageError(`{init} must be one of normal, uniform, got ${JSON.stringify(init)}`);
  }
  const scale = options.initScale ?? 0.01;
  if (!(Number.isFinite(scale) && scale >= 0)) {
    throw new UsageError(`{initScale} must be a finite number >= 0, got ${scale}`);
  }
  if (options.quantized !== undefined && options.quantized !== "int8") {
    throw new UsageError(
      `{quantized} must be "int8" or absent, got ${JSON.stringify(options.quantized)}`,
    );
  }
  const model = new RnnModel(full, options.backend ?? defaultBackend(), options.quantized);
  if (scale === 0) return model;
  // Drawn in storage order, so a seed gives the same model everywhere.
  const rng = new Rng(options.seed ?? 0);
  const values = new Float64Array(model.numParams);
  if (init === "uniform") {
    // nn.RNN/GRU/LSTM and nn.Linear(H, V) both draw U(-1/sqrt(H), 1/sqrt(H)), biases included.
    const bound = 1 / Math.sqrt(full.hidden);
    for (let i = 0; i < values.length; i++) values[i] = (2 * rng.next() - 1) * bound;
  } else {
    for (const b of blocks(full)) {
      if (b.shape.length < 2) continue;
      for (let i = b.offset; i < b.offset + b.size; i++) values[i] = rng.normal() * scale;
    }
  }
  model.loadParams(values);
  return model;
}
