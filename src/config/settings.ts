/**
 * Every setting of a run in one table: its name (the same for the library option, the
 * command-line flag `--kebab-case`, the checkpoint field and the JSON lines), its kind, default,
 * range and one line of help. The library, the command line, the presets and the checkpoint
 * reader all validate and fill defaults from here, so a default is written once.
 *
 * @module
 */
import type { Activation, CellKind, GruVariant } from "../backend/types.ts";
import { kebab, UsageError } from "../errors.ts";

/** The sizes and choices that define a model. */
export interface ModelConfig {
  /** The recurrent cell; default `"rnn"`. */
  cell: CellKind;
  /** Hidden units (`H`) of every layer; default 256 (the book's). */
  hidden: number;
  /** Recurrent layers stacked, each feeding the next; default 1. */
  layers: number;
  /** The vanilla cell's nonlinearity; default `"tanh"`; unused by the GRU and LSTM. */
  activation: Activation;
  /**
   * The GRU's candidate: `"book"` (the default) or `"pytorch"` (as `nn.GRU`, with one more bias
   * `b_hn` per layer; needed to export a GRU); unused by the RNN and LSTM.
   */
  gruVariant: GruVariant;
  /**
   * Tokens in the vocabulary (`V`): the width of the one-hot inputs and of the output layer. 0,
   * with `inputSize`, makes a bare recurrent stack (the layer objects). Taken from the corpus.
   */
  vocabSize: number;
  /** Dense inputs of this width instead of one-hot tokens (the layer objects); default 0. */
  inputSize: number;
}

/** How text becomes the tokens a model reads. */
export interface TextConfig {
  /** `"char"` (the default): every character is a token; `"word"`: whitespace-separated words. */
  tokens: "char" | "word";
  /**
   * `"none"` (the default): keep every character, newlines as spaces (the Chinese edition);
   * `"letters"`: each line reduced to lower-case letters and single spaces, lines joined (the
   * English edition's `read_time_machine`).
   */
  normalize: "none" | "letters";
  /** Keep the first this many tokens; 0 keeps all; default 10000 (the book's). */
  maxTokens: number;
  /** Words seen fewer times become `<unk>` (word tokens only); default 0. */
  minFreq: number;
}

/** How a model is trained; the defaults are the book's Jay Chou run. */
export interface TrainConfig {
  /** Passes over the corpus; default 250. */
  epochs: number;
  /** Sequences per minibatch; default 32. */
  batchSize: number;
  /** Time steps per sequence; default 35. */
  numSteps: number;
  /** `"sgd"` (the book's from-scratch runs, the default) or `"adam"` (its concise runs). */
  optimizer: "sgd" | "adam";
  /** Learning rate; default 100 for SGD (with the default clipping a step moves by at most 1), 0.001 for Adam. */
  lr: number;
  /** Clip the global gradient norm to this value; 0 turns clipping off; default 0.01. */
  clip: number;
  /**
   * The probability of dropping each output of a layer that feeds another (training only; kept
   * outputs are scaled by 1/(1−p)); default 0; needs 2 layers or more.
   */
  dropout: number;
  /** `"random"` (the default: the state is reset per minibatch) or `"sequential"` (carried). */
  sampling: "random" | "sequential";
  /** Start each epoch at a random offset (the 2nd edition's samplers); default false. */
  randomOffset: boolean;
  /** Seed of the initial weights, the sampler and the dropout masks; default 0. */
  seed: number;
  /**
   * A new model's weights: `"normal"` (the default: N(0, 0.01²), zero biases, the book's
   * from-scratch models) or `"uniform"` (PyTorch's layers: every parameter U(−1/√H, 1/√H)).
   */
  init: "normal" | "uniform";
  /** Hold out this last fraction of the tokens and report its perplexity; default 0. */
  valFraction: number;
  /** Prefixes to continue every `predEvery` epochs; default `["分开", "不分开"]`. */
  prefixes: string[];
  /** Generate (and report) every this many epochs, and after the last; 0: never; default 50. */
  predEvery: number;
  /** Tokens generated after each prefix; default 50. */
  predLen: number;
}

/**
 * Everything a training run on the command line is set by: the model, the text, the training,
 * and the corpus. A checkpoint records it whole.
 */
export interface RunConfig
  extends Omit<ModelConfig, "vocabSize" | "inputSize">, TextConfig, TrainConfig {
  /** `"jaychou"` (the default), `"timemachine"`, or the path of a `.txt` or `.zip` file. */
  corpus: string;
}

