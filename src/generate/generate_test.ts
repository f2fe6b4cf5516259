import assert from "node:assert/strict";
import fc from "fast-check";
import type { Backend, CellKind } from "../backend/types.ts";
import { createWasmBackend } from "../backend/wasm.ts";
import { UsageError } from "../errors.ts";
import {
  carryState,
  forwardHidden,
  forwardLogits,
  resetState,
  writeTokens,
} from "../model/forward.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import { createWorkspace } from "../model/workspace.ts";
import { Rng } from "../rng.ts";
import { buildCorpus } from "../text/corpus.ts";
import { prefixTokens, type Tokenization } from "../text/text.ts";
import { Vocab } from "../text/vocab.ts";
import { train } from "../train/train.ts";
import { generate, generateBatch, generateReadableStream, generateStream } from "./generate.ts";
import { sampleToken } from "./sample.ts";

const CHARS = Array.from("分开就不的是我对你想念窗外麻雀在电线杆上多嘴 ");
const charVocab = Vocab.fromTokens(CHARS);
const WORDS: Tokenization = { tokens: "word", normalize: "none" };
const wordVocab = Vocab.build(
  "the time traveller for so it will be convenient to speak".split(" "),
);

/** A model with large random weights, so that its choices vary from step to step. */
function model(
  cell: CellKind = "rnn",
  layers = 1,
  vocabSize = charVocab.size,
  backend?: Backend,
): RnnModel {
  return createModel(
    { vocabSize, hidden: 16, activation: "tanh", cell, layers },
    { seed: 3, initScale: 0.6, backend },
  );
}

/** The greedy loop as it was before sampling existed: the oracle for "greedy is unchanged". */
async function greedyOracle(
  m: RnnModel,
  vocab: Vocab,
  prefix: string,
  length: number,
): Promise<string> {
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
    const logits = await m.backend.read(forwardLogits(m, ws, 1));
    carryState(m, ws, 1);
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
    out.push(vocab.tokenAt(best));
    input[0] = best;
  }
  ws.free();
  return prefix + out.join("");
}

/** Every cell, one layer and two. */
const CELLS: [CellKind, number][] = (["rnn", "gru", "lstm"] as const).flatMap((c) => [
  [c, 1],
  [c, 2],
]);

Deno.test("generate() is greedy by default, exactly as before sampling existed", async () => {
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    for (const prefix of ["分", "分开", "不分开的是我"]) {
      assert.equal(
        await generate(m, charVocab, prefix, { length: 30 }),
        await greedyOracle(m, charVocab, prefix, 30),
      );
    }
  }
});

Deno.test("generate() gives the texts it gave before the Backend v2 port, greedy and sampled", async () => {
  // Recorded with the synchronous generate() of commit 1768885 on the same models and seeds.
  const cases: [CellKind, number, string, object, string][] = [
    [
      "rnn",
      1,
      "分开",
      { length: 30 },
      "分开我嘴外想不雀在我杆外杆我在电杆外杆雀你你嘴分想我不外不多在你",
    ],
    ["gru", 2, "不分开的是我", { length: 30 }, "不分开的是我我 不    分    分    分    分   分   "],
    [
      "lstm",
      2,
      "分",
      { length: 30 },
      "分念念念念念念念念上上上杆杆线线就就就就就就多多在在在在雀不不",
    ],
    [
      "rnn",
      2,
      "分开",
      { length: 40, temperature: 1.5, seed: 1 },
      "分开的开我是对上分线对上就的是是线外麻外开麻线麻是外是就开在嘴在是想 外是就麻电你窗",
    ],
    [
      "gru",
      1,
      "不分开的是我",
      { length: 40, temperature: 1.5, seed: 1 },
      "不分开的是我不开窗你电嘴的 电多开开的的线你在杆不电嘴念对雀念的不线多嘴念念 雀念开上线的外",
    ],
    [
      "lstm",
      2,
      "分开",
      { length: 40, temperature: 0.7, seed: 3, topK: 5, topP: 0.9 },
      "分开开开  分外 的外念外外 嘴 对对对开外外 嘴嘴嘴外对对对对多多多多多在想上电电",
    ],
  ];
  for (const [cell, layers, prefix, options, text] of cases) {
    assert.equal(await generate(model(cell, layers), charVocab, prefix, options), text);
  }
  assert.deepEqual(
    await generateBatch(
      model("gru", 2),
      charVocab,
      ["分开", "不分开的是我", "窗", "分开", "我对你的想念"],
      { length: 25, temperature: 1.2, topK: 8, seed: 10 },
    ),
    [
      "分开麻外你不外开开对窗你开外开外对是是是我嘴线线开开在",
      "不分开的是我就分多不雀杆分雀杆念的想我的我 线杆我  多 不在",
      "窗  我的不 线就就分 线线念线  我线 想 不  ",
      "分开雀外上开嘴外是是雀麻线线电电开念开的麻不麻开窗麻不",
      "我对你的想念麻 多 分的不对  分线我 不就 多 不 你我线 ",
    ],
  );
});

