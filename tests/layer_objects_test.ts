/**
 * The layer objects against PyTorch's documented equations in float64 (`tests/_torch.ts`), read
 * from the layers' own state dicts: every cell, one and two layers, one and two directions, both
 * layouts, a given initial state, and state dicts with both biases set. On the float64 reference
 * backend to 1e-12, on WebAssembly to 1e-5.
 */
import assert from "node:assert/strict";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { Backend } from "../src/backend/types.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import { UsageError } from "../src/errors.ts";
import { GRU, LSTM, type RecurrentLayer, RNN } from "../src/model/layers.ts";
import { Rng } from "../src/rng.ts";
import { torchForward, type TorchTensor } from "./_torch.ts";
import { trainPalindromes } from "../examples/palindrome/main.ts";

const LAYERS = { rnn: RNN, gru: GRU, lstm: LSTM } as const;
const [T, B, I, H] = [5, 2, 3, 4];

/** Every module the layer objects stand for. */
const CASES = (["rnn", "gru", "lstm"] as const).flatMap((cell) =>
  (cell === "rnn" ? (["tanh", "relu"] as const) : (["tanh"] as const)).flatMap((nonlinearity) =>
    [1, 2].flatMap((numLayers) =>
      [false, true].flatMap((bidirectional) =>
        [false, true].map((batchFirst) => ({
          cell,
          nonlinearity,
          numLayers,
          bidirectional,
          batchFirst,
        }))
      )
    )
  )
);

type Case = (typeof CASES)[number];
const label = (c: Case) =>
  `${c.cell}${c.cell === "rnn" ? `(${c.nonlinearity})` : ""} x${c.numLayers}` +
  `${c.bidirectional ? " bidirectional" : ""}${c.batchFirst ? " batch-first" : ""}`;

/** Rows of `n` normal values. */
const draw = (rng: Rng, ...shape: number[]): number[][][] =>
  Array.from(
    { length: shape[0] },
    () =>
      Array.from(
        { length: shape[1] },
        () => Array.from({ length: shape[2] }, () => rng.normal()),
      ),
  );

/** `[T][B][W]` nested as the layer's flat layout. */
function flat(x: number[][][], batchFirst: boolean): Float64Array {
  const [A, C, W] = [x.length, x[0].length, x[0][0].length];
  const out = new Float64Array(A * C * W);
  for (let t = 0; t < A; t++) {
    for (let b = 0; b < C; b++) {
      out.set(x[t][b], (batchFirst ? b * A + t : t * C + b) * W);
    }
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]} (error ${err})`);
  }
}

/** The layer and PyTorch's equations, reading `dict`, on the same inputs and initial state. */
async function compare(
  c: Case,
  layer: RecurrentLayer,
  dict: Record<string, TorchTensor>,
  seed: number,
  tol: number,
) {
  const D = c.bidirectional ? 2 : 1, rng = new Rng(seed);
  const x = draw(rng, T, B, I);
  const h0 = draw(rng, c.numLayers * D, B, H), c0 = draw(rng, c.numLayers * D, B, H);
  const want = torchForward(dict, c, x, h0, c.cell === "lstm" ? c0 : undefined);
  const got = await layer.forward(flat(x, c.batchFirst), B, {
    h: h0.flat(2),
    ...(c.cell === "lstm" ? { c: c0.flat(2) } : {}),
  });
  assertClose(got.outputs, flat(want.output, c.batchFirst), tol, "output");
  assertClose(got.state.h, want.h.flat(2), tol, "h_n");
  if (c.cell === "lstm") assertClose(got.state.c!, want.c.flat(2), tol, "c_n");
  else assert.equal(got.state.c, undefined);
}

for (const c of CASES) {
  Deno.test(`a layer computes PyTorch's equations: ${label(c)}`, async () => {
    for (
      const [backend, tol] of [[createReferenceBackend(), 1e-12], [createWasmBackend(), 1e-5]] as [
        Backend,
        number,
      ][]
    ) {
      const layer = new LAYERS[c.cell]({
        inputSize: I,
        hiddenSize: H,
        ...c,
        seed: 7,
        backend,
        init: "uniform",
      });
      // The state dict is float32: the float64 backend's weights are made the same numbers.
      const own = await layer.stateDict();
      layer.loadStateDict(own);
      await compare(c, layer, own, 11, tol);
      // A state dict with both biases set (as PyTorch trains them) computes the same too.
      const rng = new Rng(13);
      const dict = await layer.stateDict();
      for (const t of Object.values(dict)) t.data = t.data.map(() => rng.normal() * 0.5);
      layer.loadStateDict(dict);
      await compare(c, layer, dict, 17, tol);
      layer.dispose();
    }
  });
}

