import assert from "node:assert/strict";
import { createReferenceBackend } from "../backend/reference.ts";
import {
  type ModelConfig,
  resolveTextConfig,
  resolveTrainConfig,
  type TextConfig,
} from "../config/settings.ts";
import { CheckpointError, DataError, UsageError } from "../errors.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import { paramShapes } from "../model/params.ts";
import { quantize } from "../model/quantize.ts";
import { Rng } from "../rng.ts";
import { Vocab } from "../text/vocab.ts";
import type { TrainState } from "../train/state.ts";
import {
  type Checkpoint,
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type TrainRecord,
} from "./checkpoint.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";

const vocab = new Vocab(["分", "开", " ", "不"]);
const text: TextConfig = resolveTextConfig({});
const model = (config: Partial<ModelConfig> = {}): RnnModel =>
  createModel({ vocabSize: 4, hidden: 5, activation: "relu", ...config }, { seed: 9 });
/** The tensor names of the small RNN, in checkpoint order (the book's names). */
const RNN_NAMES = ["W_xh", "W_hh", "b_h", "W_hq", "b_q"];

/** The bits of each float32, so that -0, NaN payloads and subnormals compare exactly. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Asserts two sets of named tensors hold the same float32 bits. */
function sameBits(
  got: Record<string, Float32Array>,
  want: Record<string, Float32Array>,
  what: string,
): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), what);
  for (const name of Object.keys(want)) {
    assert.deepEqual(bits(got[name]), bits(want[name]), `${what}: ${name}`);
  }
}

/** Moments with values float32 holds exactly but a careless conversion would not keep. */
function moments(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = Float32Array.from({ length: n }, () => rng.normal() * 1e-3);
  a[0] = -0;
  a[1] = 1.4e-45; // the smallest subnormal
  a[2] = 3.4028234663852886e38; // the largest float32
  return a;
}

/** A full training record and a resume state with Adam's moments, for `m`. */
function trainAndState(m: RnnModel): { train: TrainRecord; state: TrainState } {
  const train: TrainRecord = {
    ...resolveTrainConfig({ optimizer: "adam", lr: 0.01, epochs: 3, batchSize: 2, numSteps: 3 }),
    corpus: "jaychou",
  };
  const m1 = moments(m.numParams, 1);
  const v = Float32Array.from(moments(m.numParams, 2), Math.abs);
  const state: TrainState = {
    epoch: 2,
    rngState: new Rng(5).state(),
    dropoutRngState: new Rng(6).state(),
    optimizer: { m: m1, v, step: 17 },
  };
  return { train, state };
}

