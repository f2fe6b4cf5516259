import assert from "node:assert/strict";
import { CorpusError, UsageError } from "../errors.ts";
import { loadText } from "../io/corpus_files.ts";
import { joinTokens, prefixTokens, textCorpus, textTokens, type Tokenization } from "./text.ts";

const CHAR_TEXT: Tokenization = { tokens: "char", normalize: "none" };

const LETTERS_CHAR = { tokens: "char", normalize: "letters" } as const;
const LETTERS_WORD = { tokens: "word", normalize: "letters" } as const;

Deno.test("textTokens() follows the Chinese edition for characters: newlines become spaces", () => {
  assert.deepEqual(textTokens("分开\r\n不", CHAR_TEXT), ["分", "开", " ", " ", "不"]);
  assert.deepEqual(textTokens("a  b\nc", { tokens: "word", normalize: "none" }), ["a", "b", "c"]);
});

Deno.test("textTokens() follows the English edition: letters, lower case, lines joined", () => {
  const text = "The Time Machine, by H. G. Wells [1898]\n\nI\n";
  // read_time_machine strips each line; characters of the lines are joined with no separator.
  assert.equal(textTokens(text, LETTERS_CHAR).join(""), "the time machine by h g wellsi");
  assert.deepEqual(textTokens(text, LETTERS_WORD), [
    "the",
    "time",
    "machine",
    "by",
    "h",
    "g",
    "wells",
    "i",
  ]);
});

Deno.test("textCorpus() gives the English edition <unk> and min-freq, the Chinese none", () => {
  const words = textCorpus("a b a c a b", { ...LETTERS_WORD, minFreq: 2 });
  assert.deepEqual(words.vocab.tokens, ["<unk>", "a", "b"]);
  assert.deepEqual(Array.from(words.indices), [1, 2, 1, 0, 1, 2]);
  // The corpus records the settings it was read with, defaults filled in.
  assert.deepEqual(words.text, { ...LETTERS_WORD, maxTokens: 10000, minFreq: 2 });
  const chars = textCorpus("abca", CHAR_TEXT);
  assert.deepEqual(chars.vocab.tokens, ["a", "b", "c"]);
  assert.deepEqual(chars.text, { ...CHAR_TEXT, maxTokens: 10000, minFreq: 0 });
  assert.throws(() => textCorpus("abd", CHAR_TEXT, chars.vocab), {
    name: "UsageError",
    message: /"d"/,
  });
  assert.equal(textCorpus("abcabc", { ...CHAR_TEXT, maxTokens: 4 }).indices.length, 4);
  assert.throws(() => textCorpus("x", { ...CHAR_TEXT, maxTokens: -1 }), {
    name: "UsageError",
    message: /^maxTokens must be an integer >= 0, got -1$/,
  });
  assert.throws(() => textTokens("x", { tokens: "byte", normalize: "none" } as never), {
    name: "UsageError",
    message: /^tokens must be one of char, word, got "byte"$/,
  });
  // minFreq means something for words only.
  assert.throws(() => textCorpus("a b", { ...CHAR_TEXT, minFreq: 2 }), {
    name: "UsageError",
    message: /minFreq applies to word tokens/,
  });
});

Deno.test("textCorpus() refuses a text with no tokens with a CorpusError", () => {
  const empty = [
    ["", CHAR_TEXT, /the text is empty/],
    [" \r\n\t", CHAR_TEXT, /the text is empty/],
    ["  \n ", LETTERS_WORD, /the text is empty/],
    ["  \n ", { tokens: "word", normalize: "none" }, /the text is empty/],
    ["123 !", LETTERS_CHAR, /the text holds no letters a-z; .* \(normalize "none"\)/],
    ["分开", LETTERS_WORD, /the text holds no letters a-z/],
  ] as const;
  for (const [text, config, message] of empty) {
    assert.throws(() => textCorpus(text, config), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(textCorpus("a", CHAR_TEXT).indices.length, 1);
});

Deno.test("joinTokens() joins words with spaces and characters as they are", () => {
  assert.equal(joinTokens(["time", "traveller"], LETTERS_WORD), "time traveller");
  assert.equal(joinTokens(["分", "开"], CHAR_TEXT), "分开");
});

Deno.test({
  name: "the English edition's Time Machine: 28 character tokens with <unk>, 170580 in the corpus",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const text = await loadText("timemachine", { download: false });
    const chars = textCorpus(text, { ...LETTERS_CHAR, maxTokens: 0 });
    assert.equal(chars.vocab.size, 28);
    assert.equal(chars.vocab.tokens[0], "<unk>");
    assert.equal(chars.indices.length, 170580);
    assert.equal(textCorpus(text, LETTERS_CHAR).indices.length, 10000);
    assert.equal(textCorpus(text, { ...LETTERS_WORD, maxTokens: 0 }).vocab.size, 4580);
  },
});

Deno.test("prefixTokens() reads a prefix as the training text was read, characters as words", () => {
  const letters = textCorpus("The Time Traveller", { tokens: "char", normalize: "letters" });
  const settings = { tokens: "char", normalize: "letters" } as const;
  assert.deepEqual(prefixTokens("The TIME", letters.vocab, settings), Array.from("the time"));
  const words = textCorpus("The Time Traveller", { tokens: "word", normalize: "letters" });
  assert.deepEqual(
    prefixTokens("THE time!", words.vocab, { tokens: "word", normalize: "letters" }),
    ["the", "time"],
  );
  // The Chinese edition keeps every character, newlines read as spaces as in its corpus.
  const chars = textCorpus("分开 不分开");
  assert.deepEqual(prefixTokens("分开\n不", chars.vocab, chars.text), ["分", "开", " ", "不"]);
  assert.throws(() => prefixTokens("!!", letters.vocab, settings), UsageError);
});
