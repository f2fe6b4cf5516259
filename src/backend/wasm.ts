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
import { kernelBytes } from "./_wasm/kernels.ts";
import { Arena } from "./wasm_arena.ts";
import type {
  Activation,
  AnyBuf,
  Backend,
  FloatBuf,
  GruVariant,
  IndexBuf,
  PackedBuf,
  ScalarBuf,
} from "./types.ts";

/**
 * A buffer in one backend's linear memory: `length` elements (float32, int32 or float64 slots)
 * from byte offset `ptr`; a packed weight records its `k` and `n`.
 */
class WasmBuf {
  constructor(
    readonly kind: AnyBuf["kind"],
    readonly ptr: number,
    readonly length: number,
    readonly owner: object,
    /** Bytes reserved from the arena; 0 for a view, which cannot be freed. */
    readonly bytes: number,
    readonly k = 0,
    readonly n = 0,
  ) {}
  /** Set by `free()`, which refuses a buffer twice (its block would be handed out twice). */
  freed = false;
}

type Fn = (...args: number[]) => number;

const compiled = new Map<boolean, WebAssembly.Module>();

/**
 * The smallest module with one relaxed-SIMD instruction (`f32x4.relaxed_madd`): validating it
 * tells whether the engine has relaxed SIMD without decoding a kernel build.
 */
const RELAXED_PROBE = Uint8Array.of(
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0, // "\0asm", version 1
  1,
  8,
  1,
  96,
  3,
  123,
  123,
  123,
  1,
  123, // type: (v128, v128, v128) -> v128
  3,
  2,
  1,
  0, // one function of that type
  10,
  13,
  1,
  11,
  0,
  32,
  0,
  32,
  1,
  32,
  2,
  253,
  133,
  2,
  11, // local.get 0..2; relaxed_madd; end
);

/**
 * Whether this engine runs relaxed SIMD (fused multiply-adds).
 *
 * @returns `true` in current Deno, Chrome and Node; `false` where the proposal is missing.
 * @example Which build a default backend runs
 * ```ts
 * import { hasRelaxedSimd } from "./wasm.ts";
 * console.log(hasRelaxedSimd() ? "relaxed-simd" : "simd");
 * ```
 */
