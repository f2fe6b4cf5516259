/**
 * Minibatches of subsequences for truncated backpropagation through time, following Dive into
 * Deep Learning (2nd ed.), "Language Models": `seq_data_iter_random` and
 * `seq_data_iter_sequential`.
 *
 * Each call to a sampler is one epoch. By default the corpus is cut at fixed places, starting at
 * element 0, as in the book's Jay Chou experiment (Chinese edition, `data_iter_random` and
 * `data_iter_consecutive`), whose perplexities this reproduces. With `randomOffset: true` each
 * epoch starts at a random offset in [0, T) drawn from the generator, as in the 2nd edition, so
 * different epochs cut the corpus at different places: the model memorises the training text less
 * and its training perplexity falls more slowly. The number of minibatches per epoch is the same
 * for every offset ({@linkcode countBatches}). For the book's setting (10000 characters, B = 32,
 * T = 35) that is 8 minibatches under both samplers, with or without the offset.
 *
 * Shapes: `inputs` and `targets` are row-major `[B, T]` (`B` batch size, `T` steps), and
 * `targets[r, t]` is the corpus element right after `inputs[r, t]`.
 *
 * @example One epoch of sequential minibatches
 * ```ts
 * import { sequentialBatches } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const corpus = Int32Array.from({ length: 100 }, (_, i) => i);
 * for (const { inputs, targets } of sequentialBatches(corpus, 2, 5, new Rng(0))) {
 *   console.log(inputs.length, targets[0] - inputs[0]); // 10 1
 * }
 * ```
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/**
 * One minibatch: `B` rows of `T` consecutive corpus elements, and the same shifted by one.
 *
 * @example Read row r, step t
 * ```ts
 * import { type Minibatch, sequentialBatches } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const corpus = Int32Array.from({ length: 40 }, (_, i) => i);
 * const [b]: Minibatch[] = [...sequentialBatches(corpus, 2, 3, new Rng(0))];
 * const [r, t] = [1, 2];
 * console.log(b.targets[r * b.numSteps + t] === b.inputs[r * b.numSteps + t] + 1); // true
 * ```
 */
export interface Minibatch {
  /** `[B, T]` row-major: `inputs[r * T + t]`. */
  inputs: Int32Array;
  /** `[B, T]` row-major; each target is the corpus element after its input. */
  targets: Int32Array;
  /** `B`, the number of rows. */
  batchSize: number;
  /** `T`, the number of steps (columns). */
  numSteps: number;
}

/**
 * How subsequences are drawn: `"random"` (shuffled, independent) or `"sequential"` (streams).
 *
 * @example Choose from a command-line flag
 * ```ts
 * import type { SamplingKind } from "./batches.ts";
 * const kind: SamplingKind = Deno.args.includes("--random") ? "random" : "sequential";
 * console.log(kind);
 * ```
 */
export type SamplingKind = "random" | "sequential";

/**
 * Options shared by the samplers.
 *
 * @example The 2nd edition's samplers
 * ```ts
 * import { batches, type SamplerOptions } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const options: SamplerOptions = { randomOffset: true };
 * console.log([...batches("random", new Int32Array(10000), 32, 35, new Rng(0), options)].length); // 8
 * ```
 */
export interface SamplerOptions {
  /**
   * Start each epoch at a random offset in [0, T) instead of at element 0; default `false` (the
   * book's Jay Chou experiment).
   */
  randomOffset?: boolean;
  /**
   * Yield the same `inputs` and `targets` arrays for every minibatch of an epoch, overwritten by
   * the next one, so a loop that uses each minibatch before asking for the next allocates nothing
   * per minibatch (the training loop does); default `false`: fresh arrays each time.
   */
  reuseBuffers?: boolean;
}

function checkSize(name: string, value: number, min: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}

function checkKind(kind: SamplingKind): void {
  if (kind !== "random" && kind !== "sequential") {
    throw new RangeError(
      `sampling kind must be "random" or "sequential", got ${JSON.stringify(kind)}`,
    );
  }
}

