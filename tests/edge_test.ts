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

Deno.test("the example's main serves a model file with net, env and that file's read only", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/model.safetensors`;
  await Deno.writeFile(file, bytes);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-env", `--allow-read=${file}`, MAIN],
    env: { MODEL: file, PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  // Bounded: the child is killed if it has not answered in 30 s.
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    let match: RegExpMatchArray | null = null;
    while (!(match = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//))) {
      const { value, done } = await reader.read();
      if (done) assert.fail(`the example exited before listening: ${out}${await stderr}`);
      out += value;
    }
    const base = match[1];
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal((await health.json()).vocab, vocab.size);
    const r = await post(base, JSON.stringify({ prefix: "分开", length: 20 }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, await generate(model, vocab, "分开", { length: 20 }));
    child.kill("SIGTERM");
    await reader.cancel();
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  }
});
