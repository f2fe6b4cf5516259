/**
 * The `train` command: settings from a preset, a checkpoint being resumed, and flags (in that
 * order of precedence, flags last), all read through the settings table; then the corpus, the
 * model, `train()`, progress lines (or JSON lines), and checkpoints.
 *
 * @module
 */
import { PRESETS } from "../config/presets.ts";
import {
  resolveRunConfig,
  type RunConfig,
  settingNames,
  type TextConfig,
} from "../config/settings.ts";
import { CheckpointError, UsageError } from "../errors.ts";
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import { loadText } from "../io/corpus_files.ts";
import { namedCorpus } from "./corpus.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import type { Corpus } from "../text/corpus.ts";
import type { TrainState } from "../train/state.ts";
import type { EpochReport, ProgressReport } from "../train/train.ts";
import { train } from "../train/train.ts";
import { type CommandFlags, intFlag, parseFlags } from "./args.ts";
import { checkOutputFile } from "./output.ts";
import { perplexityChart } from "../book/perplexity_plot.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { BACKEND_FLAGS, commandBackend } from "./backend.ts";

/** The flags of `train`: every setting of a run, and how to start, save and report. */
export const TRAIN_FLAGS: CommandFlags = {
  settings: settingNames("model", "text", "train", "run").filter((n) =>
    n !== "vocabSize" && n !== "inputSize"
  ),
  own: {
    preset: {
      type: "string",
      value: "NAME",
      help: "one of the book's runs as defaults (see docs/cli.md, Presets)",
    },
    "init-from": {
      type: "string",
      value: "FILE",
      help: "start a new run from a checkpoint's weights and vocabulary",
    },
    resume: {
      type: "string",
      value: "FILE",
      help: "continue a saved run exactly; --epochs N extends it",
    },
    save: { type: "string", value: "FILE", help: "write a checkpoint at the end, or on Ctrl-C" },
    "save-every": {
      type: "string",
      value: "N",
      help: "also write --save every N epochs, with what --resume needs",
    },
    "save-best": {
      type: "boolean",
      help: "keep in --save the epoch of best validation perplexity",
    },
    json: { type: "boolean", help: "one JSON object per reported epoch, then a summary" },
    plot: {
      type: "string",
      value: "FILE",
      help: "the perplexity curve as SVG, rewritten at every reported epoch and at the end",
    },
    ...BACKEND_FLAGS,
  },
};

/** The settings a checkpoint records, as the defaults of a run that continues it. */
function settingsOf(ckpt: Checkpoint): Partial<RunConfig> {
  const { cell, hidden, layers, activation, gruVariant } = ckpt.model.config;
  return { ...ckpt.train, ...ckpt.text, cell, hidden, layers, activation, gruVariant };
}

/**
 * Runs `train`.
 *
 * @param args The arguments after `train`.
 * @returns The exit code: 0, or 130 when Ctrl-C stopped the run.
 */
