/**
 * Named training settings that reproduce the book's runs. A preset fills in defaults; flags given
 * on the command line override it.
 *
 * @module
 */

/** The settings a preset can fix, named as the `train` flags are. */
export interface PresetSettings {
  /** Corpus name or path. */
  corpus?: string;
  /** `"char"` or `"word"` tokens. */
  tokens?: "char" | "word";
  /** `"none"` (the Chinese edition) or `"letters"` (the English edition's normalisation). */
  normalize?: "none" | "letters";
  /** Keep the first N tokens; 0 keeps all. */
  maxTokens?: number;
  /** Hidden units. */
  hidden?: number;
  /** Time steps per sequence. */
  steps?: number;
  /** Sequences per minibatch. */
  batch?: number;
  /** Learning rate. */
  lr?: number;
  /** Gradient-norm clipping threshold. */
  clip?: number;
  /** Passes over the corpus. */
  epochs?: number;
  /** `"random"` or `"sequential"`. */
  sampling?: "random" | "sequential";
  /** Start each epoch at a random offset. */
  randomOffset?: boolean;
  /** Prefixes to continue. */
  prefixes?: string[];
}

/** A named preset with where it comes from. */
export interface Preset {
  /** What run of the book it reproduces. */
  description: string;
  /** The settings. */
  settings: PresetSettings;
}

/**
 * The presets by name.
 *
 * - `timemachine`: the English edition's "RNN from scratch" run (d2l 2nd ed., 9.5): The Time
 *   Machine normalised to lower-case letters and spaces, the first 10000 character tokens, hidden
 *   512, steps 35, batch 32, SGD lr 1, clipping 1, 500 epochs, sequential sampling from a random
 *   offset, prefixes "time traveller" and "traveller".
 *
 * @example List the presets
 * ```ts
 * import { PRESETS } from "./presets.ts";
 * console.log(Object.keys(PRESETS)); // ["timemachine"]
 * ```
 */
export const PRESETS: Readonly<Record<string, Preset>> = {
  timemachine: {
    description: "The Time Machine, characters, hidden 512, lr 1, 500 epochs (d2l 2nd ed.)",
    settings: {
      corpus: "timemachine",
      tokens: "char",
      normalize: "letters",
      maxTokens: 10000,
      hidden: 512,
      steps: 35,
      batch: 32,
      lr: 1,
      clip: 1,
      epochs: 500,
      sampling: "sequential",
      randomOffset: true,
      prefixes: ["time traveller", "traveller"],
    },
  },
};
