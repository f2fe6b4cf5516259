// The command line, run as a user would: a subprocess, its output and its exit code.
import assert from "node:assert/strict";
import { assertDataError, assertUsageError, cli, cliArgs, SMALL_MODEL } from "./_cli.ts";
import { countBatches } from "../src/text/batches.ts";
import { type Checkpoint, decodeCheckpoint, loadCheckpoint } from "../src/io/checkpoint.ts";
import { encodeSafetensors } from "../src/io/safetensors.ts";
import { textCorpus } from "../src/text/text.ts";
import { evaluate } from "../src/train/evaluate.ts";
import { generate } from "../src/generate/generate.ts";

const TEXT = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(10);

/** The library's perplexity of a checkpoint over `text`, read as `eval --max-tokens 0` reads it. */
async function libraryEval(ckpt: Checkpoint, text: string) {
  const corpus = textCorpus(text, { ...ckpt.text, maxTokens: 0 }, ckpt.vocab);
  return await evaluate(ckpt.model, corpus.indices);
}

/** Asserts that `eval` printed the library's perplexity (4 decimals), count and loss. */
function assertEvalLine(
  stdout: string,
  expected: { perplexity: number; predictions: number; loss: number },
): void {
  const m = /^perplexity (\d+\.\d{4}) over (\d+) predictions \(loss (\d+\.\d{4}) nats\)$/.exec(
    stdout.trim(),
  );
  assert.ok(m, stdout);
  assert.equal(m[1], expected.perplexity.toFixed(4));
  assert.equal(Number(m[2]), expected.predictions);
  assert.equal(m[3], expected.loss.toFixed(4));
}

/** The option flags listed by a `--help` text (the first word of each option line). */
function helpFlags(help: string): string[] {
  return [...help.matchAll(/^ {2}(--[a-z][a-z-]*)/gm)].map((m) => m[1]);
}

