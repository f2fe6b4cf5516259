/**
 * From raw text to tokens, the two ways the book does it: the Chinese edition (Jay Chou: every
 * character, newlines as spaces) and the English edition (The Time Machine: letters only,
 * lower-cased, lines joined; characters or words). The settings (`TextConfig`) travel with a
 * checkpoint, so generation and evaluation read text the way training did.
 *
 * @module
 */
import { resolveTextConfig, type TextConfig } from "../config/settings.ts";
import { CorpusError, UsageError } from "../errors.ts";
import { type Corpus, preprocess } from "./corpus.ts";
import { normalizeLetters, tokenize } from "./tokenize.ts";
import { Vocab } from "./vocab.ts";

/** The two text settings that decide how text splits into tokens. */
export type Tokenization = Pick<TextConfig, "tokens" | "normalize">;

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
export function textTokens(text: string, settings: Tokenization): string[] {
  const { tokens, normalize } = resolveTextConfig({
    tokens: settings.tokens,
    normalize: settings.normalize,
  });
  if (normalize === "letters") return tokenize(normalizeLetters(text), tokens).flat();
  if (tokens === "char") return preprocess(text, { maxChars: 0 });
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
export function joinTokens(tokens: readonly string[], settings: Tokenization): string {
  return tokens.join(settings.tokens === "word" ? " " : "");
}

/**
 * Builds a corpus from raw text: tokens, a vocabulary and the index of every token. Characters
 * without normalisation get the Chinese edition's vocabulary (no `<unk>`, 1027 entries for the
 * Jay Chou run); the English edition's settings (letters, or words) get its vocabulary with
 * `<unk>` at index 0 (28 entries for The Time Machine's characters).
 *
 * @param text The raw text.
 * @param config Token kind, normalisation, token limit and minimum word frequency (defaults:
 * characters as they are, the first 10000).
 * @param vocab A vocabulary to encode with (a checkpoint's) instead of building one.
 * @returns The corpus.
 * @throws {UsageError} When a setting is out of range, or the text holds tokens a given
 * vocabulary without `<unk>` lacks (named).
 * @throws {CorpusError} When the text holds no tokens under these settings.
 * @example The Time Machine's way, on a short text
 * ```ts
 * import { textCorpus } from "./text.ts";
 * const corpus = textCorpus("A cat.\nA dog!", { tokens: "word", normalize: "letters" });
 * console.log(corpus.vocab.tokens, Array.from(corpus.indices)); // ["<unk>", "a", "cat", "dog"] [1, 2, 1, 3]
 * ```
 */
export function textCorpus(
  text: string,
  config: Readonly<Partial<TextConfig>> = {},
  vocab?: Vocab,
): Corpus {
  const settings = resolveTextConfig(config);
  const all = textTokens(text, settings);
  const tokens = settings.maxTokens > 0 ? all.slice(0, settings.maxTokens) : all;
  // Spaces alone are tokens of characters, but nothing to learn.
  if (tokens.length === 0 || text.trim() === "") {
    throw new CorpusError(
      text.trim() === ""
        ? "the text is empty; give a text with something to learn"
        : settings.normalize === "letters"
        ? "the text holds no letters a-z; give such a text, or keep every character " +
          '(normalize "none")'
        : "the text holds no tokens; give a text with some",
    );
  }
  const bookVocab = settings.tokens === "word" || settings.normalize === "letters";
  const v = vocab ??
    (bookVocab ? Vocab.build(tokens, { minFreq: settings.minFreq }) : Vocab.fromTokens(tokens));
  // The English edition maps unseen tokens to <unk>; the Chinese edition's vocabulary has none,
  // so an unknown character is an error that names it.
  return { vocab: v, indices: v.toIndices(tokens), text: settings };
}

/**
 * Splits a prefix into tokens as the training text was split (normalised the same way, for
 * characters as for words) and checks that the vocabulary holds every one.
 *
 * @param prefix Text to continue.
 * @param vocab The model's vocabulary.
 * @param settings How the training text was tokenised.
 * @param unknown `"error"` (default): tokens the vocabulary lacks are an error; `"unk"`: they are
 * allowed when the vocabulary has `<unk>` to stand for them.
 * @returns The prefix's tokens.
 * @throws {UsageError} When the prefix is empty or holds tokens the vocabulary lacks (named), with
 * `"unk"` only when the vocabulary has no `<unk>`.
 * @example Words of a prefix
 * ```ts
 * import { prefixTokens } from "./text.ts";
 * import { Vocab } from "./vocab.ts";
 * const vocab = Vocab.build(["the", "time", "traveller"]);
 * console.log(prefixTokens("The Time", vocab, { tokens: "word", normalize: "letters" })); // ["the", "time"]
 * ```
 */
export function prefixTokens(
  prefix: string,
  vocab: Vocab,
  settings: Tokenization,
  unknown: "error" | "unk" = "error",
): string[] {
  if (unknown !== "error" && unknown !== "unk") {
    throw new UsageError(`{unknown} must be one of error, unk, got ${JSON.stringify(unknown)}`);
  }
  // Read as the training text was, whatever the token kind: "The Time" is "the time" to a model
  // of the English edition's letters.
  const given = textTokens(prefix, settings);
  if (given.length === 0) throw new UsageError("the prefix is empty; give at least one token");
  const missing = vocab.missing(given);
  if (missing.length > 0 && (unknown === "error" || vocab.unk === undefined)) {
    throw new UsageError(
      `the prefix "${prefix}" holds ${settings.tokens === "word" ? "words" : "characters"} the ` +
        `vocabulary lacks: ${missing.map((c) => JSON.stringify(c)).join(", ")}` +
        (unknown === "unk" ? "; the vocabulary has no <unk> to stand for them" : ""),
    );
  }
  return given;
}
