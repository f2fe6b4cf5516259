/**
 * The command line: every subcommand in one place (`train`, `generate`, `eval` for the language
 * models; `seq`, `stats` for the book's other experiments; `export`, `import` for PyTorch), each
 * in its own file with its flags declared once, for parsing and for its `--help`.
 *
 * Exit codes: 0 success; 2 a usage mistake (one line, and where to read the command's help);
 * 1 bad data or a file problem (one line naming the file and the problem), a diverged run, or a
 * lost GPU device;
 * 70 an internal error, printed with its stack and a request to report it; 130 stopped by Ctrl-C.
 *
 * @module
 */
import { DeviceLostError } from "../backend/webgpu.ts";
import { DataError, TrainingDivergedError, UsageError } from "../errors.ts";
import { type CommandFlags, flagHelp } from "./args.ts";

/** The commands, in help order. */
export const COMMAND_NAMES: readonly string[] = [
  "train",
  "generate",
  "eval",
  "seq",
  "stats",
  "export",
  "import",
  "playground",
];

/** A subcommand: what it does, its usage line, its flags, and how to run it. */
interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly flags: () => Promise<CommandFlags>;
  readonly run: (args: string[]) => Promise<number>;
}

// Each command's module loads on demand: `generate` never loads the training code, and only the
// commands that plot load the plotting library.
const COMMANDS: Readonly<Record<string, Command>> = {
  train: {
    summary: "train a model (defaults: the book's Jay Chou run)",
    usage: "train [options]",
    flags: async () => (await import("./train.ts")).TRAIN_FLAGS,
    run: async (args) => (await import("./train.ts")).runTrain(args),
  },
  generate: {
    summary: "continue prefixes with a trained model",
    usage: "generate --model FILE [--prefix TEXT]... [options]",
    flags: async () => (await import("./generate.ts")).GENERATE_FLAGS,
    run: async (args) => (await import("./generate.ts")).runGenerate(args),
  },
  eval: {
    summary: "a model's perplexity over a text",
    usage: "eval --model FILE [--corpus NAME|PATH] [--max-tokens N]",
    flags: async () => (await import("./eval.ts")).EVAL_FLAGS,
    run: async (args) => (await import("./eval.ts")).runEval(args),
  },
  seq: {
    summary: "the book's sequence-model experiment (noisy sine, MLP, k-step predictions)",
    usage: "seq [options]",
    flags: async () => (await import("./seq.ts")).SEQ_FLAGS,
    run: async (args) => (await import("./seq.ts")).runSeq(args),
  },
  stats: {
    summary: "the book's text statistics (n-grams, Zipf's law)",
    usage: "stats [options]",
    flags: async () => (await import("./stats.ts")).STATS_FLAGS,
    run: async (args) => (await import("./stats.ts")).runStats(args),
  },
  export: {
    summary: "write a checkpoint as a PyTorch state dict (the book's concise model)",
    usage: "export --model FILE --out FILE",
    flags: async () => (await import("./export.ts")).EXPORT_FLAGS,
    run: async (args) => (await import("./export.ts")).runExport(args),
  },
  import: {
    summary: "read a PyTorch state dict into a checkpoint",
    usage: "import --in FILE --out FILE",
    flags: async () => (await import("./export.ts")).IMPORT_FLAGS,
    run: async (args) => (await import("./export.ts")).runImport(args),
  },
  playground: {
    summary: "serve the browser playground: train, watch and generate in a tab",
    usage: "playground [--port N]",
    flags: async () => (await import("./playground.ts")).PLAYGROUND_FLAGS,
    run: async (args) => (await import("./playground.ts")).runPlayground(args),
  },
};

const PROGRAM = "deno run -A mod.ts";

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return [
    "@rnn/wasm — recurrent language models on WebAssembly SIMD",
    "",
    `Usage: ${PROGRAM} <command> [options]`,
    "",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    `  ${"help".padEnd(width)}this text; \`<command> --help\` lists a command's options`,
    "",
    "Corpora named jaychou or timemachine are looked up in ./data, then $RNN_DATA_DIR, then the",
    "user cache folder, and otherwise downloaded from their public sources and checked by SHA-1.",
  ].join("\n");
}

/**
 * The help text: the overview without a command, else the command's usage and options.
 *
 * @param name A command, or undefined for the overview.
 * @returns The text `--help` prints.
 */
export async function helpText(name?: string): Promise<string> {
  if (name === undefined) return overview();
  const c = COMMANDS[name];
  return `${PROGRAM} ${c.usage}\n\n${c.summary}.\n\nOptions (defaults in brackets):\n${
    flagHelp(await c.flags())
  }`;
}

/**
 * Runs the command line with the given arguments.
 *
 * @param args Arguments after the script name, e.g. `["train", "--epochs", "5"]`.
 * @returns The exit code (see the module doc).
 * @example Print the help
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["help"]);
 * console.log(code); // 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      console.log(overview());
      return 0;
    }
    if (!command) {
      throw new UsageError(
        `unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")}`,
      );
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(await helpText(name));
      return 0;
    }
    return await command.run(rest);
  } catch (e) {
    return report(e, command ? name : undefined);
  }
}

/** Prints an error the way its kind calls for and returns the exit code. */
function report(e: unknown, command: string | undefined): number {
  if (e instanceof UsageError) {
    const help = command ? `${command} --help` : "help";
    console.error(`error: ${e.forCli()} (see ${PROGRAM} ${help})`);
    return 2;
  }
  if (e instanceof DataError || e instanceof TrainingDivergedError) {
    console.error(`error: ${e.message}`);
    return 1;
  }
  if (e instanceof DeviceLostError) {
    console.error(
      `error: ${e.message}; checkpoints written before it are intact (--save-every keeps the ` +
        "run resumable): run again, or with --backend wasm",
    );
    return 1;
  }
  const stack = e instanceof Error ? e.stack ?? String(e) : String(e);
  console.error(
    `internal error: ${stack}\nThis is a bug in @rnn/wasm. Please report it with the command ` +
      "you ran and the output above.",
  );
  return 70;
}