/** What a setting holds and which values it takes. */
export interface Setting {
  /** Which config type it belongs to. */
  readonly group: "model" | "text" | "train" | "run";
  /** Its kind of value. */
  readonly kind: "int" | "number" | "choice" | "bool" | "list" | "string";
  /** Its value when not given (computed from the others for `lr`); absent: required. */
  readonly default?: unknown;
  /** The smallest value allowed (numbers). */
  readonly min?: number;
  /** The largest value allowed, or the bound it must stay below with `below`. */
  readonly max?: number;
  /** Whether `max` is excluded. */
  readonly below?: boolean;
  /** The values allowed (choices). */
  readonly choices?: readonly string[];
  /** Whether it has no command-line flag (it comes from the data). */
  readonly derived?: boolean;
  /** One line for `--help`. */
  readonly help: string;
}

type Table<T> = { readonly [K in keyof T]-?: Setting };

const MODEL: Table<ModelConfig> = {
  cell: {
    group: "model",
    kind: "choice",
    choices: ["rnn", "gru", "lstm"],
    default: "rnn",
    help: "the recurrent cell",
  },
  hidden: {
    group: "model",
    kind: "int",
    min: 1,
    max: 65536,
    default: 256,
    help: "hidden units of every layer",
  },
  layers: {
    group: "model",
    kind: "int",
    min: 1,
    max: 64,
    default: 1,
    help: "recurrent layers stacked, each feeding the next",
  },
  activation: {
    group: "model",
    kind: "choice",
    choices: ["tanh", "relu"],
    default: "tanh",
    help: "the vanilla cell's nonlinearity",
  },
  gruVariant: {
    group: "model",
    kind: "choice",
    choices: ["book", "pytorch"],
    default: "book",
    help: "the GRU: the book's, or PyTorch's nn.GRU (exportable)",
  },
  vocabSize: {
    group: "model",
    kind: "int",
    min: 0,
    derived: true,
    help: "tokens in the vocabulary",
  },
  inputSize: {
    group: "model",
    kind: "int",
    min: 0,
    default: 0,
    derived: true,
    help: "dense input width",
  },
};

const TEXT: Table<TextConfig> = {
  tokens: {
    group: "text",
    kind: "choice",
    choices: ["char", "word"],
    default: "char",
    help: "char, or word (separated by whitespace)",
  },
  normalize: {
    group: "text",
    kind: "choice",
    choices: ["none", "letters"],
    default: "none",
    help: "none: every character; letters: a-z and spaces",
  },
  maxTokens: {
    group: "text",
    kind: "int",
    min: 0,
    default: 10000,
    help: "keep the first N tokens; 0 keeps all",
  },
  minFreq: {
    group: "text",
    kind: "int",
    min: 0,
    default: 0,
    help: "words seen fewer than N times become <unk>",
  },
};

const TRAIN: Table<TrainConfig> = {
  epochs: { group: "train", kind: "int", min: 1, default: 250, help: "passes over the corpus" },
  batchSize: { group: "train", kind: "int", min: 1, default: 32, help: "sequences per minibatch" },
  numSteps: { group: "train", kind: "int", min: 1, default: 35, help: "time steps per sequence" },
  optimizer: {
    group: "train",
    kind: "choice",
    choices: ["sgd", "adam"],
    default: "sgd",
    help: "sgd (from scratch) or adam (concise runs)",
  },
  lr: {
    group: "train",
    kind: "number",
    min: 0,
    default: (c: Partial<TrainConfig>) => c.optimizer === "adam" ? 0.001 : 100,
    help: "learning rate [100 for sgd, 0.001 for adam]",
  },
  clip: {
    group: "train",
    kind: "number",
    min: 0,
    default: 0.01,
    help: "clip the global gradient norm to X; 0 turns it off",
  },
  dropout: {
    group: "train",
    kind: "number",
    min: 0,
    max: 1,
    below: true,
    default: 0,
    help: "drop each output of a layer feeding another (2+ layers)",
  },
  sampling: {
    group: "train",
    kind: "choice",
    choices: ["random", "sequential"],
    default: "random",
    help: "random (state reset per minibatch) or sequential",
  },
  randomOffset: {
    group: "train",
    kind: "bool",
    default: false,
    help: "start each epoch at a random offset (2nd edition)",
  },
  seed: {
    group: "train",
    kind: "int",
    min: 0,
    max: 2 ** 32 - 1,
    default: 0,
    help: "seed of the weights, the sampler and dropout",
  },
  init: {
    group: "train",
    kind: "choice",
    choices: ["normal", "uniform"],
    default: "normal",
    help: "normal: N(0, 0.01²) (the book); uniform: PyTorch's ±1/√H",
  },
  valFraction: {
    group: "train",
    kind: "number",
    min: 0,
    max: 1,
    below: true,
    default: 0,
    help: "hold out the last fraction X and report its perplexity",
  },
  prefixes: {
    group: "train",
    kind: "list",
    default: ["分开", "不分开"],
    help: "prefixes to continue, comma-separated",
  },
  predEvery: {
    group: "train",
    kind: "int",
    min: 0,
    default: 50,
    help: "generate and report every N epochs (0: never)",
  },
  predLen: {
    group: "train",
    kind: "int",
    min: 0,
    default: 50,
    help: "tokens to generate per prefix",
  },
};

