/**
 * The `eval` command: a checkpoint's perplexity over a text, read as its training text was.
 *
 * @module
 */
import type { Backend } from "../backend/types.ts";
import { resolveTextConfig } from "../config/settings.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { loadText } from "../io/corpus_files.ts";
import { UsageError } from "../errors.ts";
import { textTokens } from "../text/text.ts";
import { namedCorpus } from "./corpus.ts";
import { evaluate } from "../train/evaluate.ts";
import { type CommandFlags, parseFlags, pathFlag } from "./args.ts";
import { BACKEND_FLAGS, commandBackend } from "./backend.ts";

/** The flags of `eval`. */
export const EVAL_FLAGS: CommandFlags = {
  settings: ["corpus", "maxTokens"],
  own: {
    model: { type: "string", value: "FILE", help: "the checkpoint to load (required)" },
    backend: {
      ...BACKEND_FLAGS.backend,
      help: "auto and wasm: WASM (one sequence, step by step); webgpu: any adapter [auto]",
    },
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
  const { backend } = await commandBackend(own, false);
  try {
    return await evalOn(path, settings, backend);
  } finally {
    backend?.dispose();
  }
}

/** `eval` on a backend. */
async function evalOn(
  path: string,
  settings: Record<string, unknown>,
  backend: Backend | undefined,
): Promise<number> {
  const { model, vocab, text } = await loadCheckpoint(path, { backend });
  const corpusName = (settings.corpus as string | undefined) ?? "jaychou";
  const raw = await loadText(corpusName, { onMessage: (line) => console.error(line) });
  // The model's own tokenisation; --max-tokens may differ from its training run's.
  const config = resolveTextConfig({ ...text, minFreq: 0, ...settings });
  // Without <unk> (the Chinese edition's vocabulary) an unseen token cannot be scored.
  if (vocab.unk === undefined) {
    const all = textTokens(raw, config);
    const missing = vocab.missing(config.maxTokens > 0 ? all.slice(0, config.maxTokens) : all);
    if (missing.length > 0) {
      throw new UsageError(
        `the text holds ${missing.length} tokens the model's vocabulary lacks (first: ${
          missing.slice(0, 10).map((c) => JSON.stringify(c)).join(", ")
        }); evaluate on text like the model's training text`,
      );
    }
  }
  const result = await evaluate(model, namedCorpus(corpusName, raw, config, vocab).indices);
  console.log(
    `perplexity ${result.perplexity.toFixed(4)} over ${result.predictions} predictions ` +
      `(loss ${result.loss.toFixed(4)} nats)`,
  );
  return 0;
}
