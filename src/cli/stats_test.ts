import assert from "node:assert/strict";
import { CorpusError, UsageError } from "../errors.ts";
import { runStats } from "./stats.ts";

/** Runs `stats` with console.log captured; returns the exit code and the printed text. */
async function capture(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.map(String).join(" "));
  try {
    const code = await runStats(args);
    return { code, out: lines.join("\n") };
  } finally {
    console.log = log;
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
      assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, 3);
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
    assert.equal(report.svg, null);
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
    assert.equal(json.ngrams.bigram.zipf, null);
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
