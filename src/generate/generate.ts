/**
 * Generation: run the prefix through the network, then repeatedly choose the next token and feed
 * it back. Greedy by default, as the book's `predict_rnn` (the most likely token each step); with
 * a temperature it samples, optionally restricted to the top K tokens or the nucleus (top P).
 * {@linkcode generate} returns the whole text, {@linkcode generateStream} and
 * {@linkcode generateReadableStream} hand out each token as it is made, and
 * {@linkcode generateBatch} continues several prefixes at once in the same kernels. All four run
 * one decoder (`decoder.ts`), so they agree token for token.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { RnnModel } from "../model/model.ts";
import type { Tokenization } from "../text/text.ts";
import type { Vocab } from "../text/vocab.ts";
import { Decoder, plan } from "./decoder.ts";
import type { SampleOptions } from "./sample.ts";

/** Settings of {@linkcode generate}, {@linkcode generateBatch} and the streaming forms. */
export interface GenerateOptions extends SampleOptions {
  /** Tokens (characters, or words) to generate after the prefix, at most 1000000; default 50. */
  length?: number;
  /** How the model's text was tokenised (a checkpoint's `text`); default characters. */
  text?: Tokenization;
  /**
   * Seed of the sampler (a safe integer), used when `temperature` > 0; default 0, so a sample is
   * reproducible unless the seed changes. In a batch, row `r` samples with seed `seed + r`.
   */
  seed?: number;
  /**
   * Generation ends as soon as the generated text (after the prefix, rendered as returned: words
   * with a space before each) ends with one of these non-empty strings; the stop string is kept.
   * Default: none, so exactly `length` tokens.
   */
  stop?: readonly string[];
  /**
   * Prefix tokens the vocabulary lacks: `"error"` (the default) throws a `UsageError` naming
   * them; `"unk"` feeds `<unk>` in their place (the returned text keeps them as typed) and throws
   * only when the vocabulary has no `<unk>`.
   */
  unknown?: "error" | "unk";
}

/** Settings of {@linkcode generateStream} and {@linkcode generateReadableStream}. */
export interface GenerateStreamOptions extends GenerateOptions {
  /** Stops generation: the stream then throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Milliseconds of generation after which the stream yields to the event loop (a zero-delay
   * timer) so other tasks run; default 10. 0 yields after every token (a timer costs a few
   * milliseconds, so that is slower).
   */
  yieldEveryMs?: number;
}

/**
 * Continues `prefix` with `length` tokens: the most likely one each step (greedy, the default),
 * or sampled with `temperature`, `topK`, `topP` and `seed`; ends early at a `stop` string. The
 * state after the prefix is computed in one pass over it.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue; every token must be in the vocabulary (or see `unknown`).
 * @param options Length, text settings, sampling, stop strings, unknown tokens.
 * @returns The prefix followed by the generated tokens (words joined with spaces).
 * @throws {UsageError} When the prefix is empty, holds tokens the vocabulary lacks, or an option
 * is out of range (named).
 * @example Continue a prefix
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8 });
 * console.log(Array.from(await generate(model, vocab, "分开", { length: 3 })).length); // 5
 * const options = { length: 3, temperature: 0.8, seed: 1 };
 * const sample = await generate(model, vocab, "分开", options);
 * console.log(sample === await generate(model, vocab, "分开", options)); // true
 * ```
 */
export async function generate(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateOptions = {},
): Promise<string> {
  return (await generateBatch(model, vocab, [prefix], options))[0];
}

/**
 * Continues several prefixes at once: one batch of `prefixes.length` rows through the same
 * kernels, one forward call per step for all of them. Prefixes may differ in length: the part
 * every prefix has runs in one pass, then each row is fed the rest of its prefix (teacher forcing)
 * while shorter ones already generate. Each row's text is what {@linkcode generate} gives for its
 * prefix, row `r` sampling with seed `seed + r`; rows stop at `length` tokens or a stop string
 * independently.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefixes Texts to continue (at least one).
 * @param options As {@linkcode generate}.
 * @returns One text per prefix, in order.
 * @throws {UsageError} As {@linkcode generate}, or when there are no prefixes.
 * @example Two prefixes in one batch
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateBatch } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8 });
 * const [a, b] = await generateBatch(model, vocab, ["分开", "不分开"], { length: 4 });
 * console.log(a === await generate(model, vocab, "分开", { length: 4 })); // true
 * console.log(b === await generate(model, vocab, "不分开", { length: 4 })); // true
 * ```
 */
