/**
 * The training loop of the book's `train_and_predict_rnn`: mean cross-entropy over each
 * minibatch, backpropagation through time, clipping of the global gradient norm to `theta`, SGD
 * (or Adam, as the book's concise runs), perplexity per epoch, validation perplexity on held-out
 * tokens, and periodic greedy generation for a few prefixes.
 *
 * @module
 */
import { batches, countBatches, type SamplingKind } from "../text/batches.ts";
import { Adam, type AdamState } from "./adam.ts";
import { clipGradNorm } from "./clip.ts";
import type { Corpus } from "../text/corpus.ts";
import { evaluate } from "./evaluate.ts";
import { generate, prefixTokens } from "../generate/generate.ts";
import {
  type Activation,
  backward,
  carryState,
  type CellType,
  createModel,
  forwardLoss,
  resetState,
  type RnnModel,
  sharedWorkspace,
  weightsChanged,
  writeTokens,
} from "../model/model.ts";
import type { Backend } from "../backend/types.ts";
import { Rng } from "../rng.ts";
import { CHAR_TEXT, type TextSettings } from "../text/text.ts";

/** Settings of {@linkcode train}; the defaults reproduce the book's Jay Chou run. */
export interface TrainOptions {
  /** A model to continue training; default: a new one built from `hidden` and `activation`. */
  model?: RnnModel;
  /** Backend of a new model; default WebAssembly. */
  backend?: Backend;
  /** Hidden units of a new model; default 256. */
  hidden?: number;
  /** Activation of a new vanilla model; default `"tanh"`. */
  activation?: Activation;
  /** Cell of a new model: `"rnn"` (default), `"gru"` or `"lstm"`. */
  cell?: CellType;
  /** Stacked recurrent layers of a new model; default 1. */
  layers?: number;
  /** Initialisation of a new model (see `createModel`); default `"normal"`. */
  init?: "normal" | "uniform";
  /**
   * The probability of dropping each output of a layer that feeds another (training only; kept
   * outputs are scaled by 1/(1−p), so evaluation uses the weights as they are); default 0.
   */
  dropout?: number;
  /** Passes over the corpus; default 250. */
  epochs?: number;
  /** Sequences per minibatch; default 32. */
  batchSize?: number;
  /** Time steps per sequence; default 35. */
  numSteps?: number;
  /** `"sgd"` (the book's from-scratch runs, the default) or `"adam"` (its concise runs). */
  optimizer?: "sgd" | "adam";
  /**
   * Learning rate; default 100 for SGD (with the default clipping each step moves by at most 1)
   * and 0.001 for Adam.
   */
  lr?: number;
  /** Adam's moments and step from an earlier run (a checkpoint's), to resume it exactly. */
  adamState?: AdamState;
  /**
   * Where an earlier run stopped (a checkpoint's `training`): training continues with epoch
   * `resume.epoch + 1`, the generators and optimizer as they were, so the result equals a run
   * that never stopped.
   */
  resume?: TrainState;
  /** Held-out tokens scored after every epoch (read once in order, batch 1). */
  validation?: Int32Array;
  /** Clip the global gradient norm to this value; 0 turns clipping off; default 0.01. */
  clip?: number;
  /** `"random"` (the default, state reset per minibatch) or `"sequential"` (state carried). */
  sampling?: SamplingKind;
  /**
   * Start each epoch at a random offset in [0, numSteps) (the 2nd edition's samplers) instead of
   * cutting the corpus at fixed places from its start (the book's Jay Chou run); default false.
   */
  randomOffset?: boolean;
  /** Seed of the initial weights and the sampler; default 0. */
  seed?: number;
  /** Prefixes to continue every `predEvery` epochs; default `["分开", "不分开"]`. */
  prefixes?: string[];
  /** Generate every this many epochs (and after the last); 0 turns it off; default 50. */
  predEvery?: number;
  /** Tokens generated after each prefix; default 50. */
  predLen?: number;
  /** How the corpus was tokenised (for the prefixes and the samples); default characters. */
  text?: TextSettings;
  /** Stops training after the current minibatch. */
  signal?: AbortSignal;
  /** Called after every minibatch. */
  onProgress?: (progress: TrainProgress) => void;
  /** Called after every epoch; training waits for a returned promise (e.g. a save). */
  onEpoch?: (report: EpochReport, state: () => TrainState) => void | Promise<void>;
}

/** Progress within an epoch, reported after each minibatch. */
export interface TrainProgress {
  /** Epoch, counted from 1. */
  epoch: number;
  /** Total epochs of the run. */
  epochs: number;
  /** Minibatch within the epoch, counted from 1. */
  step: number;
  /** Minibatches per epoch. */
  steps: number;
  /** Mean cross-entropy of this minibatch. */
  loss: number;
  /** Perplexity of the epoch so far. */
  perplexity: number;
  /** Training throughput of the epoch so far (predicted characters per second). */
  charsPerSecond: number;
  /** Estimated seconds left in the run. */
  etaSeconds: number;
}