Deno.test("a bidirectional 2-layer LSTM's state dict has nn.LSTM(bidirectional=True)'s names and shapes, in its order", async () => {
  const lstm = new LSTM({ inputSize: 10, hiddenSize: 20, numLayers: 2, bidirectional: true });
  const dict = await lstm.stateDict("rnn.");
  // for name, t in nn.LSTM(10, 20, num_layers=2, bidirectional=True).state_dict().items():
  //     print(name, list(t.shape))
  const torch = [
    ["rnn.weight_ih_l0", [80, 10]],
    ["rnn.weight_hh_l0", [80, 20]],
    ["rnn.bias_ih_l0", [80]],
    ["rnn.bias_hh_l0", [80]],
    ["rnn.weight_ih_l0_reverse", [80, 10]],
    ["rnn.weight_hh_l0_reverse", [80, 20]],
    ["rnn.bias_ih_l0_reverse", [80]],
    ["rnn.bias_hh_l0_reverse", [80]],
    ["rnn.weight_ih_l1", [80, 40]],
    ["rnn.weight_hh_l1", [80, 20]],
    ["rnn.bias_ih_l1", [80]],
    ["rnn.bias_hh_l1", [80]],
    ["rnn.weight_ih_l1_reverse", [80, 40]],
    ["rnn.weight_hh_l1_reverse", [80, 20]],
    ["rnn.bias_ih_l1_reverse", [80]],
    ["rnn.bias_hh_l1_reverse", [80]],
  ];
  assert.deepEqual(Object.entries(dict).map(([name, t]) => [name, t.shape]), torch);
  for (const t of Object.values(dict)) {
    assert.ok(t.data instanceof Float32Array);
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
  }
  // Loading it back (with the prefix; other modules' tensors are left alone) changes nothing.
  const other = new LSTM({
    inputSize: 10,
    hiddenSize: 20,
    numLayers: 2,
    bidirectional: true,
    seed: 99,
  });
  other.loadStateDict({
    ...dict,
    "dense.weight": { shape: [1, 40], data: new Float32Array(40) },
  }, "rnn.");
  assert.deepEqual(await other.backend.read(other.params), await lstm.backend.read(lstm.params));
});

Deno.test("loadStateDict() is strict: a missing, unexpected or misshapen tensor is named", async () => {
  const gru = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true });
  const dict = await gru.stateDict();
  const without = { ...dict };
  delete without.bias_hh_l0_reverse;
  const cases: [Record<string, TorchTensor>, RegExp][] = [
    [without, /the state dict has no tensor "bias_hh_l0_reverse"/],
    [
      { ...dict, weight_ih_l1: dict.weight_ih_l0 },
      /unexpected tensors: weight_ih_l1 \(this is an nn\.GRU of 1 layer\(s\), bidirectional\)/,
    ],
    [
      { ...dict, weight_hh_l0: { shape: [9, 2], data: new Float32Array(18) } },
      /tensor "weight_hh_l0" has shape \[9,2\], expected \[9,3\]/,
    ],
  ];
  for (const [given, message] of cases) {
    assert.throws(() => gru.loadStateDict(given), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
  const book = new GRU({ inputSize: 2, hiddenSize: 3, gruVariant: "book" });
  await assert.rejects(book.stateDict(), /the book's GRU has no nn\.GRU equivalent/);
});

Deno.test("the palindrome example's bidirectional GRU learns its task (examples/palindrome)", async () => {
  const reports: number[] = [];
  const accuracies = await trainPalindromes({ onReport: (_, accuracy) => reports.push(accuracy) });
  assert.deepEqual(accuracies, reports);
  assert.ok(accuracies[0] < 0.7, `it starts near chance: ${accuracies[0]}`);
  assert.ok(accuracies.at(-1)! >= 0.95, `accuracy ${accuracies.at(-1)}`);
});
