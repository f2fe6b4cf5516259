import assert from "node:assert/strict";
import { kebab, UsageError } from "../errors.ts";
import { PRESETS } from "./presets.ts";
import {
  checkSetting,
  describe,
  flagOf,
  parseSetting,
  resolveModelConfig,
  resolveRunConfig,
  resolveTextConfig,
  resolveTrainConfig,
  type RunConfig,
  settingNames,
  SETTINGS,
} from "./settings.ts";

/** Asserts `fn` throws a UsageError with exactly this message and this `forCli()` form. */
function usage(fn: () => unknown, message: string | RegExp, cli?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    if (cli !== undefined) assert.equal(e.forCli(), cli);
    return true;
  });
}

Deno.test("every preset uses the table's names and resolves through resolveRunConfig()", () => {
  assert.deepEqual(Object.keys(PRESETS), [
    "scratch-rnn",
    "concise-rnn",
    "scratch-gru",
    "scratch-lstm",
    "concise-gru",
    "concise-lstm",
    "timemachine",
  ]);
  for (const [name, preset] of Object.entries(PRESETS)) {
    assert.ok(preset.description.length > 0, name);
    for (const key of Object.keys(preset.settings)) {
      assert.ok(Object.hasOwn(SETTINGS, key), `${name}: ${key} is not a setting`);
      assert.ok(!SETTINGS[key].derived, `${name}: ${key} comes from the data`);
    }
    const run = resolveRunConfig(preset.settings);
    // What the preset fixes is kept; everything else is filled in.
    for (const [key, value] of Object.entries(preset.settings)) {
      assert.deepEqual(run[key as keyof RunConfig], value, `${name}: ${key}`);
    }
    assert.deepEqual(
      Object.keys(run).sort(),
      settingNames("model", "text", "train", "run").filter((n) => !SETTINGS[n].derived).sort(),
      name,
    );
  }
  // The defaults are the book's from-scratch RNN on Jay Chou.
  assert.deepEqual(resolveRunConfig(PRESETS["scratch-rnn"].settings), resolveRunConfig({}));
  assert.equal(resolveRunConfig(PRESETS["concise-gru"].settings).gruVariant, "pytorch");
  assert.equal(resolveRunConfig(PRESETS.timemachine.settings).normalize, "letters");
});

Deno.test("every setting's default passes checkSetting(); lr's depends on the optimizer", () => {
  for (const [name, setting] of Object.entries(SETTINGS)) {
    assert.ok(setting.help.length > 0, name);
    if (setting.default === undefined) {
      assert.equal(name, "vocabSize", `${name} has no default`);
      continue;
    }
    if (typeof setting.default === "function") continue;
    checkSetting(name, setting.default);
  }
  for (const optimizer of ["sgd", "adam"] as const) {
    const { lr } = resolveTrainConfig({ optimizer });
    assert.equal(lr, optimizer === "adam" ? 0.001 : 100);
    checkSetting("lr", lr);
  }
  usage(() => resolveModelConfig({}), "vocabSize is required");
  usage(
    () => resolveModelConfig({ vocabSize: 0 }),
    "vocabSize must be at least 1 (or give inputSize for dense inputs)",
    "--vocab-size must be at least 1 (or give --input-size for dense inputs)",
  );
  assert.equal(resolveModelConfig({ vocabSize: 0, inputSize: 3 }).inputSize, 3);
  // Defaults are copied, not shared: changing one result leaves the next alone.
  const first = resolveTrainConfig({});
  first.prefixes.push("x");
  assert.deepEqual(resolveTrainConfig({}).prefixes, ["分开", "不分开"]);
});

