/**
 * The training loop of the book's `train_and_predict_rnn`: mean cross-entropy over each
 * minibatch, backpropagation through time, clipping of the global gradient norm, SGD (or Adam, as
 * the book's concise runs), perplexity per epoch, validation perplexity on held-out tokens, and
 * periodic greedy generation for a few prefixes.
 *
 * Every minibatch is kernels only: the loss, the gradient norm and the divergence flag stay in a
 * statistics buffer on the backend, clipping and the update read it there, and the loop reads it
 * back once per progress report and once per epoch, so a GPU backend never waits on a minibatch.
 *
 * @module
 */
import { type Backend, type FloatBuf, STAT } from "../backend/types.ts";
import { type ModelConfig, resolveTrainConfig, type TrainConfig } from "../config/settings.ts";
import { TrainingDivergedError, UsageError } from "../errors.ts";
import { generate } from "../generate/generate.ts";
import { backward } from "../model/backward.ts";
import {
  carryState,
  type Dropout,
  forwardLoss,
  resetState,
  writeTokens,
} from "../model/forward.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import type { Workspace } from "../model/workspace.ts";
import { Rng } from "../rng.ts";
import { batches, countBatches } from "../text/batches.ts";
import type { Corpus } from "../text/corpus.ts";
import { prefixTokens } from "../text/text.ts";
import { Adam } from "./adam.ts";
import { evaluate } from "./evaluate.ts";
import { type EpochPosition, seedStreams, type TrainState } from "./state.ts";

/**
 * Settings of {@linkcode train}: the training settings (`TrainConfig`; the defaults are the
 * book's Jay Chou run), a new model's shape (`ModelConfig`), and how to run.
 */
export interface TrainOptions
  extends
    Partial<TrainConfig>,
    Partial<Pick<ModelConfig, "cell" | "hidden" | "layers" | "activation" | "gruVariant">> {
  /** A model to continue training; default: a new one from the model settings and `init`. */
  model?: RnnModel;
  /** Backend of a new model; default the shared WebAssembly backend. */
  backend?: Backend;
  /**
   * Where an earlier run stopped (a checkpoint's `state`, with `model` holding its weights):
   * training continues with epoch `resume.epoch + 1` (inside it, at `resume.position`, when the
   * run stopped there), the generators and optimizer as they were, so the result equals a run that
   * never stopped.
   */
  resume?: TrainState;
  /** Stops training after the current minibatch. */
  signal?: AbortSignal;
  /**
   * Called at most every `progressMs` milliseconds of training with the epoch so far (each call
   * reads the loss back from the backend; without it nothing is read within an epoch).
   */
  onProgress?: (progress: ProgressReport) => void;
  /** Milliseconds between {@linkcode TrainOptions.onProgress} calls; default 100. */
  progressMs?: number;
  /** Called after every epoch; training waits for a returned promise (e.g. a save). */
  onEpoch?: (report: EpochReport, state: () => Promise<TrainState>) => void | Promise<void>;
}

/** Progress within an epoch (see {@linkcode TrainOptions.onProgress}). */
export interface ProgressReport {
  /** Epoch, counted from 1. */
  epoch: number;
  /** Total epochs of the run. */
  epochs: number;
  /** Minibatches done in this epoch. */
  step: number;
  /** Minibatches per epoch. */
  steps: number;
  /** Mean cross-entropy of the minibatches since the previous report. */
  loss: number;
  /** Perplexity of the epoch so far. */
  perplexity: number;
  /** Training throughput of the epoch so far (predicted tokens per second). */
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
  /** Perplexity on the held-out tokens, when `valFraction` is above 0. */
  valPerplexity?: number;
  /** Generated text per prefix, on generation epochs only. */
  samples?: Record<string, string>;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** The trained model. */
  model: RnnModel;
  /** The settings the run used, defaults filled in. */
  config: TrainConfig;
  /** Epochs completed, those of a resumed run included. */
  epochs: number;
  /** Perplexity of the last epoch completed in this call (`NaN` when none). */
  perplexity: number;
  /** Whether the signal stopped the run early. */
  aborted: boolean;
  /** One report per epoch completed in this call. */
  history: EpochReport[];
  /**
   * The state to continue from (see `resume`); after an abort it holds the position inside the
   * interrupted epoch, so `resume` continues with the next minibatch exactly.
   */
  state: TrainState;
}

