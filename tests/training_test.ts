// End to end: the training loop learns, is reproducible, carries the state between sequential
// minibatches and shuffles random ones, stops on a signal and on divergence, and gives the
// book's figures for its default model.
import assert from "node:assert/strict";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { Backend, FloatBuf } from "../src/backend/types.ts";
import { resolveTextConfig } from "../src/config/settings.ts";
import { TrainingDivergedError, UsageError } from "../src/errors.ts";
import { generate } from "../src/generate/generate.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../src/io/checkpoint.ts";
import { loadText } from "../src/io/corpus_files.ts";
import { backward } from "../src/model/backward.ts";
import { carryState, forwardLoss, resetState, writeTokens } from "../src/model/forward.ts";
import { createModel, type RnnModel } from "../src/model/model.ts";
import { quantize } from "../src/model/quantize.ts";
import { Rng } from "../src/rng.ts";
import { batches, randomBatches } from "../src/text/batches.ts";
import { buildCorpus, type Corpus } from "../src/text/corpus.ts";
import { textCorpus } from "../src/text/text.ts";
import { evaluate } from "../src/train/evaluate.ts";
import { train } from "../src/train/train.ts";

const LYRICS = "我想要你的微笑每天都能看到 我知道这里很美但家乡的你更美 " +
  "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ";
const small = () => buildCorpus(Array.from(LYRICS.repeat(12)));

Deno.test("a uniform model has perplexity equal to the vocabulary size", async () => {
  const corpus = small();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: 16, activation: "tanh" }, {
    initScale: 0,
  });
  const { perplexity } = await evaluate(model, corpus.indices);
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
  assert.ok((await evaluate(result.model, corpus.indices)).perplexity < 2);
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

/**
 * A reference backend that records, for every recurrent forward pass, the state it started from
 * and the state it ended with (copies, read after training).
 */
function recordingStates(): { backend: Backend; starts: FloatBuf[]; ends: FloatBuf[] } {
  const base = createReferenceBackend();
  const starts: FloatBuf[] = [], ends: FloatBuf[] = [];
  const keep = (list: FloatBuf[], states: FloatBuf, at: number, block: number) => {
    const copy = base.alloc(block);
    base.copy(copy, base.view(states, at * block, block));
    list.push(copy);
  };
  const backend: Backend = {
    ...base,
    rnnForward(states, zin, whh, t, b, h, act, whhPacked) {
      keep(starts, states, 0, b * h);
      base.rnnForward(states, zin, whh, t, b, h, act, whhPacked);
      keep(ends, states, t, b * h);
    },
  };
  return { backend, starts, ends };
}

/** The settings of the small runs that compare train() with a loop written out by hand. */
const TINY = { hidden: 8, batchSize: 3, numSteps: 5, lr: 1, clip: 1, seed: 7 } as const;

/**
 * One epoch of sequential minibatches written out by hand, as `train()` runs them (SGD, clipping),
 * with the hidden state carried from each minibatch to the next or reset before each.
 */
function handRunEpoch(model: RnnModel, corpus: Corpus, state: "carry" | "reset"): void {
  const be = model.backend, { batchSize, numSteps, lr, clip } = TINY;
  const ws = model.acquireWorkspace(numSteps, batchSize);
  be.fill(ws.stats, 0);
  resetState(model, ws);
  // Sequential sampling from element 0 draws nothing from the generator.
  for (const batch of batches("sequential", corpus.indices, batchSize, numSteps, new Rng(0))) {
    if (state === "reset") resetState(model, ws);
    writeTokens(model, ws, batch.inputs, numSteps, "inputs");
    writeTokens(model, ws, batch.targets, numSteps, "targets");
    be.fill(model.grads, 0);
    forwardLoss(model, ws, numSteps);
    backward(model, ws, numSteps);
    be.clipGradNorm(model.grads, model.numParams, clip, ws.stats);
    model.changeWeights(() =>
      be.sgdUpdate(model.params, model.grads, model.numParams, lr, ws.stats)
    );
    if (state === "carry") carryState(model, ws, numSteps);
  }
  model.releaseWorkspace(ws);
}

