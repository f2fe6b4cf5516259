/**
 * Flag parsing shared by the commands. A command declares its flags: settings from the table
 * (parsed and checked by `parseSetting`, so `--num-steps 0` gets the table's message) and flags
 * of its own. Every mistake is a `UsageError` (exit code 2).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { flagOf, parseSetting, SETTINGS } from "../config/settings.ts";
import { UsageError } from "../errors.ts";

/** A command's own flag (not a setting). */
export interface Flag {
  /** `string` takes a value, `boolean` does not. */
  readonly type: "string" | "boolean";
  /** May be given several times (the values are kept in order). */
  readonly multiple?: boolean;
  /** `VALUE` in the help line, e.g. `FILE`. */
  readonly value?: string;
  /** One line for `--help`. */
  readonly help: string;
}

/** The flags a command takes: settings by name, and flags of its own by flag name. */
export interface CommandFlags {
  /** Settings (names from the table), in help order. */
  readonly settings: readonly string[];
  /** The command's own flags, by flag name (kebab-case). */
  readonly own: Readonly<Record<string, Flag>>;
  /** Defaults to show instead of the table's, by setting name (e.g. "the model's"). */
  readonly defaults?: Readonly<Record<string, string>>;
}

/** What {@linkcode parseFlags} found. */
export interface Parsed {
  /** The settings given, parsed and checked, by setting name. */
  readonly settings: Record<string, unknown>;
  /** The command's own flags given, by flag name. */
  readonly own: Record<string, string | boolean | string[] | undefined>;
}

/**
 * Parses a command's arguments strictly: unknown flags, positionals and bad values are usage
 * errors. A negative number after a flag that takes a value is that flag's value (`--seed -1`
 * reads as `--seed=-1`), so it gets the same message.
 */
export function parseFlags(args: readonly string[], flags: CommandFlags): Parsed {
  const bySetting = new Map(flags.settings.map((name) => [flagOf(name), name]));
  const takesValue = (flag: string) =>
    (bySetting.has(flag) && SETTINGS[bySetting.get(flag)!].kind !== "bool") ||
    flags.own[flag]?.type === "string";
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = /^--([a-z][a-z0-9-]*)$/.exec(args[i])?.[1];
    if (flag && takesValue(flag) && /^-\d|^-\.\d|^-Infinity$/.test(args[i + 1] ?? "")) {
      joined.push(`--${flag}=${args[++i]}`);
    } else {
      joined.push(args[i]);
    }
  }
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [flag, name] of bySetting) {
    options[flag] = { type: SETTINGS[name].kind === "bool" ? "boolean" : "string" };
  }
  for (const [flag, spec] of Object.entries(flags.own)) {
    options[flag] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: joined, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  const settings: Record<string, unknown> = {};
  const own: Parsed["own"] = {};
  for (const [flag, value] of Object.entries(values)) {
    const name = bySetting.get(flag);
    if (name === undefined) {
      own[flag] = value as string | boolean | string[];
    } else if (typeof value === "boolean") {
      settings[name] = value;
    } else {
      settings[name] = parseSetting(name, value as string);
    }
  }
  return { settings, own };
}

/** `--flag`'s value as an integer >= min, or the fallback when absent. */
export function intFlag(flag: string, text: unknown, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (typeof text !== "string" || text.trim() === "" || !Number.isSafeInteger(v) || v < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** `--flag`'s value as a finite number >= 0, or the fallback when absent. */
export function numberFlag(flag: string, text: unknown, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (typeof text !== "string" || text.trim() === "" || !Number.isFinite(v) || v < 0) {
    throw new UsageError(`--${flag} must be a number >= 0, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** `--flag`'s value as one of the choices; the first is the default. */
export function choiceFlag<T extends string>(flag: string, text: unknown, choices: T[]): T {
  if (text === undefined) return choices[0];
  if (!(choices as unknown[]).includes(text)) {
    throw new UsageError(
      `--${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(text)}`,
    );
  }
  return text as T;
}

/** `--flag FILE`, required and not empty. */
export function pathFlag(flag: string, text: unknown, what: string): string {
  if (typeof text !== "string" || text === "") {
    throw new UsageError(`--${flag} ${what} is required`);
  }
  return text;
}

/** The help lines of a command's flags: settings from the table, then its own. */
export function flagHelp(flags: CommandFlags, defaults: Record<string, unknown> = {}): string {
  const rows: [string, string][] = [];
  defaults = { ...flags.defaults, ...defaults };
  for (const name of flags.settings) {
    const s = SETTINGS[name];
    const value = s.kind === "bool"
      ? ""
      : ` ${s.kind === "choice" ? s.choices!.join("|") : metavar(s.kind)}`;
    const d = name in defaults ? defaults[name] : s.default;
    const shown = typeof d === "function" || d === undefined || s.kind === "bool"
      ? ""
      : ` [${Array.isArray(d) ? d.join(",") : String(d)}]`;
    rows.push([`--${flagOf(name)}${value}`, `${s.help}${shown}`]);
  }
  for (const [flag, spec] of Object.entries(flags.own)) {
    rows.push([`--${flag}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`, spec.help]);
  }
  const width = Math.min(28, Math.max(...rows.map(([f]) => f.length)) + 2);
  return rows.map(([f, h]) =>
    `  ${f.padEnd(width)}${f.length >= width ? "\n" + " ".repeat(width + 2) : ""}${h}`
  )
    .join("\n");
}

function metavar(kind: string): string {
  return kind === "int" ? "N" : kind === "number" ? "X" : kind === "list" ? "A,B" : "NAME|PATH";
}
