/**
 * The threaded WebAssembly backend: the relaxed-SIMD kernels over one shared memory, run by this
 * thread and `threads - 1` workers. Each large matrix product is split into blocks of rows or of
 * columns, one per thread, and so are the softmax and its gradient; the recurrent layers' forward
 * passes are split by rows of the batch (independent sequences, each thread running all steps of
 * its rows); a weight gradient's product (`matmulTN`) is handed to the other threads, and this
 * thread goes on with the kernels after it (backpropagation through time, whose steps depend on
 * each other) until one reads or writes what that product writes, or writes what it reads (the
 * roles in the kernel table): then it takes the blocks left and waits. While the workers are busy
 * other operations run on this thread; once they are done, products split again. Everything
 * else (the optimizer, the gathers) runs on this thread.
 *
 * Splitting never changes a number: every element of a product is computed by the same
 * instructions in the same order whichever block holds it, and the loss is summed row by row in
 * order, so 1 and N threads give the same bits. Workers wait on a control block in the shared
 * memory (see `thread_protocol.ts`), so a split costs a wake-up rather than a message.
 *
 * Needs workers (web workers, or Node's `worker_threads`: `worker_start.ts`) and
 * `SharedArrayBuffer`: Deno, Node, Bun and cross-origin isolated pages have them; edge functions
 * usually have no workers, and keep the single-thread backend. The relaxed-SIMD build runs where
 * the engine has it, else the plain SIMD build over the shared memory.
 *
 * @module
 */
import { kernelBytes, SHARED_MEMORY_PAGES } from "./_wasm/kernels.ts";
import { KERNEL_NAMES, type KernelArg, KERNELS } from "./kernels.ts";
import { CONTROL, type Fn, OP, ROW_KERNELS, runClaimedBlocks } from "./thread_protocol.ts";
import type { AnyBuf, Backend, FloatBuf, PackedBuf } from "./types.ts";
import { relaxedBuild, wasmBackendOver } from "./wasm.ts";
import { type StartedWorker, startWorker, workersAvailable } from "./worker_start.ts";

/**
 * A backend whose large products and softmax run on several threads. `dispose()` stops the
 * workers (live workers keep a process running).
 */
export interface ThreadedBackend extends Backend {
  /** Threads that share the work, this one included. */
  readonly threads: number;
  /** Operations split between the threads so far (the rest ran on this thread alone). */
  readonly splits: number;
}

/** Options of {@linkcode createThreadedBackend}. */
export interface ThreadedBackendOptions {
  /** Threads in all, this one included: 1 to 16. */
  threads: number;
  /**
   * Products with fewer multiply-adds (m·k·n) than this run on one thread; default 2^22, about
   * 100 µs of work (a recurrent step's product, 2^21, is faster on one).
   */
  minSplitWork?: number;
  /**
   * Run the relaxed-SIMD build (fused multiply-adds) as `createWasmBackend` does; default: where
   * the engine has relaxed SIMD. `false` gives the same bits as `createWasmBackend({ relaxedSimd:
   * false })` on every engine and any number of threads.
   */
  relaxedSimd?: boolean;
  /**
   * Where the workers' module is, for a page that serves it bundled (`thread_worker.ts` built to
   * JavaScript); default the module beside this one.
   */
  workerUrl?: string | URL;
}

/**
 * Whether this runtime can run the threaded backend: workers, shared memory, the threads
 * proposal, and (in Deno) permission to read the worker's module when it is a local file.
 *
 * @returns `true` in Deno, Node and Bun.
 * @example Choose a thread count
 * ```ts
 * import { threadsAvailable } from "./threads.ts";
 * const threads = threadsAvailable() ? navigator.hardwareConcurrency : 1;
 * console.log(threads >= 1); // true
 * ```
 */
export function threadsAvailable(): boolean {
  return workersAvailable() && typeof SharedArrayBuffer === "function" &&
    WebAssembly.validate(kernelBytes("threads-simd") as Uint8Array<ArrayBuffer>) &&
    mayLoadWorker();
}

/** The worker's module, loaded by each worker. */
const WORKER_URL = new URL("./thread_worker.ts", import.meta.url);

