/**
 * The command line: `train`, `generate`, `eval`, `seq`, `stats`, `export` and `import`. Usage
 * errors print one line and exit with code 2; no stack traces.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { int, num, oneOf, parse, UsageError } from "./args.ts";
import {
  createThreadedBackend,
  type ThreadedBackend,
  threadsAvailable,
} from "../backend/threads.ts";
import type { Backend } from "../backend/types.ts";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { loadText } from "../text/corpus.ts";
import { evaluate } from "../train/evaluate.ts";
import { generateBatch, type GenerateOptions, generateStream } from "../generate/generate.ts";
import { createModel } from "../model/model.ts";
import { PRESETS, type PresetSettings } from "../train/presets.ts";
import { textCorpus, type TextSettings, textTokens } from "../text/text.ts";
import {
  type EpochReport,
  train,
  TrainingDivergedError,
  type TrainProgress,
} from "../train/train.ts";

const HELP = `@rnn/wasm — recurrent language models on WebAssembly SIMD

Usage:
  deno run -A mod.ts train    [options]   train a model (defaults: the book's Jay Chou run)
  deno run -A mod.ts generate --model FILE [--prefix TEXT]... [--len N] [options]
  deno run -A mod.ts eval     --model FILE [--corpus NAME|PATH] [--max-tokens N]
  deno run -A mod.ts seq      [--seed N] [--epochs N] [--lr X] [--out DIR] [--json]
  deno run -A mod.ts stats    [--corpus NAME|PATH] [--tokens word|char] [--top N] [--out DIR] [--json]
  deno run -A mod.ts export   --model FILE --out FILE [--format pytorch]
  deno run -A mod.ts import   --in FILE --out FILE [--format pytorch]
  deno run -A mod.ts help

train options (defaults in brackets):
  --preset NAME        the book's settings for a run, as defaults for the flags below;
                       scratch-rnn, concise-rnn, scratch-gru, scratch-lstm, concise-gru,
                       concise-lstm (Jay Chou), timemachine (the English edition's run)
  --corpus NAME|PATH   jaychou, timemachine, or a .txt/.zip file             [jaychou]
  --tokens T           char, or word (words separated by whitespace)         [char]
  --normalize N        none (keep every character, newlines as spaces), or
                       letters (lower-case letters and spaces, as the English
                       edition; lines joined)                                [none]
  --min-freq N         words seen fewer than N times become <unk>            [0]
  --max-tokens N       keep the first N tokens; 0 keeps all (--max-chars is
                       the same setting)                                     [10000]
  --cell C             rnn, gru or lstm                                      [rnn]
  --layers N           recurrent layers stacked, each feeding the next       [1]
  --gru-variant V      book (the reset gate before the hidden product) or
                       pytorch (after it, as nn.GRU; needed for export)      [book]
  --dropout P          probability of dropping each output of a layer that feeds
                       another layer, in training only (kept ones are scaled
                       by 1/(1-P)); needs --layers 2 or more                 [0]
  --hidden N           hidden units of every layer                           [256]
  --init-weights I     normal: N(0, 0.01^2) weights, zero biases (the book's
                       from-scratch models); uniform: every parameter
                       U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's, the concise runs) [normal]
  --activation A       tanh or relu (the vanilla rnn cell)                   [tanh]
  --steps N            time steps per sequence                               [35]
  --batch N            sequences per minibatch                               [32]
  --optimizer O        sgd (the book's from-scratch runs) or adam (its concise
                       runs); --init resumes a checkpoint's Adam state       [sgd]
  --lr X               learning rate                          [100 for sgd, 0.001 for adam]
  --clip X             clip the global gradient norm to X; 0 turns it off    [0.01]
  --epochs N           passes over the corpus                                [250]
  --sampling S         random (state reset per minibatch) or sequential      [random]
  --random-offset      start each epoch at a random offset (2nd edition) instead
                       of cutting the text at fixed places (the book's run)
  --seed N             seed of the weights and the sampler                   [0]
  --prefixes A,B       prefixes to continue, comma-separated                 [分开,不分开]
  --pred-every N       generate every N epochs (0: never); also sets which
                       epochs are reported                                   [50]
  --pred-len N         characters to generate per prefix                     [50]
  --init FILE          start from a checkpoint's weights and vocabulary
  --val-fraction F     hold out the last fraction F of the tokens and report the
                       validation perplexity every reported epoch            [0]
  --save FILE          write a checkpoint (safetensors) at the end, or on Ctrl-C
  --save-every N       also write --save every N epochs, with what --resume needs
  --resume FILE        continue a run saved with --save-every (or at its end): its
                       settings are the defaults, the weights, optimizer and
                       generators as they were; --epochs N extends it to N epochs
  --save-best          with --val-fraction: keep in --save the model of the epoch
                       with the best validation perplexity, written as it improves
  --json               one JSON object per reported epoch, then a summary
  --threads N          threads for the large products and the softmax, or auto
                       (one per core); any count gives the same numbers       [auto]

generate options (greedy, the book's way, unless --temperature is above 0):
  --model FILE         checkpoint to load (required)
  --prefix TEXT        text to continue; repeat it to continue several prefixes
                       in one batch, one line each                           [分开]
  --len N              tokens (characters or words) to generate              [50]
  --temperature X      sample from softmax(logits / X); 0 is greedy          [0]
  --top-k K            when sampling, keep the K most likely tokens          [all]
  --top-p P            when sampling, keep the most likely tokens until their
                       probability reaches P, in (0, 1]                      [1]
  --seed N             seed of the sampler; prefix i uses N + i              [0]
  --stop S             stop once the generated text ends with S (kept in the
                       output); repeat it for several stop strings
  --unk                feed <unk> for prefix tokens the vocabulary lacks
                       (vocabularies with <unk>: --normalize letters or words)
  --stream             print each token as it is generated

eval options:
  --model FILE         checkpoint to load (required)
  --corpus NAME|PATH   text to score, read once in order, batch 1, tokenised
                       as the model's training text was                      [jaychou]
  --max-tokens N       keep the first N tokens; 0 keeps all (or --max-chars) [10000]

seq options (the book's sequence-model experiment; defaults in brackets):
  --seed N             seed of the noise, the weights and the shuffles       [0]
  --epochs N           passes over the 600 training pairs                    [5]
  --lr X               Adam learning rate                                    [0.01]
  --out DIR            write seq-data.svg, seq-predictions.svg, seq-kstep.svg there
  --json               one JSON summary instead of the book's lines

stats options (the book's text statistics; text reduced to lowercase letters a-z):
  --corpus NAME|PATH   jaychou, timemachine, or a .txt/.zip file             [timemachine]
  --tokens KIND        word or char: the tokens of the n-gram tables         [word]
  --top N              rows per unigram/bigram/trigram table; 0: none        [10]
  --out DIR            also write DIR/zipf.svg: frequency by rank, log-log
  --json               one JSON object instead of the tables

export / import options (the book's concise PyTorch model: nn.RNN/GRU/LSTM named rnn, then
nn.Linear named dense, as a safetensors state dict; see the README's PyTorch section):
  --format F           pytorch                                               [pytorch]
  --model FILE         export: the checkpoint to export (required); the book's GRU
                       has no nn.GRU equivalent and is refused
  --in FILE            import: the state dict to read (required)
  --out FILE           export: the state dict to write; import: the checkpoint
                       to write (required)

Corpora named jaychou or timemachine are looked up in ./data, then $RNN_DATA_DIR, then the
user cache folder, and otherwise downloaded from their public sources and checked by SHA-1.
`;

/** The settings a checkpoint recorded, as the defaults of a resumed run. */
function settingsOf(h: Record<string, unknown>): PresetSettings {
  const pick = <T>(key: string, ok: (v: unknown) => boolean): T | undefined =>
    ok(h[key]) ? h[key] as T : undefined;
  const num = (v: unknown) => typeof v === "number";
  const str = (v: unknown) => typeof v === "string";
  return {
    corpus: pick("corpus", str),
    maxTokens: pick("maxTokens", num),
    steps: pick("numSteps", num),
    batch: pick("batchSize", num),
    lr: pick("lr", num),
    clip: pick("clip", num),
    epochs: pick("epochs", num),
    sampling: pick("sampling", (v) => v === "random" || v === "sequential"),
    randomOffset: pick("randomOffset", (v) => typeof v === "boolean"),
    prefixes: pick("prefixes", (v) => Array.isArray(v) && v.every((x) => typeof x === "string")),
    optimizer: pick("optimizer", (v) => v === "sgd" || v === "adam"),
  };
}

