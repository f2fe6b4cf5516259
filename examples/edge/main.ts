/**
 * An edge function that continues text with a trained model: `POST /generate` streams the text
 * back as it is made, `GET /health` describes the model. The handler gets the checkpoint as bytes
 * and never touches the file system; the kernels are inlined in the library, so it runs where
 * `Deno.serve` runs (Deno Deploy, a container, a laptop) with network permission only.
 *
 * Run it (the model is read once, at start):
 *
 * ```sh
 * deno run --allow-net --allow-read=model.safetensors --allow-env examples/edge/main.ts
 * ```
 *
 * Environment: `MODEL` (a path or an `http(s):`/`file:` URL; default `model.safetensors`),
 * `PORT` (default 8000), `HOST` (default `0.0.0.0`). See `examples/edge/README.md`.
 *
 * A start-up problem is one line on stderr naming the file, URL or address: exit 1 for a model
 * that is missing, unreadable or not a checkpoint and for an address it cannot listen on, 2 for a
 * usage mistake (a `PORT` that is not a port, an empty `HOST`, a missing permission flag), 70 with
 * the stack for anything else, a bug.
 *
 * @module
 */
import {
  CheckpointError,
  decodeCheckpoint,
  generateReadableStream,
  type GenerateStreamOptions,
  UsageError,
} from "../../mod.ts";

/** Bounds on what one request may ask for; every field is optional. */
export interface EdgeLimits {
  /** Largest request body in bytes, counted as it is read; default 4096. */
  maxBodyBytes?: number;
  /** Longest prefix in characters (code points); default 256. */
  maxPrefixChars?: number;
  /** Most tokens one request may generate; default 1000. */
  maxLength?: number;
  /** Highest sampling temperature; default 5. */
  maxTemperature?: number;
}

/** The fields of a `POST /generate` body, checked. */
interface GenerateRequest {
  prefix: string;
  length: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

/** A request the handler refuses: its status and the message sent as `{error, field}`. */
class RequestError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

const FIELDS = ["prefix", "length", "temperature", "topK", "topP", "seed"];

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(`limits.${name} must be an integer >= 1, got ${value}`);
  }
  return v;
}

/** Whether an error reading a request body means the connection ended early (not a bug). */
function connectionLost(e: unknown): boolean {
  const E = Deno.errors;
  return [E.BadResource, E.Http, E.ConnectionReset, E.ConnectionAborted, E.UnexpectedEof]
    .some((kind) => e instanceof kind);
}

/** Reads at most `max` bytes of a body: a lying or absent Content-Length cannot make it read more. */
async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): Promise<Uint8Array> {
  const tooLarge = () => new RequestError(413, `the request body is larger than ${max} bytes`);
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    // The client went away or cut its body short: its mistake (if it still listens), not ours.
    if (connectionLost(e)) {
      throw new RequestError(
        400,
        "the request body was cut off: the connection ended before all of it came",
      );
    }
    throw e;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

/**
 * Passes a generated body through unchanged; when the client goes away before its end (the server
 * cancels the body), it cancels generation, waits for it to stop, and says so in one quiet line.
 */
function watchCancel(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let chunks = 0;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (cancelled) return;
      if (done) controller.close();
      else {
        chunks++;
        controller.enqueue(value);
      }
    },
    async cancel(reason) {
      cancelled = true;
      await reader.cancel(reason);
      // The first chunk is the prefix; each later one a token.
      const tokens = Math.max(0, chunks - 1);
      console.log(
        `edge: POST /generate: the client went away after ${tokens} of ${length} tokens; ` +
          "generation stopped",
      );
    },
  }, { highWaterMark: 0 });
}

