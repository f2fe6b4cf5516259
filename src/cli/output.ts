/**
 * Writing a command's output files: the folder is created, the file written atomically, and a
 * failure is a `DataError` that names the path and the problem in plain words.
 *
 * @module
 */
import { DataError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic_write.ts";

/** Creates `dir` (and its parents) and writes `text` to `path` in it, atomically. */
export async function writeOutput(dir: string, path: string, text: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeTextFileAtomic(path, text);
  } catch (e) {
    throw new DataError(`${path} could not be written: ${plain(e)}`, path, { cause: e });
  }
}

/** An OS error in words: "no such folder", "permission denied", ... */
export function plain(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "a folder on its path does not exist";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  if (e instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (e instanceof Deno.errors.AlreadyExists) return "a file is in the way of the folder";
  return e instanceof Error ? e.message : String(e);
}
