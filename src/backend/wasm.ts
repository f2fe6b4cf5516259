/**
 * The WebAssembly SIMD backend: the AssemblyScript kernels in `assembly/`, compiled to one module
 * with no imports and inlined as bytes (`src/backend/_wasm/kernels.ts`), so it needs no permissions.
 *
 * Each backend owns one instance and one linear memory. Buffers are float32 (indices int32)
 * handles carved from a bump arena in that memory; every kernel method is one bound export call
 * after O(1) argument checks.
 *
 * @module
 */
import { KERNELS_WASM, KERNELS_WASM_RELAXED } from "./_wasm/kernels.ts";
import type { ActivationCode, Backend, Buf, IndexBuf } from "./types.ts";

/** Buffers start on 64-byte boundaries (a cache line); memory grows in 64 KiB pages. */
const ALIGN = 64;
const PAGE = 65536;

/** A buffer in one backend's linear memory: `length` elements from byte offset `ptr`. */
class WasmBuf implements Buf, IndexBuf {
  constructor(readonly ptr: number, readonly length: number, readonly owner: object) {}
}

type Fn = (...args: number[]) => number;

const compiled = new Map<boolean, WebAssembly.Module>();

/**
 * Whether this engine runs relaxed SIMD (fused multiply-adds): it validates the relaxed build.
 *
 * @returns `true` in current Deno, Chrome and Node; `false` where the proposal is missing.
 * @example Which build a default backend runs
 * ```ts
 * import { hasRelaxedSimd } from "./wasm.ts";
 * console.log(hasRelaxedSimd() ? "relaxed-simd" : "simd");
 * ```
 */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(KERNELS_WASM_RELAXED as Uint8Array<ArrayBuffer>);
}

/** A kernel module, compiled on first use and shared by every backend of that build. */
function kernelsModule(relaxed: boolean): WebAssembly.Module {
  let module = compiled.get(relaxed);
  if (!module) {
    const bytes = relaxed ? KERNELS_WASM_RELAXED : KERNELS_WASM;
    compiled.set(relaxed, module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>));
  }
  return module;
}

/** Options of {@linkcode createWasmBackend}. */
export interface WasmBackendOptions {
  /**
   * Run the relaxed-SIMD build, whose matrix products use fused multiply-adds (faster; the last
   * bits of a result may differ between CPUs); default: where the engine has relaxed SIMD.
   */
  relaxedSimd?: boolean;
}

/**
 * Creates a backend running the WebAssembly SIMD kernels, with its own instance and memory.
 *
 * Buffers are float32 (`read` returns a `Float32Array` copy) and live until the backend is
 * garbage-collected; there is no `free`. Kernel arguments are checked in O(1): a buffer from
 * another backend or one shorter than the sizes imply throws `TypeError`, a size that is not a
 * non-negative 32-bit integer throws `RangeError`. Index values (gather rows, targets) are not
 * checked and must lie in range.
 *
 * @param options Which build to run; by default the relaxed-SIMD one where the engine has it.
 * @returns A {@linkcode Backend} named `"wasm"`.
 * @example Multiply two matrices
 * ```ts
 * import { createWasmBackend } from "./wasm.ts";
 * const be = createWasmBackend();
 * const a = be.alloc(2), b = be.alloc(2), c = be.alloc(1);
 * be.write(a, [1, 2]);
 * be.write(b, [3, 4]);
 * be.matmulNN(c, a, b, 1, 2, 1);
 * console.log(be.read(c)[0]); // 11
 * ```
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  const relaxed = options.relaxedSimd ?? hasRelaxedSimd();
  if (relaxed && !hasRelaxedSimd()) {
    throw new RangeError("this engine has no relaxed SIMD; leave relaxedSimd unset or false");
  }
  return instantiate("", relaxed);
}

/**
 * Creates a backend like {@linkcode createWasmBackend} whose kernels are the scalar twins of the
 * SIMD kernels (`matmulNNNaive`, `tanhForwardNaive`, ...): plain loops in the same module, for
 * tests that check the fast kernels. Slow; not for training.
 *
 * @returns A {@linkcode Backend} named `"wasm"` running the scalar twins.
 * @example Check a SIMD kernel against its twin
 * ```ts
 * import { createNaiveWasmBackend, createWasmBackend } from "./wasm.ts";
 * const results = [createWasmBackend(), createNaiveWasmBackend()].map((be) => {
 *   const x = be.alloc(5), y = be.alloc(5);
 *   be.write(x, [-2, -1, 0, 1, 2]);
 *   be.tanhForward(y, x, 5);
 *   return be.read(y);
 * });
 * console.log(results[0][4].toFixed(5), results[1][4].toFixed(5)); // 0.96403 0.96403
 * ```
 */