/** The result of one epoch. */
export interface EpochReport {
  /** Epoch, counted from 1. */
  epoch: number;
  /** `exp` of the mean cross-entropy over the epoch. */
  perplexity: number;
  /** Seconds of training in this epoch (generation and validation excluded). */
  seconds: number;
  /** Perplexity on `validation`, when given. */
  valPerplexity?: number;
  /** Generated text per prefix, on generation epochs only. */
  samples?: Record<string, string>;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** The trained model. */
  model: RnnModel;
  /** Epochs completed. */
  epochs: number;
  /** Perplexity of the last completed epoch (`NaN` when none completed). */
  perplexity: number;
  /** Whether the signal stopped the run early. */
  aborted: boolean;
  /** One report per completed epoch. */
  history: EpochReport[];
  /** Adam's state after the last step, when training with Adam (for checkpoints). */
  optimizerState?: AdamState;
  /**
   * The state to continue from (see `resume`); after an abort it is that of the interrupted
   * epoch's middle, which cannot be continued exactly.
   */
  state: TrainState;
}

/** Everything besides the weights that a run needs to continue exactly (see `resume`). */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** The sampler's generator. */
  rngState: number[];
  /** The dropout masks' generator, when dropout is on. */
  dropoutRngState?: number[];
  /** Adam's moments and step, when training with Adam. */
  optimizerState?: AdamState;
}

/** Thrown when the loss or the gradient norm stops being finite; the weights stay finite. */
export class TrainingDivergedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to change.
   */
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

/**
 * Trains a character-level RNN on a corpus, as in the book's `train_and_predict_rnn`.
 * Async: it yields to the event loop between minibatches so a page or worker stays responsive.
 *
 * @param corpus The encoded corpus (see `loadCorpus`).
 * @param options Settings; the defaults are the book's.
 * @returns The model, the epochs completed and the per-epoch reports.
 * @throws {TrainingDivergedError} When the loss or gradient norm becomes NaN or infinite.
 * @example Train a small model for a few epochs
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { train } from "./train.ts";
 * const corpus = buildCorpus(Array.from("the time machine ".repeat(40)));
 * const result = await train(corpus, {
 *   hidden: 32, epochs: 5, batchSize: 4, numSteps: 8, lr: 1, clip: 1, predEvery: 0,
 * });
 * console.log(result.perplexity < corpus.vocab.size);
 * ```
 */