Deno.test("sampling tends to greedy: T -> 0, topK 1 and a tiny topP give the greedy text", async () => {
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    const greedy = await generate(m, charVocab, "分开", { length: 30 });
    for (
      const o of [
        { temperature: 1e-9 },
        { temperature: 5e-324 },
        { temperature: 1, topK: 1 },
        { temperature: 2, topP: 1e-9 },
      ]
    ) {
      assert.equal(await generate(m, charVocab, "分开", { length: 30, seed: 5, ...o }), greedy);
    }
  }
});

Deno.test("a seed gives the same sample; different seeds give different samples", async () => {
  const m = model("gru");
  const o = { length: 40, temperature: 1.5 };
  const a = await generate(m, charVocab, "分开", { ...o, seed: 1 });
  assert.equal(await generate(m, charVocab, "分开", { ...o, seed: 1 }), a);
  assert.notEqual(await generate(m, charVocab, "分开", { ...o, seed: 2 }), a);
  assert.notEqual(a, await generate(m, charVocab, "分开", { length: 40 }));
  assert.equal(
    await generate(m, charVocab, "分开", o),
    await generate(m, charVocab, "分开", { ...o, seed: 0 }),
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

Deno.test("every option is checked, and the error names the value", async () => {
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
    // The whole text is kept, so its length is bounded.
    [{ length: 1e6 + 1 }, /length must be an integer from 0 to 1000000, got 1000001/],
    [{ seed: 0.5 }, /seed .* 0\.5/],
    [{ stop: [""] }, /stop .*""/],
    [{ unknown: "skip" }, /unknown .*"skip"/],
  ];
  const named = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    return true;
  };
  for (const [o, pattern] of bad) {
    await assert.rejects(generate(m, charVocab, "分开", o), named(pattern));
    // The streams check their options when called, before anything runs.
    assert.throws(() => generateStream(m, charVocab, "分开", o), named(pattern));
    assert.throws(() => generateReadableStream(m, charVocab, "分开", o), named(pattern));
    await assert.rejects(generateBatch(m, charVocab, ["分开"], o), named(pattern));
  }
  assert.throws(
    () => generateStream(m, charVocab, "分开", { yieldEveryMs: -1 }),
    named(/yieldEveryMs .* -1/),
  );
  await assert.rejects(generateBatch(m, charVocab, []), named(/at least one prefix/));
  assert.throws(() => sampleToken([], {}, new Rng(0)), named(/at least one value/));
  assert.throws(() => sampleToken([1], { topP: 2 }, new Rng(0)), named(/topP .* 2/));
});

Deno.test("stop strings end generation, the stop string kept", async () => {
  const m = model("lstm");
  const full = await generate(m, charVocab, "分开", { length: 40 });
  const generated = full.slice(2);
  const stop = generated[5];
  const at = generated.indexOf(stop);
  assert.equal(
    await generate(m, charVocab, "分开", { length: 40, stop: [stop] }),
    "分开" + generated.slice(0, at + 1),
  );
  // Matched on the generated text only: a prefix ending with the stop string does not stop.
  assert.equal(
    (await generate(m, charVocab, "分开", { length: 40, stop: ["开"] })).slice(0, 3),
    full.slice(0, 3),
  );
  const two = generated.slice(8, 10);
  const end = generated.indexOf(two) + 2;
  assert.equal(
    await generate(m, charVocab, "分开", { length: 40, stop: ["no such", two] }),
    "分开" + generated.slice(0, end),
  );
  assert.equal(
    await generate(m, charVocab, "分开", { length: 40, stop: ["电线杆上多嘴窗外"] }),
    full,
  );
});

Deno.test("unknown prefix tokens: an error by default, <unk> on request", async () => {
  const m = model("rnn", 1, wordVocab.size);
  const o = { length: 6, text: WORDS };
  await assert.rejects(generate(m, wordVocab, "the zebra", o), {
    name: "UsageError",
    message: /lacks: "zebra"/,
  });
  const mapped = await generate(m, wordVocab, "the zebra", { ...o, unknown: "unk" });
  const viaUnk = await generate(m, wordVocab, "the <unk>", o);
  assert.equal(mapped, "the zebra" + viaUnk.slice("the <unk>".length));
  assert.deepEqual(prefixTokens("the zebra", wordVocab, WORDS, "unk"), ["the", "zebra"]);
  // The Chinese edition's vocabulary has no <unk>: still an error, which says so.
  await assert.rejects(
    generate(model(), charVocab, "分开X", { unknown: "unk" }),
    (e) => e instanceof UsageError && /"X"/.test(e.message) && /no <unk>/.test(e.message),
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
    assert.equal(pieces.join(""), await generate(m, charVocab, "分开", o));
  }
  const wm = model("lstm", 1, wordVocab.size);
  const o = { length: 5, text: WORDS, stop: ["time"] };
  const words = await collect(generateStream(wm, wordVocab, "the time", o));
  assert.ok(words.slice(1).every((w) => w.startsWith(" ")));
  assert.equal(words.join(""), await generate(wm, wordVocab, "the time", o));
});

Deno.test("streams on one model may interleave with each other and with generate()", async () => {
  const m = model("lstm", 2);
  const a = generateStream(m, charVocab, "分开", { length: 20, temperature: 1, seed: 1 });
  const b = generateStream(m, charVocab, "不分开的是我", { length: 20 });
  const got = ["", ""];
  const side = [await generate(m, charVocab, "窗外", { length: 3 })];
  side.push(...await generateBatch(m, charVocab, ["窗外", "我"], { length: 3 }));
  for (let i = 0; i < 21; i++) {
    got[0] += (await a.next()).value;
    assert.equal(await generate(m, charVocab, "窗外", { length: 3 }), side[0]);
    assert.deepEqual(
      await generateBatch(m, charVocab, ["窗外", "我"], { length: 3 }),
      side.slice(1),
    );
    got[1] += (await b.next()).value;
  }
  assert.equal(
    got[0],
    await generate(m, charVocab, "分开", { length: 20, temperature: 1, seed: 1 }),
  );
  assert.equal(got[1], await generate(m, charVocab, "不分开的是我", { length: 20 }));
});

Deno.test("generations on one model may run at the same time, each with its own text", async () => {
  // generate() is asynchronous now: calls started together interleave their steps.
  const m = model("gru", 2);
  const calls = [
    () => generate(m, charVocab, "分开", { length: 30 }),
    () => generate(m, charVocab, "不分开的是我", { length: 30, temperature: 1, seed: 2 }),
    () => generateBatch(m, charVocab, ["窗外", "我", "窗外"], { length: 20, temperature: 0.8 }),
    () => generate(m, charVocab, "分", { length: 0 }),
  ];
  const alone = [];
  for (const call of calls) alone.push(await call());
  assert.deepEqual(await Promise.all(calls.map((call) => call())), alone);
});

Deno.test("generation reads the weights as they are now, after they change", async () => {
  // Generation multiplies by packed copies of the weights; they must follow the model.
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const m = model(cell, 2), other = createModel(m.config, { seed: 9, initScale: 0.6 });
    const before = await generate(m, charVocab, "分开", { length: 30 });
    m.setWeights(await other.getWeights());
    assert.equal(
      await generate(m, charVocab, "分开", { length: 30 }),
      await generate(other, charVocab, "分开", { length: 30 }),
    );
    assert.notEqual(before, await generate(m, charVocab, "分开", { length: 30 }), cell);
  }
});

