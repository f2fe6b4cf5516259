/**
 * The playground in a real browser: Debian's Chromium, headless, driven by playwright-core (no
 * browser download). The page is served by the CLI's `playground` command as a user would start
 * it. One small run per case: a short corpus, hidden 16, 2 epochs. Where Chromium is missing the
 * tests say so and are skipped (`.ci/run` installs it).
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { decodeCheckpoint } from "../src/io/checkpoint.ts";
import { cli, cliArgs } from "./_cli.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const ignore = CHROMIUM === undefined;
if (ignore) console.log("browser_test: no Chromium here (apt-get install chromium); skipped");

const TEXT = "分开就分开 不分开的是我对你的想念 窗外的麻雀在电线杆上多嘴 ".repeat(12);

/** Starts `playground` on a free port; returns its address and a way to stop it. */
async function serve(...flags: string[]) {
  const noData = flags.includes("--no-data");
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs("playground", "--port", "0", ...flags.filter((f) => f !== "--no-data")),
    // --no-data: a server that finds no corpus in RNN_DATA_DIR.
    ...(noData ? { env: { RNN_DATA_DIR: "" } } : {}),
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/http:\/\/\S+\//.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`playground exited: ${seen}`);
    seen += value;
  }
  const url = seen.match(/http:\/\/\S+\//)![0];
  return {
    url,
    async stop() {
      child.kill("SIGINT");
      await reader.cancel();
      await child.status;
    },
  };
}

/** What the page's state object holds (see web/app.ts). */
interface PageState {
  corpus?: { name: string; tokens: number; vocab: number };
  training: boolean;
  backend: string;
  notes: string[];
  history: { epoch: number; perplexity: number }[];
  samples: string[];
  generated: string;
  generating: boolean;
  model?: { description: string; parameters: number; checksum: number };
  errors: string[];
}
const stateOf = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { playground: PageState }).playground);
/** Waits for `test` on the page's state; a timeout says what the state was. */
async function waitFor(page: Page, test: string): Promise<void> {
  try {
    await page.waitForFunction(
      `(() => { const s = globalThis.playground; return ${test}; })()`,
      null,
      {
        timeout: 120_000,
      },
    );
  } catch (e) {
    const s = await stateOf(page).catch(() => undefined);
    const shown = JSON.stringify(s, (k, v) => (k === "generated" ? String(v).slice(0, 40) : v));
    throw new Error(`waiting for ${test}: ${(e as Error).message}; the page's state: ${shown}`);
  }
}

/**
 * Serves the playground with `flags`, opens it in a Chromium started with `browserFlags` (after
 * `--headless --no-sandbox`), runs `use` with the page and the console errors collected so far,
 * then closes the browser and stops the server.
 */
async function onPage(
  flags: string[],
  browserFlags: string[],
  use: (page: Page, errors: string[]) => Promise<void>,
): Promise<void> {
  const server = await serve(...flags);
  const browser = await launch(browserFlags);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    await use(page, errors);
  } finally {
    await browser.close();
    await server.stop();
  }
}

/** Headless Chromium with `flags` besides. */
function launch(flags: string[]): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", ...flags],
  });
}

/** Uses the short text as the corpus and trains the small model on it. */
async function trainSmall(page: Page, backend: string, threads = 2) {
  await page.selectOption("#corpus", "own");
  await page.fill("#text", TEXT);
  await page.click("#use-corpus");
  await waitFor(page, "s.corpus !== undefined && s.corpus.name === 'your text'");
  for (
    const [id, v] of [
      ["hidden", "16"],
      ["epochs", "2"],
      ["num-steps", "8"],
      ["batch-size", "4"],
      ["lr", "1"],
      ["clip", "1"],
      ["pred-every", "1"],
      ["threads", String(threads)],
      ["max-tokens", "0"],
    ]
  ) await page.fill(`#${id}`, v);
  await page.selectOption("#backend", backend);
  await page.click("#train");
  await waitFor(page, "!s.training && (s.history.length === 2 || s.errors.length > 0)");
  const s = await stateOf(page);
  assert.deepEqual(s.errors, []);
  // Still the pasted text: the default corpus, loading when the page opened, did not replace it.
  assert.equal(s.corpus?.name, "your text");
  return s;
}

