/**
 * Operating-system errors in plain words, for messages that name the user's path and say what is
 * wrong with it, instead of the runtime's `os error 21` text.
 *
 * @module
 */
import { errorCode } from "./runtime.ts";

/**
 * What an OS error means for a path, in a few words: "no such file or folder", "permission
 * denied", "it is a folder", ...
 *
 * @param e The error a file operation threw.
 * @returns The words, or the error's own message when it is no known OS error.
 * @example A missing file
 * ```ts
 * import { describeOsError } from "./os_errors.ts";
 * const e = await Deno.readFile("/no/such/file").catch((e) => e);
 * console.log(describeOsError(e)); // "no such file or folder"
 * ```
 */
export function describeOsError(e: unknown): string {
  const words: Record<string, string> = {
    ENOENT: "no such file or folder",
    EACCES: "permission denied",
    NOTCAPABLE: "not allowed (run with --allow-read/--allow-write)",
    EISDIR: "it is a folder",
    ENOTDIR: "a part of the path is a file, not a folder",
    EEXIST: "something is already in the way",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EPERM: "operation not permitted",
    EINVAL: "not a place files can be written (invalid argument)",
  };
  const code = errorCode(e);
  if (code !== undefined && words[code]) return words[code];
  const message = e instanceof Error ? e.message : String(e);
  // Deno's own errors for the rest carry the errno: read-only file systems, a full disk.
  if (/os error 30\b/.test(message)) return words.EROFS;
  if (/os error 28\b/.test(message)) return words.ENOSPC;
  if (/os error 1\b/.test(message)) return words.EPERM;
  if (/os error 22\b/.test(message)) return words.EINVAL;
  return message.replace(/\s*\(os error \d+\)/, "").replace(/^E[A-Z]+: /, "")
    .replace(/[:,]\s*(open|rename|mkdir|stat).*$/, "");
}
