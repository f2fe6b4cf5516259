/**
 * The vocabulary: a bijection between tokens and the indices 0 … size − 1.
 *
 * Two ways to build one from text: {@linkcode Vocab.fromTokens} (the distinct tokens by
 * frequency; every token must be known when encoding, as the character models need) and
 * {@linkcode Vocab.build} (the book's `Vocab`: `<unk>` at index 0 and reserved tokens first, rare
 * tokens optionally left out and mapped to `<unk>`).
 *
 * For the character-level models a token is one Unicode code point, never a UTF-16 code unit:
 * split text with `Array.from(text)` (or `preprocess()` in `corpus.ts`), not with
 * `text.split("")`, so that characters outside the Basic Multilingual Plane stay whole.
 *
 * @example Build, encode, decode
 * ```ts
 * import { Vocab } from "./vocab.ts";
 * const vocab = Vocab.fromTokens(Array.from("hello"));
 * console.log(vocab.decode(vocab.encode(Array.from("hole")))); // "hole"
 * ```
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The book's unknown token: index 0 of every vocabulary made by {@linkcode Vocab.build}. */
const UNK = "<unk>";

/**
 * Options of {@linkcode Vocab.build}, the book's `Vocab(tokens, min_freq, reserved_tokens)`.
 *
 * @example Keep tokens seen at least twice, reserve a padding token
 * ```ts
 * import { Vocab, type VocabOptions } from "./vocab.ts";
 * const options: VocabOptions = { minFreq: 2, reserved: ["<pad>"] };
 * console.log(Vocab.build(["a", "b", "a"], options).tokens); // ["<unk>", "<pad>", "a"]
 * ```
 */
export interface VocabOptions {
  /** Leave out tokens seen fewer times than this (they map to `<unk>`); default 0 keeps all. */
  minFreq?: number;
  /** Tokens placed right after `<unk>`, in this order, whether or not they occur; default none. */
  reserved?: string[];
}

/** Quotes a token for an error message (JSON escapes make spaces and control characters visible). */
function quote(token: string): string {
  return JSON.stringify(token);
}

/**
 * A token vocabulary with index lookup in both directions.
 *
 * @example Characters of a text, most frequent first
 * ```ts
 * import { Vocab } from "./vocab.ts";
 * const vocab = Vocab.fromTokens(Array.from("abracadabra"));
 * console.log(vocab.tokens.join("")); // "abrcd"
 * console.log(vocab.indexOf("r")); // 2
 * ```
 */
export class Vocab {
  /** The tokens in index order (frozen). */
  readonly tokens: readonly string[];
  readonly #index: Map<string, number>;
  // Set only by the builders that count tokens; the JSON form keeps just the tokens.
  #tokenFreqs: readonly (readonly [string, number])[] | undefined;

  /**
   * Creates a vocabulary whose index order is the order of `tokens`.
   *
   * @param tokens Distinct strings; token `i` gets index `i`. A duplicate is a `TypeError`.
   * @returns A vocabulary of `tokens.length` entries.
   * @example A fixed alphabet
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const vocab = new Vocab(["a", "b", "c"]);
   * console.log(vocab.indexOf("c")); // 2
   * ```
   */
  constructor(tokens: readonly string[]) {
    if (!Array.isArray(tokens)) {
      throw new TypeError(
        `Vocab tokens must be an array of strings, got ${describe(tokens)}; ` +
          "use Vocab.fromTokens() for other iterables",
      );
    }
    const index = new Map<string, number>();
    tokens.forEach((token, i) => {
      if (typeof token !== "string") {
        throw new TypeError(`Vocab token ${i} must be a string, got ${describe(token)}`);
      }
      const first = index.get(token);
      if (first !== undefined) {
        throw new TypeError(
          `Vocab tokens must be unique: ${quote(token)} is at index ${first} and ${i}; ` +
            "remove the duplicate or use Vocab.fromTokens() to count tokens",
        );
      }
      index.set(token, i);
    });
    this.tokens = Object.freeze([...tokens]);
    this.#index = index;
  }

