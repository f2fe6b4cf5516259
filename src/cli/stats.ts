/**
 * The `stats` command: the text statistics of Dive into Deep Learning ("Text Preprocessing" and
 * "Language Models", 2nd edition) for a corpus: vocabulary sizes and corpus lengths for
 * character and word tokens, the most frequent unigrams, bigrams and trigrams, Zipf's exponent of
 * each, and optionally the book's log-log figure of frequency against rank.
 *
 * @module
 */
import { join } from "node:path";
import { CorpusError, UsageError } from "../errors.ts";
import { choiceFlag, type CommandFlags, intFlag, parseFlags } from "./args.ts";
import { checkOutputFolder, writeOutput } from "./output.ts";
import { loadText } from "../io/corpus_files.ts";
import { countNgrams, fitZipf, type ZipfFit } from "../book/ngrams.ts";
import { lineChartSvg } from "../book/plot.ts";
import {
  flatten,
  normalizeLetters,
  splitLines,
  tokenize,
  type TokenKind,
} from "../text/tokenize.ts";
import { Vocab } from "../text/vocab.ts";

const NAMES = ["unigram", "bigram", "trigram"] as const;

/** The flags of `stats`. */
export const STATS_FLAGS: CommandFlags = {
  settings: [],
  own: {
    corpus: {
      type: "string",
      value: "NAME|PATH",
      help: "jaychou, timemachine, or a .txt/.zip file [timemachine]",
    },
    tokens: { type: "string", value: "word|char", help: "the tokens of the n-gram tables [word]" },
    normalize: {
      type: "string",
      value: "letters|none",
      help: "letters: a-z and spaces; none: every character [letters; none if non-Latin]",
    },
    top: {
      type: "string",
      value: "N",
      help: "rows per unigram/bigram/trigram table; 0: none [10]",
    },
    out: {
      type: "string",
      value: "DIR",
      help: "also write DIR/zipf.svg: frequency by rank, log-log",
    },
    json: { type: "boolean", help: "one JSON object instead of the tables" },
  },
};

/** One n-gram curve: its top rows, how many distinct n-grams, and its Zipf fit (if possible). */
interface Curve {
  name: (typeof NAMES)[number];
  counts: number[];
  top: [string[], number][];
  fit: ZipfFit | undefined;
  fitProblem: string | undefined;
}

/** Ranks 1…k against counts, keeping only the two ends of each run of equal counts. */
function rankCurve(counts: readonly number[]): { x: number[]; y: number[] } {
  // A line through a flat run's ends is the same picture: the thousands of n-grams seen once
  // shrink to two points, and the SVG stays small.
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    if (
      i === 0 || i === counts.length - 1 || counts[i] !== counts[i - 1] ||
      counts[i] !== counts[i + 1]
    ) {
      x.push(i + 1);
      y.push(counts[i]);
    }
  }
  return { x, y };
}

/** The share of a text's letters that are a-z or A-Z (1 for a text without letters). */
function latinShare(text: string): number {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  return letters === 0 ? 1 : latin / letters;
}

/** An n-gram as shown in the tables: words with spaces; characters quoted so spaces show. */
function show(gram: readonly string[], kind: TokenKind): string {
  return kind === "word" ? gram.join(" ") : JSON.stringify(gram.join(""));
}

/**
 * Runs `stats`: prints the book's text statistics of a corpus, and with `--out DIR` writes
 * `DIR/zipf.svg`, frequency against rank on log-log axes for unigrams, bigrams and trigrams.
 *
 * Flags: `--corpus NAME|PATH` (default `timemachine`), `--tokens word|char` (the tokens of the
 * n-gram tables and the figure; default `word`), `--top N` (rows per table, default 10; 0 prints
 * none), `--out DIR` (created if missing; the SVG is written atomically), `--json` (one JSON
 * object instead of the tables), `--normalize letters|none`. With `letters` the text is reduced to
 * the letters A–Z, lowercased, line by line (the book's `read_time_machine`); that is the default
 * unless fewer than half of the text's letters are Latin (the Chinese lyrics), where it would keep
 * almost nothing: then every character counts (`none`), and a note on stderr says so.
 *
 * @param args The arguments after `stats`.
 * @returns The exit code, 0; flag mistakes throw `UsageError`, a missing corpus the error of
 * `loadText`.
 * @example Statistics of a small text file
 * ```ts
 * import { runStats } from "./stats.ts";
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "The cat saw the dog.\nThe dog saw the cat.\n");
 * const code = await runStats(["--corpus", path, "--top", "3"]);
 * console.log(code); // 0
 * await Deno.remove(path);
 * ```
 */
