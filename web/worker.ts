/**
 * The playground's training worker: it owns the corpus, the model and its backend, so the page
 * stays responsive while it trains (and may block on its threads' work: a worker may wait, the
 * page may not). Each Train disposes of the previous run's backend and its threads first, so
 * repeated runs do not grow the page's memory.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  type Backend,
  type Corpus,
  createThreadedBackend,
  createWasmBackend,
  decodeCheckpoint,
  encodeCheckpoint,
  exportPyTorch,
  generateStream,
  prefixTokens,
  type RnnModel,
  type TextConfig,
  textCorpus,
  train,
  UsageError,
  type Vocab,
  webGpuFor,
} from "../mod.ts";
import type { ModelSummary, Reply, Request } from "./protocol.ts";

/** The bundled module of the threads' workers, served beside this one. */
const THREAD_WORKER = new URL("./thread_worker.js", import.meta.url);

let corpus: Corpus | undefined, corpusName = "";
/** Corpus requests so far: only the latest one's corpus is kept. */
let corpusRequests = 0;
let current: { model: RnnModel; vocab: Vocab; text: TextConfig; backend: Backend } | undefined;
let stop: AbortController | undefined;

const post = (reply: Reply, transfer: Transferable[] = []) => self.postMessage(reply, transfer);

self.onmessage = async (event: MessageEvent<Request>) => {
  const request = event.data;
  try {
    if (request.type === "corpus") {
      const { source, settings } = request;
      // Loading a named corpus waits on the server: a later request (pasted text) may be done
      // first, and must not be overwritten when this one finishes.
      const mine = ++corpusRequests;
      if (request.initial && source.kind === "named") {
        // A server without the corpora still serves a page that trains on pasted text.
        const have = JSON.parse(await fetchText("./data/corpora.json")) as Record<string, boolean>;
        if (!have[source.name]) {
          post({
            type: "note",
            message: `This server has no ${source.name} corpus (put it in ./data or in the ` +
              "folder RNN_DATA_DIR names, and restart the playground); paste your own text.",
          });
          return;
        }
      }
      const raw = source.kind === "named"
        ? await fetchText(`./data/${source.name}.txt`)
        : source.text;
      if (mine !== corpusRequests) return;
      corpus = textCorpus(raw, settings);
      corpusName = source.name;
      post({
        type: "corpus",
        name: corpusName,
        tokens: corpus.indices.length,
        vocab: corpus.vocab.size,
      });
    } else if (request.type === "train") {
      await runTraining(request);
    } else if (request.type === "stop") {
      stop?.abort();
    } else if (request.type === "generate") {
      const { model, vocab, text } = need();
      const { prefix, ...options } = request.settings;
      let all = "";
      for await (const piece of generateStream(model, vocab, prefix, { ...options, text })) {
        all += piece;
        post({ type: "piece", text: piece });
      }
      post({ type: "generated", text: all });
    } else if (request.type === "save") {
      const { model, vocab, text } = need();
      const bytes = await encodeCheckpoint({ model, vocab, text });
      post({ type: "file", bytes, name: "playground.safetensors" }, [bytes.buffer]);
    } else if (request.type === "export") {
      const { model, vocab, text } = need();
      const bytes = await exportPyTorch(model, vocab, { text });
      post({ type: "file", bytes, name: "playground.pt.safetensors" }, [bytes.buffer]);
    } else if (request.type === "load") {
      const backend = current?.backend ?? createWasmBackend();
      const ckpt = decodeCheckpoint(request.bytes, { backend });
      if (current && current.backend !== backend) current.backend.dispose();
      current = { model: ckpt.model, vocab: ckpt.vocab, text: ckpt.text, backend };
      post({ type: "loaded", model: await summary(ckpt.model), name: request.name });
    }
  } catch (e) {
    post({ type: "error", message: e instanceof UsageError ? e.message : describe(e) });
  }
};

/** Trains on the corpus, reporting as it goes; the model stays for generating and saving. */
async function runTraining(request: Extract<Request, { type: "train" }>) {
  if (!corpus) throw new Error("choose a corpus first");
  const { settings } = request;
  current?.backend.dispose();
  current = undefined;
  const { backend, label, notes } = await chooseBackend(request.backend, request.threads);
  post({ type: "backend", label, notes });
  stop = new AbortController();
  const known = settings.prefixes.filter((p) => {
    try {
      prefixTokens(p, corpus!.vocab, corpus!.text);
      return true;
    } catch {
      return false;
    }
  });
  const prefixes = known.length > 0 ? known : [corpus.vocab.tokenAt(corpus.indices[0])];
  const result = await train(corpus, {
    ...settings,
    prefixes,
    backend,
    signal: stop.signal,
    progressMs: 200,
    onProgress: (report) => post({ type: "progress", report }),
    onEpoch: (report) => post({ type: "epoch", report }),
  });
  current = { model: result.model, vocab: corpus.vocab, text: corpus.text, backend };
  post({
    type: "trained",
    epochs: result.epochs,
    perplexity: result.perplexity,
    stopped: result.aborted,
    model: await summary(result.model),
  });
}

/** The backend the page asked for, and notes on what runs instead when it cannot. */
async function chooseBackend(
  choice: "auto" | "wasm" | "webgpu",
  threads: number,
): Promise<{ backend: Backend; label: string; notes: string[] }> {
  const notes: string[] = [];
  if (choice !== "wasm") {
    try {
      const gpu = await webGpuFor(choice);
      if (gpu) {
        if (gpu.fallback) notes.push("WebGPU runs on a software adapter here: slow");
        return { backend: gpu, label: `webgpu (${gpu.adapter})`, notes };
      }
      notes.push("no hardware GPU here: training runs on WebAssembly");
    } catch (e) {
      notes.push(`WebGPU is not available (${(e as Error).message}): training runs on WebAssembly`);
    }
  }
  if (threads > 1 && !crossOriginIsolated) {
    notes.push(
      "the page is not cross-origin isolated (no COOP/COEP headers), so there is no shared " +
        "memory: one thread",
    );
    threads = 1;
  }
  if (threads > 1) {
    const backend = await createThreadedBackend({ threads, workerUrl: THREAD_WORKER });
    return { backend, label: `wasm (${threads} threads)`, notes };
  }
  return { backend: createWasmBackend(), label: "wasm (1 thread)", notes };
}

/** The model's shape and a checksum of its weights. */
async function summary(model: RnnModel): Promise<ModelSummary> {
  const weights = await model.getWeights();
  let checksum = 0, parameters = 0;
  for (const w of Object.values(weights)) {
    parameters += w.length;
    for (const x of w) checksum += Math.abs(x);
  }
  const c = model.config;
  return {
    description: `${c.layers} x ${c.cell} of ${c.hidden}, vocabulary ${c.vocabSize}`,
    parameters,
    checksum,
  };
}

/** The model to generate from or save. */
function need() {
  if (!current) throw new UsageError("train a model or load a checkpoint first");
  return current;
}

/** A text the playground serves. */
async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return await response.text();
}

/** An error in words. */
function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
