// Shared helpers for the cross-cutting tests: random models and minibatches.
import { type Backend, type CellKind, type GruVariant, STAT } from "../src/backend/types.ts";
import { backward } from "../src/model/backward.ts";
import { forwardLoss, writeTokens } from "../src/model/forward.ts";
import { createModel, type RnnModel } from "../src/model/model.ts";
import { GATES } from "../src/model/params.ts";
import { createWorkspace, type Workspace } from "../src/model/workspace.ts";
import { Rng } from "../src/rng.ts";

/** Sizes and choices a test draws. */
export interface Sizes {
  V: number;
  H: number;
  T: number;
  B: number;
  activation: "tanh" | "relu";
  cell?: CellKind;
  layers?: number;
  gruVariant?: GruVariant;
}

/** A drawn problem: sizes, weights, initial states and a minibatch. */
export interface Problem extends Sizes {
  /** Every parameter in storage order (the layout of `model.params`). */
  params: Float64Array;
  /** The first layer's initial hidden state [B,H]. */
  h0: Float64Array;
  /** The first layer's initial memory cell [B,H] (LSTM). */
  c0: Float64Array;
  inputs: Int32Array;
  targets: Int32Array;
}

/** Number of parameters of a model of these sizes. */
export function countParams({ V, H, cell = "rnn", layers = 1, gruVariant }: Sizes): number {
  const G = GATES[cell].length * H;
  const bhn = cell === "gru" && gruVariant === "pytorch" ? H : 0;
  let n = H * V + V;
  for (let l = 0; l < layers; l++) n += (l === 0 ? V : H) * G + H * G + G + bhn;
  return n;
}

/** Draws weights ~ N(0, scale²) (rounded to float32 so every backend sees the same numbers). */
export function drawProblem(sizes: Sizes, seed: number, scale = 0.5): Problem {
  const { V, H, T, B } = sizes;
  const rng = new Rng(seed);
  const draw = (n: number, s: number) =>
    Float64Array.from({ length: n }, () => Math.fround(rng.normal() * s));
  const params = draw(countParams(sizes), scale);
  const h0 = draw(B * H, 0.5), c0 = draw(B * H, 0.5);
  const inputs = Int32Array.from({ length: B * T }, () => rng.nextInt(V));
  const targets = Int32Array.from({ length: B * T }, () => rng.nextInt(V));
  return { ...sizes, params, h0, c0, inputs, targets };
}

/** A model and workspace on `backend` holding the problem's weights, inputs and state. */
export function setUp(problem: Problem, backend: Backend): { model: RnnModel; ws: Workspace } {
  const { V, H, T, B, activation, cell = "rnn", layers = 1, gruVariant } = problem;
  const model = createModel(
    { vocabSize: V, hidden: H, activation, cell, layers, ...(gruVariant ? { gruVariant } : {}) },
    { backend, initScale: 0 },
  );
  model.loadParams(problem.params);
  const ws = createWorkspace(model, T, B);
  writeTokens(model, ws, problem.inputs, T, "inputs");
  writeTokens(model, ws, problem.targets, T, "targets");
  backend.write(ws.layers[0].states, problem.h0);
  if (ws.layers[0].cells) backend.write(ws.layers[0].cells, problem.c0);
  return { model, ws };
}

/**
 * The summed loss of one forward pass over `T` steps, read from the workspace's statistics
 * buffer (zeroed first).
 */
export async function lossSum(model: RnnModel, ws: Workspace, T: number): Promise<number> {
  const be = model.backend;
  be.fill(ws.stats, 0);
  forwardLoss(model, ws, T);
  return (await be.readScalars(ws.stats))[STAT.loss];
}

/** Mean loss, the parameters' gradients and those of the first layer's initial state. */
export async function lossAndGradients(
  model: RnnModel,
  ws: Workspace,
  T: number,
): Promise<{
  loss: number;
  grads: Float32Array | Float64Array;
  dh0: Float32Array | Float64Array;
  dc0?: Float32Array | Float64Array;
}> {
  const be = model.backend;
  be.fill(model.grads, 0);
  const n = T * ws.batchSize;
  const loss = (await lossSum(model, ws, T)) / n;
  backward(model, ws, T);
  const block = ws.batchSize * model.config.hidden;
  const first = ws.layers[0];
  const dh0 = await be.read(be.view(first.dstates, 0, block));
  const dc0 = first.dcells ? await be.read(be.view(first.dcells, 0, block)) : undefined;
  return { loss, grads: await be.read(model.grads), dh0, ...(dc0 ? { dc0 } : {}) };
}

/** `|a - n| / max(|a| + |n|, tiny)`: the relative error of the house style. */
export function relativeError(a: number, n: number, tiny: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a) + Math.abs(n), tiny);
}
