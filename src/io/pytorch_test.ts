import assert from "node:assert/strict";
import { createReferenceBackend } from "../backend/reference.ts";
import { generate } from "../generate/generate.ts";
import { type ModelConfig, resolveModelConfig, resolveTextConfig } from "../config/settings.ts";
import { CheckpointError, UsageError } from "../errors.ts";
import { forwardHidden, forwardLogits, resetState, writeTokens } from "../model/forward.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import { createWorkspace } from "../model/workspace.ts";
import { exportPyTorch, importPyTorch } from "./pytorch.ts";
import { Rng } from "../rng.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsFile } from "./safetensors.ts";
import { Vocab } from "../text/vocab.ts";
import { torchForward as torchStack } from "../../tests/_torch.ts";

const VOCAB = new Vocab([..."abcdefg"]);
const V = VOCAB.size;

/** The configurations exported: every PyTorch module and nonlinearity, one and two layers. */
const CONFIGS: ModelConfig[] = [1, 2].flatMap((layers) =>
  ([
    { vocabSize: V, hidden: 5, activation: "tanh", cell: "rnn", layers },
    { vocabSize: V, hidden: 5, activation: "relu", cell: "rnn", layers },
    { vocabSize: V, hidden: 5, activation: "tanh", cell: "lstm", layers },
    { vocabSize: V, hidden: 5, activation: "tanh", cell: "gru", gruVariant: "pytorch", layers },
  ] as const).map(resolveModelConfig)
);

const label = (c: ModelConfig) =>
  `${c.cell}${c.cell === "rnn" ? `(${c.activation})` : ""} x${c.layers}`;

/**
 * The book's concise model in float64, from PyTorch's documented equations (`tests/_torch.ts`)
 * reading the state dict: each layer's outputs [T][B][H] and the logits [T][B][V], from a zero
 * initial state.
 */
function torchForward(
  file: SafetensorsFile,
  cell: "rnn" | "gru" | "lstm",
  nonlinearity: "tanh" | "relu",
  tokens: number[][],
): { outputs: number[][][][]; logits: number[][][] } {
  const dict = Object.fromEntries(file.tensors.map((t) => [t.name, t]));
  let L = 0;
  while (dict[`rnn.weight_ih_l${L}`]) L++;
  const V = dict["rnn.weight_ih_l0"].shape[1], B = tokens.length;
  // One-hot inputs, time-major [T][B][V].
  const x = tokens[0].map((_, s) =>
    tokens.map((row) => Array.from({ length: V }, (_, i) => i === row[s] ? 1 : 0))
  );
  const outputs: number[][][][] = [];
  let input: number[][][] = x;
  for (let l = 0; l < L; l++) {
    // Layer l alone, as a one-layer module.
    const own = Object.fromEntries(
      ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map((
        n,
      ) => [`${n}_l0`, dict[`rnn.${n}_l${l}`]]),
    );
    const layer = { cell, nonlinearity, numLayers: 1, bidirectional: false };
    input = torchStack(own, layer, input).output;
    outputs.push(input);
  }
  const dense = dict["dense.weight"], bias = dict["dense.bias"].data;
  const logits = input.map((row) =>
    row.map((h) =>
      Array.from({ length: dense.shape[0] }, (_, r) => {
        let s = bias[r];
        for (let c = 0; c < dense.shape[1]; c++) s += dense.data[r * dense.shape[1] + c] * h[c];
        return s;
      })
    )
  );
  assert.equal(logits[0].length, B);
  return { outputs, logits };
}