export async function runTrain(args: string[]): Promise<number> {
  const { settings: given, own } = parseFlags(args, TRAIN_FLAGS);
  const presetName = own.preset as string | undefined;
  if (presetName !== undefined && !Object.hasOwn(PRESETS, presetName)) {
    throw new UsageError(
      `unknown preset "${presetName}"; presets: ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  const resumeFrom = own.resume as string | undefined;
  const initFrom = own["init-from"] as string | undefined;
  if (resumeFrom !== undefined && (initFrom !== undefined || presetName !== undefined)) {
    throw new UsageError("--resume continues a saved run; drop --init-from and --preset");
  }
  const save = own.save as string | undefined;
  const saveEvery = intFlag("save-every", own["save-every"], 0, 0);
  if (saveEvery > 0 && save === undefined) throw new UsageError("--save-every needs --save FILE");
  const saveBest = own["save-best"] === true;
  const plot = own.plot as string | undefined;
  if (plot === "") throw new UsageError("--plot needs a file name");
  // Checked before anything is read or trained: a run never ends in "cannot write".
  if (save !== undefined) await checkOutputFile(save, "--save");
  if (plot !== undefined) await checkOutputFile(plot, "--plot");
  const { backend, label } = await commandBackend(own, true);
  try {
    const from = resumeFrom ?? initFrom;
    const ckpt = from !== undefined ? await loadCheckpoint(from, { backend }) : undefined;
    if (ckpt?.model.quantized) {
      throw new CheckpointError(
        `${from} is an 8-bit checkpoint, for generation; train from the float file`,
        from,
      );
    }
    if (resumeFrom !== undefined && !ckpt!.state) {
      throw new UsageError(
        `${resumeFrom} records no training progress; start a new run from it with --init-from`,
      );
    }
    // A checkpoint fixes the model's shape and text: flags that contradict it are mistakes.
    const fixed: Partial<RunConfig> = {};
    if (ckpt) {
      const recorded = settingsOf(ckpt);
      for (const name of [...settingNames("model"), "tokens", "normalize"] as const) {
        const f = recorded[name as keyof RunConfig];
        if (f === undefined) continue;
        if (given[name] !== undefined && given[name] !== f) {
          throw new UsageError(
            `{${name}} ${given[name]} differs from the checkpoint's ${f}; drop {${name}}`,
          );
        }
        Object.assign(fixed, { [name]: f });
      }
    }
    // Flags win over a preset, which wins over the settings a checkpoint recorded, which win over
    // the table's defaults; what the checkpoint fixes stays.
    const run = resolveRunConfig({
      ...(ckpt ? settingsOf(ckpt) : {}),
      ...(presetName ? PRESETS[presetName].settings : {}),
      ...given,
      ...fixed,
    });
    if (resumeFrom !== undefined && run.epochs <= ckpt!.state!.epoch) {
      // Said before the corpus is read, and nothing is written.
      throw new UsageError(
        `${resumeFrom} is already at epoch ${ckpt!.state!.epoch}; give {epochs} above ` +
          `${ckpt!.state!.epoch} to train further`,
      );
    }
    if (saveBest && (run.valFraction === 0 || save === undefined)) {
      throw new UsageError("--save-best needs {valFraction} X (above 0) and --save FILE");
    }
    const text: TextConfig = {
      tokens: run.tokens,
      normalize: run.normalize,
      maxTokens: run.maxTokens,
      minFreq: run.minFreq,
    };
    const raw = await loadText(run.corpus, { onMessage: (line) => console.error(line) });
    const corpus = namedCorpus(run.corpus, raw, text, ckpt?.vocab);
    // Made here rather than in train() so that the checkpoints written while it trains hold it.
    const model = ckpt?.model ??
      createModel({ ...run, vocabSize: corpus.vocab.size }, {
        backend,
        seed: run.seed,
        init: run.init,
      });
    return await trainWith(run, text, corpus, model, {
      save,
      saveEvery,
      saveBest,
      json: own.json === true,
      resume: resumeFrom ? ckpt!.state : undefined,
      backend: label,
      plot,
    });
  } finally {
    backend?.dispose();
  }
}

/** How `train` starts, saves and reports. */
interface Output {
  save: string | undefined;
  saveEvery: number;
  saveBest: boolean;
  json: boolean;
  resume: TrainState | undefined;
  /** The backend in words, for the first line. */
  backend: string;
  /** Where the perplexity curve goes. */
  plot: string | undefined;
}

/** The run itself: progress, reports and checkpoints around `train()`. */
async function trainWith(
  run: RunConfig,
  text: TextConfig,
  corpus: Corpus,
  model: RnnModel,
  out: Output,
): Promise<number> {
  // Ctrl-C: the first stops training after its minibatch (and saves where it stood); one during
  // that save warns; the next abandons the save, leaving the file as it was.
  const stop = new AbortController(), abandon = new AbortController();
  let saving = false, warned = false;
  const onSigint = () => {
    if (!stop.signal.aborted) return stop.abort();
    if (saving && !warned) {
      warned = true;
      return console.error("saving, press Ctrl-C again to abort");
    }
    abandon.abort();
  };
  const canListen = Deno.build.os !== "windows";
  if (canListen) Deno.addSignalListener("SIGINT", onSigint);
  try {
    return await trainAndSave(run, text, corpus, model, out, stop.signal, abandon.signal, (on) => {
      saving = on;
    });
  } finally {
    if (canListen) Deno.removeSignalListener("SIGINT", onSigint);
  }
}

