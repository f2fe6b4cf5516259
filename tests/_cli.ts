// Running the command line as a user would, for the CLI tests: a subprocess and its output.
import assert from "node:assert/strict";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

/** What a run of the CLI printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Flags of the small model most CLI tests train: hidden 16, minibatches of 4 x 8 steps. */
export const SMALL_MODEL: readonly string[] = [
  "--hidden",
  "16",
  "--batch-size",
  "4",
  "--num-steps",
  "8",
];

/** Runs `deno run -A mod.ts ...args` with no stdin. */
export async function cli(...args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The arguments that start the CLI in a child process, for tests that drive it themselves. */
export function cliArgs(...args: string[]): string[] {
  return ["run", "-A", MOD, ...args];
}

/** The one line of stderr of a failed run, checked for the parts every error line has. */
function errorLine(r: { code: number; stderr: string }, code: number, pattern: RegExp): string {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return lines[0];
}

/**
 * A usage error: exit code 2, one line on stderr that says what was wrong and where to read the
 * command's help, no stack trace.
 */
export function assertUsageError(r: { code: number; stderr: string }, pattern: RegExp): void {
  const line = errorLine(r, 2, pattern);
  assert.match(line, /\(see deno run -A mod\.ts (\w+ --help|help)\)$/);
}

/**
 * A data error (a missing, unreadable or corrupt file, or a diverged run): exit code 1, one line
 * on stderr that says what was wrong, no stack trace and no pointer to `--help` (the flags were
 * right). With `file`, the line names that file.
 */
export function assertDataError(
  r: { code: number; stderr: string },
  pattern: RegExp,
  file?: string,
): void {
  const line = errorLine(r, 1, pattern);
  assert.doesNotMatch(line, /\(see /);
  if (file !== undefined) assert.ok(line.includes(file), `${line} does not name ${file}`);
}
