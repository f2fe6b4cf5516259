/**
 * The playground page: the form, the progress, the perplexity chart (the CLI's `--plot` chart),
 * the samples, streamed generation, and files. Everything that computes runs in the training
 * worker (`worker.ts`); this only sends requests and draws replies. `window.playground` exposes
 * the page's state for tests and the curious.
 *
 * @module
 */
/// <reference lib="dom" />
import { perplexityChart } from "../src/book/perplexity_plot.ts";
import { PRESETS } from "../src/config/presets.ts";
import { readZipEntries, readZipMember } from "../src/io/zip.ts";
import type { EpochReport } from "../mod.ts";
import type { BackendChoice, ModelSummary, Reply, Request, TrainSettings } from "./protocol.ts";

/** What the page has seen, for tests: read-only from outside. */
const state = {
  corpus: undefined as { name: string; tokens: number; vocab: number } | undefined,
  training: false,
  backend: "",
  notes: [] as string[],
  history: [] as EpochReport[],
  samples: [] as string[],
  generated: "",
  generating: false,
  model: undefined as ModelSummary | undefined,
  errors: [] as string[],
  lastFile: undefined as { name: string; bytes: Uint8Array } | undefined,
};
(globalThis as unknown as { playground: typeof state }).playground = state;

const $ = <T extends HTMLElement = HTMLInputElement>(id: string) =>
  document.getElementById(id) as T;
const value = (id: string) => $(id).value;
const number = (id: string) => Number(value(id));
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (request: Request, transfer: Transferable[] = []) =>
  worker.postMessage(request, transfer);

// Notes that hold before anything runs: isolation (threads) and WebGPU.
const notes: string[] = [];
if (!crossOriginIsolated) {
  notes.push(
    "This page is not cross-origin isolated (served without COOP/COEP headers): no shared " +
      "memory, so training runs on one thread.",
  );
}
if (!("gpu" in navigator)) notes.push("This browser has no WebGPU: training runs on WebAssembly.");
showNotes(notes);

function showNotes(lines: string[]) {
  const p = $("notes");
  p.hidden = lines.length === 0;
  p.textContent = lines.join(" ");
  state.notes = lines;
}

function showError(message: string) {
  state.errors.push(message);
  const p = $("error");
  p.hidden = false;
  p.textContent = message;
}

function clearError() {
  $("error").hidden = true;
}

// Presets fill the form with the book's runs.
for (const [name, preset] of Object.entries(PRESETS)) {
  const option = document.createElement("option");
  option.value = name;
  option.textContent = `${name}: ${preset.description}`;
  $<HTMLSelectElement>("preset").append(option);
}
$("preset").addEventListener("change", () => {
  const preset = PRESETS[value("preset")];
  if (!preset) return;
  const s = preset.settings as Record<string, unknown>;
  const fields: [string, string][] = [
    ["cell", "cell"],
    ["layers", "layers"],
    ["hidden", "hidden"],
    ["epochs", "epochs"],
    ["numSteps", "num-steps"],
    ["batchSize", "batch-size"],
    ["optimizer", "optimizer"],
    ["lr", "lr"],
    ["clip", "clip"],
    ["sampling", "sampling"],
    ["tokens", "tokens"],
    ["normalize", "normalize"],
    ["maxTokens", "max-tokens"],
  ];
  for (const [key, id] of fields) if (s[key] !== undefined) $(id).value = String(s[key]);
  if (typeof s.corpus === "string") $("corpus").value = s.corpus;
});

// The corpus: a named one, or pasted or dropped text (.txt or .zip).
$("corpus").addEventListener("change", () => {
  $("own-text").hidden = value("corpus") !== "own";
});
async function fileText(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!file.name.toLowerCase().endsWith(".zip")) return new TextDecoder().decode(bytes);
  const entry = readZipEntries(bytes, file.name).find((e) => e.name.endsWith(".txt"));
  if (!entry) throw new Error(`${file.name} holds no .txt file`);
  return new TextDecoder().decode(await readZipMember(bytes, entry, file.name));
}
$("text-file").addEventListener("change", async () => {
  const file = $("text-file").files?.[0];
  if (file) $<HTMLTextAreaElement>("text").value = await fileText(file);
});
$("text").addEventListener("dragover", (e) => e.preventDefault());
$("text").addEventListener("drop", async (e) => {
  e.preventDefault();
  const file = (e as DragEvent).dataTransfer?.files[0];
  if (file) $<HTMLTextAreaElement>("text").value = await fileText(file);
});
function useCorpus(initial = false) {
  clearError();
  const name = value("corpus");
  send({
    type: "corpus",
    source: name === "own"
      ? { kind: "text", text: $<HTMLTextAreaElement>("text").value, name: "your text" }
      : { kind: "named", name: name as "jaychou" | "timemachine" },
    settings: {
      tokens: value("tokens") as "char" | "word",
      normalize: value("normalize") as "none" | "letters",
      maxTokens: number("max-tokens"),
    },
    initial,
  });
}
$("use-corpus").addEventListener("click", () => useCorpus());

