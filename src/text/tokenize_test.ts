import assert from "node:assert/strict";
import fc from "fast-check";
import { loadText } from "../io/corpus_files.ts";
import { flatten, normalizeLetters, tokenize } from "./tokenize.ts";

Deno.test("normalizeLetters() is the book's re.sub('[^A-Za-z]+', ' ', line).strip().lower()", () => {
  assert.deepEqual(normalizeLetters("The Time Machine, by H. G. Wells [1898]"), [
    "the time machine by h g wells",
  ]);
  assert.deepEqual(normalizeLetters("  I.\n\n--It's 1984!--\n"), ["i", "", "it s"]);
  // Only ASCII letters survive: accented and non-Latin letters are separators, as in the book.
  assert.deepEqual(normalizeLetters("Café Zoë 東京 𝄞x"), ["caf zo x"]);
  assert.deepEqual(normalizeLetters("123 ..."), [""]);
});

Deno.test("normalizeLetters() splits lines as Python's readlines() in text mode", () => {
  assert.deepEqual(normalizeLetters(""), []);
  assert.deepEqual(normalizeLetters("a"), ["a"]);
  assert.deepEqual(normalizeLetters("a\n"), ["a"]);
  assert.deepEqual(normalizeLetters("a\n\n"), ["a", ""]);
  assert.deepEqual(normalizeLetters("\n"), [""]);
  assert.deepEqual(normalizeLetters("a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
  assert.deepEqual(normalizeLetters("a\r\n\r\n"), ["a", ""]);
  // U+2028 is a line break for str.splitlines() but not for reading a file: it is a separator.
  assert.deepEqual(normalizeLetters("a\u2028b"), ["a b"]);
  assert.throws(() => normalizeLetters(3 as unknown as string), TypeError);
});

Deno.test("normalizeLetters() output holds only a-z and single inner spaces (property)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), (text) => {
      const lines = normalizeLetters(text);
      for (const line of lines) assert.match(line, /^(?:[a-z]+(?: [a-z]+)*)?$/);
      // The letters are those of the text, in order, lowercased.
      assert.equal(
        lines.join("").replaceAll(" ", ""),
        text.replace(/[^A-Za-z]/g, "").toLowerCase(),
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("tokenize() splits words as Python's str.split() and characters as list()", () => {
  assert.deepEqual(tokenize(["the time  machine", "", " i "], "word"), [
    ["the", "time", "machine"],
    [],
    ["i"],
  ]);
  assert.deepEqual(tokenize(["ab c"]), [["ab", "c"]], "word is the default");
  // Python's whitespace: \x1c-\x1f and \x85 split, U+FEFF does not.
  assert.deepEqual(tokenize(["a\x1cb\x85c\u3000d\ufeffe\tf"], "word"), [[
    "a",
    "b",
    "c",
    "d\ufeffe",
    "f",
  ]]);
  assert.deepEqual(tokenize(["ab c", ""], "char"), [["a", "b", " ", "c"], []]);
  assert.deepEqual(tokenize(["é𝄞😀"], "char"), [["é", "𝄞", "😀"]]);
});

Deno.test("tokenize() rejects wrong inputs with a TypeError", () => {
  assert.throws(() => tokenize("abc" as unknown as string[]), {
    name: "TypeError",
    message: /needs an array of lines/,
  });
  assert.throws(() => tokenize(["a"], "line" as "word"), {
    name: "TypeError",
    message: /kind must be "word" or "char", got "line"/,
  });
  assert.throws(() => tokenize(["a", 1 as unknown as string]), {
    name: "TypeError",
    message: /line 1 must be a string, got number/,
  });
});

Deno.test("flatten() concatenates lines without a separator (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme" })), (lines) => {
      assert.equal(flatten(tokenize(lines, "char")).join(""), lines.join(""));
      assert.deepEqual(flatten(tokenize(lines, "word")), lines.flatMap((l) => tokenize([l])[0]));
    }),
    { numRuns: 100 },
  );
  assert.deepEqual(flatten([]), []);
  assert.deepEqual(flatten(new Set([["a"], ["b", "c"]])), ["a", "b", "c"]);
});

Deno.test({
  name: "normalizeLetters() gives the book's 3221 lines of The Time Machine",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const lines = normalizeLetters(await loadText("timemachine", { download: false }));
    assert.equal(lines.length, 3221);
    assert.equal(lines[0], "the time machine by h g wells");
    assert.equal(lines[10], "twinkled and his usually pale face was flushed and animated the");
  },
});
