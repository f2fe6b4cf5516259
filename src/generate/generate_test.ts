import assert from "node:assert/strict";
import fc from "fast-check";
import { createWasmBackend } from "../backend/wasm.ts";
import {
  generate,
  generateBatch,
  generateReadableStream,
  generateStream,
  prefixTokens,
  sampleToken,
} from "./generate.ts";
import {
  carryState,
  type CellType,
  createModel,
  createWorkspace,
  forwardHidden,
  forwardLogits,
  getWeights,
  resetState,
  type RnnModel,
  setWeights,
  weightsChanged,
  writeTokens,
} from "../model/model.ts";
import { Rng } from "../rng.ts";
import { buildCorpus } from "../text/corpus.ts";
import { train } from "../train/train.ts";
import { Vocab } from "../text/vocab.ts";
import type { TextSettings } from "../text/text.ts";

const CHARS = Array.from("分开就不的是我对你想念窗外麻雀在电线杆上多嘴 ");
const charVocab = Vocab.fromTokens(CHARS);
const WORDS: TextSettings = { tokens: "word", normalize: "none" };
const wordVocab = Vocab.build(
  "the time traveller for so it will be convenient to speak".split(" "),
);

/** A model with large random weights, so that its choices vary from step to step. */
function model(cell: CellType = "rnn", layers = 1, vocabSize = charVocab.size): RnnModel {
  return createModel(
    { vocabSize, hidden: 16, activation: "tanh", cell, layers },
    { seed: 3, initScale: 0.6 },
  );
}

/** The greedy loop as it was before sampling existed: the oracle for "greedy is unchanged". */
function greedyOracle(m: RnnModel, vocab: Vocab, prefix: string, length: number): string {
  const tokens = Array.from(vocab.encode(Array.from(prefix)));
  const ws = createWorkspace(m, Math.max(1, tokens.length - 1), 1);
  resetState(m, ws);
  if (tokens.length > 1) {
    writeTokens(m, ws, tokens.slice(0, -1), tokens.length - 1, "inputs");
    forwardHidden(m, ws, tokens.length - 1);
    carryState(m, ws, tokens.length - 1);
  }
  const input = [tokens[tokens.length - 1]];
  const out: string[] = [];
  for (let i = 0; i < length; i++) {
    writeTokens(m, ws, input, 1, "inputs");
    forwardHidden(m, ws, 1);
    const logits = m.backend.read(forwardLogits(m, ws, 1));
    carryState(m, ws, 1);
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    out.push(vocab.tokenAt(best));
    input[0] = best;
  }
  return prefix + out.join("");
}

/** Every cell, one layer and two. */
const CELLS: [CellType, number][] = (["rnn", "gru", "lstm"] as const).flatMap((c) => [
  [c, 1],
  [c, 2],
]);

Deno.test("generate() is greedy by default, exactly as before sampling existed", () => {
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    for (const prefix of ["分", "分开", "不分开的是我"]) {
      assert.equal(
        generate(m, charVocab, prefix, { length: 30 }),
        greedyOracle(m, charVocab, prefix, 30),
      );
    }
  }
});

Deno.test("sampling tends to greedy: T -> 0, topK 1 and a tiny topP give the greedy text", () => {
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    const greedy = generate(m, charVocab, "分开", { length: 30 });
    for (
      const o of [
        { temperature: 1e-9 },
        { temperature: 5e-324 },
        { temperature: 1, topK: 1 },
        { temperature: 2, topP: 1e-9 },
      ]
    ) {
      assert.equal(generate(m, charVocab, "分开", { length: 30, seed: 5, ...o }), greedy);
    }
  }
});

Deno.test("a seed gives the same sample; different seeds give different samples", () => {
  const m = model("gru");
  const o = { length: 40, temperature: 1.5 };
  const a = generate(m, charVocab, "分开", { ...o, seed: 1 });
  assert.equal(generate(m, charVocab, "分开", { ...o, seed: 1 }), a);
  assert.notEqual(generate(m, charVocab, "分开", { ...o, seed: 2 }), a);
  assert.notEqual(a, generate(m, charVocab, "分开", { length: 40 }));
  assert.equal(
    generate(m, charVocab, "分开", o),
    generate(m, charVocab, "分开", { ...o, seed: 0 }),
  );
});

