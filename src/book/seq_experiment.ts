/**
 * The experiment of the book's sequence-model section (Dive into Deep Learning, 2nd edition,
 * "Sequence Models", PyTorch version): an MLP `τ → 10 → 1` learns to predict a noisy sine from its
 * last `τ = 4` values, and then predicts 1 step ahead, many steps ahead from its own predictions
 * (multistep), and k steps ahead for k = 1, 4, 16, 64.
 *
 * @module
 */
import { Adam } from "../train/adam.ts";
import type { Backend } from "../backend/types.ts";
import { defaultBackend } from "../backend/default.ts";
import { createMlp, createMlpWorkspace, type Mlp, mlpBackward, mlpForward } from "./mlp.ts";
import { Rng } from "../rng.ts";
import { sineSeries, tauFeatures } from "./seq_data.ts";

/** Options of {@linkcode runSequenceExperiment}; every default is the book's. */
export interface SequenceExperimentOptions {
  /** Length of the series; default 1000. */
  T?: number;
  /** Window length `τ` (the model's inputs); default 4. */
  tau?: number;
  /** Training pairs: the first `nTrain` windows; default 600. */
  nTrain?: number;
  /** Minibatch size (the last minibatch of an epoch may be smaller); default 16. */
  batchSize?: number;
  /** Passes over the training pairs, shuffled each epoch; default 5. */
  epochs?: number;
  /** Adam's learning rate; default 0.01. */
  lr?: number;
  /** Standard deviation of the noise on the sine; default 0.2. */
  noise?: number;
  /** Hidden units of the MLP; default 10. */
  hidden?: number;
  /** Seed of the noise, the weights and the shuffles; default 0. */
  seed?: number;
  /** Horizons of the k-step predictions; default `[1, 4, 16, 64]`. */
  ks?: readonly number[];
  /** Longest horizon computed (at least every k); default 64. */
  maxSteps?: number;
  /** Kernels to run on; default the shared WebAssembly backend. */
  backend?: Backend;
  /** Called after each epoch with its number (from 1) and the training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/** Predictions `preds[j]` of the series at `time[j]`. */
export interface Prediction {
  /** Time steps predicted. */
  time: Float64Array;
  /** Predicted values. */
  preds: Float64Array;
}

/** Mean squared errors of each prediction mode against the (noisy) series. */
export interface SequenceMse {
  /** 1-step-ahead predictions, over every `t > τ`. */
  onestep: number;
  /** Predictions fed back on themselves, over `t > nTrain + τ`. */
  multistep: number;
  /** k-step-ahead predictions by horizon k, each over its positions. */
  k: Record<number, number>;
}

/** What {@linkcode runSequenceExperiment} returns. */
export interface SequenceExperimentResult {
  /** Training loss after each epoch: mean `(ŷ - y)²` over the training pairs. */
  losses: number[];
  /** Time steps `1..T`. */
  time: Float64Array;
  /** The noisy series. */
  x: Float64Array;
  /** 1-step-ahead predictions from the true previous `τ` values, at `t = τ+1..T`. */
  onestep: Prediction;
  /** The model fed its own predictions from `t = nTrain + τ + 1` on, until `T`. */
  multistep: Prediction;
  /** k-step-ahead predictions by horizon, at `t = τ+k .. T-maxSteps+k`. */
  kstep: Map<number, Prediction>;
  /** The mean squared error of each mode. */
  mse: SequenceMse;
  /** The trained network. */
  net: Mlp;
}

function positiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  }
}

/** Mean of `(preds[j] - x[start + j])²`. */
function mse(preds: ArrayLike<number>, x: ArrayLike<number>, start: number): number {
  let s = 0;
  for (let j = 0; j < preds.length; j++) s += (preds[j] - x[start + j]) ** 2;
  return s / preds.length;
}

/**
 * Runs the book's experiment: trains the MLP with Adam on the first `nTrain` windows (squared
 * loss summed over each minibatch, as the book's `l.sum().backward()`), then makes the three
 * kinds of predictions and scores them. The same seed gives the same result.
 *
 * The weights are Xavier-uniform and the biases zero: the book calls `xavier_uniform_` on the
 * weights only, and we start the biases at zero rather than PyTorch's default uniform draw.
 *
 * @param options Sizes, training settings, seed, horizons and backend (the book's by default).
 * @returns Losses per epoch, the series, the predictions and their mean squared errors.
 * @throws {RangeError} When a size or setting is out of range (see the option docs), e.g. a
 * horizon beyond `maxSteps` or too few steps for `nTrain` windows and a multistep tail.
 * @example The book's run (5 epochs, a few hundredths of a second)
 * ```ts
 * import { runSequenceExperiment } from "./seq_experiment.ts";
 * const r = await runSequenceExperiment({
 *   onEpoch: (e, l) => console.log(`epoch ${e}, loss: ${l}`),
 * });
 * console.log(r.mse.onestep < r.mse.multistep); // true
 * ```
 */