/** Our model's layer outputs [T][B][H] and logits [T][B][V] on the same tokens. */
async function ourForward(
  model: RnnModel,
  tokens: number[][],
): Promise<{ outputs: number[][][][]; logits: number[][][] }> {
  const be = model.backend, B = tokens.length, T = tokens[0].length;
  const { hidden: H, vocabSize: Vs } = model.config;
  const ws = createWorkspace(model, T, B);
  writeTokens(model, ws, tokens.flat(), T, "inputs");
  resetState(model, ws);
  forwardHidden(model, ws, T);
  const logits = await be.read(forwardLogits(model, ws, T));
  const outputs: number[][][][] = [];
  for (const w of ws.layers) {
    const states = await be.read(w.states);
    outputs.push(Array.from({ length: T }, (_, s) =>
      Array.from({ length: B }, (_, b) => {
        const at = ((s + 1) * B + b) * H;
        return Array.from(states.subarray(at, at + H));
      })));
  }
  ws.free();
  return {
    outputs,
    logits: Array.from({ length: T }, (_, s) =>
      Array.from({ length: B }, (_, b) => {
        const at = (s * B + b) * Vs;
        return Array.from(logits.subarray(at, at + Vs));
      })),
  };
}

function assertClose(a: number[][][], b: number[][][], tolerance: number, what: string) {
  const fa = a.flat(2), fb = b.flat(2);
  assert.equal(fa.length, fb.length);
  for (let i = 0; i < fa.length; i++) {
    assert.ok(
      Math.abs(fa[i] - fb[i]) <= tolerance,
      `${what}[${i}]: ours ${fa[i]}, PyTorch ${fb[i]}`,
    );
  }
}

/** Random tokens [B][T]. */
function drawTokens(seed: number, B: number, T: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(V)));
}

/** A model with uniform (PyTorch-like) weights rounded to float32, on the float64 reference. */
async function referenceModel(config: ModelConfig, seed: number): Promise<RnnModel> {
  const be = createReferenceBackend();
  const model = createModel(config, { backend: be, seed, init: "uniform" });
  model.loadParams(Float64Array.from(await be.read(model.params), Math.fround));
  return model;
}

for (const config of CONFIGS) {
  Deno.test(`exportPyTorch -> importPyTorch keeps every weight and the generated text: ${label(config)}`, async () => {
    const model = createModel(config, { seed: 7, init: "uniform" });
    const back = importPyTorch(await exportPyTorch(model, VOCAB));
    assert.deepEqual(back.model.config, model.config);
    assert.deepEqual(back.vocab.tokens, VOCAB.tokens);
    const want = await model.getWeights(), got = await back.model.getWeights();
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const name of Object.keys(want)) {
      assert.deepEqual(Array.from(got[name]), Array.from(want[name]), name);
    }
    for (const prefix of ["ab", "gfe"]) {
      assert.equal(
        await generate(back.model, back.vocab, prefix, { length: 20 }),
        await generate(model, VOCAB, prefix, { length: 20 }),
      );
    }
  });

  Deno.test(`our forward pass equals PyTorch's equations in float64: ${label(config)}`, async () => {
    const model = await referenceModel(config, 3);
    const file = decodeSafetensors(await exportPyTorch(model, VOCAB));
    const tokens = drawTokens(11, 3, 6);
    const want = torchForward(file, config.cell, config.activation, tokens);
    const got = await ourForward(model, tokens);
    got.outputs.forEach((o, l) => assertClose(o, want.outputs[l], 1e-12, `layer ${l} state`));
    assertClose(got.logits, want.logits, 1e-12, "logits");
    // And the float32 WASM model imported from the same file, to float32 precision.
    const wasm = await ourForward(importPyTorch(await exportPyTorch(model, VOCAB)).model, tokens);
    wasm.outputs.forEach((o, l) => assertClose(o, want.outputs[l], 1e-5, `layer ${l} state`));
    assertClose(wasm.logits, want.logits, 1e-5, "logits");
  });

  Deno.test(`importPyTorch computes what PyTorch computes when bias_hh is not zero: ${label(config)}`, async () => {
    const file = decodeSafetensors(await exportPyTorch(await referenceModel(config, 5), VOCAB));
    const rng = new Rng(9);
    for (const t of file.tensors) {
      if (t.name.startsWith("rnn.bias_hh")) {
        t.data = Float32Array.from(t.data, () => (2 * rng.next() - 1) * 0.5);
      }
    }
    const imported = importPyTorch(encodeSafetensors(file), { backend: createReferenceBackend() });
    const tokens = drawTokens(13, 2, 5);
    const want = torchForward(file, config.cell, config.activation, tokens);
    const got = await ourForward(imported.model, tokens);
    got.outputs.forEach((o, l) => assertClose(o, want.outputs[l], 1e-12, `layer ${l} state`));
    assertClose(got.logits, want.logits, 1e-12, "logits");
  });
}

