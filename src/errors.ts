/**
 * The library's errors. Each says what was wrong and what to do, in one line; the command line
 * turns them into exit codes (usage 2, data 1) and keeps stack traces for everything else, which
 * is a bug.
 *
 * @module
 */

/**
 * A setting or argument out of range, of the wrong kind, or in conflict with another: the
 * caller's mistake. Setting names in the message are written `{name}` when thrown; `message`
 * shows them as option names (`numSteps`), {@linkcode UsageError.forCli} as flags (`--num-steps`).
 *
 * @example A message in both forms
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const e = new UsageError("{numSteps} must be an integer >= 1, got 0");
 * console.log(e.message); // "numSteps must be an integer >= 1, got 0"
 * console.log(e.forCli()); // "--num-steps must be an integer >= 1, got 0"
 * ```
 */
export class UsageError extends Error {
  readonly #template: string;

  /**
   * Creates the error.
   *
   * @param template The message, with setting names written `{name}`.
   */
  constructor(template: string) {
    super(template.replace(/\{(\w+)\}/g, "$1"));
    this.name = "UsageError";
    this.#template = template;
  }

  /**
   * The message with every setting named as its command-line flag.
   *
   * @returns E.g. `--batch-size must be an integer >= 1, got 0`.
   */
  forCli(): string {
    return this.#template.replace(/\{(\w+)\}/g, (_, name: string) => `--${kebab(name)}`);
  }
}

/** A file or corpus that cannot be used as it is: missing, unreadable, corrupt or foreign. */
export class DataError extends Error {
  /** The file (or corpus name) at fault, when there is one. */
  readonly path: string | undefined;

  /**
   * Creates the error.
   *
   * @param message What is wrong and what to do; it names the file.
   * @param path The file at fault.
   * @param options The underlying error, if any.
   */
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataError";
    this.path = path;
  }
}

/**
 * A checkpoint that cannot be read or written: missing, unreadable, not a checkpoint, a format
 * version this library does not read, or inconsistent.
 *
 * @example Telling a bad file from a bug
 * ```ts
 * import { CheckpointError, DataError } from "./errors.ts";
 * const e = new CheckpointError("m.safetensors: not an @rnn/wasm checkpoint", "m.safetensors");
 * console.log(e instanceof DataError, e.path); // true "m.safetensors"
 * ```
 */
export class CheckpointError extends DataError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and what to do; it names the file.
   * @param path The file at fault.
   * @param options The underlying error, if any.
   */
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, path, options);
    this.name = "CheckpointError";
  }
}

/** A corpus that cannot be found, read, downloaded or checked, or that holds no tokens. */
export class CorpusError extends DataError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and what to do; it names the corpus or file.
   * @param path The file or corpus name at fault.
   * @param options The underlying error, if any.
   */
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, path, options);
    this.name = "CorpusError";
  }
}

/**
 * Training stopped because the loss or the gradient norm stopped being finite (the weights are
 * then those before the step that diverged), or an epoch's losses, each finite, were so large
 * that its perplexity overflows (the weights are then the epoch's last).
 */
export class TrainingDivergedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to change.
   */
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/** `numSteps` → `num-steps`: a setting's command-line flag. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
