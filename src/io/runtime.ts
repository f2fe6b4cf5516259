/**
 * What the file helpers need from the runtime, in one place and the same on Deno, Node and Bun:
 * `node:` built-ins for files, the environment through `process.env` (`Deno.env` on Deno, only
 * when its permission is granted, so that reading a variable never prompts), and an error's kind as Node's
 * `code` (`ENOENT`, `EACCES`, ...), which Deno's `node:fs` gives too; Deno's sandbox refusals
 * come back as `NotCapable`.
 *
 * `node:fs/promises` is imported on first use, not at load: a browser bundle of the library (the
 * playground's worker) keeps that import and never runs it, so it loads in a page.
 *
 * @module
 */

/** `node:fs/promises`, loaded on first use. */
export const nodeFs = (): Promise<typeof import("node:fs/promises")> => import("node:fs/promises");

/** The parts of Deno this module looks for, when it runs there. */
interface DenoLike {
  permissions?: { querySync?(d: { name: "env"; variable: string }): { state: string } };
  errors?: Record<string, new (...args: never[]) => Error>;
  env?: { get(name: string): string | undefined };
  build?: { os: string };
}
const deno = (globalThis as { Deno?: DenoLike }).Deno;

/**
 * `process`, the global of Node and Bun. Not read on Deno, where touching it loads Deno's Node
 * layer (it cost the import of the library 15 ms).
 */
const proc = deno ? undefined : (globalThis as {
  process?: { env?: Record<string, string | undefined>; platform?: string };
}).process;

/** Whether paths use `\` too. */
export const isWindows: boolean = deno?.build
  ? deno.build.os === "windows"
  : proc?.platform === "win32";

/**
 * An environment variable, or `undefined` when unset, empty, or (on Deno) not permitted.
 *
 * @param name The variable.
 * @returns Its value.
 */
export function readEnv(name: string): string | undefined {
  try {
    if (deno?.permissions?.querySync) {
      if (deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
        return undefined;
      }
    }
    return (deno?.env ? deno.env.get(name) : proc?.env?.[name]) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The kind of an error a file operation threw, as Node names it (`ENOENT`, `EACCES`, `EISDIR`,
 * `ENOTDIR`, `EEXIST`, `EROFS`, `ENOSPC`, `EPERM`, `EINVAL`, ...), `NOTCAPABLE` for Deno's sandbox,
 * or `undefined` when it is no OS error.
 *
 * @param e The error.
 * @returns Its code.
 */
export function errorCode(e: unknown): string | undefined {
  if (e === null || typeof e !== "object") return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  const errors = deno?.errors;
  if (errors?.NotCapable && e instanceof errors.NotCapable) return "NOTCAPABLE";
  const byClass: [string, string][] = [
    ["NotFound", "ENOENT"],
    ["PermissionDenied", "EACCES"],
    ["IsADirectory", "EISDIR"],
    ["NotADirectory", "ENOTDIR"],
    ["AlreadyExists", "EEXIST"],
  ];
  for (const [name, value] of byClass) {
    if (errors?.[name] && e instanceof errors[name]) return value;
  }
  return undefined;
}

/** Whether the error is a refusal of permission (the OS's, or Deno's sandbox). */
export function isPermissionError(e: unknown): boolean {
  const code = errorCode(e);
  return code === "EACCES" || code === "EPERM" || code === "NOTCAPABLE";
}

/**
 * A file's bytes as a plain `Uint8Array` of their own (Node's `Buffer` is one, but may lie in a
 * pool shared with other data).
 *
 * @param path The file.
 * @returns Its bytes.
 */
export async function readBytes(path: string): Promise<Uint8Array> {
  const b = await (await nodeFs()).readFile(path);
  // Copied only when the Buffer shares its memory (a pool): a whole one is viewed as it is.
  const whole = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
  return new Uint8Array(
    whole ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength),
    0,
    b.byteLength,
  );
}