/** `--max-tokens`, or its older name `--max-chars`; the fallback when neither is given. */
function maxTokens(v: Record<string, string | boolean | undefined>, fallback: number): number {
  const tokens = v["max-tokens"] as string | undefined,
    chars = v["max-chars"] as string | undefined;
  if (tokens !== undefined && chars !== undefined) {
    throw new UsageError("give --max-tokens or --max-chars (the same setting), not both");
  }
  return int(tokens !== undefined ? "max-tokens" : "max-chars", tokens ?? chars, fallback, 0);
}

function readText(corpus: string): Promise<string> {
  return loadText(corpus, { onMessage: (line) => console.error(line) });
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

function progressLine(p: TrainProgress): string {
  const width = 20;
  const filled = Math.round((p.step / p.steps) * width);
  return `epoch ${p.epoch}/${p.epochs} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
    `${p.step}/${p.steps} perplexity ${p.perplexity.toFixed(2)} ` +
    `${(p.charsPerSecond / 1000).toFixed(1)}k chars/s ETA ${formatSeconds(p.etaSeconds)}`;
}

/**
 * `--threads N` or `auto` (the machine's cores): a threaded backend for more than one thread,
 * else undefined (the single-thread backend). `auto` falls back to one thread where threads are
 * unavailable; an explicit count there is a usage error.
 */
async function threadedBackend(flag: string | undefined): Promise<ThreadedBackend | undefined> {
  const text = flag ?? "auto";
  const threads = text === "auto"
    ? (threadsAvailable() ? Math.min(16, navigator.hardwareConcurrency || 1) : 1)
    : int("threads", text, 1, 1);
  if (threads > 16) throw new UsageError(`--threads must be at most 16, got ${threads}`);
  if (threads === 1) return undefined;
  if (!threadsAvailable()) {
    throw new UsageError(
      "this runtime cannot run threads (it needs Worker, SharedArrayBuffer, relaxed SIMD " +
        "and read access to the library's files); use --threads 1",
    );
  }
  return await createThreadedBackend({ threads });
}

async function runTrain(args: string[]): Promise<number> {
  const v = parse(args, {
    threads: "string",
    preset: "string",
    corpus: "string",
    tokens: "string",
    normalize: "string",
    "min-freq": "string",
    "max-tokens": "string",
    "max-chars": "string",
    hidden: "string",
    activation: "string",
    cell: "string",
    layers: "string",
    dropout: "string",
    "init-weights": "string",
    "gru-variant": "string",
    steps: "string",
    batch: "string",
    optimizer: "string",
    lr: "string",
    clip: "string",
    epochs: "string",
    "val-fraction": "string",
    "save-best": "boolean",
    "save-every": "string",
    resume: "string",
    sampling: "string",
    seed: "string",
    "random-offset": "boolean",
    prefixes: "string",
    "pred-every": "string",
    "pred-len": "string",
    init: "string",
    save: "string",
    json: "boolean",
  });
  const backend = await threadedBackend(v.threads as string | undefined);
  try {
    return await trainWith(v, backend);
  } finally {
    backend?.close();
  }
}

/** `train` with its flags parsed, on `backend` (the single-thread one when undefined). */
async function trainWith(
  v: Record<string, string | boolean | undefined>,
  backend: Backend | undefined,
): Promise<number> {
  const s = (k: string) => v[k] as string | undefined;
  const json = v.json === true;
  const presetName = s("preset");
  if (presetName !== undefined && !Object.hasOwn(PRESETS, presetName)) {
    throw new UsageError(
      `unknown preset "${presetName}"; presets: ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  // A preset supplies defaults; every flag given on the command line wins over it.
  // --resume continues a saved run: its recorded settings are the defaults, as a preset's are.
  const resumed = s("resume") ? await loadCheckpoint(s("resume")!, { backend }) : undefined;
  if (resumed && (s("init") !== undefined || presetName !== undefined)) {
    throw new UsageError("--resume continues a saved run; drop --init and --preset");
  }
  if (resumed && !resumed.training) {
    throw new UsageError(
      `${s("resume")} records no training progress; start a new run from its weights with --init`,
    );
  }
  const h = resumed?.hyperparameters ?? {};
  const saved = (key: string): number | undefined =>
    typeof h[key] === "number" ? h[key] as number : undefined;
  const p: PresetSettings = presetName
    ? PRESETS[presetName].settings
    : resumed
    ? settingsOf(h)
    : {};
  const epochs = int("epochs", s("epochs"), p.epochs ?? 250);
  const predEvery = int("pred-every", s("pred-every"), saved("predEvery") ?? 50, 0);
  const prefixes = s("prefixes") !== undefined
    ? s("prefixes")!.split(",").filter((x) => x.length > 0)
    : p.prefixes ?? ["分开", "不分开"];
  const activation = oneOf("activation", s("activation"), ["tanh", "relu"]);
  const hidden = int("hidden", s("hidden"), p.hidden ?? 256);
  const cell = oneOf("cell", s("cell") ?? p.cell, ["rnn", "gru", "lstm"]);
  const layers = int("layers", s("layers"), 1);
  const gruVariant = oneOf<"book" | "pytorch">(
    "gru-variant",
    s("gru-variant") ?? p.gruVariant,
    ["book", "pytorch"],
  );
  const init = s("init") ? await loadCheckpoint(s("init")!, { backend }) : resumed;
  // Resuming a run trained with Adam continues with Adam, its moments and its learning rate.
  const optimizer = oneOf(
    "optimizer",
    s("optimizer") ?? (init?.optimizer ? "adam" : undefined) ?? p.optimizer,
    ["sgd", "adam"],
  );
  const savedLr = init?.optimizer && optimizer === "adam" ? init.hyperparameters.lr : undefined;
  const settings = {
    optimizer,
    epochs,
    batchSize: int("batch", s("batch"), p.batch ?? 32),
    numSteps: int("steps", s("steps"), p.steps ?? 35),
    lr: num(
      "lr",
      s("lr"),
      typeof savedLr === "number" ? savedLr : p.lr ?? (optimizer === "adam" ? 0.001 : 100),
    ),
    clip: num("clip", s("clip"), p.clip ?? 0.01),
    sampling: oneOf("sampling", s("sampling") ?? p.sampling, ["random", "sequential"]),
    seed: int("seed", s("seed"), saved("seed") ?? 0, 0),
    randomOffset: v["random-offset"] === true || (p.randomOffset ?? false),
    dropout: num("dropout", s("dropout"), saved("dropout") ?? 0),
    prefixes,
    predEvery,
    predLen: int("pred-len", s("pred-len"), saved("predLen") ?? 50, 0),
  };
  const text: TextSettings = init?.text ?? {
    tokens: oneOf("tokens", s("tokens") ?? p.tokens, ["char", "word"]),
    normalize: oneOf("normalize", s("normalize") ?? p.normalize, ["none", "letters"]),
  };
  // A checkpoint fixes the model's shape and text: flags that contradict it are mistakes.
  for (
    const [flag, given, saved] of [
      ["hidden", hidden, init?.model.config.hidden],
      ["activation", activation, init?.model.config.activation],
      ["cell", cell, init?.model.config.cell],
      ["layers", layers, init?.model.config.layers],
      ["gru-variant", gruVariant, init?.model.config.gruVariant],
      ["tokens", s("tokens"), init?.text.tokens],
      ["normalize", s("normalize"), init?.text.normalize],
    ] as const
  ) {
    if (init && s(flag) !== undefined && given !== saved) {
      throw new UsageError(
        `--${flag} ${given} differs from the checkpoint's ${saved}; drop --${flag}`,
      );
    }
  }
  if (settings.dropout >= 1) {
    throw new UsageError(`--dropout must be below 1, got ${settings.dropout}`);
  }
  if (settings.dropout > 0 && (init?.model.config.layers ?? layers) < 2) {
    throw new UsageError("--dropout applies between stacked layers; add --layers 2 or more");
  }
  const minFreq = int("min-freq", s("min-freq"), saved("minFreq") ?? 0, 0);
  if (minFreq > 0 && text.tokens !== "word") {
    throw new UsageError("--min-freq applies to word tokens; add --tokens word");
  }
  const corpusName = s("corpus") ?? p.corpus ?? "jaychou";
  const limit = maxTokens(v, p.maxTokens ?? 10000);
  // Usage mistakes are reported before the corpus is read.
  const valFraction = num("val-fraction", s("val-fraction"), saved("valFraction") ?? 0);
  const saveEvery = int("save-every", s("save-every"), 0, 0);
  if (saveEvery > 0 && s("save") === undefined) {
    throw new UsageError("--save-every needs --save FILE");
  }
  if (valFraction >= 1) throw new UsageError(`--val-fraction must be below 1, got ${valFraction}`);
  const saveBest = v["save-best"] === true;
  if (saveBest && (valFraction === 0 || s("save") === undefined)) {
    throw new UsageError("--save-best needs --val-fraction F (above 0) and --save FILE");
  }
  const corpus = textCorpus(await readText(corpusName), text, {
    maxTokens: limit,
    minFreq,
    vocab: init?.vocab,
  });

  // The validation text is the end of the corpus; the vocabulary covers both parts.
  const numVal = Math.floor(valFraction * corpus.indices.length);
  const validation = numVal > 0 ? corpus.indices.slice(-numVal) : undefined;
  if (validation && validation.length < 2) {
    throw new UsageError(`--val-fraction ${valFraction} leaves fewer than 2 validation tokens`);
  }
  const trainCorpus = validation
    ? { ...corpus, indices: corpus.indices.slice(0, corpus.indices.length - numVal) }
    : corpus;
  // Made here rather than in train() so that --save-best can save it while it trains.
  const model = init?.model ??
    createModel(
      { vocabSize: corpus.vocab.size, hidden, activation, cell, layers, gruVariant },
      {
        backend,
        seed: settings.seed,
        init: oneOf<"normal" | "uniform">("init-weights", s("init-weights") ?? p.init, [
          "normal",
          "uniform",
        ]),
      },
    );

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  const canListen = Deno.build.os !== "windows";
  if (canListen) Deno.addSignalListener("SIGINT", onSigint);
  const showBar = !json && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const clearBar = () => showBar && Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
  let lastBar = 0;
  const started = performance.now();
  const isReported = (r: EpochReport) =>
    predEvery === 0 || r.epoch % predEvery === 0 || r.epoch === epochs;
  if (!json) {
    console.log(
      `training on ${corpusName}: ${corpus.indices.length} ${
        text.tokens === "word" ? "words" : "characters"
      }, vocabulary ` +
        `${corpus.vocab.size}, ${model.config.layers} x ${model.config.cell} of ` +
        `${model.config.hidden}, ${settings.sampling} sampling, ${optimizer}`,
    );
  }
  const save = s("save");
  const hyperparameters = () => ({
    ...settings,
    ...(presetName ? { preset: presetName } : {}),
    corpus: corpusName,
    maxTokens: limit,
    minFreq,
    valFraction,
  });
  let bestVal = Infinity, bestEpoch = 0;
  let result;
  try {
    result = await train(trainCorpus, {
      ...settings,
      model,
      adamState: optimizer === "adam" ? init?.optimizer : undefined,
      resume: resumed ? { ...resumed.training!, optimizerState: resumed.optimizer } : undefined,
      validation,
      text,
      hidden,
      activation,
      signal: controller.signal,
      onProgress: (p) => {
        const now = performance.now();
        if (showBar && now - lastBar > 100) {
          lastBar = now;
          Deno.stderr.writeSync(encoder.encode(`\r\x1b[K${progressLine(p)}`));
        }
      },
      onEpoch: async (r, state) => {
        if (saveEvery > 0 && !saveBest && r.epoch % saveEvery === 0) {
          // Written atomically with everything --resume needs to continue exactly.
          const st = state();
          await saveCheckpoint(save!, model, corpus.vocab, {
            hyperparameters: { ...hyperparameters(), epochsCompleted: r.epoch },
            text,
            optimizer: st.optimizerState,
            training: st,
          });
        }
        if (saveBest && r.valPerplexity! < bestVal) {
          // Written as soon as it improves, so the best model survives a crash or Ctrl-C.
          [bestVal, bestEpoch] = [r.valPerplexity!, r.epoch];
          await saveCheckpoint(save!, model, corpus.vocab, {
            hyperparameters: { ...hyperparameters(), epochsCompleted: r.epoch, bestEpoch },
            text,
          });
        }
        if (!isReported(r)) return;
        clearBar();
        if (json) {
          console.log(JSON.stringify({
            epoch: r.epoch,
            perplexity: r.perplexity,
            ...(r.valPerplexity !== undefined ? { valPerplexity: r.valPerplexity } : {}),
            seconds: r.seconds,
            ...(r.samples ? { samples: r.samples } : {}),
          }));
        } else {
          const val = r.valPerplexity !== undefined
            ? `, validation perplexity ${r.valPerplexity.toFixed(6)}`
            : "";
          console.log(
            `epoch ${r.epoch}, perplexity ${r.perplexity.toFixed(6)}${val}, time ${
              r.seconds.toFixed(2)
            } sec`,
          );
          for (const text of Object.values(r.samples ?? {})) console.log(` - ${text}`);
        }
      },
    });
  } finally {
    clearBar();
    if (canListen) Deno.removeSignalListener("SIGINT", onSigint);
  }
  const seconds = (performance.now() - started) / 1000;
  // With --save-best the file already holds the best epoch's model; otherwise save the last.
  if (save && !saveBest) {
    await saveCheckpoint(save, result.model, corpus.vocab, {
      hyperparameters: {
        ...hyperparameters(),
        epochsCompleted: resumed
          ? result.state.epoch
          : Number(init?.hyperparameters.epochsCompleted ?? 0) + result.epochs,
      },
      text,
      optimizer: result.optimizerState,
      ...(result.aborted ? {} : { training: result.state }),
    });
  }
  if (json) {
    console.log(JSON.stringify({
      done: !result.aborted,
      epochs: result.epochs,
      perplexity: result.perplexity,
      ...(saveBest ? { bestEpoch, bestValPerplexity: bestVal } : {}),
      seconds,
      saved: save ?? null,
    }));
  } else {
    console.log(
      `${result.aborted ? "stopped after" : "trained"} ${result.epochs} epochs in ${
        seconds.toFixed(1)
      } s, final perplexity ${result.perplexity.toFixed(3)}${
        saveBest
          ? `; saved epoch ${bestEpoch} (best validation perplexity ${
            bestVal.toFixed(3)
          }) to ${save}`
          : save
          ? `; saved ${save}`
          : ""
      }`,
    );
  }
  return result.aborted ? 130 : 0;
}

async function runGenerate(args: string[]): Promise<number> {
  const flags = {
    model: "string",
    prefix: "string",
    len: "string",
    temperature: "string",
    "top-k": "string",
    "top-p": "string",
    seed: "string",
    stop: "string",
    unk: "boolean",
    stream: "boolean",
  } as const;
  // parse() checks every flag; the repeatable ones (--prefix, --stop) are then read in order.
  const v = parse(args, flags);
  const repeated = (name: string) =>
    parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(flags).map(([k, type]) => [k, { type, multiple: k === name }]),
      ),
      strict: true,
      allowPositionals: false,
    }).values[name] as string[] | undefined;
  const s = (k: string) => v[k] as string | undefined;
  if (typeof v.model !== "string") throw new UsageError("generate needs --model FILE");
  const length = int("len", s("len"), 50, 0);
  const temperature = num("temperature", s("temperature"), 0);
  const topK = s("top-k") === undefined ? undefined : int("top-k", s("top-k"), 1);
  const topP = s("top-p") === undefined ? undefined : num("top-p", s("top-p"), 1);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new UsageError(`--top-p must be in (0, 1], got "${s("top-p")}"`);
  }
  for (const [flag, given] of [["top-k", topK], ["top-p", topP]] as const) {
    if (given !== undefined && temperature === 0) {
      throw new UsageError(`--${flag} applies when sampling; add --temperature X (above 0)`);
    }
  }
  const seed = int("seed", s("seed"), 0, 0);
  const stop = repeated("stop") ?? [];
  if (stop.some((x) => x.length === 0)) throw new UsageError("--stop needs a non-empty string");
  const prefixes = repeated("prefix") ?? ["分开"];
  const { model, vocab, text } = await loadCheckpoint(v.model);
  const options: GenerateOptions = {
    length,
    text,
    temperature,
    topK,
    topP,
    seed,
    stop,
    unknown: v.unk === true ? "unk" : "error",
  };
  if (v.stream !== true) {
    for (const line of generateBatch(model, vocab, prefixes, options)) console.log(line);
    return 0;
  }
  // Streamed one prefix after another; prefix i samples with seed + i, as in the batch.
  const encoder = new TextEncoder();
  const streams = prefixes.map((p, i) =>
    generateStream(model, vocab, p, { ...options, seed: seed + i })
  );
  for (const pieces of streams) {
    for await (const piece of pieces) await Deno.stdout.write(encoder.encode(piece));
    await Deno.stdout.write(encoder.encode("\n"));
  }
  return 0;
}