Deno.test("train, generate and eval work together from the command line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, model = `${dir}/m.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const t = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      ...SMALL_MODEL,
      "--epochs",
      "4",
      "--lr",
      "1",
      "--clip",
      "1",
      "--pred-every",
      "2",
      "--prefixes",
      "分开,不分开",
      "--pred-len",
      "5",
      "--json",
      "--save",
      model,
    );
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 2).map((l) => l.epoch), [2, 4]);
    for (const l of lines.slice(0, 2)) {
      assert.ok(Number.isFinite(l.perplexity) && l.perplexity > 1, String(l.perplexity));
      assert.ok(l.seconds >= 0);
      assert.equal(Array.from(l.samples["不分开"] as string).length, 3 + 5);
    }
    // Training learned: the perplexity falls, and ends below the vocabulary size (the perplexity
    // of a model that knows nothing about the text).
    const vocabSize = textCorpus(TEXT, { maxTokens: 0 }).vocab.size;
    assert.ok(lines[1].perplexity < lines[0].perplexity, `${lines[1].perplexity} did not fall`);
    assert.ok(lines[1].perplexity < vocabSize, `${lines[1].perplexity} >= ${vocabSize}`);
    assert.equal(lines[2].done, true);
    assert.equal(lines[2].epochs, 4);
    assert.equal(lines[2].perplexity, lines[1].perplexity);
    assert.equal(lines[2].saved, model);

    const ckpt = await loadCheckpoint(model);
    assert.equal(ckpt.vocab.size, vocabSize);
    const g = await cli("generate", "--model", model, "--prefix", "分开", "--length", "6");
    assert.equal(g.code, 0, g.stderr);
    assert.equal(Array.from(g.stdout.trim()).length, 8);
    assert.ok(g.stdout.startsWith("分开"));
    assert.equal(
      g.stdout,
      `${await generate(ckpt.model, ckpt.vocab, "分开", { length: 6, text: ckpt.text })}\n`,
    );

    const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-tokens", "0");
    assert.equal(e.code, 0, e.stderr);
    const expected = await libraryEval(ckpt, TEXT);
    assert.equal(expected.predictions, Array.from(TEXT).length - 1);
    assertEvalLine(e.stdout, expected);

    const h = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      "--epochs",
      "2",
      ...SMALL_MODEL,
      "--pred-every",
      "1",
      "--pred-len",
      "3",
      "--prefixes",
      "分开",
      "--init-from",
      model,
    );
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^epoch 1, perplexity \d+\.\d+, time \d+\.\d+ sec\n - 分开/m);

    assertUsageError(
      await cli("train", "--corpus", corpus, "--init-from", model, "--activation", "relu"),
      /--activation relu differs from the checkpoint's tanh/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--save-best keeps the best validation epoch; --resume carries Adam on, --init-from does not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`,
      best = `${dir}/best.safetensors`,
      last = `${dir}/a.safetensors`,
      fresh = `${dir}/fresh.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const common = [
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      ...SMALL_MODEL,
      "--optimizer",
      "adam",
      "--lr",
      "0.01",
      "--clip",
      "1",
      "--pred-every",
      "0",
      "--json",
    ];
    const t = await cli(
      "train",
      ...common,
      "--epochs",
      "6",
      "--val-fraction",
      "0.2",
      "--save-best",
      "--save",
      best,
    );
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const epochs = lines.slice(0, -1);
    assert.equal(epochs.length, 6);
    const bestLine = epochs.reduce((a, b) => (b.valPerplexity < a.valPerplexity ? b : a));
    assert.equal(lines.at(-1).bestEpoch, bestLine.epoch);
    assert.equal(lines.at(-1).bestValPerplexity, bestLine.valPerplexity);
    const e = await cli("eval", "--model", best, "--corpus", corpus, "--max-tokens", "0");
    assert.equal(e.code, 0, e.stderr);
    // The file holds the best epoch's model: it scores the held-out last 20% as reported then.
    const saved = await loadCheckpoint(best);
    assert.equal(saved.state?.epoch, bestLine.epoch);
    const indices = textCorpus(TEXT, { ...saved.text, maxTokens: 0 }, saved.vocab).indices;
    const held = indices.subarray(indices.length - Math.floor(0.2 * indices.length));
    assert.equal((await evaluate(saved.model, held)).perplexity, bestLine.valPerplexity);
    assertEvalLine(e.stdout, await libraryEval(saved, TEXT));

    const a = await cli("train", ...common, "--epochs", "2", "--save", last);
    assert.equal(a.code, 0, a.stderr);
    const first = decodeCheckpoint(await Deno.readFile(last));
    const perEpoch = countBatches("random", Array.from(TEXT).length, 4, 8);
    assert.equal(first.state?.optimizer?.step, 2 * perEpoch);
    assert.equal(first.train?.optimizer, "adam");
    // --resume: the saved run's settings, Adam state and epoch count carry on.
    const b = await cli("train", "--resume", last, "--epochs", "3", "--save", last, "--json");
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout.split("\n")[0]).epoch, 3);
    const resumed = decodeCheckpoint(await Deno.readFile(last));
    assert.equal(resumed.state?.optimizer?.step, 3 * perEpoch);
    assert.equal(resumed.state?.epoch, 3);
    assert.equal(resumed.train?.lr, 0.01);
    assert.equal(resumed.train?.optimizer, "adam");
    // --init-from: no --optimizer or --lr, so the checkpoint's settings are the defaults; the
    // weights carry over but the run (and Adam's moments) starts afresh.
    const c = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      "--batch-size",
      "4",
      "--num-steps",
      "8",
      "--clip",
      "1",
      "--pred-every",
      "0",
      "--epochs",
      "1",
      "--init-from",
      last,
      "--save",
      fresh,
    );
    assert.equal(c.code, 0, c.stderr);
    const restarted = decodeCheckpoint(await Deno.readFile(fresh));
    assert.equal(restarted.state?.optimizer?.step, perEpoch);
    assert.equal(restarted.state?.epoch, 1);
    assert.equal(restarted.train?.lr, 0.01);
    assert.equal(restarted.train?.optimizer, "adam");

    assertUsageError(await cli("train", "--save-best"), /--save-best needs --val-fraction/);
    assertUsageError(
      await cli("train", "--val-fraction", "1"),
      /--val-fraction must be a number in \[0, 1\), got "1"/,
    );
    assertUsageError(await cli("train", "--optimizer", "lbfgs"), /--optimizer must be one of/);
    assertUsageError(
      await cli("train", "--resume", last, "--init-from", last),
      /--resume continues a saved run; drop --init-from/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GRU and LSTM stacks train, generate and evaluate; a cell mismatch is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT);
    for (const cell of ["gru", "lstm"]) {
      const model = `${dir}/${cell}.safetensors`;
      const t = await cli(
        "train",
        "--corpus",
        corpus,
        "--max-tokens",
        "0",
        "--cell",
        cell,
        "--layers",
        "2",
        "--dropout",
        "0.2",
        ...SMALL_MODEL,
        "--epochs",
        "2",
        "--lr",
        "1",
        "--clip",
        "1",
        "--pred-every",
        "0",
        "--save",
        model,
      );
      assert.equal(t.code, 0, t.stderr);
      const ckpt = await loadCheckpoint(model);
      assert.equal(ckpt.model.config.cell, cell);
      assert.equal(ckpt.model.config.layers, 2);
      const g = await cli("generate", "--model", model, "--prefix", "分开", "--length", "5");
      assert.equal(g.code, 0, g.stderr);
      assert.equal(Array.from(g.stdout.trim()).length, 7);
      assert.equal(
        g.stdout.trim(),
        await generate(ckpt.model, ckpt.vocab, "分开", { length: 5, text: ckpt.text }),
      );
      const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-tokens", "0");
      assert.equal(e.code, 0, e.stderr);
      assertEvalLine(e.stdout, await libraryEval(ckpt, TEXT));
    }
    assertUsageError(
      await cli(
        "train",
        "--corpus",
        corpus,
        "--init-from",
        `${dir}/gru.safetensors`,
        "--cell",
        "lstm",
      ),
      /--cell lstm differs from the checkpoint's gru/,
    );
    assertUsageError(
      await cli("train", "--dropout", "0.5"),
      /--dropout applies between stacked layers; set --layers to 2 or more/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word-level models train, generate words and score text with <unk>", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/tm.txt`, model = `${dir}/w.safetensors`;
    const text = "The Time Traveller (for so it will be convenient to speak of him)\n".repeat(20) +
      "was expounding a recondite matter to us.\n";
    await Deno.writeTextFile(corpus, text);
    const t = await cli(
      "train",
      "--corpus",
      corpus,
      "--tokens",
      "word",
      "--normalize",
      "letters",
      "--min-freq",
      "2",
      "--max-tokens",
      "0",
      "--hidden",
      "16",
      "--epochs",
      "3",
      "--batch-size",
      "2",
      "--num-steps",
      "5",
      "--lr",
      "1",
      "--clip",
      "1",
      "--pred-every",
      "3",
      "--prefixes",
      "time traveller",
      "--pred-len",
      "4",
      "--json",
      "--save",
      model,
    );
    assert.equal(t.code, 0, t.stderr);
    const first = JSON.parse(t.stdout.split("\n")[0]);
    assert.equal(first.samples["time traveller"].split(" ").length, 2 + 4);

    const ckpt = await loadCheckpoint(model);
    const g = await cli("generate", "--model", model, "--prefix", "The TIME", "--length", "3");
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout.trim(), /^the time( [a-z<>]+){3}$/);
    assert.equal(
      g.stdout.trim(),
      await generate(ckpt.model, ckpt.vocab, "The TIME", { length: 3, text: ckpt.text }),
    );

    // "recondite" was seen once (below --min-freq 2): it is scored as <unk>, not refused.
    const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-tokens", "0");
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^perplexity \d+\.\d+ over 266 predictions/);
    assertEvalLine(e.stdout, await libraryEval(ckpt, text));

    assertUsageError(await cli("generate", "--model", model, "--prefix", "zebra"), /"zebra"/);
    assertUsageError(
      await cli("train", "--corpus", corpus, "--init-from", model, "--tokens", "char"),
      /--tokens char differs from the checkpoint's word/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--threads 2 trains to the same checkpoint, byte for byte, as --threads 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT.repeat(6));
    // Hidden 256 and 16 x 32 minibatches: the output products are large enough to be split.
    const run = (threads: string) =>
      cli(
        "train",
        ...["--corpus", corpus, "--max-tokens", "0", "--hidden", "256", "--batch-size", "16"],
        ...["--num-steps", "32", "--epochs", "2", "--lr", "1", "--clip", "1"],
        ...["--pred-every", "0", "--json", "--threads", threads],
        ...["--save", `${dir}/t${threads}.safetensors`],
      );
    const [one, two] = [await run("1"), await run("2")];
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const perplexity = (r: { stdout: string }) =>
      JSON.parse(r.stdout.trim().split("\n").at(-1)!).perplexity;
    assert.equal(perplexity(two), perplexity(one));
    assert.deepEqual(
      await Deno.readFile(`${dir}/t2.safetensors`),
      await Deno.readFile(`${dir}/t1.safetensors`),
    );
    // Without read access to the library's files no worker can start: auto falls back to one
    // thread, an explicit count is a usage error.
    const restricted = async (threads: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "--allow-env", `--allow-read=${dir}`, cliArgs()[2], "train", "--corpus"],
          ...[corpus, "--max-tokens", "0", "--hidden", "8", "--epochs", "1", "--pred-every", "0"],
          ...["--threads", threads],
        ],
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const auto = await restricted("auto");
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(auto.stdout, /trained 1 epochs/);
    assertUsageError(await restricted("2"), /cannot run threads .*use --threads 1/);
    assertUsageError(await cli("train", "--threads", "0"), /--threads must be an integer >= 1/);
    assertUsageError(await cli("train", "--threads", "17"), /--threads must be at most 16/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage errors exit with code 2 and one line that names the flag", async () => {
  assertUsageError(await cli("train", "--epochs", "ten"), /--epochs must be an integer/);
  assertUsageError(
    await cli("train", "--epochs", "0"),
    /--epochs must be an integer >= 1, got "0"/,
  );
  assertUsageError(await cli("train", "--sampling", "shuffled"), /--sampling must be one of/);
  assertUsageError(await cli("train", "--bogus"), /'--bogus'/);
  assertUsageError(await cli("train", "stray"), /stray/);
  assertUsageError(await cli("fly"), /unknown command "fly"/);
  assertUsageError(await cli("train", "--preset", "nope"), /unknown preset "nope"; presets: /);
  assertUsageError(await cli("train", "--min-freq", "2"), /--min-freq applies to word tokens/);
  assertUsageError(await cli("generate"), /--model/);
  // Settings are named by their flags, in kebab-case, never by their option names.
  const batch = await cli("train", "--batch-size", "abc");
  assertUsageError(batch, /--batch-size must be an integer >= 1, got "abc"/);
  assert.doesNotMatch(batch.stderr, /batchSize/);
  const dropout = await cli("train", "--dropout", "0.5");
  assertUsageError(dropout, /--dropout applies between stacked layers; set --layers to 2/);
  assertUsageError(
    await cli("train", "--num-steps", "0"),
    /--num-steps must be an integer >= 1, got "0"/,
  );
});