Deno.test("out-of-range values are UsageErrors naming the setting and what it takes", () => {
  const cases: [string, unknown, string][] = [
    // Integers, with and without an upper bound.
    ["hidden", 0, "hidden must be an integer in [1, 65536], got 0"],
    ["hidden", 65537, "hidden must be an integer in [1, 65536], got 65537"],
    ["hidden", 1.5, "hidden must be an integer in [1, 65536], got 1.5"],
    ["layers", 65, "layers must be an integer in [1, 64], got 65"],
    ["epochs", 0, "epochs must be an integer >= 1, got 0"],
    ["batchSize", -3, "batchSize must be an integer >= 1, got -3"],
    ["maxTokens", "10", 'maxTokens must be an integer >= 0, got "10"'],
    ["seed", 2 ** 32, "seed must be an integer in [0, 4294967295], got 4294967296"],
    // Numbers, with `below` (the upper bound excluded).
    ["dropout", 1, "dropout must be a number in [0, 1), got 1"],
    ["dropout", -0.1, "dropout must be a number in [0, 1), got -0.1"],
    ["valFraction", 1, "valFraction must be a number in [0, 1), got 1"],
    ["lr", -1, "lr must be a number >= 0, got -1"],
    ["clip", "0.01", 'clip must be a number >= 0, got "0.01"'],
    // Choices.
    ["cell", "transformer", 'cell must be one of rnn, gru, lstm, got "transformer"'],
    ["activation", "gelu", 'activation must be one of tanh, relu, got "gelu"'],
    ["tokens", "byte", 'tokens must be one of char, word, got "byte"'],
    ["optimizer", "SGD", 'optimizer must be one of sgd, adam, got "SGD"'],
    // Lists, booleans, strings.
    ["prefixes", ["a", ""], 'prefixes must be a list of non-empty strings, got ["a",""]'],
    ["prefixes", "a,b", 'prefixes must be a list of non-empty strings, got "a,b"'],
    ["prefixes", [1], "prefixes must be a list of non-empty strings, got [1]"],
    ["randomOffset", "yes", 'randomOffset must be true or false, got "yes"'],
    ["corpus", "", 'corpus must be a non-empty string, got ""'],
  ];
  for (const [name, value, message] of cases) {
    usage(
      () => checkSetting(name, value),
      message,
      `--${kebab(name)}${message.slice(name.length)}`,
    );
  }
  // Not finite is out of range for every number (the message names the setting).
  for (const value of [NaN, Infinity, -Infinity]) {
    usage(() => checkSetting("lr", value), /^lr must be a number >= 0, got /);
    usage(() => checkSetting("hidden", value), /^hidden must be an integer in \[1, 65536\], got /);
  }
  usage(() => checkSetting("batch", 32), 'unknown setting "batch"');
  // The resolvers check what they are given the same way.
  usage(() => resolveModelConfig({ vocabSize: 3, hidden: 0 }), /^hidden must be an integer/);
  usage(() => resolveTextConfig({ tokens: "byte" as "char" }), /^tokens must be one of char/);
  usage(() => resolveTrainConfig({ dropout: 1 }), "dropout must be a number in [0, 1), got 1");
  usage(
    () => resolveRunConfig({ numSteps: 0 }),
    "numSteps must be an integer >= 1, got 0",
    "--num-steps must be an integer >= 1, got 0",
  );
  // describe() says what each kind takes.
  assert.equal(describe("hidden"), "an integer in [1, 65536]");
  assert.equal(describe("epochs"), "an integer >= 1");
  assert.equal(describe("dropout"), "a number in [0, 1)");
  assert.equal(describe("lr"), "a number >= 0");
  assert.equal(describe("cell"), "one of rnn, gru, lstm");
  assert.equal(describe("prefixes"), "a list of non-empty strings");
  assert.equal(describe("randomOffset"), "true or false");
});

Deno.test("UsageError.forCli() names every setting as its --kebab-case flag", () => {
  const e = new UsageError("{numSteps} and {batchSize} must fit the corpus; see {valFraction}");
  assert.equal(e.message, "numSteps and batchSize must fit the corpus; see valFraction");
  assert.equal(e.forCli(), "--num-steps and --batch-size must fit the corpus; see --val-fraction");
  assert.equal(e.name, "UsageError");
  assert.ok(e instanceof Error);
  assert.equal(new UsageError("no settings named").forCli(), "no settings named");
  const flags: Record<string, string> = {
    numSteps: "num-steps",
    batchSize: "batch-size",
    maxTokens: "max-tokens",
    minFreq: "min-freq",
    gruVariant: "gru-variant",
    randomOffset: "random-offset",
    valFraction: "val-fraction",
    predEvery: "pred-every",
    predLen: "pred-len",
    lr: "lr",
    cell: "cell",
  };
  for (const [name, flag] of Object.entries(flags)) {
    assert.equal(flagOf(name), flag);
    assert.equal(kebab(name), flag);
  }
  for (const name of Object.keys(SETTINGS)) {
    const flag = flagOf(name);
    assert.match(flag, /^[a-z]+(-[a-z]+)*$/, name);
    // One name per setting: the flag turns back into the option name.
    assert.equal(flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), name);
  }
});

