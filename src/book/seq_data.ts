/**
 * The data of the book's sequence-model section (Dive into Deep Learning, "Sequence Models"): a
 * noisy sine `x_t = sin(0.01 t) + ε_t`, `ε_t ~ N(0, 0.2²)`, for `t = 1..T`, and the
 * autoregressive windows that turn it into a regression problem: features `x[i .. i+τ)`, label
 * `x[i+τ]`.
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** Options of {@linkcode sineSeries}; the defaults are the book's. */
export interface SineSeriesOptions {
  /** Number of time steps `T`; default 1000. */
  T?: number;
  /** Standard deviation of the Gaussian noise; default 0.2. */
  noise?: number;
  /** Angular frequency per step; default 0.01. */
  frequency?: number;
}

/** A series: `x[j]` is observed at `time[j]`. */
export interface SineSeries {
  /** Time steps `1..T`. */
  time: Float64Array;
  /** Observations. */
  x: Float64Array;
}

/** Autoregressive windows of a series, row-major. */
export interface TauFeatures {
  /** Number of windows: `x.length - tau`. */
  rows: number;
  /** Window length `τ`. */
  tau: number;
  /** `features[i·τ + j] = x[i + j]`, i.e. `[rows, τ]` row-major. */
  features: Float64Array;
  /** `labels[i] = x[i + τ]`. */
  labels: Float64Array;
}

/**
 * The book's noisy sine: `time = 1..T`, `x = sin(frequency · time) + noise · N(0, 1)`.
 *
 * @param rng The generator the noise is drawn from, one normal deviate per step in time order.
 * @param options Length, noise and frequency (the book's by default).
 * @returns The time steps and observations.
 * @throws {RangeError} When `T` is not a positive integer or `noise` is negative or not finite.
 * @example The book's series
 * ```ts
 * import { sineSeries } from "./seq_data.ts";
 * import { Rng } from "../rng.ts";
 * const { time, x } = sineSeries(new Rng(0));
 * console.log(time[0], time[999], x.length); // 1 1000 1000
 * ```
 */
export function sineSeries(rng: Rng, options: SineSeriesOptions = {}): SineSeries {
  const { T = 1000, noise = 0.2, frequency = 0.01 } = options;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`T must be a positive integer, got ${T}`);
  if (!Number.isFinite(noise) || noise < 0) {
    throw new RangeError(`noise must be a finite number >= 0, got ${noise}`);
  }
  if (!Number.isFinite(frequency)) {
    throw new RangeError(`frequency must be a finite number, got ${frequency}`);
  }
  const time = Float64Array.from({ length: T }, (_, j) => j + 1);
  const x = time.map((t) => Math.sin(frequency * t) + noise * rng.normal());
  return { time, x };
}

/**
 * The windows of length `tau` and the value after each: row `i` is `x[i .. i+tau)`, its label
 * `x[i+tau]`, for `i` in `[0, x.length - tau)` (the book's `features` and `labels`).
 *
 * @param x The series.
 * @param tau Window length, `1 <= tau < x.length`.
 * @returns `x.length - tau` windows and labels.
 * @throws {RangeError} When `tau` is not an integer in `[1, x.length)`.
 * @example Windows of length 2
 * ```ts
 * import { tauFeatures } from "./seq_data.ts";
 * const { rows, features, labels } = tauFeatures([1, 2, 3, 4], 2);
 * console.log(rows, Array.from(features), Array.from(labels)); // 2 [1, 2, 2, 3] [3, 4]
 * ```
 */
export function tauFeatures(x: ArrayLike<number>, tau: number): TauFeatures {
  if (!Number.isInteger(tau) || tau < 1 || tau >= x.length) {
    throw new RangeError(
      `tau must be an integer in [1, ${x.length}) for a series of ${x.length}, got ${tau}`,
    );
  }
  const rows = x.length - tau;
  const features = new Float64Array(rows * tau);
  const labels = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < tau; j++) features[i * tau + j] = x[i + j];
    labels[i] = x[i + tau];
  }
  return { rows, tau, features, labels };
}
