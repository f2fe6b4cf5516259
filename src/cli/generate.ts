/**
 * The `generate` command: a checkpoint's model continues one or more prefixes, greedy (the
 * book's way) or sampled, printed whole or streamed.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { generateBatch, type GenerateOptions, generateStream } from "../generate/generate.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import type { RnnModel } from "../model/model.ts";
import type { Tokenization } from "../text/text.ts";
import type { Vocab } from "../text/vocab.ts";
import { type CommandFlags, intFlag, numberFlag, parseFlags, pathFlag } from "./args.ts";
import { BACKEND_FLAGS, commandBackend } from "./backend.ts";

/** The flags of `generate`, named as the options of `generate()`. */
export const GENERATE_FLAGS: CommandFlags = {
  settings: [],
  own: {
    model: { type: "string", value: "FILE", help: "the checkpoint to load (required)" },
    prefix: {
      type: "string",
      multiple: true,
      value: "TEXT",
      help: "text to continue; repeat it for several prefixes, one line each [分开]",
    },
    length: {
      type: "string",
      value: "N",
      help: "tokens (characters or words) to generate, at most 1000000 [50]",
    },
    temperature: {
      type: "string",
      value: "X",
      help: "sample from softmax(logits / X); 0 is greedy, the book's way [0]",
    },
    "top-k": { type: "string", value: "K", help: "when sampling, keep the K most likely tokens" },
    "top-p": {
      type: "string",
      value: "P",
      help: "when sampling, keep the likeliest tokens up to probability P [1]",
    },
    seed: { type: "string", value: "N", help: "seed of the sampler; prefix i uses N + i [0]" },
    stop: {
      type: "string",
      multiple: true,
      value: "S",
      help: "stop once the generated text ends with S (kept); repeat for several",
    },
    unknown: {
      type: "string",
      value: "error|unk",
      help: "prefix tokens the vocabulary lacks: an error, or <unk> in their place [error]",
    },
    stream: { type: "boolean", help: "print each token as it is generated" },
    backend: {
      ...BACKEND_FLAGS.backend,
      help: "auto: WebGPU for several prefixes on a hardware GPU, else WASM [auto]",
    },
  },
};

/**
 * Runs `generate`.
 *
 * @param args The arguments after `generate`.
 * @returns The exit code, 0.
 */
export async function runGenerate(args: string[]): Promise<number> {
  const { own } = parseFlags(args, GENERATE_FLAGS);
  const path = pathFlag("model", own.model, "FILE (a checkpoint)");
  const temperature = numberFlag("temperature", own.temperature, 0);
  const topK = own["top-k"] === undefined ? undefined : intFlag("top-k", own["top-k"], 1);
  const topP = own["top-p"] === undefined ? undefined : numberFlag("top-p", own["top-p"], 1);
  for (const [flag, given] of [["top-k", topK], ["top-p", topP]] as const) {
    if (given !== undefined && temperature === 0) {
      throw new UsageError(`--${flag} applies when sampling; add --temperature X (above 0)`);
    }
  }
  const stop = (own.stop as string[] | undefined) ?? [];
  if (stop.some((x) => x.length === 0)) throw new UsageError("--stop needs a non-empty string");
  const unknown = own.unknown ?? "error";
  if (unknown !== "error" && unknown !== "unk") {
    throw new UsageError(`--unknown must be one of error, unk, got ${JSON.stringify(unknown)}`);
  }
  const prefixes = (own.prefix as string[] | undefined) ?? ["分开"];
  const seed = intFlag("seed", own.seed, 0, 0);
  const options = {
    length: intFlag("length", own.length, 50, 0),
    temperature,
    topK,
    topP,
    seed,
    stop,
    unknown,
  } satisfies GenerateOptions;
  // One prefix at a time (a stream) is faster on the CPU's kernels than through a GPU's queue.
  const { backend } = await commandBackend(own, prefixes.length > 1 && own.stream !== true);
  try {
    const { model, vocab, text } = await loadCheckpoint(path, { backend });
    await print(model, vocab, text, prefixes, options, own.stream === true);
  } finally {
    backend?.dispose();
  }
  return 0;
}

/** Generates and prints, one line per prefix. */
async function print(
  model: RnnModel,
  vocab: Vocab,
  text: Tokenization,
  prefixes: string[],
  options: GenerateOptions & { seed: number },
  stream: boolean,
): Promise<void> {
  if (!stream) {
    for (const line of await generateBatch(model, vocab, prefixes, { ...options, text })) {
      console.log(line);
    }
    return;
  }
  // Streamed one prefix after another; prefix i samples with seed + i, as in the batch.
  const encoder = new TextEncoder();
  const streams = prefixes.map((p, i) =>
    generateStream(model, vocab, p, { ...options, text, seed: options.seed + i })
  );
  for (const pieces of streams) {
    for await (const piece of pieces) await Deno.stdout.write(encoder.encode(piece));
    await Deno.stdout.write(encoder.encode("\n"));
  }
}
