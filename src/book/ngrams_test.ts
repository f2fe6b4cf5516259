import assert from "node:assert/strict";
import fc from "fast-check";
import { loadText } from "../io/corpus_files.ts";
import { countNgrams, fitZipf } from "./ngrams.ts";
import { flatten, normalizeLetters, tokenize } from "../text/tokenize.ts";

Deno.test("countNgrams() counts exactly on hand-made corpora", () => {
  const words = "the cat saw the cat and the dog saw the cat".split(" ");
  assert.deepEqual(countNgrams(words, 1), [
    [["the"], 4],
    [["cat"], 3],
    [["saw"], 2],
    [["and"], 1],
    [["dog"], 1],
  ]);
  assert.deepEqual(countNgrams(words, 2), [
    [["the", "cat"], 3],
    [["saw", "the"], 2],
    [["cat", "saw"], 1],
    [["cat", "and"], 1],
    [["and", "the"], 1],
    [["the", "dog"], 1],
    [["dog", "saw"], 1],
  ]);
  assert.deepEqual(countNgrams(words, 3).slice(0, 2), [
    [["saw", "the", "cat"], 2],
    [["the", "cat", "saw"], 1],
  ]);
  assert.deepEqual(countNgrams(words, 11), [[words, 1]]);
  assert.deepEqual(countNgrams(words, 12), []);
  assert.deepEqual(countNgrams([], 1), []);
  assert.deepEqual(countNgrams(["a", "a", "a", "a"], 2), [[["a", "a"], 3]]);
});

Deno.test("countNgrams() breaks ties by first appearance", () => {
  assert.deepEqual(countNgrams(["c", "b", "a", "b", "c", "a"], 1), [
    [["c"], 2],
    [["b"], 2],
    [["a"], 2],
  ]);
  assert.deepEqual(countNgrams(["z", "y", "x", "w"], 2), [
    [["z", "y"], 1],
    [["y", "x"], 1],
    [["x", "w"], 1],
  ]);
});

Deno.test("countNgrams() keeps tokens apart whatever characters they hold", () => {
  // Joined naively, ["a b", "c"] and ["a", "b c"] would be the same key.
  assert.deepEqual(countNgrams(["a b", "c", "a", "b c"], 2), [
    [["a b", "c"], 1],
    [["c", "a"], 1],
    [["a", "b c"], 1],
  ]);
});

Deno.test("countNgrams() rejects a bad n or corpus", () => {
  for (const n of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => countNgrams(["a"], n), { name: "RangeError", message: /n must be/ });
  }
  assert.throws(() => countNgrams("abc" as unknown as string[], 1), TypeError);
  assert.throws(() => countNgrams(["a", 2 as unknown as string], 1), {
    name: "TypeError",
    message: /token 1 must be a string/,
  });
});

