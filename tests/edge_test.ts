// The edge example (examples/edge/main.ts) served on loopback: good and bad requests over HTTP,
// then the example's own entry point as a subprocess with network, env and one file's read only.
import assert from "node:assert/strict";
import { createHandler } from "../examples/edge/main.ts";
import { resolveTextConfig } from "../src/config/settings.ts";
import { CheckpointError } from "../src/errors.ts";
import { encodeSafetensors } from "../src/io/safetensors.ts";
import { encodeCheckpoint } from "../src/io/checkpoint.ts";
import { generate, type GenerateOptions } from "../src/generate/generate.ts";
import { createModel } from "../src/model/model.ts";
import { quantize } from "../src/model/quantize.ts";
import { Vocab } from "../src/text/vocab.ts";

const MAIN = new URL("../examples/edge/main.ts", import.meta.url).pathname;
const vocab = new Vocab(Array.from("分开不想念的你我 ab"));
// Large initial weights so greedy text is not one repeated token.
const model = createModel({ vocabSize: vocab.size, hidden: 16, activation: "tanh" }, {
  seed: 3,
  initScale: 0.8,
});
const text = resolveTextConfig({});
const bytes = await encodeCheckpoint({ model, vocab, text });

/** Serves the handler of a checkpoint on loopback for `body`, then shuts the server down. */
async function withServer(
  body: (base: string) => Promise<void>,
  checkpoint: Uint8Array = bytes,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createHandler(checkpoint, { maxPrefixChars: 20, maxLength: 200 }),
  );
  try {
    await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** POSTs `body` to /generate; the whole response is read. */
async function post(
  base: string,
  body: BodyInit,
): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${base}/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: res.status,
    text: await res.text(),
    type: res.headers.get("content-type") ?? "",
  };
}

/** Asserts a JSON error with this status whose message and `field` name the field. */
function assertError(
  r: { status: number; text: string },
  status: number,
  pattern: RegExp,
  field?: string,
): void {
  assert.equal(r.status, status, r.text);
  const body = JSON.parse(r.text);
  assert.match(body.error, pattern);
  assert.equal(body.field, field);
  assert.doesNotMatch(r.text, /\n\s+at /);
}

