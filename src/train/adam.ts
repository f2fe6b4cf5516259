/**
 * The Adam optimizer (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", as in
 * `torch.optim.Adam` without weight decay or amsgrad) over one contiguous parameter buffer and its
 * gradient buffer: the moment buffers live on the backend beside them and each step is one
 * {@linkcode Backend.adamUpdate} kernel call.
 *
 * @module
 */
import type { Backend, FloatBuf, ScalarBuf } from "../backend/types.ts";
import { UsageError } from "../errors.ts";

/** Hyperparameters of {@linkcode Adam}; the defaults are PyTorch's. */
export interface AdamOptions {
  /** Learning rate; default 0.001. */
  lr?: number;
  /** Decay of the first moment (the mean of the gradients); default 0.9. */
  beta1?: number;
  /** Decay of the second moment (the mean of the squared gradients); default 0.999. */
  beta2?: number;
  /** Added to the root of the second moment so the step stays finite; default 1e-8. */
  eps?: number;
}

/** What {@linkcode Adam.state} saves and {@linkcode Adam.loadState} restores. */
export interface AdamState {
  /** First moments, one per parameter. */
  m: Float32Array;
  /** Second moments, one per parameter. */
  v: Float32Array;
  /** Steps taken so far (0 before the first). */
  step: number;
}

/**
 * Adam for a `(backend, params, grads, n)` triple: call {@linkcode Adam.step} after the gradients
 * of a minibatch have been computed into `grads`. The optimizer reads `grads` and never clears
 * them (zeroing is the caller's job, once per step).
 *
 * @example Minimise (p - 3)² from p = 0
 * ```ts
 * import { Adam } from "./adam.ts";
 * import { createReferenceBackend } from "../backend/reference.ts";
 * const be = createReferenceBackend();
 * const p = be.alloc(1), g = be.alloc(1);
 * const adam = new Adam(be, p, g, 1, { lr: 0.1 });
 * for (let i = 0; i < 300; i++) {
 *   be.write(g, [2 * ((await be.read(p))[0] - 3)]);
 *   adam.step();
 * }
 * console.log((await be.read(p))[0].toFixed(2)); // "3.00"
 * ```
 */
export class Adam {
  /** The kernels the buffers belong to. */
  readonly backend: Backend;
  /** The parameters, updated in place by {@linkcode Adam.step}. */
  readonly params: FloatBuf;
  /** The gradients, read by {@linkcode Adam.step}. */
  readonly grads: FloatBuf;
  /** Number of parameters updated (a prefix of `params` and `grads`). */
  readonly n: number;
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the first moment. */
  readonly beta1: number;
  /** Decay of the second moment. */
  readonly beta2: number;
  /** Denominator guard. */
  readonly eps: number;
  #m: FloatBuf;
  #v: FloatBuf;
  #step = 0;