/** Indices of `logits`, most likely first, ties by index. */
function ranked(logits: number[]): number[] {
  return logits.map((_, j) => j).sort((a, b) => logits[b] - logits[a] || a - b);
}

Deno.test("sampleToken() draws only from the top K and from the nucleus", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 40 }),
      fc.double({ min: 0.05, max: 5, noNaN: true }),
      fc.integer({ min: 1, max: 45 }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      fc.integer(),
      (logits, temperature, topK, topP, seed) => {
        const rng = new Rng(seed);
        const order = ranked(logits);
        const kTh = logits[order[Math.min(topK, logits.length) - 1]];
        const k = sampleToken(logits, { temperature, topK }, rng);
        assert.ok(logits[k] >= kTh, `${k} is outside the top ${topK}`);
        // The nucleus: the most likely tokens until their probability reaches topP (float64).
        const w = logits.map((l) => Math.exp((l - logits[order[0]]) / temperature));
        const total = w.reduce((a, b) => a + b, 0);
        let sum = 0, size = 0;
        while (size < order.length && sum < topP * total) sum += w[order[size++]];
        const p = sampleToken(logits, { temperature, topP }, rng);
        assert.ok(order.slice(0, Math.max(1, size)).includes(p), `${p} is outside the nucleus`);
        const g = sampleToken(logits, {}, rng);
        assert.equal(g, order[0]);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("sampleToken() draws in proportion to softmax(logits / T)", () => {
  const rng = new Rng(9), counts = [0, 0, 0];
  const logits = [0, Math.log(3), -Infinity];
  for (let i = 0; i < 8000; i++) counts[sampleToken(logits, { temperature: 1 }, rng)]++;
  assert.equal(counts[2], 0);
  assert.ok(Math.abs(counts[1] / 8000 - 0.75) < 0.02, `${counts}`);
  // T = 2 halves the log-odds: p = sqrt(3) / (1 + sqrt(3)).
  counts.fill(0);
  for (let i = 0; i < 8000; i++) counts[sampleToken(logits, { temperature: 2 }, rng)]++;
  assert.ok(Math.abs(counts[1] / 8000 - Math.sqrt(3) / (1 + Math.sqrt(3))) < 0.02, `${counts}`);
});

Deno.test("every option is checked, and the error names the value", () => {
  const m = model();
  const bad: [object, RegExp][] = [
    [{ temperature: -1 }, /temperature .* -1/],
    [{ temperature: Infinity }, /temperature .* Infinity/],
    [{ temperature: NaN }, /temperature .* NaN/],
    [{ topK: 0 }, /topK .* 0/],
    [{ topK: 1.5 }, /topK .* 1\.5/],
    [{ topP: 0 }, /topP .* 0/],
    [{ topP: 1.01 }, /topP .* 1\.01/],
    [{ length: -1 }, /length .* -1/],
    [{ length: 2.5 }, /length .* 2\.5/],
    [{ seed: 0.5 }, /seed .* 0\.5/],
    [{ stop: [""] }, /stop .*""/],
    [{ unknown: "skip" }, /unknown .*"skip"/],
  ];
  for (const [o, pattern] of bad) {
    assert.throws(
      () => generate(m, charVocab, "分开", o),
      (e) => e instanceof RangeError && pattern.test(e.message),
    );
    assert.throws(() => generateStream(m, charVocab, "分开", o), RangeError);
    assert.throws(() => generateReadableStream(m, charVocab, "分开", o), RangeError);
    assert.throws(() => generateBatch(m, charVocab, ["分开"], o), RangeError);
  }
  assert.throws(
    () => generateStream(m, charVocab, "分开", { yieldEveryMs: -1 }),
    /yieldEveryMs .* -1/,
  );
  assert.throws(() => generateBatch(m, charVocab, []), /at least one prefix/);
  assert.throws(() => sampleToken([], {}, new Rng(0)), /at least one value/);
  assert.throws(() => sampleToken([1], { topP: 2 }, new Rng(0)), /topP .* 2/);
});

Deno.test("stop strings end generation, the stop string kept", () => {
  const m = model("lstm");
  const full = generate(m, charVocab, "分开", { length: 40 });
  const generated = full.slice(2);
  const stop = generated[5];
  const at = generated.indexOf(stop);
  assert.equal(
    generate(m, charVocab, "分开", { length: 40, stop: [stop] }),
    "分开" + generated.slice(0, at + 1),
  );
  // Matched on the generated text only: a prefix ending with the stop string does not stop.
  assert.equal(
    generate(m, charVocab, "分开", { length: 40, stop: ["开"] }).slice(0, 3),
    full.slice(0, 3),
  );
  const two = generated.slice(8, 10);
  const end = generated.indexOf(two) + 2;
  assert.equal(
    generate(m, charVocab, "分开", { length: 40, stop: ["no such", two] }),
    "分开" + generated.slice(0, end),
  );
  assert.equal(generate(m, charVocab, "分开", { length: 40, stop: ["电线杆上多嘴窗外"] }), full);
});

Deno.test("unknown prefix tokens: an error by default, <unk> on request", () => {
  const m = model("rnn", 1, wordVocab.size);
  const o = { length: 6, text: WORDS };
  assert.throws(() => generate(m, wordVocab, "the zebra", o), /lacks: "zebra"/);
  const mapped = generate(m, wordVocab, "the zebra", { ...o, unknown: "unk" });
  const viaUnk = generate(m, wordVocab, "the <unk>", o);
  assert.equal(mapped, "the zebra" + viaUnk.slice("the <unk>".length));
  assert.deepEqual(prefixTokens("the zebra", wordVocab, WORDS, "unk"), ["the", "zebra"]);
  // The Chinese edition's vocabulary has no <unk>: still an error, which says so.
  assert.throws(
    () => generate(model(), charVocab, "分开X", { unknown: "unk" }),
    (e) => e instanceof RangeError && /"X"/.test(e.message) && /no <unk>/.test(e.message),
  );
});

async function collect(pieces: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

Deno.test("generateStream() yields the prefix, then each token: together generate()'s text", async () => {
  const m = model("gru", 2);
  for (const o of [{ length: 25 }, { length: 25, temperature: 1, seed: 4 }, { length: 0 }]) {
    const pieces = await collect(generateStream(m, charVocab, "分开", o));
    assert.equal(pieces[0], "分开");
    assert.equal(pieces.length, 1 + o.length);
    assert.equal(pieces.join(""), generate(m, charVocab, "分开", o));
  }
  const wm = model("lstm", 1, wordVocab.size);
  const o = { length: 5, text: WORDS, stop: ["time"] };
  const words = await collect(generateStream(wm, wordVocab, "the time", o));
  assert.ok(words.slice(1).every((w) => w.startsWith(" ")));
  assert.equal(words.join(""), generate(wm, wordVocab, "the time", o));
});

Deno.test("streams on one model may interleave with each other and with generate()", async () => {
  const m = model("lstm", 2);
  const a = generateStream(m, charVocab, "分开", { length: 20, temperature: 1, seed: 1 });
  const b = generateStream(m, charVocab, "不分开的是我", { length: 20 });
  const got = ["", ""];
  for (let i = 0; i < 21; i++) {
    got[0] += (await a.next()).value;
    generate(m, charVocab, "窗外", { length: 3 });
    generateBatch(m, charVocab, ["窗外", "我"], { length: 3 });
    got[1] += (await b.next()).value;
  }
  assert.equal(got[0], generate(m, charVocab, "分开", { length: 20, temperature: 1, seed: 1 }));
  assert.equal(got[1], generate(m, charVocab, "不分开的是我", { length: 20 }));
});

Deno.test("generation reads the weights as they are now, after they change", () => {
  // A batch of one multiplies by packed copies of the weights; they must follow the model.
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const m = model(cell, 2), other = createModel(m.config, { seed: 9, initScale: 0.6 });
    const before = generate(m, charVocab, "分开", { length: 30 });
    setWeights(m, getWeights(other));
    assert.equal(
      generate(m, charVocab, "分开", { length: 30 }),
      generate(other, charVocab, "分开", { length: 30 }),
    );
    assert.notEqual(before, generate(m, charVocab, "分开", { length: 30 }), cell);
  }
});

Deno.test("generation follows training and hand-written updates, and packs only then", async () => {
  // A batch of one multiplies by packed copies, made again only when the weights change.
  const m = model("lstm", 2), be = m.backend;
  let packs = 0;
  const packWeights = be.packWeights;
  be.packWeights = (...args) => (packs++, packWeights(...args));
  // Sampled text, which any change of a logit can move, from the model and from a twin given its
  // weights now.
  const sample = (x: RnnModel) =>
    generate(x, charVocab, "分开", { length: 60, temperature: 1, seed: 5 });
  const same = (what: string) => {
    const twin = createModel(m.config, { seed: 1 });
    setWeights(twin, getWeights(m));
    assert.equal(sample(m), sample(twin), what);
  };
  const before = sample(m);
  const first = packs;
  assert.ok(first > 0, "the first call packs");
  generate(m, charVocab, "不分开", { length: 5 });
  assert.equal(packs, first, "unchanged weights are not packed again");
  const corpus = buildCorpus(Array.from({ length: 8 }, () => CHARS).flat());
  await train(corpus, {
    model: m,
    epochs: 1,
    batchSize: 2,
    numSteps: 5,
    predEvery: 0,
    lr: 0.5,
    clip: 1,
  });
  assert.notEqual(sample(m), before, "training changed the sample");
  same("after training");
  be.scale(m.params, m.numParams, 0.5);
  weightsChanged(m);
  same("after an update written by hand");
});

Deno.test("generateStream() lets timers run while it generates, and stops on abort", async () => {
  const m = model();
  let piecesWhenTimerRan = -1, pieces = 0;
  setTimeout(() => piecesWhenTimerRan = pieces, 0);
  for await (const _ of generateStream(m, charVocab, "分开", { length: 200, yieldEveryMs: 0 })) {
    pieces++;
  }
  assert.ok(piecesWhenTimerRan >= 0 && piecesWhenTimerRan < 201, `${piecesWhenTimerRan}`);
  const controller = new AbortController();
  const it = generateStream(m, charVocab, "分开", { length: 50, signal: controller.signal });
  await it.next();
  await it.next();
  controller.abort(new Error("enough"));
  await assert.rejects(() => it.next(), /enough/);
});

Deno.test("generateReadableStream() decodes to generate()'s text and can be cancelled", async () => {
  const m = model("gru");
  const o = { length: 30, temperature: 0.7, seed: 3 };
  const text = await new Response(generateReadableStream(m, charVocab, "分开", o)).text();
  assert.equal(text, generate(m, charVocab, "分开", o));

  // Count the logits read back: none may follow the cancel.
  const be = createWasmBackend();
  let reads = 0;
  const counted = createModel(
    { vocabSize: charVocab.size, hidden: 16, activation: "tanh" },
    { backend: { ...be, read: (b) => (reads++, be.read(b)) }, seed: 3, initScale: 0.6 },
  );
  const reader = generateReadableStream(counted, charVocab, "分开", { length: 1000 }).getReader();
  const dec = new TextDecoder();
  let got = dec.decode((await reader.read()).value);
  got += dec.decode((await reader.read()).value);
  got += dec.decode((await reader.read()).value);
  await reader.cancel();
  const after = reads;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(reads, after);
  assert.ok(after < 10, `${after} reads`);
  assert.equal(got, generate(counted, charVocab, "分开", { length: 2 }));
});

Deno.test("generateBatch() equals generate() for each prefix, for every cell and 2 layers", () => {
  const prefixes = ["分开", "不分开的是我", "窗", "分开", "我对你的想念"];
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    const greedy = generateBatch(m, charVocab, prefixes, { length: 25 });
    assert.deepEqual(greedy, prefixes.map((p) => generate(m, charVocab, p, { length: 25 })));
    const o = { length: 25, temperature: 1.2, topK: 8, seed: 10 };
    const sampled = generateBatch(m, charVocab, prefixes, o);
    assert.deepEqual(
      sampled,
      prefixes.map((p, r) => generate(m, charVocab, p, { ...o, seed: 10 + r })),
    );
    // Equal prefixes in one batch still sample differently (seed + r).
    assert.notEqual(sampled[0], sampled[3]);
  }
});

Deno.test("generateBatch() stops each row on its own", () => {
  const m = model("rnn", 2);
  const prefixes = ["分开", "不分开的是我", "窗"];
  const full = generateBatch(m, charVocab, prefixes, { length: 30 });
  const stop = full[0].slice(2)[3];
  const stopped = generateBatch(m, charVocab, prefixes, { length: 30, stop: [stop] });
  prefixes.forEach((p, r) => {
    const gen = full[r].slice(p.length), at = gen.indexOf(stop);
    assert.equal(stopped[r], p + (at < 0 ? gen : gen.slice(0, at + 1)));
  });
});