/** Whether Deno's permissions let a worker load its module (a local file needs read access). */
function mayLoadWorker(): boolean {
  const deno = (globalThis as {
    Deno?: { permissions?: { querySync?(d: { name: "read"; path: URL }): { state: string } } };
  }).Deno;
  if (WORKER_URL.protocol !== "file:" || !deno?.permissions?.querySync) return true;
  return deno.permissions.querySync({ name: "read", path: WORKER_URL }).state === "granted";
}

/**
 * Parts of [0, total) for `parts` threads, cut at multiples of `step` rounded down: with
 * `total >= parts·step` each part holds at least `step`, the last one the remainder too.
 */
function bounds(total: number, parts: number, step: number): number[] {
  const b = [0];
  for (let i = 1; i < parts; i++) b.push(Math.floor((total * i) / parts / step) * step);
  b.push(total);
  return b;
}

const isSize = (x: number) => (x | 0) === x && x >= 0;

/** Milliseconds after which a worker's share of one operation counts as lost (minutes of work). */
const STALLED_MS = 300_000;

/**
 * Starts a threaded backend: one shared memory, this thread and `threads - 1` workers, which are
 * ready when the promise resolves. Dispose of it when done: live workers keep a process running.
 *
 * @param options The number of threads.
 * @returns The backend, named `"wasm"`.
 * @throws {RangeError} When `threads` is not an integer from 1 to 16, or the runtime lacks what
 * threads need ({@linkcode threadsAvailable}).
 * @example Multiply on two threads
 * ```ts
 * import { createThreadedBackend } from "./threads.ts";
 * const be = await createThreadedBackend({ threads: 2 });
 * const a = be.alloc(2), b = be.alloc(2), c = be.alloc(1);
 * be.write(a, [1, 2]);
 * be.write(b, [3, 4]);
 * be.matmulNN(c, a, b, 1, 2, 1);
 * console.log((await be.read(c))[0]); // 11
 * be.dispose();
 * ```
 */
