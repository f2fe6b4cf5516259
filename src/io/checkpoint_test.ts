import assert from "node:assert/strict";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { createModel, getWeights, PARAM_NAMES, paramShapes } from "../model/model.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import { Vocab } from "../text/vocab.ts";

const vocab = new Vocab(["分", "开", " ", "不"]);
const model = () => createModel({ vocabSize: 4, hidden: 5, activation: "relu" }, { seed: 9 });

Deno.test("a checkpoint round-trips weights, vocabulary, config and hyperparameters", async () => {
  const m = model();
  const bytes = encodeCheckpoint(m, vocab, { hyperparameters: { lr: 100, epochs: 250 } });
  const file = decodeSafetensors(bytes);
  assert.deepEqual(file.tensors.map((t) => t.name), [...PARAM_NAMES]);
  assert.deepEqual(
    file.tensors.map((t) => t.shape),
    PARAM_NAMES.map((n) => paramShapes(m.config)[n]),
  );
  const back = decodeCheckpoint(bytes);
  assert.deepEqual(back.vocab.tokens, vocab.tokens);
  assert.deepEqual(back.model.config, m.config);
  assert.deepEqual(back.hyperparameters, { lr: 100, epochs: 250 });
  assert.deepEqual(back.text, { tokens: "char", normalize: "none" });
  const words = { tokens: "word", normalize: "letters" } as const;
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(m, vocab, { text: words })).text, words);
  assert.equal(back.optimizer, undefined);
  const n = m.numParams;
  const optimizer = {
    m: Float32Array.from({ length: n }, (_, i) => i),
    v: new Float32Array(n),
    step: 7,
  };
  assert.deepEqual(
    decodeCheckpoint(encodeCheckpoint(m, vocab, { optimizer })).optimizer,
    optimizer,
  );
  assert.deepEqual(getWeights(back.model), getWeights(m));

  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(`${dir}/m.safetensors`, m, vocab);
    assert.deepEqual(
      getWeights((await loadCheckpoint(`${dir}/m.safetensors`)).model),
      getWeights(m),
    );
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["m.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function tampered(edit: (f: ReturnType<typeof decodeSafetensors>) => void): Uint8Array {
  const file = decodeSafetensors(encodeCheckpoint(model(), vocab));
  edit(file);
  return encodeSafetensors(file);
}

Deno.test("malformed checkpoints are rejected with a message that says what is wrong", () => {
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(3), /./],
    [tampered((f) => f.metadata.format = "other"), /not an @rnn\/wasm checkpoint/],
    [tampered((f) => f.tensors.splice(1, 1)), /no tensor "W_hh" \(expected \[5,5\]\)/],
    [
      tampered((f) => f.tensors[0] = { name: "W_xh", shape: [5, 4], data: f.tensors[0].data }),
      /"W_xh" has shape \[5,4\], expected \[4,5\]/,
    ],
    [tampered((f) => f.metadata.vocab = '["a","b"]'), /does not fit its vocabulary of 2/],
    [tampered((f) => f.metadata.vocab = "[1,"), /"vocab" is not valid JSON/],
    [tampered((f) => delete f.metadata.config), /no "config" entry/],
    [tampered((f) => f.metadata.text = '{"tokens":"byte"}'), /text settings .* not understood/],
    [
      tampered((f) => f.metadata.optimizer = '{"name":"adam","step":3}'),
      /"adam.m" must hold \d+ values/,
    ],
    [tampered((f) => f.metadata.optimizer = '{"name":"sgd"}'), /optimizer entry .* not understood/],
    [
      tampered((f) => f.tensors.push({ name: "extra", shape: [1], data: new Float32Array(1) })),
      /unexpected tensors: extra/,
    ],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeCheckpoint(bytes), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("a model with NaN weights is never saved", async () => {
  const m = model();
  m.backend.write(m.output.b_q, [NaN]);
  assert.throws(() => encodeCheckpoint(m, vocab), /NaN/);
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(saveCheckpoint(`${dir}/m.safetensors`, m, vocab), RangeError);
    assert.equal(Array.from(Deno.readDirSync(dir)).length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
