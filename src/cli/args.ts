// Flag parsing shared by the CLI commands: every mistake becomes a UsageError (exit code 2).
import { parseArgs } from "node:util";

/** A mistake in how the command was called: reported in one line with exit code 2. */
export class UsageError extends Error {}

/** `--name` as an integer >= min, or the fallback when absent. */
export function int(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${text}"`);
  }
  return v;
}

/** `--name` as a finite number >= 0, or the fallback when absent. */
export function num(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < 0) {
    throw new UsageError(`--${name} must be a number >= 0, got "${text}"`);
  }
  return v;
}

/** `--name` as one of the options; the first is the default. */
export function oneOf<T extends string>(name: string, text: string | undefined, options: T[]): T {
  if (text === undefined) return options[0];
  if (!(options as string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${options.join(", ")}, got "${text}"`);
  }
  return text as T;
}

/** Parses flags strictly (unknown flags and positionals are usage errors). */
export function parse(args: string[], options: Record<string, "string" | "boolean">) {
  try {
    return parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([k, type]) => [k, { type }]),
      ) as Record<string, { type: "string" | "boolean" }>,
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}