Deno.test("countNgrams() counts sum to len - n + 1, sorted, each n-gram once (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("a", "b", "c", " ", "𝄞", "a b")),
      fc.integer({ min: 1, max: 5 }),
      (corpus, n) => {
        const grams = countNgrams(corpus, n);
        const total = grams.reduce((sum, [, c]) => sum + c, 0);
        assert.equal(total, Math.max(corpus.length - n + 1, 0));
        const keys = grams.map(([g]) => JSON.stringify(g));
        assert.equal(new Set(keys).size, keys.length);
        for (let i = 1; i < grams.length; i++) assert.ok(grams[i - 1][1] >= grams[i][1]);
        for (const [gram, count] of grams) {
          assert.equal(gram.length, n);
          let seen = 0;
          for (let i = 0; i + n <= corpus.length; i++) {
            if (corpus.slice(i, i + n).every((t, k) => t === gram[k])) seen++;
          }
          assert.equal(seen, count);
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("fitZipf() returns the exponent of an exact power law to 1e-9", () => {
  for (const alpha of [0.5, 1, 1.37, 2.5]) {
    const counts = Array.from({ length: 2000 }, (_, i) => 1e9 / (i + 1) ** alpha);
    const fit = fitZipf(counts);
    assert.ok(Math.abs(fit.exponent - alpha) < 1e-9, `${fit.exponent} vs ${alpha}`);
    assert.ok(Math.abs(fit.intercept - Math.log(1e9)) < 1e-6);
    assert.deepEqual(fit.ranks, [10, 2000]);
  }
});

Deno.test("fitZipf() sorts the counts and fits ranks firstRank … last count >= minCount", () => {
  const counts = [1, 1, 1, 40, 2, 10, 20, 5, 3];
  assert.deepEqual(fitZipf(counts, { firstRank: 1 }).ranks, [1, 6]);
  assert.deepEqual(fitZipf(counts, { firstRank: 2, minCount: 1 }).ranks, [2, 9]);
  assert.deepEqual(fitZipf(counts, { firstRank: 3, minCount: 5 }).ranks, [3, 4]);
  // Two points: the line through them.
  const two = fitZipf([8, 2], { firstRank: 1 });
  assert.ok(Math.abs(two.exponent - 2) < 1e-12);
  assert.ok(Math.abs(two.intercept - Math.log(8)) < 1e-12);
  // Defaults: ranks 10 … last count >= 2.
  const tail = [...Array.from({ length: 20 }, (_, i) => 100 - i), 1, 1, 1];
  assert.deepEqual(fitZipf(tail).ranks, [10, 20]);
});

Deno.test("fitZipf() rejects bad counts, options, and ranges too short for a line", () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(() => fitZipf([5, bad, 1], { firstRank: 1 }), {
      name: "RangeError",
      message: /count 1 must be a positive finite number/,
    });
  }
  assert.throws(() => fitZipf([5, 3, 1]), { name: "RangeError", message: /too few ranks/ });
  assert.throws(() => fitZipf([5, 1, 1], { firstRank: 1 }), RangeError);
  assert.throws(() => fitZipf([], { firstRank: 1 }), RangeError);
  assert.throws(() => fitZipf([5, 3], { firstRank: 0 }), /firstRank must be/);
  assert.throws(() => fitZipf([5, 3], { minCount: -1 }), /minCount must be/);
  assert.throws(() => fitZipf("12" as unknown as number[]), TypeError);
});

Deno.test({
  name: "countNgrams() gives the book's top unigrams, bigrams and trigrams of The Time Machine",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const text = await loadText("timemachine", { download: false });
    const words = flatten(tokenize(normalizeLetters(text), "word"));
    assert.equal(words.length, 32775);
    const top = (n: number) => countNgrams(words, n).slice(0, 10).map(([g, c]) => [g.join(" "), c]);
    assert.deepEqual(top(1), [
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
    assert.deepEqual(top(2), [
      ["of the", 309],
      ["in the", 169],
      ["i had", 130],
      ["i was", 112],
      ["and the", 109],
      ["the time", 102],
      ["it was", 99],
      ["to the", 85],
      ["as i", 78],
      ["of a", 73],
    ]);
    assert.deepEqual(top(3), [
      ["the time traveller", 59],
      ["the time machine", 30],
      ["the medical man", 24],
      ["it seemed to", 16],
      ["it was a", 15],
      ["here and there", 15],
      ["seemed to me", 14],
      ["i did not", 14],
      ["i saw the", 13],
      ["i began to", 13],
    ]);
    const distinct = [1, 2, 3].map((n) => countNgrams(words, n).length);
    assert.deepEqual(distinct, [4579, 20234, 29882]);
    // Zipf: words follow α ≈ 1; bigrams and trigrams fall more slowly, as the book remarks.
    const alpha = [1, 2, 3].map((n) => fitZipf(countNgrams(words, n).map(([, c]) => c)).exponent);
    assert.ok(alpha[0] > 0.95 && alpha[0] < 1.15, `unigram α ${alpha[0]}`);
    assert.ok(alpha[0] > alpha[1] && alpha[1] > alpha[2] && alpha[2] > 0, `α ${alpha}`);
  },
});
