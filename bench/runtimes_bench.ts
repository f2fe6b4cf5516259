/**
 * Deno, Node and Bun side by side, in one run on one machine: `deno task build:npm`'s package runs
 * `bench/_runtime_job.mjs` on each (the same file), which measures greedy batch-1 generation of
 * the default-size model (characters per second), the large product (the output projection,
 * 1120·256·1027) and the few-row product (one row: batch-1 generation's output layer) in GFLOP/s,
 * and the default RNN's epoch on 1 and 2 threads (median of epochs 2 to 6). The runtimes take
 * turns, three rounds, and each figure is the median of its rounds, so that a phase of the
 * machine falls on all of them alike. Each runtime runs its default build: relaxed SIMD where its
 * engine has it.
 *
 *     deno run -A bench/runtimes_bench.ts [--quick] [--json FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildNpm } from "../scripts/build_npm.ts";
import { findRuntime } from "../tests/_runtimes/find.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { json: { type: "string" }, quick: { type: "boolean" } },
});
const quick = values.quick === true;
const ROOT = new URL("../", import.meta.url).pathname;
const JOB = `${ROOT}bench/_runtime_job.mjs`;

/** What the job prints. */
interface Figures {
  relaxedSimd: boolean;
  greedyCharsPerSecond: number;
  largeGflops: number;
  fewRowGflops: number;
  epochSeconds1: number;
  epochSeconds2: number | null;
}

/** A runtime: its name, its command, and its version line. */
interface Runtime {
  name: string;
  command: string[];
  version: string;
}

const runtimes: Runtime[] = [
  { name: "Deno", command: [Deno.execPath(), "run", "-A"], version: `deno ${Deno.version.deno}` },
];
for (const [name, key] of [["Node", "node"], ["Bun", "bun"]] as const) {
  const found = findRuntime(key);
  if (found) runtimes.push({ name, command: [found.command], version: `${key} ${found.version}` });
  else console.log(`${name} not found; left out`);
}

const dir = await Deno.makeTempDir();
try {
  const pkg = `${dir}/npm`;
  await buildNpm(pkg, `${pkg}-src`);
  const rounds = quick ? 1 : 3;
  const seen = new Map<string, Figures[]>(runtimes.map((r) => [r.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const r of runtimes) {
      const out = await new Deno.Command(r.command[0], {
        args: [...r.command.slice(1), JOB, `${pkg}/mod.js`, ...(quick ? ["--quick"] : [])],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`${r.name} failed`);
      seen.get(r.name)!.push(JSON.parse(new TextDecoder().decode(out.stdout).trim()));
    }
  }
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[(xs.length - 1) >> 1];
  const rows = runtimes.map((r) => {
    const all = seen.get(r.name)!;
    const of = (key: keyof Figures) => {
      const xs = all.map((f) => f[key]).filter((x): x is number => typeof x === "number");
      return xs.length ? median(xs) : null;
    };
    return {
      runtime: r.version,
      relaxedSimd: all[0].relaxedSimd,
      greedyCharsPerSecond: of("greedyCharsPerSecond"),
      largeGflops: of("largeGflops"),
      fewRowGflops: of("fewRowGflops"),
      epochSeconds1: of("epochSeconds1"),
      epochSeconds2: of("epochSeconds2"),
    };
  });
  const f = (x: number | null, digits: number) => x === null ? "-" : x.toFixed(digits);
  console.log(
    `${"runtime".padEnd(14)} ${"build".padEnd(8)} ${"greedy ch/s".padStart(12)} ` +
      `${"large GF/s".padStart(10)} ${"1-row GF/s".padStart(10)} ${"epoch 1t".padStart(9)} ` +
      `${"epoch 2t".padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.runtime.padEnd(14)} ${(r.relaxedSimd ? "relaxed" : "simd").padEnd(8)} ` +
        `${f(r.greedyCharsPerSecond, 0).padStart(12)} ${f(r.largeGflops, 1).padStart(10)} ` +
        `${f(r.fewRowGflops, 1).padStart(10)} ${f(r.epochSeconds1, 3).padStart(8)}s ` +
        `${f(r.epochSeconds2, 3).padStart(8)}s`,
    );
  }
  if (values.json) {
    const result = { date: new Date().toISOString(), rounds, rows };
    await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2) + "\n");
    console.log(`wrote ${values.json}`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
