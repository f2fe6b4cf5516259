/**
 * The `seq` command: the book's sequence-model experiment (noisy sine, MLP on the last 4 values,
 * Adam), printing the training loss per epoch as the book does and the mean squared error of each
 * prediction mode; `--out DIR` also writes the three figures as SVG.
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { type CommandFlags, intFlag, numberFlag, parseFlags } from "./args.ts";
import { checkOutputFolder, writeOutput } from "./output.ts";
import { type Prediction, runSequenceExperiment } from "../book/seq_experiment.ts";

/** The flags of `seq`. */
export const SEQ_FLAGS: CommandFlags = {
  settings: [],
  own: {
    seed: {
      type: "string",
      value: "N",
      help: "seed of the noise, the weights and the shuffles [0]",
    },
    epochs: { type: "string", value: "N", help: "passes over the 600 training pairs [5]" },
    lr: { type: "string", value: "X", help: "Adam learning rate [0.01]" },
    out: {
      type: "string",
      value: "DIR",
      help: "write seq-data.svg, seq-predictions.svg, seq-kstep.svg there",
    },
    json: { type: "boolean", help: "one JSON summary instead of the book's lines" },
  },
};

/** `t = a..b` of a prediction's time axis. */
function span(p: Prediction): string {
  return `t = ${p.time[0]}..${p.time[p.time.length - 1]}`;
}

/**
 * Runs the `seq` command: trains the book's MLP on the noisy sine and reports its predictions.
 * Prints `epoch 1, loss: 0.060112` lines, then one line per prediction mode with its mean squared
 * error against the data; with `--json`, one JSON object instead. With `--out DIR`, creates DIR
 * and writes the three figures there (atomically), naming the files written.
 *
 * @param args The arguments after `seq`, e.g. `["--seed", "1", "--out", "figures"]`.
 * @returns The exit code, 0.
 * @throws {UsageError} For an unknown flag or a bad value (the CLI exits with code 2).
 * @example The book's run, as JSON
 * ```ts
 * import { runSeq } from "./seq.ts";
 * const code = await runSeq(["--json", "--epochs", "1"]);
 * console.log(code); // 0
 * ```
 */
export async function runSeq(args: string[]): Promise<number> {
  const { own } = parseFlags(args, SEQ_FLAGS);
  const json = own.json === true;
  const seed = intFlag("seed", own.seed, 0, 0);
  const epochs = intFlag("epochs", own.epochs, 5);
  const lr = numberFlag("lr", own.lr, 0.01);
  const out = own.out as string | undefined;
  if (out !== undefined && out.trim() === "") throw new UsageError("--out needs a directory");
  if (out !== undefined) await checkOutputFolder(out, "--out");

  const result = await runSequenceExperiment({
    seed,
    epochs,
    lr,
    // The book prints the loss with Python's default `:f`, six decimals.
    onEpoch: json
      ? undefined
      : (epoch, loss) => console.log(`epoch ${epoch}, loss: ${loss.toFixed(6)}`),
  });

  const files: string[] = [];
  if (out !== undefined) {
    // Loaded here so runs without --out never load Vega.
    const { sequenceFigures, SEQUENCE_FIGURE_FILES } = await import("../book/seq_plots.ts");
    const figures = await sequenceFigures(result);
    for (const key of ["data", "predictions", "kstep"] as const) {
      const path = join(out, SEQUENCE_FIGURE_FILES[key]);
      await writeOutput(out, path, figures[key]);
      files.push(path);
    }
  }

  const ks = [...result.kstep.keys()];
  if (json) {
    console.log(JSON.stringify({
      seed,
      epochs,
      lr,
      losses: result.losses,
      mse: result.mse,
      files,
    }));
    return 0;
  }
  const f = (x: number) => x.toFixed(6);
  console.log(`1-step preds: mse ${f(result.mse.onestep)} over ${span(result.onestep)}`);
  console.log(`multistep preds: mse ${f(result.mse.multistep)} over ${span(result.multistep)}`);
  for (const k of ks) {
    const p = result.kstep.get(k)!;
    console.log(`k-step preds, k = ${k}: mse ${f(result.mse.k[k])} over ${span(p)}`);
  }
  if (files.length > 0) console.log(`wrote ${files.join(", ")}`);
  return 0;
}