export async function generateBatch(
  model: RnnModel,
  vocab: Vocab,
  prefixes: readonly string[],
  options: GenerateOptions = {},
): Promise<string[]> {
  if (prefixes.length === 0) throw new UsageError("{prefixes} must hold at least one prefix");
  const decoder = new Decoder(model, vocab, plan(vocab, prefixes, options));
  try {
    while (await decoder.step());
    return decoder.texts();
  } finally {
    decoder.close();
  }
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Generates as {@linkcode generate} does, handing out text as it is made: first the prefix (as
 * `generate` renders it), then each generated token (a word with a space before it), so the
 * pieces joined are `generate`'s text. Options are checked at the call; the model runs as the
 * stream is read, in a workspace of its own (given back when the stream ends or is cancelled), so
 * other generation and training may run in between; every `yieldEveryMs` it yields to the event
 * loop.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue.
 * @param options As {@linkcode generate}, plus an abort signal and the yield interval.
 * @returns The pieces of text, in order.
 * @throws {UsageError} At the call, as {@linkcode generate}; the stream throws the signal's reason
 * when it is aborted.
 * @example Print tokens as they come
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateStream } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8 });
 * let text = "";
 * for await (const piece of generateStream(model, vocab, "分开", { length: 5 })) text += piece;
 * console.log(text === await generate(model, vocab, "分开", { length: 5 })); // true
 * ```
 */
export function generateStream(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateStreamOptions = {},
): AsyncGenerator<string> {
  const p = plan(vocab, [prefix], options);
  const yieldEveryMs = options.yieldEveryMs ?? 10;
  if (typeof yieldEveryMs !== "number" || !(yieldEveryMs >= 0)) {
    throw new UsageError(`{yieldEveryMs} must be a number >= 0, got ${yieldEveryMs}`);
  }
  const signal = options.signal;
  return (async function* (): AsyncGenerator<string> {
    signal?.throwIfAborted();
    const decoder = new Decoder(model, vocab, p);
    try {
      yield decoder.prefixText(0);
      let since = performance.now();
      for (;;) {
        if (performance.now() - since >= yieldEveryMs) {
          await nextMacrotask();
          since = performance.now();
        }
        signal?.throwIfAborted();
        const chunks = await decoder.step();
        if (chunks === undefined) return;
        yield chunks[0]!;
      }
    } finally {
      decoder.close();
    }
  })();
}

/**
 * {@linkcode generateStream} as a stream of UTF-8 bytes, for a `Response` body or a pipe. It
 * generates only as it is read (a high-water mark of 0), and cancelling it stops generation.
 *
 * @param model A trained model.
 * @param vocab The vocabulary the model was trained with.
 * @param prefix Text to continue.
 * @param options As {@linkcode generateStream}.
 * @returns The text's bytes.
 * @throws {UsageError} At the call, as {@linkcode generate}.
 * @example Serve generated text
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { createModel } from "../model/model.ts";
 * import { generate, generateReadableStream } from "./generate.ts";
 * const { vocab } = buildCorpus(Array.from("分开不"));
 * const model = createModel({ vocabSize: vocab.size, hidden: 8 });
 * const body = generateReadableStream(model, vocab, "分开", { length: 5 });
 * const text = await new Response(body).text();
 * console.log(text === await generate(model, vocab, "分开", { length: 5 })); // true
 * ```
 */
export function generateReadableStream(
  model: RnnModel,
  vocab: Vocab,
  prefix: string,
  options: GenerateStreamOptions = {},
): ReadableStream<Uint8Array> {
  const pieces = generateStream(model, vocab, prefix, options);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await pieces.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await pieces.return(undefined);
    },
  }, { highWaterMark: 0 });
}