Deno.test("sequential sampling carries the hidden state from each minibatch to the next", async () => {
  const corpus = buildCorpus(Array.from(LYRICS.repeat(2)));
  const { backend, starts, ends } = recordingStates();
  const fresh = (be: Backend) =>
    createModel({ vocabSize: corpus.vocab.size, hidden: TINY.hidden }, { backend: be, seed: 1 });
  const trained = await train(corpus, {
    ...TINY,
    model: fresh(backend),
    epochs: 1,
    sampling: "sequential",
    predEvery: 0,
  });
  assert.ok(starts.length >= 4, `${starts.length} minibatches`);
  const read = (buf: FloatBuf) => backend.read(buf);
  // The epoch starts from zero; minibatch k + 1 starts where minibatch k ended.
  assert.ok((await read(starts[0])).every((x) => x === 0), "the first state is not zero");
  for (let k = 0; k + 1 < starts.length; k++) {
    const last = await read(ends[k]);
    assert.ok(last.some((x) => x !== 0), `minibatch ${k} ended in a zero state`);
    assert.deepEqual(
      await read(starts[k + 1]),
      last,
      `minibatch ${k + 1} did not start at ${k}'s end`,
    );
  }
  // The same epoch by hand: the weights are those of the loop that carries the state, not those
  // of one that resets it.
  const weights = await trained.model.getWeights();
  const byHand = async (state: "carry" | "reset") => {
    const model = fresh(createReferenceBackend());
    handRunEpoch(model, corpus, state);
    return await model.getWeights();
  };
  assert.deepEqual(weights, await byHand("carry"));
  assert.notDeepEqual(weights, await byHand("reset"));
});

Deno.test("random sampling starts every minibatch from a zero state", async () => {
  const corpus = buildCorpus(Array.from(LYRICS.repeat(2)));
  const { backend, starts } = recordingStates();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: TINY.hidden }, { backend });
  await train(corpus, { ...TINY, model, epochs: 2, sampling: "random", predEvery: 0 });
  assert.ok(starts.length >= 8, `${starts.length} minibatches`);
  for (const [k, start] of starts.entries()) {
    assert.ok((await backend.read(start)).every((x) => x === 0), `minibatch ${k}`);
  }
});

