// `generate`'s sampling, stop, <unk>, streaming and batch flags, run as a user would: a subprocess.
import assert from "node:assert/strict";
import { assertUsageError, cli, SMALL_MODEL } from "./_cli.ts";

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
    const gen = (...flags: string[]) => cli("generate", "--model", model, "--len", "20", ...flags);

    const greedy = await gen("--prefix", "分开");
    assert.equal(greedy.code, 0, greedy.stderr);
    assert.equal(Array.from(greedy.stdout.trim()).length, 22);
    // Top-k 1 is greedy; a seed repeats its sample.
    assert.equal((await gen("--temperature", "1", "--top-k", "1")).stdout, greedy.stdout);
    const sample = await gen("--temperature", "1.5", "--top-p", "0.9", "--seed", "7");
    assert.equal(sample.code, 0, sample.stderr);
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
    const batchStreamed = await gen(...twoPrefixes, "--stream");
    assert.equal(batchStreamed.stdout, batch.stdout);

    // The Chinese edition's vocabulary has no <unk>, so --unk cannot help.
    assertUsageError(await gen("--prefix", "分开X", "--unk"), /"X".*no <unk>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate --unk feeds <unk> for words the vocabulary lacks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = await tinyModel(dir, WORDS, "--tokens", "word", "--normalize", "letters");
    const refused = await cli("generate", "--model", model, "--prefix", "the zebra", "--len", "3");
    assertUsageError(refused, /"zebra"/);
    const g = await cli(
      "generate",
      "--model",
      model,
      "--prefix",
      "the zebra",
      "--len",
      "3",
      "--unk",
    );
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout.trim(), /^the zebra( [a-z<>]+){3}$/);
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
    assertUsageError(await gen("--temperature", "1", "--top-p", "0"), /--top-p .*\(0, 1\].*"0"/);
    assertUsageError(await gen("--temperature", "1", "--top-p", "1.5"), /--top-p .*"1\.5"/);
    assertUsageError(await gen("--top-k", "3"), /--top-k applies when sampling/);
    assertUsageError(await gen("--seed", "x"), /--seed .*"x"/);
    assertUsageError(await gen("--len=-2"), /--len .*"-2"/);
    assertUsageError(await gen("--stop", ""), /--stop/);
    assertUsageError(await gen("--unk", "yes"), /yes/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
