// One training epoch of the book's default model (vocabulary 1027, hidden 256, batch 32, steps
// 35, 10000 characters: 8 minibatches, about 17.7 GFLOP), on the WebAssembly backend.
// The content of the text does not change the cost, so a synthetic corpus with the Jay Chou
// vocabulary size stands in and the benchmark needs no data files.
import { buildCorpus } from "../src/corpus.ts";
import { createModel } from "../src/model.ts";
import { Rng } from "../src/rng.ts";
import { train } from "../src/train.ts";

const V = 1027, H = 256, B = 32, T = 35;
const rng = new Rng(0);
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const chars = Array.from({ length: 10000 }, (_, i) => alphabet[i < V ? i : rng.nextInt(V)]);
const corpus = buildCorpus(chars);

// FLOPs of the multiplies per minibatch: recurrence forward and backward (3 products of
// B·H·H per step), output projection and its two gradients (3 products of T·B·H·V).
const flopsPerEpoch = 8 * 2 * (3 * T * B * H * H + 3 * T * B * H * V);

for (const sampling of ["random", "sequential"] as const) {
  const model = createModel({ vocabSize: V, hidden: H, activation: "tanh" }, { seed: 0 });
  Deno.bench({
    name: `epoch, default RNN, ${sampling} sampling (${(flopsPerEpoch / 1e9).toFixed(1)} GFLOP)`,
    group: "epoch",
    baseline: sampling === "random",
    async fn() {
      await train(corpus, { model, epochs: 1, sampling, predEvery: 0, batchSize: B, numSteps: T });
    },
  });
}