/** trainWith's run, given the signals Ctrl-C raises; `saving` tells when the final save runs. */
async function trainAndSave(
  run: RunConfig,
  text: TextConfig,
  corpus: Corpus,
  model: RnnModel,
  out: Output,
  stop: AbortSignal,
  abandon: AbortSignal,
  saving: (on: boolean) => void,
): Promise<number> {
  const showBar = !out.json && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const clearBar = () => showBar && Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
  const started = performance.now();
  const isReported = (r: EpochReport) =>
    run.predEvery === 0 || r.epoch % run.predEvery === 0 || r.epoch === run.epochs;
  if (!out.json) {
    console.log(
      `training on ${run.corpus}: ${corpus.indices.length} ${
        text.tokens === "word" ? "words" : "characters"
      }, vocabulary ${corpus.vocab.size}, ${model.config.layers} x ${model.config.cell} of ` +
        `${model.config.hidden}, ${run.sampling} sampling, ${run.optimizer}, on ${out.backend}`,
    );
  }
  const { corpus: corpusName, ...trainSettings } = run;
  const record = {
    ...Object.fromEntries(
      settingNames("train").map((k) => [k, trainSettings[k as keyof typeof trainSettings]]),
    ),
    corpus: corpusName,
  } as Checkpoint["train"];
  const vocab = corpus.vocab;
  let bestVal = Infinity, bestEpoch = 0;
  const epochs: EpochReport[] = [];
  const title =
    `${run.corpus}: ${model.config.layers} x ${model.config.cell} of ${model.config.hidden}`;
  const drawPlot = async () => {
    if (out.plot === undefined || epochs.length === 0) return;
    const svg = await perplexityChart(epochs, title);
    await writeFileAtomic(out.plot, new TextEncoder().encode(svg));
  };
  let result;
  try {
    result = await train(corpus, {
      ...run,
      model,
      resume: out.resume,
      signal: stop,
      onProgress: showBar
        ? (p) => Deno.stderr.writeSync(encoder.encode(`\r\x1b[K${progressLine(p)}`))
        : undefined,
      onEpoch: async (r, state) => {
        epochs.push(r);
        if (out.saveEvery > 0 && !out.saveBest && r.epoch % out.saveEvery === 0) {
          // Written atomically with everything --resume needs to continue exactly.
          await saveCheckpoint(out.save!, {
            model,
            vocab,
            text,
            train: record,
            state: await state(),
          });
        }
        if (out.saveBest && r.valPerplexity! < bestVal) {
          // Written as soon as it improves, so the best model survives a crash or Ctrl-C.
          [bestVal, bestEpoch] = [r.valPerplexity!, r.epoch];
          await saveCheckpoint(out.save!, {
            model,
            vocab,
            text,
            train: record,
            state: await state(),
          });
        }
        if (!isReported(r)) return;
        await drawPlot();
        clearBar();
        if (out.json) {
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
          for (const sample of Object.values(r.samples ?? {})) console.log(` - ${sample}`);
        }
      },
    });
  } finally {
    clearBar();
  }
  const seconds = (performance.now() - started) / 1000;
  await drawPlot();
  // With --save-best the file already holds the best epoch's model; otherwise save the last,
  // with the state to resume from (inside the epoch, after a Ctrl-C).
  if (out.save && !out.saveBest) {
    saving(true);
    try {
      await saveCheckpoint(out.save, {
        model: result.model,
        vocab,
        text,
        train: record,
        state: result.state,
      }, { signal: abandon });
    } catch (e) {
      if (!abandon.aborted) throw e;
      console.error(`save abandoned: ${out.save} is as it was`);
      return 130;
    } finally {
      saving(false);
    }
  }
  const at = result.state.position;
  if (out.json) {
    console.log(JSON.stringify({
      done: !result.aborted,
      epochs: result.epochs,
      // A number, or nothing: a run stopped before its first epoch ended has no perplexity.
      ...(Number.isFinite(result.perplexity) ? { perplexity: result.perplexity } : {}),
      ...(at ? { stoppedAt: { epoch: result.epochs + 1, minibatch: at.step } } : {}),
      ...(out.saveBest ? { bestEpoch, bestValPerplexity: bestVal } : {}),
      seconds,
      backend: out.backend,
      ...(out.save ? { saved: out.save } : {}),
    }));
  } else {
    const where = at ? ` (and ${at.step} minibatches of epoch ${result.epochs + 1})` : "";
    const resumable = result.aborted && out.save && !out.saveBest
      ? `; continue with --resume ${out.save}`
      : "";
    const perplexity = Number.isFinite(result.perplexity)
      ? `, final perplexity ${result.perplexity.toFixed(3)}`
      : "";
    console.log(
      `${result.aborted ? "stopped after" : "trained"} ${result.epochs} epochs${where} in ${
        seconds.toFixed(1)
      } s${perplexity}${
        out.saveBest
          ? `; saved epoch ${bestEpoch} (best validation perplexity ${
            bestVal.toFixed(3)
          }) to ${out.save}`
          : out.save
          ? `; saved ${out.save}${resumable}`
          : ""
      }`,
    );
  }
  return result.aborted ? 130 : 0;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

function progressLine(p: ProgressReport): string {
  const width = 20;
  const filled = Math.round((p.step / p.steps) * width);
  return `epoch ${p.epoch}/${p.epochs} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
    `${p.step}/${p.steps} perplexity ${p.perplexity.toFixed(2)} ` +
    `${(p.charsPerSecond / 1000).toFixed(1)}k chars/s ETA ${formatSeconds(p.etaSeconds)}`;
}