/** The one table: every setting by name (see the module doc). */
export const SETTINGS: Readonly<Record<string, Setting>> = Object.freeze({
  ...MODEL,
  ...TEXT,
  ...TRAIN,
  corpus: {
    group: "run",
    kind: "string",
    default: "jaychou",
    help: "jaychou, timemachine, or a .txt/.zip file",
  } satisfies Setting,
});

/** The names of the settings of one group, in table order. */
export function settingNames(...groups: Setting["group"][]): string[] {
  return Object.keys(SETTINGS).filter((k) => groups.includes(SETTINGS[k].group));
}

/** What values a setting takes, in words: "an integer >= 1", "one of rnn, gru, lstm". */
export function describe(name: string): string {
  const s = SETTINGS[name];
  switch (s.kind) {
    case "int":
    case "number": {
      const what = s.kind === "int" ? "an integer" : "a number";
      if (s.max !== undefined) {
        return `${what} in [${s.min}, ${s.max}${s.below ? ")" : "]"}`;
      }
      return `${what} >= ${s.min}`;
    }
    case "choice":
      return `one of ${s.choices!.join(", ")}`;
    case "bool":
      return "true or false";
    case "list":
      return "a list of non-empty strings";
    case "string":
      return "a non-empty string";
  }
}

/** Whether `value` is allowed for the setting. */
function fits(name: string, value: unknown): boolean {
  const s = SETTINGS[name];
  switch (s.kind) {
    case "int":
    case "number":
      return typeof value === "number" && Number.isFinite(value) &&
        (s.kind === "number" || Number.isSafeInteger(value)) && value >= (s.min ?? -Infinity) &&
        (s.max === undefined || (s.below ? value < s.max : value <= s.max));
    case "choice":
      return typeof value === "string" && s.choices!.includes(value);
    case "bool":
      return typeof value === "boolean";
    case "list":
      return Array.isArray(value) && value.every((x) => typeof x === "string" && x.length > 0);
    case "string":
      return typeof value === "string" && value.length > 0;
  }
}

/**
 * Checks one value against the table.
 *
 * @throws {UsageError} `{name} must be <describe>, got <value>`.
 */
export function checkSetting(name: string, value: unknown): void {
  if (!Object.hasOwn(SETTINGS, name)) throw new UsageError(`unknown setting "${name}"`);
  if (!fits(name, value)) {
    throw new UsageError(`{${name}} must be ${describe(name)}, got ${shown(value)}`);
  }
}

/** A value as a message shows it: numbers as JavaScript prints them (NaN, Infinity), else JSON. */
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

/**
 * The settings of the given groups: each given value checked, each missing one its default.
 * Unknown names are ignored (the caller's options hold other things too); cross-setting rules
 * are the caller's (see {@linkcode resolveTrainConfig}).
 */
function resolve<T>(
  groups: Setting["group"][],
  given: Readonly<Record<string, unknown>>,
  derived = true,
): T {
  const names = settingNames(...groups).filter((n) => derived || !SETTINGS[n].derived);
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = given[name];
    if (value !== undefined) {
      checkSetting(name, value);
      out[name] = Array.isArray(value) ? [...value] : value;
    }
  }
  for (const name of names) {
    if (out[name] !== undefined) continue;
    const d = SETTINGS[name].default;
    if (d === undefined) throw new UsageError(`{${name}} is required`);
    out[name] = typeof d === "function" ? d(out) : Array.isArray(d) ? [...d] : d;
  }
  return out as T;
}