export function createNaiveWasmBackend(): Backend {
  return instantiate("Naive", false);
}

/** A backend over a new instance, binding each kernel `name + suffix`. */
function instantiate(suffix: "" | "Naive", relaxed: boolean): Backend {
  const instance = new WebAssembly.Instance(kernelsModule(relaxed), {});
  const ex = instance.exports as Record<string, unknown>;
  return wasmBackendOver(ex, ex.memory as WebAssembly.Memory, suffix).backend;
}

/** A backend over an instance, with what the threaded backend needs besides. */
export interface WasmBackendParts {
  /** The backend. */
  backend: Backend;
  /** The byte offset of a buffer of this backend holding at least `n` elements. */
  pointer(buf: Buf | IndexBuf, n: number): number;
  /** The instance's exports. */
  exports: Record<string, unknown>;
}

/**
 * Builds the backend over an instance of a kernel module and its memory, binding each kernel
 * `name + suffix`; gives the instance its scratch block from the arena (see `useScratch` in
 * `assembly/matmul.ts`).
 *
 * @param ex The instance's exports.
 * @param memory Its memory (exported, or imported and shared in the threaded build).
 * @param suffix `""` for the SIMD kernels, `"Naive"` for their scalar twins.
 * @returns The backend, with the pointer of a buffer for the threaded backend's dispatch.
 */
