/**
 * Perplexity of a model over a whole text, read once in order with batch 1 and the state carried
 * from the first character: the measure the CLI's `eval` reports.
 *
 * @module
 */
import {
  carryState,
  forwardLoss,
  resetState,
  type RnnModel,
  sharedWorkspace,
  writeTokens,
} from "../model/model.ts";

/** Settings of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Steps run per kernel call; the result does not depend on it; default 256. */
  chunk?: number;
}

/** What {@linkcode evaluate} returns. */
export interface EvaluateResult {
  /** `exp` of the mean cross-entropy. */
  perplexity: number;
  /** Mean cross-entropy per predicted token (nats). */
  loss: number;
  /** Number of predictions: the token count minus one. */
  predictions: number;
}

/**
 * Scores `tokens` with the model: predicts each token from all the ones before it.
 *
 * @param model The model.
 * @param tokens The encoded text (at least two tokens).
 * @param options Chunk size.
 * @returns Perplexity, mean loss and the number of predictions.
 * @example A uniform model scores the vocabulary size
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { evaluate } from "./evaluate.ts";
 * const model = createModel({ vocabSize: 7, hidden: 4, activation: "tanh" }, { initScale: 0 });
 * console.log(evaluate(model, Int32Array.of(1, 2, 3, 4)).perplexity); // 7
 * ```
 */
export function evaluate(
  model: RnnModel,
  tokens: Int32Array,
  options: EvaluateOptions = {},
): EvaluateResult {
  const chunk = options.chunk ?? 256;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  }
  if (tokens.length < 2) {
    throw new RangeError(`evaluation needs at least 2 tokens, got ${tokens.length}`);
  }
  const ws = sharedWorkspace(model, chunk, 1);
  resetState(model, ws);
  const predictions = tokens.length - 1;
  let lossSum = 0;
  for (let start = 0; start < predictions; start += chunk) {
    const steps = Math.min(chunk, predictions - start);
    writeTokens(model, ws, tokens.subarray(start, start + steps), steps, "inputs");
    writeTokens(model, ws, tokens.subarray(start + 1, start + 1 + steps), steps, "targets");
    lossSum += forwardLoss(model, ws, steps);
    carryState(model, ws, steps);
  }
  const loss = lossSum / predictions;
  return { perplexity: Math.exp(loss), loss, predictions };
}