export async function runStats(args: string[]): Promise<number> {
  const { own } = parseFlags(args, STATS_FLAGS);
  const corpusName = (own.corpus as string | undefined) ?? "timemachine";
  if (corpusName === "") throw new UsageError("--corpus needs a corpus name or a file path");
  const kind = choiceFlag("tokens", own.tokens, ["word", "char"]);
  const top = intFlag("top", own.top, 10, 0);
  const out = own.out as string | undefined;
  if (out === "") throw new UsageError("--out needs a folder");
  const json = own.json === true;
  const asked = own.normalize === undefined
    ? undefined
    : choiceFlag("normalize", own.normalize, ["letters", "none"]);
  if (out !== undefined) await checkOutputFolder(out, "--out");

  const text = await loadText(corpusName, { onMessage: (line) => console.error(line) });
  if (text.trim() === "") {
    throw new CorpusError(
      `${corpusName}: the text is empty; give a text with something to count`,
      corpusName,
    );
  }
  const share = latinShare(text);
  const normalize = asked ?? (share < 0.5 ? "none" : "letters");
  if (asked === undefined && normalize === "none") {
    console.error(
      `note: ${(share * 100).toFixed(1)}% of ${corpusName}'s letters are a-z, so every ` +
        "character counts (--normalize none); --normalize letters keeps only a-z",
    );
  }
  const lines = normalize === "letters" ? normalizeLetters(text) : splitLines(text);
  const sizes = (["char", "word"] as const).map((k) => {
    const tokens = tokenize(lines, k);
    return { kind: k, vocab: Vocab.build(tokens).size, flat: flatten(tokens) };
  });
  const corpus = sizes.find((x) => x.kind === kind)!.flat;
  if (corpus.length === 0) {
    throw new CorpusError(
      `${corpusName}: the text holds no letters a-z; count every character with --normalize none`,
      corpusName,
    );
  }
  const curves: Curve[] = NAMES.map((name, i) => {
    const grams = countNgrams(corpus, i + 1);
    const counts = grams.map(([, c]) => c);
    let fit: ZipfFit | undefined, fitProblem: string | undefined;
    try {
      fit = fitZipf(counts);
    } catch (e) {
      // A short text has too few ranks for a line; the rest of the report still stands.
      if (!(e instanceof RangeError)) throw e;
      const fitted = Math.max(counts.filter((n) => n >= 2).length - 9, 0);
      fitProblem = `a line needs 2 ranks from rank 10 on with count >= 2; this text has ${fitted}`;
    }
    return { name, counts, top: grams.slice(0, top), fit, fitProblem };
  });

  let svgPath: string | undefined;
  if (out !== undefined) {
    const svg = await lineChartSvg(
      curves.map((c) => ({ name: c.name, ...rankCurve(c.counts) })),
      {
        title: `Zipf's law: ${kind} n-grams of ${corpusName}`,
        xTitle: "token: x",
        yTitle: "frequency: n(x)",
        logX: true,
        logY: true,
      },
    );
    svgPath = join(out, "zipf.svg");
    await writeOutput(out, svgPath, svg);
  }

  if (json) {
    console.log(JSON.stringify({
      corpus: corpusName,
      normalize,
      lines: lines.length,
      char: { vocab: sizes[0].vocab, length: sizes[0].flat.length },
      word: { vocab: sizes[1].vocab, length: sizes[1].flat.length },
      tokens: kind,
      ngrams: Object.fromEntries(curves.map((c) => [c.name, {
        distinct: c.counts.length,
        top: c.top.map(([gram, count]) => ({ gram, count })),
        ...(c.fit ? { zipf: c.fit } : { zipfProblem: c.fitProblem }),
      }])),
      ...(svgPath === undefined ? {} : { svg: svgPath }),
    }));
    return 0;
  }

  const report: string[] = [
    `${corpusName}: ${lines.length} lines, ${
      normalize === "letters" ? "reduced to lowercase letters a-z and spaces" : "every character"
    }`,
    "tokens  vocabulary  corpus length",
    ...sizes.map((x) =>
      `${x.kind.padEnd(6)}  ${String(x.vocab).padStart(10)}  ${String(x.flat.length).padStart(13)}`
    ),
    "(vocabulary sizes count <unk>; lines are joined without a separator)",
  ];
  for (const c of top > 0 ? curves : []) {
    report.push("", `top ${top} ${c.name}s (${kind} tokens; ${c.counts.length} distinct):`);
    const width = Math.max(5, ...c.top.map(([, n]) => String(n).length));
    c.top.forEach(([gram, count], i) => {
      report.push(
        `  ${String(i + 1).padStart(4)}  ${String(count).padStart(width)}  ${show(gram, kind)}`,
      );
    });
  }
  report.push(
    "",
    "Zipf's law n(x) ∝ 1/x^α, least squares of ln n(x) on ln x over ranks 10 … the last count >= 2:",
  );
  for (const c of curves) {
    report.push(
      c.fit
        ? `  ${c.name.padEnd(8)} α = ${c.fit.exponent.toFixed(3)}  (ranks ${c.fit.ranks[0]}–${
          c.fit.ranks[1]
        } of ${c.counts.length})`
        : `  ${c.name.padEnd(8)} α not fitted: ${c.fitProblem}`,
    );
  }
  if (svgPath !== undefined) report.push("", `wrote ${svgPath}`);
  console.log(report.join("\n"));
  return 0;
}