  /**
   * Builds a vocabulary from a token stream, ordered by frequency (most frequent first); tokens of
   * equal frequency keep the order in which they first appear, so the result is deterministic.
   *
   * @param tokens The token stream, e.g. `Array.from(text)` for characters.
   * @returns A vocabulary of the distinct tokens.
   * @example Ties keep first appearance
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(Vocab.fromTokens(["b", "a", "a", "b", "c"]).tokens.join("")); // "bac"
   * ```
   */
  static fromTokens(tokens: Iterable<string>): Vocab {
    if (tokens == null || typeof (tokens as Iterable<string>)[Symbol.iterator] !== "function") {
      throw new TypeError(
        `Vocab.fromTokens() needs an iterable of strings, got ${describe(tokens)}`,
      );
    }
    // A Map iterates in insertion order, i.e. first appearance; the sort below is stable.
    const counts = new Map<string, number>();
    let i = 0;
    for (const token of tokens) {
      if (typeof token !== "string") {
        throw new TypeError(
          `Vocab.fromTokens(): token ${i} must be a string, got ${describe(token)}`,
        );
      }
      counts.set(token, (counts.get(token) ?? 0) + 1);
      i++;
    }
    const freqs = sortedFreqs(counts);
    const vocab = new Vocab(freqs.map(([token]) => token));
    vocab.#tokenFreqs = freqs;
    return vocab;
  }

