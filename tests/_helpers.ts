// Shared helpers for the cross-cutting tests: random models and minibatches.
import {
  backward,
  createModel,
  createWorkspace,
  forwardLoss,
  type RnnModel,
  type Workspace,
  writeTokens,
} from "../src/model.ts";
import type { Backend } from "../src/backend/types.ts";
import { Rng } from "../src/rng.ts";

/** A drawn problem: sizes, activation, weights, initial state and a minibatch. */
export interface Problem {
  V: number;
  H: number;
  T: number;
  B: number;
  activation: "tanh" | "relu";
  params: Float64Array;
  h0: Float64Array;
  inputs: Int32Array;
  targets: Int32Array;
}

/** Draws weights ~ N(0, scale²) (rounded to float32 so every backend sees the same numbers). */
export function drawProblem(
  sizes: { V: number; H: number; T: number; B: number; activation: "tanh" | "relu" },
  seed: number,
  scale = 0.5,
): Problem {
  const { V, H, T, B } = sizes;
  const rng = new Rng(seed);
  const numParams = V * H + H * H + H + H * V + V;
  const params = Float64Array.from({ length: numParams }, () => Math.fround(rng.normal() * scale));
  const h0 = Float64Array.from({ length: B * H }, () => Math.fround(rng.normal() * 0.5));
  const inputs = Int32Array.from({ length: B * T }, () => rng.nextInt(V));
  const targets = Int32Array.from({ length: B * T }, () => rng.nextInt(V));
  return { ...sizes, params, h0, inputs, targets };
}

/** A model and workspace on `backend` holding the problem's weights, inputs and state. */
export function setUp(problem: Problem, backend: Backend): { model: RnnModel; ws: Workspace } {
  const { V, H, T, B, activation } = problem;
  const model = createModel({ vocabSize: V, hidden: H, activation }, { backend });
  backend.write(model.params, problem.params);
  const ws = createWorkspace(model, T, B);
  writeTokens(model, ws, problem.inputs, T, "inputs");
  writeTokens(model, ws, problem.targets, T, "targets");
  backend.write(ws.states, problem.h0);
  return { model, ws };
}

/** Mean loss and the gradients of the parameters and of the initial state. */
export function lossAndGradients(
  model: RnnModel,
  ws: Workspace,
  T: number,
): { loss: number; grads: Float32Array | Float64Array; dh0: Float32Array | Float64Array } {
  const be = model.backend;
  be.fill(model.grads, 0);
  const n = T * ws.batchSize;
  const loss = forwardLoss(model, ws, T) / n;
  backward(model, ws, T);
  const dh0 = be.read(be.view(ws.dstates, 0, ws.batchSize * model.config.hidden));
  return { loss, grads: be.read(model.grads), dh0 };
}

/** `|a - n| / max(|a| + |n|, tiny)`: the relative error of the house style. */
export function relativeError(a: number, n: number, tiny: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a) + Math.abs(n), tiny);
}