Deno.test("generation follows training and hand-written updates, and packs only then", async () => {
  // Generation multiplies by packed copies that the model owns and makes again only when its
  // weights changed (model.version): count the packing through a wrapping backend.
  const inner = createWasmBackend();
  let packs = 0;
  const counting: Backend = {
    ...inner,
    packWeights: (...args) => (packs++, inner.packWeights(...args)),
  };
  const m = model("lstm", 2, charVocab.size, counting), be = m.backend;
  // W_hh of each of the 2 layers and W_hq.
  const perPacking = 3;
  // Sampled text, which any change of a logit can move, from the model and from a twin given its
  // weights now.
  const sample = (x: RnnModel) =>
    generate(x, charVocab, "分开", { length: 60, temperature: 1, seed: 5 });
  const same = async (what: string) => {
    const twin = createModel(m.config, { seed: 1 });
    twin.setWeights(await m.getWeights());
    assert.equal(await sample(m), await sample(twin), what);
    twin.dispose();
  };
  /** Asserts generation packs once after a change and not again while the version holds. */
  const packsOnce = async (what: string) => {
    const from = packs, version = m.version;
    await sample(m);
    assert.equal(packs, from + perPacking, `${what}: the next generation packs`);
    await generate(m, charVocab, "不分开", { length: 5 });
    await generateBatch(m, charVocab, ["窗外", "我"], { length: 5, temperature: 1 });
    for await (const _ of generateStream(m, charVocab, "分开", { length: 5 }));
    assert.equal(packs, from + perPacking, `${what}: unchanged weights are not packed again`);
    assert.equal(m.version, version, `${what}: generation leaves the version alone`);
  };

  const before = await sample(m);
  assert.equal(packs, perPacking, "the first call packs");
  await generate(m, charVocab, "不分开", { length: 5 });
  assert.equal(packs, perPacking, "unchanged weights are not packed again");

  const corpus = buildCorpus(Array.from({ length: 8 }, () => CHARS).flat());
  assert.equal(corpus.vocab.size, charVocab.size);
  let version = m.version;
  await train(corpus, {
    model: m,
    epochs: 1,
    batchSize: 2,
    numSteps: 5,
    predEvery: 0,
    lr: 0.5,
    clip: 1,
  });
  assert.ok(m.version > version, "training moves the version on");
  await packsOnce("after training");
  assert.notEqual(await sample(m), before, "training changed the sample");
  await same("after training");

  const other = createModel(m.config, { seed: 9, initScale: 0.6 });
  version = m.version;
  m.setWeights(await other.getWeights());
  assert.ok(m.version > version, "setWeights moves the version on");
  await packsOnce("after setWeights");
  assert.equal(await sample(m), await sample(other), "after setWeights");
  await same("after setWeights");

  // An update written by hand with kernels, as an optimizer would: halve every weight.
  version = m.version;
  be.copy(m.grads, m.params);
  m.changeWeights(() => be.sgdUpdate(m.params, m.grads, m.numParams, 0.5));
  assert.ok(m.version > version, "changeWeights moves the version on");
  await packsOnce("after an update written by hand");
  await same("after an update written by hand");
  m.dispose();
  other.dispose();
  inner.dispose();
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
  assert.equal(text, await generate(m, charVocab, "分开", o));

  // Count what is read back (greedy steps read each row's choice, sampled ones the logits): no
  // read may follow the cancel.
  const be = createWasmBackend();
  let reads = 0;
  const counting: Backend = {
    ...be,
    read: (...args) => (reads++, be.read(...args)),
    readIndices: (...args) => (reads++, be.readIndices(...args)),
    readScalars: (...args) => (reads++, be.readScalars(...args)),
  };
  const counted = createModel(
    { vocabSize: charVocab.size, hidden: 16, activation: "tanh" },
    { backend: counting, seed: 3, initScale: 0.6 },
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
  assert.ok(after > 0 && after < 10, `${after} reads`);
  assert.equal(got, await generate(counted, charVocab, "分开", { length: 2 }));
});

Deno.test("generateBatch() equals generate() for each prefix, for every cell and 2 layers", async () => {
  const prefixes = ["分开", "不分开的是我", "窗", "分开", "我对你的想念"];
  for (const [cell, layers] of CELLS) {
    const m = model(cell, layers);
    const greedy = await generateBatch(m, charVocab, prefixes, { length: 25 });
    const one = [];
    for (const p of prefixes) one.push(await generate(m, charVocab, p, { length: 25 }));
    assert.deepEqual(greedy, one);
    const o = { length: 25, temperature: 1.2, topK: 8, seed: 10 };
    const sampled = await generateBatch(m, charVocab, prefixes, o);
    const oneSampled = [];
    for (const [r, p] of prefixes.entries()) {
      oneSampled.push(await generate(m, charVocab, p, { ...o, seed: 10 + r }));
    }
    assert.deepEqual(sampled, oneSampled);
    // Equal prefixes in one batch still sample differently (seed + r).
    assert.notEqual(sampled[0], sampled[3]);
  }
});

Deno.test("generateBatch() stops each row on its own", async () => {
  const m = model("rnn", 2);
  const prefixes = ["分开", "不分开的是我", "窗"];
  const full = await generateBatch(m, charVocab, prefixes, { length: 30 });
  const stop = full[0].slice(2)[3];
  const stopped = await generateBatch(m, charVocab, prefixes, { length: 30, stop: [stop] });
  prefixes.forEach((p, r) => {
    const gen = full[r].slice(p.length), at = gen.indexOf(stop);
    assert.equal(stopped[r], p + (at < 0 ? gen : gen.slice(0, at + 1)));
  });
});
