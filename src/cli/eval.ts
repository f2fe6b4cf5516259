/**
 * The `eval` command: a checkpoint's perplexity over a text, read as its training text was.
 *
 * @module
 */
import { resolveTextConfig } from "../config/settings.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { loadText } from "../io/corpus_files.ts";
import { textCorpus } from "../text/text.ts";
import { evaluate } from "../train/evaluate.ts";
import { type CommandFlags, parseFlags, pathFlag } from "./args.ts";

/** The flags of `eval`. */
export const EVAL_FLAGS: CommandFlags = {
  settings: ["corpus", "maxTokens"],
  own: {
    model: { type: "string", value: "FILE", help: "the checkpoint to load (required)" },
  },
  defaults: { maxTokens: "the model's" },
};

/**
 * Runs `eval`: the text is read once in order, batch 1, tokenised as the model's training text.
 *
 * @param args The arguments after `eval`.
 * @returns The exit code, 0.
 */
export async function runEval(args: string[]): Promise<number> {
  const { settings, own } = parseFlags(args, EVAL_FLAGS);
  const path = pathFlag("model", own.model, "FILE (a checkpoint)");
  const { model, vocab, text } = await loadCheckpoint(path);
  const raw = await loadText((settings.corpus as string | undefined) ?? "jaychou", {
    onMessage: (line) => console.error(line),
  });
  // The model's own tokenisation; --max-tokens may differ from its training run's.
  const config = resolveTextConfig({ ...text, minFreq: 0, ...settings });
  const result = await evaluate(model, textCorpus(raw, config, vocab).indices);
  console.log(
    `perplexity ${result.perplexity.toFixed(4)} over ${result.predictions} predictions ` +
      `(loss ${result.loss.toFixed(4)} nats)`,
  );
  return 0;
}
