/**
 * `--backend auto|wasm|webgpu` and `--threads N|auto`: the backend a command runs on, and its name
 * for the run's first line.
 *
 * @module
 */
import { webGpuFor } from "../backend/choose.ts";
import {
  createThreadedBackend,
  type ThreadedBackend,
  threadsAvailable,
} from "../backend/threads.ts";
import type { Backend } from "../backend/types.ts";
import { UsageError } from "../errors.ts";
import { choiceFlag, type Flag, intFlag } from "./args.ts";

/** The two flags, for the commands' flag tables. */
export const BACKEND_FLAGS: Record<"backend" | "threads", Flag> = {
  backend: {
    type: "string",
    value: "auto|wasm|webgpu",
    help: "auto: WebGPU on a hardware GPU, else WASM; webgpu: any adapter [auto]",
  },
  threads: {
    type: "string",
    value: "N|auto",
    help: "WASM threads (any count gives the same numbers) [auto]",
  },
};

/** The backend of a command: `undefined` for the default one, which is not disposed. */
export interface CommandBackend {
  /** The backend, or `undefined` for the default single-thread WASM backend. */
  readonly backend: Backend | undefined;
  /** In words: `wasm (2 threads)`, `webgpu (NVIDIA ..., adapter)`. */
  readonly label: string;
}

/**
 * The backend the flags ask for. With `auto`, WebGPU is looked for only when the job is one a GPU
 * runs faster (`gpuWorthIt`: training, batches of prefixes) and no `--threads` was given.
 *
 * @param own The command's own flags.
 * @param gpuWorthIt Whether the job is one a GPU would speed up.
 * @returns The backend and its name.
 * @throws {UsageError} For a bad value, `--threads` with `--backend webgpu`, or `--backend webgpu`
 * where there is no adapter.
 */
export async function commandBackend(
  own: Record<string, unknown>,
  gpuWorthIt: boolean,
): Promise<CommandBackend> {
  const choice = choiceFlag("backend", own.backend, ["auto", "wasm", "webgpu"]) as
    | "auto"
    | "wasm"
    | "webgpu";
  if (choice === "webgpu" && own.threads !== undefined) {
    throw new UsageError("--threads counts WASM threads; drop it, or use --backend wasm");
  }
  if (choice === "webgpu" || (choice === "auto" && gpuWorthIt && own.threads === undefined)) {
    let gpu;
    try {
      gpu = await webGpuFor(choice);
    } catch (e) {
      throw new UsageError(
        `--backend webgpu: ${(e as Error).message}; use --backend wasm or auto`,
      );
    }
    if (gpu) {
      return {
        backend: gpu,
        label: `webgpu (${gpu.adapter}${gpu.fallback ? ", a software adapter" : ""})`,
      };
    }
  }
  const threaded = await threadedBackend(own.threads);
  const threads = threaded?.threads ?? 1;
  return { backend: threaded, label: `wasm (${threads} thread${threads === 1 ? "" : "s"})` };
}

/**
 * A threaded backend for more than one thread, else undefined (the default single-thread backend).
 * `auto` (the default) is one thread per core where threads are available, else one; an explicit
 * count where they are not is a usage error.
 */
async function threadedBackend(flag: unknown): Promise<ThreadedBackend | undefined> {
  const text = flag ?? "auto";
  const threads = text === "auto"
    ? (threadsAvailable() ? Math.min(16, navigator.hardwareConcurrency || 1) : 1)
    : intFlag("threads", text, 1, 1);
  if (threads > 16) throw new UsageError(`--threads must be at most 16, got ${threads}`);
  if (threads === 1) return undefined;
  if (!threadsAvailable()) {
    throw new UsageError(
      "this runtime cannot run threads (it needs workers, SharedArrayBuffer and read access " +
        "to the library's files); use --threads 1",
    );
  }
  return await createThreadedBackend({ threads });
}
