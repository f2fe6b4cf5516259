/**
 * Module workers on every runtime the threaded backend runs on: the web `Worker` where there is
 * one (Deno, Bun, browsers), Node's `worker_threads` where there is not (Node has no web
 * `Worker`). Both sides go through here: the backend starts workers with {@linkcode startWorker},
 * and a worker hears its one start message through {@linkcode onStartMessage}.
 *
 * `node:worker_threads` is imported dynamically, on Node only; a browser bundle keeps the import
 * as it is, and never runs it.
 *
 * @module
 */

/** A started worker, as the backend uses it. */
export interface StartedWorker {
  /** Sends a message (structured clone; a shared memory and a compiled module are shared). */
  postMessage(message: unknown): void;
  /** Stops the worker. */
  terminate(): void;
}

/** What a worker does with its start message: `reply` answers the thread that started it. */
export type StartHandler = (data: unknown, reply: (message: unknown) => void) => void;

/** The parts of `node:worker_threads` used here. */
interface NodeWorkerThreads {
  Worker: new (url: URL) => {
    postMessage(message: unknown): void;
    terminate(): unknown;
    once(event: "message", listener: (data: unknown) => void): void;
    once(event: "error", listener: (error: Error) => void): void;
  };
  parentPort: {
    once(event: "message", listener: (data: unknown) => void): void;
    postMessage(message: unknown): void;
  } | null;
}

/** Whether the runtime has web workers (Deno, Bun, browsers). */
const hasWebWorkers = (): boolean => typeof Worker === "function";

/** Whether this is Node (which has `worker_threads` and no web `Worker`). */
const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    "string";

/**
 * Whether this runtime can start module workers.
 *
 * @returns `true` in Deno, Bun, Node and browsers.
 */
export function workersAvailable(): boolean {
  return hasWebWorkers() || isNode();
}

/**
 * Starts a module worker and resolves once it sends its first message.
 *
 * @param url The worker's module.
 * @param start Its start message.
 * @returns The worker, ready.
 * @throws {Error} When the worker fails to start (the message says why).
 */
export async function startWorker(url: URL, start: unknown): Promise<StartedWorker> {
  if (hasWebWorkers()) {
    const worker = new Worker(url.href, { type: "module" });
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new Error(`a kernel worker failed to start: ${e.message}`));
      };
      worker.postMessage(start);
    });
    return worker;
  }
  const { Worker: NodeWorker } = await import("node:worker_threads") as NodeWorkerThreads;
  const worker = new NodeWorker(url);
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", (e) => {
      worker.terminate();
      reject(new Error(`a kernel worker failed to start: ${e.message}`));
    });
    worker.postMessage(start);
  });
  return { postMessage: (m) => worker.postMessage(m), terminate: () => void worker.terminate() };
}

/**
 * In a worker: calls `handler` with the start message. On the web the handler is set before this
 * returns, so a message sent right after the worker's creation is not missed.
 *
 * @param handler What to do with it.
 */
export async function onStartMessage(handler: StartHandler): Promise<void> {
  const scope = globalThis as unknown as {
    postMessage?: (message: unknown) => void;
    onmessage?: ((event: MessageEvent) => void) | null;
  };
  if (typeof scope.postMessage === "function") {
    scope.onmessage = (event) => handler(event.data, (m) => scope.postMessage!(m));
    return;
  }
  const { parentPort } = await import("node:worker_threads") as NodeWorkerThreads;
  if (!parentPort) throw new Error("onStartMessage runs in a worker");
  parentPort.once("message", (data) => handler(data, (m) => parentPort.postMessage(m)));
}