export function wasmBackendOver(
  ex: Record<string, unknown>,
  memory: WebAssembly.Memory,
  suffix: "" | "Naive",
): WasmBackendParts {
  const bind = (name: string): Fn => ex[name + suffix] as Fn;
  const owner = {};

  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  let top = Math.ceil((ex.heapBase as () => number)() / ALIGN) * ALIGN;

  function allocBuf(n: number): WasmBuf {
    count(n, "n");
    const ptr = top;
    const end = ptr + Math.ceil((n * 4) / ALIGN) * ALIGN;
    if (end > memory.buffer.byteLength) {
      // Grow by at least half again, so a run of small allocations grows memory rarely.
      const need = Math.ceil((end - memory.buffer.byteLength) / PAGE);
      const pages = Math.max(need, Math.ceil(memory.buffer.byteLength / PAGE / 2));
      try {
        memory.grow(pages);
      } catch {
        memory.grow(need);
      }
      // Growing detaches the old ArrayBuffer and every view on it.
      f32 = new Float32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
    }
    top = end;
    return new WasmBuf(ptr, n, owner);
  }

  /** The byte offset of `buf`, after checking it is ours and holds at least `n` elements. */
  function ptr(buf: Buf | IndexBuf, n: number): number {
    if (!(buf instanceof WasmBuf) || buf.owner !== owner) {
      throw new TypeError("Expected a buffer allocated by this WASM backend");
    }
    if (buf.length < n) {
      throw new TypeError(`Expected a buffer of at least ${n} elements, got ${buf.length}`);
    }
    return buf.ptr;
  }

  // The packing scratch of this instance (the threaded build's other instances get their own).
  (ex.useScratch as Fn)(allocBuf((ex.scratchBytes as () => number)() / 4).ptr);

  const mmNN = bind("matmulNN"), mmNT = bind("matmulNT"), mmTN = bind("matmulTN");
  const packedSize = bind("packedSize"), packW = bind("packWeights"), mmP = bind("matmulPacked");
  /** The offset of a weight [k,n] packed by packWeights, or 0 (the kernels pack it themselves). */
  const packedPtr = (buf: Buf | undefined, k: number, n: number): number =>
    buf === undefined ? 0 : ptr(buf, packedSize(k, n));
  const biasF = bind("biasForward"), biasB = bind("biasBackward");
  const dropF = bind("dropoutForward"), dropB = bind("dropoutBackward");
  const tanhF = bind("tanhForward"), tanhB = bind("tanhBackward");
  const sigF = bind("sigmoidForward"), sigB = bind("sigmoidBackward");
  const reluF = bind("reluForward"), reluB = bind("reluBackward");
  const gatherF = bind("gatherRowsForward"), gatherB = bind("gatherRowsBackward");
  const xentF = bind("softmaxXentForward"), xentB = bind("softmaxXentBackward");
  const argmaxF = bind("argmaxRows");
  // Where argmaxRows leaves its indices before they are copied out; grown on demand.
  let choices = allocBuf(0);
  const rnnF = bind("rnnForward"), rnnB = bind("rnnBackward");
  const gruF = bind("gruForward"), gruB = bind("gruBackward");
  const lstmF = bind("lstmForward"), lstmB = bind("lstmBackward");
  const sumSq = bind("sumSquares"), scal = bind("scale"), sgd = bind("sgdUpdate");
  const adam = bind("adamUpdate");

  const backend: Backend = {
    name: "wasm",
    alloc: (n) => allocBuf(n),
    allocIndices: (n) => allocBuf(n),
    view(buf, offset, length) {
      count(offset, "offset");
      count(length, "length");
      const p = ptr(buf, offset + length);
      return new WasmBuf(p + offset * 4, length, owner);
    },
    read(buf, into) {
      const p = ptr(buf, 0) >> 2;
      if (!into) return f32.slice(p, p + buf.length);
      into.set(f32.subarray(p, p + buf.length));
      return into;
    },
    write(buf, data, offset = 0) {
      count(offset, "offset");
      f32.set(data, (ptr(buf, offset + data.length) >> 2) + offset);
    },
    writeIndices(buf, data, offset = 0) {
      count(offset, "offset");
      i32.set(data, (ptr(buf, offset + data.length) >> 2) + offset);
    },
    fill(buf, value) {
      const p = ptr(buf, 0) >> 2;
      f32.fill(value, p, p + buf.length);
    },
    copy(dst, src) {
      if (dst.length !== src.length) {
        throw new TypeError(
          `Expected buffers of equal length, got ${dst.length} and ${src.length}`,
        );
      }
      const s = ptr(src, 0) >> 2;
      f32.copyWithin(ptr(dst, 0) >> 2, s, s + src.length);
    },

    matmulNN(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmNN(ptr(c, m * n), ptr(a, m * k), ptr(b, k * n), m, k, n);
    },
    matmulNT(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmNT(ptr(c, m * n), ptr(a, m * k), ptr(b, n * k), m, k, n);
    },
    matmulTN(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmTN(ptr(c, m * n), ptr(a, k * m), ptr(b, k * n), m, k, n);
    },
    matmulTNAlongside(c, a, b, m, k, n, work) {
      backend.matmulTN(c, a, b, m, k, n);
      work();
    },
    packedSize(k, n) {
      sizes2(k, n);
      return packedSize(k, n);
    },
    packWeights(dst, b, k, n) {
      sizes2(k, n);
      packW(ptr(dst, packedSize(k, n)), ptr(b, k * n), k, n);
    },
    matmulPacked(c, a, bPacked, m, k, n) {
      sizes3(m, k, n);
      mmP(ptr(c, m * n), ptr(a, m * k), ptr(bPacked, packedSize(k, n)), m, k, n);
    },

    biasForward(y, bias, m, n) {
      sizes2(m, n);
      biasF(ptr(y, m * n), ptr(bias, n), m, n);
    },
    biasBackward(dbias, dy, m, n) {
      sizes2(m, n);
      biasB(ptr(dbias, n), ptr(dy, m * n), m, n);
    },

    tanhForward(y, x, n) {
      count(n, "n");
      tanhF(ptr(y, n), ptr(x, n), n);
    },
    tanhBackward(dx, y, dy, n) {
      count(n, "n");
      tanhB(ptr(dx, n), ptr(y, n), ptr(dy, n), n);
    },
    sigmoidForward(y, x, n) {
      count(n, "n");
      sigF(ptr(y, n), ptr(x, n), n);
    },
    sigmoidBackward(dx, y, dy, n) {
      count(n, "n");
      sigB(ptr(dx, n), ptr(y, n), ptr(dy, n), n);
    },
    reluForward(y, x, n) {
      count(n, "n");
      reluF(ptr(y, n), ptr(x, n), n);
    },
    reluBackward(dx, y, dy, n) {
      count(n, "n");
      reluB(ptr(dx, n), ptr(y, n), ptr(dy, n), n);
    },

    gatherRowsForward(out, idx, w, n, h) {
      sizes2(n, h);
      gatherF(ptr(out, n * h), ptr(idx, n), ptr(w, h), n, h);
    },
    gatherRowsBackward(dw, idx, dout, n, h) {
      sizes2(n, h);
      gatherB(ptr(dw, h), ptr(idx, n), ptr(dout, n * h), n, h);
    },

    argmaxRows(x, m, n, into) {
      sizes2(m, n);
      if (into.length < m) {
        throw new TypeError(`Expected an array of at least ${m} elements, got ${into.length}`);
      }
      if (choices.length < m) choices = allocBuf(Math.max(m, 2 * choices.length));
      const p = choices.ptr;
      argmaxF(p, ptr(x, m * n), m, n);
      // Copied one by one: a view per call would allocate at every generated character.
      for (let i = 0, q = p >> 2; i < m; i++) into[i] = i32[q + i];
    },

    softmaxXentForward(probs, logits, targets, m, v) {
      sizes2(m, v);
      return xentF(ptr(probs, m * v), ptr(logits, m * v), ptr(targets, m), m, v);
    },
    softmaxXentBackward(dlogits, probs, targets, m, v, scale) {
      sizes2(m, v);
      xentB(ptr(dlogits, m * v), ptr(probs, m * v), ptr(targets, m), m, v, scale);
    },

    rnnForward(states, zin, whh, t, b, h, act: ActivationCode, whhPacked) {
      sizes3(t, b, h);
      activation(act);
      const block = b * h;
      rnnF(
        ptr(states, (t + 1) * block),
        ptr(zin, t * block),
        ptr(whh, h * h),
        t,
        b,
        h,
        act,
        packedPtr(whhPacked, h, h),
      );
    },
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act: ActivationCode) {
      sizes3(t, b, h);
      activation(act);
      const block = b * h;
      rnnB(
        ptr(dzin, t * block),
        ptr(dwhh, h * h),
        ptr(dstates, (t + 1) * block),
        ptr(states, (t + 1) * block),
        ptr(whh, h * h),
        t,
        b,
        h,
        act,
      );
    },

    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, resetAfter, whhPacked) {
      sizes3(t, b, h);
      const block = b * h, gate = 3 * block;
      resetAfterCode(resetAfter);
      gruF(
        ptr(states, (t + 1) * block),
        ptr(gates, t * gate),
        ptr(hn, t * block),
        ptr(zin, t * gate),
        ptr(whh, 3 * h * h),
        ptr(bhn, resetAfter * h),
        t,
        b,
        h,
        resetAfter,
        packedPtr(whhPacked, h, 3 * h),
      );
    },
    gruBackward(dzin, dwhh, dbhn, dstates, states, gates, hn, whh, t, b, h, resetAfter) {
      sizes3(t, b, h);
      const block = b * h, gate = 3 * block;
      resetAfterCode(resetAfter);
      gruB(
        ptr(dzin, t * gate),
        ptr(dwhh, 3 * h * h),
        ptr(dbhn, resetAfter * h),
        ptr(dstates, (t + 1) * block),
        ptr(states, (t + 1) * block),
        ptr(gates, t * gate),
        ptr(hn, t * block),
        ptr(whh, 3 * h * h),
        t,
        b,
        h,
        resetAfter,
      );
    },
    lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked) {
      sizes3(t, b, h);
      const block = b * h, gate = 4 * block;
      lstmF(
        ptr(states, (t + 1) * block),
        ptr(cells, (t + 1) * block),
        ptr(gates, t * gate),
        ptr(zin, t * gate),
        ptr(whh, 4 * h * h),
        t,
        b,
        h,
        packedPtr(whhPacked, h, 4 * h),
      );
    },
    lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h) {
      sizes3(t, b, h);
      const block = b * h, gate = 4 * block;
      lstmB(
        ptr(dzin, t * gate),
        ptr(dwhh, 4 * h * h),
        ptr(dstates, (t + 1) * block),
        ptr(dcells, (t + 1) * block),
        ptr(states, (t + 1) * block),
        ptr(cells, (t + 1) * block),
        ptr(gates, t * gate),
        ptr(whh, 4 * h * h),
        t,
        b,
        h,
      );
    },

    dropoutForward(y, x, mask, n) {
      count(n, "n");
      dropF(ptr(y, n), ptr(x, n), ptr(mask, n), n);
    },
    dropoutBackward(dx, mask, dy, n) {
      count(n, "n");
      dropB(ptr(dx, n), ptr(mask, n), ptr(dy, n), n);
    },

    sumSquares(x, n) {
      count(n, "n");
      return sumSq(ptr(x, n), n);
    },
    scale(x, n, s) {
      count(n, "n");
      scal(ptr(x, n), n, s);
    },
    sgdUpdate(params, grads, n, lr) {
      count(n, "n");
      sgd(ptr(params, n), ptr(grads, n), n, lr);
    },
    adamUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, step) {
      count(n, "n");
      adamStep(step);
      adam(ptr(params, n), ptr(grads, n), ptr(m, n), ptr(v, n), n, lr, beta1, beta2, eps, step);
    },
  };
  return { backend, pointer: ptr, exports: ex };
}

