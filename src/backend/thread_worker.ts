/**
 * A worker thread of the threaded WebAssembly backend (`threads.ts`): it instantiates the
 * threaded kernel build (compiled once, sent by the backend) over the backend's shared memory, then waits on a control block in that
 * memory for its share of each split product or softmax, runs it and signals that it is done.
 * Nothing goes through `postMessage` after start-up, so a split costs a wake-up, not a message.
 *
 * @module
 */
import { CONTROL, type Fn, OP, ROW_KERNELS, runClaimedBlocks } from "./thread_protocol.ts";
import { onStartMessage } from "./worker_start.ts";

/** What the backend sends once: the memory, this worker's slot, scratch and control block. */
interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  slot: number;
  scratch: number;
  control: number;
}

await onStartMessage((data, reply) => {
  const { module, memory, slot, scratch, control } = data as Start;
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, Fn>;
  ex.useScratch(scratch);
  const ctl = new Int32Array(memory.buffer, control, CONTROL.ints);
  const f32 = new Float32Array(memory.buffer, control, CONTROL.ints);
  const args = CONTROL.args + slot * CONTROL.argsPerSlot;
  // Read before saying ready: work posted after "ready" must find seen behind the sequence.
  let seen = Atomics.load(ctl, CONTROL.sequence);
  reply("ready");
  for (;;) {
    // Spin a little first: the next split usually follows within microseconds.
    let sequence = seen;
    for (let i = 0; i < CONTROL.spin && sequence === seen; i++) {
      sequence = Atomics.load(ctl, CONTROL.sequence);
    }
    if (sequence === seen) {
      Atomics.wait(ctl, CONTROL.sequence, seen);
      continue;
    }
    seen = sequence;
    const op = ctl[args];
    if (op === OP.exit) return;
    let failed = 0;
    try {
      const a = (i: number) => ctl[args + 1 + i];
      if (op === OP.gemm) {
        ex.matmulStrided(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10));
      } else if (op === OP.softmaxRows) {
        ex.softmaxXentRows(a(0), a(1), a(2), a(3), a(4), a(5));
      } else if (op === OP.softmaxBackward) {
        ex.softmaxXentBackward(a(0), a(1), a(2), a(3), a(4), f32[args + 1 + 5]);
      } else if (op === OP.gemmClaimed) {
        runClaimedBlocks(ex.matmulStrided, ctl, ctl.subarray(args + 1, args + 13));
      } else if (op in ROW_KERNELS) {
        const [name, count] = ROW_KERNELS[op];
        ex[name](...ctl.subarray(args + 1, args + 1 + count));
      }
    } catch {
      failed = 1;
    }
    ctl[CONTROL.failed + slot] = failed;
    Atomics.store(ctl, CONTROL.done + slot, seen);
    Atomics.notify(ctl, CONTROL.done + slot);
  }
});
