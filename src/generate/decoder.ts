/**
 * The one decoder behind every form of generation. It owns its state: a workspace acquired from
 * the model for its whole life (given back by {@linkcode Decoder.close}), the generators and the
 * text so far, so streams in flight never share or copy state. Rows are left-aligned: the tokens
 * every prefix has go through the network in one call; after that each step feeds every row at
 * once, the next prefix token to a row still inside its prefix (teacher forcing), else the token
 * it chose.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import {
  carryState,
  forwardHidden,
  forwardLogits,
  resetState,
  writeTokens,
} from "../model/forward.ts";
import type { IndexBuf } from "../backend/types.ts";
import type { RnnModel } from "../model/model.ts";
import type { Workspace } from "../model/workspace.ts";
import { Rng } from "../rng.ts";
import { joinTokens, prefixTokens, type Tokenization } from "../text/text.ts";
import type { Vocab } from "../text/vocab.ts";
import { checkSampling, pick, type SampleOptions, type Sampling } from "./sample.ts";

/** What a decoder needs beyond the prefixes, checked once when it is planned. */
export interface DecodeOptions extends SampleOptions {
  /** Tokens to generate after each prefix, at most {@linkcode MAX_LENGTH}; default 50. */
  length?: number;
  /** How the model's text was tokenised; default characters as they are. */
  text?: Tokenization;
  /** Seed of the sampler; row `r` samples with `seed + r`; default 0. */
  seed?: number;
  /** Strings that end a row's generation once its generated text ends with one. */
  stop?: readonly string[];
  /** Prefix tokens the vocabulary lacks: an error (default), or `<unk>` in their place. */
  unknown?: "error" | "unk";
}

/** Everything checked before the model runs: one row per prefix. */
export interface Plan {
  readonly rows: readonly { given: string[]; tokens: Int32Array }[];
  readonly length: number;
  readonly text: Tokenization;
  readonly sampling: Sampling;
  readonly seed: number;
  readonly stop: readonly string[];
}

const CHARS: Tokenization = { tokens: "char", normalize: "none" };

/** Greedy steps a WebGPU backend runs before reading their choices back. */
const AHEAD = 32;

/** The most tokens one call generates: its text is kept whole, so it must stay bounded. */
export const MAX_LENGTH = 1_000_000;

/**
 * Checks the options and splits every prefix into indices.
 *
 * @throws {UsageError} When an option is out of range or a prefix holds unknown tokens (named).
 */
export function plan(vocab: Vocab, prefixes: readonly string[], options: DecodeOptions): Plan {
  const length = options.length ?? 50;
  if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH) {
    throw new UsageError(
      `{length} must be an integer from 0 to ${MAX_LENGTH}, got ${length}` +
        (length > MAX_LENGTH ? "; generate a long text in parts, each from the last's end" : ""),
    );
  }
  const sampling = checkSampling(options);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(seed + prefixes.length)) {
    throw new UsageError(`{seed} must be a safe integer, got ${seed}`);
  }
  const stop = options.stop ?? [];
  if (!Array.isArray(stop)) throw new UsageError("{stop} must be an array of strings");
  for (const s of stop) {
    if (typeof s !== "string" || s.length === 0) {
      throw new UsageError(`{stop} strings must be non-empty strings, got ${JSON.stringify(s)}`);
    }
  }
  const text = options.text ?? CHARS, unknown = options.unknown ?? "error";
  const rows = prefixes.map((prefix) => {
    const given = prefixTokens(prefix, vocab, text, unknown);
    return { given, tokens: unknown === "unk" ? vocab.toIndices(given) : vocab.encode(given) };
  });
  return { rows, length, text, sampling, seed, stop };
}

/** A generation in progress; see the module doc. */
export class Decoder {
  readonly #model: RnnModel;
  readonly #vocab: Vocab;
  readonly #plan: Plan;
  #ws: Workspace | undefined;
  /** The position of the current inputs in each row's sequence. */
  #t: number;
  readonly #inputs: Int32Array;
  readonly #rngs: Rng[];
  readonly #out: string[][];
  readonly #generated: string[];
  readonly #done: boolean[];
  /** The last step's logits [B,V], reused by the next step (when sampling). */
  #logits: Float32Array | Float64Array | undefined;
  /** The last step's greedy choice of each row (when not sampling). */
  readonly #choices: Int32Array;
  /** Greedy choices the backend made ahead of the steps that report them, oldest first. */
  readonly #ahead: Int32Array[] = [];
  /** Where the backend writes its choices when it runs ahead [AHEAD, B]. */
  #history: IndexBuf | undefined;

