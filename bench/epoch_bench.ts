// One training epoch of the book's default setting (vocabulary 1027, hidden 256, batch 32, steps
// 35, 10000 characters: 8 minibatches) for each cell, on the WebAssembly backend, the vanilla RNN
// as the baseline. The content of the text does not change the cost, so a synthetic corpus with
// the Jay Chou vocabulary size stands in and the benchmark needs no data files.
import type { CellKind } from "../src/backend/types.ts";
import { buildCorpus } from "../src/text/corpus.ts";
import { createModel } from "../src/model/model.ts";
import { GATES } from "../src/model/params.ts";
import { Rng } from "../src/rng.ts";
import { train } from "../src/train/train.ts";

const V = 1027, H = 256, B = 32, T = 35, MINIBATCHES = 8;
const rng = new Rng(0);
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const chars = Array.from({ length: 10000 }, (_, i) => alphabet[i < V ? i : rng.nextInt(V)]);
const corpus = buildCorpus(chars);

/**
 * Multiply FLOPs of one epoch: per minibatch the recurrent product forward and its two backward
 * products (3 · T·B·H·G with G = gates·H) and the output projection with its two gradients
 * (3 · T·B·H·V); the input products are row gathers.
 */
function epochFlops(cell: CellKind): number {
  const G = GATES[cell].length * H;
  return MINIBATCHES * 2 * (3 * T * B * H * G + 3 * T * B * H * V);
}

for (const sampling of ["random", "sequential"] as const) {
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const model = createModel({ vocabSize: V, hidden: H, activation: "tanh", cell }, { seed: 0 });
    const gflop = epochFlops(cell) / 1e9;
    Deno.bench({
      name: `epoch, default ${cell}, ${sampling} sampling (${gflop.toFixed(1)} GFLOP)`,
      group: `epoch, ${sampling} sampling`,
      baseline: cell === "rnn",
      async fn() {
        await train(corpus, {
          model,
          epochs: 1,
          sampling,
          predEvery: 0,
          batchSize: B,
          numSteps: T,
        });
      },
    });
  }
}
