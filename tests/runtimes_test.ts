/**
 * One package, every JavaScript runtime: `deno task build:npm`'s package runs the same job
 * (`_runtimes/smoke.mjs`: train 2 epochs, generate 50 characters, a checkpoint through bytes and a
 * file, the same training on 2 threads, a text file read, and with `RNN_DATA_DIR` a corpus by name
 * and its zip) on Node (the `node` on PATH), Bun (on PATH or in
 * `.tools/`, where `.ci/run` installs it) and Deno, and every number and character equals what
 * Deno gives from the sources. Its declarations type-check an npm user's TypeScript.
 *
 * Where Node or Bun is missing the test says so and is ignored, except on CI (`CI=true`), where a
 * missing runtime fails it.
 */
import assert from "node:assert/strict";
import ts from "typescript";
import { buildNpm, NPM_USER_OPTIONS } from "../scripts/build_npm.ts";
import { findRuntime } from "./_runtimes/find.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SMOKE = `${ROOT}tests/_runtimes/smoke.mjs`;

const RUNTIMES: Record<string, string | undefined> = {
  node: findRuntime("node")?.command,
  bun: findRuntime("bun")?.command,
};
const onCi = Deno.env.get("CI") === "true";
const missing = Object.keys(RUNTIMES).filter((r) => !RUNTIMES[r]);
if (missing.length && !onCi) {
  console.log(`runtimes_test: ${missing.join(" and ")} not found; their runs are ignored`);
}

/** The smoke job's result (see `_runtimes/smoke.mjs`). */
interface Smoke {
  files: { textFile: boolean; jaychou?: [number, string]; zipSame?: boolean };
  perplexities: number[];
  generated: string;
  checkpointBytes: number;
  fromBytes: string;
  fromFile: string;
  threads: { available: boolean; perplexities?: number[]; generated?: string; split?: boolean };
}

/** Runs the smoke job with `command` against the module `entry`; its JSON line. */
async function smoke(command: string[], entry: string): Promise<Smoke> {
  const temp = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(command[0], {
      args: [...command.slice(1), SMOKE, entry, temp],
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${command.join(" ")} failed:\n${stderr}`);
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
}

let built: Promise<string> | undefined;
/** The npm package, built once for all the tests here. */
function npmPackage(): Promise<string> {
  return built ??= (async () => {
    const out = `${await Deno.makeTempDir()}/npm`;
    await buildNpm(out, `${out}-src`);
    return out;
  })();
}

let reference: Promise<Smoke> | undefined;
/** Deno's result from the sources, which every runtime must give. */
function fromSources(): Promise<Smoke> {
  return reference ??= smoke([Deno.execPath(), "run", "-A"], `${ROOT}mod.ts`);
}

Deno.test("Deno, from the sources, trains, generates and round-trips a checkpoint on 1 and 2 threads", async () => {
  const r = await fromSources();
  assert.equal(r.perplexities.length, 2);
  assert.ok(r.perplexities[1] < r.perplexities[0], `perplexity did not fall: ${r.perplexities}`);
  assert.equal(r.generated.length, "The Time".length + 50);
  assert.ok(r.generated.slice(8).trim().length > 0, "generated only spaces");
  assert.equal(r.fromBytes, r.generated);
  assert.equal(r.fromFile, r.generated);
  assert.equal(r.files.textFile, true);
  if (Deno.env.get("RNN_DATA_DIR")) {
    assert.equal(r.files.jaychou?.[0], 63282);
    assert.equal(r.files.zipSame, true);
  }
  assert.ok(r.threads.available && r.threads.split, "2 threads did not split work");
  assert.deepEqual(r.threads.perplexities, r.perplexities);
  assert.equal(r.threads.generated, r.generated);
});

const runs: [string, () => string[] | undefined][] = [
  ["Deno", () => [Deno.execPath(), "run", "-A"]],
  ["Node", () => RUNTIMES.node ? [RUNTIMES.node] : undefined],
  ["Bun", () => RUNTIMES.bun ? [RUNTIMES.bun] : undefined],
];
for (const [name, command] of runs) {
  const runtime = command();
  Deno.test({
    name: `${name} runs the npm build with Deno's bits: perplexities, text, checkpoints, 2 threads`,
    ignore: !runtime && !onCi,
    async fn() {
      assert.ok(runtime, `${name} is not installed (.ci/run installs Bun into .tools/)`);
      const pkg = await npmPackage();
      const [got, want] = await Promise.all([smoke(runtime, `${pkg}/mod.js`), fromSources()]);
      // Every runtime has workers and shared memory, so the 2-thread run must be there too.
      assert.ok(got.threads.available, `${name} found no threads`);
      assert.deepEqual(got, want);
    },
  });
}

/** An npm user's TypeScript: the package's two entries resolve by name, with their types. */
const CONSUMER =
  `import { type Checkpoint, createWasmBackend, decodeCheckpoint, generate, textCorpus, train } from "@rnn/wasm";
import { countNgrams } from "@rnn/wasm/book";

const corpus = textCorpus("分开 不分开 ".repeat(20));
const backend = createWasmBackend();
const { model, perplexity } = await train(corpus, { hidden: 8, epochs: 1, backend });
const checkpoint: Checkpoint = decodeCheckpoint(new Uint8Array(0));
const text: string = await generate(model, corpus.vocab, "分开", { length: 5 });
const n: number = perplexity;
console.log(text, n, checkpoint.vocab.size, countNgrams);
`;

/** Type-checks `source` as an npm user's module with the package installed; the diagnostics. */
async function typeCheck(source: string): Promise<string[]> {
  const pkg = await npmPackage();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/node_modules/@rnn`, { recursive: true });
    await Deno.symlink(pkg, `${dir}/node_modules/@rnn/wasm`);
    await Deno.writeTextFile(`${dir}/package.json`, '{ "type": "module" }\n');
    await Deno.writeTextFile(`${dir}/main.ts`, source);
    const program = ts.createProgram([`${dir}/main.ts`], { ...NPM_USER_OPTIONS, noEmit: true });
    return ts.getPreEmitDiagnostics(program).map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, "\n")
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the npm build's declarations type-check a user's module, and catch its type errors", async () => {
  const consumer = CONSUMER;
  assert.deepEqual(await typeCheck(consumer), []);
  // The same module with a wrong type: the declarations carry real types, not `any`.
  const wrong = consumer.replace("const n: number = perplexity;", "const n: string = perplexity;");
  assert.notEqual(wrong, consumer);
  const problems = await typeCheck(wrong);
  assert.ok(
    problems.some((p) => p.includes("'number' is not assignable to type 'string'")),
    problems.join("\n"),
  );
});
