/**
 * Cold start of generation as a user meets it: the time from starting
 * `deno run -A mod.ts generate --model FILE --length 1 --prefix X` to its exit, one fresh process
 * per run, timed from outside (Deno's own start-up, the import of the library, compiling the
 * inlined WebAssembly, reading and decoding the checkpoint, generating and printing one character,
 * and exiting). The checkpoint is one the CLI's `train` command wrote: a model of the default size
 * (vocabulary 1027, hidden 256) trained for one epoch on a synthetic text of 10000 characters
 * (the cost depends on the sizes, not on the text).
 *
 * One untimed run first fills Deno's module cache, as a user's second run would find it; then
 * `RUNS` measured runs. The same for the checkpoint's 8-bit twin (`mod.ts export --format int8`).
 * Then what an edge function pays in a fresh isolate, measured inside fresh processes from the
 * first line of a script: importing the library, decoding the checkpoint from bytes already in
 * memory, and generating the first character, for the float and the 8-bit checkpoint. The
 * report (median, min, every run) goes to `bench/results/cold_start.json`.
 *
 * Run with `deno run -A bench/cold_start.ts [runs]` (default 10).
 */
import { Rng } from "../src/rng.ts";

const RUNS = Number(Deno.args[0] ?? 10);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`usage: deno run -A bench/cold_start.ts [runs] (a positive integer, got ${RUNS})`);
  Deno.exit(2);
}
const V = 1027, H = 256;
/** The project's root: the CLI runs from there, as a user of this repository runs it. */
const ROOT = new URL("../", import.meta.url).pathname;
const REPORT = new URL("./results/cold_start.json", import.meta.url);

/** Runs `deno run -A mod.ts ...args` from the project's root; the process's output and time. */
async function cli(args: string[]): Promise<{ stdout: string; ms: number }> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "mod.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = performance.now() - start;
  const dec = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`mod.ts ${args.join(" ")} exited with ${out.code}: ${dec.decode(out.stderr)}`);
  }
  return { stdout: dec.decode(out.stdout), ms };
}

// 10000 characters over 1027 distinct ones (each used at least once).
const rng = new Rng(0);
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const text = Array.from({ length: 10000 }, (_, i) => alphabet[i < V ? i : rng.nextInt(V)]).join("");

const dir = await Deno.makeTempDir();
const corpusFile = `${dir}/corpus.txt`, modelFile = `${dir}/model.safetensors`;
const smallFile = `${dir}/model8.safetensors`, probeFile = `${dir}/probe.ts`;
const prefix = alphabet[0];
const trainArgs = [
  "train",
  "--corpus",
  corpusFile,
  "--max-tokens",
  "10000",
  "--hidden",
  String(H),
  "--batch-size",
  "32",
  "--num-steps",
  "35",
  "--epochs",
  "1",
  "--pred-every",
  "0",
  "--seed",
  "0",
  "--save",
  modelFile,
];
const generateArgs = ["generate", "--model", modelFile, "--length", "1", "--prefix", prefix];
const exportArgs = ["export", "--format", "int8", "--model", modelFile, "--out", smallFile];

/** In a fresh process: import, decode from bytes, first character; prints the milliseconds. */
const PROBE = `const t0 = performance.now();
const bytes = await Deno.readFile(Deno.args[0]);
const start = performance.now();
const { decodeCheckpoint, generate } = await import(${JSON.stringify(`${ROOT}mod.ts`)});
const { model, vocab, text } = decodeCheckpoint(bytes);
const out = await generate(model, vocab, ${JSON.stringify(prefix)}, { length: 1, text });
if ([...out].length !== 2) throw new Error("no character");
console.log(JSON.stringify({ ms: performance.now() - start, read: start - t0 }));
`;

/** The probe's milliseconds for one checkpoint file, in a fresh process. */
async function probe(file: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", probeFile, file],
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).ms;
}

const median = (xs: number[]) => {
  const s = xs.toSorted((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number) => Math.round(x * 100) / 100;

try {
  await Deno.writeTextFile(corpusFile, text);
  await cli(trainArgs);
  const checkpointBytes = (await Deno.stat(modelFile)).size;
  await cli(exportArgs);
  const smallBytes = (await Deno.stat(smallFile)).size;
  await Deno.writeTextFile(probeFile, PROBE);
  /** One timed run; checks that it printed the prefix and one character. */
  const once = async (args = generateArgs): Promise<number> => {
    const { stdout, ms } = await cli(args);
    const line = stdout.trimEnd();
    if (!line.startsWith(prefix) || Array.from(line).length !== 2) {
      throw new Error(`generate printed ${JSON.stringify(stdout)}, not the prefix and 1 character`);
    }
    return ms;
  };
  const smallArgs = generateArgs.map((a) => a === modelFile ? smallFile : a);
  await once();
  await once(smallArgs);
  await probe(modelFile);
  const runs: number[] = [], small: number[] = [], inFloat: number[] = [], inSmall: number[] = [];
  // Interleaved, so that a phase of the machine falls on each alike.
  for (let i = 0; i < RUNS; i++) {
    runs.push(await once());
    small.push(await once(smallArgs));
    inFloat.push(await probe(modelFile));
    inSmall.push(await probe(smallFile));
  }
  const stats = (xs: number[]) => ({ median: round(median(xs)), min: round(Math.min(...xs)) });
  const report = {
    what: "a fresh `deno run -A mod.ts generate --model FILE --length 1` from start to exit, " +
      "timed from outside, with a default-size checkpoint written by `mod.ts train`; the module " +
      "cache filled by one untimed run",
    deno: Deno.version.deno,
    model: { vocab: V, hidden: H, cell: "rnn", checkpointBytes },
    train: `deno run -A mod.ts ${trainArgs.join(" ").replaceAll(dir, "DIR")}`,
    command: `deno run -A mod.ts ${generateArgs.join(" ").replaceAll(dir, "DIR")}`,
    runs: RUNS,
    processMs: stats(runs),
    each: runs.map(round),
    int8: {
      command: `deno run -A mod.ts ${exportArgs.join(" ").replaceAll(dir, "DIR")}`,
      checkpointBytes: smallBytes,
      processMs: stats(small),
      each: small.map(round),
    },
    inProcess: {
      what: "in a fresh process, from the script's first line: import mod.ts, " +
        "decodeCheckpoint(bytes), generate the first character",
      floatMs: stats(inFloat),
      int8Ms: stats(inSmall),
    },
  };
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(REPORT, JSON.stringify(report, null, 2) + "\n");
  console.log(
    `cold start of \`mod.ts generate\` to its first character and exit: median ` +
      `${report.processMs.median} ms, min ${report.processMs.min} ms over ${RUNS} fresh ` +
      `processes (checkpoint of ${checkpointBytes} bytes from \`mod.ts train\`); 8-bit ` +
      `(${smallBytes} bytes): median ${report.int8.processMs.median} ms\n` +
      `import, decode from bytes and first character in a fresh process: float32 median ` +
      `${report.inProcess.floatMs.median} ms (min ${report.inProcess.floatMs.min}), 8-bit ` +
      `median ${report.inProcess.int8Ms.median} ms (min ${report.inProcess.int8Ms.min})`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