Deno.test("settings that conflict are UsageErrors: minFreq with characters, dropout with 1 layer", () => {
  usage(
    () => resolveRunConfig({ minFreq: 2 }),
    "minFreq applies to word tokens; set tokens to word",
    "--min-freq applies to word tokens; set --tokens to word",
  );
  usage(() => resolveTextConfig({ minFreq: 1, tokens: "char" }), /^minFreq applies to word/);
  assert.equal(resolveRunConfig({ minFreq: 2, tokens: "word" }).minFreq, 2);
  assert.equal(resolveTextConfig({ minFreq: 2, tokens: "word" }).minFreq, 2);
  usage(
    () => resolveRunConfig({ dropout: 0.2 }),
    "dropout applies between stacked layers; set layers to 2 or more",
    "--dropout applies between stacked layers; set --layers to 2 or more",
  );
  usage(() => resolveRunConfig({ dropout: 0.2, layers: 1 }), /^dropout applies between/);
  assert.equal(resolveRunConfig({ dropout: 0.2, layers: 2 }).dropout, 0.2);
  // The training settings alone do not know the model's layers.
  assert.equal(resolveTrainConfig({ dropout: 0.2 }).dropout, 0.2);
});

Deno.test("parseSetting() reads numbers, negative numbers, lists and booleans as typed", () => {
  assert.equal(parseSetting("lr", "0.5"), 0.5);
  assert.equal(parseSetting("lr", "1e-3"), 0.001);
  assert.equal(parseSetting("hidden", "128"), 128);
  assert.equal(parseSetting("seed", "4294967295"), 2 ** 32 - 1);
  // A negative number is read as one, then checked against the range.
  assert.ok(Object.is(parseSetting("lr", "-0"), -0));
  usage(
    () => parseSetting("lr", "-1"),
    'lr must be a number >= 0, got "-1"',
    '--lr must be a number >= 0, got "-1"',
  );
  usage(() => parseSetting("dropout", "-0.5"), 'dropout must be a number in [0, 1), got "-0.5"');
  usage(
    () => parseSetting("seed", "-1"),
    'seed must be an integer in [0, 4294967295], got "-1"',
  );
  // Not numbers at all.
  for (const text of ["", "  ", "abc", "1,5", "NaN", "Infinity"]) {
    usage(() => parseSetting("lr", text), `lr must be a number >= 0, got ${JSON.stringify(text)}`);
  }
  usage(
    () => parseSetting("hidden", "abc"),
    'hidden must be an integer in [1, 65536], got "abc"',
    '--hidden must be an integer in [1, 65536], got "abc"',
  );
  usage(() => parseSetting("hidden", ""), 'hidden must be an integer in [1, 65536], got ""');
  usage(() => parseSetting("epochs", "2.5"), 'epochs must be an integer >= 1, got "2.5"');
  // Lists: comma-separated, empty items dropped.
  assert.deepEqual(parseSetting("prefixes", "分开,不分开"), ["分开", "不分开"]);
  assert.deepEqual(parseSetting("prefixes", "time traveller,,traveller"), [
    "time traveller",
    "traveller",
  ]);
  assert.deepEqual(parseSetting("prefixes", "a"), ["a"]);
  // Booleans: exactly true or false.
  assert.equal(parseSetting("randomOffset", "true"), true);
  assert.equal(parseSetting("randomOffset", "false"), false);
  usage(
    () => parseSetting("randomOffset", "yes"),
    'randomOffset must be true or false, got "yes"',
    '--random-offset must be true or false, got "yes"',
  );
  // Choices and strings as typed.
  assert.equal(parseSetting("cell", "gru"), "gru");
  usage(() => parseSetting("cell", "GRU"), 'cell must be one of rnn, gru, lstm, got "GRU"');
  assert.equal(parseSetting("corpus", "data/lyrics.zip"), "data/lyrics.zip");
  usage(() => parseSetting("corpus", ""), 'corpus must be a non-empty string, got ""');
});
