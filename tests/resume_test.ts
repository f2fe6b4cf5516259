// Stopping and resuming: a run stopped at epoch k and resumed ends with the same bits as one
// that never stopped, with every source of randomness and state in play, in process and through
// the command line's checkpoints (format version 2).
import assert from "node:assert/strict";
import { CHECKPOINT_VERSION, decodeCheckpoint, encodeCheckpoint } from "../src/io/checkpoint.ts";
import { buildCorpus } from "../src/text/corpus.ts";
import { decodeSafetensors } from "../src/io/safetensors.ts";
import type { TrainState } from "../src/train/state.ts";
import { train } from "../src/train/train.ts";
import { cli } from "./_cli.ts";

const TEXT = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(10);

Deno.test("train() resumed from its state equals a run that never stopped", async () => {
  const corpus = buildCorpus(Array.from(TEXT));
  // Random sampling from random offsets, Adam, dropout between two layers: every generator and
  // every piece of optimizer state matters.
  const opts = {
    hidden: 12,
    layers: 2,
    cell: "lstm",
    dropout: 0.3,
    batchSize: 4,
    numSteps: 8,
    optimizer: "adam",
    lr: 0.01,
    clip: 1,
    seed: 4,
    predEvery: 0,
    sampling: "random",
    randomOffset: true,
  } as const;
  const straight = await train(corpus, { ...opts, epochs: 5 });
  let stopped: TrainState | undefined;
  const first = await train(corpus, {
    ...opts,
    epochs: 5,
    onEpoch: async (r, state) => {
      if (r.epoch === 2) stopped = await state();
    },
  });
  assert.deepEqual(await first.model.getWeights(), await straight.model.getWeights());
  assert.equal(stopped?.epoch, 2);
  const partial = await train(corpus, { ...opts, epochs: 2 });
  const resumed = await train(corpus, {
    ...opts,
    epochs: 5,
    model: partial.model,
    resume: stopped,
  });
  assert.equal(resumed.history[0].epoch, 3);
  assert.deepEqual(await resumed.model.getWeights(), await straight.model.getWeights());
  assert.deepEqual(resumed.state, straight.state);
});

