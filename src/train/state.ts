/**
 * The one resume state: what a run needs besides its weights to continue exactly, as training
 * hands it out after every epoch and a checkpoint records it.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { AdamState } from "./adam.ts";

/** Where a run stands: epochs completed, its generators and its optimizer (see `train`'s `resume`). */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** The sampler's generator. */
  rngState: number[];
  /** The dropout masks' generator, when dropout is on. */
  dropoutRngState?: number[];
  /** Adam's moments (one per parameter, in the parameters' storage order) and step. */
  optimizer?: AdamState;
}

/**
 * The run's generators: from the seed for a new run (each stream its own, so turning dropout on
 * does not change which minibatches are drawn), or as a saved state left them.
 */
export function seedStreams(
  seed: number,
  resume: TrainState | undefined,
): { sampler: Rng; dropout: Rng } {
  return {
    sampler: resume ? Rng.fromState(resume.rngState) : new Rng(seed ^ 0x5bd1e995),
    dropout: resume?.dropoutRngState
      ? Rng.fromState(resume.dropoutRngState)
      : new Rng(seed ^ 0x2545f491),
  };
}
