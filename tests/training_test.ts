// End to end: the training loop learns, is reproducible, stops on a signal and on divergence.
import assert from "node:assert/strict";
import { buildCorpus, loadCorpus } from "../src/text/corpus.ts";
import { evaluate } from "../src/train/evaluate.ts";
import { generate } from "../src/generate/generate.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../src/io/checkpoint.ts";
import { createModel, getWeights } from "../src/model/model.ts";
import { train, TrainingDivergedError } from "../src/train/train.ts";

const LYRICS = "我想要你的微笑每天都能看到 我知道这里很美但家乡的你更美 " +
  "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ";
const small = () => buildCorpus(Array.from(LYRICS.repeat(12)));

Deno.test("a uniform model has perplexity equal to the vocabulary size", () => {
  const corpus = small();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: 16, activation: "tanh" }, {
    initScale: 0,
  });
  const { perplexity } = evaluate(model, corpus.indices);
  assert.ok(Math.abs(perplexity - corpus.vocab.size) < 1e-3 * corpus.vocab.size);
});

Deno.test("training drives perplexity far below the untrained model's", async () => {
  const corpus = small();
  const V = corpus.vocab.size;
  const opts = {
    hidden: 64,
    epochs: 40,
    batchSize: 8,
    numSteps: 16,
    lr: 1,
    clip: 1,
    seed: 3,
    predEvery: 0,
  } as const;
  const result = await train(corpus, opts);
  assert.equal(result.history.length, 40);
  // The untrained model scores about V; a model that learned the text scores near 1.
  assert.ok(result.history[0].perplexity > V / 2, `first epoch ${result.history[0].perplexity}`);
  assert.ok(result.perplexity < 2, `final perplexity ${result.perplexity} (V = ${V})`);
  assert.ok(evaluate(result.model, corpus.indices).perplexity < 2);
});

Deno.test("the same seed gives the same perplexities and the same text", async () => {
  const corpus = small();
  const run = () =>
    train(corpus, {
      hidden: 32,
      epochs: 6,
      batchSize: 4,
      numSteps: 10,
      lr: 1,
      clip: 1,
      seed: 11,
      predEvery: 3,
      predLen: 12,
      prefixes: ["分开"],
      sampling: "sequential",
    });
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a.history, b.history.map((r, i) => ({ ...r, seconds: a.history[i].seconds })));
  assert.equal(a.history[2].samples?.["分开"], b.history[2].samples?.["分开"]);
  assert.equal(Array.from(a.history[5].samples!["分开"]).length, 2 + 12);
});

Deno.test("train() stops cleanly on an AbortSignal", async () => {
  const controller = new AbortController();
  const result = await train(small(), {
    hidden: 16,
    epochs: 1000,
    batchSize: 4,
    numSteps: 8,
    lr: 1,
    predEvery: 0,
    signal: controller.signal,
    onEpoch: (r) => {
      if (r.epoch === 3) controller.abort();
    },
  });
  assert.equal(result.aborted, true);
  assert.ok(result.epochs >= 3 && result.epochs <= 4, `stopped after ${result.epochs}`);
});

Deno.test("divergence stops training with advice and leaves finite weights", async () => {
  const corpus = small();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: 16, activation: "relu" }, {
    initScale: 1,
  });
  await assert.rejects(
    train(corpus, {
      model,
      epochs: 50,
      batchSize: 4,
      numSteps: 8,
      lr: 1e30,
      clip: 0,
      predEvery: 0,
    }),
    (e: unknown) =>
      e instanceof TrainingDivergedError && /Lower the learning rate/.test(e.message) &&
      /turn clipping on/.test(e.message),
  );
  assert.ok(Number.isFinite(model.backend.sumSquares(model.params, model.numParams)));
});

Deno.test("prefixes are checked against the corpus only when generation is on", async () => {
  const corpus = buildCorpus(Array.from("the time machine ".repeat(30)));
  const opts = { hidden: 8, epochs: 1, batchSize: 4, numSteps: 8, lr: 1 };
  await train(corpus, { ...opts, predEvery: 0 });
  await assert.rejects(
    train(corpus, opts),
    (e: unknown) => e instanceof RangeError && /"分开".*"分", "开".*--prefixes/.test(e.message),
  );
});

Deno.test("generation names the characters the vocabulary lacks", () => {
  const corpus = small();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: 8, activation: "tanh" });
  assert.throws(
    () => generate(model, corpus.vocab, "分开QZ"),
    (e: unknown) => e instanceof RangeError && /"Q", "Z"/.test(e.message),
  );
  assert.throws(() => generate(model, corpus.vocab, ""), RangeError);
});

const dataDir = Deno.env.get("RNN_DATA_DIR");
Deno.test({
  name: "a short run on the first 2000 characters of the Jay Chou lyrics learns them",
  ignore: !dataDir,
  fn: async () => {
    const corpus = await loadCorpus("jaychou", { maxChars: 2000, download: false });
    const V = corpus.vocab.size;
    const result = await train(corpus, {
      hidden: 64,
      epochs: 30,
      batchSize: 8,
      numSteps: 20,
      seed: 1,
      predEvery: 0,
      sampling: "sequential",
    });
    assert.ok(result.history[0].perplexity > V / 3, `first ${result.history[0].perplexity}`);
    assert.ok(result.perplexity < V / 10, `final ${result.perplexity}, V = ${V}`);
  },
});

Deno.test("an Adam run stopped, saved and resumed ends with the same bits as one that never stopped", async () => {
  const corpus = small();
  // Sequential sampling from element 0 draws no randomness, so both runs see the same batches.
  const opts = {
    hidden: 24,
    batchSize: 4,
    numSteps: 10,
    optimizer: "adam",
    lr: 0.01,
    clip: 1,
    seed: 5,
    predEvery: 0,
    sampling: "sequential",
  } as const;
  const straight = await train(corpus, { ...opts, epochs: 4 });
  const first = await train(corpus, { ...opts, epochs: 2 });
  const saved = decodeCheckpoint(
    encodeCheckpoint(first.model, corpus.vocab, { optimizer: first.optimizerState }),
  );
  assert.equal(saved.optimizer?.step, first.optimizerState?.step);
  const resumed = await train(corpus, {
    ...opts,
    epochs: 2,
    model: saved.model,
    adamState: saved.optimizer,
  });
  assert.deepEqual(getWeights(resumed.model), getWeights(straight.model));
  assert.equal(resumed.perplexity, straight.perplexity);
});

Deno.test("Adam learns the text; validation perplexity is reported every epoch", async () => {
  const corpus = small();
  const n = corpus.indices.length, cut = n - 100;
  const result = await train({ ...corpus, indices: corpus.indices.slice(0, cut) }, {
    hidden: 64,
    epochs: 30,
    batchSize: 8,
    numSteps: 16,
    optimizer: "adam",
    lr: 0.01,
    clip: 1,
    seed: 2,
    predEvery: 0,
    sampling: "sequential",
    validation: corpus.indices.slice(cut),
  });
  assert.ok(result.history.every((r) => r.valPerplexity !== undefined && r.valPerplexity > 1));
  // The held-out text repeats the training text, so a model that learned it scores it well too.
  assert.ok(result.history.at(-1)!.valPerplexity! < 2, `${result.history.at(-1)!.valPerplexity}`);
  assert.ok(result.history[0].valPerplexity! > 5);
  await assert.rejects(
    train(corpus, {
      hidden: 8,
      epochs: 1,
      batchSize: 4,
      numSteps: 8,
      adamState: result.optimizerState,
    }),
    /adamState was given, but the optimizer is not Adam/,
  );
});
