import assert from "node:assert/strict";
import { assertDataError, assertUsageError, cli } from "../../tests/_cli.ts";
import { type ModelConfig, resolveTextConfig } from "../config/settings.ts";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { generate } from "../generate/generate.ts";
import { createModel } from "../model/model.ts";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors.ts";
import { exportPyTorch } from "../io/pytorch.ts";
import { Vocab } from "../text/vocab.ts";

const VOCAB = new Vocab([..."abcdef"]);

/** A checkpoint of a small model in `dir`; returns its path. */
async function checkpoint(dir: string, name: string, config: Partial<ModelConfig>) {
  const model = createModel(
    { vocabSize: VOCAB.size, hidden: 4, activation: "tanh", ...config },
    { seed: 3, init: "uniform" },
  );
  const path = `${dir}/${name}.safetensors`;
  const text = resolveTextConfig({ tokens: "char", normalize: "none" });
  await saveCheckpoint(path, { model, vocab: VOCAB, text });
  return path;
}

Deno.test("export then import through the CLI gives back the same weights and text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ckpt = await checkpoint(dir, "gru", { cell: "gru", gruVariant: "pytorch", layers: 2 });
    const pt = `${dir}/gru.pt.safetensors`, back = `${dir}/back.safetensors`;
    const e = await cli("export", "--model", ckpt, "--format", "pytorch", "--out", pt);
    assert.equal(e.code, 0, e.stderr);
    assert.match(
      e.stdout,
      /^wrote .*gru\.pt\.safetensors: PyTorch state dict of 2 x gru \(pytorch\)/,
    );
    const names = decodeSafetensors(await Deno.readFile(pt)).tensors.map((t) => t.name);
    assert.deepEqual(names.slice(0, 4), [
      "rnn.weight_ih_l0",
      "rnn.weight_hh_l0",
      "rnn.bias_ih_l0",
      "rnn.bias_hh_l0",
    ]);
    assert.deepEqual(names.slice(-2), ["dense.weight", "dense.bias"]);
    const i = await cli("import", "--format", "pytorch", "--in", pt, "--out", back);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout, /^wrote .*back\.safetensors: checkpoint of 2 x gru \(pytorch\)/);
    const [a, b] = await Promise.all([loadCheckpoint(ckpt), loadCheckpoint(back)]);
    assert.deepEqual(b.model.config, a.model.config);
    assert.deepEqual(b.text, a.text);
    const wa = await a.model.getWeights(), wb = await b.model.getWeights();
    assert.deepEqual(Object.keys(wb), Object.keys(wa));
    for (const name of Object.keys(wa)) assert.deepEqual(wb[name], wa[name], name);
    assert.equal(
      await generate(b.model, b.vocab, "abc", { text: b.text }),
      await generate(a.model, a.vocab, "abc", { text: a.text }),
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir), (x) => x.name)).sort(), [
      "back.safetensors",
      "gru.pt.safetensors",
      "gru.safetensors",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export and import report usage mistakes with code 2, bad files with code 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const book = await checkpoint(dir, "book", { cell: "gru" });
    const rnn = await checkpoint(dir, "rnn", {});
    const garbage = `${dir}/garbage.safetensors`;
    await Deno.writeFile(garbage, new Uint8Array(16));
    const out = `${dir}/out.safetensors`;
    const missing = `${dir}/missing.safetensors`;
    // One after another: eight processes at once starve the rest of a parallel test run.
    const runs = [
      ["export", "--model", book, "--out", out],
      ["export", "--out", out],
      ["export", "--model", rnn, "--out", out, "--format", "onnx"],
      ["import", "--out", out],
      ["import", "--in", garbage, "--out", out],
      ["import", "--in", garbage, "--out", out, "--model", rnn],
      ["export", "--model", garbage, "--out", out],
      ["import", "--in", missing, "--out", out],
    ];
    const results = [];
    for (const args of runs) results.push(await cli(...args));
    const [refused, noModel, format, noIn, bad, unknown, notCheckpoint, absent] = results;
    assertUsageError(refused, /book's GRU cannot be exported.*reset gate/);
    assertUsageError(noModel, /--model FILE \(a checkpoint\) is required/);
    assertUsageError(format, /--format must be one of pytorch, int8, got "onnx"/);
    assertUsageError(noIn, /--in FILE \(a PyTorch state dict\) is required/);
    assertDataError(bad, /garbage\.safetensors: /, garbage);
    assertUsageError(unknown, /'--model'/);
    assertDataError(notCheckpoint, /garbage\.safetensors: /, garbage);
    assertDataError(absent, /no such file/, missing);
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import --activation: the flag, else the file's config, else tanh with a note on stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel({ vocabSize: VOCAB.size, hidden: 4, activation: "relu" }, {
      seed: 2,
    });
    const f = decodeSafetensors(await exportPyTorch(model, VOCAB));
    f.metadata = { vocab: f.metadata.vocab };
    const pt = `${dir}/relu.pt.safetensors`, out = `${dir}/out.safetensors`;
    await Deno.writeFile(pt, encodeSafetensors(f));
    const guessed = await cli("import", "--in", pt, "--out", out);
    assert.equal(guessed.code, 0, guessed.stderr);
    assert.match(guessed.stderr, /assuming nonlinearity 'tanh'.*give --activation relu/);
    assert.equal((await loadCheckpoint(out)).model.config.activation, "tanh");
    const told = await cli("import", "--in", pt, "--out", out, "--activation", "relu");
    assert.equal(told.code, 0, told.stderr);
    assert.equal(told.stderr, "");
    const back = await loadCheckpoint(out);
    assert.equal(back.model.config.activation, "relu");
    assert.equal(
      await generate(back.model, back.vocab, "abc", { length: 12 }),
      await generate(model, VOCAB, "abc", { length: 12 }),
    );
    assertUsageError(
      await cli("import", "--in", pt, "--out", out, "--activation", "sigmoid"),
      /--activation must be one of tanh, relu, got "sigmoid"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export --format int8 writes the 8-bit checkpoint and prints its size and accuracy; train refuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/text.txt`;
    await Deno.writeTextFile(corpus, "abcdef fedcba ".repeat(40));
    const float = `${dir}/f.safetensors`, small = `${dir}/f8.safetensors`;
    const t = await cli(
      "train",
      "--corpus",
      corpus,
      "--hidden",
      "16",
      "--epochs",
      "3",
      "--batch-size",
      "4",
      "--num-steps",
      "8",
      "--prefixes",
      "ab,fe",
      "--save",
      float,
    );
    assert.equal(t.code, 0, t.stderr);
    const e = await cli("export", "--format", "int8", "--model", float, "--out", small);
    assert.equal(e.code, 0, e.stderr);
    const lines = e.stdout.trim().split("\n");
    assert.match(
      lines[0],
      /^wrote .*f8\.safetensors: 8-bit checkpoint, [\d.]+ kB \(the float weights: [\d.]+ kB, \d\.\dx\)$/,
    );
    assert.match(
      lines[1],
      /^greedy after "ab": the same (100 characters|for the first \d+ of 100 characters)$/,
    );
    assert.match(lines[2], /^greedy after "fe": /);
    assert.match(
      lines[3],
      /^perplexity on .*text\.txt \(\d+ predictions\): float \d+\.\d{4}, 8-bit \d+\.\d{4} \([+-]\d+\.\d\d%\)$/,
    );
    const [a, b] = await Promise.all([loadCheckpoint(float), loadCheckpoint(small)]);
    assert.equal(b.model.quantized, "int8");
    assert.deepEqual(b.train, a.train);
    assert.equal(b.state, undefined);
    // Generation and evaluation read it as they read any checkpoint.
    const g = await cli("generate", "--model", small, "--prefix", "ab", "--length", "5");
    assert.equal(g.code, 0, g.stderr);
    const ev = await cli("eval", "--model", small, "--corpus", corpus);
    assert.equal(ev.code, 0, ev.stderr);
    // Training from it is refused in one line, before any epoch.
    for (const flag of ["--init-from", "--resume"]) {
      assertDataError(
        await cli("train", "--corpus", corpus, flag, small, "--epochs", "5"),
        /f8\.safetensors is an 8-bit checkpoint, for generation; train from the float file$/,
      );
    }
    // Already 8-bit; --corpus is for int8 only.
    assertDataError(
      await cli(
        "export",
        "--format",
        "int8",
        "--model",
        small,
        "--out",
        `${dir}/again.safetensors`,
      ),
      /f8\.safetensors is already an 8-bit checkpoint$/,
    );
    assertUsageError(
      await cli("export", "--model", float, "--out", `${dir}/pt.safetensors`, "--corpus", corpus),
      /--corpus is for --format int8/,
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir), (x) => x.name)).sort(), [
      "f.safetensors",
      "f8.safetensors",
      "text.txt",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