// Training.
function settings(): TrainSettings {
  return {
    cell: value("cell") as TrainSettings["cell"],
    layers: number("layers"),
    hidden: number("hidden"),
    epochs: number("epochs"),
    numSteps: number("num-steps"),
    batchSize: number("batch-size"),
    optimizer: value("optimizer") as TrainSettings["optimizer"],
    lr: number("lr"),
    clip: number("clip"),
    sampling: value("sampling") as TrainSettings["sampling"],
    valFraction: number("val-fraction"),
    predEvery: number("pred-every"),
    // The book's prefixes; for another text the Generate prefix (the worker falls back to the
    // text's first token when that prefix is not in the vocabulary).
    prefixes: value("corpus") === "jaychou"
      ? ["分开", "不分开"]
      : value("corpus") === "timemachine"
      ? ["time traveller"]
      : [value("prefix")],
    seed: 0,
    tokens: value("tokens") as TrainSettings["tokens"],
    normalize: value("normalize") as TrainSettings["normalize"],
    maxTokens: number("max-tokens"),
  };
}
$("train").addEventListener("click", () => {
  clearError();
  if (!state.corpus) return showError("choose a corpus first (Use this corpus)");
  state.training = true;
  state.backend = "";
  state.history = [];
  state.samples = [];
  $("samples").replaceChildren();
  $("chart").replaceChildren();
  $<HTMLButtonElement>("train").disabled = true;
  $<HTMLButtonElement>("stop").disabled = false;
  send({
    type: "train",
    settings: settings(),
    backend: value("backend") as BackendChoice,
    threads: number("threads"),
  });
});
$("stop").addEventListener("click", () => send({ type: "stop" }));

// Generation, streamed.
$("generate").addEventListener("click", () => {
  clearError();
  state.generated = "";
  state.generating = true;
  $("output").textContent = ""; // the stream starts with the prefix
  const topK = number("top-k"), topP = number("top-p");
  send({
    type: "generate",
    settings: {
      prefix: value("prefix"),
      length: number("length"),
      temperature: number("temperature"),
      ...(topK > 0 ? { topK } : {}),
      ...(topP < 1 ? { topP } : {}),
      seed: number("seed"),
    },
  });
});