Deno.test("a checkpoint round-trips weights, vocabulary, config and text settings", async () => {
  const m = model();
  const bytes = await encodeCheckpoint({ model: m, vocab, text });
  const file = decodeSafetensors(bytes);
  assert.deepEqual(file.tensors.map((t) => t.name), RNN_NAMES);
  assert.deepEqual(
    file.tensors.map((t) => t.shape),
    RNN_NAMES.map((n) => paramShapes(m.config)[n]),
  );
  assert.equal(file.metadata.format, "rnn-wasm");
  assert.equal(file.metadata.format_version, "2");
  assert.equal(CHECKPOINT_VERSION, 2);
  const back = decodeCheckpoint(bytes);
  assert.deepEqual(back.vocab.tokens, vocab.tokens);
  assert.deepEqual(back.model.config, m.config);
  assert.deepEqual(back.text, { tokens: "char", normalize: "none", maxTokens: 10000, minFreq: 0 });
  assert.equal(back.train, undefined);
  assert.equal(back.state, undefined);
  sameBits(await back.model.getWeights(), await m.getWeights(), "weights");

  const words = resolveTextConfig({
    tokens: "word",
    normalize: "letters",
    maxTokens: 0,
    minFreq: 2,
  });
  assert.deepEqual(
    decodeCheckpoint(await encodeCheckpoint({ model: m, vocab, text: words })).text,
    words,
  );

  // Another backend, asked for by the caller.
  const reference = createReferenceBackend();
  const onReference = decodeCheckpoint(bytes, { backend: reference });
  assert.equal(onReference.model.backend, reference);
  sameBits(await onReference.model.getWeights(), await m.getWeights(), "reference weights");

  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(`${dir}/m.safetensors`, { model: m, vocab, text });
    const loaded = await loadCheckpoint(`${dir}/m.safetensors`);
    sameBits(await loaded.model.getWeights(), await m.getWeights(), "loaded weights");
    assert.deepEqual(loaded.vocab.tokens, vocab.tokens);
    assert.deepEqual(loaded.text, text);
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["m.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint round-trips the training record and the resume state, Adam's moments bit for bit", async () => {
  for (const config of [{}, { cell: "gru", gruVariant: "pytorch", layers: 2 }] as const) {
    const m = model(config);
    const { train, state } = trainAndState(m);
    const bytes = await encodeCheckpoint({ model: m, vocab, text, train, state });
    const back = decodeCheckpoint(bytes);
    assert.deepEqual(back.train, train);
    assert.deepEqual(back.state!.epoch, state.epoch);
    assert.deepEqual(back.state!.rngState, state.rngState);
    assert.deepEqual(back.state!.dropoutRngState, state.dropoutRngState);
    assert.equal(back.state!.optimizer!.step, 17);
    assert.deepEqual(bits(back.state!.optimizer!.m), bits(state.optimizer!.m));
    assert.deepEqual(bits(back.state!.optimizer!.v), bits(state.optimizer!.v));
    sameBits(await back.model.getWeights(), await m.getWeights(), "weights");

    // The moments sit beside each weight under its book name: adam.m.X is X's moments, cut from
    // storage order exactly as the weights are.
    const file = decodeSafetensors(bytes);
    const names = Object.keys(paramShapes(m.config));
    assert.deepEqual(file.tensors.map((t) => t.name), [
      ...names,
      ...names.map((n) => `adam.m.${n}`),
      ...names.map((n) => `adam.v.${n}`),
    ]);
    const asWeights = async (values: Float32Array) => {
      const holder = createModel(m.config, { initScale: 0 });
      holder.loadParams(values);
      return await holder.getWeights();
    };
    for (
      const [prefix, values] of [["m", state.optimizer!.m], ["v", state.optimizer!.v]] as const
    ) {
      const want = await asWeights(values);
      const got = Object.fromEntries(
        names.map((n) => [
          n,
          file.tensors.find((t) => t.name === `adam.${prefix}.${n}`)!.data as Float32Array,
        ]),
      );
      sameBits(got, want, `adam.${prefix}`);
      for (const n of names) {
        assert.deepEqual(
          file.tensors.find((t) => t.name === `adam.${prefix}.${n}`)!.shape,
          paramShapes(m.config)[n],
        );
      }
    }
    assert.deepEqual(JSON.parse(file.metadata.state), {
      epoch: 2,
      rngState: state.rngState,
      dropoutRngState: state.dropoutRngState,
      adamStep: 17,
    });
  }

  // Without Adam (SGD) the state has no moments and the file no adam tensors.
  const m = model();
  const sgdState: TrainState = { epoch: 1, rngState: new Rng(3).state() };
  const bytes = await encodeCheckpoint({ model: m, vocab, text, state: sgdState });
  assert.deepEqual(decodeSafetensors(bytes).tensors.map((t) => t.name), RNN_NAMES);
  assert.deepEqual(decodeCheckpoint(bytes).state, sgdState);
});

function tampered(
  edit: (f: ReturnType<typeof decodeSafetensors>) => void,
  contents: Omit<Checkpoint, "model" | "vocab" | "text"> = {},
): Promise<Uint8Array> {
  const m = model();
  return encodeCheckpoint({ model: m, vocab, text, ...contents }).then((bytes) => {
    const file = decodeSafetensors(bytes);
    edit(file);
    return encodeSafetensors(file);
  });
}

/** Asserts that the bytes are refused with a CheckpointError whose message matches. */
function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeCheckpoint(bytes), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("malformed checkpoints are rejected with a message that says what is wrong", async () => {
  const m = model();
  const withAdam = trainAndState(m);
  const cases: [Uint8Array | Promise<Uint8Array>, RegExp][] = [
    [new Uint8Array(3), /not a safetensors file/],
    [tampered((f) => f.metadata.format = "other"), /not an @rnn\/wasm checkpoint/],
    [tampered((f) => f.tensors.splice(1, 1)), /no tensor "W_hh" \(expected \[5,5\]\)/],
    [
      tampered((f) => f.tensors[0] = { name: "W_xh", shape: [5, 4], data: f.tensors[0].data }),
      /"W_xh" has shape \[5,4\], expected \[4,5\]/,
    ],
    [tampered((f) => f.tensors[1].data[3] = NaN), /tensor "W_hh" holds NaN at index 3/],
    [tampered((f) => f.tensors[0].data[0] = -Infinity), /tensor "W_xh" holds -Infinity at index 0/],
    [
      tampered(
        (f) =>
          f.metadata.state = JSON.stringify({ ...JSON.parse(f.metadata.state), epoch: 2 ** 53 }),
        { state: { epoch: 1, rngState: new Rng(1).state() } },
      ),
      /the checkpoint's state entry \{"epoch":9007199254740992,.* is not understood/,
    ],
    [tampered((f) => f.metadata.vocab = '["a","b"]'), /does not fit its vocabulary of 2/],
    [tampered((f) => f.metadata.vocab = "[1,"), /"vocab" is not valid JSON/],
    [tampered((f) => f.metadata.vocab = "[1]"), /vocabulary is invalid/],
    [tampered((f) => delete f.metadata.model), /no "model" entry/],
    [tampered((f) => delete f.metadata.text), /no "text" entry/],
    [tampered((f) => delete f.metadata.vocab), /no "vocab" entry/],
    [tampered((f) => f.metadata.model = "[]"), /"model" entry is not an object/],
    [tampered((f) => f.metadata.train = "3"), /"train" entry is not an object/],
    [
      tampered((f) => f.metadata.text = '{"tokens":"byte"}'),
      /"text" entry is invalid: tokens must be one of char, word, got "byte"/,
    ],
    [
      // Moments are announced (adamStep) but missing.
      tampered(
        (f) => f.metadata.state = JSON.stringify({ ...JSON.parse(f.metadata.state), adamStep: 3 }),
        { state: { epoch: 1, rngState: new Rng(1).state() } },
      ),
      /Adam moments are incomplete: W_xh must have 20 values, got 0/,
    ],
    [
      // A moment of the right size but another shape (flattened) is refused too.
      tampered((f) => {
        const t = f.tensors.find((x) => x.name === "adam.m.W_xh")!;
        t.shape = [t.data.length];
      }, withAdam),
      /"adam\.m\.W_xh" has shape \[20\], expected \[4,5\]/,
    ],
    [
      tampered((f) => f.tensors.splice(RNN_NAMES.length + 2, 1), withAdam),
      /Adam moments are incomplete: b_h must have 5 values, got 0/,
    ],
    [
      // Moments without an Adam step in the state are tensors nobody reads.
      tampered(
        (f) => f.metadata.state = JSON.stringify({ epoch: 2, rngState: [1, 2, 3, 4] }),
        withAdam,
      ),
      /unexpected tensors: adam\.m\.W_xh, adam\.m\.W_hh/,
    ],
    [
      tampered((f) => f.metadata.state = '{"epoch":-1,"rngState":[1,2,3,4]}'),
      /state entry .* is not understood/,
    ],
    [
      tampered((f) => f.metadata.state = '{"epoch":1,"rngState":[1,2,3]}'),
      /state entry .* is not understood/,
    ],
    [
      tampered((f) => f.metadata.state = '{"epoch":1,"rngState":[1,2,3,4],"adamStep":-2}'),
      /state entry .* is not understood/,
    ],
    [
      tampered((f) => f.tensors.push({ name: "extra", shape: [1], data: new Float32Array(1) })),
      /unexpected tensors: extra/,
    ],
  ];
  for (const [bytes, pattern] of cases) refused(await bytes, pattern);
});

Deno.test("a version-1 checkpoint is refused with a message naming its version and what to do", async () => {
  // The metadata a version-1 file carried: the cell, `config`, `hyperparameters` and `text`.
  const v1 = await tampered((f) => {
    f.metadata = {
      format: "rnn-wasm",
      format_version: "1",
      cell: "rnn",
      config: JSON.stringify({ vocabSize: 4, hidden: 5, activation: 1 }),
      vocab: f.metadata.vocab,
      hyperparameters: JSON.stringify({ lr: 100, epochs: 250 }),
      text: JSON.stringify({ tokens: "char", normalize: "none" }),
    };
  });
  refused(v1, /this is a version-1 checkpoint .*reads version 2 only: train the model again/);
  refused(
    await tampered((f) => f.metadata.format_version = "3"),
    /version-3 checkpoint, newer than this @rnn\/wasm reads \(version 2\): update @rnn\/wasm/,
  );
  refused(await tampered((f) => delete f.metadata.format_version), /has no format_version/);
  refused(
    await tampered((f) => f.metadata.format_version = "2.0"),
    /format_version "2\.0" is not understood/,
  );

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/old.safetensors`, v1);
    await assert.rejects(loadCheckpoint(`${dir}/old.safetensors`), (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.equal(e.path, `${dir}/old.safetensors`);
      assert.match(
        e.message,
        new RegExp(`^${dir}/old\\.safetensors: this is a version-1 checkpoint`),
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unknown or out-of-range settings in a checkpoint are refused, naming the setting", async () => {
  const m = model();
  const { train } = trainAndState(m);
  const edit = (key: string, change: Record<string, unknown>) =>
    tampered(
      (f) => f.metadata[key] = JSON.stringify({ ...JSON.parse(f.metadata[key]), ...change }),
      {
        train,
      },
    );
  const cases: [Promise<Uint8Array>, RegExp][] = [
    [
      edit("model", { hidden: 0 }),
      /"model" entry is invalid: hidden must be an integer in \[1, 65536\], got 0/,
    ],
    [
      edit("model", { cell: "transformer" }),
      /"model" entry is invalid: cell must be one of rnn, gru, lstm, got "transformer"/,
    ],
    [edit("model", { resetAfter: 1 }), /"model" entry has unknown settings: resetAfter/],
    [edit("model", { vocabSize: undefined }), /"model" entry is invalid: vocabSize is required/],
    [edit("text", { maxChars: 10 }), /"text" entry has unknown settings: maxChars/],
    [
      edit("text", { maxTokens: -1 }),
      /"text" entry is invalid: maxTokens must be an integer >= 0, got -1/,
    ],
    [edit("text", { minFreq: 2 }), /"text" entry is invalid: minFreq applies to word tokens/],
    [edit("train", { batch: 32, steps: 35 }), /"train" entry has unknown settings: batch, steps/],
    [edit("train", { lr: -1 }), /"train" entry is invalid: lr must be a number >= 0, got -1/],
    [
      edit("train", { dropout: 1 }),
      /"train" entry is invalid: dropout must be a number in \[0, 1\), got 1/,
    ],
    [
      edit("train", { sampling: "shuffled" }),
      /"train" entry is invalid: sampling must be one of random, sequential/,
    ],
    [
      edit("train", { prefixes: ["a", ""] }),
      /"train" entry is invalid: prefixes must be a list of non-empty strings/,
    ],
    [
      edit("train", { corpus: "" }),
      /"train" entry is invalid: corpus must be a non-empty string, got ""/,
    ],
  ];
  for (const [bytes, pattern] of cases) refused(await bytes, pattern);
  // The same edits within range are read back.
  const fine = decodeCheckpoint(await edit("train", { lr: 0.5, dropout: 0.25 }));
  assert.equal(fine.train!.lr, 0.5);
  assert.equal(fine.train!.dropout, 0.25);
});

Deno.test("loadCheckpoint() names the file when it is missing, a folder, or not a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, RegExp][] = [
      [
        `${dir}/none.safetensors`,
        /none\.safetensors: no such file or folder; give the path of a checkpoint/,
      ],
      [dir, /: it is a folder/],
      [`${dir}/junk.safetensors`, /junk\.safetensors: not a safetensors file/],
    ];
    await Deno.writeTextFile(`${dir}/junk.safetensors`, "not a checkpoint");
    for (const [path, pattern] of cases) {
      await assert.rejects(loadCheckpoint(path), (e: unknown) => {
        assert.ok(e instanceof CheckpointError, String(e));
        assert.equal(e.path, path);
        assert.match(e.message, pattern);
        return true;
      });
    }
    const m = model();
    await assert.rejects(
      saveCheckpoint(`${dir}/no/such/folder/m.safetensors`, { model: m, vocab, text }),
      (e: unknown) => {
        // Not a fault of a checkpoint: the file system's, named with the path asked for.
        assert.ok(e instanceof DataError && !(e instanceof CheckpointError), String(e));
        assert.equal(e.path, `${dir}/no/such/folder/m.safetensors`);
        assert.match(e.message, /m\.safetensors could not be written: no such file or folder/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model with NaN or infinite weights is never saved", async () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const m = model();
    m.changeWeights(() => m.backend.write(m.output!.b_q, [bad]));
    await assert.rejects(encodeCheckpoint({ model: m, vocab, text }), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, /NaN or infinite weights; it was not saved/);
      return true;
    });
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        saveCheckpoint(`${dir}/m.safetensors`, { model: m, vocab, text }),
        UsageError,
      );
      assert.equal(Array.from(Deno.readDirSync(dir)).length, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("encodeCheckpoint() refuses a vocabulary or optimizer state that does not fit the model", async () => {
  const m = model();
  await assert.rejects(encodeCheckpoint({ model: m, vocab: new Vocab(["a"]), text }), {
    name: "UsageError",
    message: "the vocabulary has 1 tokens, the model 4",
  });
  const { state } = trainAndState(m);
  const short = { ...state, optimizer: { ...state.optimizer!, m: new Float32Array(3) } };
  await assert.rejects(encodeCheckpoint({ model: m, vocab, text, state: short }), {
    name: "UsageError",
    message: `the optimizer state holds 3 values in m, the model ${m.numParams} parameters`,
  });
  const shortV = { ...state, optimizer: { ...state.optimizer!, v: new Float32Array(3) } };
  await assert.rejects(encodeCheckpoint({ model: m, vocab, text, state: shortV }), {
    name: "UsageError",
    message: `the optimizer state holds 3 values in v, the model ${m.numParams} parameters`,
  });
});

Deno.test("an 8-bit checkpoint: I8 matrices with scales, a quarter of the size, read back exactly", async () => {
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const float = createModel({ vocabSize: 40, hidden: 24, cell, layers: 2 }, { seed: 4 });
    const v = new Vocab(Array.from({ length: 40 }, (_, i) => String.fromCodePoint(0x4e00 + i)));
    const small = await quantize(float);
    const bytes = await encodeCheckpoint({ model: small, vocab: v, text });
    const floatBytes = await encodeCheckpoint({ model: float, vocab: v, text });
    assert.ok(bytes.length < 0.4 * floatBytes.length, `${bytes.length} of ${floatBytes.length}`);
    const file = decodeSafetensors(bytes);
    const quantized = JSON.parse(file.metadata.quantized);
    assert.equal(quantized.weights, "int8");
    for (const t of file.tensors) {
      const matrix = t.shape.length === 2 && !t.name.endsWith(".scale");
      assert.equal(t.data instanceof Int8Array, matrix, t.name);
      if (matrix) assert.ok(file.tensors.some((s) => s.name === `${t.name}.scale`), t.name);
    }
    const back = decodeCheckpoint(bytes);
    assert.equal(back.model.quantized, "int8");
    sameBits(await back.model.getWeights(), await small.getWeights(), cell);
    // Written again, the same bytes: the file's integers and scales, not quantised afresh.
    assert.deepEqual(await encodeCheckpoint({ model: back.model, vocab: v, text }), bytes);
    // The float checkpoint stays float.
    assert.equal(decodeCheckpoint(floatBytes).model.quantized, undefined);
  }
});

Deno.test("8-bit checkpoints that are inconsistent are refused, saying what is wrong", async () => {
  const small = await quantize(model());
  const good = decodeSafetensors(await encodeCheckpoint({ model: small, vocab, text }));
  const edit = (f: (file: typeof good) => void) => {
    const copy = structuredClone(good);
    f(copy);
    return () => decodeCheckpoint(encodeSafetensors(copy));
  };
  const cases: [string, () => unknown, RegExp][] = [
    [
      "a missing scale",
      edit((f) => {
        f.tensors = f.tensors.filter((t) => t.name !== "W_hq.scale");
      }),
      /tensor "W_hq.scale" must hold 4 finite float32 scales >= 0/,
    ],
    [
      "a negative scale",
      edit((f) => {
        (f.tensors.find((t) => t.name === "W_hh.scale")!.data as Float32Array)[0] = -1;
      }),
      /tensor "W_hh.scale" must hold 5 finite/,
    ],
    [
      "-128",
      edit((f) => {
        (f.tensors.find((t) => t.name === "W_xh")!.data as Int8Array)[3] = -128;
      }),
      /tensor "W_xh" holds -128/,
    ],
    [
      "an 8-bit matrix stored as float",
      edit((f) => {
        const t = f.tensors.find((t) => t.name === "W_hh")!;
        t.data = Float32Array.from(t.data);
      }),
      /tensor "W_hh" must be I8 of shape \[5,5\]/,
    ],
    [
      "an 8-bit bias",
      edit((f) => {
        const t = f.tensors.find((t) => t.name === "b_q")!;
        t.data = Int8Array.from(t.data);
      }),
      /tensor "b_q" must be F32, not 8-bit/,
    ],
    [
      "another scheme",
      edit((f) => {
        f.metadata.quantized = '{"weights":"int4"}';
      }),
      /"quantized" entry \{"weights":"int4"\} is not understood/,
    ],
    [
      "8-bit tensors without the metadata",
      edit((f) => {
        delete f.metadata.quantized;
      }),
      /tensor "W_xh" is 8-bit, but the checkpoint's metadata has no "quantized" entry/,
    ],
  ];
  for (const [what, run, message] of cases) {
    assert.throws(run, (e) => e instanceof CheckpointError && message.test(e.message), what);
  }
  const state: TrainState = { epoch: 1, rngState: [1, 2, 3, 4] };
  await assert.rejects(
    encodeCheckpoint({ model: small, vocab, text, state }),
    /an 8-bit model is for generation: its checkpoint keeps no training state/,
  );
});