  /**
   * Creates the optimizer with zero moments and no steps taken.
   *
   * @param backend The backend that owns `params` and `grads`.
   * @param params The parameters (at least `n` elements).
   * @param grads The gradients, same layout (at least `n` elements).
   * @param n Number of parameters to update.
   * @param options Learning rate, betas and eps (PyTorch's defaults).
   * @returns The optimizer.
   * @throws {UsageError} When `lr` or `eps` is negative or not finite, or a beta lies outside
   * [0, 1).
   * @throws {RangeError} When `n` is not a non-negative integer.
   * @throws {TypeError} When a buffer holds fewer than `n` elements.
   * @example The book's optimizer for the sequence model
   * ```ts
   * import { Adam } from "./adam.ts";
   * import { createWasmBackend } from "../backend/wasm.ts";
   * const be = createWasmBackend();
   * const params = be.alloc(61), grads = be.alloc(61);
   * const adam = new Adam(be, params, grads, 61, { lr: 0.01 });
   * console.log(adam.lr, adam.beta2); // 0.01 0.999
   * ```
   */
  constructor(
    backend: Backend,
    params: FloatBuf,
    grads: FloatBuf,
    n: number,
    options: AdamOptions = {},
  ) {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`n must be a non-negative integer, got ${n}`);
    }
    for (const [name, buf] of [["params", params], ["grads", grads]] as const) {
      if (buf.length < n) {
        throw new TypeError(`${name} must hold at least ${n} elements, got ${buf.length}`);
      }
    }
    const { lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = options;
    for (const [name, value] of [["lr", lr], ["eps", eps]] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new UsageError(`{${name}} must be a finite number >= 0, got ${value}`);
      }
    }
    for (const [name, value] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(value >= 0 && value < 1)) {
        throw new UsageError(`{${name}} must lie in [0, 1), got ${value}`);
      }
    }
    this.backend = backend;
    this.params = params;
    this.grads = grads;
    this.n = n;
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.#m = backend.alloc(n);
    this.#v = backend.alloc(n);
  }

  /**
   * Steps taken so far.
   *
   * @returns 0 before the first {@linkcode Adam.step}.
   * @example Count steps
   * ```ts
   * import { Adam } from "./adam.ts";
   * import { createReferenceBackend } from "../backend/reference.ts";
   * const be = createReferenceBackend();
   * const adam = new Adam(be, be.alloc(2), be.alloc(2), 2);
   * adam.step();
   * console.log(adam.steps); // 1
   * ```
   */
  get steps(): number {
    return this.#step;
  }

  /**
   * Updates the parameters from the current gradients and advances the step count (the bias
   * corrections use the new count, starting at 1).
   *
   * @param stats A training statistics buffer (see `STAT`): once it records a divergence the
   * update changes nothing.
   * @returns Nothing; `params` and the moments are updated in place.
   * @example One step moves each parameter by about lr against its gradient's sign
   * ```ts
   * import { Adam } from "./adam.ts";
   * import { createReferenceBackend } from "../backend/reference.ts";
   * const be = createReferenceBackend();
   * const p = be.alloc(2), g = be.alloc(2);
   * be.write(g, [5, -0.001]);
   * new Adam(be, p, g, 2, { lr: 0.1 }).step();
   * console.log(Array.from(await be.read(p), (x) => x.toFixed(3))); // ["-0.100", "0.100"]
   * ```
   */
  step(stats?: ScalarBuf): void {
    this.#step++;
    this.backend.adamUpdate(
      this.params,
      this.grads,
      this.#m,
      this.#v,
      this.n,
      this.lr,
      this.beta1,
      this.beta2,
      this.eps,
      this.#step,
      stats,
    );
  }

  /**
   * A copy of the moments and the step count, for checkpoints.
   *
   * @returns The state; later steps do not change it.
   * @example Save and restore
   * ```ts
   * import { Adam } from "./adam.ts";
   * import { createReferenceBackend } from "../backend/reference.ts";
   * const be = createReferenceBackend();
   * const p = be.alloc(1), g = be.alloc(1);
   * be.write(g, [1]);
   * const adam = new Adam(be, p, g, 1);
   * adam.step();
   * const saved = await adam.state();
   * const again = new Adam(be, p, g, 1);
   * again.loadState(saved);
   * console.log(again.steps, saved.m[0].toFixed(2)); // 1 "0.10"
   * ```
   */
  async state(): Promise<AdamState> {
    return {
      m: Float32Array.from(await this.backend.read(this.#m)),
      v: Float32Array.from(await this.backend.read(this.#v)),
      step: this.#step,
    };
  }

  /**
   * Restores moments and the step count saved by {@linkcode Adam.state}.
   *
   * @param state Moments of `n` elements each and a step count.
   * @returns Nothing.
   * @throws {TypeError} When a moment array does not hold `n` elements.
   * @throws {RangeError} When the step is not a non-negative integer or a second moment is
   * negative or not finite.
   * @example Resume from a saved state
   * ```ts
   * import { Adam } from "./adam.ts";
   * import { createReferenceBackend } from "../backend/reference.ts";
   * const be = createReferenceBackend();
   * const adam = new Adam(be, be.alloc(1), be.alloc(1), 1);
   * adam.loadState({ m: new Float32Array([0.5]), v: new Float32Array([0.25]), step: 10 });
   * console.log(adam.steps); // 10
   * ```
   */
  loadState(state: AdamState): void {
    for (const key of ["m", "v"] as const) {
      const a = state[key];
      if (!a || a.length !== this.n) {
        throw new TypeError(
          `Adam state ${key} must hold ${this.n} values, got ${a ? a.length : "none"}`,
        );
      }
    }
    if (!Number.isSafeInteger(state.step) || state.step < 0) {
      throw new RangeError(`Adam state step must be a non-negative integer, got ${state.step}`);
    }
    // sqrt of a negative second moment would turn every later step into NaN.
    if (!state.v.every((x) => x >= 0 && Number.isFinite(x))) {
      throw new RangeError("Adam state v must hold finite values >= 0");
    }
    this.backend.write(this.#m, state.m);
    this.backend.write(this.#v, state.v);
    this.#step = state.step;
  }
}