  /**
   * Runs the prefixes' common part through the model.
   *
   * @param model The model.
   * @param vocab Its vocabulary.
   * @param p The plan (see {@linkcode plan}).
   */
  constructor(model: RnnModel, vocab: Vocab, p: Plan) {
    this.#model = model;
    this.#vocab = vocab;
    this.#plan = p;
    const B = p.rows.length, shortest = Math.min(...p.rows.map((r) => r.tokens.length));
    const ws = this.#ws = model.acquireWorkspace(Math.max(1, shortest - 1), B);
    resetState(model, ws);
    if (shortest > 1) {
      const steps = shortest - 1, common = new Int32Array(B * steps);
      p.rows.forEach((r, i) => common.set(r.tokens.subarray(0, steps), i * steps));
      writeTokens(model, ws, common, steps, "inputs");
      forwardHidden(model, ws, steps, undefined, model.prepared());
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

  /**
   * The prefix of row `r` as the returned text begins.
   *
   * @param r The row.
   * @returns Its prefix's tokens joined.
   */
  prefixText(r: number): string {
    return joinTokens(this.#plan.rows[r].given, this.#plan.text);
  }

  /**
   * The whole text of every row so far.
   *
   * @returns One text per row.
   */
  texts(): string[] {
    return this.#plan.rows.map((r, i) =>
      joinTokens([...r.given, ...this.#out[i]], this.#plan.text)
    );
  }

  /**
   * Runs one step for every row.
   *
   * @returns Each row's new text (`undefined` for a row still in its prefix or already done), or
   * `undefined` when every row is done.
   */
  async step(): Promise<(string | undefined)[] | undefined> {
    const ws = this.#ws;
    if (!ws || this.#done.every((d) => d)) return undefined;
    const model = this.#model, be = model.backend, p = this.#plan, B = p.rows.length;
    const V = model.config.vocabSize, greedy = p.sampling.temperature === 0;
    let logits: Float32Array | Float64Array | undefined;
    if (greedy && this.#ahead.length === 0 && this.#canRunAhead()) await this.#runAhead();
    if (this.#ahead.length > 0) {
      this.#choices.set(this.#ahead.shift()!);
    } else {
      const prepared = model.prepared();
      writeTokens(model, ws, this.#inputs, 1, "inputs");
      forwardHidden(model, ws, 1, undefined, prepared);
      const out = forwardLogits(model, ws, 1, prepared);
      // Greedy rows need only each row's argmax, chosen by the backend; sampling reads the
      // logits (into one array for every step).
      if (greedy) be.argmaxRows(ws.choices, out, B, V);
      carryState(model, ws, 1);
      if (greedy) await be.readIndices(ws.choices, this.#choices);
      else logits = this.#logits = await be.read(out, this.#logits);
    }
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

  /**
   * Whether the backend should run greedy steps ahead: on WebGPU, whose every read is a round
   * trip through the queue, once every row is past its prefix (no more teacher forcing).
   */
  #canRunAhead(): boolean {
    const next = this.#t + 1;
    return this.#model.backend.name === "webgpu" &&
      this.#plan.rows.every((r) => next >= r.tokens.length);
  }

  /**
   * Runs up to {@linkcode AHEAD} greedy steps on the backend, each step's choices its next
   * inputs, and reads them back at once into {@linkcode Decoder.#ahead}. The rows do not mix, so
   * a row that stops early only wastes its extra steps; the text is the same.
   */
  async #runAhead(): Promise<void> {
    const model = this.#model, be = model.backend, ws = this.#ws!, p = this.#plan;
    const B = p.rows.length, V = model.config.vocabSize, prepared = model.prepared();
    const left = Math.max(
      ...p.rows.map((_, r) => this.#done[r] ? 0 : p.length - this.#out[r].length),
    );
    const steps = Math.min(AHEAD, left);
    this.#history ??= be.allocIndices(AHEAD * B);
    writeTokens(model, ws, this.#inputs, 1, "inputs");
    for (let s = 0; s < steps; s++) {
      forwardHidden(model, ws, 1, undefined, prepared);
      const out = forwardLogits(model, ws, 1, prepared);
      be.argmaxRows(be.viewIndices(this.#history, s * B, B), out, B, V);
      be.argmaxRows(ws.inputs, out, B, V);
      carryState(model, ws, 1);
    }
    const chosen = await be.readIndices(be.viewIndices(this.#history, 0, steps * B));
    for (let s = 0; s < steps; s++) this.#ahead.push(chosen.subarray(s * B, (s + 1) * B));
  }

  /** Gives the workspace back to the model; the decoder cannot step afterwards. */
  close(): void {
    if (this.#ws) this.#model.releaseWorkspace(this.#ws);
    if (this.#history) this.#model.backend.free(this.#history);
    this.#ws = undefined;
    this.#history = undefined;
  }
}