export async function runSequenceExperiment(
  options: SequenceExperimentOptions = {},
): Promise<SequenceExperimentResult> {
  const {
    T = 1000,
    tau = 4,
    nTrain = 600,
    batchSize = 16,
    epochs = 5,
    lr = 0.01,
    noise = 0.2,
    hidden = 10,
    seed = 0,
    ks = [1, 4, 16, 64],
    maxSteps = 64,
  } = options;
  positiveInt("tau", tau);
  positiveInt("batchSize", batchSize);
  positiveInt("epochs", epochs, 0);
  positiveInt("hidden", hidden);
  positiveInt("maxSteps", maxSteps);
  positiveInt("T", T);
  // Windows for training, at least one multistep prediction, and one k-step row.
  positiveInt("nTrain", nTrain);
  if (nTrain + tau >= T) {
    throw new RangeError(`nTrain + tau must be below T = ${T}, got ${nTrain} + ${tau}`);
  }
  const kRows = T - tau - maxSteps + 1;
  if (kRows < 1) {
    throw new RangeError(
      `T - tau - maxSteps + 1 must be >= 1, got ${T} - ${tau} - ${maxSteps} + 1`,
    );
  }
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1 || k > maxSteps) {
      throw new RangeError(`each k must be an integer in [1, maxSteps = ${maxSteps}], got ${k}`);
    }
  }
  if (!Number.isFinite(lr) || lr < 0) {
    throw new RangeError(`lr must be a finite number >= 0, got ${lr}`);
  }
  const be = options.backend ?? defaultBackend();

  // One generator, drawn in a fixed order: noise, weights, then one shuffle per epoch.
  const rng = new Rng(seed);
  const { time, x } = sineSeries(rng, { T, noise });
  const { rows, features, labels } = tauFeatures(x, tau);
  const net = createMlp(be, [tau, hidden, 1], rng);
  const ws = createMlpWorkspace(net, Math.max(batchSize, rows));
  const adam = new Adam(be, net.params, net.grads, net.numParams, { lr });

  const order = Int32Array.from({ length: nTrain }, (_, i) => i);
  const xb = new Float64Array(batchSize * tau), dOut = new Float64Array(batchSize);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < nTrain; start += batchSize) {
      const b = Math.min(batchSize, nTrain - start);
      for (let r = 0; r < b; r++) {
        const i = order[start + r];
        xb.set(features.subarray(i * tau, (i + 1) * tau), r * tau);
      }
      const out = await mlpForward(net, ws, xb.subarray(0, b * tau), b);
      // d/dŷ Σ (ŷ - y)²: the book's loss has no ½, and it backpropagates the sum.
      for (let r = 0; r < b; r++) dOut[r] = 2 * (out[r] - labels[order[start + r]]);
      be.fill(net.grads, 0);
      mlpBackward(net, ws, dOut.subarray(0, b));
      adam.step();
    }
    // The book's d2l.evaluate_loss: the mean per-example loss over the training set, after the
    // epoch's updates.
    const fit = await mlpForward(net, ws, features.subarray(0, nTrain * tau), nTrain);
    const loss = mse(fit, labels, 0);
    losses.push(loss);
    options.onEpoch?.(epoch, loss);
  }

  // 1-step: every window of true values (onestep_preds = net(features)).
  const onestep: Prediction = {
    time: time.slice(tau),
    preds: Float64Array.from(await mlpForward(net, ws, features, rows)),
  };

  // Multistep: true values up to nTrain + τ, then the model's own outputs fed back.
  const fed = Float64Array.from(x);
  const from = nTrain + tau;
  for (let i = from; i < T; i++) {
    fed[i] = (await mlpForward(net, ws, fed.subarray(i - tau, i), 1))[0];
  }
  const multistep: Prediction = { time: time.slice(from), preds: fed.slice(from) };

  // k-step: column i < τ is x[i .. i + kRows); column i >= τ is the model applied to columns
  // i-τ..i, so column τ+k-1 predicts x[r + τ + k - 1] from x[r .. r+τ) for row r.
  const columns: Float64Array[] = [];
  for (let i = 0; i < tau; i++) columns.push(x.slice(i, i + kRows));
  const window = new Float64Array(kRows * tau);
  for (let i = tau; i < tau + maxSteps; i++) {
    for (let r = 0; r < kRows; r++) {
      for (let j = 0; j < tau; j++) window[r * tau + j] = columns[i - tau + j][r];
    }
    columns.push(Float64Array.from(await mlpForward(net, ws, window, kRows)));
  }
  const kstep = new Map<number, Prediction>();
  const kMse: Record<number, number> = {};
  for (const k of ks) {
    const preds = columns[tau + k - 1];
    kstep.set(k, { time: time.slice(tau + k - 1, tau + k - 1 + kRows), preds });
    kMse[k] = mse(preds, x, tau + k - 1);
  }

  return {
    losses,
    time,
    x,
    onestep,
    multistep,
    kstep,
    mse: {
      onestep: mse(onestep.preds, x, tau),
      multistep: mse(multistep.preds, x, from),
      k: kMse,
    },
    net,
  };
}
