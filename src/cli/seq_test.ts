import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { runSeq } from "./seq.ts";

/** Runs the command with console.log captured; returns the exit code and the printed lines. */
async function capture(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(" "));
  try {
    return { code: await runSeq(args), lines };
  } finally {
    console.log = log;
  }
}

Deno.test("runSeq --out writes the three figures with axis titles and legends", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/figures/seq`;
  try {
    const { code, lines } = await capture(["--epochs", "2", "--out", dir]);
    assert.equal(code, 0);
    assert.match(lines[0], /^epoch 1, loss: 0\.\d{6}$/);
    assert.match(lines[1], /^epoch 2, loss: 0\.\d{6}$/);
    assert.match(lines[2], /^1-step preds: mse \d+\.\d{6} over t = 5\.\.1000$/);
    assert.match(lines[3], /^multistep preds: mse \d+\.\d{6} over t = 605\.\.1000$/);
    assert.match(lines[7], /^k-step preds, k = 64: mse \d+\.\d{6} over t = 68\.\.1000$/);
    const legends = {
      "seq-data.svg": ["data"],
      "seq-predictions.svg": ["data", "1-step preds", "multistep preds"],
      "seq-kstep.svg": ["1-step preds", "4-step preds", "16-step preds", "64-step preds"],
    };
    for (const [name, names] of Object.entries(legends)) {
      const svg = await Deno.readTextFile(`${dir}/${name}`);
      assert.match(svg, /^<svg/, name);
      for (const text of ["time", "x", ...names]) {
        assert.ok(svg.includes(`>${text}<`), `${name} lacks the text ${text}`);
      }
      assert.ok(lines.at(-1)!.includes(`${dir}/${name}`), `${name} not reported`);
    }
    assert.equal(lines.at(-1)!.startsWith("wrote "), true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runSeq --json prints one summary and writes no files", async () => {
  // In a process of its own, run from an empty folder: a test must not change this process's
  // working folder, which the tests running beside it share.
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../mod.ts", import.meta.url).pathname,
        "seq",
        "--json",
        "--seed",
        "2",
        "--lr",
        "0.02",
      ],
      cwd: dir,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert.equal(lines.length, 1);
    const summary = JSON.parse(lines[0]);
    assert.equal(summary.seed, 2);
    assert.equal(summary.lr, 0.02);
    assert.equal(summary.losses.length, 5);
    assert.deepEqual(Object.keys(summary.mse.k), ["1", "4", "16", "64"]);
    assert.deepEqual(summary.files, []);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runSeq rejects unknown flags and bad values with a UsageError", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--epochs", "0"],
      ["--epochs", "two"],
      ["--lr", "-1"],
      ["--seed", "1.5"],
      ["--out", ""],
      ["extra"],
    ]
  ) {
    await assert.rejects(capture(args), UsageError, args.join(" "));
  }
});
