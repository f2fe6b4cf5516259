/**
 * `deno task mutants`: applies each of a list of small deliberate breaks (mutants) to a copy of
 * the project, runs the test suite on it, and prints which mutants the suite killed and which
 * survived. A surviving mutant is a bug the tests would let through. Not part of CI: each mutant
 * costs a test run (about a minute; a killed one usually less, with --fail-fast).
 *
 * Usage: `deno task mutants [--only ID,ID] [--list]`. Exits 1 when a mutant survives, no longer
 * applies (its text is gone from the file: update the list), or does not type-check (that proves
 * nothing about the tests: write it so it does). Each line names the test that killed the mutant.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A deliberate break: replace `find` (which must occur exactly once) in `file` by `replace`. */
interface Mutant {
  /** Short name. */
  id: string;
  /** What the break does, in words. */
  what: string;
  /** The file, relative to the project root. */
  file: string;
  /** The exact text to replace. */
  find: string;
  /** What it becomes. */
  replace: string;
}

/** The list; each one was killed when it was added (see docs/architecture.md, "Tests"). */
export const MUTANTS: readonly Mutant[] = [
  {
    id: "sequential-resets",
    what: "sequential sampling resets the hidden state at every minibatch instead of carrying it",
    file: "src/train/train.ts",
    find: `if (sampling === "random") resetState(model, ws);`,
    replace: `resetState(model, ws);`,
  },
  {
    id: "no-carry",
    what: "sequential sampling does not carry the state to the next minibatch",
    file: "src/train/train.ts",
    find: `if (sampling === "sequential") carryState(model, ws, numSteps);`,
    replace: ``,
  },
  {
    id: "no-shuffle",
    what: "random sampling without its shuffle",
    file: "src/text/batches.ts",
    find: `rng.shuffle(starts);`,
    replace: ``,
  },
  {
    id: "clip-epsilon",
    what: "clipping divides by norm + 1e-3",
    file: "assembly/clip.ts",
    find: `else scale(grads, n, <f32> (theta / norm));`,
    replace: `else scale(grads, n, <f32> (theta / (norm + 1e-3)));`,
  },
  {
    id: "temperature-times",
    what: "sampling multiplies the logits by the temperature instead of dividing",
    file: "src/generate/sample.ts",
    find: `weights[j] = Math.exp((logits[j] - max) / s.temperature);`,
    replace: `weights[j] = Math.exp((logits[j] - max) * s.temperature);`,
  },
  {
    id: "reference-tanh-sign",
    what: "a sign in a backward kernel's reference: tanh' = 1 + y²",
    file: "src/backend/reference.ts",
    find: `for (let i = 0; i < n; i++) DX[i] += (1 - Y[i] * Y[i]) * DY[i];`,
    replace: `for (let i = 0; i < n; i++) DX[i] += (1 + Y[i] * Y[i]) * DY[i];`,
  },
  {
    id: "prefix-off-by-one",
    what: "the prefix warm-up skips the prefix's first token",
    file: "src/generate/decoder.ts",
    find: `common.set(r.tokens.subarray(0, steps), i * steps)`,
    replace: `common.set(r.tokens.subarray(1, steps + 1), i * steps)`,
  },
  {
    id: "gru-variant-swapped",
    what: "the GRU kernel runs PyTorch's candidate for the book's variant and the other way round",
    file: "assembly/gru_cell.ts",
    find: `  variant: i32,
  whhPacked: usize,
): void {
  gruForwardRows(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked, 0, b);`,
    replace: `  variant: i32,
  whhPacked: usize,
): void {
  gruForwardRows(states, gates, hn, zin, whh, bhn, t, b, h, 1 - variant, whhPacked, 0, b);`,
  },
  {
    id: "update-ignores-divergence",
    what: "the updates run after the loss or the gradient norm stopped being finite",
    file: "assembly/stats.ts",
    find: `if (load<f64>(stats + STAT_DIVERGED) != 0) return false;`,
    replace: ``,
  },
  {
    id: "stale-prepared-weights",
    what: "changing the weights does not make the prepared (packed) copies stale",
    file: "src/model/model.ts",
    find: `      this.#version++;`,
    replace: ``,
  },
  {
    id: "threads-no-wait",
    what: "the threaded backend never waits for a deferred weight gradient",
    file: "src/backend/threads.ts",
    find: `    if (!pending || !workersBusy()) return;`,
    // Always true, written so that the code after it still type-checks.
    replace: `    if (!pending || !workersBusy() || Date.now() > 0) return;`,
  },
  {
    id: "argmax-last",
    what: "the greedy choice takes the last of equal largest values",
    file: "src/backend/reference.ts",
    find: `if (X[i * n + j] > max) max = X[i * n + (best = j)];`,
    replace: `if (X[i * n + j] >= max) max = X[i * n + (best = j)];`,
  },
  {
    id: "resume-without-adam",
    what: "a checkpoint's Adam moments are not restored on load",
    file: "src/io/checkpoint.ts",
    find: `  if (s.adamStep === undefined) return state;`,
    replace: `  if (s.adamStep === undefined || Date.now() > 0) return state;`,
  },
  {
    id: "dropout-unscaled",
    what: "dropout keeps values without scaling them by 1/(1-p)",
    file: "src/model/forward.ts",
    find: `keep = 1 / (1 - dropout.p);`,
    replace: `keep = 1;`,
  },
  {
    id: "resume-skips-one-less",
    what: "a run resumed inside an epoch skips one minibatch fewer than were done",
    file: "src/train/train.ts",
    find: `for (let i = 0; i < at.step; i++) epochBatches.next();`,
    replace: `for (let i = 0; i < at.step - 1; i++) epochBatches.next();`,
  },
  {
    id: "resume-drops-state",
    what: "a run resumed inside an epoch starts from a zero hidden state instead of the saved one",
    file: "src/train/train.ts",
    find: `restoreCarried(model, ws, at);`,
    replace: ``,
  },
  {
    id: "reverse-swaps-rows",
    what: "the time-reversing index also reverses the batch rows",
    file: "src/model/layer_stack.ts",
    find: `for (let b = 0; b < B; b++) idx[t * B + b] = (steps - 1 - t) * B + b;`,
    replace: `for (let b = 0; b < B; b++) idx[t * B + b] = (steps - 1 - t) * B + (B - 1 - b);`,
  },
  {
    id: "layer-drops-dhn",
    what: "a layer's backward ignores the gradient of h_n",
    file: "src/model/layers.ts",
    find: `dh[last + i] += dState.h[u * block + i];`,
    replace: `dh[last + i] += 0;`,
  },
  {
    id: "webgpu-gru-dq",
    what: "the WebGPU GRU's backward forgets the reset gate in the candidate's hidden gradient",
    file: "src/backend/webgpu_shaders.ts",
    find: `DGH[u(1u) + go + 2u * h + j] = dpn * rg;`,
    replace: `DGH[u(1u) + go + 2u * h + j] = dpn;`,
  },
  {
    id: "webgpu-runs-behind",
    what: "greedy generation on WebGPU feeds each step the first step's choices",
    file: "src/generate/decoder.ts",
    find: `be.argmaxRows(ws.inputs, out, B, V);`,
    replace: ``,
  },
];

