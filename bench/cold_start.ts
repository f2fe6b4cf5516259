/**
 * Cold start of generation, as an edge function sees it: a fresh `deno run` process takes
 * `performance.now()`, imports `mod.ts` with a dynamic import (compiling the inlined WebAssembly),
 * decodes a checkpoint of the default model's size (vocabulary 1027, hidden 256: 2.4 MB of
 * safetensors, already in memory as bytes) and generates the first character. The child prints the
 * milliseconds from just before the import to that character; this script also times each whole
 * process from outside (start-up of Deno itself included) for context.
 *
 * One untimed run first fills Deno's module cache, as a deployed function's would be; then `RUNS`
 * measured runs. The report (median, min, every run) goes to `bench/results/cold_start.json`.
 *
 * Run with `deno run -A bench/cold_start.ts [runs]` (default 10).
 */
import { encodeCheckpoint } from "../src/io/checkpoint.ts";
import { createModel } from "../src/model/model.ts";
import { Vocab } from "../src/text/vocab.ts";

const RUNS = Number(Deno.args[0] ?? 10);
const V = 1027, H = 256, TARGET_MS = 50;
const MOD = new URL("../mod.ts", import.meta.url).href;
// The child lives in a temporary directory, so it names the project's config (its npm imports).
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const REPORT = new URL("./results/cold_start.json", import.meta.url);

const vocab = new Vocab(Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i)));
const model = createModel({ vocabSize: V, hidden: H, activation: "tanh" }, { seed: 0 });
const dir = await Deno.makeTempDir();
const modelFile = `${dir}/model.safetensors`, script = `${dir}/cold.ts`;
const bytes = encodeCheckpoint(model, vocab);
await Deno.writeFile(modelFile, bytes);
// The bytes are read before the clock starts: an edge function gets them with its deployment.
await Deno.writeTextFile(
  script,
  `const bytes = await Deno.readFile(${JSON.stringify(modelFile)});
const t0 = performance.now();
const { decodeCheckpoint, generate } = await import(${JSON.stringify(MOD)});
const t1 = performance.now();
const { model, vocab } = decodeCheckpoint(bytes);
const t2 = performance.now();
const text = generate(model, vocab, vocab.tokens[0], { length: 1 });
const t3 = performance.now();
console.log(JSON.stringify({ total: t3 - t0, importMs: t1 - t0, decodeMs: t2 - t1, firstCharMs: t3 - t2, chars: Array.from(text).length }));
`,
);

interface Run {
  /** From just before the import to the first character, measured inside the process. */
  total: number;
  importMs: number;
  decodeMs: number;
  firstCharMs: number;
  /** The whole process from outside: Deno's own start-up and exit included. */
  processMs: number;
}

async function once(): Promise<Run> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, `--allow-read=${modelFile}`, script],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const processMs = performance.now() - start;
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`the child failed: ${new TextDecoder().decode(out.stderr)}`);
  const r = JSON.parse(stdout);
  if (r.chars !== 2) throw new Error(`the child generated ${r.chars - 1} characters, not 1`);
  return {
    total: r.total,
    importMs: r.importMs,
    decodeMs: r.decodeMs,
    firstCharMs: r.firstCharMs,
    processMs,
  };
}

const median = (xs: number[]) => {
  const s = xs.toSorted((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number) => Math.round(x * 100) / 100;

try {
  await once();
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const stat = (k: keyof Run) => ({
    median: round(median(runs.map((r) => r[k]))),
    min: round(Math.min(...runs.map((r) => r[k]))),
  });
  const report = {
    what: "fresh `deno run`: dynamic import of mod.ts, decodeCheckpoint of a default-size " +
      "checkpoint from bytes, generate 1 character; ms inside the process from before the import",
    deno: Deno.version.deno,
    model: { vocab: V, hidden: H, cell: "rnn", checkpointBytes: bytes.length },
    runs: RUNS,
    targetMs: TARGET_MS,
    totalMs: stat("total"),
    importMs: stat("importMs"),
    decodeMs: stat("decodeMs"),
    firstCharMs: stat("firstCharMs"),
    processMs: stat("processMs"),
    each: runs.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])) as unknown as Run
    ),
  };
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(REPORT, JSON.stringify(report, null, 2) + "\n");
  console.log(
    `cold start to the first character: median ${report.totalMs.median} ms, min ${report.totalMs.min} ms ` +
      `(target ${TARGET_MS} ms; import ${report.importMs.median}, decode ${report.decodeMs.median}, ` +
      `first character ${report.firstCharMs.median}); whole process from outside: median ` +
      `${report.processMs.median} ms, min ${report.processMs.min} ms; ${RUNS} runs`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
