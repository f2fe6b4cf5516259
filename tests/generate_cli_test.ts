// `generate`'s sampling, stop, <unk>, streaming and batch flags, run as a user would: a subprocess.
import assert from "node:assert/strict";
import { assertUsageError, cli, SMALL_MODEL } from "./_cli.ts";
import { loadCheckpoint } from "../src/io/checkpoint.ts";
import { generate, generateBatch, type GenerateOptions } from "../src/generate/generate.ts";

const LYRICS = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(10);
const WORDS = "The Time Traveller (for so it will be convenient to speak of him)\n".repeat(20);

/** Trains a tiny model on `text` into `dir` and returns its checkpoint's path. */
async function tinyModel(dir: string, text: string, ...flags: string[]): Promise<string> {
  const corpus = `${dir}/corpus.txt`, model = `${dir}/m.safetensors`;
  await Deno.writeTextFile(corpus, text);
  const t = await cli(
    "train",
    "--corpus",
    corpus,
    "--max-tokens",
    "0",
    ...SMALL_MODEL,
    "--epochs",
    "3",
    "--lr",
    "1",
    "--clip",
    "1",
    "--pred-every",
    "0",
    "--save",
    model,
    ...flags,
  );
  assert.equal(t.code, 0, t.stderr);
  return model;
}

Deno.test("generate samples with a seed, stops, streams and continues several prefixes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = await tinyModel(dir, LYRICS);
    const gen = (...flags: string[]) =>
      cli("generate", "--model", model, "--length", "20", ...flags);
    // What the library gives for the same checkpoint and options.
    const ckpt = await loadCheckpoint(model);
    const library = (prefix: string, options: GenerateOptions = {}) =>
      generate(ckpt.model, ckpt.vocab, prefix, { length: 20, text: ckpt.text, ...options });

    const greedy = await gen("--prefix", "分开");
    assert.equal(greedy.code, 0, greedy.stderr);
    assert.equal(Array.from(greedy.stdout.trim()).length, 22);
    assert.equal(greedy.stdout, `${await library("分开")}\n`);
    // Top-k 1 is greedy; a seed repeats its sample.
    assert.equal((await gen("--temperature", "1", "--top-k", "1")).stdout, greedy.stdout);
    const sample = await gen("--temperature", "1.5", "--top-p", "0.9", "--seed", "7");
    assert.equal(sample.code, 0, sample.stderr);
    const sampled = await library("分开", { temperature: 1.5, topP: 0.9, seed: 7 });
    assert.equal(sample.stdout, `${sampled}\n`);
    assert.notEqual(sampled, await library("分开", { temperature: 1.5, topP: 0.9, seed: 8 }));
    assert.equal(
      (await gen("--temperature", "1.5", "--top-p", "0.9", "--seed", "7")).stdout,
      sample.stdout,
    );

    // Streaming prints the same text.
    const streamed = await gen("--temperature", "1.5", "--top-p", "0.9", "--seed", "7", "--stream");
    assert.equal(streamed.stdout, sample.stdout);

    // --stop: the text ends at the first stop string, kept.
    const generated = greedy.stdout.trim().slice(2), stop = generated[4];
    const stopped = await gen("--stop", "no such", "--stop", stop);
    assert.equal(stopped.stdout.trim(), "分开" + generated.slice(0, generated.indexOf(stop) + 1));
    assert.equal(stopped.stdout.trim(), await library("分开", { stop: ["no such", stop] }));

    // Several prefixes: one line each, each as it would be alone (prefix i with seed + i).
    const twoPrefixes = [
      "--prefix",
      "分开",
      "--prefix",
      "窗外",
      "--temperature",
      "1",
      "--seed",
      "3",
    ];
    const batch = await gen(...twoPrefixes);
    assert.equal(batch.code, 0, batch.stderr);
    const second = await gen("--prefix", "窗外", "--temperature", "1", "--seed", "4");
    const lines = batch.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines[0].startsWith("分开"));
    assert.equal(lines[1], second.stdout.trim());
    assert.deepEqual(
      lines,
      await generateBatch(ckpt.model, ckpt.vocab, ["分开", "窗外"], {
        length: 20,
        text: ckpt.text,
        temperature: 1,
        seed: 3,
      }),
    );
    const batchStreamed = await gen(...twoPrefixes, "--stream");
    assert.equal(batchStreamed.stdout, batch.stdout);

    // The Chinese edition's vocabulary has no <unk>, so --unknown unk cannot help.
    assertUsageError(await gen("--prefix", "分开X", "--unknown", "unk"), /"X".*no <unk>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate --unknown unk feeds <unk> for words the vocabulary lacks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = await tinyModel(dir, WORDS, "--tokens", "word", "--normalize", "letters");
    const refused = await cli(
      "generate",
      "--model",
      model,
      "--prefix",
      "the zebra",
      "--length",
      "3",
    );
    assertUsageError(refused, /"zebra"/);
    const g = await cli(
      "generate",
      "--model",
      model,
      "--prefix",
      "the zebra",
      "--length",
      "3",
      "--unknown",
      "unk",
    );
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout.trim(), /^the zebra( [a-z<>]+){3}$/);
    const { model: m, vocab, text } = await loadCheckpoint(model);
    assert.equal(
      g.stdout.trim(),
      await generate(m, vocab, "the zebra", { length: 3, text, unknown: "unk" }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate's bad flags exit with code 2 and one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = await tinyModel(dir, LYRICS);
    const gen = (...flags: string[]) => cli("generate", "--model", model, ...flags);
    assertUsageError(await gen("--temperature=-1"), /--temperature .*"-1"/);
    assertUsageError(await gen("--temperature", "hot"), /--temperature .*"hot"/);
    assertUsageError(await gen("--temperature", "1", "--top-k", "0"), /--top-k .*"0"/);
    assertUsageError(await gen("--temperature", "1", "--top-k", "2.5"), /--top-k .*"2\.5"/);
    // The library checks --top-p's range and shows the value as a number, not as typed.
    assertUsageError(
      await gen("--temperature", "1", "--top-p", "0"),
      /--top-p must be in \(0, 1\], got 0 /,
    );
    assertUsageError(
      await gen("--temperature", "1", "--top-p", "1.5"),
      /--top-p must be in \(0, 1\], got 1\.5 /,
    );
    assertUsageError(await gen("--top-k", "3"), /--top-k applies when sampling/);
    assertUsageError(await gen("--seed", "x"), /--seed .*"x"/);
    assertUsageError(await gen("--length=-2"), /--length .*"-2"/);
    assertUsageError(await gen("--length", "-2"), /--length .*"-2"/);
    assertUsageError(await gen("--length", "1e9"), /--length must be an integer from 0 to 1000000/);
    assertUsageError(await gen("--stop", ""), /--stop/);
    assertUsageError(
      await gen("--unknown", "yes"),
      /--unknown must be one of error, unk, got "yes"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
