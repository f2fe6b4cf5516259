/**
 * Text preprocessing of Dive into Deep Learning ("Text Preprocessing", 2nd edition): reduce a
 * text to lowercase letters and spaces line by line, then split each line into word or character
 * tokens. Pure functions; no permissions needed.
 *
 * @example The book's pipeline on a short text
 * ```ts
 * import { flatten, normalizeLetters, tokenize } from "./tokenize.ts";
 * const lines = normalizeLetters("The Time Machine, by H. G. Wells [1898]\n\nI\n");
 * console.log(lines); // ["the time machine by h g wells", "", "i"]
 * console.log(flatten(tokenize(lines, "word")).length); // 8
 * ```
 *
 * @module
 */

/** The kinds of token {@linkcode tokenize} produces: whole words or single characters. */
export type TokenKind = "word" | "char";

// Python's universal newlines, as `open(...).readlines()` in text mode splits a file.
const LINE_BREAK = /\r\n|\r|\n/;
// The characters Python's `str.isspace()` accepts, so that `split()` below is `line.split()`:
// JavaScript's `\s` minus U+FEFF, plus U+001C–U+001F and U+0085. The control characters are
// meant: Python splits at them.
// deno-lint-ignore no-control-regex
const PY_WHITESPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * The book's `read_time_machine` applied to a text: for each line,
 * `re.sub('[^A-Za-z]+', ' ', line).strip().lower()`. Every run of characters other than the
 * ASCII letters A–Z and a–z (digits, punctuation, accented and non-Latin letters alike) becomes
 * one space, leading and trailing spaces go, and the rest is lowercased.
 *
 * Lines are split as Python reads a text file: at `"\n"`, `"\r\n"` and `"\r"`; a final line
 * break does not start another line. Lines left empty stay, as empty strings, so the result has
 * one entry per line of the text.
 *
 * @param text The raw text, e.g. from `loadText("timemachine")`.
 * @returns One string per line, holding only `a`–`z` and single spaces.
 * @example Only ASCII letters survive
 * ```ts
 * import { normalizeLetters } from "./tokenize.ts";
 * console.log(normalizeLetters("Café, 1984!\r\n\r\nNaïve")); // ["caf", "", "na ve"]
 * ```
 */
export function normalizeLetters(text: string): string[] {
  if (typeof text !== "string") {
    throw new TypeError(`normalizeLetters() needs the text as a string, got ${kindOf(text)}`);
  }
  return splitLines(text).map((line) => line.replace(/[^A-Za-z]+/g, " ").trim().toLowerCase());
}

/**
 * Splits a text into lines as Python's `readlines()` does: at `\n`, `\r\n` or `\r`, with no empty
 * line after a final line break.
 *
 * @param text The text.
 * @returns Its lines, without their line breaks.
 * @example Three lines
 * ```ts
 * import { splitLines } from "./tokenize.ts";
 * console.log(splitLines("分开\r\n\n不分开\n")); // ["分开", "", "不分开"]
 * ```
 */
export function splitLines(text: string): string[] {
  const lines = text.split(LINE_BREAK);
  // "a\n" is one line in Python, not "a" and "".
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Splits each line into tokens, as the book's `tokenize(lines, token)`: `"word"` splits at runs
 * of whitespace (Python's `line.split()`, so no empty tokens), `"char"` splits into Unicode code
 * points (Python's `list(line)`; a character outside the Basic Multilingual Plane stays whole,
 * and spaces are tokens too).
 *
 * @param lines The lines, e.g. from {@linkcode normalizeLetters}.
 * @param kind `"word"` (the book's default) or `"char"`.
 * @returns One array of tokens per line (an empty line gives an empty array).
 * @example Words and characters
 * ```ts
 * import { tokenize } from "./tokenize.ts";
 * console.log(tokenize(["the time  machine"], "word")); // [["the", "time", "machine"]]
 * console.log(tokenize(["a 𝄞"], "char")); // [["a", " ", "𝄞"]]
 * ```
 */
export function tokenize(lines: readonly string[], kind: TokenKind = "word"): string[][] {
  if (!Array.isArray(lines)) {
    throw new TypeError(
      `tokenize() needs an array of lines, got ${kindOf(lines)}; split a text with ` +
        "normalizeLetters() first",
    );
  }
  if (kind !== "word" && kind !== "char") {
    throw new TypeError(`tokenize(): kind must be "word" or "char", got ${JSON.stringify(kind)}`);
  }
  return lines.map((line, i) => {
    if (typeof line !== "string") {
      throw new TypeError(`tokenize(): line ${i} must be a string, got ${kindOf(line)}`);
    }
    return kind === "char" ? Array.from(line) : line.split(PY_WHITESPACE).filter((t) => t !== "");
  });
}

/**
 * Concatenates the lines of tokens into one token sequence, with no separator between lines, as
 * the book's `[token for line in tokens for token in line]`.
 *
 * @param lines Token lines, e.g. from {@linkcode tokenize}.
 * @returns All tokens in order.
 * @example Lines joined without a separator
 * ```ts
 * import { flatten, tokenize } from "./tokenize.ts";
 * console.log(flatten(tokenize(["ab", "c"], "char")).join("")); // "abc"
 * ```
 */
export function flatten(lines: Iterable<Iterable<string>>): string[] {
  const out: string[] = [];
  // A loop, not push(...line): a long line would overflow the argument stack.
  for (const line of lines) for (const token of line) out.push(token);
  return out;
}

/** Names the kind of a value for a TypeError message. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
