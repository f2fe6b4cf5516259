import assert from "node:assert/strict";
import { type CommandFlags, flagHelp, parseFlags } from "./args.ts";
import { UsageError } from "../errors.ts";

/** A command with settings of every kind and flags of its own. */
const FLAGS: CommandFlags = {
  settings: ["batchSize", "numSteps", "lr", "prefixes", "cell", "randomOffset", "seed", "corpus"],
  own: {
    model: { type: "string", value: "FILE", help: "the checkpoint" },
    prefix: { type: "string", multiple: true, value: "TEXT", help: "text to continue" },
    length: { type: "string", value: "N", help: "tokens to generate" },
    json: { type: "boolean", help: "JSON lines" },
  },
};

/** Asserts that parsing `args` throws a UsageError whose command-line form matches `pattern`. */
function assertRefused(args: string[], pattern: RegExp): UsageError {
  let error: unknown;
  assert.throws(() => parseFlags(args, FLAGS), (e: unknown) => {
    error = e;
    return true;
  });
  assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
  assert.match(error.forCli(), pattern, args.join(" "));
  return error;
}

Deno.test("parseFlags() parses settings through the table, by setting name", () => {
  const { settings, own } = parseFlags(
    [
      ...["--batch-size", "4", "--num-steps", "8", "--lr", "0.5", "--prefixes", "分开,不分开"],
      ...["--cell", "gru", "--random-offset", "--seed", "7", "--corpus", "lyrics.txt"],
    ],
    FLAGS,
  );
  assert.deepEqual(settings, {
    batchSize: 4,
    numSteps: 8,
    lr: 0.5,
    prefixes: ["分开", "不分开"],
    cell: "gru",
    randomOffset: true,
    seed: 7,
    corpus: "lyrics.txt",
  });
  assert.deepEqual(own, {});
  // Only what was given: defaults are the caller's, from the same table.
  assert.deepEqual(parseFlags([], FLAGS), { settings: {}, own: {} });
  assert.deepEqual(parseFlags(["--lr=2"], FLAGS).settings, { lr: 2 });
});

Deno.test("parseFlags() checks each setting's value and names it by its flag", () => {
  for (
    const [args, pattern] of [
      [["--batch-size", "0"], /^--batch-size must be an integer >= 1, got "0"$/],
      [["--batch-size", "abc"], /^--batch-size must be an integer >= 1, got "abc"$/],
      [["--batch-size", "2.5"], /^--batch-size must be an integer >= 1, got "2\.5"$/],
      [["--batch-size", ""], /^--batch-size must be an integer >= 1, got ""$/],
      [["--num-steps", "0"], /^--num-steps must be an integer >= 1, got "0"$/],
      [["--lr", "1e400"], /^--lr must be a number >= 0, got "1e400"$/],
      [["--cell", "GRU"], /^--cell must be one of rnn, gru, lstm, got "GRU"$/],
      [["--seed", "4294967296"], /^--seed must be an integer in \[0, 4294967295\]/],
    ] as const
  ) {
    const e = assertRefused([...args], pattern);
    // The library's form of the same message uses the option name.
    assert.doesNotMatch(e.message, /--/);
  }
  assert.match(
    assertRefused(["--num-steps", "x"], /--num-steps/).message,
    /^numSteps must be an integer >= 1/,
  );
});

