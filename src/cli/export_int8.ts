/**
 * `export --format int8`: a checkpoint's 8-bit twin for generation (see `model/quantize.ts`),
 * written atomically, with what it costs in accuracy printed beside what it saves: the greedy
 * text after each of the run's prefixes, and the perplexity on the training corpus, float
 * against 8-bit.
 *
 * @module
 */
import { resolveTextConfig, resolveTrainConfig } from "../config/settings.ts";
import { CheckpointError, CorpusError } from "../errors.ts";
import { generate } from "../generate/generate.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { encodeCheckpoint, loadCheckpoint } from "../io/checkpoint.ts";
import { loadText } from "../io/corpus_files.ts";
import { quantize } from "../model/quantize.ts";
import { prefixTokens } from "../text/text.ts";
import { evaluate } from "../train/evaluate.ts";
import { namedCorpus } from "./corpus.ts";

/** Characters of greedy text compared after each prefix. */
const COMPARED = 100;

const size = (bytes: number) =>
  bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;

/**
 * Writes the 8-bit checkpoint of `modelPath` to `out` and reports its accuracy.
 *
 * @param modelPath The float checkpoint.
 * @param out The file to write (already checked).
 * @param corpusFlag `--corpus`, else the checkpoint's training corpus.
 * @returns The exit code, 0.
 * @throws {CheckpointError} When the checkpoint is missing, corrupt or already 8-bit.
 * @throws {CorpusError} When `--corpus` names a corpus that cannot be read.
 */
export async function exportInt8(
  modelPath: string,
  out: string,
  corpusFlag: string | undefined,
): Promise<number> {
  const { model, vocab, text, train } = await loadCheckpoint(modelPath);
  if (model.quantized) {
    throw new CheckpointError(`${modelPath} is already an 8-bit checkpoint`, modelPath);
  }
  const small = await quantize(model);
  const bytes = await encodeCheckpoint({ model: small, vocab, text, ...(train ? { train } : {}) });
  await writeFileAtomic(out, bytes);
  const float = (await encodeCheckpoint({ model, vocab, text })).length;
  console.log(
    `wrote ${out}: 8-bit checkpoint, ${size(bytes.length)} (the float weights: ` +
      `${size(float)}, ${(float / bytes.length).toFixed(1)}x)`,
  );

  // Greedy text: the same characters, for how long?
  const prefixes = train?.prefixes ?? resolveTrainConfig({}).prefixes;
  for (const prefix of prefixes) {
    try {
      prefixTokens(prefix, vocab, text);
    } catch {
      continue; // a prefix of another corpus's default
    }
    const options = { length: COMPARED, text };
    const a = await generate(model, vocab, prefix, options);
    const b = await generate(small, vocab, prefix, options);
    const [ga, gb] = [[...a.slice(prefix.length)], [...b.slice(prefix.length)]];
    const same = firstDifference(ga, gb);
    console.log(
      `greedy after ${JSON.stringify(prefix)}: ` +
        (same === undefined
          ? `the same ${ga.length} characters`
          : `the same for the first ${same} of ${ga.length} characters`),
    );
  }

  // Perplexity on the training corpus.
  const corpusName = corpusFlag ?? train?.corpus;
  if (corpusName === undefined) {
    console.error("the checkpoint names no training corpus; give --corpus to compare perplexity");
    return 0;
  }
  let raw: string;
  try {
    raw = await loadText(corpusName, { onMessage: (line) => console.error(line) });
  } catch (e) {
    if (corpusFlag !== undefined || !(e instanceof CorpusError)) throw e;
    console.error(`perplexity not compared: ${e.message.split("\n")[0]}`);
    return 0;
  }
  const indices =
    namedCorpus(corpusName, raw, resolveTextConfig({ ...text, minFreq: 0 }), vocab).indices;
  const p = await evaluate(model, indices), q = await evaluate(small, indices);
  const change = (q.perplexity / p.perplexity - 1) * 100;
  console.log(
    `perplexity on ${corpusName} (${p.predictions} predictions): float ${
      p.perplexity.toFixed(4)
    }, 8-bit ${q.perplexity.toFixed(4)} (${change >= 0 ? "+" : ""}${change.toFixed(2)}%)`,
  );
  return 0;
}

/** The first index where two token lists differ, or `undefined` when they are the same. */
function firstDifference(a: string[], b: string[]): number | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return undefined;
}
