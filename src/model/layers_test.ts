import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../backend/reference.ts";
import { UsageError } from "../errors.ts";
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

Deno.test("a one-direction layer fed one-hot rows gives the language model's hidden states", async () => {
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
        gruVariant: layer.gruVariant,
      });
      // One direction: the layer's storage is the language model's, less the output layer.
      const weights = new Float64Array(lm.numParams);
      weights.set(await layer.backend.read(layer.params));
      lm.loadParams(weights);
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
      layer.dispose();
    }),
    { numRuns: 30 },
  );
});

Deno.test("a layer's backward matches central finite differences (inputs, weights, both states, both directions, dropout)", async () => {
  const EPS = 1e-5;
  const options = fc.record({
    bidirectional: fc.boolean(),
    batchFirst: fc.boolean(),
    dropout: fc.constantFrom(0, 0.3),
    finalState: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(sizes, options, async ({ I, H, T, B, L, cell, seed }, o) => {
      const layer = new LAYERS[cell]({
        inputSize: I,
        hiddenSize: H,
        numLayers: L,
        seed,
        backend: createReferenceBackend(),
        nonlinearity: "tanh",
        bidirectional: o.bidirectional,
        batchFirst: o.batchFirst,
        dropout: L > 1 ? o.dropout : 0,
      });
      const D = layer.numDirections, units = L * D;
      const rng = new Rng(seed ^ 1);
      const x = normal(rng, T * B * I), r = normal(rng, T * B * D * H);
      const h0 = normal(rng, units * B * H), c0 = normal(rng, units * B * H);
      // The loss may read the final state too: dL/dh_n = q, dL/dc_n = q2.
      const q = normal(rng, units * B * H), q2 = normal(rng, units * B * H);
      const state = () => ({ h: h0, ...(cell === "lstm" ? { c: c0 } : {}) });
      // Every pass draws the same dropout masks.
      const masks = layer.dropoutRng.state();
      const run = () => {
        layer.dropoutRng = Rng.fromState(masks);
        return layer.forward(x, B, state());
      };
      // L = Σ r ⊙ outputs (+ Σ q ⊙ h_n + Σ q2 ⊙ c_n), so dL/doutputs = r.
      const loss = async () => {
        const { outputs, state: last } = await run();
        let sum = 0;
        for (let i = 0; i < outputs.length; i++) sum += r[i] * outputs[i];
        if (o.finalState) {
          for (let i = 0; i < q.length; i++) sum += q[i] * last.h[i];
          if (last.c) { for (let i = 0; i < q2.length; i++) sum += q2[i] * last.c[i]; }
        }
        return sum;
      };
      layer.zeroGrad();
      await run();
      const { dInputs, dState } = await layer.backward(
        r,
        o.finalState ? { h: q, ...(cell === "lstm" ? { c: q2 } : {}) } : undefined,
      );
      const grads = await layer.backend.read(layer.grads);
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
      const params = await layer.backend.read(layer.params);
      const count = Math.min(params.length, 40);
      for (let k = 0; k < count; k++) {
        const i = Math.floor((k * params.length) / count);
        await check(`param ${i}`, grads[i], (d) => {
          params[i] += d;
          layer.backend.write(layer.params, [params[i]], i);
        });
      }
    }),
    { numRuns: 40 },
  );
});

Deno.test("passing the state on continues a sequence exactly (one direction)", async () => {
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

Deno.test("batchFirst transposes the inputs and outputs and nothing else", async () => {
  for (const bidirectional of [false, true]) {
    const options = { inputSize: 2, hiddenSize: 3, numLayers: 2, seed: 5, bidirectional };
    const steps = new LSTM(options), batch = new LSTM({ ...options, batchFirst: true });
    const [T, B, I, W] = [4, 3, 2, bidirectional ? 6 : 3];
    const x = normal(new Rng(2), T * B * I); // [T, B, I]
    const xb = new Float64Array(T * B * I); // [B, T, I]
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < I; i++) xb[(b * T + t) * I + i] = x[(t * B + b) * I + i];
      }
    }
    const a = await steps.forward(x, B), c = await batch.forward(xb, B);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < W; j++) {
          assert.equal(c.outputs[(b * T + t) * W + j], a.outputs[(t * B + b) * W + j]);
        }
      }
    }
    // The state keeps its [numLayers·D, B, H] layout.
    assert.deepEqual(c.state, a.state);
  }
});

Deno.test("dropout applies between layers while training only, and draws new masks each pass", async () => {
  const options = { inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 1, dropout: 0.5 };
  const dropped = new GRU(options), plain = new GRU({ ...options, dropout: 0 });
  const x = normal(new Rng(3), 5 * 2 * 3);
  const want = await plain.forward(x, 2);
  dropped.training = false;
  assert.deepEqual(await dropped.forward(x, 2), want);
  dropped.training = true;
  const a = await dropped.forward(x, 2), b = await dropped.forward(x, 2);
  assert.notDeepEqual(a.outputs, want.outputs);
  assert.notDeepEqual(a.outputs, b.outputs, "each pass draws new masks");
  // The bottom layer is not dropped: its final state is the plain one's.
  assert.deepEqual(a.state.h.subarray(0, 2 * 4), want.state.h.subarray(0, 2 * 4));
});

Deno.test("layers reject options, inputs, states and gradients of the wrong size", async () => {
  const gru = new GRU({ inputSize: 3, hiddenSize: 2 });
  await assert.rejects(gru.forward([1, 2], 1), /inputs must hold T x 1 x 3 values/);
  await assert.rejects(
    gru.forward([1, 2, 3], 1, { h: new Float32Array(5) }),
    /state\.h must hold 1 x 1 x 2 values, got 5/,
  );
  await assert.rejects(
    new LSTM({ inputSize: 1, hiddenSize: 1 }).backward([1]),
    /needs a forward\(\) first/,
  );
  const bi = new RNN({ inputSize: 1, hiddenSize: 2, bidirectional: true, batchFirst: true });
  await bi.forward([1, 2, 3], 1);
  await assert.rejects(bi.backward([1, 2, 3]), /dOutputs must hold 12 values \(1 x 3 x 4\)/);
  await assert.rejects(bi.forward([1, 2], 1, { h: [0, 0] }), /state\.h must hold 2 x 1 x 2/);
  for (
    const [options, message] of [
      [{ inputSize: 0, hiddenSize: 2 }, /inputSize must be an integer in \[1, 1048576\], got 0/],
      [{ inputSize: 1, hiddenSize: 2.5 }, /hiddenSize must be an integer/],
      [{ inputSize: 1, hiddenSize: 2, numLayers: 65 }, /numLayers must be an integer in \[1, 64\]/],
      [{ inputSize: 1, hiddenSize: 2, dropout: 1 }, /dropout must be in \[0, 1\), got 1/],
      [{ inputSize: 1, hiddenSize: 2, dropout: 0.5 }, /set numLayers to 2 or more/],
      [
        { inputSize: 1, hiddenSize: 2, nonlinearity: "sigmoid" as "tanh" },
        /nonlinearity must be one of tanh, relu, got "sigmoid"/,
      ],
    ] as const
  ) {
    assert.throws(() => new RNN(options), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
});
