/**
 * From raw text to tokens, the two ways the book does it: the Chinese edition (Jay Chou: every
 * character, newlines as spaces) and the English edition (The Time Machine: letters only,
 * lower-cased, lines joined; characters or words). The settings travel with a checkpoint so that
 * generation and evaluation read text the way training did.
 *
 * @module
 */
import type { Corpus } from "./corpus.ts";
import { preprocess } from "./corpus.ts";
import { normalizeLetters, tokenize } from "./tokenize.ts";
import { Vocab } from "./vocab.ts";

/** How text becomes tokens. */
export interface TextSettings {
  /** `"char"`: every character is a token; `"word"`: whitespace-separated words. */
  tokens: "char" | "word";
  /**
   * `"none"`: keep every character, newlines become spaces (the Chinese edition);
   * `"letters"`: each line reduced to lower-case letters and single spaces, lines joined with no
   * separator for characters (the English edition's `read_time_machine`).
   */
  normalize: "none" | "letters";
}

/** The Chinese edition's settings: characters, nothing removed. */
export const CHAR_TEXT: Readonly<TextSettings> = Object.freeze({
  tokens: "char",
  normalize: "none",
});

/** Options of {@linkcode textCorpus}. */
export interface TextCorpusOptions {
  /** Keep the first N tokens; 0 keeps all; default 10000. */
  maxTokens?: number;
  /** Words seen fewer times become `<unk>` (word tokens only); default 0. */
  minFreq?: number;
  /** Encode with this vocabulary (a checkpoint's) instead of building one. */
  vocab?: Vocab;
}

function checkSettings(settings: TextSettings): void {
  if (settings.tokens !== "char" && settings.tokens !== "word") {
    throw new RangeError(`tokens must be "char" or "word", got ${JSON.stringify(settings.tokens)}`);
  }
  if (settings.normalize !== "none" && settings.normalize !== "letters") {
    throw new RangeError(
      `normalize must be "none" or "letters", got ${JSON.stringify(settings.normalize)}`,
    );
  }
}

/**
 * Splits text into tokens under the given settings.
 *
 * @param text The raw text.
 * @param settings Token kind and normalisation.
 * @returns The tokens, in order.
 * @example Words of the English edition
 * ```ts
 * import { textTokens } from "./text.ts";
 * console.log(textTokens("The Time\nMachine, by H. G. Wells", { tokens: "word", normalize: "letters" }));
 * // ["the", "time", "machine", "by", "h", "g", "wells"]
 * ```
 */
export function textTokens(text: string, settings: TextSettings): string[] {
  checkSettings(settings);
  if (settings.normalize === "letters") {
    return tokenize(normalizeLetters(text), settings.tokens).flat();
  }
  if (settings.tokens === "char") return preprocess(text, { maxChars: 0 });
  return text.split(/\s+/u).filter((w) => w.length > 0);
}

/**
 * Joins tokens back into text: characters as they are, words with single spaces.
 *
 * @param tokens The tokens.
 * @param settings Token kind.
 * @returns The text.
 * @example Words
 * ```ts
 * import { joinTokens } from "./text.ts";
 * console.log(joinTokens(["time", "traveller"], { tokens: "word", normalize: "letters" })); // "time traveller"
 * ```
 */
export function joinTokens(tokens: readonly string[], settings: TextSettings): string {
  return tokens.join(settings.tokens === "word" ? " " : "");
}

/**
 * Builds a corpus from raw text: tokens, a vocabulary and the index of every token. Characters
 * without normalisation get the Chinese edition's vocabulary (no `<unk>`, 1027 entries for the
 * Jay Chou run); the English edition's settings (letters, or words) get its vocabulary with
 * `<unk>` at index 0 (28 entries for The Time Machine's characters).
 *
 * @param text The raw text.
 * @param settings Token kind and normalisation.
 * @param options Token limit, minimum word frequency, or a vocabulary to encode with.
 * @returns The corpus (its `chars` are the tokens).
 * @example The Time Machine's way, on a short text
 * ```ts
 * import { textCorpus } from "./text.ts";
 * const corpus = textCorpus("A cat.\nA dog!", { tokens: "word", normalize: "letters" });
 * console.log(corpus.vocab.tokens, Array.from(corpus.indices)); // ["<unk>", "a", "cat", "dog"] [1, 2, 1, 3]
 * ```
 */
export function textCorpus(
  text: string,
  settings: TextSettings,
  options: TextCorpusOptions = {},
): Corpus {
  const maxTokens = options.maxTokens ?? 10000;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) {
    throw new RangeError(`maxTokens must be an integer >= 0, got ${maxTokens}`);
  }
  const all = textTokens(text, settings);
  const tokens = maxTokens > 0 ? all.slice(0, maxTokens) : all;
  const bookVocab = settings.tokens === "word" || settings.normalize === "letters";
  const vocab = options.vocab ??
    (bookVocab ? Vocab.build(tokens, { minFreq: options.minFreq ?? 0 }) : Vocab.fromTokens(tokens));
  // The English edition maps unseen tokens to <unk>; the Chinese edition's vocabulary has none,
  // so an unknown character is an error that names it.
  const indices = vocab.unk !== undefined ? vocab.toIndices(tokens) : vocab.encode(tokens);
  return { chars: tokens, vocab, indices };
}