Deno.test("exportPyTorch transposes to PyTorch's orientation (hand-checked, H = 1, V = 2)", async () => {
  const model = createModel({ vocabSize: 2, hidden: 1, activation: "tanh" }, {
    backend: createReferenceBackend(),
  });
  model.setWeights({
    W_xh: [0.5, -0.25], // [V, H] = [2, 1]: the book's X W
    W_hh: [2],
    b_h: [0.125],
    W_hq: [3, 4], // [H, V] = [1, 2]
    b_q: [5, 6],
  });
  const file = decodeSafetensors(await exportPyTorch(model, new Vocab(["x", "y"])));
  const t = Object.fromEntries(file.tensors.map((x) => [x.name, x]));
  assert.deepEqual(Object.keys(t), [
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "dense.weight",
    "dense.bias",
  ]);
  // weight_ih_l0 is W_xhᵀ [1, 2]; dense.weight is W_hqᵀ [2, 1].
  assert.deepEqual(t["rnn.weight_ih_l0"].shape, [1, 2]);
  assert.deepEqual(Array.from(t["rnn.weight_ih_l0"].data), [0.5, -0.25]);
  assert.deepEqual(t["rnn.weight_hh_l0"].shape, [1, 1]);
  assert.deepEqual(Array.from(t["rnn.bias_ih_l0"].data), [0.125]);
  assert.deepEqual(Array.from(t["rnn.bias_hh_l0"].data), [0]);
  assert.deepEqual(t["dense.weight"].shape, [2, 1]);
  assert.deepEqual(Array.from(t["dense.weight"].data), [3, 4]);
  assert.deepEqual(Array.from(t["dense.bias"].data), [5, 6]);
  assert.equal(file.metadata.format, "pt");
  assert.deepEqual(JSON.parse(file.metadata.vocab), ["x", "y"]);
  assert.equal(JSON.parse(file.metadata.config).activation, "tanh");
});

Deno.test("exportPyTorch puts each gate in PyTorch's rows and b_hn in bias_hh's n block", async () => {
  const H = 2, I = 3;
  const model = createModel(
    { vocabSize: I, hidden: H, activation: "tanh", cell: "gru", gruVariant: "pytorch" },
    { backend: createReferenceBackend(), seed: 1, init: "uniform" },
  );
  const w = await model.getWeights();
  const t = Object.fromEntries(
    decodeSafetensors(await exportPyTorch(model, new Vocab(["a", "b", "c"]))).tensors.map((
      x,
    ) => [x.name, x.data]),
  );
  ["r", "z", "h"].forEach((g, gate) => {
    for (let j = 0; j < H; j++) {
      for (let i = 0; i < I; i++) {
        assert.equal(
          t["rnn.weight_ih_l0"][(gate * H + j) * I + i],
          Math.fround(w[`W_x${g}`][i * H + j]),
        );
      }
      for (let i = 0; i < H; i++) {
        assert.equal(
          t["rnn.weight_hh_l0"][(gate * H + j) * H + i],
          Math.fround(w[`W_h${g}`][i * H + j]),
        );
      }
      assert.equal(t["rnn.bias_ih_l0"][gate * H + j], Math.fround(w[`b_${g}`][j]));
      const hh = g === "h" ? Math.fround(w.b_hn[j]) : 0;
      assert.equal(t["rnn.bias_hh_l0"][gate * H + j], hh);
    }
  });
});