/** Throws unless `x` is an integer in [0, 2^31). */
function count(x: number, name: string): void {
  if ((x | 0) !== x || x < 0) {
    throw new RangeError(`Expected ${name} to be a non-negative 32-bit integer, got ${x}`);
  }
}

function sizes2(a: number, b: number): void {
  if ((a | 0) !== a || (b | 0) !== b || a < 0 || b < 0) {
    throw new RangeError(`Expected sizes to be non-negative 32-bit integers, got ${a}, ${b}`);
  }
}

function sizes3(a: number, b: number, c: number): void {
  if ((a | 0) !== a || (b | 0) !== b || (c | 0) !== c || a < 0 || b < 0 || c < 0) {
    throw new RangeError(`Expected sizes to be non-negative 32-bit integers, got ${a}, ${b}, ${c}`);
  }
}

/** Throws unless the Adam step count is an integer in [1, 2^31) (the kernel takes an i32). */
function adamStep(step: number): void {
  if ((step | 0) !== step || step < 1) {
    throw new RangeError(`Expected step to be an integer in [1, 2^31), got ${step}`);
  }
}

/** Throws unless the GRU variant is 0 (the book's) or 1 (PyTorch's). */
function resetAfterCode(resetAfter: number): void {
  if (resetAfter !== 0 && resetAfter !== 1) {
    throw new RangeError(`Expected resetAfter to be 0 (book) or 1 (PyTorch), got ${resetAfter}`);
  }
}

function activation(act: number): void {
  if (act !== 0 && act !== 1) {
    throw new RangeError(`Expected act to be 0 (tanh) or 1 (relu), got ${act}`);
  }
}
