/**
 * A corpus: the token indices a model trains on and the vocabulary they refer to, and the book's
 * preprocessing of raw text into characters. Pure functions; no permissions needed (loading files
 * is `io/corpus_files.ts`).
 *
 * @example Characters and indices from any text
 * ```ts
 * import { buildCorpus, preprocess } from "./corpus.ts";
 * const corpus = buildCorpus(preprocess("the time\nmachine"));
 * console.log(corpus.indices.length, corpus.vocab.size); // 16 9
 * ```
 *
 * @module
 */
import type { TextConfig } from "../config/settings.ts";
import { Vocab } from "./vocab.ts";

/**
 * Options of {@linkcode preprocess}.
 *
 * @example Keep the whole text
 * ```ts
 * import { preprocess, type PreprocessOptions } from "./corpus.ts";
 * const options: PreprocessOptions = { maxChars: 0 };
 * console.log(preprocess("a\nb", options).length); // 3
 * ```
 */
export interface PreprocessOptions {
  /** Keep this many characters (code points). Default `10000`, as in the book; `0` or `Infinity`: all. */
  maxChars?: number;
}

/**
 * A corpus: its vocabulary, its tokens as indices, and how its text became tokens (what a
 * checkpoint records, so prefixes and evaluation text are read the same way).
 *
 * @example Indices map back to characters
 * ```ts
 * import { buildCorpus, type Corpus } from "./corpus.ts";
 * const corpus: Corpus = buildCorpus(Array.from("abc"));
 * console.log(corpus.vocab.decode(corpus.indices)); // "abc"
 * ```
 */
export interface Corpus {
  /** The vocabulary the indices refer to. */
  readonly vocab: Vocab;
  /** The corpus's tokens, as indices into `vocab`. */
  readonly indices: Int32Array;
  /** The text settings it was built with. */
  readonly text: TextConfig;
}

/**
 * The book's preprocessing: every `"\n"` and every `"\r"` becomes a space, then the first
 * `maxChars` characters are kept. Characters are Unicode code points (`Array.from(text)`), not
 * UTF-16 code units.
 *
 * @param text The raw corpus text.
 * @param options `maxChars` (default 10000; `0` or `Infinity` keeps all).
 * @returns The characters, one code point per element.
 * @example The first characters of a text
 * ```ts
 * import { preprocess } from "./corpus.ts";
 * console.log(preprocess("想要有\n直升机", { maxChars: 5 }).join("")); // "想要有 直"
 * ```
 */
export function preprocess(text: string, options: PreprocessOptions = {}): string[] {
  if (typeof text !== "string") {
    throw new TypeError(`preprocess() needs the text as a string, got ${typeof text}`);
  }
  const maxChars = options.maxChars ?? 10000;
  if (
    typeof maxChars !== "number" ||
    !(maxChars === Infinity || (Number.isSafeInteger(maxChars) && maxChars >= 0))
  ) {
    throw new RangeError(
      `maxChars must be a non-negative integer or Infinity, got ${maxChars}; use 0 or Infinity ` +
        "to keep the whole text",
    );
  }
  const limit = maxChars === 0 ? Infinity : maxChars;
  const chars: string[] = [];
  if (limit === 0) return chars;
  for (const ch of text) {
    chars.push(ch === "\n" || ch === "\r" ? " " : ch);
    if (chars.length >= limit) break;
  }
  return chars;
}

/**
 * Builds a corpus from tokens: the vocabulary (by frequency, see `Vocab.fromTokens`) unless one is
 * given, and the index of every token.
 *
 * @param chars The tokens, e.g. characters from {@linkcode preprocess}.
 * @param vocab A vocabulary to encode with (e.g. a checkpoint's); an unknown token is the
 * `UsageError` of `Vocab.toIndices`, naming every unknown token.
 * @returns The vocabulary, the indices, and the text settings of characters as they are (with
 * `maxTokens` 0: the tokens given are all kept).
 * @example A corpus from a short text
 * ```ts
 * import { buildCorpus } from "./corpus.ts";
 * const { vocab, indices } = buildCorpus(Array.from("abba"));
 * console.log(vocab.tokens, indices); // ["a", "b"] Int32Array [0, 1, 1, 0]
 * ```
 */
export function buildCorpus(chars: readonly string[], vocab?: Vocab): Corpus {
  if (!Array.isArray(chars)) {
    throw new TypeError(
      "buildCorpus() needs an array of characters; split text with Array.from(text) or preprocess()",
    );
  }
  if (vocab !== undefined && !(vocab instanceof Vocab)) {
    throw new TypeError("buildCorpus(): vocab must be a Vocab (use Vocab.fromJSON for saved ones)");
  }
  const v = vocab ?? Vocab.fromTokens(chars);
  const text = { tokens: "char", normalize: "none", maxTokens: 0, minFreq: 0 } as const;
  return { vocab: v, indices: v.toIndices(chars), text };
}