// Files: download, load from disk or a URL, keep in IndexedDB.
$("save").addEventListener("click", () => send({ type: "save" }));
$("export").addEventListener("click", () => send({ type: "export" }));
$("load-file").addEventListener("change", async () => {
  const file = $("load-file").files?.[0];
  if (file) load(new Uint8Array(await file.arrayBuffer()), file.name);
});
$("load-url-button").addEventListener("click", async () => {
  clearError();
  const url = value("load-url");
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    load(new Uint8Array(await response.arrayBuffer()), url);
  } catch (e) {
    showError(`could not load ${url}: ${(e as Error).message}`);
  }
});
function load(bytes: Uint8Array, name: string) {
  clearError();
  send({ type: "load", bytes, name }, [bytes.buffer]);
}
function download(bytes: Uint8Array, name: string) {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The last model, kept across reloads when asked (one checkpoint in IndexedDB). */
const store = {
  async open(): Promise<IDBDatabase> {
    return await new Promise((resolve, reject) => {
      const r = indexedDB.open("rnn-wasm-playground", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("models");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  },
  async put(bytes: Uint8Array) {
    const db = await store.open();
    db.transaction("models", "readwrite").objectStore("models").put(bytes, "last");
  },
  async get(): Promise<Uint8Array | undefined> {
    const db = await store.open();
    return await new Promise((resolve) => {
      const r = db.transaction("models").objectStore("models").get("last");
      r.onsuccess = () => resolve(r.result as Uint8Array | undefined);
      r.onerror = () => resolve(undefined);
    });
  },
};
$("keep").checked = localStorage.getItem("rnn-wasm-keep") === "1";
$("keep").addEventListener("change", () => {
  localStorage.setItem("rnn-wasm-keep", $("keep").checked ? "1" : "0");
});
if ($("keep").checked) {
  store.get().then((bytes) => bytes && load(bytes, "the model kept in this browser"));
}
let saveForKeeping = false;

/** Redraws the chart at most every quarter second: a small model finishes epochs faster. */
let chartDue = false;
function drawChart() {
  if (chartDue) return;
  chartDue = true;
  setTimeout(async () => {
    chartDue = false;
    if (state.history.length === 0) return;
    $("chart").innerHTML = await perplexityChart(state.history, state.corpus?.name);
  }, 250);
}

// The worker's replies.
worker.onmessage = async (event: MessageEvent<Reply>) => {
  const reply = event.data;
  switch (reply.type) {
    case "corpus":
      state.corpus = { name: reply.name, tokens: reply.tokens, vocab: reply.vocab };
      $("corpus-info").textContent =
        `${reply.name}: ${reply.tokens} tokens, vocabulary ${reply.vocab}`;
      break;
    case "note":
      notes.push(reply.message);
      showNotes(notes);
      break;
    case "backend":
      state.backend = reply.label;
      $("backend-info").textContent = `training on ${reply.label}`;
      showNotes([...notes, ...reply.notes]);
      break;
    case "progress": {
      const r = reply.report;
      const done = ((r.epoch - 1) * r.steps + r.step) / (r.epochs * r.steps);
      $<HTMLProgressElement>("progress").value = done;
      $("progress-info").textContent =
        `epoch ${r.epoch} of ${r.epochs}, minibatch ${r.step} of ${r.steps}: ` +
        `perplexity ${r.perplexity.toFixed(2)}, ${Math.round(r.charsPerSecond)} characters/s, ` +
        `${Math.ceil(r.etaSeconds)} s left`;
      break;
    }
    case "epoch": {
      state.history.push(reply.report);
      drawChart();
      // The latest samples only: a small model reports thousands of epochs.
      for (const sample of Object.values(reply.report.samples ?? {})) {
        state.samples.push(sample);
        if (state.samples.length > 100) state.samples.shift();
        const li = document.createElement("li");
        li.textContent = `epoch ${reply.report.epoch}: ${sample}`;
        $("samples").append(li);
        while ($("samples").children.length > 12) $("samples").firstElementChild!.remove();
      }
      break;
    }
    case "trained":
      state.training = false;
      state.model = reply.model;
      $<HTMLButtonElement>("train").disabled = false;
      $<HTMLButtonElement>("stop").disabled = true;
      if (!reply.stopped) $<HTMLProgressElement>("progress").value = 1;
      $("progress-info").textContent =
        `${reply.stopped ? "stopped after" : "trained"} ${reply.epochs} epochs` +
        (Number.isFinite(reply.perplexity) ? `, perplexity ${reply.perplexity.toFixed(3)}` : "");
      if ($("keep").checked) {
        saveForKeeping = true;
        send({ type: "save" });
      }
      break;
    case "piece":
      state.generated += reply.text;
      $("output").textContent += reply.text;
      break;
    case "generated":
      state.generating = false;
      break;
    case "file":
      state.lastFile = { name: reply.name, bytes: reply.bytes };
      if (saveForKeeping) {
        saveForKeeping = false;
        await store.put(reply.bytes);
        break;
      }
      download(reply.bytes, reply.name);
      $("files-info").textContent = `${reply.name}: ${reply.bytes.length} bytes`;
      break;
    case "loaded":
      state.model = reply.model;
      $("files-info").textContent = `loaded ${reply.name}: ${reply.model.description}`;
      break;
    case "error":
      state.training = false;
      state.generating = false;
      $<HTMLButtonElement>("train").disabled = false;
      $<HTMLButtonElement>("stop").disabled = true;
      showError(reply.message);
      break;
  }
};
worker.onerror = (e) => showError(`the worker failed: ${e.message}`);

useCorpus(true);
