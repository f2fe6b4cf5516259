/**
 * N-gram counts and Zipf's law, after Dive into Deep Learning ("Language Models", 2nd edition):
 * count the unigrams, bigrams and trigrams of a token sequence, then fit the power law
 * n(x) ∝ 1 / x^α between a token's frequency n(x) and its rank x. Pure functions; no permissions
 * needed.
 *
 * @example The exponent of a word corpus
 * ```ts
 * import { countNgrams, fitZipf } from "./ngrams.ts";
 * const words = "the cat saw the dog and the cat ran".split(" ");
 * console.log(countNgrams(words, 2)[0]); // [["the", "cat"], 2]
 * const { exponent } = fitZipf(countNgrams(words, 1).map(([, n]) => n), { firstRank: 1 });
 * console.log(exponent > 0); // true
 * ```
 *
 * @module
 */

/**
 * Counts the n-grams (runs of `n` consecutive tokens) of a sequence: the book's
 * `collections.Counter(zip(corpus[:-1], corpus[1:]))` for `n = 2`, and likewise for any `n`.
 * A sequence of length L has L − n + 1 n-grams (none when L < n).
 *
 * @param corpus The tokens, e.g. the flattened words of a text (lines concatenated, as the book
 * does, so n-grams run across line ends).
 * @param n The n-gram length, an integer ≥ 1 (a `RangeError` otherwise).
 * @returns Each distinct n-gram with its count, most frequent first, ties in order of first
 * appearance (the order of Python's stable sort of a `Counter`).
 * @example Bigrams
 * ```ts
 * import { countNgrams } from "./ngrams.ts";
 * console.log(countNgrams(["a", "b", "a", "b", "c"], 2));
 * // [[["a", "b"], 2], [["b", "a"], 1], [["b", "c"], 1]]
 * ```
 */
export function countNgrams(corpus: readonly string[], n: number): [string[], number][] {
  if (!Array.isArray(corpus)) {
    throw new TypeError(
      `countNgrams() needs an array of tokens, got ${corpus === null ? "null" : typeof corpus}`,
    );
  }
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`countNgrams(): n must be an integer >= 1, got ${String(n)}`);
  }
  // Tokens become small integers, so an n-gram's key ("3 17 4") is unambiguous whatever
  // characters the tokens hold.
  const ids = new Map<string, number>();
  const seq = new Int32Array(corpus.length);
  for (let i = 0; i < corpus.length; i++) {
    const token = corpus[i];
    if (typeof token !== "string") {
      throw new TypeError(`countNgrams(): token ${i} must be a string, got ${typeof token}`);
    }
    let id = ids.get(token);
    if (id === undefined) ids.set(token, id = ids.size);
    seq[i] = id;
  }
  // A Map iterates in insertion order (first appearance); the sort below is stable.
  const counts = new Map<string, { gram: string[]; count: number }>();
  for (let i = 0; i + n <= seq.length; i++) {
    const key = n === 1 ? String(seq[i]) : seq.subarray(i, i + n).join(" ");
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { gram: corpus.slice(i, i + n), count: 1 });
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count)
    .map(({ gram, count }) => [gram, count]);
}

/**
 * Which ranks {@linkcode fitZipf} fits. The defaults leave out both ends of the curve, where the
 * book's figure bends away from a straight line.
 *
 * @example Fit every rank
 * ```ts
 * import { fitZipf, type ZipfFitOptions } from "./ngrams.ts";
 * const all: ZipfFitOptions = { firstRank: 1, minCount: 1 };
 * console.log(fitZipf([8, 4, 2, 1], all).ranks); // [1, 4]
 * ```
 */
export interface ZipfFitOptions {
  /**
   * The first rank fitted; default 10. The head (the, i, and, of, …) lies below the line: the book
   * calls these first words exceptions, and skipping ranks 1–9 removes them without cutting into
   * the body.
   */
  firstRank?: number;
  /**
   * The least count fitted; default 2. The tail of n-grams seen once is a flat step over
   * thousands of ranks (most trigrams occur once); fitted rank by rank it would outweigh the whole
   * curve and drag α toward 0.
   */
  minCount?: number;
}

