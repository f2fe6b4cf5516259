/**
 * Operating-system errors in plain words, for messages that name the user's path and say what is
 * wrong with it, instead of the runtime's `os error 21` text.
 *
 * @module
 */

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
  const errors = (globalThis as { Deno?: typeof Deno }).Deno?.errors;
  if (errors) {
    if (e instanceof errors.NotFound) return "no such file or folder";
    if (e instanceof errors.PermissionDenied) return "permission denied";
    if (e instanceof errors.NotCapable) return "not allowed (run with --allow-read/--allow-write)";
    if (e instanceof errors.IsADirectory) return "it is a folder";
    if (e instanceof errors.NotADirectory) return "a part of the path is a file, not a folder";
    if (e instanceof errors.AlreadyExists) return "something is already in the way";
  }
  const message = e instanceof Error ? e.message : String(e);
  // Linux's errno names for the rest: read-only file systems, /proc, a full disk.
  if (/os error 30\b/.test(message)) return "the file system is read-only";
  if (/os error 28\b/.test(message)) return "no space left on the device";
  if (/os error 1\b/.test(message)) return "operation not permitted";
  if (/os error 22\b/.test(message)) return "not a place files can be written (invalid argument)";
  return message.replace(/\s*\(os error \d+\)/, "").replace(/:\s*(open|rename|mkdir|stat).*$/, "");
}