export async function createThreadedBackend(
  options: ThreadedBackendOptions,
): Promise<ThreadedBackend> {
  const threads = options.threads;
  if (!Number.isInteger(threads) || threads < 1 || threads > CONTROL.maxWorkers + 1) {
    throw new RangeError(
      `threads must be an integer from 1 to ${CONTROL.maxWorkers + 1}, got ${threads}`,
    );
  }
  if (!threadsAvailable()) {
    throw new RangeError(
      "this runtime cannot run threads (it needs workers, SharedArrayBuffer and read access " +
        "to the worker's module); use 1 thread",
    );
  }
  const relaxed = relaxedBuild(options.relaxedSimd);
  const minWork = options.minSplitWork ?? 2 ** 22;
  const memory = new WebAssembly.Memory({ ...SHARED_MEMORY_PAGES, shared: true });
  const build = relaxed ? "threads" : "threads-simd";
  const module = new WebAssembly.Module(kernelBytes(build) as Uint8Array<ArrayBuffer>);
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, Fn>;
  const workers: StartedWorker[] = [];
  let closed = false;
  const parts = wasmBackendOver(ex, memory, "", () => {
    if (pending) join();
    closed = true;
    // Wake the workers with "exit" first: one asleep in Atomics.wait cannot be terminated.
    for (let slot = 0; slot < workers.length; slot++) {
      ctl[CONTROL.args + slot * CONTROL.argsPerSlot] = OP.exit;
    }
    Atomics.add(ctl, CONTROL.sequence, 1);
    Atomics.notify(ctl, CONTROL.sequence);
    for (const w of workers) w.terminate();
  });
  const base = parts.backend;
  const pointer = (buf: AnyBuf, n: number, kind: AnyBuf["kind"] = "float") =>
    parts.pointer(buf, kind, n);

  const controlBuf = base.allocIndices(CONTROL.ints);
  const controlPtr = pointer(controlBuf, CONTROL.ints, "index");
  // Views on the shared buffer stay valid when memory grows (a SharedArrayBuffer never detaches).
  const ctl = new Int32Array(memory.buffer, controlPtr, CONTROL.ints);
  const scratchFloats = ex.scratchBytes() / 4;
  const started = await Promise.allSettled(
    Array.from({ length: threads - 1 }, (_, slot) => {
      const scratch = pointer(base.alloc(scratchFloats), scratchFloats);
      // The compiled module travels with the memory: V8 shares its code between threads,
      // so a kernel optimised on one thread is optimised on all.
      const start = { module, memory, slot, scratch, control: controlPtr };
      return startWorker(new URL(options.workerUrl ?? WORKER_URL), start);
    }),
  );
  // Slot i is worker i: all start, or none is kept.
  for (const s of started) if (s.status === "fulfilled") workers.push(s.value);
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    for (const w of workers) w.terminate();
    throw failure.reason;
  }

  let splits = 0;
  /**
   * The weight gradient handed to the workers, while they may still be computing it: its
   * operation's sequence number, its arguments for the blocks this thread takes when it must
   * wait, and the byte ranges it reads and writes.
   */
  let pending:
    | { sequence: number; args: number[]; reads: number[][]; writes: number[][] }
    | undefined;
  /** Whether the workers are busy with the pending product; forgets it once they are done. */
  const workersBusy = (): boolean => {
    if (!pending) return false;
    for (let slot = 0; slot < workers.length; slot++) {
      if (((Atomics.load(ctl, CONTROL.done + slot) - pending.sequence) | 0) < 0) return true;
    }
    pending = undefined;
    return false;
  };
  /** Takes the pending product's blocks left, then waits for the workers to finish theirs. */
  function join(): void {
    const { sequence, args } = pending!;
    pending = undefined;
    runClaimedBlocks(ex.matmulStrided, ctl, args);
    awaitWorkers(workers.length, sequence);
  }
  const overlaps = (ranges: number[][], [lo, hi]: readonly [number, number]) =>
    ranges.some(([a, b]) => lo < b && a < hi);
  /**
   * Before an operation that reads `reads` and writes `writes`: waits for the pending product
   * when the operation touches what it writes or writes what it reads.
   */
  function settle(reads: readonly (AnyBuf | undefined)[], writes: readonly (AnyBuf | undefined)[]) {
    if (!pending || !workersBusy()) return;
    const p = pending;
    for (const buf of writes) {
      if (!buf) continue;
      const r = parts.range(buf);
      if (overlaps(p.writes, r) || overlaps(p.reads, r)) return join();
    }
    for (const buf of reads) {
      if (buf && overlaps(p.writes, parts.range(buf))) return join();
    }
  }
  /** settle() for a kernel call, from the roles of its buffer arguments in the kernel table. */
  function settleKernel(spec: readonly KernelArg[], args: unknown[]): void {
    const reads: AnyBuf[] = [], writes: AnyBuf[] = [];
    spec.forEach((arg, i) => {
      if (!("role" in arg) || args[i] === undefined) return;
      (arg.role === "in" ? reads : writes).push(args[i] as AnyBuf);
    });
    settle(reads, writes);
  }

  /**
   * Posts each worker its operation and arguments, runs `own` (given the operation's sequence
   * number), then waits for every worker.
   */
  function dispatch(jobs: number[][], own: (sequence: number) => void): void {
    if (closed) throw new TypeError("this threaded backend is disposed");
    jobs.forEach((job, slot) => ctl.set(job, CONTROL.args + slot * CONTROL.argsPerSlot));
    splits++;
    const sequence = (Atomics.add(ctl, CONTROL.sequence, 1) + 1) | 0;
    Atomics.notify(ctl, CONTROL.sequence);
    try {
      own(sequence);
    } finally {
      // Even when own() threw: workers still running must finish before anything is posted again.
      awaitWorkers(jobs.length, sequence);
    }
  }

  /** Waits until the first `count` workers have finished operation `sequence` (or a later one). */
  function awaitWorkers(count: number, sequence: number): void {
    const started = performance.now();
    for (let slot = 0; slot < count; slot++) {
      const at = CONTROL.done + slot;
      for (let i = 0; ((Atomics.load(ctl, at) - sequence) | 0) < 0; i++) {
        if (i < CONTROL.spin) continue;
        Atomics.wait(ctl, at, Atomics.load(ctl, at), 1);
        // A worker killed from outside would leave this thread waiting for ever.
        if (performance.now() - started > STALLED_MS) {
          throw new Error(`kernel worker ${slot + 1} stopped responding; the backend is unusable`);
        }
      }
      if (ctl[CONTROL.failed + slot] !== 0) {
        throw new Error(`kernel worker ${slot + 1} failed; the backend's buffers are suspect`);
      }
    }
  }

  type Form = "matmulNN" | "matmulNT" | "matmulTN";
  /**
   * A product split into blocks of rows (or of columns when B is the smaller operand); a weight
   * gradient (`matmulTN`) is handed to the workers instead when they are free (see weightGradient).
   */
  function product(
    form: Form,
    c: FloatBuf,
    a: FloatBuf,
    b: FloatBuf,
    m: number,
    k: number,
    n: number,
  ): void {
    if (form === "matmulTN" && weightGradient(c, a, b, m, k, n)) return;
    // Fewer than 4 rows take a different path in the kernel, so every block keeps 4 or more.
    if (
      workersBusy() || !isSize(m) || !isSize(k) || !isSize(n) || m * k * n < minWork ||
      m < 4 * threads
    ) {
      return base[form](c, a, b, m, k, n);
    }
    const pc = pointer(c, m * n), pa = pointer(a, m * k), pb = pointer(b, k * n);
    const ta = form === "matmulTN" ? 1 : 0, tb = form === "matmulNT" ? 1 : 0;
    const lda = ta ? m : k, ldb = tb ? k : n;
    // Each block packs the whole of the operand it does not split: split the larger one.
    const byRows = n <= m;
    if (!byRows && n < 8 * threads) return base[form](c, a, b, m, k, n);
    const edges = byRows ? bounds(m, threads, 4) : bounds(n, threads, 8);
    const block = (i: number): number[] => {
      const lo = edges[i], len = edges[i + 1] - lo;
      if (byRows) {
        const aAt = pa + 4 * (ta ? lo : lo * k);
        return [pc + 4 * lo * n, n, aAt, lda, pb, ldb, len, k, n, ta, tb];
      }
      const bAt = pb + 4 * (tb ? lo * k : lo);
      return [pc + 4 * lo, n, pa, lda, bAt, ldb, m, k, len, ta, tb];
    };
    const jobs = Array.from({ length: threads - 1 }, (_, w) => [OP.gemm, ...block(w + 1)]);
    dispatch(jobs, () => ex.matmulStrided(...block(0)));
  }

  /**
   * Hands `c[m,n] += a[k,m]ᵀ · b[k,n]` to the workers as column blocks, two per thread, which
   * they claim one at a time, and returns at once; later operations wait for it only when their
   * buffers require (settle). Declines (false) when the workers are busy or the product is small.
   */
  function weightGradient(
    c: FloatBuf,
    a: FloatBuf,
    b: FloatBuf,
    m: number,
    k: number,
    n: number,
  ): boolean {
    const blocks = 2 * threads;
    if (
      workersBusy() || threads === 1 || !isSize(m) || !isSize(k) || !isSize(n) ||
      m * k * n < minWork || n < 8 * blocks
    ) {
      return false;
    }
    const width = Math.ceil(n / blocks / 8) * 8;
    const pc = pointer(c, m * n), pa = pointer(a, k * m), pb = pointer(b, k * n);
    const args = [pc, n, pa, m, pb, n, m, k, n, 1, 0, width];
    Atomics.store(ctl, CONTROL.claim, 0);
    const jobs = Array.from({ length: threads - 1 }, () => [OP.gemmClaimed, ...args]);
    jobs.forEach((job, slot) => ctl.set(job, CONTROL.args + slot * CONTROL.argsPerSlot));
    splits++;
    const sequence = (Atomics.add(ctl, CONTROL.sequence, 1) + 1) | 0;
    Atomics.notify(ctl, CONTROL.sequence);
    pending = {
      sequence,
      args,
      reads: [[...parts.range(a)], [...parts.range(b)]],
      writes: [[...parts.range(c)]],
    };
    return true;
  }

  /**
   * The row blocks of a recurrent layer's forward pass over a batch of b sequences, when it is
   * worth splitting (`work` multiply-adds, at least 4 rows a thread), else undefined.
   */
  const rowBlocks = (b: number, t: number, h: number, g: number): number[] | undefined =>
    !workersBusy() && threads > 1 && isSize(b) && isSize(t) && isSize(h) && b >= 4 * threads &&
      t * b * h * g >= minWork
      ? bounds(b, threads, 4)
      : undefined;

  /** Runs a *ForwardRows kernel on each block of rows: this thread the first, workers the rest. */
  function forwardRows(op: number, args: number[], edges: number[]): void {
    const [name] = ROW_KERNELS[op];
    const jobs = Array.from(
      { length: threads - 1 },
      (_, w) => [op, ...args, edges[w + 1], edges[w + 2]],
    );
    dispatch(jobs, () => ex[name](...args, edges[0], edges[1]));
  }
  /** The offset of a packed weight [k,n], or 0 when there is none. */
  const packedAt = (buf: PackedBuf | undefined, k: number, n: number) => {
    if (buf === undefined) return 0;
    const at = pointer(buf, 0, "packed");
    if (buf.k !== k || buf.n !== n) {
      throw new TypeError(`Expected a packed [${k},${n}] weight, got [${buf.k},${buf.n}]`);
    }
    return at;
  };

  /** Whether a softmax over m rows of v is worth splitting: from minWork / 64 elements. */
  const splitsRows = (m: number, v: number) =>
    !workersBusy() && isSize(m) && isSize(v) && m >= 2 * threads && m * v >= minWork / 64;

  let rowLoss = base.allocScalars(0);
  const f64 = () => new Float64Array(memory.buffer);
  const split: Partial<Backend> = {
    matmulNN: (c, a, b, m, k, n) => product("matmulNN", c, a, b, m, k, n),
    matmulNT: (c, a, b, m, k, n) => product("matmulNT", c, a, b, m, k, n),
    matmulTN: (c, a, b, m, k, n) => product("matmulTN", c, a, b, m, k, n),
    // The sequences of a batch are independent: each thread runs the recurrence over a block of
    // rows, all steps at once (one wake-up per layer, not per step).
    rnnForward(states, zin, whh, t, b, h, act, whhPacked) {
      const edges = act === "tanh" || act === "relu" ? rowBlocks(b, t, h, h) : undefined;
      if (!edges) return base.rnnForward(states, zin, whh, t, b, h, act, whhPacked);
      const block = b * h;
      forwardRows(OP.rnnRows, [
        pointer(states, (t + 1) * block),
        pointer(zin, t * block),
        pointer(whh, h * h),
        t,
        b,
        h,
        act === "tanh" ? 0 : 1,
        packedAt(whhPacked, h, h),
      ], edges);
    },
    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked) {
      const known = variant === "book" || (variant === "pytorch" && bhn !== undefined);
      const edges = known ? rowBlocks(b, t, h, 3 * h) : undefined;
      if (!edges) {
        return base.gruForward(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked);
      }
      const code = variant === "pytorch" ? 1 : 0;
      const block = b * h;
      forwardRows(OP.gruRows, [
        pointer(states, (t + 1) * block),
        pointer(gates, t * 3 * block),
        pointer(hn, t * block),
        pointer(zin, t * 3 * block),
        pointer(whh, 3 * h * h),
        code ? pointer(bhn!, h) : 0,
        t,
        b,
        h,
        code,
        packedAt(whhPacked, h, 3 * h),
      ], edges);
    },
    lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked) {
      const edges = rowBlocks(b, t, h, 4 * h);
      if (!edges) return base.lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked);
      const block = b * h;
      forwardRows(OP.lstmRows, [
        pointer(states, (t + 1) * block),
        pointer(cells, (t + 1) * block),
        pointer(gates, t * 4 * block),
        pointer(zin, t * 4 * block),
        pointer(whh, 4 * h * h),
        t,
        b,
        h,
        packedAt(whhPacked, h, 4 * h),
      ], edges);
    },
    // Backpropagation through time runs here, step after step; its weight gradient, one product
    // over every step, is handed to the workers or split (on this thread while they are busy).
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act) {
      if (
        threads === 1 || !isSize(t) || !isSize(b) || !isSize(h) ||
        (act !== "tanh" && act !== "relu")
      ) {
        return base.rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act);
      }
      const block = b * h;
      ex.rnnBackwardSteps(
        pointer(dzin, t * block),
        pointer(dstates, (t + 1) * block),
        pointer(states, (t + 1) * block),
        pointer(whh, h * h),
        t,
        b,
        h,
        act === "tanh" ? 0 : 1,
      );
      pointer(dwhh, h * h); // checked as the single-thread kernel checks it
      product("matmulTN", dwhh, base.view(states, 0, t * block), dzin, h, t * b, h);
    },
    lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h) {
      if (threads === 1 || !isSize(t) || !isSize(b) || !isSize(h)) {
        return base.lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h);
      }
      const block = b * h;
      // Checked as the single-thread kernel checks them.
      pointer(states, (t + 1) * block);
      pointer(dwhh, 4 * h * h);
      ex.lstmBackwardSteps(
        pointer(dzin, t * 4 * block),
        pointer(dstates, (t + 1) * block),
        pointer(dcells, (t + 1) * block),
        pointer(cells, (t + 1) * block),
        pointer(gates, t * 4 * block),
        pointer(whh, 4 * h * h),
        t,
        b,
        h,
      );
      product("matmulTN", dwhh, base.view(states, 0, t * block), dzin, h, t * b, 4 * h);
    },
    softmaxXentForward(probs, logits, targets, m, v, stats) {
      if (!splitsRows(m, v)) return base.softmaxXentForward(probs, logits, targets, m, v, stats);
      const pp = pointer(probs, m * v), pl = pointer(logits, m * v);
      const pt = pointer(targets, m, "index"), ps = pointer(stats, 4, "scalar");
      // Each row's loss in float64, summed here in order: the single-thread kernel's sum.
      if (rowLoss.length < m) {
        base.free(rowLoss);
        rowLoss = base.allocScalars(2 * m);
      }
      const pr = pointer(rowLoss, m, "scalar");
      const edges = bounds(m, threads, 1);
      const block = (i: number) => {
        const lo = edges[i];
        return [pp + 4 * lo * v, pl + 4 * lo * v, pt + 4 * lo, edges[i + 1] - lo, v, pr + 8 * lo];
      };
      const jobs = Array.from({ length: threads - 1 }, (_, w) => [OP.softmaxRows, ...block(w + 1)]);
      dispatch(jobs, () => ex.softmaxXentRows(...block(0)));
      const rows = new Float64Array(memory.buffer, pr, m);
      let loss = 0;
      for (let i = 0; i < m; i++) loss += rows[i];
      f64()[ps >> 3] += loss;
    },
    softmaxXentBackward(dlogits, probs, targets, m, v, scale) {
      if (!splitsRows(m, v)) {
        return base.softmaxXentBackward(dlogits, probs, targets, m, v, scale);
      }
      const pd = pointer(dlogits, m * v), pp = pointer(probs, m * v);
      const pt = pointer(targets, m, "index");
      const edges = bounds(m, threads, 1);
      const block = (i: number) => {
        const lo = edges[i];
        return [pd + 4 * lo * v, pp + 4 * lo * v, pt + 4 * lo, edges[i + 1] - lo, v];
      };
      // The scale travels as its float32 bits in an int32 slot.
      const scaleBits = new Int32Array(Float32Array.of(scale).buffer)[0];
      const jobs = Array.from(
        { length: threads - 1 },
        (_, w) => [OP.softmaxBackward, ...block(w + 1), scaleBits],
      );
      dispatch(jobs, () => ex.softmaxXentBackward(...block(0), scale));
    },
  };

  // Every operation first settles with the pending weight gradient, by the buffers it touches.
  const backend = { ...base } as Backend & { threads: number; splits: number };
  for (const name of KERNEL_NAMES) {
    const spec = KERNELS[name].args, run = (split[name] ?? base[name]) as (...a: unknown[]) => void;
    (backend as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (pending) settleKernel(spec, args);
      run(...args);
    };
  }
  Object.assign(
    backend,
    {
      write: (buf, data, offset) => (settle([], [buf]), base.write(buf, data, offset)),
      writeIndices: (
        buf,
        data,
        offset,
      ) => (settle([], [buf]), base.writeIndices(buf, data, offset)),
      writeScalars: (
        buf,
        data,
        offset,
      ) => (settle([], [buf]), base.writeScalars(buf, data, offset)),
      fill: (buf, value) => (settle([], [buf]), base.fill(buf, value)),
      copy: (dst, src) => (settle([src], [dst]), base.copy(dst, src)),
      read: (buf, into) => (settle([buf], []), base.read(buf, into)),
      readIndices: (buf, into) => (settle([buf], []), base.readIndices(buf, into)),
      readScalars: (buf, into) => (settle([buf], []), base.readScalars(buf, into)),
      free: (buf) => (settle([], [buf]), base.free(buf)),
    } satisfies Partial<Backend>,
  );
  Object.defineProperties(backend, {
    threads: { value: threads, enumerable: true },
    splits: { get: () => splits, enumerable: true },
  });
  return backend;
}