Deno.test({
  name: "the playground trains on 2 threads, generates, saves and loads, with no console error",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnn-playground-" });
    await onPage([], [], async (page, errors) => {
      assert.equal(await page.evaluate("crossOriginIsolated"), true);
      const s = await trainSmall(page, "wasm");
      assert.equal(s.backend, "wasm (2 threads)");
      assert.equal(s.corpus!.vocab, new Set(TEXT).size);
      assert.ok(s.history[1].perplexity < s.history[0].perplexity, JSON.stringify(s.history));
      assert.ok(s.samples.length >= 1 && s.samples[0].length > 0);
      await waitFor(page, "/training/.test(document.querySelector('#chart').textContent)");

      const shot = `${dir}/playground.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`screenshot of the page after training: ${shot}`);

      // Generation streams into the page.
      await page.fill("#prefix", "分开");
      await page.fill("#length", "20");
      await page.click("#generate");
      await waitFor(page, "!s.generating");
      const generated = (await stateOf(page)).generated;
      assert.ok(generated.startsWith("分开"), generated);
      assert.equal([...generated].length, 2 + 20);
      assert.equal(await page.textContent("#output"), generated);

      // An unknown prefix character is named, not thrown.
      await page.fill("#prefix", "分X");
      await page.click("#generate");
      await waitFor(page, "s.errors.length > 0");
      assert.match((await stateOf(page)).errors[0], /"X"/);
      assert.match(await page.textContent("#error") ?? "", /"X"/);

      // The downloaded checkpoint holds the page's weights.
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
      const path = `${dir}/page.safetensors`;
      await download.saveAs(path);
      const ckpt = decodeCheckpoint(await Deno.readFile(path));
      let checksum = 0;
      for (const w of Object.values(await ckpt.model.getWeights())) {
        for (const x of w) checksum += Math.abs(x);
      }
      assert.equal(checksum, (await stateOf(page)).model!.checksum);
      // ... and the command line generates from it.
      const fromPage = await cli("generate", "--model", path, "--prefix", "分开", "--length", "5");
      assert.equal(fromPage.code, 0, fromPage.stderr);
      assert.ok(fromPage.stdout.startsWith("分开"), fromPage.stdout);

      // A checkpoint trained by the CLI loads into the page and writes the CLI's greedy text.
      const corpus = `${dir}/lyrics.txt`, model = `${dir}/cli.safetensors`;
      await Deno.writeTextFile(corpus, TEXT);
      const trained = await cli(
        "train",
        "--corpus",
        corpus,
        "--max-tokens",
        "0",
        "--hidden",
        "16",
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--num-steps",
        "8",
        "--lr",
        "1",
        "--pred-every",
        "0",
        "--save",
        model,
      );
      assert.equal(trained.code, 0, trained.stderr);
      const want = await cli("generate", "--model", model, "--prefix", "分开", "--length", "30");
      await page.setInputFiles("#load-file", model);
      await waitFor(page, "/loaded/.test(document.querySelector('#files-info').textContent)");
      await page.fill("#prefix", "分开");
      await page.fill("#length", "30");
      await page.click("#generate");
      await waitFor(page, "!s.generating && s.generated.length > 0");
      assert.equal((await stateOf(page)).generated, want.stdout.trim());

      // Its 8-bit twin too, with the CLI's 8-bit text.
      const small = `${dir}/cli8.safetensors`;
      const exported = await cli("export", "--format", "int8", "--model", model, "--out", small);
      assert.equal(exported.code, 0, exported.stderr);
      const want8 = await cli("generate", "--model", small, "--prefix", "分开", "--length", "30");
      await page.setInputFiles("#load-file", small);
      await waitFor(page, "/cli8/.test(document.querySelector('#files-info').textContent)");
      await page.click("#generate");
      await waitFor(page, "!s.generating && s.generated.length > 0");
      assert.equal((await stateOf(page)).generated, want8.stdout.trim());

      // Train and Stop again and again: the threads' workers do not pile up.
      const counts = [];
      for (let i = 0; i < 3; i++) {
        await page.fill("#epochs", "100000");
        await page.click("#train");
        await waitFor(page, "s.training && s.backend !== ''");
        await page.waitForTimeout(300);
        await page.click("#stop");
        await waitFor(page, "!s.training");
        counts.push(page.workers().length);
      }
      assert.equal(new Set(counts).size, 1, `workers after each run: ${counts}`);
      assert.deepEqual(errors.filter((e) => !/"X"/.test(e)), []);
    });
  },
});

Deno.test({
  name: "served without COOP/COEP (or the corpora) the page trains on one thread and says why",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await onPage(["--isolation", "off", "--no-data"], [], async (page, errors) => {
      assert.equal(await page.evaluate("crossOriginIsolated"), false);
      assert.match(await page.textContent("#notes") ?? "", /not cross-origin isolated/);
      // The default corpus loads from ./data or the cache, or the page says it is missing.
      await waitFor(page, "s.corpus !== undefined || s.notes.some((n) => /no jaychou/.test(n))");
      const s = await trainSmall(page, "wasm", 2);
      assert.equal(s.backend, "wasm (1 thread)");
      assert.ok(s.notes.some((n) => /one thread/.test(n)), JSON.stringify(s.notes));
      assert.ok(s.history[1].perplexity < s.history[0].perplexity);
      assert.deepEqual(errors, []);
    });
  },
});

Deno.test({
  name: "on WebGPU (SwiftShader) the page's run ends within 1e-3 of WebAssembly's",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await onPage([], ["--enable-unsafe-webgpu"], async (page) => {
      const gpu = await trainSmall(page, "webgpu");
      assert.match(gpu.backend, /^webgpu/);
      const wasm = await trainSmall(page, "wasm");
      gpu.history.forEach((r, i) => {
        const other = wasm.history[i].perplexity;
        assert.ok(Math.abs(r.perplexity - other) / other < 1e-3, `${r.perplexity} vs ${other}`);
      });
    });
  },
});
