/**
 * The `export` and `import` commands: a checkpoint to and from the state dict of the book's
 * concise PyTorch model (see `src/io/pytorch.ts`), as a safetensors file.
 *
 * @module
 */
import { CheckpointError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { exportPyTorch, importPyTorch } from "../io/pytorch.ts";
import type { RnnModel } from "../model/model.ts";
import { choiceFlag, type CommandFlags, parseFlags, pathFlag } from "./args.ts";
import { exportInt8 } from "./export_int8.ts";
import { checkOutputFile } from "./output.ts";

const FORMAT = { type: "string", value: "pytorch", help: "the file format [pytorch]" } as const;

/** The flags of `export`. */
export const EXPORT_FLAGS: CommandFlags = {
  settings: ["corpus"],
  own: {
    model: { type: "string", value: "FILE", help: "the checkpoint to export (required)" },
    out: { type: "string", value: "FILE", help: "the file to write (required)" },
    format: {
      type: "string",
      value: "pytorch|int8",
      help: "pytorch: the state dict; int8: an 8-bit checkpoint for generation, its accuracy " +
        "printed [pytorch]",
    },
  },
  defaults: { corpus: "the checkpoint's training corpus (int8: for the perplexity)" },
};

/** The flags of `import`. */
export const IMPORT_FLAGS: CommandFlags = {
  settings: [],
  own: {
    in: { type: "string", value: "FILE", help: "the state dict to read (required)" },
    out: { type: "string", value: "FILE", help: "the checkpoint to write (required)" },
    activation: {
      type: "string",
      value: "tanh|relu",
      help: "an nn.RNN's nonlinearity [the file's config.activation, else tanh]",
    },
    format: FORMAT,
  },
};

/** One line describing a model: cell, layers, hidden size and vocabulary. */
function describe(model: RnnModel): string {
  const { cell, layers, hidden, vocabSize, activation, gruVariant } = model.config;
  const kind = cell === "rnn"
    ? `rnn (${activation})`
    : cell === "gru"
    ? `gru (${gruVariant})`
    : cell;
  return `${layers} x ${kind} of ${hidden}, vocabulary ${vocabSize}`;
}

/**
 * Runs `export`: writes a checkpoint's model as a PyTorch state dict (`rnn.*` and `dense.*`
 * tensors, vocabulary and config in the metadata), atomically.
 *
 * Flags: `--model FILE` (the checkpoint, required), `--out FILE` (the safetensors file to write,
 * required), `--format pytorch` (the only format, the default). The book's GRU cannot be exported
 * (a usage error that says why); models trained with `gruVariant: "pytorch"` can.
 *
 * @param args The arguments after `export`.
 * @returns The exit code, 0; flag mistakes and a model PyTorch cannot express throw
 * `UsageError`, a missing or corrupt checkpoint a `CheckpointError`.
 * @example Export a checkpoint
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { saveCheckpoint } from "../io/checkpoint.ts";
 * import { textCorpus } from "../text/text.ts";
 * import { runExport } from "./export.ts";
 * const dir = await Deno.makeTempDir();
 * const corpus = textCorpus("分开 不分开");
 * const model = createModel({ vocabSize: corpus.vocab.size, hidden: 8 });
 * await saveCheckpoint(`${dir}/m.safetensors`, { model, vocab: corpus.vocab, text: corpus.text });
 * await runExport(["--model", `${dir}/m.safetensors`, "--out", `${dir}/m.pt.safetensors`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runExport(args: string[]): Promise<number> {
  const { settings, own } = parseFlags(args, EXPORT_FLAGS);
  const format = choiceFlag("format", own.format, ["pytorch", "int8"]);
  const modelPath = pathFlag("model", own.model, "FILE (a checkpoint)");
  const out = pathFlag("out", own.out, "FILE (the safetensors file to write)");
  if (format !== "int8" && settings.corpus !== undefined) {
    throw new UsageError("--corpus is for --format int8 (the perplexity it compares)");
  }
  await checkOutputFile(out, "--out");
  if (format === "int8") {
    return await exportInt8(modelPath, out, settings.corpus as string | undefined);
  }
  const { model, vocab, text } = await loadCheckpoint(modelPath);
  await writeFileAtomic(out, await exportPyTorch(model, vocab, { text }));
  console.log(`wrote ${out}: PyTorch state dict of ${describe(model)}`);
  return 0;
}

/**
 * Runs `import`: reads a PyTorch state dict (as `export` writes it, or saved from PyTorch with
 * `safetensors.torch.save_file(..., metadata={"vocab": json.dumps(tokens)})`) and writes it as a
 * checkpoint, atomically.
 *
 * Flags: `--in FILE` (the state dict, required), `--out FILE` (the checkpoint to write,
 * required), `--format pytorch` (the only format, the default).
 *
 * @param args The arguments after `import`.
 * @returns The exit code, 0; flag mistakes throw `UsageError`, a file that is not such a state
 * dict a `CheckpointError` naming it.
 * @example Import a state dict
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { exportPyTorch } from "../io/pytorch.ts";
 * import { Vocab } from "../text/vocab.ts";
 * import { runImport } from "./export.ts";
 * const dir = await Deno.makeTempDir();
 * const model = createModel({ vocabSize: 2, hidden: 3, cell: "lstm" });
 * await Deno.writeFile(`${dir}/t.safetensors`, await exportPyTorch(model, new Vocab(["a", "b"])));
 * console.log(await runImport(["--in", `${dir}/t.safetensors`, "--out", `${dir}/m.safetensors`])); // 0
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runImport(args: string[]): Promise<number> {
  const { own } = parseFlags(args, IMPORT_FLAGS);
  choiceFlag("format", own.format, ["pytorch"]);
  const inPath = pathFlag("in", own.in, "FILE (a PyTorch state dict)");
  const out = pathFlag("out", own.out, "FILE (the checkpoint to write)");
  await checkOutputFile(out, "--out");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(inPath);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new CheckpointError(`${inPath}: ${why}`, inPath, { cause: e });
  }
  const activation = own.activation === undefined
    ? undefined
    : choiceFlag("activation", own.activation, ["tanh", "relu"]);
  let imported;
  try {
    imported = importPyTorch(bytes, { activation });
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${inPath}: ${e.message}`, inPath);
    throw e;
  }
  const { model, vocab, text, assumed } = imported;
  if (assumed) {
    console.error(`${inPath}: assuming ${assumed.replace("give activation", "give --activation")}`);
  }
  await saveCheckpoint(out, { model, vocab, text });
  console.log(`wrote ${out}: checkpoint of ${describe(model)}`);
  return 0;
}
