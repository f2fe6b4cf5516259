import assert from "node:assert/strict";
import fc from "fast-check";
import { loadText } from "../io/corpus_files.ts";
import { flatten, normalizeLetters, tokenize } from "./tokenize.ts";
import { Vocab } from "./vocab.ts";

Deno.test("new Vocab() keeps the given index order", () => {
  const vocab = new Vocab(["z", "a", " ", "😀"]);
  assert.equal(vocab.size, 4);
  assert.deepEqual(vocab.tokens, ["z", "a", " ", "😀"]);
  assert.equal(vocab.indexOf("😀"), 3);
  assert.equal(vocab.indexOf("b"), -1);
  assert.equal(vocab.tokenAt(1), "a");
  assert.ok(Object.isFrozen(vocab.tokens));
  assert.equal(new Vocab([]).size, 0);
});

Deno.test("new Vocab() rejects duplicates and non-strings with a TypeError", () => {
  assert.throws(() => new Vocab(["a", "b", "a"]), {
    name: "TypeError",
    message: /"a" is at index 0 and 2/,
  });
  assert.throws(() => new Vocab(["a", 1 as unknown as string]), {
    name: "TypeError",
    message: /token 1 must be a string, got number/,
  });
  assert.throws(() => new Vocab("abc" as unknown as string[]), TypeError);
});

Deno.test("Vocab.fromTokens() orders by frequency, ties by first appearance", () => {
  assert.deepEqual(Vocab.fromTokens(Array.from("abracadabra")).tokens, ["a", "b", "r", "c", "d"]);
  assert.deepEqual(Vocab.fromTokens(["x", "y", "y", "x", "z"]).tokens, ["x", "y", "z"]);
  assert.deepEqual(Vocab.fromTokens(new Set(["q", "p"])).tokens, ["q", "p"]);
  assert.equal(Vocab.fromTokens([]).size, 0);
  assert.throws(() => Vocab.fromTokens(42 as unknown as string[]), TypeError);
  assert.throws(() => Vocab.fromTokens([null as unknown as string]), TypeError);
});

Deno.test("Vocab.fromTokens() is a frequency-sorted bijection (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom("a", "b", "c", "d", "é", "𝄞", " ")), (drawn) => {
      const tokens: string[] = drawn;
      const vocab = Vocab.fromTokens(tokens);
      const count = (t: string) => tokens.filter((x) => x === t).length;
      assert.equal(vocab.size, new Set(tokens).size);
      for (let i = 1; i < vocab.size; i++) {
        const [prev, cur] = [vocab.tokenAt(i - 1), vocab.tokenAt(i)];
        assert.ok(
          count(prev) > count(cur) || (count(prev) === count(cur) &&
            tokens.indexOf(prev) < tokens.indexOf(cur)),
        );
      }
      const indices = vocab.encode(tokens);
      assert.equal(vocab.decode(indices), tokens.join(""));
      for (let i = 0; i < tokens.length; i++) assert.equal(vocab.tokenAt(indices[i]), tokens[i]);
    }),
    { numRuns: 200 },
  );
});

Deno.test("Vocab handles code points outside the BMP as one token", () => {
  const text = "a𝄞b😀a";
  const vocab = Vocab.fromTokens(Array.from(text));
  assert.deepEqual(vocab.tokens, ["a", "𝄞", "b", "😀"]);
  assert.deepEqual(Array.from(vocab.encode(Array.from(text))), [0, 1, 2, 3, 0]);
  assert.equal(vocab.decode([3, 1]), "😀𝄞");
});

Deno.test("Vocab.encode() names every unknown token, quoted, in a UsageError", () => {
  const vocab = new Vocab(["a", "b"]);
  assert.deepEqual(vocab.encode(["b", "a"]), Int32Array.of(1, 0));
  assert.deepEqual(vocab.encode([]), new Int32Array(0));
  assert.throws(() => vocab.encode(["a", "x", "y", "x", "\n"]), {
    name: "UsageError",
    message: /^not in the vocabulary: "x", "y", "\\n"/,
  });
  assert.deepEqual(vocab.missing(["a", "x", "y", "x", "b"]), ["x", "y"]);
  assert.deepEqual(vocab.missing(["a"]), []);
});

Deno.test("Vocab.tokenAt() and decode() reject out-of-range indices with a RangeError", () => {
  const vocab = new Vocab(["a", "b"]);
  for (const i of [-1, 2, 0.5, NaN]) {
    assert.throws(() => vocab.tokenAt(i), { name: "RangeError", message: /\[0, 2\)/ });
  }
  assert.throws(() => vocab.decode([0, 5]), { name: "RangeError", message: /token index 5/ });
  assert.equal(vocab.decode(new Int32Array([1, 0, 1])), "bab");
  assert.equal(vocab.decode([]), "");
});