Deno.test("POST /generate streams the text generate() gives for the same options", async () => {
  await withServer(async (base) => {
    const cases: (GenerateOptions & { prefix: string })[] = [
      { prefix: "分开", length: 30 },
      { prefix: "我的", length: 40, temperature: 0.9, topK: 5, topP: 0.9, seed: 7 },
      { prefix: "a", length: 1, temperature: 5, seed: -3 },
    ];
    for (const { prefix, ...options } of cases) {
      const r = await post(base, JSON.stringify({ prefix, ...options }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.type, "text/plain; charset=utf-8");
      assert.ok(r.text.startsWith(prefix));
      assert.equal(Array.from(r.text).length, Array.from(prefix).length + options.length!);
      assert.equal(r.text, await generate(model, vocab, prefix, options));
    }
    // Omitted length: the library's default of 50.
    const d = await post(base, JSON.stringify({ prefix: "你" }));
    assert.equal(d.text, await generate(model, vocab, "你"));
  });
});

Deno.test("GET /health describes the model", async () => {
  await withServer(async (base) => {
    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    assert.deepEqual(await res.json(), {
      ok: true,
      vocab: vocab.size,
      cell: "rnn",
      hidden: 16,
      layers: 1,
      tokens: "char",
    });
  });
});

Deno.test("bad bodies and field values get 400 (413 when too large) naming the field", async () => {
  await withServer(async (base) => {
    assertError(await post(base, "{not json"), 400, /not valid UTF-8 JSON/);
    assertError(await post(base, new Uint8Array([0x7b, 0xff, 0x7d])), 400, /UTF-8 JSON/);
    assertError(await post(base, "[1, 2]"), 400, /must be a JSON object/);
    assertError(await post(base, "null"), 400, /must be a JSON object/);
    assertError(await post(base, ""), 400, /not valid UTF-8 JSON/);
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{}, "prefix", /prefix must be a non-empty string/],
      [{ prefix: "" }, "prefix", /prefix must be a non-empty string/],
      [{ prefix: 5 }, "prefix", /prefix must be a non-empty string, got 5/],
      [{ prefix: "分".repeat(21) }, "prefix", /at most 20 characters/],
      [{ prefix: "分开", length: 0 }, "length", /length must be an integer from 1 to 200/],
      [{ prefix: "分开", length: 201 }, "length", /from 1 to 200/],
      [{ prefix: "分开", length: 2.5 }, "length", /length/],
      [{ prefix: "分开", length: "5" }, "length", /got "5"/],
      [{ prefix: "分开", temperature: -1 }, "temperature", /temperature must be a number from 0/],
      [{ prefix: "分开", temperature: 5.5 }, "temperature", /from 0 to 5/],
      [
        { prefix: "分开", topK: 0 },
        "topK",
        new RegExp(`topK must be an integer from 1 to ${vocab.size}`),
      ],
      [{ prefix: "分开", topK: vocab.size + 1 }, "topK", /topK/],
      [{ prefix: "分开", topP: 0 }, "topP", /topP must be a number in \(0, 1\]/],
      [{ prefix: "分开", topP: 1.5 }, "topP", /topP/],
      [{ prefix: "分开", seed: 0.5 }, "seed", /seed must be a safe integer/],
      [{ prefix: "分开", seed: Number.MAX_SAFE_INTEGER }, "seed", /seed/],
      [{ prefix: "分开", lenght: 5 }, "lenght", /unknown field "lenght"/],
    ];
    for (const [body, field, pattern] of bad) {
      assertError(await post(base, JSON.stringify(body)), 400, pattern, field);
    }
    // Unknown characters are a generation error, reported before the response starts.
    assertError(
      await post(base, JSON.stringify({ prefix: "分开xyz" })),
      400,
      /"x", "y", "z"/,
      "prefix",
    );

    // Too large: a plain body (Content-Length says so) and a chunked one (no Content-Length).
    const big = JSON.stringify({ prefix: "分开", pad: "x".repeat(5000) });
    assertError(await post(base, big), 413, /larger than 4096 bytes/);
    const chunk = new TextEncoder().encode(" ".repeat(2048));
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(chunk);
        c.close();
      },
    });
    assertError(await post(base, chunked), 413, /larger than 4096 bytes/);
  });
});

Deno.test("a word-level checkpoint's text settings split the prefix into words", async () => {
  const words = Vocab.build(["the", "time", "traveller", "was", "here"]);
  const wordModel = createModel({ vocabSize: words.size, hidden: 8 }, { seed: 1, initScale: 0.8 });
  const wordText = resolveTextConfig({ tokens: "word", normalize: "letters" });
  await withServer(async (base) => {
    const r = await post(base, JSON.stringify({ prefix: "The TIME", length: 4 }));
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /^the time( \S+){4}$/);
    const expected = await generate(wordModel, words, "The TIME", { length: 4, text: wordText });
    assert.equal(r.text, expected);
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal((await health.json()).tokens, "word");
    assertError(
      await post(base, JSON.stringify({ prefix: "the zebra" })),
      400,
      /"zebra"/,
      "prefix",
    );
  }, await encodeCheckpoint({ model: wordModel, vocab: words, text: wordText }));
});

Deno.test("createHandler() refuses bytes that are not a version-2 checkpoint", () => {
  assert.throws(() => createHandler(new Uint8Array([1, 2, 3])), CheckpointError);
  const v1 = encodeSafetensors({
    tensors: [{ name: "b_q", shape: [2], data: new Float32Array(2) }],
    metadata: { format: "rnn-wasm", format_version: "1" },
  });
  assert.throws(() => createHandler(v1), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /version-1 checkpoint/);
    return true;
  });
  assert.throws(() => createHandler(bytes, { maxLength: 0 }), /limits\.maxLength/);
});

