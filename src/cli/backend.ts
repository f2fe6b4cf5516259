/**
 * `--threads N|auto`: the backend a command runs on.
 *
 * @module
 */
import {
  createThreadedBackend,
  type ThreadedBackend,
  threadsAvailable,
} from "../backend/threads.ts";
import { UsageError } from "../errors.ts";
import { intFlag } from "./args.ts";

/**
 * A threaded backend for more than one thread, else undefined (the default single-thread backend).
 * `auto` (the default) is one thread per core where threads are available, else one; an explicit
 * count where they are not is a usage error.
 */
export async function threadedBackend(flag: unknown): Promise<ThreadedBackend | undefined> {
  const text = flag ?? "auto";
  const threads = text === "auto"
    ? (threadsAvailable() ? Math.min(16, navigator.hardwareConcurrency || 1) : 1)
    : intFlag("threads", text, 1, 1);
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
