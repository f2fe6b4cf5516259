// The command line, run as a user would: a subprocess, its output and its exit code.
import assert from "node:assert/strict";
import { assertUsageError, cli, cliArgs, SMALL_MODEL } from "./_cli.ts";
import { countBatches } from "../src/text/batches.ts";
import { decodeCheckpoint } from "../src/io/checkpoint.ts";

const TEXT = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(10);

Deno.test("train, generate and eval work together from the command line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`, model = `${dir}/m.safetensors`;
    await Deno.writeTextFile(corpus, TEXT);
    const t = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-chars",
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
      assert.ok(l.perplexity > 1 && l.seconds >= 0);
      assert.equal(Array.from(l.samples["不分开"] as string).length, 3 + 5);
    }
    assert.equal(lines[2].done, true);
    assert.equal(lines[2].saved, model);

    const g = await cli("generate", "--model", model, "--prefix", "分开", "--len", "6");
    assert.equal(g.code, 0, g.stderr);
    assert.equal(Array.from(g.stdout.trim()).length, 8);
    assert.ok(g.stdout.startsWith("分开"));

    const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-chars", "0");
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^perplexity \d+\.\d+ over \d+ predictions/);

    const h = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-chars",
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
      "--init",
      model,
    );
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^epoch 1, perplexity \d+\.\d+, time \d+\.\d+ sec\n - 分开/m);

    assertUsageError(
      await cli("train", "--corpus", corpus, "--init", model, "--activation", "relu"),
      /--activation relu differs from the checkpoint's tanh/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--save-best keeps the best validation epoch; --init resumes Adam", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`,
      best = `${dir}/best.safetensors`,
      last = `${dir}/a.safetensors`;
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
    const e = await cli("eval", "--model", best, "--corpus", corpus, "--max-tokens", "0");
    assert.equal(e.code, 0, e.stderr);

    const a = await cli("train", ...common, "--epochs", "2", "--save", last);
    assert.equal(a.code, 0, a.stderr);
    const { optimizer, hyperparameters } = decodeCheckpoint(await Deno.readFile(last));
    const perEpoch = countBatches("random", Array.from(TEXT).length, 4, 8);
    assert.equal(optimizer?.step, 2 * perEpoch);
    assert.equal(hyperparameters.optimizer, "adam");
    // No --optimizer or --lr: the checkpoint's Adam state and learning rate carry on.
    const b = await cli(
      "train",
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      "--batch",
      "4",
      "--steps",
      "8",
      "--clip",
      "1",
      "--pred-every",
      "0",
      "--epochs",
      "1",
      "--init",
      last,
      "--save",
      last,
    );
    assert.equal(b.code, 0, b.stderr);
    const resumed = decodeCheckpoint(await Deno.readFile(last));
    assert.equal(resumed.optimizer?.step, 3 * perEpoch);
    assert.equal(resumed.hyperparameters.lr, 0.01);
    assert.equal(resumed.hyperparameters.epochsCompleted, 3);

    assertUsageError(await cli("train", "--save-best"), /--save-best needs --val-fraction/);
    assertUsageError(await cli("train", "--val-fraction", "1"), /--val-fraction must be below 1/);
    assertUsageError(await cli("train", "--optimizer", "lbfgs"), /--optimizer must be one of/);
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
      const g = await cli("generate", "--model", model, "--prefix", "分开", "--len", "5");
      assert.equal(g.code, 0, g.stderr);
      assert.equal(Array.from(g.stdout.trim()).length, 7);
      const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-tokens", "0");
      assert.equal(e.code, 0, e.stderr);
    }
    assertUsageError(
      await cli("train", "--corpus", corpus, "--init", `${dir}/gru.safetensors`, "--cell", "lstm"),
      /--cell lstm differs from the checkpoint's gru/,
    );
    assertUsageError(
      await cli("train", "--dropout", "0.5"),
      /--dropout applies between stacked layers/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word-level models train, generate words and score text with <unk>", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/tm.txt`, model = `${dir}/w.safetensors`;
    await Deno.writeTextFile(
      corpus,
      "The Time Traveller (for so it will be convenient to speak of him)\n".repeat(20) +
        "was expounding a recondite matter to us.\n",
    );
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
      "--batch",
      "2",
      "--steps",
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

    const g = await cli("generate", "--model", model, "--prefix", "The TIME", "--len", "3");
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout.trim(), /^the time( [a-z<>]+){3}$/);

    // "recondite" was seen once (below --min-freq 2): it is scored as <unk>, not refused.
    const e = await cli("eval", "--model", model, "--corpus", corpus, "--max-tokens", "0");
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^perplexity \d+\.\d+ over 266 predictions/);

    assertUsageError(await cli("generate", "--model", model, "--prefix", "zebra"), /"zebra"/);
    assertUsageError(
      await cli("train", "--corpus", corpus, "--init", model, "--tokens", "char"),
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
        ...["--corpus", corpus, "--max-chars", "0", "--hidden", "256", "--batch", "16"],
        ...["--steps", "32", "--epochs", "2", "--lr", "1", "--clip", "1", "--pred-every", "0"],
        ...["--json", "--threads", threads, "--save", `${dir}/t${threads}.safetensors`],
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
          ...[corpus, "--max-chars", "0", "--hidden", "8", "--epochs", "1", "--pred-every", "0"],
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

Deno.test("usage errors exit with code 2 and one line that says what was wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/bad.safetensors`;
    await Deno.writeFile(bad, new Uint8Array([1, 2, 3]));
    assertUsageError(await cli("train", "--epochs", "ten"), /--epochs must be an integer/);
    assertUsageError(await cli("train", "--sampling", "shuffled"), /--sampling must be one of/);
    assertUsageError(await cli("train", "--bogus"), /bogus/);
    assertUsageError(await cli("fly"), /unknown command "fly"/);
    assertUsageError(await cli("train", "--preset", "nope"), /unknown preset "nope"; presets: /);
    assertUsageError(await cli("train", "--min-freq", "2"), /--min-freq applies to word tokens/);
    assertUsageError(
      await cli("train", "--max-chars", "5", "--max-tokens", "5"),
      /--max-tokens or --max-chars/,
    );
    assertUsageError(await cli("generate"), /--model/);
    assertUsageError(await cli("generate", "--model", `${dir}/none`), /no checkpoint at/);
    assertUsageError(await cli("generate", "--model", bad), /bad\.safetensors/);
    assertUsageError(
      await cli("train", "--corpus", `${dir}/missing.txt`, "--epochs", "1"),
      /missing\.txt/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help lists every train flag", async () => {
  const r = await cli("train", "--help");
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--preset",
      "--cell",
      "--layers",
      "--dropout",
      "--init-weights",
      "--optimizer",
      "--val-fraction",
      "--save-best",
      "--corpus",
      "--tokens",
      "--normalize",
      "--min-freq",
      "--max-tokens",
      "--max-chars",
      "--hidden",
      "--steps",
      "--batch",
      "--lr",
      "--clip",
      "--epochs",
      "--sampling",
      "--activation",
      "--seed",
      "--random-offset",
      "--prefixes",
      "--pred-every",
      "--pred-len",
      "--init",
      "--save",
      "--json",
      "--model",
      "--prefix",
      "--len",
    ]
  ) assert.ok(r.stdout.includes(flag), flag);
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
        "--max-chars",
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
    const g = await cli("generate", "--model", model, "--prefix", "分开", "--len", "3");
    assert.equal(g.code, 0, g.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