/**
 * Trains a recurrent language model on a corpus, as in the book's `train_and_predict_rnn`.
 * Async: it yields to the event loop between minibatches so a page or worker stays responsive.
 *
 * @param corpus The encoded corpus (see `textCorpus`).
 * @param options Settings; the defaults are the book's.
 * @returns The model, the epochs completed and the per-epoch reports.
 * @throws {UsageError} When a setting is out of range or does not fit the corpus (named).
 * @throws {TrainingDivergedError} When the loss or gradient norm becomes NaN or infinite; the
 * weights are those before that step.
 * @example Train a small model for a few epochs
 * ```ts
 * import { buildCorpus } from "../text/corpus.ts";
 * import { train } from "./train.ts";
 * const corpus = buildCorpus(Array.from("the time machine ".repeat(40)));
 * const result = await train(corpus, {
 *   hidden: 32, epochs: 5, batchSize: 4, numSteps: 8, lr: 1, clip: 1, predEvery: 0,
 * });
 * console.log(result.perplexity < corpus.vocab.size); // true
 * ```
 */
export async function train(corpus: Corpus, options: TrainOptions = {}): Promise<TrainResult> {
  const config = resolveTrainConfig(options);
  const { epochs, batchSize, numSteps, sampling, seed, predEvery, prefixes } = config;
  const text = corpus.text;
  // The held-out tokens are the end of the corpus; the vocabulary covers both parts.
  const numVal = Math.floor(config.valFraction * corpus.indices.length);
  if (numVal > 0 && numVal < 2) {
    throw new UsageError(`{valFraction} ${config.valFraction} leaves fewer than 2 tokens to score`);
  }
  const indices = corpus.indices.subarray(0, corpus.indices.length - numVal);
  const validation = numVal > 0 ? corpus.indices.subarray(indices.length) : undefined;
  // Each minibatch is written into the workspace before the next is drawn, so one pair of
  // index arrays serves the whole run.
  const sampler = { randomOffset: config.randomOffset, reuseBuffers: true };
  const steps = countBatches(sampling, indices.length, batchSize, numSteps, sampler);
  if (steps < 1) {
    throw new UsageError(
      `the corpus has ${indices.length} tokens to train on, too few for one minibatch of ` +
        `${batchSize}x${numSteps}; lower {batchSize} or {numSteps}`,
    );
  }
  if (options.model?.quantized) {
    throw new UsageError("an 8-bit model is for generation; train from the float model");
  }
  const model = options.model ?? createModel(
    {
      vocabSize: corpus.vocab.size,
      cell: options.cell,
      hidden: options.hidden,
      layers: options.layers,
      activation: options.activation,
      gruVariant: options.gruVariant,
    },
    { backend: options.backend, seed, init: config.init },
  );
  if (model.config.vocabSize !== corpus.vocab.size) {
    throw new UsageError(
      `the model has a vocabulary of ${model.config.vocabSize}, the corpus ${corpus.vocab.size}`,
    );
  }
  if (config.dropout > 0 && model.config.layers < 2) {
    throw new UsageError("{dropout} applies between stacked layers; set {layers} to 2 or more");
  }
  if (predEvery > 0) {
    for (const prefix of prefixes) {
      try {
        prefixTokens(prefix, corpus.vocab, text);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}; choose {prefixes} from the corpus`);
      }
    }
  }
  const resume = options.resume;
  if (resume && !(Number.isSafeInteger(resume.epoch) && resume.epoch >= 0)) {
    throw new UsageError(`resume.epoch must be an integer >= 0, got ${resume.epoch}`);
  }
  if (resume && resume.epoch >= epochs) {
    throw new UsageError(
      `the run to resume is already at epoch ${resume.epoch}; set {epochs} above ${resume.epoch} ` +
        "to train further",
    );
  }

  const be = model.backend, n = numSteps * batchSize;
  const adam = config.optimizer === "adam"
    ? new Adam(be, model.params, model.grads, model.numParams, { lr: config.lr })
    : undefined;
  if (resume?.optimizer) {
    if (!adam) {
      throw new UsageError("the saved state holds Adam's moments; set {optimizer} to adam");
    }
    adam.loadState(resume.optimizer);
  }
  if (resume?.position) checkPosition(resume.position, model, steps, batchSize, sampling);
  const streams = seedStreams(seed, resume);
  let rng = streams.sampler;
  // Its own stream, so turning dropout on does not change which minibatches are drawn.
  const dropout: Dropout | undefined = config.dropout > 0
    ? { p: config.dropout, rng: streams.dropout }
    : undefined;
  const snapshot = (epoch: number) => async (): Promise<TrainState> => ({
    epoch,
    rngState: rng.state(),
    ...(dropout ? { dropoutRngState: dropout.rng.state() } : {}),
    ...(adam ? { optimizer: await adam.state() } : {}),
  });
  const ws = model.acquireWorkspace(numSteps, batchSize);
  const stats = ws.stats, read = new Float64Array(STAT.updates + 1);
  const firstEpoch = (resume?.epoch ?? 0) + 1;
  const history: EpochReport[] = [];
  const progressMs = options.progressMs ?? 100;
  let lastYield = performance.now(), trainingSeconds = 0;

  /** Reads the statistics back; throws when the run diverged. */
  const readStats = async (epoch: number): Promise<Float64Array> => {
    await be.readScalars(stats, read);
    if (read[STAT.diverged] !== 0) {
      const loss = read[STAT.loss], norm = read[STAT.norm];
      throw new TrainingDivergedError(
        `training diverged at epoch ${epoch}, minibatch ${read[STAT.updates] + 1}: the ` +
          `${Number.isFinite(loss) ? `gradient norm is ${norm}` : `loss is ${loss}`}. Lower the ` +
          `learning rate (now ${config.lr})` +
          (config.clip > 0
            ? ` or the clipping threshold (now ${config.clip})`
            : " or turn clipping on"),
      );
    }
    return read;
  };

  try {
    for (let epoch = firstEpoch; epoch <= epochs; epoch++) {
      const start = performance.now();
      let count = 0, step = 0, lastReport = start, reportedLoss = 0, reportedCount = 0;
      const at = epoch === firstEpoch ? resume?.position : undefined;
      // The epoch's order is drawn when its first minibatch is: a stopped epoch draws it again.
      if (at) rng = Rng.fromState(at.epochRngState);
      const epochRngState = rng.state();
      be.fill(stats, 0);
      resetState(model, ws);
      const epochBatches = batches(sampling, indices, batchSize, numSteps, rng, sampler);
      if (at) {
        for (let i = 0; i < at.step; i++) epochBatches.next();
        [step, count] = [at.step, at.step * n];
        be.writeScalars(stats, [at.lossSum], STAT.loss);
        restoreCarried(model, ws, at);
      }
      for (const batch of epochBatches) {
        step++;
        if (sampling === "random") resetState(model, ws);
        writeTokens(model, ws, batch.inputs, numSteps, "inputs");
        writeTokens(model, ws, batch.targets, numSteps, "targets");
        be.fill(model.grads, 0);
        forwardLoss(model, ws, numSteps, dropout);
        backward(model, ws, numSteps, dropout);
        be.clipGradNorm(model.grads, model.numParams, config.clip, stats);
        model.changeWeights(() => {
          if (adam) adam.step(stats);
          else be.sgdUpdate(model.params, model.grads, model.numParams, config.lr, stats);
        });
        if (sampling === "sequential") carryState(model, ws, numSteps);
        count += n;

        const now = performance.now();
        if (options.onProgress && now - lastReport >= progressMs) {
          lastReport = now;
          const lossSum = (await readStats(epoch))[STAT.loss];
          const seconds = (now - start) / 1000;
          const doneSteps = (epoch - firstEpoch) * steps + step;
          const perStep = (trainingSeconds + seconds) / doneSteps;
          options.onProgress({
            epoch,
            epochs,
            step,
            steps,
            loss: (lossSum - reportedLoss) / (count - reportedCount),
            perplexity: Math.exp(lossSum / count),
            charsPerSecond: count / Math.max(seconds, 1e-9),
            etaSeconds: perStep * ((epochs - firstEpoch + 1) * steps - doneSteps),
          });
          [reportedLoss, reportedCount] = [lossSum, count];
        }
        if (options.signal?.aborted) break;
        // Yield now and then so timers, I/O and the abort signal get a turn.
        if (now - lastYield > 50) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
        }
      }
      const lossSum = (await readStats(epoch))[STAT.loss];
      if (options.signal?.aborted) {
        const position: EpochPosition = {
          step,
          epochRngState,
          lossSum,
          ...(sampling === "sequential" ? await readCarried(model, ws) : {}),
        };
        return {
          model,
          config,
          epochs: epoch - 1,
          perplexity: history.at(-1)?.perplexity ?? NaN,
          aborted: true,
          history,
          state: { ...await snapshot(epoch - 1)(), position },
        };
      }
      const seconds = (performance.now() - start) / 1000;
      trainingSeconds += seconds;
      const perplexity = Math.exp(lossSum / count);
      if (!Number.isFinite(perplexity)) {
        // Every loss was finite, but so large on average that the perplexity overflows.
        throw new TrainingDivergedError(
          `training diverged in epoch ${epoch}: the perplexity is ${perplexity} (a mean loss of ` +
            `${lossSum / count} per token). Lower the learning rate (now ${config.lr})` +
            (config.clip > 0
              ? ` or the clipping threshold (now ${config.clip})`
              : " or turn clipping on"),
        );
      }
      const report: EpochReport = { epoch, perplexity, seconds };
      if (validation) report.valPerplexity = (await evaluate(model, validation)).perplexity;
      if (predEvery > 0 && (epoch % predEvery === 0 || epoch === epochs) && prefixes.length > 0) {
        report.samples = {};
        for (const prefix of prefixes) {
          report.samples[prefix] = await generate(model, corpus.vocab, prefix, {
            length: config.predLen,
            text,
          });
        }
      }
      history.push(report);
      await options.onEpoch?.(report, snapshot(epoch));
    }
  } finally {
    model.releaseWorkspace(ws);
  }
  return {
    model,
    config,
    epochs: Math.max(epochs, firstEpoch - 1),
    perplexity: history.at(-1)?.perplexity ?? NaN,
    aborted: false,
    history,
    state: await snapshot(Math.max(epochs, firstEpoch - 1))(),
  };
}

/** Checks that a saved position fits this run: its sizes, its minibatch count, its sampling. */
function checkPosition(
  at: EpochPosition,
  model: RnnModel,
  steps: number,
  batchSize: number,
  sampling: string,
): void {
  if (!Number.isInteger(at.step) || at.step < 0 || at.step > steps) {
    throw new UsageError(
      `the saved position is minibatch ${at.step} of an epoch; this run has ${steps} per epoch ` +
        "(resume with the corpus and settings the run was saved with)",
    );
  }
  if (!(Number.isFinite(at.lossSum) && at.lossSum >= 0)) {
    throw new UsageError(`the saved position's loss sum must be a number >= 0, got ${at.lossSum}`);
  }
  const { layers, hidden, cell } = model.config, size = batchSize * hidden;
  const carried = [...(at.hidden ?? []), ...(at.cells ?? [])];
  const expected = sampling === "sequential" ? (cell === "lstm" ? 2 : 1) * layers : 0;
  if (carried.length !== expected || carried.some((h) => h.length !== size)) {
    throw new UsageError(
      `the saved position carries ${carried.length} states of ${carried[0]?.length ?? 0} ` +
        `values; this run (${sampling} sampling) carries ${expected} of ${size}`,
    );
  }
}

/** Each layer's carried state (block 0 of its states, and cells), for a position. */
async function readCarried(
  model: RnnModel,
  ws: Workspace,
): Promise<Pick<EpochPosition, "hidden" | "cells">> {
  const be = model.backend, block = ws.batchSize * model.config.hidden;
  const read = async (buf: FloatBuf) => Float32Array.from(await be.read(be.view(buf, 0, block)));
  const hidden = [], cells = [];
  for (const layer of ws.layers) {
    hidden.push(await read(layer.states));
    if (layer.cells) cells.push(await read(layer.cells));
  }
  return { hidden, ...(cells.length > 0 ? { cells } : {}) };
}

/** Puts a position's carried states back into block 0 (nothing for random sampling). */
function restoreCarried(model: RnnModel, ws: Workspace, at: EpochPosition): void {
  const be = model.backend, block = ws.batchSize * model.config.hidden;
  ws.layers.forEach((layer, l) => {
    if (at.hidden) be.write(be.view(layer.states, 0, block), at.hidden[l]);
    if (at.cells && layer.cells) be.write(be.view(layer.cells, 0, block), at.cells[l]);
  });
}
