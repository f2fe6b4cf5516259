/**
 * Atomic file writes for checkpoints: the bytes go to a temporary file in the same directory,
 * which is flushed to disk and then renamed over the target. A rename within one directory
 * replaces the target in one step, so readers (and a crash) see either the old file or the new
 * one, never a partial file. A process killed mid-write may leave its `.<name>.<random>.tmp`
 * behind, but never touches the target; a write that fails with an error removes its temporary
 * file.
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";
import { DataError } from "../errors.ts";
import { describeOsError } from "./os_errors.ts";
import { errorCode, isWindows, nodeFs } from "./runtime.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface WriteOptions {
  /** Abandons the write (before the rename): `path` stays as it was, the temporary is removed. */
  signal?: AbortSignal;
}

const CHUNK = 1 << 20;

/**
 * Writes `bytes` to `path` atomically: to a fresh temporary file `.<name>.<random>.tmp` in the
 * same directory, fsynced where the runtime supports it, then renamed over `path`. On any failure
 * the temporary file is removed, so `path` keeps its previous contents (or stays absent); an
 * operating-system error becomes a `DataError` that names `path` (never the temporary file) and
 * says what is wrong in words. The new file gets default permissions, not the old file's.
 *
 * Runs on Deno, Node and Bun (`node:fs`). On Deno it needs `--allow-write` for the directory (and
 * `--allow-read` to also fsync the directory entry, which is skipped when not allowed).
 *
 * @param path The file to create or replace.
 * @param bytes The complete new contents.
 * @param options An abort signal.
 * @returns A promise that resolves once `path` holds `bytes`.
 * @throws {TypeError} When `path` names no file (empty, or ends in a separator).
 * @throws {DataError} When the file cannot be written: `"<path> could not be written: <why>"`.
 *
 * @example Save bytes without risking a half-written file
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/model.safetensors`, new Uint8Array([1, 2, 3]));
 * console.log(await Deno.readFile(`${dir}/model.safetensors`)); // Uint8Array(3) [ 1, 2, 3 ]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  const cut = lastSeparator(path) + 1;
  const dir = path.slice(0, cut);
  const base = path.slice(cut);
  if (base === "" || base === "." || base === "..") {
    throw new TypeError(`writeFileAtomic: path must name a file, got ${JSON.stringify(path)}`);
  }
  const tmp = `${dir}.${base}.${randomHex(8)}.tmp`;
  const { open, rename, unlink } = await nodeFs();
  let file: FileHandle | undefined;
  let created = false;
  try {
    // "wx": never reuse (or follow a link planted at) an existing name.
    file = await open(tmp, "wx");
    created = true;
    // In chunks, so that an abort stops a long write between two of them.
    for (let written = 0; written < bytes.length;) {
      options.signal?.throwIfAborted();
      const chunk = bytes.subarray(written, written + CHUNK);
      written += (await file.write(chunk, 0, chunk.length)).bytesWritten;
    }
    options.signal?.throwIfAborted();
    // Flush the contents before the rename makes them visible under `path`.
    await file.sync();
    await file.close();
    file = undefined;
    await rename(tmp, path);
  } catch (error) {
    if (file !== undefined) {
      try {
        await file.close();
      } catch {
        // Already closed; the original error matters more.
      }
    }
    if (created) {
      try {
        await unlink(tmp);
      } catch {
        // Best effort: the original error matters more.
      }
    }
    if (errorCode(error) === undefined) throw error;
    throw new DataError(`${path} could not be written: ${describeOsError(error)}`, path, {
      cause: error,
    });
  }
  await syncDirectory(dir === "" ? "." : dir);
}

/**
 * Writes `text` as UTF-8 to `path` atomically, as {@linkcode writeFileAtomic} does.
 *
 * @param path The file to create or replace.
 * @param text The complete new contents.
 * @returns A promise that resolves once `path` holds `text`.
 * @throws {TypeError} When `path` names no file (empty, or ends in a separator).
 *
 * @example Save a JSON config atomically
 * ```ts
 * import { writeTextFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextFileAtomic(`${dir}/config.json`, JSON.stringify({ hidden: 128 }));
 * console.log(await Deno.readTextFile(`${dir}/config.json`)); // {"hidden":128}
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Index of the last path separator in `path` (`/`, and `\` on Windows), or -1. */
function lastSeparator(path: string): number {
  const slash = path.lastIndexOf("/");
  return isWindows ? Math.max(slash, path.lastIndexOf("\\")) : slash;
}

/** `n` random bytes as lowercase hex. */
function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Fsyncs the directory so the rename itself survives a power loss. Best effort: the file is
 * already complete under `path`, and some platforms (Windows) or permission sets cannot open a
 * directory.
 */
async function syncDirectory(dir: string): Promise<void> {
  if (isWindows) return;
  let handle: FileHandle | undefined;
  try {
    handle = await (await nodeFs()).open(dir, "r");
    await handle.sync();
  } catch {
    // Not supported or not permitted here; the write itself has succeeded.
  } finally {
    await handle?.close().catch(() => {});
  }
}