/**
 * The number of minibatches one epoch yields, the same for every starting offset.
 *
 * Both samplers use the corpus minus the largest offset `o` (0, or T − 1 with `randomOffset`)
 * minus the one element targets read past the inputs, `U = L − 1 − o` elements: random sampling
 * cuts them into ⌊U / T⌋ subsequences and makes ⌊that / B⌋ minibatches; sequential sampling
 * splits them into B streams of ⌊U / B⌋ and makes ⌊that / T⌋ minibatches. Without the offset
 * these are the book's counts.
 *
 * @param kind `"random"` or `"sequential"`.
 * @param corpusLength `L`, the number of corpus elements.
 * @param batchSize `B`, rows per minibatch (≥ 1).
 * @param numSteps `T`, steps per row (≥ 1).
 * @param options Whether epochs start at a random offset.
 * @returns The number of minibatches per epoch; `0` when the corpus is too short for one.
 * @example The book's setting
 * ```ts
 * import { countBatches } from "./batches.ts";
 * console.log(countBatches("random", 10000, 32, 35), countBatches("sequential", 10000, 32, 35)); // 8 8
 * ```
 */
export function countBatches(
  kind: SamplingKind,
  corpusLength: number,
  batchSize: number,
  numSteps: number,
  options: SamplerOptions = {},
): number {
  checkKind(kind);
  checkSize("corpusLength", corpusLength, 0);
  checkSize("batchSize", batchSize, 1);
  checkSize("numSteps", numSteps, 1);
  const usable = corpusLength - 1 - (options.randomOffset ? numSteps - 1 : 0);
  if (usable <= 0) return 0;
  return kind === "random"
    ? Math.floor(Math.floor(usable / numSteps) / batchSize)
    : Math.floor(Math.floor(usable / batchSize) / numSteps);
}

/**
 * Row r of the minibatch is the corpus from start(r) on, T long; targets are one further on.
 * Written into `into` when given (reused buffers), else into new arrays.
 */
function minibatch(
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  start: (row: number) => number,
  into?: Minibatch,
): Minibatch {
  const inputs = into?.inputs ?? new Int32Array(batchSize * numSteps);
  const targets = into?.targets ?? new Int32Array(batchSize * numSteps);
  for (let r = 0; r < batchSize; r++) {
    const s = start(r);
    inputs.set(corpus.subarray(s, s + numSteps), r * numSteps);
    targets.set(corpus.subarray(s + 1, s + 1 + numSteps), r * numSteps);
  }
  return into ?? { inputs, targets, batchSize, numSteps };
}

/** The minibatch every yield of an epoch reuses, when the options ask for it. */
function reused(batchSize: number, numSteps: number, reuse: boolean): Minibatch | undefined {
  if (!reuse) return undefined;
  const n = batchSize * numSteps;
  return { inputs: new Int32Array(n), targets: new Int32Array(n), batchSize, numSteps };
}

/** Validates the arguments of a sampler eagerly and returns its minibatch count. */
function prepare(
  kind: SamplingKind,
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  options: SamplerOptions,
): number {
  if (!(corpus instanceof Int32Array)) {
    throw new TypeError("the corpus must be an Int32Array of token indices (Corpus.indices)");
  }
  if (rng == null || typeof rng.nextInt !== "function") {
    throw new TypeError("rng must be an Rng (new Rng(seed))");
  }
  const count = countBatches(kind, corpus.length, batchSize, numSteps, options);
  if (count === 0) {
    const needed = batchSize * numSteps + 1 + (options.randomOffset ? numSteps - 1 : 0);
    throw new RangeError(
      `the corpus has ${corpus.length} elements, too few for one minibatch of batchSize ` +
        `${batchSize} × numSteps ${numSteps}: it needs at least ${needed}; use a longer ` +
        `corpus or smaller batchSize/numSteps`,
    );
  }
  return count;
}

/**
 * Random sampling: one epoch of minibatches of non-overlapping subsequences at shuffled positions
 * (d2l `seq_data_iter_random`). After the offset `o` (0, or random in [0, T)), the corpus is cut into
 * subsequences starting at `o, o + T, o + 2T, …`; their order is shuffled and each minibatch takes
 * the next B of them. Adjacent minibatches are not adjacent in the corpus, so the hidden state is
 * reset before each one.
 *
 * Arguments are checked when called; the offset and the shuffle are drawn from `rng` when
 * iteration starts.
 *
 * @param corpus Token indices.
 * @param batchSize `B`, subsequences per minibatch.
 * @param numSteps `T`, length of each subsequence.
 * @param rng The generator for the offset and the shuffle.
 * @param options Whether the epoch starts at a random offset (default: at element 0).
 * @returns A generator of {@linkcode countBatches}`("random", …)` minibatches; a `RangeError` when
 * the corpus is shorter than (B + 1) · T.
 * @example Count the minibatches of an epoch
 * ```ts
 * import { randomBatches } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const corpus = new Int32Array(10000);
 * console.log([...randomBatches(corpus, 32, 35, new Rng(1))].length); // 8
 * ```
 */
