// Shared helpers for the cross-cutting tests: random models and minibatches.
import {
  backward,
  type CellType,
  createModel,
  createWorkspace,
  forwardLoss,
  GATES,
  type GruVariant,
  type RnnModel,
  type Workspace,
  writeTokens,
} from "../src/model/model.ts";
import type { Backend } from "../src/backend/types.ts";
import { Rng } from "../src/rng.ts";

/** Sizes and choices a test draws. */
export interface Sizes {
  V: number;
  H: number;
  T: number;
  B: number;
  activation: "tanh" | "relu";
  cell?: CellType;
  layers?: number;
  gruVariant?: GruVariant;
}

/** A drawn problem: sizes, weights, initial states and a minibatch. */
export interface Problem extends Sizes {
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
    { backend },
  );
  backend.write(model.params, problem.params);
  const ws = createWorkspace(model, T, B);
  writeTokens(model, ws, problem.inputs, T, "inputs");
  writeTokens(model, ws, problem.targets, T, "targets");
  backend.write(ws.layers[0].states, problem.h0);
  if (ws.layers[0].cells) backend.write(ws.layers[0].cells, problem.c0);
  return { model, ws };
}

/** Mean loss, the parameters' gradients and those of the first layer's initial state. */
export function lossAndGradients(
  model: RnnModel,
  ws: Workspace,
  T: number,
): {
  loss: number;
  grads: Float32Array | Float64Array;
  dh0: Float32Array | Float64Array;
  dc0?: Float32Array | Float64Array;
} {
  const be = model.backend;
  be.fill(model.grads, 0);
  const n = T * ws.batchSize;
  const loss = forwardLoss(model, ws, T) / n;
  backward(model, ws, T);
  const block = ws.batchSize * model.config.hidden;
  const first = ws.layers[0];
  const dh0 = be.read(be.view(first.dstates, 0, block));
  const dc0 = first.dcells ? be.read(be.view(first.dcells, 0, block)) : undefined;
  return { loss, grads: be.read(model.grads), dh0, ...(dc0 ? { dc0 } : {}) };
}

/** `|a - n| / max(|a| + |n|, tiny)`: the relative error of the house style. */
export function relativeError(a: number, n: number, tiny: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a) + Math.abs(n), tiny);
}