export async function train(corpus: Corpus, options: TrainOptions = {}): Promise<TrainResult> {
  const epochs = positiveInteger("epochs", options.epochs ?? 250);
  const batchSize = positiveInteger("batch size", options.batchSize ?? 32);
  const numSteps = positiveInteger("steps", options.numSteps ?? 35);
  const dropoutP = options.dropout ?? 0;
  if (!(dropoutP >= 0 && dropoutP < 1)) {
    throw new RangeError(`dropout must lie in [0, 1), got ${dropoutP}`);
  }
  const optimizer = options.optimizer ?? "sgd";
  if (optimizer !== "sgd" && optimizer !== "adam") {
    throw new RangeError(`optimizer must be "sgd" or "adam", got ${String(optimizer)}`);
  }
  const lr = nonNegative("learning rate", options.lr ?? (optimizer === "adam" ? 0.001 : 100));
  const clip = nonNegative("clip", options.clip ?? 0.01);
  const sampling = options.sampling ?? "random";
  const seed = options.seed ?? 0;
  const prefixes = options.prefixes ?? ["分开", "不分开"];
  const predEvery = options.predEvery ?? 50;
  const predLen = options.predLen ?? 50;
  const text = options.text ?? CHAR_TEXT;
  if (sampling !== "random" && sampling !== "sequential") {
    throw new RangeError(`sampling must be "random" or "sequential", got ${String(sampling)}`);
  }
  // Each minibatch is written into the workspace before the next is drawn, so one pair of
  // index arrays serves the whole run.
  const sampler = { randomOffset: options.randomOffset ?? false, reuseBuffers: true };
  const steps = countBatches(sampling, corpus.indices.length, batchSize, numSteps, sampler);
  if (steps < 1) {
    throw new RangeError(
      `the corpus has ${corpus.indices.length} tokens, too few for one minibatch of ` +
        `${batchSize}x${numSteps}; use a smaller batch or fewer steps`,
    );
  }
  const vocabSize = corpus.vocab.size;
  const model = options.model ?? createModel(
    {
      vocabSize,
      hidden: options.hidden ?? 256,
      activation: options.activation ?? "tanh",
      cell: options.cell ?? "rnn",
      layers: options.layers ?? 1,
    },
    { backend: options.backend, seed, init: options.init },
  );
  if (model.config.vocabSize !== vocabSize) {
    throw new RangeError(
      `the model has a vocabulary of ${model.config.vocabSize}, the corpus ${vocabSize}`,
    );
  }
  if (predEvery > 0) {
    for (const prefix of prefixes) {
      try {
        prefixTokens(prefix, corpus.vocab, text);
      } catch (e) {
        throw new RangeError(
          `${(e as Error).message}; choose prefixes from the corpus (option prefixes, --prefixes)`,
        );
      }
    }
  }

  const be = model.backend;
  const adam = optimizer === "adam"
    ? new Adam(be, model.params, model.grads, model.numParams, { lr })
    : undefined;
  const resume = options.resume;
  const savedAdam = resume?.optimizerState ?? options.adamState;
  if (savedAdam) {
    if (!adam) throw new RangeError("adamState was given, but the optimizer is not Adam");
    adam.loadState(savedAdam);
  }
  const ws = sharedWorkspace(model, numSteps, batchSize);
  const rng = resume ? Rng.fromState(resume.rngState) : new Rng(seed ^ 0x5bd1e995);
  // Its own stream, so turning dropout on does not change which minibatches are drawn.
  const dropout = dropoutP > 0
    ? {
      p: dropoutP,
      rng: resume?.dropoutRngState
        ? Rng.fromState(resume.dropoutRngState)
        : new Rng(seed ^ 0x2545f491),
    }
    : undefined;
  const firstEpoch = (resume?.epoch ?? 0) + 1;
  if (!Number.isInteger(firstEpoch) || firstEpoch < 1) {
    throw new RangeError(`resume.epoch must be an integer >= 0, got ${resume?.epoch}`);
  }
  const snapshot = (epoch: number) => (): TrainState => ({
    epoch,
    rngState: rng.state(),
    ...(dropout ? { dropoutRngState: dropout.rng.state() } : {}),
    ...(adam ? { optimizerState: adam.state() } : {}),
  });
  const n = numSteps * batchSize;
  const history: EpochReport[] = [];
  let lastYield = performance.now();
  let trainingSeconds = 0;

  for (let epoch = firstEpoch; epoch <= epochs; epoch++) {
    const start = performance.now();
    let lossSum = 0, count = 0, step = 0;
    resetState(model, ws);
    for (const batch of batches(sampling, corpus.indices, batchSize, numSteps, rng, sampler)) {
      step++;
      if (sampling === "random") resetState(model, ws);
      writeTokens(model, ws, batch.inputs, numSteps, "inputs");
      writeTokens(model, ws, batch.targets, numSteps, "targets");
      be.fill(model.grads, 0);
      const loss = forwardLoss(model, ws, numSteps, dropout);
      backward(model, ws, numSteps, dropout);
      const norm = clipGradNorm(be, model.grads, model.numParams, clip);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        throw new TrainingDivergedError(
          `training diverged at epoch ${epoch}, minibatch ${step}: the ` +
            `${Number.isFinite(loss) ? "gradient norm" : "loss"} is ${
              Number.isFinite(loss) ? norm : loss
            }. Lower the learning rate (now ${lr})` +
            (clip > 0 ? ` or the clipping threshold (now ${clip})` : " or turn clipping on"),
        );
      }
      if (adam) adam.step();
      else be.sgdUpdate(model.params, model.grads, model.numParams, lr);
      weightsChanged(model);
      if (sampling === "sequential") carryState(model, ws, numSteps);
      lossSum += loss;
      count += n;

      const now = performance.now();
      const seconds = (now - start) / 1000;
      const doneSteps = (epoch - 1) * steps + step;
      const perStep = (trainingSeconds + seconds) / doneSteps;
      options.onProgress?.({
        epoch,
        epochs,
        step,
        steps,
        loss: loss / n,
        perplexity: Math.exp(lossSum / count),
        charsPerSecond: count / Math.max(seconds, 1e-9),
        etaSeconds: perStep * (epochs * steps - doneSteps),
      });
      if (options.signal?.aborted) break;
      // Yield now and then so timers, I/O and the abort signal get a turn.
      if (now - lastYield > 50) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
    if (options.signal?.aborted) {
      return {
        model,
        epochs: epoch - 1,
        perplexity: history.at(-1)?.perplexity ?? NaN,
        aborted: true,
        history,
        ...(adam ? { optimizerState: adam.state() } : {}),
        state: snapshot(epoch - 1)(),
      };
    }
    const seconds = (performance.now() - start) / 1000;
    trainingSeconds += seconds;
    const report: EpochReport = { epoch, perplexity: Math.exp(lossSum / count), seconds };
    if (options.validation) report.valPerplexity = evaluate(model, options.validation).perplexity;
    if (predEvery > 0 && (epoch % predEvery === 0 || epoch === epochs) && prefixes.length > 0) {
      report.samples = {};
      for (const prefix of prefixes) {
        report.samples[prefix] = generate(model, corpus.vocab, prefix, { length: predLen, text });
      }
    }
    history.push(report);
    await options.onEpoch?.(report, snapshot(epoch));
  }
  return {
    model,
    epochs,
    perplexity: history.at(-1)?.perplexity ?? NaN,
    aborted: false,
    history,
    ...(adam ? { optimizerState: adam.state() } : {}),
    state: snapshot(Math.max(epochs, firstEpoch - 1))(),
  };
}
