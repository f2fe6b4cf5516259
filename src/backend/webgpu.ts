/**
 * The WebGPU backend: every kernel of the table as WGSL compute shaders (`webgpu_shaders.ts`)
 * over buffers that stay on the device. Kernel calls are recorded into one compute pass and
 * submitted together when the host needs the device: at a read, a write, a free, or when the
 * uniform ring fills; a minibatch of training is one submission. Nothing is read back but what the
 * caller reads (the statistics buffer keeps the loss, the gradient norm and the divergence flag on
 * the device, and clipping reads its norm there).
 *
 * A sequence kernel runs one step at a time, each step one or a few dispatches: the previous
 * state times the recurrent weights, then the cell's elementwise step; backward the cell's step,
 * then the product with the weights' transpose; the weights' gradient is one tiled product over
 * every step at the end. Numbers are float32 throughout, the statistics too (there is no float64 in
 * WGSL); sums run in another order than on the CPU, so results agree with the other backends to
 * float32's precision, not bit for bit.
 *
 * @module
 */
import { checkCall, KERNEL_NAMES } from "./kernels.ts";
import { createGpuQueue, F, GpuBuf, grid, type Root } from "./webgpu_queue.ts";
import {
  type AnyBuf,
  type Backend,
  type FloatBuf,
  type IndexBuf,
  type PackedBuf,
  type ScalarBuf,
  STAT,
} from "./types.ts";

/** Options of {@linkcode createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** Accept a software adapter (`info.isFallbackAdapter`); default true. */
  allowFallback?: boolean;
  /** Passed to `requestAdapter`. */
  powerPreference?: "low-power" | "high-performance";
}

/** A WebGPU backend, with the adapter it runs on. */
export interface WebGpuBackend extends Backend {
  /** `"webgpu"`. */
  readonly name: "webgpu";
  /** The adapter, in words (its description, or vendor and architecture). */
  readonly adapter: string;
  /** Whether the adapter is a software one (slow: for correctness, not speed). */
  readonly fallback: boolean;
  /** Why the device was lost, once it was; every call after that throws {@linkcode DeviceLostError}. */
  readonly lostReason: string | undefined;
}

/** The GPU device went away (a driver reset, the tab's GPU process, a removed card). */
export class DeviceLostError extends Error {
  /** `"DeviceLostError"`. */
  override name = "DeviceLostError";
}

/** Whether the runtime exposes WebGPU (`navigator.gpu`); an adapter may still be missing. */
export function webGpuAvailable(): boolean {
  return typeof navigator !== "undefined" && "gpu" in navigator && navigator.gpu !== undefined;
}

/** The adapter's description in words. */
function describe(info: GPUAdapterInfo | undefined): string {
  if (!info) return "an unnamed adapter";
  return info.description ||
    [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") ||
    "an unnamed adapter";
}

/**
 * Creates a WebGPU backend on the runtime's adapter.
 *
 * @param options Whether a software adapter will do, and the power preference.
 * @returns The backend.
 * @throws {Error} When the runtime has no WebGPU, no adapter, or only a software adapter that
 * `allowFallback: false` refuses; the message says which.
 */
export async function createWebGpuBackend(
  options: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  if (!webGpuAvailable()) throw new Error("this runtime has no WebGPU (navigator.gpu)");
  const adapter = await navigator.gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : {},
  );
  if (!adapter) throw new Error("WebGPU gives no adapter here (no GPU, or GPU access is off)");
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = info?.isFallbackAdapter === true;
  if (fallback && options.allowFallback === false) {
    throw new Error(`the only WebGPU adapter is a software one (${describe(info)})`);
  }
  const device = await adapter.requestDevice();
  return webGpuBackendOn(device, describe(info), fallback, true);
}

/**
 * A WebGPU backend on a device the caller already has.
 *
 * @param device The device.
 * @param adapter The adapter in words, for messages.
 * @param fallback Whether it is a software adapter.
 * @param ownsDevice Whether `dispose()` destroys the device too.
 * @returns The backend.
 */