/**
 * The fitted line log n(x) = intercept − exponent · log x (natural logarithms).
 *
 * @example Read a fit
 * ```ts
 * import { fitZipf, type ZipfFit } from "./ngrams.ts";
 * const fit: ZipfFit = fitZipf([100, 50, 33, 25], { firstRank: 1 });
 * console.log(fit.exponent.toFixed(2)); // "1.00"
 * ```
 */
export interface ZipfFit {
  /** Zipf's exponent α > 0 for a falling curve: n(x) ∝ 1 / x^α. */
  exponent: number;
  /** ln of the fitted count at rank 1. */
  intercept: number;
  /** The first and last rank fitted (1-based, inclusive). */
  ranks: [number, number];
}

/**
 * Fits Zipf's law n(x) ∝ 1 / x^α (Dive into Deep Learning, "Language Models") by ordinary least
 * squares of ln(count) on ln(rank), each rank weighing the same. Ranks are given by sorting the
 * counts, largest first; the fit uses ranks `firstRank` … the last rank whose count is at least
 * `minCount` (see {@linkcode ZipfFitOptions} for why both ends are left out).
 *
 * @param counts Positive, finite counts, one per distinct token or n-gram (any order), e.g. the
 * counts of {@linkcode countNgrams}. A non-positive or non-finite count is a `RangeError`.
 * @param options The ranks to fit: `firstRank` (default 10), `minCount` (default 2).
 * @returns The exponent α, the intercept and the fitted ranks; a `RangeError` when fewer than two
 * ranks fall in the range.
 * @example An exact power law
 * ```ts
 * import { fitZipf } from "./ngrams.ts";
 * const counts = Array.from({ length: 100 }, (_, i) => 1e6 / (i + 1) ** 1.5);
 * console.log(fitZipf(counts).exponent.toFixed(6)); // "1.500000"
 * ```
 */
export function fitZipf(counts: readonly number[], options: ZipfFitOptions = {}): ZipfFit {
  if (!Array.isArray(counts)) {
    throw new TypeError(
      `fitZipf() needs an array of counts, got ${counts === null ? "null" : typeof counts}`,
    );
  }
  const firstRank = options.firstRank ?? 10;
  const minCount = options.minCount ?? 2;
  if (!Number.isSafeInteger(firstRank) || firstRank < 1) {
    throw new RangeError(`fitZipf(): firstRank must be an integer >= 1, got ${String(firstRank)}`);
  }
  if (typeof minCount !== "number" || !(minCount >= 0) || !Number.isFinite(minCount)) {
    throw new RangeError(`fitZipf(): minCount must be a number >= 0, got ${String(minCount)}`);
  }
  counts.forEach((c, i) => {
    if (typeof c !== "number" || !Number.isFinite(c) || c <= 0) {
      throw new RangeError(`fitZipf(): count ${i} must be a positive finite number, got ${c}`);
    }
  });
  const sorted = [...counts].sort((a, b) => b - a);
  // Sorted descending, the counts >= minCount form a prefix, so the fitted ranks are one run.
  let lastRank = 0;
  while (lastRank < sorted.length && sorted[lastRank] >= minCount) lastRank++;
  const m = lastRank - firstRank + 1;
  if (m < 2) {
    throw new RangeError(
      `fitZipf(): too few ranks to fit: ranks ${firstRank}… with count >= ${minCount} hold ${
        Math.max(m, 0)
      } of ${sorted.length} counts, and a line needs 2; lower firstRank or minCount, or use a ` +
        "longer text",
    );
  }
  // Centred sums: the slope of nearly exact data stays accurate to rounding.
  let mx = 0, my = 0;
  for (let r = firstRank; r <= lastRank; r++) {
    mx += Math.log(r);
    my += Math.log(sorted[r - 1]);
  }
  mx /= m;
  my /= m;
  let sxy = 0, sxx = 0;
  for (let r = firstRank; r <= lastRank; r++) {
    const dx = Math.log(r) - mx;
    sxx += dx * dx;
    sxy += dx * (Math.log(sorted[r - 1]) - my);
  }
  const slope = sxy / sxx;
  return { exponent: -slope, intercept: my - slope * mx, ranks: [firstRank, lastRank] };
}
