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
import type { Vocab } from "./vocab.ts";

/** Settings of {@linkcode generate}. */
export interface GenerateOptions {
  /** Characters to generate after the prefix; default 50. */
  length?: number;
}

/**
 * Continues `prefix` with `length` characters, choosing the most likely one each step (greedy).
 * The state after the prefix is computed in one pass over it.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue; every character must be in the vocabulary.
 * @param options Number of characters.
 * @returns The prefix followed by the generated characters.
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
  const chars = Array.from(prefix);
  if (chars.length === 0) throw new RangeError("the prefix is empty; give at least one character");
  const missing = vocab.missing(chars);
  if (missing.length > 0) {
    throw new RangeError(
      `the prefix holds characters the model's vocabulary lacks: ${
        missing.map((c) => JSON.stringify(c)).join(", ")
      }`,
    );
  }
  const be = model.backend;
  const tokens = Array.from(vocab.encode(chars));
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
  return prefix + vocab.decode(out);
}