Deno.test("unknown paths get 404 and wrong methods 405 with Allow", async () => {
  await withServer(async (base) => {
    const req = async (path: string, method: string) => {
      const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(10_000) });
      return { res, body: await res.json() };
    };
    const nf = await req("/nope", "GET");
    assert.equal(nf.res.status, 404);
    assert.match(nf.body.error, /no route \/nope/);
    const g = await req("/generate", "GET");
    assert.equal(g.res.status, 405);
    assert.equal(g.res.headers.get("allow"), "POST");
    assert.match(g.body.error, /GET is not allowed on \/generate/);
    const h = await req("/health", "POST");
    assert.equal(h.res.status, 405);
    assert.equal(h.res.headers.get("allow"), "GET, HEAD");
  });
});

/** The example's entry point running as a subprocess, its stdout collected as it comes. */
interface Served {
  base: string;
  /** Waits (at most `ms`) for a line of stdout matching `pattern`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Stops the server (SIGTERM) and returns what it wrote to stderr. */
  stop(): Promise<string>;
}

/** Starts the example on a free loopback port with net, env and `file`'s read permission only. */
async function serveMain(file: string): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-env", `--allow-read=${file}`, MAIN],
    env: { MODEL: file, PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // Bounded: the child is killed if it is still running after 60 s.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  let out = "";
  let exited = false;
  const pump = (async () => {
    for await (const piece of child.stdout.pipeThrough(new TextDecoderStream())) out += piece;
    exited = true;
  })();
  const stop = async () => {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await pump;
    return await stderr;
  };
  const waitFor = async (pattern: RegExp, ms = 10_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const match = out.match(pattern);
      if (match) return match;
      if (exited || Date.now() > end) {
        assert.fail(`no ${pattern} in the example's stdout: ${out}${exited ? await stderr : ""}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    const [, base] = await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\//, 30_000);
    return { base, waitFor, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

Deno.test("the example's main serves a model file with net, env and that file's read only", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/model.safetensors`;
  await Deno.writeFile(file, bytes);
  const served = await serveMain(file);
  try {
    const base = served.base;
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal((await health.json()).vocab, vocab.size);
    const r = await post(base, JSON.stringify({ prefix: "分开", length: 20 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, await generate(model, vocab, "分开", { length: 20 }));
  } finally {
    await served.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the example's main serves an 8-bit checkpoint unchanged, with the 8-bit model's text", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/model8.safetensors`, small = await quantize(model);
  await Deno.writeFile(file, await encodeCheckpoint({ model: small, vocab, text }));
  const served = await serveMain(file);
  try {
    const r = await post(served.base, JSON.stringify({ prefix: "分开", length: 20 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, await generate(small, vocab, "分开", { length: 20 }));
  } finally {
    await served.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs the example's main to its exit (at most 30 s) with this environment and read access. */
async function runMain(
  env: Record<string, string>,
  allowRead: string | undefined,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      ...(allowRead ? [`--allow-read=${allowRead}`] : []),
      MAIN,
    ],
    env: { PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the example's start-up errors are one line naming the port or the file", async () => {
  const dir = await Deno.makeTempDir();
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const good = `${dir}/model.safetensors`;
  const missing = `${dir}/missing.safetensors`;
  const garbage = `${dir}/garbage.safetensors`;
  const v1 = `${dir}/v1.safetensors`;
  await Deno.writeFile(good, bytes);
  await Deno.writeTextFile(garbage, "this is not a model\n");
  await Deno.writeFile(
    v1,
    encodeSafetensors({
      tensors: [{ name: "b_q", shape: [2], data: new Float32Array(2) }],
      metadata: { format: "rnn-wasm", format_version: "1" },
    }),
  );
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busy = listener.addr.port;
  const cases: [string, Record<string, string>, string | undefined, number, RegExp][] = [
    [
      "a busy port",
      { MODEL: good, PORT: String(busy) },
      dir,
      1,
      new RegExp(
        `^error: cannot listen on 127\\.0\\.0\\.1:${busy}: port ${busy} is in use ` +
          `\\(another server\\?\\); stop it or set PORT to a free port\\n$`,
      ),
    ],
    [
      "a missing model",
      { MODEL: missing },
      dir,
      1,
      new RegExp(
        `^error: ${escape(missing)}: no such file; train a model with ` +
          `\`deno run -A mod\\.ts train --save ${escape(missing)}\` ` +
          "or set MODEL to a checkpoint's path or URL\\n$",
      ),
    ],
    [
      "a garbage model",
      { MODEL: garbage },
      dir,
      1,
      new RegExp(`^error: ${escape(garbage)}: not a safetensors file[^\\n]*\\n$`),
    ],
    [
      "a version-1 model",
      { MODEL: v1 },
      dir,
      1,
      new RegExp(
        `^error: ${escape(v1)}: this is a version-1 checkpoint[^\\n]*train the model again\\n$`,
      ),
    ],
    [
      "a folder",
      { MODEL: dir },
      dir,
      1,
      new RegExp(`^error: ${escape(dir)}: it is a folder; set MODEL to a checkpoint file\\n$`),
    ],
    [
      "a port that is not a number",
      { MODEL: good, PORT: "80a" },
      dir,
      2,
      /^error: PORT must be an integer from 0 to 65535, got "80a"\n$/,
    ],
    [
      "no read permission",
      { MODEL: good },
      undefined,
      2,
      new RegExp(`^error: [^\\n]*read access to "${escape(good)}"[^\\n]*--allow-read[^\\n]*\\n$`),
    ],
  ];
  try {
    for (const [what, env, allowRead, code, line] of cases) {
      const r = await runMain(env, allowRead);
      assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
      assert.match(r.stderr, line, what);
      assert.doesNotMatch(r.stderr, /\n\s+at /, what);
      assert.equal(r.stdout, "", what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that goes away mid-stream stops its generation and is no error", async () => {
  // Wide enough that 1000 tokens take far longer than the client needs to go away.
  const slow = createModel({ vocabSize: vocab.size, hidden: 512, cell: "lstm" }, {
    seed: 5,
    initScale: 0.5,
  });
  const dir = await Deno.makeTempDir();
  const file = `${dir}/model.safetensors`;
  await Deno.writeFile(file, await encodeCheckpoint({ model: slow, vocab, text }));
  const served = await serveMain(file);
  let stderr = "";
  try {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10_000);
    const res = await fetch(`${served.base}/generate`, {
      method: "POST",
      body: JSON.stringify({ prefix: "分开", length: 1000 }),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.length > 0);
    controller.abort();
    clearTimeout(timer);
    await assert.rejects(() => reader.read());
    const [, tokens] = await served.waitFor(
      /^edge: POST \/generate: the client went away after (\d+) of 1000 tokens; generation stopped$/m,
    );
    assert.ok(Number(tokens) < 1000, tokens);

    // A client that goes away in the middle of its request body, and one that stops sending
    // (half-closes) but still listens: the latter hears a 400.
    const { port } = new URL(served.base);
    const head = "POST /generate HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n";
    const partial = new TextEncoder().encode(`${head}{"prefix": "分`);
    const gone = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await gone.write(partial);
    gone.close();
    const half = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await half.write(partial);
    await half.closeWrite();
    const answer = await new Response(half.readable).text();
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"error":"the request body was cut off: [^"]*"/);

    // The server goes on serving.
    const r = await post(served.base, JSON.stringify({ prefix: "分开", length: 20 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, await generate(slow, vocab, "分开", { length: 20 }));
  } finally {
    stderr = await served.stop();
    await Deno.remove(dir, { recursive: true });
  }
  // Nothing on stderr at all: no error, no stack, not even the 500 path's one-line log.
  assert.doesNotMatch(stderr, /error|\n\s+at /i, stderr);
  assert.equal(stderr, "");
});
