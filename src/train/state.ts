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
  /** Where in epoch `epoch + 1` a run stopped inside it (as on Ctrl-C); absent between epochs. */
  position?: EpochPosition;
}

/**
 * A run stopped inside an epoch: enough to continue with the next minibatch exactly as a run
 * that never stopped would.
 */
export interface EpochPosition {
  /** Minibatches of the epoch done. */
  step: number;
  /** The sampler's generator at the start of the epoch, where it drew the epoch's order. */
  epochRngState: number[];
  /** The epoch's losses so far, summed in nats (for its perplexity). */
  lossSum: number;
  /** Sequential sampling: each layer's carried hidden state [B,H], bottom first. */
  hidden?: Float32Array[];
  /** Sequential sampling of an LSTM: each layer's carried memory cell [B,H], bottom first. */
  cells?: Float32Array[];
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