export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** A kernel module, compiled on first use and shared by every backend of that build. */
function kernelsModule(relaxed: boolean): WebAssembly.Module {
  let module = compiled.get(relaxed);
  if (!module) {
    const bytes = kernelBytes(relaxed ? "relaxed-simd" : "simd");
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
 * Buffers are float32 (`read` resolves to a `Float32Array` copy), carved from one linear memory;
 * a freed buffer's block is handed out again to the next allocation of the same size. Kernel
 * arguments are checked in O(1) against the kernel table: a buffer from another backend, of the
 * wrong kind or shorter than the sizes imply throws `TypeError`, a size that is not a
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
 * console.log((await be.read(c))[0]); // 11
 * ```
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  return instantiate("", relaxedBuild(options.relaxedSimd));
}

/**
 * Whether to run the relaxed-SIMD build: as asked, by default where the engine has relaxed SIMD.
 *
 * @param asked The `relaxedSimd` option.
 * @returns `true` for the relaxed build.
 * @throws {RangeError} When it is asked for on an engine without relaxed SIMD.
 */
export function relaxedBuild(asked: boolean | undefined): boolean {
  const relaxed = asked ?? hasRelaxedSimd();
  if (relaxed && !hasRelaxedSimd()) {
    throw new RangeError("this engine has no relaxed SIMD; leave relaxedSimd unset or false");
  }
  return relaxed;
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
 * const results = await Promise.all([createWasmBackend(), createNaiveWasmBackend()].map((be) => {
 *   const x = be.alloc(5), y = be.alloc(5);
 *   be.write(x, [-2, -1, 0, 1, 2]);
 *   be.tanhForward(y, x, 5);
 *   return be.read(y);
 * }));
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
  /**
   * The byte offset of a buffer of this backend of the given kind holding at least `n` elements
   * (its `k` and `n` for a packed weight); throws `TypeError` otherwise.
   */
  pointer(buf: AnyBuf | undefined, kind: AnyBuf["kind"], n: number): number;
  /** The byte range `[start, end)` a buffer of this backend covers. */
  range(buf: AnyBuf): readonly [number, number];
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
 * @param onDispose Called once by `dispose()` (the threaded backend stops its workers there).
 * @returns The backend, with the pointer of a buffer for the threaded backend's dispatch.
 */
export function wasmBackendOver(
  ex: Record<string, unknown>,
  memory: WebAssembly.Memory,
  suffix: "" | "Naive",
  onDispose?: () => void,
): WasmBackendParts {
  const bind = (name: string): Fn => ex[name + suffix] as Fn;
  const owner = {};
  let disposed = false;

  const arena = new Arena(memory, (ex.heapBase as () => number)());

  /** A zeroed block of at least `bytes` bytes, from the arena. */
  function allocBytes(bytes: number): [number, number] {
    if (disposed) throw new TypeError("this WASM backend is disposed");
    return arena.alloc(bytes);
  }
  function allocBuf(kind: AnyBuf["kind"], n: number, elementBytes: number, k = 0, cols = 0) {
    count(n, "n");
    const [ptr, bytes] = allocBytes(n * elementBytes);
    return new WasmBuf(kind, ptr, n, owner, bytes, k, cols);
  }

  /** The byte offset of `buf`, after checking it is ours, of that kind, and holds `n` elements. */
  function ptr(buf: AnyBuf | undefined, kind: AnyBuf["kind"], n: number): number {
    if (disposed) throw new TypeError("this WASM backend is disposed");
    if (!(buf instanceof WasmBuf) || buf.owner !== owner || buf.kind !== kind) {
      throw new TypeError(`Expected a ${kind} buffer allocated by this WASM backend`);
    }
    if (buf.length < n) {
      throw new TypeError(`Expected a buffer of at least ${n} elements, got ${buf.length}`);
    }
    return buf.ptr;
  }
  const fp = (buf: FloatBuf, n: number) => ptr(buf, "float", n);
  const ip = (buf: IndexBuf, n: number) => ptr(buf, "index", n);
  const sp = (buf: ScalarBuf) => ptr(buf, "scalar", 4);
  /** The offset of a weight [k,n] packed by packWeights, or 0 (the kernels pack it themselves). */
  const pp = (buf: PackedBuf | undefined, k: number, n: number): number => {
    if (buf === undefined) return 0;
    const p = ptr(buf, "packed", 0), w = buf as unknown as WasmBuf;
    if (w.k !== k || w.n !== n) {
      throw new TypeError(`Expected a packed [${k},${n}] weight, got [${w.k},${w.n}]`);
    }
    return p;
  };

  // The packing scratch of this instance (the threaded build's other instances get their own).
  (ex.useScratch as Fn)(allocBytes((ex.scratchBytes as () => number)())[0]);

  const mmNN = bind("matmulNN"), mmNT = bind("matmulNT"), mmTN = bind("matmulTN");
  const packedSize = bind("packedSize"), packW = bind("packWeights"), mmP = bind("matmulPacked");
  const pack8 = bind("packInt8"), mm8 = bind("matmulInt8");
  const biasF = bind("biasForward"), biasB = bind("biasBackward");
  const dropF = bind("dropoutForward"), dropB = bind("dropoutBackward");
  const tanhF = bind("tanhForward"), tanhB = bind("tanhBackward");
  const sigF = bind("sigmoidForward"), sigB = bind("sigmoidBackward");
  const reluF = bind("reluForward"), reluB = bind("reluBackward");
  const gatherF = bind("gatherRowsForward"), gatherB = bind("gatherRowsBackward");
  const xentF = bind("softmaxXentForward"), xentB = bind("softmaxXentBackward");
  const argmaxF = bind("argmaxRows");
  const rnnF = bind("rnnForward"), rnnB = bind("rnnBackward");
  const gruF = bind("gruForward"), gruB = bind("gruBackward");
  const lstmF = bind("lstmForward"), lstmB = bind("lstmBackward");
  const clip = bind("clipGradNorm"), sgd = bind("sgdUpdate"), adam = bind("adamUpdate");

  const backend: Backend = {
    name: "wasm",
    alloc: (n) => allocBuf("float", n, 4) as unknown as FloatBuf,
    allocIndices: (n) => allocBuf("index", n, 4) as unknown as IndexBuf,
    allocScalars: (n) => allocBuf("scalar", n, 8) as unknown as ScalarBuf,
    allocPacked(k, n) {
      sizes2(k, n);
      return allocBuf("packed", packedSize(k, n), 4, k, n) as unknown as PackedBuf;
    },
    view(buf, offset, length) {
      count(offset, "offset");
      count(length, "length");
      const p = fp(buf, offset + length);
      return new WasmBuf("float", p + offset * 4, length, owner, 0) as unknown as FloatBuf;
    },
    viewIndices(buf, offset, length) {
      count(offset, "offset");
      count(length, "length");
      const p = ip(buf, offset + length);
      return new WasmBuf("index", p + offset * 4, length, owner, 0) as unknown as IndexBuf;
    },
    free(buf) {
      ptr(buf, buf.kind, 0);
      const w = buf as unknown as WasmBuf;
      if (w.bytes === 0) throw new TypeError("Expected a buffer from alloc, not a view");
      if (w.freed) throw new TypeError("this buffer was freed already");
      w.freed = true;
      arena.free(w.ptr, w.bytes);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      arena.clear();
      onDispose?.();
    },
    read(buf, into) {
      const p = fp(buf, 0) >> 2;
      if (!into) return Promise.resolve(arena.f32.slice(p, p + buf.length));
      into.set(arena.f32.subarray(p, p + buf.length));
      return Promise.resolve(into);
    },
    readIndices(buf, into) {
      const p = ip(buf, 0) >> 2;
      if (!into) return Promise.resolve(arena.i32.slice(p, p + buf.length));
      // Copied one by one: a view per call would allocate at every generated character.
      const i32 = arena.i32;
      for (let i = 0; i < buf.length; i++) into[i] = i32[p + i];
      return Promise.resolve(into);
    },
    readScalars(buf, into) {
      const p = ptr(buf, "scalar", 0) >> 3;
      if (!into) return Promise.resolve(arena.f64.slice(p, p + buf.length));
      into.set(arena.f64.subarray(p, p + buf.length));
      return Promise.resolve(into);
    },
    write(buf, data, offset = 0) {
      count(offset, "offset");
      arena.f32.set(data, (fp(buf, offset + data.length) >> 2) + offset);
    },
    writeIndices(buf, data, offset = 0) {
      count(offset, "offset");
      arena.i32.set(data, (ip(buf, offset + data.length) >> 2) + offset);
    },
    writeScalars(buf, data, offset = 0) {
      count(offset, "offset");
      arena.f64.set(data, (ptr(buf, "scalar", offset + data.length) >> 3) + offset);
    },
    fill(buf, value) {
      if (buf.kind === "scalar") {
        const p = ptr(buf, "scalar", 0) >> 3;
        arena.f64.fill(value, p, p + buf.length);
        return;
      }
      const p = fp(buf, 0) >> 2;
      arena.f32.fill(value, p, p + buf.length);
    },
    copy(dst, src) {
      if (dst.length !== src.length) {
        throw new TypeError(
          `Expected buffers of equal length, got ${dst.length} and ${src.length}`,
        );
      }
      const s = fp(src, 0) >> 2;
      arena.f32.copyWithin(fp(dst, 0) >> 2, s, s + src.length);
    },

    matmulNN(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmNN(fp(c, m * n), fp(a, m * k), fp(b, k * n), m, k, n);
    },
    matmulNT(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmNT(fp(c, m * n), fp(a, m * k), fp(b, n * k), m, k, n);
    },
    matmulTN(c, a, b, m, k, n) {
      sizes3(m, k, n);
      mmTN(fp(c, m * n), fp(a, k * m), fp(b, k * n), m, k, n);
    },
    packWeights(dst, b, k, n) {
      sizes2(k, n);
      if (dst === undefined) throw new TypeError("packWeights: dst is missing");
      packW(pp(dst, k, n), fp(b, k * n), k, n);
    },
    matmulPacked(c, a, b, m, k, n) {
      sizes3(m, k, n);
      if (b === undefined) throw new TypeError("matmulPacked: b is missing");
      mmP(fp(c, m * n), fp(a, m * k), pp(b, k, n), m, k, n);
    },
    packInt8(dst, b, k, n) {
      sizes2(k, n);
      if (dst === undefined) throw new TypeError("packInt8: dst is missing");
      pack8(pp(dst, k, n), fp(b, k * n), k, n);
    },
    matmulInt8(c, a, b, m, k, n) {
      sizes3(m, k, n);
      if (b === undefined) throw new TypeError("matmulInt8: b is missing");
      mm8(fp(c, m * n), fp(a, m * k), pp(b, k, n), m, k, n);
    },

    biasForward(y, bias, m, n) {
      sizes2(m, n);
      biasF(fp(y, m * n), fp(bias, n), m, n);
    },
    biasBackward(dbias, dy, m, n) {
      sizes2(m, n);
      biasB(fp(dbias, n), fp(dy, m * n), m, n);
    },

    tanhForward(y, x, n) {
      count(n, "n");
      tanhF(fp(y, n), fp(x, n), n);
    },
    tanhBackward(dx, y, dy, n) {
      count(n, "n");
      tanhB(fp(dx, n), fp(y, n), fp(dy, n), n);
    },
    sigmoidForward(y, x, n) {
      count(n, "n");
      sigF(fp(y, n), fp(x, n), n);
    },
    sigmoidBackward(dx, y, dy, n) {
      count(n, "n");
      sigB(fp(dx, n), fp(y, n), fp(dy, n), n);
    },
    reluForward(y, x, n) {
      count(n, "n");
      reluF(fp(y, n), fp(x, n), n);
    },
    reluBackward(dx, y, dy, n) {
      count(n, "n");
      reluB(fp(dx, n), fp(y, n), fp(dy, n), n);
    },

    gatherRowsForward(out, idx, w, n, h) {
      sizes2(n, h);
      gatherF(fp(out, n * h), ip(idx, n), fp(w, h), n, h);
    },
    gatherRowsBackward(dw, idx, dout, n, h) {
      sizes2(n, h);
      gatherB(fp(dw, h), ip(idx, n), fp(dout, n * h), n, h);
    },

    argmaxRows(out, x, m, n) {
      sizes2(m, n);
      argmaxF(ip(out, m), fp(x, m * n), m, n);
    },

    softmaxXentForward(probs, logits, targets, m, v, stats) {
      sizes2(m, v);
      xentF(fp(probs, m * v), fp(logits, m * v), ip(targets, m), m, v, sp(stats));
    },
    softmaxXentBackward(dlogits, probs, targets, m, v, scale) {
      sizes2(m, v);
      xentB(fp(dlogits, m * v), fp(probs, m * v), ip(targets, m), m, v, scale);
    },

    rnnForward(states, zin, whh, t, b, h, act, whhPacked) {
      sizes3(t, b, h);
      const code = activationCode(act), block = b * h;
      rnnF(
        fp(states, (t + 1) * block),
        fp(zin, t * block),
        fp(whh, h * h),
        t,
        b,
        h,
        code,
        pp(whhPacked, h, h),
      );
    },
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act) {
      sizes3(t, b, h);
      const code = activationCode(act), block = b * h;
      rnnB(
        fp(dzin, t * block),
        fp(dwhh, h * h),
        fp(dstates, (t + 1) * block),
        fp(states, (t + 1) * block),
        fp(whh, h * h),
        t,
        b,
        h,
        code,
      );
    },

    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked) {
      sizes3(t, b, h);
      const code = variantCode(variant), block = b * h, gate = 3 * block;
      gruF(
        fp(states, (t + 1) * block),
        fp(gates, t * gate),
        fp(hn, t * block),
        fp(zin, t * gate),
        fp(whh, 3 * h * h),
        code ? fp(bhn!, h) : 0,
        t,
        b,
        h,
        code,
        pp(whhPacked, h, 3 * h),
      );
    },
    gruBackward(dzin, dwhh, dbhn, dstates, states, gates, hn, whh, t, b, h, variant) {
      sizes3(t, b, h);
      const code = variantCode(variant), block = b * h, gate = 3 * block;
      gruB(
        fp(dzin, t * gate),
        fp(dwhh, 3 * h * h),
        code ? fp(dbhn!, h) : 0,
        fp(dstates, (t + 1) * block),
        fp(states, (t + 1) * block),
        fp(gates, t * gate),
        fp(hn, t * block),
        fp(whh, 3 * h * h),
        t,
        b,
        h,
        code,
      );
    },
    lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked) {
      sizes3(t, b, h);
      const block = b * h, gate = 4 * block;
      lstmF(
        fp(states, (t + 1) * block),
        fp(cells, (t + 1) * block),
        fp(gates, t * gate),
        fp(zin, t * gate),
        fp(whh, 4 * h * h),
        t,
        b,
        h,
        pp(whhPacked, h, 4 * h),
      );
    },
    lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h) {
      sizes3(t, b, h);
      const block = b * h, gate = 4 * block;
      lstmB(
        fp(dzin, t * gate),
        fp(dwhh, 4 * h * h),
        fp(dstates, (t + 1) * block),
        fp(dcells, (t + 1) * block),
        fp(states, (t + 1) * block),
        fp(cells, (t + 1) * block),
        fp(gates, t * gate),
        fp(whh, 4 * h * h),
        t,
        b,
        h,
      );
    },

    dropoutForward(y, x, mask, n) {
      count(n, "n");
      dropF(fp(y, n), fp(x, n), fp(mask, n), n);
    },
    dropoutBackward(dx, mask, dy, n) {
      count(n, "n");
      dropB(fp(dx, n), fp(mask, n), fp(dy, n), n);
    },

    clipGradNorm(grads, n, theta, stats) {
      count(n, "n");
      clip(fp(grads, n), n, theta, sp(stats));
    },
    sgdUpdate(params, grads, n, lr, stats) {
      count(n, "n");
      sgd(fp(params, n), fp(grads, n), n, lr, stats === undefined ? 0 : sp(stats));
    },
    adamUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, step, stats) {
      count(n, "n");
      adamStep(step);
      adam(
        fp(params, n),
        fp(grads, n),
        fp(m, n),
        fp(v, n),
        n,
        lr,
        beta1,
        beta2,
        eps,
        step,
        stats === undefined ? 0 : sp(stats),
      );
    },
  };
  const range = (buf: AnyBuf): readonly [number, number] => {
    const w = buf as unknown as WasmBuf;
    const bytes = w.kind === "scalar" ? 8 : 4;
    return [w.ptr, w.ptr + w.length * bytes];
  };
  return { backend, pointer: ptr, range, exports: ex };
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

/** The kernels' code for an activation: 0 tanh, 1 relu. */
function activationCode(act: Activation): number {
  if (act === "tanh") return 0;
  if (act === "relu") return 1;
  throw new RangeError(`Expected act to be "tanh" or "relu", got ${String(act)}`);
}

/** The kernels' code for a GRU variant: 0 the book's, 1 PyTorch's. */
function variantCode(variant: GruVariant): number {
  if (variant === "book") return 0;
  if (variant === "pytorch") return 1;
  throw new RangeError(`Expected variant to be "book" or "pytorch", got ${String(variant)}`);
}
