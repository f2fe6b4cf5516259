/**
 * Node and Bun as the runtimes test and benchmark find them: `node` on PATH; `bun` on PATH or in
 * `.tools/`, where `.ci/run` installs it.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where each runtime may be, in order. */
const CANDIDATES = {
  node: ["node"],
  bun: ["bun", `${ROOT}.tools/node_modules/.bin/bun`],
} as const;

/** A runtime found: the command to run it and its `--version` line. */
export interface FoundRuntime {
  command: string;
  version: string;
}

/**
 * The first candidate of `name` that runs `--version`, or `undefined` when none does.
 *
 * @param name The runtime.
 * @returns Its command and version.
 */
export function findRuntime(name: keyof typeof CANDIDATES): FoundRuntime | undefined {
  for (const command of CANDIDATES[name]) {
    try {
      const out = new Deno.Command(command, {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      })
        .outputSync();
      if (out.success) {
        return { command, version: new TextDecoder().decode(out.stdout).trim().split("\n")[0] };
      }
    } catch {
      // not installed there
    }
  }
  return undefined;
}