const ROOT = new URL("../", import.meta.url);
const decoder = new TextDecoder();

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdin: "null" }).output();
  return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** A copy of the project's files (tracked and untracked, not ignored) in a new folder. */
async function copyProject(): Promise<string> {
  const root = ROOT.pathname;
  const listed = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], root);
  const dir = await Deno.makeTempDir({ prefix: "rnn-mutant-" });
  for (const file of listed.text.split("\0").filter(Boolean)) {
    const target = `${dir}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.copyFile(`${root}${file}`, target);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted but not yet staged
    }
  }
  return dir;
}

/** What failed: the first failing test's name, or the first error (a type error, say). */
function killer(output: string): string {
  const test = output.match(/^(?:\S+ => )?(.+?) \.\.\. FAILED/m)?.[1];
  if (test) return test.slice(0, 110);
  return output.match(/^error: .+$/m)?.[0].slice(0, 110) ?? "a failed run";
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { only: { type: "string" }, list: { type: "boolean" } },
    strict: true,
  });
  const chosen = values.only
    ? MUTANTS.filter((m) => values.only!.split(",").includes(m.id))
    : MUTANTS;
  if (values.list) {
    for (const m of chosen) console.log(`${m.id.padEnd(26)} ${m.file}: ${m.what}`);
    return 0;
  }
  const dataDir = Deno.env.get("RNN_DATA_DIR") ??
    new URL("../shared/data", ROOT).pathname.replace(/\/$/, "");
  const env = { RNN_DATA_DIR: dataDir, NO_COLOR: "1" };
  const deno = Deno.execPath();
  let bad = 0;
  for (const m of chosen) {
    const dir = await copyProject();
    const started = performance.now();
    try {
      const path = `${dir}/${m.file}`;
      const text = await Deno.readTextFile(path);
      const at = text.indexOf(m.find);
      if (at < 0 || text.indexOf(m.find, at + 1) >= 0) {
        console.log(
          `${m.id}: STALE (its text occurs ${at < 0 ? "nowhere" : "more than once"} in ${m.file})`,
        );
        bad++;
        continue;
      }
      await Deno.writeTextFile(path, text.replace(m.find, m.replace));
      if (m.file.startsWith("assembly/")) {
        const built = await run(deno, ["task", "build:wasm"], dir, env);
        if (built.code !== 0) {
          console.log(`${m.id}: killed (the kernels no longer compile)`);
          continue;
        }
      }
      const tested = await run(
        deno,
        ["test", "-A", "--parallel", "--fail-fast", "mod.ts", "book.ts", "src/", "tests/"],
        dir,
        env,
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      if (tested.code === 0) {
        bad++;
        console.log(`${m.id}: SURVIVED (${seconds} s) — ${m.what}`);
      } else if (/Type checking failed/.test(tested.text)) {
        bad++;
        console.log(`${m.id}: INVALID (it does not type-check, so no test ran)`);
      } else {
        console.log(`${m.id}: killed (${seconds} s) by ${killer(tested.text)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  console.log(`${chosen.length - bad} of ${chosen.length} mutants killed`);
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
