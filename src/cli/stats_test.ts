import assert from "node:assert/strict";
import { CorpusError, DataError, UsageError } from "../errors.ts";
import { runStats } from "./stats.ts";

/** Runs `stats` with the console captured; returns the exit code, stdout and stderr. */
async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [], errors: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => lines.push(parts.map(String).join(" "));
  console.error = (...parts: unknown[]) => errors.push(parts.map(String).join(" "));
  try {
    const code = await runStats(args);
    return { code, out: lines.join("\n"), err: errors.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

Deno.test({
  name: "runStats() prints the book's figures for The Time Machine and writes zipf.svg",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/figures/new`;
      const { code, out: text } = await capture(["--out", out]);
      assert.equal(code, 0);
      assert.match(text, /^timemachine: 3221 lines/);
      assert.match(text, /^char +28 +170580$/m);
      assert.match(text, /^word +4580 +32775$/m);
      for (
        const row of [
          /^ +1 +2261 +the$/m,
          /^ +10 +440 +my$/m,
          /^ +1 +309 +of the$/m,
          /^ +10 +73 +of a$/m,
          /^ +1 +59 +the time traveller$/m,
          /^ +10 +13 +i began to$/m,
        ]
      ) {
        assert.match(text, row);
      }
      assert.match(text, /unigram +α = 1\.039 +\(ranks 10–2182 of 4579\)/);
      assert.match(text, /bigram +α = 0\.652 +\(ranks 10–3609 of 20234\)/);
      assert.match(text, /trigram +α = 0\.379 +\(ranks 10–1631 of 29882\)/);
      assert.match(text, /wrote .*figures\/new\/zipf\.svg$/);

      const svg = await Deno.readTextFile(`${out}/zipf.svg`);
      assert.match(svg, /^<svg/);
      for (const label of ["token: x", "frequency: n(x)", "unigram", "bigram", "trigram"]) {
        assert.ok(svg.includes(`>${label}<`), `the SVG lacks ${label}`);
      }
      assert.equal(svg.match(/<path class="series"/g)?.length, 3);
      // Log axes: ticks at powers of ten up to the distinct trigrams (29882).
      assert.ok(svg.includes(">10,000<"));
      assert.deepEqual(
        [...Deno.readDirSync(out)].map((e) => e.name),
        ["zipf.svg"],
        "no temporary file is left behind",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runStats() --json --tokens char reports the character statistics",
  ignore: !Deno.env.get("RNN_DATA_DIR"),
  fn: async () => {
    const { code, out } = await capture(["--json", "--tokens", "char", "--top", "3"]);
    assert.equal(code, 0);
    const report = JSON.parse(out);
    assert.deepEqual(report.char, { vocab: 28, length: 170580 });
    assert.deepEqual(report.word, { vocab: 4580, length: 32775 });
    assert.equal(report.tokens, "char");
    assert.deepEqual(report.ngrams.unigram.top[0], { gram: [" "], count: 29927 });
    assert.deepEqual(report.ngrams.trigram.top.map((r: { gram: string[] }) => r.gram.join("")), [
      " th",
      "the",
      "he ",
    ]);
    assert.equal(report.ngrams.unigram.distinct, 27);
    assert.equal(report.normalize, "letters");
    assert.ok(!("svg" in report), "no figure, no svg key");
  },
});

Deno.test("runStats() works on a small text file without RNN_DATA_DIR", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tiny.txt`;
    await Deno.writeTextFile(path, "The cat saw the dog.\r\n\r\nThe dog saw THE cat!\n");
    const { code, out } = await capture(["--corpus", path, "--top", "2", "--out", dir]);
    assert.equal(code, 0);
    assert.match(out, /tiny\.txt: 3 lines/);
    assert.match(out, /^char +12 +38$/m);
    assert.match(out, /^word +5 +10$/m);
    assert.match(out, /top 2 unigrams \(word tokens; 4 distinct\):\n +1 +4 +the\n +2 +2 +cat\n/);
    assert.match(
      out,
      /top 2 bigrams \(word tokens; 6 distinct\):\n +1 +2 +the cat\n +2 +2 +saw the\n/,
    );
    // Four distinct words leave no rank 10 to fit from: said, not thrown.
    assert.match(out, /unigram +α not fitted: a line needs 2 ranks .*; this text has 0$/m);
    assert.ok((await Deno.readTextFile(`${dir}/zipf.svg`)).includes(">trigram<"));

    const json = JSON.parse((await capture(["--corpus", path, "--json", "--top", "1"])).out);
    assert.deepEqual(json.ngrams.trigram.top, [{ gram: ["the", "cat", "saw"], count: 1 }]);
    assert.ok(!("zipf" in json.ngrams.bigram), "no fit, no zipf key (never null)");
    assert.match(json.ngrams.bigram.zipfProblem, /a line needs 2 ranks/);
    assert.equal(json.lines, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStats() rejects bad flags with a UsageError", async () => {
  for (
    const [args, message] of [
      [["--top", "x"], /--top must be an integer >= 0, got "x"/],
      [["--top", "-1"], /--top/],
      [["--tokens", "line"], /--tokens must be one of word, char, got "line"/],
      [["--bogus"], /bogus/],
      [["extra"], /extra/],
      [["--out", ""], /--out needs a folder/],
      [["--corpus", ""], /--corpus needs/],
      [["--corpus"], /--corpus/],
    ] as const
  ) {
    await assert.rejects(runStats([...args]), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("runStats() passes on the corpus loader's error for a missing file", async () => {
  await assert.rejects(
    runStats(["--corpus", "/nonexistent/no-such-text.txt"]),
    (e: unknown) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.match(e.message, /\/nonexistent\/no-such-text\.txt does not exist/);
      assert.equal(e.path, "/nonexistent/no-such-text.txt");
      return true;
    },
  );
});

Deno.test("runStats() counts every character of a text mostly in another script, and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/lyrics.txt`;
    await Deno.writeTextFile(path, "分开 不分开\n我 不能 再 想 我 不 ok\n");
    const auto = await capture(["--corpus", path, "--json", "--tokens", "char", "--top", "1"]);
    const report = JSON.parse(auto.out);
    assert.equal(report.normalize, "none");
    assert.deepEqual(report.char, { vocab: 11, length: 21 });
    assert.deepEqual(report.ngrams.unigram.top, [{ gram: [" "], count: 7 }]);
    assert.match(auto.err, /^note: 14\.3% of .*lyrics\.txt's letters are a-z, so every character/);
    assert.match(auto.err, /--normalize letters keeps only a-z/);

    // Asked for, the book's reduction applies, with no note.
    const letters = await capture(["--corpus", path, "--json", "--normalize", "letters"]);
    assert.equal(JSON.parse(letters.out).normalize, "letters");
    assert.deepEqual(JSON.parse(letters.out).word, { vocab: 2, length: 1 });
    assert.equal(letters.err, "");

    // An English text keeps the book's default.
    await Deno.writeTextFile(path, "The cat, 猫, saw the dog.\n");
    const english = await capture(["--corpus", path, "--json"]);
    assert.equal(JSON.parse(english.out).normalize, "letters");
    assert.equal(english.err, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStats() says a corpus is empty, or has no letters a-z when reduced to them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = [
      ["", [], /empty\.txt: the text is empty/],
      [" \n\n", [], /empty\.txt: the text is empty/],
      [
        "123 ... !",
        [],
        /the text holds no letters a-z; count every character with --normalize none/,
      ],
      ["分开", ["--normalize", "letters"], /the text holds no letters a-z/],
    ] as const;
    for (const [text, flags, message] of cases) {
      const path = `${dir}/empty.txt`;
      await Deno.writeTextFile(path, text);
      await assert.rejects(capture(["--corpus", path, ...flags]), (e: unknown) => {
        assert.ok(e instanceof CorpusError, `${JSON.stringify(text)}: ${e}`);
        assert.equal(e.path, path);
        assert.match(e.message, message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStats() checks --out before reading the corpus", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/a.txt`;
    await Deno.writeTextFile(file, "the cat");
    // The corpus does not exist: a check made after reading it would report that instead.
    await assert.rejects(
      capture(["--corpus", `${dir}/missing.txt`, "--out", `${file}/figs`]),
      (e: unknown) => {
        assert.ok(e instanceof DataError && !(e instanceof CorpusError), String(e));
        assert.match(e.message, /a\.txt is a file, not a folder/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
