/**
 * The `export` and `import` commands: a checkpoint to and from the state dict of the book's
 * concise PyTorch model (see `src/io/pytorch.ts`), as a safetensors file.
 *
 * @module
 */
import { oneOf, parse, UsageError } from "./args.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import type { RnnModel } from "../model/model.ts";
import { exportPyTorch, importPyTorch } from "../io/pytorch.ts";

/** `--name`'s value, required and not empty. */
function required(v: Record<string, string | boolean | undefined>, name: string, what: string) {
  const value = v[name] as string | undefined;
  if (value === undefined || value === "") throw new UsageError(`--${name} ${what} is required`);
  return value;
}

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
 * @returns The exit code, 0; flag mistakes throw `UsageError`, a missing or corrupt checkpoint
 * the errors of `loadCheckpoint`, a model PyTorch cannot express a `RangeError`.
 * @example Export a checkpoint
 * ```ts ignore
 * import { runExport } from "./export.ts";
 * await runExport(["--model", "jaychou.safetensors", "--out", "jaychou.pt.safetensors"]);
 * ```
 */
export async function runExport(args: string[]): Promise<number> {
  const v = parse(args, { model: "string", out: "string", format: "string" });
  oneOf("format", v.format as string | undefined, ["pytorch"]);
  const modelPath = required(v, "model", "FILE (a checkpoint)");
  const out = required(v, "out", "FILE (the safetensors file to write)");
  const { model, vocab, text } = await loadCheckpoint(modelPath);
  await writeFileAtomic(out, exportPyTorch(model, vocab, { text }));
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
 * dict a `SyntaxError` naming it.
 * @example Import a state dict
 * ```ts ignore
 * import { runImport } from "./export.ts";
 * await runImport(["--in", "model.safetensors", "--out", "model.ckpt.safetensors"]);
 * ```
 */
export async function runImport(args: string[]): Promise<number> {
  const v = parse(args, { in: "string", out: "string", format: "string" });
  oneOf("format", v.format as string | undefined, ["pytorch"]);
  const inPath = required(v, "in", "FILE (a PyTorch state dict)");
  const out = required(v, "out", "FILE (the checkpoint to write)");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(inPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Deno.errors.NotFound(`no file at ${inPath}`);
    throw e;
  }
  let imported;
  try {
    imported = importPyTorch(bytes);
  } catch (e) {
    if (e instanceof SyntaxError) throw new SyntaxError(`${inPath}: ${e.message}`);
    throw e;
  }
  const { model, vocab, text } = imported;
  await saveCheckpoint(out, model, vocab, {
    hyperparameters: { importedFrom: "pytorch" },
    text,
  });
  console.log(`wrote ${out}: checkpoint of ${describe(model)}`);
  return 0;
}