/**
 * Creates the request handler of the edge function from a checkpoint's bytes (as
 * `encodeCheckpoint` writes them or a `.safetensors` file holds them). The model is decoded once,
 * here; the handler itself touches no file system.
 *
 * Routes: `POST /generate` with a JSON body `{prefix, length?, temperature?, topK?, topP?, seed?}`
 * streams `prefix` and its continuation as `text/plain; charset=utf-8` (greedy unless
 * `temperature` > 0); `GET /health` answers `{ok: true, vocab, cell, hidden, layers, tokens}`.
 * A bad request gets 400 (413 for a body over `maxBodyBytes`) with JSON `{error, field}` naming
 * the field (also when the connection ends before the body does); an unknown path 404; a wrong
 * method 405 with an `Allow` header. Unexpected errors give 500 `{error: "internal error"}`, never
 * a stack trace, and are logged on stderr. A client that goes away while the text streams stops
 * its generation; that is noted on stdout in one line, not logged as an error.
 *
 * @param modelBytes A checkpoint's bytes (format version 2).
 * @param limits Bounds on request size and on what a request may ask for.
 * @returns A handler for `Deno.serve`.
 * @throws {CheckpointError} When the bytes are not a valid checkpoint (the message says why).
 * @throws {RangeError} When a limit is not an integer >= 1.
 * @example Serve a tiny model and ask it for text
 * ```ts
 * import { createModel, encodeCheckpoint, Vocab } from "../../mod.ts";
 * import { createHandler } from "./main.ts";
 *
 * const vocab = new Vocab(["a", "b", "c"]);
 * const model = createModel({ vocabSize: 3, hidden: 8 }, { initScale: 0.5 });
 * const text = { tokens: "char", normalize: "none", maxTokens: 0, minFreq: 0 } as const;
 * const handler = createHandler(await encodeCheckpoint({ model, vocab, text }));
 * const res = await handler(
 *   new Request("http://localhost/generate", {
 *     method: "POST",
 *     body: JSON.stringify({ prefix: "ab", length: 5 }),
 *   }),
 * );
 * console.log(res.status, (await res.text()).length); // 200 7
 * ```
 */
