/**
 * Choosing the next token from a step's logits: greedy (the book's `predict_rnn`), or sampled
 * with a temperature, restricted to the top K tokens or to the nucleus of probability P.
 *
 * @module
 */
import type { Rng } from "../rng.ts";
import { UsageError } from "../errors.ts";

/** How the next token is chosen from a step's logits (see {@linkcode sampleToken}). */
export interface SampleOptions {
  /**
   * 0 (the default) picks the most likely token (greedy, the book's way); above 0 samples from
   * softmax(logits / temperature): below 1 sharper, above 1 flatter. Finite, >= 0.
   */
  temperature?: number;
  /** When sampling, keep only the K most likely tokens (an integer >= 1); default: all. */
  topK?: number;
  /**
   * When sampling, keep only the nucleus: the smallest set of most likely tokens whose
   * probability reaches P, in (0, 1] (after `topK`); default 1: all.
   */
  topP?: number;
}

/** Sampling settings with defaults filled in and checked. */
export interface Sampling {
  temperature: number;
  topK: number;
  topP: number;
}

/** The sampling settings with defaults filled in; a value out of range is a UsageError. */
export function checkSampling(options: SampleOptions): Sampling {
  const { temperature = 0, topK = Infinity, topP = 1 } = options;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new UsageError(`{temperature} must be a finite number >= 0, got ${temperature}`);
  }
  if (topK !== Infinity && (!Number.isInteger(topK) || topK < 1)) {
    throw new UsageError(`{topK} must be an integer >= 1, got ${topK}`);
  }
  if (typeof topP !== "number" || !(topP > 0 && topP <= 1)) {
    throw new UsageError(`{topP} must be in (0, 1], got ${topP}`);
  }
  return { temperature, topK, topP };
}

/** The first index of the largest value (the book's `argmax`). */
function argmax(logits: ArrayLike<number>): number {
  let best = 0, max = logits[0];
  for (let j = 1, n = logits.length; j < n; j++) {
    if (logits[j] > max) max = logits[best = j];
  }
  return best;
}

/** {@linkcode sampleToken} without the checks: the decoder checks once, not every step. */
export function pick(logits: ArrayLike<number>, s: Sampling, rng: Rng): number {
  const best = argmax(logits);
  if (s.temperature === 0) return best;
  const n = logits.length, max = logits[best];
  // Stable softmax in float64: exp((l - max) / T) <= 1, and a tiny T sends the rest to 0, not NaN.
  const weights = new Float64Array(n);
  for (let j = 0; j < n; j++) weights[j] = Math.exp((logits[j] - max) / s.temperature);
  let kept: ArrayLike<number> | undefined;
  if (s.topK < n || s.topP < 1) {
    // Ranked by logit (as argmax is), ties by index, so topK 1 is the greedy choice.
    const order = Array.from({ length: n }, (_, j) => j)
      .sort((a, b) => logits[b] - logits[a] || a - b);
    let count = Math.min(s.topK, n);
    if (s.topP < 1) {
      let total = 0;
      for (let i = 0; i < count; i++) total += weights[order[i]];
      let sum = 0, i = 0;
      while (i < count && sum < s.topP * total) sum += weights[order[i++]];
      count = Math.max(1, i);
    }
    kept = order.slice(0, count);
  }
  // One uniform draw per sampled token, walked over the kept tokens' cumulative weights.
  const size = kept ? kept.length : n;
  let total = 0;
  for (let i = 0; i < size; i++) total += weights[kept ? kept[i] : i];
  const u = rng.next() * total;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const j = kept ? kept[i] : i;
    sum += weights[j];
    if (u < sum) return j;
  }
  return kept ? kept[size - 1] : best;
}

/**
 * Chooses the next token from one step's logits: the most likely one when `temperature` is 0,
 * else a draw from softmax(logits / temperature) over the `topK` most likely tokens, then over
 * the nucleus of probability `topP`. Computed in float64, stable for any temperature > 0; one
 * `rng.next()` per sampled token, none when greedy.
 *
 * @param logits The scores of every token, [V].
 * @param options Temperature, top K and top P.
 * @param rng The generator to draw from (untouched when greedy).
 * @returns The index of the chosen token.
 * @throws {UsageError} When an option is out of range or there are no logits.
 * @example Greedy, then a sample from the two most likely
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { sampleToken } from "./sample.ts";
 * const logits = [0.1, 2, 1.5, -1];
 * console.log(sampleToken(logits, {}, new Rng(0))); // 1
 * const k = sampleToken(logits, { temperature: 1, topK: 2 }, new Rng(0));
 * console.log(k === 1 || k === 2); // true
 * ```
 */
export function sampleToken(logits: ArrayLike<number>, options: SampleOptions, rng: Rng): number {
  const s = checkSampling(options);
  if (logits.length === 0) throw new UsageError("logits must hold at least one value, got none");
  return pick(logits, s, rng);
}