/**
 * A model's config with defaults filled in and every value checked.
 *
 * @param given The settings given; `vocabSize` is required.
 * @returns The full config.
 * @throws {UsageError} When a value is out of range, `vocabSize` is missing, or neither
 * `vocabSize` nor `inputSize` is above 0.
 * @example The book's model
 * ```ts
 * import { resolveModelConfig } from "./settings.ts";
 * console.log(resolveModelConfig({ vocabSize: 1027 }).hidden); // 256
 * ```
 */
export function resolveModelConfig(given: Readonly<Partial<ModelConfig>>): ModelConfig {
  const config = resolve<ModelConfig>(["model"], given);
  if (config.vocabSize === 0 && config.inputSize === 0) {
    throw new UsageError("{vocabSize} must be at least 1 (or give {inputSize} for dense inputs)");
  }
  return config;
}

/**
 * Text settings with defaults filled in and every value checked.
 *
 * @param given The settings given.
 * @returns The full text settings.
 * @throws {UsageError} When a value is out of range, or `minFreq` is set for character tokens.
 * @example The English edition's words
 * ```ts
 * import { resolveTextConfig } from "./settings.ts";
 * console.log(resolveTextConfig({ tokens: "word", normalize: "letters" }).maxTokens); // 10000
 * ```
 */
export function resolveTextConfig(given: Readonly<Partial<TextConfig>>): TextConfig {
  const config = resolve<TextConfig>(["text"], given);
  if (config.minFreq > 0 && config.tokens !== "word") {
    throw new UsageError("{minFreq} applies to word tokens; set {tokens} to word");
  }
  return config;
}

/**
 * Training settings with defaults filled in and every value checked; `lr` defaults by optimizer.
 *
 * @param given The settings given.
 * @returns The full training settings.
 * @throws {UsageError} When a value is out of range.
 * @example Adam's default learning rate
 * ```ts
 * import { resolveTrainConfig } from "./settings.ts";
 * console.log(resolveTrainConfig({ optimizer: "adam" }).lr); // 0.001
 * ```
 */
export function resolveTrainConfig(given: Readonly<Partial<TrainConfig>>): TrainConfig {
  return resolve<TrainConfig>(["train"], given);
}

/**
 * A whole run's settings (see {@linkcode RunConfig}) with defaults filled in and every value and
 * cross-setting rule checked: what the command line and a checkpoint hold.
 *
 * @param given The settings given.
 * @returns The full settings.
 * @throws {UsageError} When a value is out of range or two settings conflict.
 * @example The defaults: the book's Jay Chou run
 * ```ts
 * import { resolveRunConfig } from "./settings.ts";
 * const run = resolveRunConfig({});
 * console.log(run.corpus, run.hidden, run.epochs, run.lr); // "jaychou" 256 250 100
 * ```
 */
export function resolveRunConfig(given: Readonly<Partial<RunConfig>>): RunConfig {
  const run = resolve<RunConfig>(["model", "text", "train", "run"], given, false);
  resolveTextConfig(run);
  if (run.dropout > 0 && run.layers < 2) {
    throw new UsageError("{dropout} applies between stacked layers; set {layers} to 2 or more");
  }
  return run;
}

/**
 * Parses a command-line value for a setting: numbers, choices, `true`/`false`, comma-separated
 * lists.
 *
 * @param name The setting.
 * @param text The flag's value as typed.
 * @returns The value, checked.
 * @throws {UsageError} `--name must be <describe>, got "<text>"`.
 * @example A number and a list
 * ```ts
 * import { parseSetting } from "./settings.ts";
 * console.log(parseSetting("lr", "0.5"), parseSetting("prefixes", "a,b")); // 0.5 ["a", "b"]
 * ```
 */
export function parseSetting(name: string, text: string): unknown {
  if (!Object.hasOwn(SETTINGS, name)) throw new UsageError(`unknown setting "${name}"`);
  const s = SETTINGS[name];
  let value: unknown = text;
  if (s.kind === "int" || s.kind === "number") value = text.trim() === "" ? NaN : Number(text);
  else if (s.kind === "bool") value = text === "true" ? true : text === "false" ? false : text;
  else if (s.kind === "list") value = text.split(",").filter((x) => x.length > 0);
  if (!fits(name, value)) {
    throw new UsageError(`{${name}} must be ${describe(name)}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** A setting's command-line flag, without the dashes: `numSteps` → `num-steps`. */
export function flagOf(name: string): string {
  return kebab(name);
}
