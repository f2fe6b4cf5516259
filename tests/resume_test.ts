// Stopping and resuming: a run stopped at epoch k and resumed ends with the same bits as one
// that never stopped, with every source of randomness and state in play, in process and through
// the command line's checkpoints (format version 2).
import assert from "node:assert/strict";
import { CHECKPOINT_VERSION, decodeCheckpoint } from "../src/io/checkpoint.ts";
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