Deno.test("a random epoch visits every subsequence once, in an order the seed shuffles", () => {
  // 8 minibatches of 3 subsequences of 5: the corpus holds exactly 24 subsequences (and the one
  // element the last target reads), each token its own index so a row names its start.
  const B = 3, T = 5, count = 8;
  const corpus = Int32Array.from({ length: count * B * T + 1 }, (_, i) => i);
  const identity = Array.from({ length: count * B }, (_, i) => i * T);
  const order = (seed: number) =>
    [...randomBatches(corpus, B, T, new Rng(seed))].flatMap((batch) =>
      Array.from({ length: B }, (_, r) => {
        const s = batch.inputs[r * T];
        // Each row is a whole subsequence, its targets one further on.
        for (let t = 0; t < T; t++) {
          assert.equal(batch.inputs[r * T + t], s + t);
          assert.equal(batch.targets[r * T + t], s + t + 1);
        }
        return s;
      })
    );
  const [a, b] = [order(1), order(2)];
  for (const o of [a, b]) {
    assert.deepEqual(o.toSorted((x, y) => x - y), identity, "not a permutation of the starts");
    assert.notDeepEqual(o, identity, "the subsequences were not shuffled");
  }
  assert.notDeepEqual(a, b, "two seeds gave the same order");
  assert.deepEqual(order(1), a, "one seed gave two orders");
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

Deno.test("divergence stops training with advice, naming where, and keeps the last good weights", async () => {
  const corpus = small();
  const model = () =>
    createModel({ vocabSize: corpus.vocab.size, hidden: 16, activation: "relu" }, {
      initScale: 1,
    });
  const opts = { epochs: 50, batchSize: 4, numSteps: 8, lr: 1e30, clip: 0, predEvery: 0 };
  const diverging = model();
  const error = await train(corpus, { ...opts, model: diverging }).then(() => undefined, (e) => e);
  assert.ok(error instanceof TrainingDivergedError, String(error));
  assert.match(error.message, /Lower the learning rate/);
  assert.match(error.message, /turn clipping on/);
  const where = /^training diverged at epoch (\d+), minibatch (\d+): /.exec(error.message);
  assert.ok(where, error.message);
  const [epoch, minibatch] = [Number(where[1]), Number(where[2])];
  const weights = await diverging.getWeights();
  for (const [name, w] of Object.entries(weights)) assert.ok(w.every(Number.isFinite), name);
  // The same run stopped after the minibatch before the one named finishes (it had not
  // diverged yet) with the weights the diverged run kept.
  const before = model();
  if (epoch > 1 || minibatch > 1) {
    const controller = new AbortController();
    const stopped = await train(corpus, {
      ...opts,
      model: before,
      epochs: minibatch > 1 ? epoch : epoch - 1,
      signal: controller.signal,
      progressMs: 0,
      onProgress: (p) => {
        if (p.epoch === epoch && p.step === minibatch - 1) controller.abort();
      },
    });
    assert.equal(stopped.aborted, minibatch > 1);
  }
  assert.deepEqual(weights, await before.getWeights());
});

Deno.test("prefixes are checked against the corpus only when generation is on", async () => {
  const corpus = buildCorpus(Array.from("the time machine ".repeat(30)));
  const opts = { hidden: 8, epochs: 1, batchSize: 4, numSteps: 8, lr: 1 };
  await train(corpus, { ...opts, predEvery: 0 });
  await assert.rejects(
    train(corpus, opts),
    (e: unknown) =>
      e instanceof UsageError && /"分开".*"分", "开".*prefixes/.test(e.message) &&
      /"分开".*"分", "开".*--prefixes/.test(e.forCli()),
  );
});

Deno.test("generation names the characters the vocabulary lacks", async () => {
  const corpus = small();
  const model = createModel({ vocabSize: corpus.vocab.size, hidden: 8, activation: "tanh" });
  await assert.rejects(
    generate(model, corpus.vocab, "分开QZ"),
    (e: unknown) => e instanceof UsageError && /"Q", "Z"/.test(e.message),
  );
  await assert.rejects(generate(model, corpus.vocab, ""), UsageError);
});

const dataDir = Deno.env.get("RNN_DATA_DIR");

/** The first `maxTokens` characters of the Jay Chou lyrics, from RNN_DATA_DIR. */
async function jayChou(maxTokens: number): Promise<Corpus> {
  const raw = await loadText("jaychou", { dataDir, download: false });
  return textCorpus(raw, { tokens: "char", maxTokens });
}

Deno.test({
  name: "a short run on the first 2000 characters of the Jay Chou lyrics learns them",
  ignore: !dataDir,
  fn: async () => {
    const corpus = await jayChou(2000);
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

// The default model (RNN of 256, batch 32 x 35 steps, lr 100, clip 0.01) on the book's 10000
// characters, to the digits the CLI prints: a change to any kernel, the sampler, the carried
// state or the initialisation moves them.
Deno.test({
  name: "the default model's first epochs give the pinned perplexities, sequential sampling",
  ignore: !dataDir,
  fn: async () => {
    const result = await train(await jayChou(10000), {
      epochs: 3,
      sampling: "sequential",
      predEvery: 0,
    });
    assert.equal(result.history[2].perplexity.toFixed(6), "388.035883");
  },
});

Deno.test({
  name: "the default model's first epochs give the pinned perplexities, random sampling",
  ignore: !dataDir,
  fn: async () => {
    const result = await train(await jayChou(10000), { epochs: 3, predEvery: 0 });
    assert.equal(result.config.sampling, "random");
    assert.deepEqual(
      result.history.map((r) => r.perplexity.toFixed(6)),
      ["1197.145680", "428.866668", "383.244646"],
    );
  },
});

Deno.test("an Adam run stopped, saved and resumed ends with the same bits as one that never stopped", async () => {
  const corpus = small();
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
    await encodeCheckpoint({
      model: first.model,
      vocab: corpus.vocab,
      text: resolveTextConfig({}),
      state: first.state,
    }),
  );
  assert.equal(saved.state?.optimizer?.step, first.state.optimizer?.step);
  assert.ok(first.state.optimizer!.step > 0);
  const resumed = await train(corpus, {
    ...opts,
    epochs: 4,
    model: saved.model,
    resume: saved.state,
  });
  assert.equal(resumed.history[0].epoch, 3);
  assert.deepEqual(await resumed.model.getWeights(), await straight.model.getWeights());
  assert.equal(resumed.perplexity, straight.perplexity);
});

Deno.test("Adam learns the text; validation perplexity is reported every epoch", async () => {
  const corpus = small();
  // Holds out the last 100 tokens.
  const valFraction = 100.5 / corpus.indices.length;
  const result = await train(corpus, {
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
    valFraction,
  });
  assert.ok(result.history.every((r) => r.valPerplexity !== undefined && r.valPerplexity > 1));
  // The held-out text repeats the training text, so a model that learned it scores it well too.
  assert.ok(result.history.at(-1)!.valPerplexity! < 2, `${result.history.at(-1)!.valPerplexity}`);
  assert.ok(result.history[0].valPerplexity! > 5);
  await assert.rejects(
    train(corpus, {
      hidden: 8,
      epochs: 31,
      batchSize: 4,
      numSteps: 8,
      resume: result.state,
    }),
    (e: unknown) =>
      e instanceof UsageError &&
      /the saved state holds Adam's moments; set optimizer to adam/.test(e.message),
  );
});

Deno.test("train() refuses an 8-bit model, which is for generation", async () => {
  const corpus = textCorpus("分开 不分开 ".repeat(30));
  const small = await quantize(createModel({ vocabSize: corpus.vocab.size, hidden: 8 }));
  await assert.rejects(
    train(corpus, { model: small, epochs: 1, batchSize: 2, numSteps: 4 }),
    (e) => e instanceof UsageError && /an 8-bit model is for generation/.test(e.message),
  );
});