async function runEval(args: string[]): Promise<number> {
  const v = parse(args, {
    model: "string",
    corpus: "string",
    "max-tokens": "string",
    "max-chars": "string",
  });
  if (typeof v.model !== "string") throw new UsageError("eval needs --model FILE");
  const { model, vocab, text } = await loadCheckpoint(v.model);
  const raw = await readText((v.corpus as string | undefined) ?? "jaychou");
  const limit = maxTokens(v, 10000);
  const all = textTokens(raw, text);
  const tokens = limit > 0 ? all.slice(0, limit) : all;
  // Without <unk> (the Chinese edition's vocabulary) an unseen character cannot be scored.
  const missing = vocab.unk === undefined ? vocab.missing(tokens) : [];
  if (missing.length > 0) {
    throw new UsageError(
      `the text holds ${missing.length} tokens the model's vocabulary lacks (first: ${
        missing.slice(0, 10).map((c) => JSON.stringify(c)).join(", ")
      }); evaluate on text like the training corpus`,
    );
  }
  const indices = vocab.unk === undefined ? vocab.encode(tokens) : vocab.toIndices(tokens);
  const result = evaluate(model, indices);
  console.log(
    `perplexity ${result.perplexity.toFixed(4)} over ${result.predictions} predictions ` +
      `(loss ${result.loss.toFixed(4)} nats)`,
  );
  return 0;
}