Deno.test("Vocab.toJSON() and Vocab.fromJSON() round-trip", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string()), (tokens) => {
      const vocab = new Vocab(tokens);
      const back = Vocab.fromJSON(JSON.parse(JSON.stringify(vocab)));
      assert.deepEqual(back.tokens, vocab.tokens);
      assert.deepEqual(vocab.toJSON(), tokens);
    }),
    { numRuns: 100 },
  );
});

Deno.test("Vocab.fromJSON() rejects anything but an array of unique strings with a TypeError", () => {
  for (const bad of [null, undefined, "ab", 3, { tokens: ["a"] }, ["a", 1], ["a", "a"]]) {
    assert.throws(() => Vocab.fromJSON(bad), TypeError, JSON.stringify(bad));
  }
});

Deno.test("Vocab.build() puts <unk> and reserved tokens first, then tokens by frequency", () => {
  const vocab = Vocab.build(Array.from("abracadabra"), { reserved: ["<pad>", "<bos>"] });
  assert.deepEqual(vocab.tokens, ["<unk>", "<pad>", "<bos>", "a", "b", "r", "c", "d"]);
  assert.equal(vocab.unk, 0);
  assert.deepEqual(vocab.tokenFreqs, [["a", 5], ["b", 2], ["r", 2], ["c", 1], ["d", 1]]);
  assert.ok(Object.isFrozen(vocab.tokenFreqs) && Object.isFrozen(vocab.tokenFreqs![0]));
  assert.deepEqual(Vocab.build([]).tokens, ["<unk>"]);
  assert.deepEqual(Vocab.build([], { reserved: ["<eos>"] }).tokens, ["<unk>", "<eos>"]);
});

Deno.test("Vocab.build() flattens token lines and keeps first-appearance order for ties", () => {
  const lines = [["the", "time"], [], ["machine", "the"], ["time"]];
  const vocab = Vocab.build(lines);
  assert.deepEqual(vocab.tokens, ["<unk>", "the", "time", "machine"]);
  assert.deepEqual(Vocab.build(flatten(lines)).tokens, vocab.tokens);
  assert.deepEqual(Vocab.build(new Set([new Set(["z", "y"])])).tokens, ["<unk>", "z", "y"]);
});

Deno.test("Vocab.build() drops tokens rarer than minFreq and never repeats a placed token", () => {
  const tokens = ["a", "b", "a", "<pad>", "c", "b", "a", "<unk>", "<pad>"];
  assert.deepEqual(Vocab.build(tokens, { minFreq: 2 }).tokens, ["<unk>", "a", "b", "<pad>"]);
  assert.deepEqual(Vocab.build(tokens, { minFreq: 3 }).tokens, ["<unk>", "a"]);
  assert.deepEqual(Vocab.build(tokens, { minFreq: 4 }).tokens, ["<unk>"]);
  const reserved = Vocab.build(tokens, { reserved: ["<pad>"], minFreq: 0 });
  assert.deepEqual(reserved.tokens, ["<unk>", "<pad>", "a", "b", "c"]);
  // tokenFreqs lists every counted token, also those left out or already placed.
  assert.deepEqual(Vocab.build(tokens, { minFreq: 3 }).tokenFreqs, [
    ["a", 3],
    ["b", 2],
    ["<pad>", 2],
    ["c", 1],
    ["<unk>", 1],
  ]);
});

Deno.test("Vocab.build() rejects bad tokens and options", () => {
  assert.throws(() => Vocab.build(42 as unknown as string[]), TypeError);
  assert.throws(() => Vocab.build([["a", 1 as unknown as string]]), {
    name: "TypeError",
    message: /token 1 of line 0 must be a string token, got number/,
  });
  assert.throws(() => Vocab.build([null as unknown as string]), TypeError);
  for (const minFreq of [-1, 1.5, NaN, Infinity, "2" as unknown as number]) {
    assert.throws(() => Vocab.build(["a"], { minFreq }), RangeError, String(minFreq));
  }
  assert.throws(() => Vocab.build(["a"], { reserved: ["<unk>"] }), {
    name: "TypeError",
    message: /reserved token 0 is "<unk>"/,
  });
  assert.throws(() => Vocab.build(["a"], { reserved: ["<pad>", "<pad>"] }), {
    name: "TypeError",
    message: /"<pad>" is at index 1 and 2/,
  });
  assert.throws(() => Vocab.build(["a"], { reserved: "<pad>" as unknown as string[] }), TypeError);
});