  /**
   * The book's `Vocab(tokens, min_freq, reserved_tokens)` (Dive into Deep Learning, "Text
   * Preprocessing", 2nd edition): `<unk>` at index 0, then the reserved tokens, then every token
   * seen at least `minFreq` times, most frequent first, ties in order of first appearance (the
   * order of Python's stable sort of a `Counter`). A token already placed (a reserved one, or
   * `<unk>` itself in the text) is not repeated. Tokens left out map to `<unk>` in
   * {@linkcode Vocab.toIndices}.
   *
   * (The book's later revision sorts the tokens alphabetically instead; this is the
   * frequency order of the edition the figures here come from.)
   *
   * @param tokens A token stream, or lines of tokens (each element a string token or an iterable
   * of string tokens; lines are concatenated, as the book flattens a 2-D list).
   * @param options `minFreq` (default 0) and `reserved` (default none); `reserved` must not hold
   * `<unk>` or duplicates (a `TypeError`), `minFreq` must be a non-negative integer (a
   * `RangeError`).
   * @returns The vocabulary, with {@linkcode Vocab.tokenFreqs} set and {@linkcode Vocab.unk} 0.
   * @example Words of two lines, rare ones dropped
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const vocab = Vocab.build([["the", "time"], ["the", "machine"]], { minFreq: 2 });
   * console.log(vocab.tokens); // ["<unk>", "the"]
   * console.log(vocab.toIndices(["the", "machine"])); // Int32Array [1, 0]
   * ```
   */
  static build(
    tokens: Iterable<string> | Iterable<Iterable<string>>,
    options: VocabOptions = {},
  ): Vocab {
    if (tokens == null || typeof (tokens as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(
        `Vocab.build() needs an iterable of tokens or of token lines, got ${describe(tokens)}`,
      );
    }
    const minFreq = options.minFreq ?? 0;
    if (typeof minFreq !== "number" || !Number.isSafeInteger(minFreq) || minFreq < 0) {
      throw new RangeError(
        `Vocab.build(): minFreq must be a non-negative integer, got ${String(minFreq)}; ` +
          "use 0 (the default) to keep every token",
      );
    }
    const reserved = options.reserved ?? [];
    if (!Array.isArray(reserved)) {
      throw new TypeError(
        `Vocab.build(): reserved must be an array of strings, got ${describe(reserved)}`,
      );
    }
    reserved.forEach((token, i) => {
      if (typeof token !== "string") {
        throw new TypeError(
          `Vocab.build(): reserved token ${i} must be a string, got ${describe(token)}`,
        );
      }
      if (token === UNK) {
        throw new TypeError(
          `Vocab.build(): reserved token ${i} is "<unk>", which is always index 0; remove it`,
        );
      }
      const first = reserved.indexOf(token);
      if (first !== i) {
        // Indices as in the vocabulary, where <unk> comes first.
        const at = `index ${first + 1} and ${i + 1}`;
        throw new TypeError(
          `Vocab.build(): reserved tokens must be unique: ${quote(token)} is at ${at}; ` +
            "remove the duplicate",
        );
      }
    });
    const counts = new Map<string, number>();
    // The position goes in only when a token is wrong, so counting builds no strings.
    const count = (token: unknown, i: number, line?: number): void => {
      if (typeof token !== "string") {
        const where = line === undefined ? `element ${i}` : `token ${i} of line ${line}`;
        throw new TypeError(
          `Vocab.build(): ${where} must be a string token, got ${describe(token)}`,
        );
      }
      counts.set(token, (counts.get(token) ?? 0) + 1);
    };
    let i = 0;
    for (const item of tokens as Iterable<unknown>) {
      if (
        item != null && typeof item !== "string" &&
        typeof (item as Iterable<unknown>)[Symbol.iterator] === "function"
      ) {
        let j = 0;
        for (const token of item as Iterable<unknown>) count(token, j++, i);
      } else {
        count(item, i);
      }
      i++;
    }
    const freqs = sortedFreqs(counts);
    // Placed tokens go in a Set so that a reserved token met again in the text is not repeated.
    const placed = new Set([UNK, ...reserved]);
    for (const [token, freq] of freqs) {
      if (freq >= minFreq) placed.add(token);
    }
    const vocab = new Vocab([...placed]);
    vocab.#tokenFreqs = freqs;
    return vocab;
  }

  /**
   * Restores a vocabulary saved with {@linkcode Vocab.toJSON} (e.g. from a checkpoint).
   *
   * @param value Parsed JSON: an array of unique strings.
   * @returns The vocabulary with the same index order.
   * @example Round trip through JSON
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const json = JSON.stringify(new Vocab(["x", "y"]));
   * console.log(Vocab.fromJSON(JSON.parse(json)).tokenAt(1)); // "y"
   * ```
   */
  static fromJSON(value: unknown): Vocab {
    if (!Array.isArray(value)) {
      throw new TypeError(
        `a saved vocabulary must be a JSON array of unique strings, got ${describe(value)}`,
      );
    }
    return new Vocab(value);
  }

  /**
   * The number of tokens.
   *
   * @returns The vocabulary size `V`.
   * @example Size
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(new Vocab(["a", "b"]).size); // 2
   * ```
   */
  get size(): number {
    return this.tokens.length;
  }

  /**
   * The index of the unknown token: 0 when the first token is `"<unk>"` (every vocabulary made
   * by {@linkcode Vocab.build}, also after a round trip through JSON), else `undefined`.
   *
   * @returns 0 or `undefined`.
   * @example Built vocabularies have one, counted ones do not
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(Vocab.build(["a"]).unk, Vocab.fromTokens(["a"]).unk); // 0 undefined
   * ```
   */
  get unk(): number | undefined {
    return this.tokens[0] === UNK ? 0 : undefined;
  }

  /**
   * The `[token, count]` pairs the vocabulary was counted from, most frequent first, ties in
   * order of first appearance: the book's `token_freqs`. It lists every distinct token of the
   * input, including those `minFreq` left out. Only {@linkcode Vocab.build} and
   * {@linkcode Vocab.fromTokens} count tokens; otherwise (the constructor, `fromJSON`) it is
   * `undefined`.
   *
   * @returns The frozen pairs, or `undefined`.
   * @example The most frequent token
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(Vocab.build(Array.from("banana")).tokenFreqs?.[0]); // ["a", 3]
   * ```
   */
  get tokenFreqs(): readonly (readonly [string, number])[] | undefined {
    return this.#tokenFreqs;
  }

  /**
   * The index of a token.
   *
   * @param token The token to look up.
   * @returns Its index, or `-1` when the token is not in the vocabulary.
   * @example Known and unknown tokens
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const vocab = new Vocab(["a", "b"]);
   * console.log(vocab.indexOf("b"), vocab.indexOf("z")); // 1 -1
   * ```
   */
  indexOf(token: string): number {
    return this.#index.get(token) ?? -1;
  }

  /**
   * The token at an index.
   *
   * @param index An integer in [0, size).
   * @returns The token; a `RangeError` when the index is out of range.
   * @example Look up a token
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(new Vocab(["a", "b"]).tokenAt(0)); // "a"
   * ```
   */
  tokenAt(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.tokens.length) {
      throw new RangeError(
        `token index ${index} is out of range: the vocabulary has ${this.tokens.length} ` +
          `tokens, so indices are integers in [0, ${this.tokens.length})`,
      );
    }
    return this.tokens[index];
  }