/**
 * Runs the command line with the given arguments.
 *
 * @param args Arguments after the script name, e.g. `["train", "--epochs", "5"]`.
 * @returns The exit code: 0 success, 1 failure, 2 usage error, 130 interrupted.
 * @example Print the help
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["help"]);
 * console.log(code); // 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  try {
    switch (command) {
      case "train":
        return await runTrain(rest);
      case "generate":
        return await runGenerate(rest);
      case "eval":
        return await runEval(rest);
      case "seq":
        // Loaded on demand, like stats: only these two commands plot.
        return await (await import("./seq.ts")).runSeq(rest);
      case "stats":
        // Loaded on demand: the plotting library is needed by this command alone.
        return await (await import("./stats.ts")).runStats(rest);
      case "export":
        return await (await import("./export.ts")).runExport(rest);
      case "import":
        return await (await import("./export.ts")).runImport(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(HELP);
        return 0;
      default:
        throw new UsageError(
          `unknown command "${command}"; use train, generate, eval, seq, stats, export or import`,
        );
    }
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof RangeError || e instanceof TypeError ||
      e instanceof SyntaxError || e instanceof Deno.errors.NotFound;
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof TrainingDivergedError) {
      console.error(`error: ${message}`);
      return 1;
    }
    console.error(`error: ${message}${usage ? " (see --help)" : ""}`);
    return usage ? 2 : 1;
  }
}