export function createHandler(
  modelBytes: Uint8Array,
  limits: EdgeLimits = {},
): (req: Request) => Promise<Response> {
  const { model, vocab, text } = decodeCheckpoint(modelBytes);
  const maxBodyBytes = positiveInt("maxBodyBytes", limits.maxBodyBytes, 4096);
  const maxPrefixChars = positiveInt("maxPrefixChars", limits.maxPrefixChars, 256);
  const maxLength = positiveInt("maxLength", limits.maxLength, 1000);
  const maxTemperature = limits.maxTemperature ?? 5;
  if (!(Number.isFinite(maxTemperature) && maxTemperature >= 0)) {
    throw new RangeError(
      `limits.maxTemperature must be a finite number >= 0, got ${maxTemperature}`,
    );
  }
  const V = model.config.vocabSize;
  const health = {
    ok: true,
    vocab: V,
    cell: model.config.cell,
    hidden: model.config.hidden,
    layers: model.config.layers,
    tokens: text.tokens,
  };

  function parse(bytes: Uint8Array): GenerateRequest {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      throw new RequestError(400, "the request body is not valid UTF-8 JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new RequestError(400, "the request body must be a JSON object");
    }
    const b = body as Record<string, unknown>;
    const extra = Object.keys(b).filter((k) => !FIELDS.includes(k));
    if (extra.length > 0) {
      throw new RequestError(
        400,
        `unknown field ${JSON.stringify(extra[0])}; expected ${FIELDS.join(", ")}`,
        extra[0],
      );
    }
    const bad = (field: string, expected: string) =>
      new RequestError(400, `${field} must be ${expected}, got ${JSON.stringify(b[field])}`, field);
    const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
    const { prefix, length = 50, temperature, topK, topP, seed } = b;
    if (typeof prefix !== "string" || prefix.length === 0) {
      throw bad("prefix", "a non-empty string");
    }
    if (Array.from(prefix).length > maxPrefixChars) {
      throw new RequestError(400, `prefix must be at most ${maxPrefixChars} characters`, "prefix");
    }
    if (!Number.isInteger(length) || (length as number) < 1 || (length as number) > maxLength) {
      throw bad("length", `an integer from 1 to ${maxLength}`);
    }
    if (
      temperature !== undefined &&
      !(isNum(temperature) && temperature >= 0 && temperature <= maxTemperature)
    ) {
      throw bad("temperature", `a number from 0 to ${maxTemperature}`);
    }
    if (
      topK !== undefined &&
      !(Number.isInteger(topK) && (topK as number) >= 1 && (topK as number) <= V)
    ) {
      throw bad("topK", `an integer from 1 to ${V}`);
    }
    if (topP !== undefined && !(isNum(topP) && topP > 0 && topP <= 1)) {
      throw bad("topP", "a number in (0, 1]");
    }
    // The sampler seeds row r with seed + r, so seed + 1 must stay safe too.
    if (
      seed !== undefined &&
      !(Number.isSafeInteger(seed) && Number.isSafeInteger((seed as number) + 1))
    ) {
      throw bad("seed", "a safe integer");
    }
    return {
      prefix,
      length: length as number,
      temperature: temperature as number | undefined,
      topK: topK as number | undefined,
      topP: topP as number | undefined,
      seed: seed as number | undefined,
    };
  }

  async function generateRoute(req: Request): Promise<Response> {
    // A declared size over the limit is refused unread; an honest or absent one is not trusted.
    const declared = Number(req.headers.get("content-length") ?? 0);
    if (declared > maxBodyBytes) {
      throw new RequestError(413, `the request body is larger than ${maxBodyBytes} bytes`);
    }
    const r = parse(await readBounded(req.body, maxBodyBytes));
    const options: GenerateStreamOptions = { length: r.length, text };
    if (r.temperature !== undefined) options.temperature = r.temperature;
    if (r.topK !== undefined) options.topK = r.topK;
    if (r.topP !== undefined) options.topP = r.topP;
    if (r.seed !== undefined) options.seed = r.seed;
    let body: ReadableStream<Uint8Array>;
    try {
      // Options and the prefix's characters are checked here, before the response starts.
      body = generateReadableStream(model, vocab, r.prefix, options);
    } catch (e) {
      if (e instanceof UsageError) {
        throw new RequestError(400, e.message, /prefix/.test(e.message) ? "prefix" : undefined);
      }
      throw e;
    }
    return new Response(watchCancel(body, r.length), {
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  }

  return async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    try {
      if (path === "/generate") {
        if (req.method !== "POST") {
          return json(405, { error: `${req.method} is not allowed on /generate; use POST` }, {
            allow: "POST",
          });
        }
        return await generateRoute(req);
      }
      if (path === "/health") {
        if (req.method !== "GET" && req.method !== "HEAD") {
          return json(405, { error: `${req.method} is not allowed on /health; use GET` }, {
            allow: "GET, HEAD",
          });
        }
        return json(200, health);
      }
      return json(404, { error: `no route ${path}; try POST /generate or GET /health` });
    } catch (e) {
      if (e instanceof RequestError) {
        return json(
          e.status,
          e.field ? { error: e.message, field: e.field } : { error: e.message },
        );
      }
      console.error(`edge: ${req.method} ${path}: ${e instanceof Error ? e.message : String(e)}`);
      return json(500, { error: "internal error" });
    }
  };
}

/** A start-up problem the user can fix: one line on stderr, then this exit code. */
class StartupError extends Error {
  constructor(readonly code: 1 | 2, message: string) {
    super(message);
  }
}

const TRAIN = "deno run -A mod.ts train --save";

/** `path` as one shell word, quoted when it needs to be. */
function shellWord(path: string): string {
  return /^[\w./:@%+=,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * Reads the model once: an `http(s):` URL is fetched, a `file:` URL or anything else is a path.
 * A file that is missing or unreadable, or a URL that cannot be fetched, is a `StartupError`
 * naming it; a missing permission flag stays `NotCapable`.
 */
async function readModel(source: string): Promise<Uint8Array> {
  if (/^https?:/i.test(source)) {
    try {
      const res = await fetch(source);
      if (!res.ok) {
        await res.body?.cancel();
        throw new StartupError(1, `${source}: the server answered HTTP ${res.status}`);
      }
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      // fetch() rejects with a TypeError for a bad URL or a failed connection: the URL's fault.
      if (e instanceof StartupError || e instanceof Deno.errors.NotCapable) throw e;
      if (e instanceof TypeError || e instanceof Deno.errors.Http) {
        throw new StartupError(1, `${source}: the model could not be fetched: ${e.message}`);
      }
      throw e;
    }
  }
  const url = /^file:/i.test(source) ? new URL(source) : undefined;
  const path = url ? decodeURIComponent(url.pathname) : source;
  try {
    return await Deno.readFile(url ?? source);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new StartupError(
        1,
        `${source}: no such file; train a model with \`${TRAIN} ${shellWord(path)}\` ` +
          "or set MODEL to a checkpoint's path or URL",
      );
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new StartupError(1, `${source}: it is a folder; set MODEL to a checkpoint file`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new StartupError(1, `${source}: not readable (permission denied)`);
    }
    throw e;
  }
}

/** Serves on `hostname:port`; an address it cannot listen on is a `StartupError` naming it. */
function serve(
  hostname: string,
  port: number,
  handler: (req: Request) => Promise<Response>,
): void {
  const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  const why = (e: unknown): string | undefined => {
    if (e instanceof Deno.errors.AddrInUse) {
      return `port ${port} is in use (another server?); stop it or set PORT to a free port`;
    }
    if (e instanceof Deno.errors.AddrNotAvailable) {
      return "no network interface here has that address; set HOST (0.0.0.0: all of them)";
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      return "permission denied (ports below 1024 need privileges); set PORT to 1024 or above";
    }
    if (e instanceof Error && /failed to lookup address/.test(e.message)) {
      return `HOST ${JSON.stringify(hostname)} is not a name or address this machine can resolve`;
    }
    return undefined;
  };
  try {
    Deno.serve({
      port,
      hostname,
      onListen: (addr) => console.log(`listening on http://${addr.hostname}:${addr.port}/`),
    }, handler);
  } catch (e) {
    const reason = why(e);
    if (reason === undefined) throw e;
    throw new StartupError(1, `cannot listen on ${address}: ${reason}`);
  }
}

/** Reads the settings, the model, and starts serving. */
async function start(): Promise<void> {
  const source = Deno.env.get("MODEL") ?? "model.safetensors";
  const portText = Deno.env.get("PORT") ?? "8000";
  const hostname = Deno.env.get("HOST") ?? "0.0.0.0";
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new StartupError(
      2,
      `PORT must be an integer from 0 to 65535, got ${JSON.stringify(portText)}`,
    );
  }
  if (hostname === "") {
    throw new StartupError(2, `HOST must be a host name or address, got ""`);
  }
  const bytes = await readModel(source);
  let handler: (req: Request) => Promise<Response>;
  try {
    handler = createHandler(bytes);
  } catch (e) {
    if (e instanceof CheckpointError) throw new StartupError(1, `${source}: ${e.message}`);
    throw e;
  }
  serve(hostname, Number(portText), handler);
}

if (import.meta.main) {
  try {
    await start();
  } catch (e) {
    if (e instanceof StartupError) {
      console.error(`error: ${e.message}`);
      Deno.exit(e.code);
    }
    // Deno's own message names the resource and the flag to add.
    if (e instanceof Deno.errors.NotCapable) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    console.error(
      `internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n` +
        "This is a bug in the edge example. Please report it with the command you ran.",
    );
    Deno.exit(70);
  }
}