Deno.test("parseFlags() refuses unknown flags, other commands' flags and positionals", () => {
  assertRefused(["--bogus"], /'--bogus'/);
  // A setting of the table that this command does not take.
  assertRefused(["--hidden", "16"], /'--hidden'/);
  // The old names are gone.
  assertRefused(["--batch", "4"], /'--batch'/);
  assertRefused(["--steps", "8"], /'--steps'/);
  assertRefused(["stray"], /'stray'/);
  assertRefused(["--json", "stray"], /'stray'/);
  assertRefused(["--", "stray"], /'stray'/);
  assertRefused(["-h"], /'-h'/);
  assertRefused(["--model"], /'--model/);
  assertRefused(["--batch-size"], /'--batch-size/);
});

Deno.test("parseFlags() keeps every value of a repeatable flag, in order; otherwise the last", () => {
  assert.deepEqual(parseFlags(["--prefix", "b", "--prefix", "a"], FLAGS).own, {
    prefix: ["b", "a"],
  });
  assert.deepEqual(parseFlags(["--prefix", "a"], FLAGS).own, { prefix: ["a"] });
  assert.deepEqual(parseFlags(["--lr", "1", "--lr", "2"], FLAGS).settings, { lr: 2 });
  assert.deepEqual(parseFlags(["--model", "a", "--model", "b"], FLAGS).own, { model: "b" });
  assert.deepEqual(parseFlags(["--json", "--json"], FLAGS).own, { json: true });
});

Deno.test("parseFlags() reads a negative number after a flag as its value", () => {
  for (
    const [spaced, joined] of [
      [["--seed", "-1"], ["--seed=-1"]],
      [["--lr", "-0.5"], ["--lr=-0.5"]],
      [["--lr", "-.5"], ["--lr=-.5"]],
      [["--lr", "-Infinity"], ["--lr=-Infinity"]],
    ]
  ) {
    const a = assertRefused(spaced, new RegExp(`^${spaced[0]} must be .*, got "${spaced[1]}"$`));
    const b = assertRefused(joined, /must be/);
    assert.equal(a.forCli(), b.forCli());
  }
  // A command's own flag gets the text, to check as it checks any value.
  assert.deepEqual(parseFlags(["--length", "-3"], FLAGS).own, { length: "-3" });
  assert.deepEqual(parseFlags(["--length", "-1e3"], FLAGS).own, { length: "-1e3" });
  assert.deepEqual(parseFlags(["--corpus", "-1"], FLAGS).settings, { corpus: "-1" });
  // After a flag without a value, a negative number is not taken as one.
  assertRefused(["--json", "-1"], /'-1'/);
  assertRefused(["--random-offset", "-1"], /'-1'/);
  // Only numbers: a word starting with a dash is not joined.
  assertRefused(["--corpus", "-x"], /'--corpus'/);
});

Deno.test("parseFlags() reads booleans as present or absent, never with a value", () => {
  assert.deepEqual(parseFlags(["--random-offset", "--json"], FLAGS), {
    settings: { randomOffset: true },
    own: { json: true },
  });
  assert.deepEqual(parseFlags(["--seed", "1"], FLAGS).settings.randomOffset, undefined);
  assertRefused(["--random-offset=false"], /'--random-offset' does not take an argument/);
  assertRefused(["--json=true"], /'--json' does not take an argument/);
  assertRefused(["--random-offset", "true"], /'true'/);
});

Deno.test("flagHelp() lists the settings from the table, then the command's own flags", () => {
  const help = flagHelp(FLAGS);
  const lines = help.split("\n");
  assert.deepEqual(lines.map((l) => /^ {2}(--[a-z-]+)/.exec(l)?.[1]), [
    "--batch-size",
    "--num-steps",
    "--lr",
    "--prefixes",
    "--cell",
    "--random-offset",
    "--seed",
    "--corpus",
    "--model",
    "--prefix",
    "--length",
    "--json",
  ]);
  // The value's kind, then the table's help and default.
  assert.match(help, /^ {2}--batch-size N +sequences per minibatch \[32\]$/m);
  assert.match(help, /^ {2}--num-steps N +time steps per sequence \[35\]$/m);
  assert.match(help, /^ {2}--cell rnn\|gru\|lstm +the recurrent cell \[rnn\]$/m);
  assert.match(help, /^ {2}--prefixes A,B +.* \[分开,不分开\]$/m);
  assert.match(help, /^ {2}--lr X +learning rate \[100 for sgd, 0\.001 for adam\]$/m);
  // Booleans take no value and show no default.
  assert.match(help, /^ {2}--random-offset +start each epoch at a random offset \(2nd edition\)$/m);
  assert.match(help, /^ {2}--model FILE +the checkpoint$/m);
  assert.match(help, /^ {2}--json +JSON lines$/m);
  // The help texts start in one column.
  const column = lines.map((l) => /^ {2}--\S+(?: \S+)? +/.exec(l)![0].length);
  assert.equal(new Set(column).size, 1, help);
  // Other defaults, e.g. a checkpoint's, replace the table's.
  assert.match(
    flagHelp(FLAGS, { batchSize: 7 }),
    /^ {2}--batch-size N +sequences per minibatch \[7\]$/m,
  );
});

Deno.test("flagHelp() puts the help of a long flag on the next line, in the same column", () => {
  const help = flagHelp({ settings: ["sampling", "seed"], own: {} });
  const lines = help.split("\n");
  assert.equal(lines[0], "  --sampling random|sequential");
  const column = lines[1].search(/\S/);
  assert.ok(lines[1].slice(column).startsWith("random (state reset per minibatch)"), lines[1]);
  assert.equal(lines[2].search(/(?<= {2})seed of/), column, help);
});
