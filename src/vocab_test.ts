import assert from "node:assert/strict";
import fc from "fast-check";
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

Deno.test("Vocab.encode() names every unknown token, quoted, in a RangeError", () => {
  const vocab = new Vocab(["a", "b"]);
  assert.deepEqual(vocab.encode(["b", "a"]), Int32Array.of(1, 0));
  assert.deepEqual(vocab.encode([]), new Int32Array(0));
  assert.throws(() => vocab.encode(["a", "x", "y", "x", "\n"]), {
    name: "RangeError",
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
