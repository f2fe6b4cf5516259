/**
 * The messages between the playground page and its training worker: what the page asks, what the
 * worker answers. The worker owns the corpus, the model and its backend; the page only draws.
 *
 * @module
 */
import type { EpochReport, ProgressReport } from "../mod.ts";

/** Where the model runs, as the page asks for it. */
export type BackendChoice = "auto" | "wasm" | "webgpu";

/** The corpus, by name (served by the playground) or as text. */
export type CorpusSource =
  | { kind: "named"; name: "jaychou" | "timemachine" }
  | { kind: "text"; text: string; name: string };

/** Training settings (the library's names). */
export interface TrainSettings {
  cell: "rnn" | "gru" | "lstm";
  layers: number;
  hidden: number;
  epochs: number;
  numSteps: number;
  batchSize: number;
  optimizer: "sgd" | "adam";
  lr: number;
  clip: number;
  sampling: "random" | "sequential";
  valFraction: number;
  predEvery: number;
  prefixes: string[];
  seed: number;
  tokens: "char" | "word";
  normalize: "none" | "letters";
  maxTokens: number;
}

/** Generation settings. */
export interface GenerateSettings {
  prefix: string;
  length: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
}

/** What the page asks. */
export type Request =
  | {
    type: "corpus";
    source: CorpusSource;
    settings: Pick<TrainSettings, "tokens" | "normalize" | "maxTokens">;
    /** The page's first load: a named corpus the server lacks is a note, not an error. */
    initial?: boolean;
  }
  | { type: "train"; settings: TrainSettings; backend: BackendChoice; threads: number }
  | { type: "stop" }
  | { type: "generate"; settings: GenerateSettings }
  | { type: "save" }
  | { type: "export" }
  | { type: "load"; bytes: Uint8Array; name: string };

/** A model's summary: its shape and a checksum of its weights (to compare with a file's). */
export interface ModelSummary {
  description: string;
  parameters: number;
  /** Σ|w| over every weight, as float64. */
  checksum: number;
}

/** What the worker answers. */
export type Reply =
  | { type: "corpus"; name: string; tokens: number; vocab: number }
  | { type: "backend"; label: string; notes: string[] }
  | { type: "progress"; report: ProgressReport }
  | { type: "epoch"; report: EpochReport }
  | { type: "trained"; epochs: number; perplexity: number; stopped: boolean; model: ModelSummary }
  | { type: "piece"; text: string }
  | { type: "generated"; text: string }
  | { type: "file"; bytes: Uint8Array; name: string }
  | { type: "loaded"; model: ModelSummary; name: string }
  | { type: "note"; message: string }
  | { type: "error"; message: string };