Deno.test("the old flags are refused, each named", async () => {
  for (
    const [args, pattern] of [
      [["train", "--batch", "4"], /'--batch'/],
      [["train", "--steps", "8"], /'--steps'/],
      [["train", "--max-chars", "0"], /'--max-chars'/],
      [["train", "--init-weights", "uniform"], /'--init-weights'/],
      // --init is now the initialisation; a checkpoint goes to --init-from.
      [["train", "--init", "m.safetensors"], /--init must be one of normal, uniform/],
      [["generate", "--model", "m.safetensors", "--len", "5"], /'--len'/],
      [["generate", "--model", "m.safetensors", "--unk"], /'--unk'/],
    ] as const
  ) {
    assertUsageError(await cli(...args), pattern);
  }
});

Deno.test("a negative number after a flag is its value, with the message of --flag=-N", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = `${dir}/none.safetensors`;
    for (
      const [spaced, joined, pattern] of [
        [["train", "--seed", "-1"], ["train", "--seed=-1"], /--seed must be .*got "-1"/],
        [["train", "--lr", "-0.5"], ["train", "--lr=-0.5"], /--lr must be a number >= 0/],
        [
          ["generate", "--model", model, "--length", "-1"],
          ["generate", "--model", model, "--length=-1"],
          /--length must be an integer >= 0, got "-1"/,
        ],
      ] as const
    ) {
      const [a, b] = [await cli(...spaced), await cli(...joined)];
      assertUsageError(a, pattern);
      assertUsageError(b, pattern);
      assert.equal(a.stderr, b.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file problems exit with code 1 and one line naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT);
    const bad = `${dir}/bad.safetensors`;
    await Deno.writeFile(bad, new Uint8Array([1, 2, 3]));
    // A well-formed safetensors file that is not a checkpoint (a PyTorch state dict, say).
    const foreign = `${dir}/foreign.safetensors`;
    await Deno.writeFile(
      foreign,
      encodeSafetensors({
        tensors: [{ name: "dense.bias", shape: [2], data: new Float32Array(2) }],
        metadata: { format: "pt" },
      }),
    );
    const none = `${dir}/none.safetensors`;
    for (const command of ["generate", "eval"]) {
      assertDataError(await cli(command, "--model", none), /no such file/, none);
      assertDataError(await cli(command, "--model", bad), /not a safetensors file/, bad);
      assertDataError(
        await cli(command, "--model", foreign),
        /not an @rnn\/wasm checkpoint/,
        foreign,
      );
    }
    assertDataError(
      await cli("train", "--corpus", corpus, "--init-from", foreign),
      /not an @rnn\/wasm checkpoint/,
      foreign,
    );
    assertDataError(
      await cli("export", "--model", bad, "--out", `${dir}/x`),
      /not a safetensors file/,
      bad,
    );
    const missing = `${dir}/missing.txt`;
    assertDataError(
      await cli("train", "--corpus", missing, "--epochs", "1"),
      /does not exist/,
      missing,
    );
    assertDataError(
      await cli("stats", "--corpus", missing),
      /does not exist/,
      missing,
    );
    // An empty corpus, or one with nothing left once reduced to the letters a-z.
    const empty = `${dir}/empty.txt`, digits = `${dir}/digits.txt`;
    await Deno.writeTextFile(empty, "\n \n");
    await Deno.writeTextFile(digits, "1984 2001\n");
    assertDataError(await cli("train", "--corpus", empty), /empty\.txt: the text is empty/, empty);
    assertDataError(await cli("stats", "--corpus", empty), /empty\.txt: the text is empty/, empty);
    assertDataError(
      await cli("train", "--corpus", digits, "--normalize", "letters"),
      /digits\.txt: the text holds no letters a-z; .*normalize/,
      digits,
    );
    assertDataError(
      await cli("stats", "--corpus", digits),
      /digits\.txt: the text holds no letters a-z; count every character with --normalize none/,
      digits,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a version-1 checkpoint is refused with exit code 1 and a message naming version 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, old = `${dir}/v1.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    // As version 1 wrote them: the weights, and the settings in one "hyperparameters" entry.
    const [V, H] = [3, 2];
    await Deno.writeFile(
      old,
      encodeSafetensors({
        tensors: [
          { name: "W_xh", shape: [V, H], data: new Float32Array(V * H) },
          { name: "W_hh", shape: [H, H], data: new Float32Array(H * H) },
          { name: "b_h", shape: [H], data: new Float32Array(H) },
          { name: "W_hq", shape: [H, V], data: new Float32Array(H * V) },
          { name: "b_q", shape: [V], data: new Float32Array(V) },
        ],
        metadata: {
          format: "rnn-wasm",
          format_version: "1",
          vocab: JSON.stringify(["分", "开", " "]),
          hyperparameters: JSON.stringify({ hidden: H, cell: "rnn", lr: 1 }),
        },
      }),
    );
    for (
      const args of [
        ["generate", "--model", old],
        ["eval", "--model", old, "--corpus", corpus],
        ["train", "--corpus", corpus, "--init-from", old],
        ["train", "--resume", old],
      ]
    ) {
      assertDataError(await cli(...args), /version-1 checkpoint/, old);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a diverging run exits with code 1 and one line that says it diverged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, model = `${dir}/m.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const r = await cli(
      "train",
      ...["--corpus", corpus, "--max-tokens", "0", ...SMALL_MODEL, "--epochs", "2"],
      ...["--lr", "1e38", "--clip", "0", "--pred-every", "0", "--save", model],
    );
    assertDataError(r, /training diverged at epoch 1.*turn clipping on/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a run whose perplexity overflows (lr 1e30) exits with code 1 as diverged",
  // With lr 1e30 the loss stays finite in float32 (about 1e31 per token) but exp(mean loss) is
  // Infinity: that is divergence too.
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const corpus = `${dir}/lyrics.txt`;
      await Deno.writeTextFile(corpus, TEXT);
      const r = await cli(
        "train",
        ...["--corpus", corpus, "--max-tokens", "0", ...SMALL_MODEL, "--epochs", "2"],
        ...["--lr", "1e30", "--clip", "0", "--pred-every", "0"],
      );
      assertDataError(r, /diverged/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("help lists every command; <command> --help lists that command's options", async () => {
  const h = await cli("help");
  assert.equal(h.code, 0, h.stderr);
  for (const command of ["train", "generate", "eval", "seq", "stats", "export", "import", "help"]) {
    assert.match(h.stdout, new RegExp(`^ {2}${command} +\\S`, "m"), command);
  }
  assert.equal((await cli()).stdout, h.stdout);

  const r = await cli("train", "--help");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^deno run -A mod\.ts train /);
  assert.deepEqual(
    helpFlags(r.stdout).sort(),
    [
      "--preset",
      "--cell",
      "--hidden",
      "--layers",
      "--activation",
      "--gru-variant",
      "--dropout",
      "--init",
      "--optimizer",
      "--val-fraction",
      "--save-best",
      "--corpus",
      "--tokens",
      "--normalize",
      "--min-freq",
      "--max-tokens",
      "--num-steps",
      "--batch-size",
      "--lr",
      "--clip",
      "--epochs",
      "--sampling",
      "--seed",
      "--random-offset",
      "--prefixes",
      "--pred-every",
      "--pred-len",
      "--init-from",
      "--resume",
      "--save",
      "--save-every",
      "--json",
      "--threads",
      "--backend",
      "--plot",
    ].sort(),
  );
  assert.match(r.stdout, /^ {2}--num-steps N .*\[35\]$/m);
  assert.match(r.stdout, /^ {2}--batch-size N .*\[32\]$/m);
  assert.doesNotMatch(r.stdout, /--temperature/);

  const g = await cli("generate", "--help");
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual(helpFlags(g.stdout).sort(), [
    "--backend",
    "--length",
    "--model",
    "--prefix",
    "--seed",
    "--stop",
    "--stream",
    "--temperature",
    "--top-k",
    "--top-p",
    "--unknown",
  ]);
  assert.match(g.stdout, /^ {2}--length N .*\[50\]$/m);
  assert.doesNotMatch(g.stdout, /--num-steps|--batch-size/);
  // -h is --help; help does not need the command's required flags.
  assert.equal((await cli("generate", "-h")).stdout, g.stdout);

  const e = await cli("eval", "--help");
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(helpFlags(e.stdout).sort(), [
    "--backend",
    "--corpus",
    "--max-tokens",
    "--model",
  ]);
});

Deno.test("Ctrl-C during training saves the checkpoint and exits with 130", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, model = `${dir}/m.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const child = new Deno.Command(Deno.execPath(), {
      args: cliArgs(
        "train",
        "--corpus",
        corpus,
        "--max-tokens",
        "0",
        ...SMALL_MODEL,
        "--epochs",
        "100000",
        "--pred-every",
        "0",
        "--json",
        "--save",
        model,
      ),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait for the first reported epoch, so training is under way, then interrupt.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    while (!(await reader.read()).done) { /* drain */ }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 130);
    const g = await cli("generate", "--model", model, "--prefix", "分开", "--length", "3");
    assert.equal(g.code, 0, g.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--init-from: flags beat a preset, which beats the checkpoint's recorded settings; the model's shape stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, first = `${dir}/first.safetensors`;
    const next = `${dir}/next.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const small = ["--corpus", corpus, "--max-tokens", "0", ...SMALL_MODEL, "--pred-every", "0"];
    const a = await cli("train", ...small, "--epochs", "1", "--lr", "0.5", "--save", first);
    assert.equal(a.code, 0, a.stderr);
    // concise-rnn: Adam at lr 0.001, sequential sampling, hidden 256 (which the checkpoint fixes
    // at 16), the Jay Chou corpus (which --corpus replaces).
    const b = await cli(
      "train",
      ...["--init-from", first, "--preset", "concise-rnn", "--corpus", corpus],
      ...["--max-tokens", "0", "--epochs", "1", "--batch-size", "4", "--num-steps", "8"],
      ...["--pred-every", "0", "--save", next],
    );
    assert.equal(b.code, 0, b.stderr);
    const { model, train } = await loadCheckpoint(next);
    assert.equal(model.config.hidden, 16);
    assert.equal(train!.optimizer, "adam");
    assert.equal(train!.lr, 0.001);
    assert.equal(train!.sampling, "sequential");
    assert.equal(train!.epochs, 1);
    assert.equal(train!.corpus, corpus);
    // Without the preset the checkpoint's settings are the defaults: SGD at its lr 0.5.
    const c = await cli("train", "--init-from", first, "--epochs", "1", "--save", next);
    assert.equal(c.code, 0, c.stderr);
    const again = await loadCheckpoint(next);
    assert.equal(again.train!.optimizer, "sgd");
    assert.equal(again.train!.lr, 0.5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output path that cannot be written is refused before any work, naming the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT);
    const train = [
      "train",
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      ...SMALL_MODEL,
      "--epochs",
      "20",
    ];
    const cases: [string[], string, RegExp][] = [
      [
        [...train, "--save", `${dir}/nodir/sub/m.safetensors`],
        `${dir}/nodir/sub/m.safetensors`,
        /the folder .*nodir\/sub does not exist/,
      ],
      [[...train, "--save", dir], dir, /is a folder; give the path of a file/],
      [
        [...train, "--save", `${corpus}/m.safetensors`],
        `${corpus}/m.safetensors`,
        /lyrics\.txt is a file, not a folder/,
      ],
      [
        [...train, "--save-every", "3", "--save", `${dir}/no/m.safetensors`],
        `${dir}/no/m.safetensors`,
        /does not exist/,
      ],
      [["seq", "--out", `${corpus}/figs`], `${corpus}/figs`, /is a file, not a folder/],
      [["export", "--model", corpus, "--out", dir], dir, /is a folder/],
      [
        ["import", "--in", corpus, "--out", `${dir}/x/y.safetensors`],
        `${dir}/x/y.safetensors`,
        /does not exist/,
      ],
    ];
    // Where the system has them, places no file can be made in.
    for (const special of ["/proc", "/sys"]) {
      if ((await Deno.stat(special).catch(() => undefined))?.isDirectory) {
        cases.push([
          [...train, "--save", `${special}/m.safetensors`],
          `${special}/m.safetensors`,
          /cannot create files in/,
        ]);
      }
    }
    for (const [args, path, pattern] of cases) {
      const r = await cli(...args);
      assertDataError(r, pattern, path);
      // Refused before the work: no epoch trained, no experiment run.
      assert.equal(r.stdout, "", args.join(" "));
      assert.doesNotMatch(r.stderr, /\.tmp/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--resume with --epochs at or below the epochs done says so and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, ckpt = `${dir}/m.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const t = await cli(
      "train",
      ...["--corpus", corpus, "--max-tokens", "0", ...SMALL_MODEL, "--epochs", "3"],
      ...["--pred-every", "0", "--save", ckpt],
    );
    assert.equal(t.code, 0, t.stderr);
    const before = await Deno.readFile(ckpt);
    for (const epochs of ["3", "2"]) {
      const r = await cli("train", "--resume", ckpt, "--epochs", epochs, "--save", ckpt);
      assertUsageError(r, /m\.safetensors is already at epoch 3; give --epochs above 3/);
      assert.equal(r.stdout, "");
    }
    assert.deepEqual(await Deno.readFile(ckpt), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a character model of the English edition's letters reads a prefix as its corpus was read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/tm.txt`, ckpt = `${dir}/tm.safetensors`;
    await Deno.writeTextFile(
      corpus,
      "The Time Traveller (for so it will be convenient to speak of him)\n".repeat(20),
    );
    const t = await cli(
      "train",
      ...["--corpus", corpus, "--normalize", "letters", "--max-tokens", "0", ...SMALL_MODEL],
      ...["--epochs", "2", "--pred-every", "0", "--save", ckpt],
    );
    assert.equal(t.code, 0, t.stderr);
    const g = await cli("generate", "--model", ckpt, "--prefix", "The Time", "--length", "5");
    assert.equal(g.code, 0, g.stderr);
    const { model, vocab, text } = await loadCheckpoint(ckpt);
    const want = await generate(model, vocab, "the time", { text, length: 5 });
    assert.equal(g.stdout, `${want}\n`);
    assert.ok(want.startsWith("the time"), want);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --plot writes the perplexity curve at each reported epoch, validation too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, plot = `${dir}/ppl.svg`;
    await Deno.writeTextFile(corpus, TEXT);
    const args = ["train", "--corpus", corpus, "--max-tokens", "0", ...SMALL_MODEL, "--lr", "1"];
    const r = await cli(...args, "--epochs", "3", "--val-fraction", "0.2", "--plot", plot);
    assert.equal(r.code, 0, r.stderr);
    const svg = await Deno.readTextFile(plot);
    assert.ok(svg.startsWith("<svg"));
    assert.match(svg, />training</);
    assert.match(svg, />validation</);
    assert.equal(svg.match(/<path class="series"/g)?.length, 2);
    // Refused before any work when it cannot be written.
    assertDataError(
      await cli(...args, "--epochs", "3", "--plot", `${dir}/no/ppl.svg`),
      /--plot .*does not exist/,
      `${dir}/no/ppl.svg`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("playground: a bad flag is a usage error, a port in use one line naming it", async () => {
  assertUsageError(
    await cli("playground", "--isolation", "maybe"),
    /--isolation must be one of on, off, got "maybe"/,
  );
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const r = await cli("playground", "--port", String(port));
    assertDataError(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
  } finally {
    taken.close();
  }
});