Deno.test("Vocab.build() matches a direct model of the book's Vocab (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom("a", "b", "c", "d", "<pad>", "<unk>", "𝄞"))),
      fc.nat(4),
      fc.subarray(["<pad>", "<bos>", "a"]),
      (lines, minFreq, reserved) => {
        // The book: Counter, stable sort by count, then ['<unk>'] + reserved + new tokens.
        const flat = lines.flat();
        const counter = new Map<string, number>();
        for (const t of flat) counter.set(t, (counter.get(t) ?? 0) + 1);
        const freqs = [...counter].sort((x, y) => y[1] - x[1]);
        const expected = ["<unk>", ...reserved];
        for (const [t, f] of freqs) if (f >= minFreq && !expected.includes(t)) expected.push(t);
        const vocab = Vocab.build(lines, { minFreq, reserved });
        assert.deepEqual(vocab.tokens, expected);
        assert.deepEqual(vocab.tokenFreqs, freqs);
        const indices = vocab.toIndices(flat);
        for (let i = 0; i < flat.length; i++) {
          assert.equal(indices[i], Math.max(expected.indexOf(flat[i]), 0));
        }
        assert.deepEqual(
          vocab.toTokens(indices),
          flat.map((t) => expected.includes(t) ? t : "<unk>"),
        );
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("Vocab.unk is 0 only when the first token is <unk>, also after JSON", () => {
  const built = Vocab.build(["x", "y"]);
  assert.equal(built.unk, 0);
  const restored = Vocab.fromJSON(JSON.parse(JSON.stringify(built)));
  assert.equal(restored.unk, 0);
  assert.deepEqual(restored.toIndices(["y", "zzz"]), Int32Array.of(2, 0));
  // The JSON form is the token list alone: the counts are not saved.
  assert.deepEqual(JSON.parse(JSON.stringify(built)), ["<unk>", "x", "y"]);
  assert.equal(restored.tokenFreqs, undefined);
  assert.equal(new Vocab(["a", "<unk>"]).unk, undefined);
  assert.equal(Vocab.fromTokens(["a"]).unk, undefined);
  assert.deepEqual(Vocab.fromTokens(["b", "a", "b"]).tokenFreqs, [["b", 2], ["a", 1]]);
  assert.equal(new Vocab(["a"]).tokenFreqs, undefined);
});

Deno.test("Vocab.toIndices() maps unknown tokens to <unk>; without one it names them", () => {
  const built = Vocab.build(["a", "b", "a"]);
  assert.deepEqual(built.toIndices(["b", "q", "a", "<unk>"]), Int32Array.of(2, 0, 1, 0));
  assert.deepEqual(built.toIndices(new Set(["a"])), Int32Array.of(1));
  assert.deepEqual(built.toIndices([]), new Int32Array(0));
  // encode() stays strict, even with <unk> in the vocabulary.
  assert.throws(() => built.encode(["a", "q"]), { name: "UsageError", message: /"q"/ });
  const plain = new Vocab(["a", "b"]);
  assert.deepEqual(plain.toIndices(["b", "a"]), Int32Array.of(1, 0));
  assert.throws(() => plain.toIndices(["a", "x", "y", "x"]), {
    name: "UsageError",
    message: /no "<unk>": "x", "y";/,
  });
});

Deno.test("Vocab.toTokens() inverts toIndices() and rejects out-of-range indices", () => {
  const vocab = Vocab.build(["the", "time", "the"]);
  assert.deepEqual(vocab.toTokens(Int32Array.of(1, 2, 0)), ["the", "time", "<unk>"]);
  assert.deepEqual(vocab.toTokens([]), []);
  assert.throws(() => vocab.toTokens([0, 3]), { name: "RangeError", message: /token index 3/ });
  assert.throws(() => vocab.toTokens([-1]), RangeError);
});

Deno.test({
  name: "Vocab.build() gives the book's figures for The Time Machine",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const lines = normalizeLetters(await loadText("timemachine", { download: false }));
    // load_corpus_time_machine(): characters, lines concatenated without a separator.
    const chars = tokenize(lines, "char");
    const charVocab = Vocab.build(chars);
    assert.equal(charVocab.size, 28);
    assert.deepEqual(charVocab.tokens.slice(0, 6), ["<unk>", " ", "e", "t", "a", "i"]);
    const corpus = charVocab.toIndices(flatten(chars));
    assert.equal(corpus.length, 170580);
    assert.ok(corpus.every((i) => i > 0), "every character is known");
    assert.equal(charVocab.toTokens(corpus.subarray(0, 16)).join(""), "the time machine");

    const words = tokenize(lines, "word");
    const wordVocab = Vocab.build(words);
    assert.equal(wordVocab.size, 4580);
    assert.equal(flatten(words).length, 32775);
    assert.deepEqual(wordVocab.tokenFreqs!.slice(0, 10), [
      ["the", 2261],
      ["i", 1267],
      ["and", 1245],
      ["of", 1155],
      ["a", 816],
      ["to", 695],
      ["was", 552],
      ["in", 541],
      ["that", 443],
      ["my", 440],
    ]);
    assert.deepEqual(wordVocab.tokens.slice(0, 4), ["<unk>", "the", "i", "and"]);
    assert.deepEqual(
      wordVocab.toIndices(["the", "time", "traveller", "xyzzy"]),
      Int32Array.of(1, wordVocab.indexOf("time"), wordVocab.indexOf("traveller"), 0),
    );
  },
});
