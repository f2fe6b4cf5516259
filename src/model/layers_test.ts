import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../backend/reference.ts";
import { GRU, LSTM, type RecurrentLayer, RNN } from "./layers.ts";
import { forwardHidden, writeTokens } from "./forward.ts";
import { createModel } from "./model.ts";
import { createWorkspace } from "./workspace.ts";
import { Rng } from "../rng.ts";

const LAYERS = { rnn: RNN, gru: GRU, lstm: LSTM } as const;
const sizes = fc.record({
  I: fc.integer({ min: 1, max: 5 }),
  H: fc.integer({ min: 1, max: 5 }),
  T: fc.integer({ min: 1, max: 4 }),
  B: fc.integer({ min: 1, max: 3 }),
  L: fc.integer({ min: 1, max: 3 }),
  cell: fc.constantFrom("rnn" as const, "gru" as const, "lstm" as const),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

const normal = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => rng.normal());

Deno.test("a layer fed one-hot rows gives the language model's hidden states", async () => {
  await fc.assert(
    fc.asyncProperty(sizes, async ({ I: V, H, T, B, L, cell, seed }) => {
      const layer: RecurrentLayer = new LAYERS[cell]({
        inputSize: V,
        hiddenSize: H,
        numLayers: L,
        seed,
      });
      const lm = createModel({
        vocabSize: V,
        hidden: H,
        activation: "tanh",
        cell,
        layers: L,
        gruVariant: layer.model.config.gruVariant,
      });
      lm.setWeights({ ...(await lm.getWeights()), ...(await layer.model.getWeights()) });
      const rng = new Rng(seed);
      const tokens = Int32Array.from({ length: B * T }, () => rng.nextInt(V)); // [B, T]
      const onehot = new Float32Array(T * B * V); // [T, B, V]
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) onehot[(t * B + b) * V + tokens[b * T + t]] = 1;
      }
      const ws = createWorkspace(lm, T, B);
      writeTokens(lm, ws, tokens, T, "inputs");
      forwardHidden(lm, ws, T);
      const top = ws.layers[L - 1].states;
      const want = await lm.backend.read(lm.backend.view(top, B * H, T * B * H));
      const got = (await layer.forward(onehot, B)).outputs;
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `${i}`);
      ws.free();
      lm.dispose();
      layer.model.dispose();
    }),
    { numRuns: 30 },
  );
});

Deno.test("a layer's backward matches central finite differences (inputs, weights, state)", async () => {
  const EPS = 1e-5;
  await fc.assert(
    fc.asyncProperty(sizes, async ({ I, H, T, B, L, cell, seed }) => {
      const layer = new LAYERS[cell]({
        inputSize: I,
        hiddenSize: H,
        numLayers: L,
        seed,
        backend: createReferenceBackend(),
        nonlinearity: "tanh",
      });
      const rng = new Rng(seed ^ 1);
      const x = normal(rng, T * B * I), r = normal(rng, T * B * H);
      const h0 = normal(rng, L * B * H), c0 = normal(rng, L * B * H);
      const state = () => ({ h: h0, ...(cell === "lstm" ? { c: c0 } : {}) });
      // L = Σ r ⊙ outputs, so dL/doutputs = r.
      const loss = async () => {
        const { outputs } = await layer.forward(x, B, state());
        let sum = 0;
        for (let i = 0; i < outputs.length; i++) sum += r[i] * outputs[i];
        return sum;
      };
      layer.zeroGrad();
      await layer.forward(x, B, state());
      const { dInputs, dState } = await layer.backward(r);
      const grads = await layer.model.backend.read(layer.model.grads);
      const check = async (what: string, analytic: number, vary: (d: number) => void) => {
        vary(EPS);
        const up = await loss();
        vary(-2 * EPS);
        const down = await loss();
        vary(EPS);
        const numeric = (up - down) / (2 * EPS);
        const err = Math.abs(analytic - numeric) /
          Math.max(Math.abs(analytic) + Math.abs(numeric), 1e-3);
        assert.ok(err < 1e-6, `${what}: analytic ${analytic}, numeric ${numeric}`);
      };
      for (let i = 0; i < x.length; i++) await check(`x[${i}]`, dInputs[i], (d) => (x[i] += d));
      for (let i = 0; i < h0.length; i++) {
        await check(`h0[${i}]`, dState.h[i], (d) => (h0[i] += d));
      }
      if (cell === "lstm") {
        for (let i = 0; i < c0.length; i++) {
          await check(`c0[${i}]`, dState.c![i], (d) => (c0[i] += d));
        }
      }
      const { model } = layer;
      const params = await model.backend.read(model.params);
      const count = Math.min(params.length, 30);
      for (let c = 0; c < count; c++) {
        const i = Math.floor((c * params.length) / count);
        await check(`param ${i}`, grads[i], (d) => {
          params[i] += d;
          model.changeWeights(() => model.backend.write(model.params, [params[i]], i));
        });
      }
    }),
    { numRuns: 30 },
  );
});

Deno.test("passing the state on continues a sequence exactly", async () => {
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const layer = new LAYERS[cell]({ inputSize: 3, hiddenSize: 5, numLayers: 2, seed: 4 });
    const x = Float32Array.from(normal(new Rng(9), 6 * 2 * 3));
    const whole = await layer.forward(x, 2);
    const first = await layer.forward(x.subarray(0, 3 * 2 * 3), 2);
    const second = await layer.forward(x.subarray(3 * 2 * 3), 2, first.state);
    assert.deepEqual([...first.outputs, ...second.outputs], [...whole.outputs]);
    assert.deepEqual(second.state, whole.state);
  }
});

Deno.test("layers reject inputs and states of the wrong size", async () => {
  const gru = new GRU({ inputSize: 3, hiddenSize: 2 });
  await assert.rejects(gru.forward([1, 2], 1), /inputs must hold T x 1 x 3 values/);
  await assert.rejects(
    gru.forward([1, 2, 3], 1, { h: new Float32Array(5) }),
    /a state of 1 x 1 x 2/,
  );
  await assert.rejects(
    new LSTM({ inputSize: 1, hiddenSize: 1 }).backward([1]),
    /needs a forward\(\) first/,
  );
});
