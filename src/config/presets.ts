/**
 * Named settings that reproduce the book's runs. A preset fills in defaults; settings given
 * explicitly (options, command-line flags) override it. Presets use the names of the settings
 * table, and a test resolves every one through it.
 *
 * @module
 */
import type { RunConfig } from "./settings.ts";

/** A named preset with where it comes from. */
export interface Preset {
  /** What run of the book it reproduces. */
  description: string;
  /** The settings it fixes; the rest keep their defaults. */
  settings: Partial<RunConfig>;
}

const jaychou = {
  corpus: "jaychou",
  maxTokens: 10000,
  hidden: 256,
  numSteps: 35,
  batchSize: 32,
} as const;

/**
 * The presets by name: the book's runs.
 *
 * - `scratch-rnn`: the Chinese edition's RNN from scratch (the `train` defaults): Jay Chou, the
 *   first 10000 characters, hidden 256, steps 35, batch 32, 250 epochs, random sampling, SGD
 *   lr 100, clipping 0.01.
 * - `concise-rnn`: its concise RNN: the same data, 250 epochs, sequential sampling, Adam lr 0.001,
 *   clipping 0.01, and PyTorch's initialisation of `nn.RNN` and `nn.Linear` (every parameter
 *   uniform in ±1/√H).
 * - `scratch-gru`, `scratch-lstm`: the gated cells from scratch: 160 epochs, sequential sampling,
 *   SGD lr 100, clipping 0.01.
 * - `concise-gru`, `concise-lstm`: the same with Adam at lr 0.01 (the learning rate the PyTorch
 *   port of the Chinese edition uses for its concise GRU and LSTM) and PyTorch's initialisation;
 *   the GRU is PyTorch's `nn.GRU` (reset gate after the hidden product), so it exports exactly.
 * - `timemachine`: the English edition's RNN from scratch (d2l 2nd ed.): The Time Machine
 *   normalised to lower-case letters and spaces, the first 10000 character tokens, hidden 512,
 *   steps 35, batch 32, SGD lr 1, clipping 1, 500 epochs, sequential sampling from a random
 *   offset, prefixes "time traveller" and "traveller".
 *
 * @example List the presets
 * ```ts
 * import { PRESETS } from "./presets.ts";
 * console.log(Object.keys(PRESETS).length); // 7
 * ```
 */
export const PRESETS: Readonly<Record<string, Preset>> = {
  "scratch-rnn": {
    description: "Jay Chou, vanilla RNN, SGD lr 100, 250 epochs, random sampling (the defaults)",
    settings: {
      ...jaychou,
      cell: "rnn",
      optimizer: "sgd",
      lr: 100,
      clip: 0.01,
      epochs: 250,
      sampling: "random",
    },
  },
  "concise-rnn": {
    description: "Jay Chou, vanilla RNN, Adam lr 0.001, 250 epochs, sequential sampling",
    settings: {
      ...jaychou,
      cell: "rnn",
      optimizer: "adam",
      init: "uniform",
      lr: 0.001,
      clip: 0.01,
      epochs: 250,
      sampling: "sequential",
    },
  },
  "scratch-gru": {
    description: "Jay Chou, GRU, SGD lr 100, 160 epochs, sequential sampling",
    settings: {
      ...jaychou,
      cell: "gru",
      optimizer: "sgd",
      lr: 100,
      clip: 0.01,
      epochs: 160,
      sampling: "sequential",
    },
  },
  "scratch-lstm": {
    description: "Jay Chou, LSTM, SGD lr 100, 160 epochs, sequential sampling",
    settings: {
      ...jaychou,
      cell: "lstm",
      optimizer: "sgd",
      lr: 100,
      clip: 0.01,
      epochs: 160,
      sampling: "sequential",
    },
  },
  "concise-gru": {
    description: "Jay Chou, GRU, Adam lr 0.01, 160 epochs, sequential sampling",
    settings: {
      ...jaychou,
      cell: "gru",
      optimizer: "adam",
      init: "uniform",
      gruVariant: "pytorch",
      lr: 0.01,
      clip: 0.01,
      epochs: 160,
      sampling: "sequential",
    },
  },
  "concise-lstm": {
    description: "Jay Chou, LSTM, Adam lr 0.01, 160 epochs, sequential sampling",
    settings: {
      ...jaychou,
      cell: "lstm",
      optimizer: "adam",
      init: "uniform",
      lr: 0.01,
      clip: 0.01,
      epochs: 160,
      sampling: "sequential",
    },
  },
  timemachine: {
    description: "The Time Machine, characters, hidden 512, lr 1, 500 epochs (d2l 2nd ed.)",
    settings: {
      corpus: "timemachine",
      tokens: "char",
      normalize: "letters",
      maxTokens: 10000,
      hidden: 512,
      numSteps: 35,
      batchSize: 32,
      lr: 1,
      clip: 1,
      epochs: 500,
      sampling: "sequential",
      randomOffset: true,
      prefixes: ["time traveller", "traveller"],
    },
  },
};