  /**
   * The tokens of `tokens` that are not in the vocabulary.
   *
   * @param tokens The tokens to check.
   * @returns The unknown tokens, each once, in order of first appearance (empty when all known).
   * @example Find unknown characters before encoding
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(new Vocab(["a"]).missing(Array.from("abba!"))); // ["b", "!"]
   * ```
   */
  missing(tokens: readonly string[]): string[] {
    const seen = new Set<string>();
    for (const token of tokens) {
      if (!this.#index.has(token)) seen.add(token);
    }
    return [...seen];
  }

  /**
   * Maps tokens to their indices.
   *
   * @param tokens The tokens to encode, e.g. `Array.from(text)`.
   * @returns Their indices.
   * @throws {UsageError} Naming every unknown token when some are missing.
   * @example Encode characters
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(new Vocab(["a", "b"]).encode(["b", "a", "b"])); // Int32Array [1, 0, 1]
   * ```
   */
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const k = this.#index.get(tokens[i]);
      if (k === undefined) {
        const unknown = this.missing(tokens);
        throw new UsageError(
          `not in the vocabulary: ${unknown.map(quote).join(", ")}; ` +
            "build the vocabulary from this text (Vocab.fromTokens) or remove these tokens",
        );
      }
      out[i] = k;
    }
    return out;
  }

  /**
   * Maps tokens to their indices, unknown tokens to {@linkcode Vocab.unk}: the book's
   * `vocab[tokens]`. Use {@linkcode Vocab.encode} where an unknown token is a mistake.
   *
   * @param tokens The tokens to look up.
   * @returns Their indices.
   * @throws {UsageError} Naming every unknown token when some are unknown and the vocabulary has
   * no `<unk>`.
   * @example Unknown words become <unk>
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const vocab = Vocab.build(["the", "time", "the"]);
   * console.log(vocab.toIndices(["the", "machine"])); // Int32Array [1, 0]
   * ```
   */
  toIndices(tokens: Iterable<string>): Int32Array {
    const list = Array.isArray(tokens) ? tokens as readonly string[] : Array.from(tokens);
    const unk = this.unk;
    if (unk === undefined) {
      const unknown = this.missing(list);
      if (unknown.length > 0) {
        throw new UsageError(
          `not in the vocabulary, which has no "<unk>": ${unknown.map(quote).join(", ")}; ` +
            "build it with Vocab.build() to map unknown tokens to <unk>, or remove these tokens",
        );
      }
    }
    // Without <unk> every token is known by now, so the fallback is never used.
    const fallback = unk ?? -1;
    const out = new Int32Array(list.length);
    for (let i = 0; i < list.length; i++) out[i] = this.#index.get(list[i]) ?? fallback;
    return out;
  }

  /**
   * Maps indices back to tokens: the book's `to_tokens`.
   *
   * @param indices Token indices, each an integer in [0, size).
   * @returns The tokens; a `RangeError` when an index is out of range.
   * @example Indices to words
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * const vocab = Vocab.build(["the", "time", "the"]);
   * console.log(vocab.toTokens([1, 2, 0])); // ["the", "time", "<unk>"]
   * ```
   */
  toTokens(indices: ArrayLike<number>): string[] {
    const out: string[] = new Array(indices.length);
    for (let i = 0; i < indices.length; i++) out[i] = this.tokenAt(indices[i]);
    return out;
  }

  /**
   * Maps indices back to tokens and joins them with `""`.
   *
   * @param indices Token indices, each an integer in [0, size).
   * @returns The decoded text; a `RangeError` when an index is out of range.
   * @example Decode indices
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(new Vocab(["h", "i"]).decode([0, 1])); // "hi"
   * ```
   */
  decode(indices: ArrayLike<number>): string {
    let text = "";
    for (let i = 0; i < indices.length; i++) text += this.tokenAt(indices[i]);
    return text;
  }

  /**
   * The tokens in index order, for `JSON.stringify`.
   *
   * @returns A new array of the tokens.
   * @example Save a vocabulary
   * ```ts
   * import { Vocab } from "./vocab.ts";
   * console.log(JSON.stringify(new Vocab(["a", "b"]))); // '["a","b"]'
   * ```
   */
  toJSON(): string[] {
    return [...this.tokens];
  }
}

/**
 * The counts as `[token, count]` pairs, most frequent first. A Map iterates in insertion order,
 * i.e. first appearance, and Array.prototype.sort is stable, so ties keep that order.
 */
function sortedFreqs(counts: Map<string, number>): readonly (readonly [string, number])[] {
  const pairs = [...counts.entries()].sort((x, y) => y[1] - x[1]);
  return Object.freeze(pairs.map((pair) => Object.freeze(pair)));
}

/** Names the kind of a value for a TypeError message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${quote(value)}`;
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "Object"})`
    : typeof value;
}