Deno.test("exportPyTorch refuses the book's GRU and models it cannot express", async () => {
  const gru = createModel({ vocabSize: V, hidden: 3, activation: "tanh", cell: "gru" });
  await assert.rejects(exportPyTorch(gru, VOCAB), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, /book's GRU.*reset gate after.*gruVariant "pytorch"/s);
    return true;
  });
  const rnn = createModel({ vocabSize: V, hidden: 3, activation: "tanh" });
  await assert.rejects(exportPyTorch(rnn, new Vocab(["a"])), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, /the vocabulary has 1 tokens, the model 7/);
    return true;
  });
  const bare = createModel({ vocabSize: 0, inputSize: 2, hidden: 3, activation: "tanh" });
  await assert.rejects(exportPyTorch(bare, VOCAB), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, /one-hot tokens with an output layer/);
    return true;
  });
});

Deno.test("importPyTorch rejects malformed state dicts with a message that says what is wrong", async () => {
  const model = createModel(
    { vocabSize: V, hidden: 3, activation: "tanh", cell: "lstm", layers: 2 },
    { seed: 2, init: "uniform" },
  );
  const exported = await exportPyTorch(model, VOCAB);
  const good = () => decodeSafetensors(exported);
  const rejects = (edit: (f: SafetensorsFile) => void, pattern: RegExp) => {
    const f = good();
    edit(f);
    assert.throws(() => importPyTorch(encodeSafetensors(f)), (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  };
  assert.throws(() => importPyTorch(new Uint8Array(5)), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /^not a safetensors file: /);
    return true;
  });
  const drop = (name: string) => (f: SafetensorsFile) => {
    f.tensors = f.tensors.filter((t) => t.name !== name);
  };
  const find = (f: SafetensorsFile, name: string) => f.tensors.find((t) => t.name === name)!;
  rejects((f) => delete f.metadata.vocab, /no "vocab" entry/);
  rejects((f) => f.metadata.vocab = "[1,", /"vocab" is not valid JSON/);
  rejects(
    (f) => f.metadata.vocab = JSON.stringify([..."abc"]),
    /vocabSize 7, the tensors 3/,
  );
  rejects((f) => {
    f.metadata.vocab = JSON.stringify([..."abc"]);
    delete f.metadata.config;
  }, /"rnn.weight_ih_l0" has shape \[12,7\], expected \[12,3\]/);
  rejects((f) => {
    const t = find(f, "dense.bias");
    t.shape = [V - 1];
    t.data = t.data.subarray(1);
  }, /"dense.bias" has shape \[6\], expected \[7\]/);
  rejects(drop("rnn.bias_hh_l1"), /no tensor "rnn.bias_hh_l1"/);
  rejects(drop("dense.weight"), /no tensor "dense.weight"/);
  rejects(drop("rnn.weight_hh_l0"), /no tensor "rnn.weight_hh_l0"/);
  rejects((f) => {
    const t = find(f, "dense.weight");
    t.shape = [3, V];
  }, /"dense.weight" has shape \[3,7\], expected \[7,3\]/);
  rejects((f) => {
    const t = find(f, "rnn.weight_hh_l0");
    t.shape = [18, 2];
  }, /"rnn.weight_hh_l0" has 18 rows for 2 hidden units: not nn.RNN/);
  rejects((f) => {
    const t = find(f, "rnn.weight_hh_l0");
    t.shape = [9, 4];
  }, /expected \[G, H\] with G a multiple of H/);
  rejects(
    (f) => f.tensors.push({ name: "rnn.extra", shape: [1], data: new Float32Array(1) }),
    /unexpected tensors: rnn.extra/,
  );
  rejects(
    (f) => f.tensors.push({ ...find(f, "rnn.bias_ih_l0"), name: "rnn.bias_ih_l0_reverse" }),
    /a bidirectional nn\.LSTM: a language model reads left to right only .* loadStateDict/,
  );
  rejects(
    (f) => f.metadata.config = JSON.stringify({ ...model.config, hidden: 4 }),
    /hidden 4, the tensors 3/,
  );
  rejects(
    (f) => f.metadata.config = JSON.stringify({ ...model.config, layers: 1 }),
    /layers 1, the tensors 2/,
  );
  rejects(
    (f) => f.metadata.config = JSON.stringify({ ...model.config, activation: "gelu" }),
    /activation "gelu"/,
  );
  rejects((f) => f.metadata.text = JSON.stringify({ tokens: "bytes" }), /text settings/);
  const gru = createModel({
    vocabSize: V,
    hidden: 3,
    activation: "tanh",
    cell: "gru",
    gruVariant: "pytorch",
  });
  const f = decodeSafetensors(await exportPyTorch(gru, VOCAB));
  f.metadata.config = JSON.stringify({ ...gru.config, gruVariant: "book" });
  assert.throws(() => importPyTorch(encodeSafetensors(f)), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /always PyTorch's GRU/);
    return true;
  });
});

