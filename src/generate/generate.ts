/**
 * Generation: run the prefix through the network, then repeatedly choose the next token and feed
 * it back. Greedy by default, as the book's `predict_rnn` (the most likely token each step); with
 * a temperature it samples, optionally restricted to the top K tokens or the nucleus (top P).
 * {@linkcode generate} returns the whole text, {@linkcode generateStream} and
 * {@linkcode generateReadableStream} hand out each token as it is made, and
 * {@linkcode generateBatch} continues several prefixes at once in the same kernels. All four run
 * one decoder, so they agree token for token.
 *
 * @module
 */
import {
  carryState,
  forwardHidden,
  forwardLogits,
  type PackedWeights,
  packModel,
  repackModel,
  resetState,
  type RnnModel,
  sharedWorkspace,
  weightsVersion,
  type Workspace,
  writeTokens,
} from "../model/model.ts";
import { Rng } from "../rng.ts";
import { CHAR_TEXT, joinTokens, type TextSettings, textTokens } from "../text/text.ts";
import type { Vocab } from "../text/vocab.ts";

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

/** Settings of {@linkcode generate}, {@linkcode generateBatch} and the streaming forms. */
export interface GenerateOptions extends SampleOptions {
  /** Tokens (characters, or words) to generate after the prefix; default 50. */
  length?: number;
  /** How the model's text was tokenised (a checkpoint's `text`); default characters. */
  text?: TextSettings;
  /**
   * Seed of the sampler (a safe integer), used when `temperature` > 0; default 0, so a sample is
   * reproducible unless the seed changes. In a batch, row `r` samples with seed `seed + r`.
   */
  seed?: number;
  /**
   * Generation ends as soon as the generated text (after the prefix, rendered as returned: words
   * with a space before each) ends with one of these non-empty strings; the stop string is kept.
   * Default: none, so exactly `length` tokens.
   */
  stop?: readonly string[];
  /**
   * Prefix tokens the vocabulary lacks: `"error"` (the default) throws a `RangeError` naming
   * them; `"unk"` feeds `<unk>` in their place (the returned text keeps them as typed) and throws
   * only when the vocabulary has no `<unk>`.
   */
  unknown?: "error" | "unk";
}

/** Settings of {@linkcode generateStream} and {@linkcode generateReadableStream}. */
export interface GenerateStreamOptions extends GenerateOptions {
  /** Stops generation: the stream then throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Milliseconds of generation after which the stream yields to the event loop (a zero-delay
   * timer) so other tasks run; default 10. 0 yields after every token (a timer costs a few
   * milliseconds, so that is slower).
   */
  yieldEveryMs?: number;
}

/** Sampling settings with defaults filled in and checked. */
interface Sampling {
  temperature: number;
  topK: number;
  topP: number;
}