export function randomBatches(
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  options: SamplerOptions = {},
): Generator<Minibatch> {
  const count = prepare("random", corpus, batchSize, numSteps, rng, options);
  return randomEpoch(corpus, batchSize, numSteps, rng, count, options);
}

function* randomEpoch(
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  count: number,
  options: SamplerOptions,
): Generator<Minibatch> {
  const offset = options.randomOffset === true ? rng.nextInt(numSteps) : 0;
  const into = reused(batchSize, numSteps, options.reuseBuffers === true);
  // As in the book: every subsequence that fits after the offset is shuffled, the first
  // count · B are used.
  const numSubseqs = Math.floor((corpus.length - 1 - offset) / numSteps);
  const starts = new Int32Array(numSubseqs);
  for (let k = 0; k < numSubseqs; k++) starts[k] = offset + k * numSteps;
  rng.shuffle(starts);
  for (let i = 0; i < count; i++) {
    yield minibatch(corpus, batchSize, numSteps, (r) => starts[i * batchSize + r], into);
  }
}

/**
 * Sequential partitioning: one epoch of minibatches whose rows continue each other
 * (d2l `seq_data_iter_sequential`). After the offset `o` (0, or random in [0, T)), the corpus is trimmed to
 * a multiple of B (keeping one element for the last target) and split into B parallel streams of
 * `n = ⌊(L − 1 − o) / B⌋` elements; minibatch i takes columns [i·T, (i+1)·T) of every stream, so
 * row r of minibatch i + 1 starts where row r of minibatch i ended and the hidden state can be
 * carried over (detached) between minibatches.
 *
 * Arguments are checked when called; the offset is drawn from `rng` when iteration starts.
 *
 * @param corpus Token indices.
 * @param batchSize `B`, parallel streams.
 * @param numSteps `T`, steps per minibatch.
 * @param rng The generator for the offset.
 * @param options Whether the epoch starts at a random offset (default: at element 0).
 * @returns A generator of {@linkcode countBatches}`("sequential", …)` minibatches; a `RangeError`
 * when the corpus is shorter than (B + 1) · T.
 * @example Rows continue across minibatches
 * ```ts
 * import { sequentialBatches } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const corpus = Int32Array.from({ length: 50 }, (_, i) => i);
 * const [a, b] = sequentialBatches(corpus, 2, 4, new Rng(3));
 * console.log(b.inputs[0] === a.inputs[3] + 1); // true
 * ```
 */
export function sequentialBatches(
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  options: SamplerOptions = {},
): Generator<Minibatch> {
  const count = prepare("sequential", corpus, batchSize, numSteps, rng, options);
  return sequentialEpoch(corpus, batchSize, numSteps, rng, count, options);
}

function* sequentialEpoch(
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  count: number,
  options: SamplerOptions,
): Generator<Minibatch> {
  const offset = options.randomOffset === true ? rng.nextInt(numSteps) : 0;
  const into = reused(batchSize, numSteps, options.reuseBuffers === true);
  const streamLength = Math.floor((corpus.length - 1 - offset) / batchSize);
  for (let i = 0; i < count; i++) {
    const start = (r: number) => offset + r * streamLength + i * numSteps;
    yield minibatch(corpus, batchSize, numSteps, start, into);
  }
}

/**
 * One epoch of minibatches with the chosen sampling: {@linkcode randomBatches} or
 * {@linkcode sequentialBatches}.
 *
 * @param kind `"random"` or `"sequential"`.
 * @param corpus Token indices.
 * @param batchSize `B`, rows per minibatch.
 * @param numSteps `T`, steps per row.
 * @param rng The generator for the offset (and, for random sampling, the shuffle).
 * @param options Whether the epoch starts at a random offset (default: at element 0).
 * @returns A generator of {@linkcode countBatches}`(kind, …)` minibatches.
 * @example Two epochs with one generator
 * ```ts
 * import { batches } from "./batches.ts";
 * import { Rng } from "../rng.ts";
 * const rng = new Rng(42);
 * const corpus = new Int32Array(1000);
 * for (let epoch = 0; epoch < 2; epoch++) {
 *   console.log([...batches("random", corpus, 4, 10, rng)].length); // 24
 * }
 * ```
 */
export function batches(
  kind: SamplingKind,
  corpus: Int32Array,
  batchSize: number,
  numSteps: number,
  rng: Rng,
  options: SamplerOptions = {},
): Generator<Minibatch> {
  checkKind(kind);
  return kind === "random"
    ? randomBatches(corpus, batchSize, numSteps, rng, options)
    : sequentialBatches(corpus, batchSize, numSteps, rng, options);
}
