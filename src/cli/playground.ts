/**
 * The `playground` command: serves the browser playground (`web/`) on localhost, with the
 * cross-origin isolation headers (COOP and COEP) that give the page shared memory, so its training
 * runs on several threads. Everything comes from this package (the page, its bundles in
 * `web/dist/`, the corpora through `loadText`): it works offline once the corpora are at hand.
 *
 * @module
 */
import { DataError, UsageError } from "../errors.ts";
import { loadText } from "../io/corpus_files.ts";
import { choiceFlag, type CommandFlags, intFlag, parseFlags } from "./args.ts";

/** The flags of `playground`. */
export const PLAYGROUND_FLAGS: CommandFlags = {
  settings: [],
  own: {
    port: { type: "string", value: "N", help: "port to listen on; 0 picks a free one [8000]" },
    host: { type: "string", value: "HOST", help: "address to listen on [127.0.0.1]" },
    isolation: {
      type: "string",
      value: "on|off",
      help: "off: serve without COOP/COEP (the page then trains on one thread) [on]",
    },
  },
};

const WEB = new URL("../../web/", import.meta.url);

/** The files the page loads, by path, with their types. */
const FILES: Record<string, [URL, string]> = {
  "/": [new URL("index.html", WEB), "text/html; charset=utf-8"],
  "/index.html": [new URL("index.html", WEB), "text/html; charset=utf-8"],
  "/style.css": [new URL("style.css", WEB), "text/css; charset=utf-8"],
  "/app.js": [new URL("dist/app.js", WEB), "text/javascript; charset=utf-8"],
  "/worker.js": [new URL("dist/worker.js", WEB), "text/javascript; charset=utf-8"],
  "/thread_worker.js": [new URL("dist/thread_worker.js", WEB), "text/javascript; charset=utf-8"],
};

/**
 * Answers one request of the page: a file, a corpus, or 404.
 *
 * @param request The request.
 * @param isolated Whether to send the cross-origin isolation headers.
 * @returns The response.
 */
export async function servePlayground(request: Request, isolated: boolean): Promise<Response> {
  const headers = new Headers({ "cache-control": "no-store" });
  if (isolated) {
    headers.set("cross-origin-opener-policy", "same-origin");
    headers.set("cross-origin-embedder-policy", "require-corp");
    headers.set("cross-origin-resource-policy", "same-origin");
  }
  const path = new URL(request.url).pathname;
  const file = FILES[path];
  if (file) {
    headers.set("content-type", file[1]);
    const response = await fetch(file[0]);
    return new Response(await response.arrayBuffer(), { headers });
  }
  if (path === "/data/corpora.json") {
    // Which corpora this server has (on disk or downloadable), so that the page asks only for
    // those: a missing one is a note on the page, not a failed request.
    const names = ["jaychou", "timemachine"] as const;
    const found = await Promise.all(names.map((n) => loadText(n).then(() => true, () => false)));
    headers.set("content-type", "application/json");
    return new Response(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, found[i]]))), {
      headers,
    });
  }
  const corpus = path.match(/^\/data\/(jaychou|timemachine)\.txt$/)?.[1];
  if (corpus) {
    try {
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(await loadText(corpus), { headers });
    } catch (e) {
      return new Response(`the ${corpus} corpus is not available: ${(e as Error).message}`, {
        status: 404,
        headers,
      });
    }
  }
  return new Response("not found", { status: 404, headers });
}

/**
 * Runs `playground` until Ctrl-C.
 *
 * @param args The arguments after `playground`.
 * @returns The exit code, 0.
 */
export async function runPlayground(args: string[]): Promise<number> {
  const { own } = parseFlags(args, PLAYGROUND_FLAGS);
  const port = intFlag("port", own.port, 8000, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const hostname = (own.host as string | undefined) ?? "127.0.0.1";
  if (hostname === "") throw new UsageError("--host needs an address");
  const isolated = choiceFlag("isolation", own.isolation, ["on", "off"]) === "on";
  const stop = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port,
      hostname,
      signal: stop.signal,
      onListen: ({ port }) => {
        const host = hostname === "127.0.0.1" ? "localhost" : hostname;
        console.log(
          `playground on http://${host}:${port}/ (${
            isolated
              ? "cross-origin isolated: training on several threads"
              : "not isolated: training on one thread"
          }); Ctrl-C stops it`,
        );
      },
      onError: (e) => {
        console.error(`error: ${(e as Error).message}`);
        return new Response("internal error", { status: 500 });
      },
    }, (request) => servePlayground(request, isolated));
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new DataError(
        `cannot listen on ${hostname}:${port}: the port is in use (another server?); stop it or ` +
          "give --port another port (0 picks a free one)",
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable) {
      throw new DataError(`cannot listen on ${hostname}: no such address on this machine`);
    }
    throw e;
  }
  const onSigint = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  return 0;
}