function checkSampling(options: SampleOptions): Sampling {
  const { temperature = 0, topK = Infinity, topP = 1 } = options;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new RangeError(`temperature must be a finite number >= 0, got ${temperature}`);
  }
  if (topK !== Infinity && (!Number.isInteger(topK) || topK < 1)) {
    throw new RangeError(`topK must be an integer >= 1, got ${topK}`);
  }
  if (typeof topP !== "number" || !(topP > 0 && topP <= 1)) {
    throw new RangeError(`topP must be in (0, 1], got ${topP}`);
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
function pick(logits: ArrayLike<number>, s: Sampling, rng: Rng): number {
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
 * @throws {RangeError} When an option is out of range or there are no logits.
 * @example Greedy, then a sample from the two most likely
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { sampleToken } from "./generate.ts";
 * const logits = [0.1, 2, 1.5, -1];
 * console.log(sampleToken(logits, {}, new Rng(0))); // 1
 * const k = sampleToken(logits, { temperature: 1, topK: 2 }, new Rng(0));
 * console.log(k === 1 || k === 2); // true
 * ```
 */
export function sampleToken(logits: ArrayLike<number>, options: SampleOptions, rng: Rng): number {
  const s = checkSampling(options);
  if (logits.length === 0) throw new RangeError("logits must hold at least one value, got none");
  return pick(logits, s, rng);
}

/**
 * Splits a prefix into tokens as the training text was split (words normalised like the corpus;
 * characters as typed) and checks that the vocabulary holds every one.
 *
 * @param prefix Text to continue.
 * @param vocab The model's vocabulary.
 * @param text How the training text was tokenised; default characters.
 * @param unknown `"error"` (default): tokens the vocabulary lacks are an error; `"unk"`: they are
 * allowed when the vocabulary has `<unk>` to stand for them.
 * @returns The prefix's tokens.
 * @throws {RangeError} When the prefix is empty or holds tokens the vocabulary lacks (named), with
 * `"unk"` only when the vocabulary has no `<unk>`.
 * @example Words of a prefix
 * ```ts
 * import { prefixTokens } from "./generate.ts";
 * import { Vocab } from "../text/vocab.ts";
 * const vocab = Vocab.build(["the", "time", "traveller"]);
 * console.log(prefixTokens("The Time", vocab, { tokens: "word", normalize: "letters" })); // ["the", "time"]
 * ```
 */
export function prefixTokens(
  prefix: string,
  vocab: Vocab,
  text: TextSettings = CHAR_TEXT,
  unknown: "error" | "unk" = "error",
): string[] {
  if (unknown !== "error" && unknown !== "unk") {
    throw new RangeError(`unknown must be "error" or "unk", got ${JSON.stringify(unknown)}`);
  }
  const given = text.tokens === "word" ? textTokens(prefix, text) : Array.from(prefix);
  if (given.length === 0) throw new RangeError("the prefix is empty; give at least one token");
  const missing = vocab.missing(given);
  if (missing.length > 0 && (unknown === "error" || vocab.unk === undefined)) {
    throw new RangeError(
      `the prefix "${prefix}" holds ${text.tokens === "word" ? "words" : "characters"} the ` +
        `vocabulary lacks: ${missing.map((c) => JSON.stringify(c)).join(", ")}` +
        (unknown === "unk" ? "; the vocabulary has no <unk> to stand for them" : ""),
    );
  }
  return given;
}

/** Everything checked before the model runs: one row per prefix. */
interface Plan {
  rows: { given: string[]; tokens: Int32Array }[];
  length: number;
  text: TextSettings;
  sampling: Sampling;
  seed: number;
  stop: readonly string[];
}

function plan(vocab: Vocab, prefixes: readonly string[], options: GenerateOptions): Plan {
  const length = options.length ?? 50;
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`length must be an integer >= 0, got ${length}`);
  }
  const sampling = checkSampling(options);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(seed + prefixes.length)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  const stop = options.stop ?? [];
  if (!Array.isArray(stop)) throw new TypeError("stop must be an array of strings");
  for (const s of stop) {
    if (typeof s !== "string" || s.length === 0) {
      throw new RangeError(`stop strings must be non-empty strings, got ${JSON.stringify(s)}`);
    }
  }
  const text = options.text ?? CHAR_TEXT, unknown = options.unknown ?? "error";
  const rows = prefixes.map((prefix) => {
    const given = prefixTokens(prefix, vocab, text, unknown);
    return { given, tokens: unknown === "unk" ? vocab.toIndices(given) : vocab.encode(given) };
  });
  return { rows, length, text, sampling, seed, stop };
}

/** Per model: its weights packed, and at which version of them. */
const packedFor = new WeakMap<RnnModel, { weights: PackedWeights; version: number }>();

/**
 * The model's weights packed for generation's products: with a batch of one, reading the weights
 * in order is most of a step's cost; with more rows, the products no longer pack a weight at every
 * step. Packed again only when the weights changed since ({@linkcode weightsVersion}): a call that
 * follows training reads the new weights, and repeated calls (an edge function's requests) pay
 * nothing.
 */
function packFor(model: RnnModel): PackedWeights {
  const entry = packedFor.get(model), version = weightsVersion(model);
  if (!entry) {
    const weights = packModel(model);
    packedFor.set(model, { weights, version });
    return weights;
  }
  if (entry.version !== version) {
    repackModel(model, entry.weights);
    entry.version = version;
  }
  return entry.weights;
}

/**
 * The one decoder behind every form of generation. Rows are left-aligned: the tokens every prefix
 * has go through the network in one call; after that each step feeds every row at once, the next
 * prefix token to a row still inside its prefix (teacher forcing), else the token it chose.
 */
class Decoder {
  readonly #model: RnnModel;
  readonly #vocab: Vocab;
  readonly #plan: Plan;
  #ws: Workspace;
  /** The position of the current inputs in each row's sequence. */
  #t: number;
  readonly #inputs: Int32Array;
  readonly #rngs: Rng[];
  readonly #out: string[][];
  readonly #generated: string[];
  readonly #done: boolean[];
  #saved: (Float32Array | Float64Array)[] = [];
  /** The last step's logits [B,V], reused by the next step (when sampling). */
  #logits: Float32Array | Float64Array | undefined;
  /** The last step's greedy choice of each row (when not sampling). */
  readonly #choices: Int32Array;
  /** The weights packed for the products (see packFor). */
  #packed: PackedWeights;

  constructor(model: RnnModel, vocab: Vocab, p: Plan) {
    this.#model = model;
    this.#vocab = vocab;
    this.#plan = p;
    const B = p.rows.length, shortest = Math.min(...p.rows.map((r) => r.tokens.length));
    const ws = this.#ws = sharedWorkspace(model, Math.max(1, shortest - 1), B);
    resetState(model, ws);
    this.#packed = packFor(model);
    if (shortest > 1) {
      const steps = shortest - 1, common = new Int32Array(B * steps);
      p.rows.forEach((r, i) => common.set(r.tokens.subarray(0, steps), i * steps));
      writeTokens(model, ws, common, steps, "inputs");
      forwardHidden(model, ws, steps, undefined, this.#packed);
      carryState(model, ws, steps);
    }
    this.#t = shortest - 1;
    this.#inputs = Int32Array.from(p.rows, (r) => r.tokens[shortest - 1]);
    this.#choices = new Int32Array(B);
    this.#rngs = p.rows.map((_, i) => new Rng(p.seed + i));
    this.#out = p.rows.map(() => []);
    this.#generated = p.rows.map(() => "");
    this.#done = p.rows.map(() => p.length === 0);
  }

  /** The prefix of row `r` as the returned text begins. */
  prefixText(r: number): string {
    return joinTokens(this.#plan.rows[r].given, this.#plan.text);
  }

  /** The whole text of every row so far. */
  texts(): string[] {
    return this.#plan.rows.map((r, i) =>
      joinTokens([...r.given, ...this.#out[i]], this.#plan.text)
    );
  }

  /**
   * Runs one step for every row: each row's new text (`undefined` for a row still in its prefix
   * or already done), or `undefined` when every row is done.
   */
  step(): (string | undefined)[] | undefined {
    if (this.#done.every((d) => d)) return undefined;
    const model = this.#model, ws = this.#ws, p = this.#plan, B = p.rows.length;
    const V = model.config.vocabSize;
    writeTokens(model, ws, this.#inputs, 1, "inputs");
    forwardHidden(model, ws, 1, undefined, this.#packed);
    const out = forwardLogits(model, ws, 1, this.#packed);
    // Greedy rows need only each row's argmax, chosen by the backend; sampling reads the logits
    // (into one array for every step).
    const greedy = p.sampling.temperature === 0;
    if (greedy) model.backend.argmaxRows(out, B, V, this.#choices);
    const logits = greedy ? undefined : this.#logits = model.backend.read(out, this.#logits);
    carryState(model, ws, 1);
    const next = ++this.#t, chunks: (string | undefined)[] = new Array(B);
    for (let r = 0; r < B; r++) {
      const tokens = p.rows[r].tokens;
      if (next < tokens.length) {
        this.#inputs[r] = tokens[next];
        continue;
      }
      if (this.#done[r]) continue;
      const k = logits
        ? pick(logits.subarray(r * V, (r + 1) * V), p.sampling, this.#rngs[r])
        : this.#choices[r];
      this.#inputs[r] = k;
      const token = this.#vocab.tokenAt(k);
      this.#out[r].push(token);
      const chunk = p.text.tokens === "word" ? ` ${token}` : token;
      this.#generated[r] += chunk;
      chunks[r] = chunk;
      this.#done[r] = this.#out[r].length >= p.length ||
        p.stop.some((s) => this.#generated[r].endsWith(s));
    }
    return chunks;
  }

  /** Copies the state out of the shared workspace, which others may use while this waits. */
  suspend(): void {
    const be = this.#model.backend, block = this.#ws.batchSize * this.#model.config.hidden;
    this.#saved = this.#ws.layers.flatMap((l) =>
      (l.cells ? [l.states, l.cells] : [l.states]).map((b) => be.read(be.view(b, 0, block)))
    );
  }

  /** Puts the state saved by {@linkcode Decoder.suspend} back (the workspace may be new). */
  resume(): void {
    const model = this.#model, be = model.backend;
    const ws = this.#ws = sharedWorkspace(model, 1, this.#plan.rows.length);
    // The weights may have changed while this waited.
    this.#packed = packFor(model);
    const block = ws.batchSize * model.config.hidden;
    const bufs = ws.layers.flatMap((l) => l.cells ? [l.states, l.cells] : [l.states]);
    bufs.forEach((b, i) => be.write(be.view(b, 0, block), this.#saved[i]));
  }
}

/**
 * Continues `prefix` with `length` tokens: the most likely one each step (greedy, the default),
 * or sampled with `temperature`, `topK`, `topP` and `seed`; ends early at a `stop` string. The
 * state after the prefix is computed in one pass over it.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue; every token must be in the vocabulary (or see `unknown`).
 * @param options Length, text settings, sampling, stop strings, unknown tokens.
 * @returns The prefix followed by the generated tokens (words joined with spaces).
 * @throws {RangeError} When the prefix is empty, holds tokens the vocabulary lacks, or an option
 * is out of range (named).
 * @example Continue a prefix
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8, activation: "tanh" });
 * console.log(Array.from(generate(model, vocab, "分开", { length: 3 })).length); // 5
 * const sample = generate(model, vocab, "分开", { length: 3, temperature: 0.8, seed: 1 });
 * console.log(sample === generate(model, vocab, "分开", { length: 3, temperature: 0.8, seed: 1 })); // true
 * ```
 */
export function generate(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateOptions = {},
): string {
  return generateBatch(model, vocab, [prefix], options)[0];
}

/**
 * Continues several prefixes at once: one batch of `prefixes.length` rows through the same
 * kernels, one forward call per step for all of them. Prefixes may differ in length: the part
 * every prefix has runs in one pass, then each row is fed the rest of its prefix (teacher forcing)
 * while shorter ones already generate. Each row's text is what {@linkcode generate} gives for its
 * prefix, row `r` sampling with seed `seed + r`; rows stop at `length` tokens or a stop string
 * independently.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefixes Texts to continue (at least one).
 * @param options As {@linkcode generate}.
 * @returns One text per prefix, in order.
 * @throws {RangeError} As {@linkcode generate}, or when there are no prefixes.
 * @example Two prefixes in one batch
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateBatch } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8, activation: "tanh" });
 * const [a, b] = generateBatch(model, vocab, ["分开", "不分开"], { length: 4 });
 * console.log(a === generate(model, vocab, "分开", { length: 4 })); // true
 * console.log(b === generate(model, vocab, "不分开", { length: 4 })); // true
 * ```
 */
export function generateBatch(
  model: RnnModel,
  vocab: Vocab,
  prefixes: readonly string[],
  options: GenerateOptions = {},
): string[] {
  if (prefixes.length === 0) throw new RangeError("prefixes must hold at least one prefix");
  const decoder = new Decoder(model, vocab, plan(vocab, prefixes, options));
  while (decoder.step());
  return decoder.texts();
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Generates as {@linkcode generate} does, handing out text as it is made: first the prefix (as
 * `generate` renders it), then each generated token (a word with a space before it), so the
 * pieces joined are `generate`'s text. Options are checked at the call; the model runs as the
 * stream is read. Between pieces the decoder keeps its state outside the shared workspace, so
 * other generation may run in between, and every `yieldEveryMs` it yields to the event loop.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue.
 * @param options As {@linkcode generate}, plus an abort signal and the yield interval.
 * @returns The pieces of text, in order.
 * @throws {RangeError} At the call, as {@linkcode generate}; the stream throws the signal's reason
 * when it is aborted.
 * @example Print tokens as they come
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateStream } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8, activation: "tanh" });
 * let text = "";
 * for await (const piece of generateStream(model, vocab, "分开", { length: 5 })) text += piece;
 * console.log(text === generate(model, vocab, "分开", { length: 5 })); // true
 * ```
 */
export function generateStream(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateStreamOptions = {},
): AsyncGenerator<string> {
  const p = plan(vocab, [prefix], options);
  const yieldEveryMs = options.yieldEveryMs ?? 10;
  if (typeof yieldEveryMs !== "number" || !(yieldEveryMs >= 0)) {
    throw new RangeError(`yieldEveryMs must be a number >= 0, got ${yieldEveryMs}`);
  }
  const signal = options.signal;
  return (async function* (): AsyncGenerator<string> {
    signal?.throwIfAborted();
    const decoder = new Decoder(model, vocab, p);
    decoder.suspend();
    yield decoder.prefixText(0);
    let since = performance.now();
    for (;;) {
      if (performance.now() - since >= yieldEveryMs) {
        await nextMacrotask();
        since = performance.now();
      }
      signal?.throwIfAborted();
      decoder.resume();
      const chunks = decoder.step();
      if (chunks === undefined) return;
      decoder.suspend();
      yield chunks[0]!;
    }
  })();
}

/**
 * {@linkcode generateStream} as a stream of UTF-8 bytes, for a `Response` body or a pipe. It
 * generates only as it is read (a high-water mark of 0), and cancelling it stops generation.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue.
 * @param options As {@linkcode generateStream}.
 * @returns The text's bytes.
 * @throws {RangeError} At the call, as {@linkcode generate}.
 * @example Serve generated text
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateReadableStream } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8, activation: "tanh" });
 * const body = generateReadableStream(model, vocab, "分开", { length: 5 });
 * const text = await new Response(body).text();
 * console.log(text === generate(model, vocab, "分开", { length: 5 })); // true
 * ```
 */
export function generateReadableStream(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateStreamOptions = {},
): ReadableStream<Uint8Array> {
  const pieces = generateStream(model, vocab, prefix, options);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await pieces.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await pieces.return(undefined);
    },
  }, { highWaterMark: 0 });
}
