/**
 * Perplexity of a model over a whole text, read once in order with batch 1 and the state carried
 * from the first character: the measure the CLI's `eval` reports.
 *
 * @module
 */
import { STAT } from "../backend/types.ts";
import { UsageError } from "../errors.ts";
import { carryState, forwardLoss, resetState, writeTokens } from "../model/forward.ts";
import type { RnnModel } from "../model/model.ts";

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
 * const model = createModel({ vocabSize: 7, hidden: 4 }, { initScale: 0 });
 * console.log((await evaluate(model, Int32Array.of(1, 2, 3, 4))).perplexity); // 7
 * ```
 */
export async function evaluate(
  model: RnnModel,
  tokens: Int32Array,
  options: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const chunk = options.chunk ?? 256;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new UsageError(`{chunk} must be a positive integer, got ${chunk}`);
  }
  if (tokens.length < 2) {
    throw new UsageError(`evaluation needs at least 2 tokens, got ${tokens.length}`);
  }
  const ws = model.acquireWorkspace(chunk, 1), be = model.backend;
  try {
    be.fill(ws.stats, 0);
    resetState(model, ws);
    const predictions = tokens.length - 1;
    for (let start = 0; start < predictions; start += chunk) {
      const steps = Math.min(chunk, predictions - start);
      writeTokens(model, ws, tokens.subarray(start, start + steps), steps, "inputs");
      writeTokens(model, ws, tokens.subarray(start + 1, start + 1 + steps), steps, "targets");
      forwardLoss(model, ws, steps);
      carryState(model, ws, steps);
    }
    const loss = (await be.readScalars(ws.stats))[STAT.loss] / predictions;
    return { perplexity: Math.exp(loss), loss, predictions };
  } finally {
    model.releaseWorkspace(ws);
  }
}
