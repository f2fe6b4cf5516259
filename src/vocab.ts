/**
 * The vocabulary: a bijection between tokens and the indices 0 … size − 1.
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
    const ordered = [...counts.entries()].sort((x, y) => y[1] - x[1]).map(([token]) => token);
    return new Vocab(ordered);
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
   * @returns Their indices; a `RangeError` naming every unknown token when some are missing.
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
        throw new RangeError(
          `not in the vocabulary: ${unknown.map(quote).join(", ")}; ` +
            "build the vocabulary from this text (Vocab.fromTokens) or remove these tokens",
        );
      }
      out[i] = k;
    }
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

/** Names the kind of a value for a TypeError message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${quote(value)}`;
  return typeof value === "object"
    ? `an object (${value.constructor?.name ?? "Object"})`
    : typeof value;
}
