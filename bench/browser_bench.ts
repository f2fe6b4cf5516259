/**
 * The default model's epoch in Chromium next to Deno's, in one run: the playground (served by the
 * CLI, as a user starts it) trains in headless Chromium on 1 and 2 threads, and this process trains
 * the same corpus and model with the library; each figure is the median training time of epochs 2
 * to 6 (the first warms up). The corpus is synthetic: 10000 characters over the Jay Chou run's vocabulary of
 * 1027 (the cost depends on sizes, not on the text). Target: Chromium within 1.2x of Deno.
 *
 *     deno run -A bench/browser_bench.ts [--json FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createThreadedBackend } from "../src/backend/threads.ts";
import { createWasmBackend } from "../src/backend/wasm.ts";
import { Rng } from "../src/rng.ts";
import { textCorpus } from "../src/text/text.ts";
import { train } from "../src/train/train.ts";

const { values } = parseArgs({ args: Deno.args, options: { json: { type: "string" } } });
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!CHROMIUM) {
  console.log("no Chromium here (apt-get install chromium); nothing to measure");
  Deno.exit(0);
}

const rng = new Rng(0), V = 1027;
const alphabet = Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i));
const text = Array.from({ length: 10000 }, (_, i) => alphabet[i < V ? i : rng.nextInt(V)]).join("");
const settings = { hidden: 256, numSteps: 35, batchSize: 32, epochs: 6, predEvery: 0 };
/** The median training time of the epochs after the first (which warms up). */
const median = (seconds: number[]) =>
  seconds.slice(1).toSorted((a, b) => a - b)[(seconds.length - 1) >> 1];

/** The second epoch's seconds in this process. */
async function inDeno(threads: number): Promise<number> {
  const backend = threads > 1 ? await createThreadedBackend({ threads }) : createWasmBackend();
  try {
    const r = await train(textCorpus(text, { maxTokens: 0 }), { ...settings, backend });
    return median(r.history.map((e) => e.seconds));
  } finally {
    backend.dispose();
  }
}

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("../mod.ts", import.meta.url).pathname, "playground", "--port", "0"],
  stdout: "piped",
  stdin: "null",
}).spawn();
const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
let seen = "";
while (!/http:\/\/\S+\//.test(seen)) seen += (await reader.read()).value ?? "";
const url = seen.match(/http:\/\/\S+\//)![0];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox"],
});
const version = browser.version();

/** The second epoch's seconds in the page, trained through its form. */
async function inChromium(threads: number): Promise<number> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.selectOption("#corpus", "own");
    await page.fill("#text", text);
    await page.fill("#max-tokens", "0");
    await page.click("#use-corpus");
    await page.waitForFunction("globalThis.playground.corpus?.name === 'your text'");
    await page.fill("#epochs", String(settings.epochs));
    await page.fill("#pred-every", "0");
    await page.fill("#threads", String(threads));
    await page.selectOption("#backend", "wasm");
    await page.click("#train");
    await page.waitForFunction(
      `!globalThis.playground.training && globalThis.playground.history.length === ${settings.epochs}`,
      null,
      { timeout: 300_000 },
    );
    return median(
      await page.evaluate("globalThis.playground.history.map((e) => e.seconds)") as number[],
    );
  } finally {
    await page.close();
  }
}

const rows = [];
console.log(`Chromium ${version} against Deno ${Deno.version.deno}: one epoch of the default RNN`);
for (const threads of [1, 2]) {
  const deno = await inDeno(threads), page = await inChromium(threads);
  rows.push({ threads, deno, chromium: page, ratio: page / deno });
  console.log(
    `  ${threads} thread${threads > 1 ? "s" : " "}: chromium ${page.toFixed(3)} s, deno ${
      deno.toFixed(3)
    } s, ratio ${(page / deno).toFixed(2)} (target <= 1.2)`,
  );
}
await browser.close();
server.kill("SIGINT");
await reader.cancel();
await server.status;
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify({ chromium: version, rows }, null, 2) + "\n",
  );
}
