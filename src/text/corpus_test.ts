import assert from "node:assert/strict";
import { buildCorpus, preprocess } from "./corpus.ts";
import { Vocab } from "./vocab.ts";

Deno.test("preprocess() turns each \\n and \\r into a space and keeps code points", () => {
  assert.deepEqual(preprocess("a\nb\r\nc"), ["a", " ", "b", " ", " ", "c"]);
  assert.deepEqual(preprocess("😀想\n𝄞"), ["😀", "想", " ", "𝄞"]);
  assert.deepEqual(preprocess(""), []);
});

Deno.test("preprocess() keeps the first maxChars code points (default 10000; 0 or Infinity: all)", () => {
  const text = "ab😀".repeat(5000);
  assert.equal(preprocess(text).length, 10000);
  assert.equal(preprocess(text).join(""), "ab😀".repeat(3333) + "a");
  assert.equal(preprocess(text, { maxChars: 0 }).length, 15000);
  assert.equal(preprocess(text, { maxChars: Infinity }).length, 15000);
  assert.deepEqual(preprocess(text, { maxChars: 3 }), ["a", "b", "😀"]);
  assert.deepEqual(preprocess("ab", { maxChars: 5 }), ["a", "b"]);
});

Deno.test("preprocess() rejects bad maxChars with a RangeError and non-text with a TypeError", () => {
  for (const maxChars of [-1, 1.5, NaN, -Infinity]) {
    assert.throws(() => preprocess("abc", { maxChars }), {
      name: "RangeError",
      message: /maxChars must be a non-negative integer or Infinity/,
    });
  }
  assert.throws(() => preprocess(42 as unknown as string), TypeError);
});

Deno.test("buildCorpus() builds the vocabulary by frequency, or encodes with a given one", () => {
  const chars = Array.from("hello world");
  const corpus = buildCorpus(chars);
  assert.deepEqual(corpus.vocab.tokens, ["l", "o", "h", "e", " ", "w", "r", "d"]);
  assert.equal(corpus.vocab.decode(corpus.indices), "hello world");
  // The corpus keeps its tokens as indices only (Corpus lost `chars`), detached from the input,
  // with the text settings of characters as they are, every token given kept.
  assert.deepEqual(Object.keys(corpus).sort(), ["indices", "text", "vocab"]);
  assert.deepEqual(corpus.text, { tokens: "char", normalize: "none", maxTokens: 0, minFreq: 0 });
  assert.deepEqual(corpus.vocab.toTokens(corpus.indices), chars);
  const input = [...chars], fromInput = buildCorpus(input);
  input.fill("l");
  assert.equal(fromInput.vocab.decode(fromInput.indices), "hello world");

  const given = new Vocab(["d", "e", "h", "l", "o", "r", "w", " "]);
  const withGiven = buildCorpus(chars, given);
  assert.equal(withGiven.vocab, given);
  assert.deepEqual(Array.from(withGiven.indices.subarray(0, 3)), [2, 1, 3]);

  assert.throws(() => buildCorpus(Array.from("hello, world!"), given), {
    name: "UsageError",
    message: /not in the vocabulary, which has no "<unk>": ",", "!"/,
  });
  // A vocabulary with <unk> (the English edition's) maps unknown tokens to it.
  const withUnk = Vocab.build(chars);
  assert.deepEqual(
    Array.from(buildCorpus(Array.from("hello, world!"), withUnk).indices),
    Array.from("hello, world!", (c) => (c === "," || c === "!" ? 0 : withUnk.toIndices([c])[0])),
  );
  assert.throws(() => buildCorpus("abc" as unknown as string[]), TypeError);
});