Deno.test("--save-every and --resume continue a run bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT);
    const common = [
      "--corpus",
      corpus,
      "--max-tokens",
      "0",
      "--hidden",
      "12",
      "--layers",
      "2",
      "--dropout",
      "0.3",
      "--batch-size",
      "4",
      "--num-steps",
      "8",
      "--optimizer",
      "adam",
      "--lr",
      "0.01",
      "--clip",
      "1",
      "--pred-every",
      "0",
      "--random-offset",
      "--seed",
      "3",
    ];
    const a = await cli("train", ...common, "--epochs", "4", "--save", `${dir}/a.safetensors`);
    assert.equal(a.code, 0, a.stderr);
    // The same run saving every 2 epochs, as if it had been stopped after epoch 2.
    const b = await cli(
      "train",
      ...common,
      "--epochs",
      "2",
      "--save-every",
      "2",
      "--save",
      `${dir}/b.safetensors`,
    );
    assert.equal(b.code, 0, b.stderr);
    const bytes = await Deno.readFile(`${dir}/b.safetensors`);
    assert.equal(decodeSafetensors(bytes).metadata.format_version, String(CHECKPOINT_VERSION));
    assert.equal(CHECKPOINT_VERSION, 2);
    const saved = decodeCheckpoint(bytes);
    assert.equal(saved.state?.epoch, 2);
    // Adam's moments travel as tensors under the book's names.
    assert.ok(saved.state?.optimizer && saved.state.optimizer.step > 0);
    const names = decodeSafetensors(bytes).tensors.map((t) => t.name);
    assert.ok(names.includes("adam.m.W_xh_l0") && names.includes("adam.v.b_q"), names.join());
    const c = await cli(
      "train",
      "--resume",
      `${dir}/b.safetensors`,
      "--epochs",
      "4",
      "--save",
      `${dir}/c.safetensors`,
    );
    assert.equal(c.code, 0, c.stderr);
    const tensors = async (name: string) =>
      decodeSafetensors(await Deno.readFile(`${dir}/${name}`)).tensors;
    assert.deepEqual(await tensors("c.safetensors"), await tensors("a.safetensors"));

    const r = await cli(
      "train",
      "--resume",
      `${dir}/b.safetensors`,
      "--init-from",
      `${dir}/b.safetensors`,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--resume continues a saved run; drop --init-from and --preset/);
    const e = await cli("train", "--corpus", corpus, "--save-every", "2");
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--save-every needs --save FILE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() stopped inside an epoch resumes at the next minibatch, bit for bit", async () => {
  const corpus = buildCorpus(Array.from(TEXT));
  for (const sampling of ["sequential", "random"] as const) {
    // Sequential sampling carries the LSTM's hidden states and cells of both layers across the
    // stop; random sampling redraws the epoch's order from the saved generator.
    const opts = {
      hidden: 12,
      layers: 2,
      cell: "lstm",
      dropout: 0.3,
      batchSize: 2,
      numSteps: 8,
      optimizer: "adam",
      lr: 0.01,
      clip: 1,
      seed: 4,
      predEvery: 0,
      sampling,
      epochs: 3,
    } as const;
    const straight = await train(corpus, opts);
    const controller = new AbortController();
    const first = await train(corpus, {
      ...opts,
      signal: controller.signal,
      progressMs: 0,
      onProgress: (p) => {
        if (p.epoch === 2 && p.step === 5) controller.abort();
      },
    });
    assert.equal(first.aborted, true);
    assert.equal(first.epochs, 1);
    assert.equal(first.state.position?.step, 5, sampling);
    assert.equal(first.state.position?.hidden?.length, sampling === "sequential" ? 2 : undefined);
    // Through a checkpoint, as the command line saves it on Ctrl-C.
    const vocab = corpus.vocab, text = corpus.text;
    const bytes = await encodeCheckpoint({ model: first.model, vocab, text, state: first.state });
    const saved = decodeCheckpoint(bytes);
    const resumed = await train(corpus, { ...opts, model: saved.model, resume: saved.state });
    assert.deepEqual(
      resumed.history.map((r) => r.perplexity),
      straight.history.slice(1).map((r) => r.perplexity),
      sampling,
    );
    assert.deepEqual(await resumed.model.getWeights(), await straight.model.getWeights(), sampling);
  }
});

Deno.test("Ctrl-C on train --save writes a checkpoint that --resume continues to the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(corpus, TEXT.repeat(4));
    const flags = [
      ...["--corpus", corpus, "--max-tokens", "0", "--hidden", "64", "--batch-size", "4"],
      ...["--num-steps", "8", "--epochs", "60", "--cell", "lstm", "--sampling", "sequential"],
      ...["--pred-every", "1", "--pred-len", "1", "--prefixes", "分开", "--threads", "1"],
    ];
    const full = `${dir}/full.safetensors`, stopped = `${dir}/stopped.safetensors`;
    const straight = await cli("train", ...flags, "--save", full);
    assert.equal(straight.code, 0, straight.stderr);

    // Stopped by Ctrl-C after its third epoch's line (inside the fourth epoch, or between epochs),
    // it saves where it stood.
    const saving = new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", new URL("../mod.ts", import.meta.url).pathname, "train", ...flags],
        ...["--save", stopped, "--json"],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines = saving.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/"epoch"/g) ?? []).length < 3) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    saving.kill("SIGINT");
    for (let r = await lines.read(); !r.done; r = await lines.read()) text += r.value;
    assert.equal((await saving.status).code, 130);
    await saving.stderr.cancel();
    const summary = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.equal(summary.done, false);
    assert.equal(summary.saved, stopped);
    // JSON holds numbers or nothing, never null.
    assert.ok(!Object.values(summary).includes(null), JSON.stringify(summary));
    const ckpt = decodeCheckpoint(await Deno.readFile(stopped));
    assert.ok(ckpt.state, "the Ctrl-C checkpoint is resumable");

    const resumed = await cli("train", "--resume", stopped, "--save", stopped);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await Deno.readFile(stopped), await Deno.readFile(full));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
