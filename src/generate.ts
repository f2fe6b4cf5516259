/**
 * Greedy generation, as in the book's `predict_rnn`: run the prefix through the network, then
 * repeatedly append the most likely next character and feed it back.
 *
 * @module
 */
import {
  carryState,
  forwardHidden,
  forwardLogits,
  resetState,
  type RnnModel,
  sharedWorkspace,
  writeTokens,
} from "./model.ts";
import { CHAR_TEXT, joinTokens, type TextSettings, textTokens } from "./text.ts";
import type { Vocab } from "./vocab.ts";

/** Settings of {@linkcode generate}. */
export interface GenerateOptions {
  /** Tokens (characters, or words) to generate after the prefix; default 50. */
  length?: number;
  /** How the model's text was tokenised (a checkpoint's `text`); default characters. */
  text?: TextSettings;
}

/**
 * Splits a prefix into tokens as the training text was split (words normalised like the corpus;
 * characters as typed) and checks that the vocabulary holds every one.
 *
 * @param prefix Text to continue.
 * @param vocab The model's vocabulary.
 * @param text How the training text was tokenised; default characters.
 * @returns The prefix's tokens.
 * @throws {RangeError} When the prefix is empty or holds tokens the vocabulary lacks (named).
 * @example Words of a prefix
 * ```ts
 * import { prefixTokens } from "./generate.ts";
 * import { Vocab } from "./vocab.ts";
 * const vocab = Vocab.build(["the", "time", "traveller"]);
 * console.log(prefixTokens("The Time", vocab, { tokens: "word", normalize: "letters" })); // ["the", "time"]
 * ```
 */
export function prefixTokens(
  prefix: string,
  vocab: Vocab,
  text: TextSettings = CHAR_TEXT,
): string[] {
  const given = text.tokens === "word" ? textTokens(prefix, text) : Array.from(prefix);
  if (given.length === 0) throw new RangeError("the prefix is empty; give at least one token");
  const missing = vocab.missing(given);
  if (missing.length > 0) {
    throw new RangeError(
      `the prefix "${prefix}" holds ${text.tokens === "word" ? "words" : "characters"} the ` +
        `vocabulary lacks: ${missing.map((c) => JSON.stringify(c)).join(", ")}`,
    );
  }
  return given;
}

/**
 * Continues `prefix` with `length` characters, choosing the most likely one each step (greedy).
 * The state after the prefix is computed in one pass over it.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue; every character must be in the vocabulary.
 * @param options Number of characters.
 * @returns The prefix followed by the generated tokens (words joined with spaces).
 * @throws {RangeError} When the prefix is empty or holds characters the vocabulary lacks.
 * @example Continue a prefix
 * ```ts
 * import { buildCorpus } from "./corpus.ts";
 * import { createModel } from "./model.ts";
 * import { generate } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8, activation: "tanh" });
 * console.log(Array.from(generate(model, vocab, "分开", { length: 3 })).length); // 5
 * ```
 */
export function generate(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateOptions = {},
): string {
  const length = options.length ?? 50;
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`length must be an integer >= 0, got ${length}`);
  }
  const text = options.text ?? CHAR_TEXT;
  const given = prefixTokens(prefix, vocab, text);
  const be = model.backend;
  const tokens = Array.from(vocab.encode(given));
  const ws = sharedWorkspace(model, Math.max(1, tokens.length - 1), 1);
  resetState(model, ws);
  if (tokens.length > 1) {
    writeTokens(model, ws, tokens.slice(0, -1), tokens.length - 1, "inputs");
    forwardHidden(model, ws, tokens.length - 1);
    carryState(model, ws, tokens.length - 1);
  }
  const input = [tokens[tokens.length - 1]];
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    writeTokens(model, ws, input, 1, "inputs");
    forwardHidden(model, ws, 1);
    const logits = be.read(forwardLogits(model, ws, 1));
    carryState(model, ws, 1);
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    out.push(best);
    input[0] = best;
  }
  return joinTokens([...given, ...Array.from(out, (i) => vocab.tokenAt(i))], text);
}