Deno.test("importPyTorch reads a state dict with no config: the sizes come from the tensors", async () => {
  const model = createModel(
    { vocabSize: V, hidden: 4, activation: "tanh", cell: "gru", gruVariant: "pytorch", layers: 2 },
    { seed: 4, init: "uniform" },
  );
  const f = decodeSafetensors(await exportPyTorch(model, VOCAB));
  f.metadata = { vocab: f.metadata.vocab };
  const back = importPyTorch(encodeSafetensors(f));
  assert.deepEqual(back.model.config, model.config);
  assert.deepEqual(back.text, resolveTextConfig({ tokens: "char", normalize: "none" }));
  assert.equal(
    await generate(back.model, back.vocab, "abc", { length: 15 }),
    await generate(model, VOCAB, "abc", { length: 15 }),
  );
});

Deno.test("importPyTorch: an nn.RNN's nonlinearity from the option, else the metadata, else tanh as an assumption it reports", async () => {
  const relu = createModel({ vocabSize: V, hidden: 4, activation: "relu" }, {
    seed: 6,
    init: "uniform",
  });
  const bare = decodeSafetensors(await exportPyTorch(relu, VOCAB));
  // What PyTorch's save_file writes: no config, so nothing says relu.
  bare.metadata = { vocab: bare.metadata.vocab };
  const bytes = encodeSafetensors(bare);
  const guessed = importPyTorch(bytes);
  assert.equal(guessed.model.config.activation, "tanh");
  assert.match(guessed.assumed!, /nonlinearity 'tanh' \(the state dict does not say/);
  const told = importPyTorch(bytes, { activation: "relu" });
  assert.equal(told.model.config.activation, "relu");
  assert.equal(told.assumed, undefined);
  const want = await generate(relu, VOCAB, "abc", { length: 20 });
  assert.equal(await generate(told.model, told.vocab, "abc", { length: 20 }), want);
  // The metadata's config.activation is read when there is one, and a contradiction is refused.
  const withConfig = await exportPyTorch(relu, VOCAB);
  const read = importPyTorch(withConfig);
  assert.equal(read.model.config.activation, "relu");
  assert.equal(read.assumed, undefined);
  assert.throws(() => importPyTorch(withConfig, { activation: "tanh" }), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.forCli(), /metadata says activation relu; --activation tanh contradicts it/);
    return true;
  });
  // Gated cells have no nonlinearity to assume.
  const lstm = createModel({ vocabSize: V, hidden: 4, cell: "lstm" }, { seed: 6 });
  const f = decodeSafetensors(await exportPyTorch(lstm, VOCAB));
  f.metadata = { vocab: f.metadata.vocab };
  assert.equal(importPyTorch(encodeSafetensors(f)).assumed, undefined);
});