export function webGpuBackendOn(
  device: GPUDevice,
  adapter = "a WebGPU device",
  fallback = false,
  ownsDevice = false,
): WebGpuBackend {
  const owner = {};
  let disposed = false, lostReason: string | undefined, validation: string | undefined;
  device.lost.then((info) => {
    if (!disposed) lostReason = info.message || info.reason || "unknown reason";
  });
  device.addEventListener("uncapturederror", (event) => {
    validation ??= (event as GPUUncapturedErrorEvent).error.message;
  });
  const queue = createGpuQueue(device);
  const { newRoot, dispatch, each, room } = queue;

  const alive = () => {
    if (disposed) throw new TypeError("this WebGPU backend is disposed");
    if (lostReason !== undefined) {
      throw new DeviceLostError(`the GPU device was lost (${lostReason})`);
    }
  };
  const own = (buf: AnyBuf | undefined, kind: AnyBuf["kind"]): GpuBuf => {
    alive();
    if (!(buf instanceof GpuBuf) || buf.owner !== owner || buf.kind !== kind) {
      throw new TypeError(`Expected a ${kind} buffer allocated by this WebGPU backend`);
    }
    if (buf.root.freed) throw new TypeError("this buffer was freed");
    return buf;
  };
  const make = (kind: AnyBuf["kind"], n: number, k = 0, cols = 0) => {
    alive();
    count(n, "n");
    return new GpuBuf(kind, newRoot(n), 0, n, false, owner, k, cols) as unknown as never;
  };

  const fb = (buf: FloatBuf | PackedBuf) => buf as unknown as GpuBuf;
  const ib = (buf: IndexBuf) => buf as unknown as GpuBuf;
  const sb = (buf: ScalarBuf) => buf as unknown as GpuBuf;

  /** `C[m,n] += A · B` in one of the three forms, with offsets and leading dimensions. */
  const product = (
    form: "matmulNN" | "matmulNT" | "matmulTN",
    c: GpuBuf,
    coff: number,
    ldc: number,
    a: GpuBuf,
    aoff: number,
    lda: number,
    b: GpuBuf,
    boff: number,
    ldb: number,
    m: number,
    k: number,
    n: number,
  ) => {
    if (k === 0) return;
    dispatch(form, [a.root, b.root, c.root], [
      m,
      k,
      n,
      a.offset + aoff,
      b.offset + boff,
      c.offset + coff,
      lda,
      ldb,
      ldc,
    ], [Math.ceil(n / 64), Math.ceil(m / 64)]);
  };
  /** `O[rows, cols] (+)= X[rows, kdim] · W[kdim, cols] (+ bias from column `from`)`. */
  const rowsW = (
    x: GpuBuf,
    xoff: number,
    ldx: number,
    w: GpuBuf,
    woff: number,
    ldw: number,
    o: Root,
    ooff: number,
    ldo: number,
    rows: number,
    kdim: number,
    cols: number,
    bias?: { buf: GpuBuf; from: number },
  ) => {
    const params = [
      rows,
      kdim,
      cols,
      x.offset + xoff,
      ldx,
      w.offset + woff,
      ldw,
      ooff,
      ldo,
      0,
      bias ? bias.buf.offset : 0,
      bias ? bias.from : cols,
    ];
    each("rowsW", [x.root, w.root, o, bias ? bias.buf.root : w.root], params, rows * cols);
  };
  /** `O[rows, cols] (+)= D[rows, kdim] · W[cols, kdim]ᵀ`. */
  const rowsWT = (
    d: Root,
    doff: number,
    ldd: number,
    w: GpuBuf,
    woff: number,
    ldw: number,
    o: Root,
    ooff: number,
    ldo: number,
    rows: number,
    kdim: number,
    cols: number,
    accumulate: boolean,
  ) => {
    const params = [
      rows,
      kdim,
      cols,
      doff,
      ldd,
      w.offset + woff,
      ldw,
      ooff,
      ldo,
      accumulate ? 1 : 0,
    ];
    each("rowsWT", [d, w.root, o], params, rows * cols);
  };
  const ACT = { tanh: 0, sigmoid: 1, relu: 2 } as const;

  const backend: WebGpuBackend = {
    name: "webgpu",
    adapter,
    fallback,
    get lostReason() {
      return lostReason;
    },
    alloc: (n) => make("float", n),
    allocIndices: (n) => make("index", n),
    allocScalars: (n) => make("scalar", n),
    // Room for the weight (packWeights copies it) or its integers and n scales (packInt8).
    allocPacked: (k, n) => make("packed", count(k, "k") * count(n, "n") + n, k, n),
    view: (buf, offset, length) => viewOf(buf, "float", offset, length) as unknown as FloatBuf,
    viewIndices: (buf, offset, length) =>
      viewOf(buf, "index", offset, length) as unknown as IndexBuf,
    free(buf) {
      const b = own(buf, buf.kind);
      if (b.isView) throw new TypeError("Expected a buffer from alloc, not a view");
      queue.release(b.root);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      queue.destroy();
      if (ownsDevice) device.destroy();
    },

    write: (buf, data, offset = 0) => writeOf(buf, "float", Float32Array.from(data), offset),
    writeIndices: (buf, data, offset = 0) => writeOf(buf, "index", Int32Array.from(data), offset),
    writeScalars: (buf, data, offset = 0) =>
      writeOf(buf, "scalar", Float32Array.from(data), offset),
    fill(buf, value) {
      const b = buf.kind === "scalar" ? own(buf, "scalar") : own(buf, "float");
      each("fill", [b.root], [b.offset, b.length, F(value)], b.length);
    },
    copy(dst, src) {
      const d = own(dst, "float"), s = own(src, "float");
      if (d.length !== s.length) {
        throw new TypeError(`copy needs buffers of one length, got ${d.length} and ${s.length}`);
      }
      each("copy", [d.root, s.root], [d.offset, s.offset, d.length], d.length);
    },
    async read(buf, into) {
      const b = own(buf, "float");
      const out = new Float32Array(await download(b));
      if (!into) return out;
      into.set(out);
      return into;
    },
    async readIndices(buf, into) {
      const out = new Int32Array(await download(own(buf, "index")));
      if (!into) return out;
      into.set(out);
      return into;
    },
    async readScalars(buf, into) {
      const out = Float64Array.from(new Float32Array(await download(own(buf, "scalar"))));
      if (!into) return out;
      into.set(out);
      return into;
    },

    matmulNN(c, a, b, m, k, n) {
      product("matmulNN", fb(c), 0, n, fb(a), 0, k, fb(b), 0, n, m, k, n);
    },
    matmulNT(c, a, b, m, k, n) {
      product("matmulNT", fb(c), 0, n, fb(a), 0, k, fb(b), 0, k, m, k, n);
    },
    matmulTN(c, a, b, m, k, n) {
      product("matmulTN", fb(c), 0, n, fb(a), 0, m, fb(b), 0, n, m, k, n);
    },
    // A packed weight is a copy of the weight: the tiled product reads it as well as any layout.
    packWeights(dst, b, k, n) {
      const d = fb(dst), s = fb(b);
      each("copy", [d.root, s.root], [d.offset, s.offset, k * n], k * n);
    },
    matmulPacked(c, a, b, m, k, n) {
      product("matmulNN", fb(c), 0, n, fb(a), 0, k, fb(b), 0, n, m, k, n);
    },
    packInt8(dst, b, k, n) {
      const d = fb(dst), s = fb(b);
      each("int8Pack", [d.root, s.root], [d.offset, s.offset, k, n], n);
    },
    matmulInt8(c, a, b, m, k, n) {
      if (m === 0 || n === 0) return;
      const C = fb(c), A = fb(a), B = fb(b), Q = room("int8Rows", m * k + m);
      each("int8Rows", [Q, A.root], [A.offset, k, m], m);
      each("int8Product", [C.root, Q, B.root], [C.offset, B.offset, m, k, n], m * n);
    },

    biasForward(y, bias, m, n) {
      each(
        "biasForward",
        [fb(y).root, fb(bias).root],
        [fb(y).offset, fb(bias).offset, m, n],
        m * n,
      );
    },
    biasBackward(dbias, dy, m, n) {
      each("biasBackward", [fb(dbias).root, fb(dy).root], [
        fb(dbias).offset,
        fb(dy).offset,
        m,
        n,
        n,
      ], n);
    },
    tanhForward: (y, x, n) => activation(y, x, n, ACT.tanh),
    tanhBackward: (dx, y, dy, n) => activationBack(dx, y, dy, n, ACT.tanh),
    sigmoidForward: (y, x, n) => activation(y, x, n, ACT.sigmoid),
    sigmoidBackward: (dx, y, dy, n) => activationBack(dx, y, dy, n, ACT.sigmoid),
    reluForward: (y, x, n) => activation(y, x, n, ACT.relu),
    reluBackward: (dx, y, dy, n) => activationBack(dx, y, dy, n, ACT.relu),

    gatherRowsForward(out, idx, w, n, h) {
      const o = fb(out), i = ib(idx), W = fb(w);
      each(
        "gatherRowsForward",
        [o.root, i.root, W.root],
        [o.offset, i.offset, W.offset, n, h],
        n * h,
      );
    },
    gatherRowsBackward(dw, idx, dout, n, h) {
      const d = fb(dw), i = ib(idx), o = fb(dout);
      each("gatherRowsBackward", [d.root, i.root, o.root], [d.offset, i.offset, o.offset, n, h], h);
    },
    argmaxRows(out, x, m, n) {
      const o = ib(out), X = fb(x);
      each("argmaxRows", [o.root, X.root], [o.offset, X.offset, m, n], m);
    },

    softmaxXentForward(probs, logits, targets, m, v, stats) {
      if (m === 0) return;
      const p = fb(probs), z = fb(logits), t = ib(targets), s = sb(stats);
      const losses = room("rowLoss", m);
      dispatch("softmaxXentRows", [p.root, z.root, t.root, losses], [
        p.offset,
        z.offset,
        t.offset,
        m,
        v,
        0,
      ], grid(m));
      dispatch("sumInto", [losses, s.root], [0, m, s.offset + STAT.loss], [1, 1]);
    },
    softmaxXentBackward(dlogits, probs, targets, m, v, scale) {
      const d = fb(dlogits), p = fb(probs), t = ib(targets);
      each("softmaxXentBackward", [d.root, p.root, t.root], [
        d.offset,
        p.offset,
        t.offset,
        m,
        v,
        F(scale),
      ], m * v);
    },

    rnnForward(states, zin, whh, t, b, h, act, whhPacked) {
      const S = fb(states), Z = fb(zin), W = fb(whhPacked ?? whh);
      for (let s = 0; s < t; s++) {
        each("rnnStep", [S.root, Z.root, W.root], [
          S.offset,
          Z.offset,
          W.offset,
          s,
          b,
          h,
          act === "tanh" ? 0 : 1,
        ], b * h);
      }
    },
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act) {
      const DZ = fb(dzin), DW = fb(dwhh), DS = fb(dstates), S = fb(states), W = fb(whh);
      const blk = b * h;
      for (let s = t - 1; s >= 0; s--) {
        each("rnnBackStep", [DZ.root, DS.root, S.root], [
          DZ.offset,
          DS.offset,
          S.offset,
          s,
          b,
          h,
          act === "tanh" ? 0 : 1,
        ], blk);
        rowsWT(
          DZ.root,
          DZ.offset + s * blk,
          h,
          W,
          0,
          h,
          DS.root,
          DS.offset + s * blk,
          h,
          b,
          h,
          h,
          true,
        );
      }
      product("matmulTN", DW, 0, h, S, 0, h, DZ, 0, h, h, t * b, h);
    },

    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked) {
      const S = fb(states), GS = fb(gates), HN = fb(hn), Z = fb(zin);
      const after = variant === "pytorch", g = 3 * h;
      const W = fb(after ? whhPacked ?? whh : whh);
      const P = room("hiddenProduct", b * g);
      const step = (name: "gruStep" | "gruBookCandidate", s: number) =>
        each(
          name,
          name === "gruStep" ? [S.root, GS.root, HN.root, Z.root, P] : [S.root, GS.root, Z.root, P],
          [S.offset, GS.offset, HN.offset, Z.offset, 0, s, b, h, after ? 1 : 0],
          b * h,
        );
      for (let s = 0; s < t; s++) {
        const x = s * b * h;
        if (after) {
          rowsW(S, x, h, W, 0, g, P, 0, g, b, h, g, { buf: fb(bhn!), from: 2 * h });
          step("gruStep", s);
        } else {
          rowsW(S, x, h, W, 0, g, P, 0, g, b, h, 2 * h);
          step("gruStep", s);
          rowsW(HN, x, h, W, 2 * h, g, P, 2 * h, g, b, h, h);
          step("gruBookCandidate", s);
        }
      }
    },
    gruBackward(dzin, dwhh, dbhn, dstates, states, gates, hn, whh, t, b, h, variant) {
      const DZ = fb(dzin), DW = fb(dwhh), DS = fb(dstates), S = fb(states);
      const GS = fb(gates), HN = fb(hn), W = fb(whh);
      const after = variant === "pytorch", g = 3 * h, blk = b * h;
      const DGH = room("hiddenGradient", after ? t * b * g : 1);
      const Q = room("resetProduct", after ? 1 : b * h);
      for (let s = t - 1; s >= 0; s--) {
        each("gruBackStep", [DZ.root, DGH, DS.root, S.root, GS.root, HN.root], [
          DZ.offset,
          0,
          DS.offset,
          S.offset,
          GS.offset,
          HN.offset,
          s,
          b,
          h,
          after ? 1 : 0,
        ], blk);
        const ds = DS.offset + s * blk, dz = DZ.offset + s * b * g;
        if (after) {
          rowsWT(DGH, s * b * g, g, W, 0, g, DS.root, ds, h, b, g, h, true);
        } else {
          rowsWT(DZ.root, dz + 2 * h, g, W, 2 * h, g, Q, 0, h, b, h, h, false);
          each("gruBookBackReset", [DZ.root, DS.root, S.root, GS.root, Q], [
            DZ.offset,
            DS.offset,
            S.offset,
            GS.offset,
            0,
            s,
            b,
            h,
          ], blk);
          rowsWT(DZ.root, dz, g, W, 0, g, DS.root, ds, h, b, 2 * h, h, true);
        }
      }
      if (after) {
        const dgh = new GpuBuf("float", DGH, 0, t * b * g, true, owner);
        product("matmulTN", DW, 0, g, S, 0, h, dgh, 0, g, h, t * b, g);
        const d = fb(dbhn!);
        each("biasBackward", [d.root, DGH], [d.offset, 2 * h, t * b, h, g], h);
      } else {
        product("matmulTN", DW, 0, g, S, 0, h, DZ, 0, g, h, t * b, 2 * h);
        product("matmulTN", DW, 2 * h, g, HN, 0, h, DZ, 2 * h, g, h, t * b, h);
      }
    },

    lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked) {
      const S = fb(states), C = fb(cells), GS = fb(gates), Z = fb(zin), W = fb(whhPacked ?? whh);
      const g = 4 * h, P = room("hiddenProduct", b * g);
      for (let s = 0; s < t; s++) {
        rowsW(S, s * b * h, h, W, 0, g, P, 0, g, b, h, g);
        each("lstmStep", [S.root, C.root, GS.root, Z.root, P], [
          S.offset,
          C.offset,
          GS.offset,
          Z.offset,
          0,
          s,
          b,
          h,
        ], b * h);
      }
    },
    lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h) {
      const DZ = fb(dzin), DW = fb(dwhh), DS = fb(dstates), DC = fb(dcells), S = fb(states);
      const C = fb(cells), GS = fb(gates), W = fb(whh), g = 4 * h, blk = b * h;
      for (let s = t - 1; s >= 0; s--) {
        each("lstmBackStep", [DZ.root, DS.root, DC.root, C.root, GS.root], [
          DZ.offset,
          DS.offset,
          DC.offset,
          C.offset,
          GS.offset,
          s,
          b,
          h,
        ], blk);
        rowsWT(
          DZ.root,
          DZ.offset + s * b * g,
          g,
          W,
          0,
          g,
          DS.root,
          DS.offset + s * blk,
          h,
          b,
          g,
          h,
          true,
        );
      }
      product("matmulTN", DW, 0, g, S, 0, h, DZ, 0, g, h, t * b, g);
    },

    dropoutForward(y, x, mask, n) {
      const Y = fb(y), X = fb(x), M = fb(mask);
      each("dropoutForward", [Y.root, X.root, M.root], [Y.offset, X.offset, M.offset, n], n);
    },
    dropoutBackward(dx, mask, dy, n) {
      const D = fb(dx), M = fb(mask), Y = fb(dy);
      each("dropoutBackward", [D.root, M.root, Y.root], [D.offset, M.offset, Y.offset, n], n);
    },

    clipGradNorm(grads, n, theta, stats) {
      const G = fb(grads), s = sb(stats), part = room("clipPartials", 257);
      dispatch("sumSquares", [G.root, part], [G.offset, n], [256, 1]);
      dispatch("clipFactor", [part, s.root], [s.offset, F(theta)], [1, 1]);
      each("scaleBy", [G.root, part], [G.offset, n], n);
    },
    sgdUpdate(params, grads, n, lr, stats) {
      const p = fb(params), g = fb(grads), s = stats ? sb(stats) : undefined;
      each("sgdUpdate", [p.root, g.root, s?.root ?? p.root], [
        p.offset,
        g.offset,
        n,
        F(lr),
        s?.offset ?? 0,
        s ? 1 : 0,
      ], n);
      if (s) each("countUpdate", [s.root], [s.offset], 1);
    },
    adamUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, step, stats) {
      if (!Number.isInteger(step) || step < 1 || step > 0x7fffffff) {
        throw new RangeError(`Expected step to be an integer in [1, 2^31), got ${step}`);
      }
      const p = fb(params), g = fb(grads), M = fb(m), V = fb(v);
      const s = stats ? sb(stats) : undefined;
      each("adamUpdate", [p.root, g.root, M.root, V.root, s?.root ?? p.root], [
        p.offset,
        g.offset,
        M.offset,
        V.offset,
        n,
        F(lr),
        F(beta1),
        F(beta2),
        F(eps),
        F(1 - beta1 ** step),
        F(1 - beta2 ** step),
        s?.offset ?? 0,
        s ? 1 : 0,
      ], n);
      if (s) each("countUpdate", [s.root], [s.offset], 1);
    },
  };

  function activation(y: FloatBuf, x: FloatBuf, n: number, act: number) {
    const Y = fb(y), X = fb(x);
    each("activationForward", [Y.root, X.root], [Y.offset, X.offset, n, act], n);
  }
  function activationBack(dx: FloatBuf, y: FloatBuf, dy: FloatBuf, n: number, act: number) {
    const D = fb(dx), Y = fb(y), DY = fb(dy);
    each(
      "activationBackward",
      [D.root, Y.root, DY.root],
      [D.offset, Y.offset, DY.offset, n, act],
      n,
    );
  }
  /** Writes host values into a buffer, after what was recorded before. */
  /** Throws unless `b` holds at least `n` elements. */
  function holds(b: GpuBuf, n: number) {
    if (n > b.length) {
      throw new TypeError(`Expected a buffer of at least ${n} elements, got ${b.length}`);
    }
  }
  /** A view of `length` elements of a float or index buffer from `offset`. */
  function viewOf(buf: AnyBuf, kind: "float" | "index", offset: number, length: number) {
    count(offset, "offset");
    count(length, "length");
    const b = own(buf, kind);
    holds(b, offset + length);
    return new GpuBuf(kind, b.root, b.offset + offset, length, true, owner);
  }
  /** Writes `data` into a buffer of `kind` from element `offset`. */
  function writeOf(
    buf: AnyBuf,
    kind: "float" | "index" | "scalar",
    data: Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>,
    offset: number,
  ) {
    count(offset, "offset");
    const b = own(buf, kind);
    holds(b, offset + data.length);
    upload(b, data, offset);
  }
  function upload(
    b: GpuBuf,
    data: Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>,
    offset: number,
  ) {
    queue.upload(b.root, (b.offset + offset) * 4, data);
  }
  /** The buffer's bytes once everything recorded before has run. */
  async function download(b: GpuBuf): Promise<ArrayBuffer> {
    let bytes;
    try {
      bytes = await queue.download(b.root, b.offset * 4, b.length * 4);
    } catch (e) {
      alive();
      throw e;
    }
    if (validation !== undefined) {
      throw new Error(`WebGPU reported an error (a bug in this backend): ${validation}`);
    }
    return bytes;
  }

  // Every kernel checks its buffers and sizes against the kernel table first.
  for (const name of KERNEL_NAMES) {
    const kernel = backend[name] as (...args: unknown[]) => void;
    (backend as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      alive();
      checkCall(name, args, (buf, kind) => {
        own(buf as AnyBuf, kind);
        return true;
      });
      kernel(...args);
    };
  }
  return backend;
}

/** Throws unless `x` is an integer in [0, 2^31); returns it. */
function count(x: number, name: string): number {
  if ((x | 0) !== x || x < 0) {
    throw new RangeError(`Expected ${name} to be a non-negative 32-bit integer, got ${x}`);
  }
  return x;
}
