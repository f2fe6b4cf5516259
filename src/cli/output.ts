/**
 * A command's output files: checked before the work that fills them (so hours of training never
 * end in "cannot write"), then written atomically. Every failure is a `DataError` (exit code 1)
 * that names the user's path and the problem in words.
 *
 * @module
 */
import { DataError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic_write.ts";
import { describeOsError } from "../io/os_errors.ts";

/** The folder a file path is in ("." for a bare name). */
function folderOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}

/** The path's information, or undefined when nothing is there (or a part of it is a file). */
async function stat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw new DataError(`${path} cannot be examined: ${describeOsError(e)}`, path, { cause: e });
  }
}

/** Creates and removes a file in `dir`: the one sure test that new files can be made there. */
async function probe(dir: string, flag: string, path: string): Promise<void> {
  try {
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".rnn-wasm-probe-" }));
  } catch (e) {
    throw new DataError(
      `${flag} ${path}: cannot create files in ${dir} (${
        describeOsError(e)
      }); choose another place`,
      path,
      { cause: e },
    );
  }
}

/**
 * Checks that `path` can be written as a file: it is not a folder, its folder exists, and new
 * files can be created there.
 *
 * @param path The file a command will write.
 * @param flag The flag that named it, for the message (e.g. `--save`).
 * @throws {DataError} When it cannot.
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  if ((await stat(path))?.isDirectory) {
    throw new DataError(`${flag} ${path} is a folder; give the path of a file to write`, path);
  }
  const dir = folderOf(path), info = await stat(dir);
  if (!info) {
    throw new DataError(
      `${flag} ${path}: the folder ${dir} does not exist; create it first or choose another path`,
      path,
    );
  }
  if (!info.isDirectory) {
    throw new DataError(`${flag} ${path}: ${dir} is a file, not a folder`, path);
  }
  await probe(dir, flag, path);
}

/**
 * Checks that `dir` is a folder new files can be created in, or can be made: its nearest existing
 * ancestor is a folder that takes new entries.
 *
 * @param dir The folder a command will write into (and create if missing).
 * @param flag The flag that named it, for the message (e.g. `--out`).
 * @throws {DataError} When it cannot.
 */
export async function checkOutputFolder(dir: string, flag: string): Promise<void> {
  let at = dir.replace(/\/+$/, "") || "/";
  let info = await stat(at);
  while (!info && at !== "." && at !== "/") {
    at = folderOf(at);
    info = await stat(at);
  }
  if (info && !info.isDirectory) {
    throw new DataError(`${flag} ${dir}: ${at} is a file, not a folder`, dir);
  }
  await probe(info ? at : ".", flag, dir);
}

/** Creates `dir` (and its parents) and writes `text` to `path` in it, atomically. */
export async function writeOutput(dir: string, path: string, text: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DataError(`${dir} could not be created: ${describeOsError(e)}`, dir, { cause: e });
  }
  await writeTextFileAtomic(path, text);
}
