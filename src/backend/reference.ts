/**
 * The reference backend: every kernel as a plain float64 loop. It is the oracle the WASM kernels
 * are tested against and the backend the finite-difference gradient checks run on.
 *
 * @module
 */
import { checkCall, KERNEL_NAMES } from "./kernels.ts";
import {
  type AnyBuf,
  type Backend,
  type FloatBuf,
  type IndexBuf,
  type PackedBuf,
  type ScalarBuf,
  STAT,
} from "./types.ts";

/** A buffer of the reference backend: a typed array with the handle's kind. */
class RefBuf {
  constructor(
    readonly kind: AnyBuf["kind"],
    readonly data: Float64Array | Int32Array,
    readonly root: boolean,
    readonly owner: object,
    readonly k = 0,
    readonly n = 0,
  ) {}
  get length(): number {
    return this.data.length;
  }
}

const f = (buf: FloatBuf | PackedBuf | ScalarBuf): Float64Array =>
  (buf as unknown as RefBuf).data as Float64Array;
const ix = (buf: IndexBuf): Int32Array => (buf as unknown as RefBuf).data as Int32Array;

/** `c[m,n] += a[m,k] · b[k,n]` in float64. */
function matmulNN(
  c: FloatBuf,
  a: FloatBuf,
  b: FloatBuf | PackedBuf,
  m: number,
  k: number,
  n: number,
): void {
  const C = f(c), A = f(a), B = f(b);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
      C[i * n + j] += s;
    }
  }
}

/**
 * Creates the float64 reference backend.
 *
 * @returns A backend whose buffers are `Float64Array`s.
 * @example Multiply two matrices
 * ```ts
 * import { createReferenceBackend } from "./reference.ts";
 * const be = createReferenceBackend();
 * const a = be.alloc(2), b = be.alloc(2), c = be.alloc(1);
 * be.write(a, [1, 2]);
 * be.write(b, [3, 4]);
 * be.matmulNN(c, a, b, 1, 2, 1);
 * console.log((await be.read(c))[0]); // 11
 * ```
 */
export function createReferenceBackend(): Backend {
  const owner = {};
  let disposed = false;
  // Freed buffers, so a second free() is refused as in the WebAssembly backend.
  const freed = new WeakSet<RefBuf>();
  const make = (kind: AnyBuf["kind"], data: Float64Array | Int32Array, k = 0, n = 0) => {
    if (disposed) throw new TypeError("this reference backend is disposed");
    return new RefBuf(kind, data, true, owner, k, n) as unknown as never;
  };
  const own = (buf: AnyBuf, kind: AnyBuf["kind"]): RefBuf => {
    if (disposed) throw new TypeError("this reference backend is disposed");
    if (!(buf instanceof RefBuf) || buf.owner !== owner || buf.kind !== kind) {
      throw new TypeError(`Expected a ${kind} buffer allocated by this reference backend`);
    }
    return buf;
  };
  /** A view of `length` elements of a float or index buffer from `offset`. */
  const viewOf = (buf: AnyBuf, kind: "float" | "index", offset: number, length: number) => {
    const b = own(buf, kind);
    count(offset, "offset");
    count(length, "length");
    if (offset + length > b.length) {
      throw new TypeError(
        `Expected a buffer of at least ${offset + length} elements, got ${b.length}`,
      );
    }
    return new RefBuf(kind, b.data.subarray(offset, offset + length), false, owner);
  };
  const backend: Backend = {
    name: "reference",
    alloc: (n) => make("float", new Float64Array(count(n, "n"))),
    allocIndices: (n) => make("index", new Int32Array(count(n, "n"))),
    allocScalars: (n) => make("scalar", new Float64Array(count(n, "n"))),
    // The reference layout of a packed weight is the weight itself (packWeights), or packInt8's
    // integers in its place followed by the n scales.
    allocPacked: (k, n) =>
      make("packed", new Float64Array(count(k, "k") * count(n, "n") + n), k, n),
    view: (buf, offset, length) => viewOf(buf, "float", offset, length) as unknown as FloatBuf,
    viewIndices: (buf, offset, length) =>
      viewOf(buf, "index", offset, length) as unknown as IndexBuf,
    free(buf) {
      const b = own(buf, buf.kind);
      if (!b.root) throw new TypeError("Expected a buffer from alloc, not a view");
      if (freed.has(b)) throw new TypeError("this buffer was freed already");
      freed.add(b);
    },
    dispose() {
      disposed = true;
    },
    read(buf, into) {
      const data = own(buf, "float").data as Float64Array;
      if (!into) return Promise.resolve(data.slice());
      into.set(data);
      return Promise.resolve(into);
    },
    readIndices(buf, into) {
      const data = own(buf, "index").data as Int32Array;
      if (!into) return Promise.resolve(data.slice());
      into.set(data);
      return Promise.resolve(into);
    },
    readScalars(buf, into) {
      const data = own(buf, "scalar").data as Float64Array;
      if (!into) return Promise.resolve(data.slice());
      into.set(data);
      return Promise.resolve(into);
    },
    write: (buf, data, offset = 0) => own(buf, "float").data.set(data, offset),
    writeIndices: (buf, data, offset = 0) => own(buf, "index").data.set(data, offset),
    writeScalars: (buf, data, offset = 0) => own(buf, "scalar").data.set(data, offset),
    fill: (buf, value) => void own(buf, buf.kind).data.fill(value),
    copy(dst, src) {
      const d = own(dst, "float"), s = own(src, "float");
      if (d.length !== s.length) {
        throw new TypeError(`Expected buffers of equal length, got ${d.length} and ${s.length}`);
      }
      d.data.set(s.data);
    },

    matmulNN,
    matmulNT(c, a, b, m, k, n) {
      const C = f(c), A = f(a), B = f(b);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[i * k + p] * B[j * k + p];
          C[i * n + j] += s;
        }
      }
    },
    matmulTN(c, a, b, m, k, n) {
      const C = f(c), A = f(a), B = f(b);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[p * m + i] * B[p * n + j];
          C[i * n + j] += s;
        }
      }
    },
    packWeights: (dst, b, k, n) => f(dst).set(f(b).subarray(0, k * n)),
    matmulPacked: matmulNN,
    packInt8(dst, b, k, n) {
      const D = f(dst), B = f(b);
      for (let j = 0; j < n; j++) {
        const column = Array.from({ length: k }, (_, i) => B[i * n + j]);
        const { q, scale } = quantizeInt8(column);
        D[k * n + j] = scale;
        q.forEach((v, i) => D[i * n + j] = v);
      }
    },
    matmulInt8(c, a, b, m, k, n) {
      const C = f(c), A = f(a), Q = f(b);
      for (let i = 0; i < m; i++) {
        const { q, scale } = quantizeInt8(A.subarray(i * k, (i + 1) * k), 63);
        if (scale === 0) continue;
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += q[p] * Q[p * n + j];
          C[i * n + j] += Math.fround(sum) * Math.fround(scale * Q[k * n + j]);
        }
      }
    },

    biasForward(y, bias, m, n) {
      const Y = f(y), b = f(bias);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) Y[i * n + j] += b[j];
    },
    biasBackward(dbias, dy, m, n) {
      const db = f(dbias), D = f(dy);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] += D[i * n + j];
    },

    tanhForward(y, x, n) {
      const Y = f(y), X = f(x);
      for (let i = 0; i < n; i++) Y[i] = Math.tanh(X[i]);
    },
    tanhBackward(dx, y, dy, n) {
      const DX = f(dx), Y = f(y), DY = f(dy);
      for (let i = 0; i < n; i++) DX[i] += (1 - Y[i] * Y[i]) * DY[i];
    },
    sigmoidForward(y, x, n) {
      const Y = f(y), X = f(x);
      for (let i = 0; i < n; i++) Y[i] = sigmoid(X[i]);
    },
    sigmoidBackward(dx, y, dy, n) {
      const DX = f(dx), Y = f(y), DY = f(dy);
      for (let i = 0; i < n; i++) DX[i] += Y[i] * (1 - Y[i]) * DY[i];
    },
    reluForward(y, x, n) {
      const Y = f(y), X = f(x);
      for (let i = 0; i < n; i++) Y[i] = X[i] > 0 ? X[i] : 0;
    },
    reluBackward(dx, y, dy, n) {
      const DX = f(dx), Y = f(y), DY = f(dy);
      for (let i = 0; i < n; i++) if (Y[i] > 0) DX[i] += DY[i];
    },

    argmaxRows(out, x, m, n) {
      const X = f(x), into = ix(out);
      for (let i = 0; i < m; i++) {
        let best = 0, max = n > 0 ? X[i * n] : 0;
        for (let j = 1; j < n; j++) {
          if (X[i * n + j] > max) max = X[i * n + (best = j)];
        }
        into[i] = best;
      }
    },
    gatherRowsForward(out, idx, w, n, h) {
      const O = f(out), I = ix(idx), W = f(w);
      for (let i = 0; i < n; i++) for (let j = 0; j < h; j++) O[i * h + j] += W[I[i] * h + j];
    },
    gatherRowsBackward(dw, idx, dout, n, h) {
      const DW = f(dw), I = ix(idx), D = f(dout);
      for (let i = 0; i < n; i++) for (let j = 0; j < h; j++) DW[I[i] * h + j] += D[i * h + j];
    },

    softmaxXentForward(probs, logits, targets, m, v, stats) {
      const P = f(probs), Z = f(logits), Tg = ix(targets);
      let loss = 0;
      for (let i = 0; i < m; i++) {
        let max = -Infinity;
        for (let j = 0; j < v; j++) max = Math.max(max, Z[i * v + j]);
        const target = Z[i * v + Tg[i]];
        let sum = 0;
        for (let j = 0; j < v; j++) {
          const e = Math.exp(Z[i * v + j] - max);
          P[i * v + j] = e;
          sum += e;
        }
        for (let j = 0; j < v; j++) P[i * v + j] /= sum;
        // -log p_target = logsumexp - z_target, exact even when p_target underflows.
        loss += Math.log(sum) + max - target;
      }
      f(stats)[STAT.loss] += loss;
    },
    softmaxXentBackward(dlogits, probs, targets, m, v, scale) {
      const D = f(dlogits), P = f(probs), Tg = ix(targets);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < v; j++) {
          D[i * v + j] = scale * (P[i * v + j] - (j === Tg[i] ? 1 : 0));
        }
      }
    },

    // A packed weight here is a copy of the weight (see packWeights), so it stands in for it.
    rnnForward(states, zin, whh, t, b, h, act, whhPacked) {
      const S = f(states), Z = f(zin), W = f(whhPacked ?? whh);
      const block = b * h;
      for (let s = 0; s < t; s++) {
        for (let r = 0; r < b; r++) {
          for (let j = 0; j < h; j++) {
            let z = Z[s * block + r * h + j];
            for (let p = 0; p < h; p++) z += S[s * block + r * h + p] * W[p * h + j];
            S[(s + 1) * block + r * h + j] = act === "tanh" ? Math.tanh(z) : Math.max(z, 0);
          }
        }
      }
    },
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act) {
      const DZ = f(dzin), DW = f(dwhh), DS = f(dstates), S = f(states), W = f(whh);
      const block = b * h;
      for (let s = t - 1; s >= 0; s--) {
        for (let r = 0; r < b; r++) {
          for (let j = 0; j < h; j++) {
            const y = S[(s + 1) * block + r * h + j];
            const dy = DS[(s + 1) * block + r * h + j];
            const dz = act === "tanh" ? (1 - y * y) * dy : (y > 0 ? dy : 0);
            DZ[s * block + r * h + j] += dz;
            for (let p = 0; p < h; p++) {
              DS[s * block + r * h + p] += dz * W[p * h + j];
              DW[p * h + j] += S[s * block + r * h + p] * dz;
            }
          }
        }
      }
    },

    // GRU gates: Dive into Deep Learning, GRU section; the "pytorch" variant as torch.nn.GRU.
    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, variant, whhPacked) {
      const after = variant === "pytorch";
      const S = f(states), Gs = f(gates), HN = f(hn), Z = f(zin);
      const BN = after ? f(bhn!) : new Float64Array(0);
      const W = f(after ? whhPacked ?? whh : whh);
      const g = 3 * h;
      for (let s = 0; s < t; s++) {
        for (let r = 0; r < b; r++) {
          // Rows of H_s, H_{s+1}, the gates (and zin) and hn.
          const hp = (s * b + r) * h, hx = ((s + 1) * b + r) * h;
          const go = (s * b + r) * g, qo = (s * b + r) * h;
          for (let j = 0; j < 2 * h; j++) {
            let a = Z[go + j];
            for (let p = 0; p < h; p++) a += S[hp + p] * W[p * g + j];
            Gs[go + j] = sigmoid(a);
          }
          for (let j = 0; j < h; j++) {
            if (after) {
              let q = BN[j];
              for (let p = 0; p < h; p++) q += S[hp + p] * W[p * g + 2 * h + j];
              HN[qo + j] = q;
            } else {
              HN[qo + j] = Gs[go + j] * S[hp + j];
            }
          }
          for (let j = 0; j < h; j++) {
            let a = Z[go + 2 * h + j];
            if (after) a += Gs[go + j] * HN[qo + j];
            else for (let p = 0; p < h; p++) a += HN[qo + p] * W[p * g + 2 * h + j];
            const n = Math.tanh(a), z = Gs[go + h + j];
            Gs[go + 2 * h + j] = n;
            S[hx + j] = z * S[hp + j] + (1 - z) * n;
          }
        }
      }
    },
    gruBackward(dzin, dwhh, dbhn, dstates, states, gates, hn, whh, t, b, h, variant) {
      const after = variant === "pytorch";
      const DZ = f(dzin), DW = f(dwhh), DS = f(dstates);
      const DBN = after ? f(dbhn!) : new Float64Array(0);
      const S = f(states), Gs = f(gates), HN = f(hn), W = f(whh);
      const g = 3 * h;
      // One row's gradients: of the pre-activations [r̂ | ẑ | n̂] and of hn.
      const dpre = new Float64Array(g), dq = new Float64Array(h);
      for (let s = t - 1; s >= 0; s--) {
        for (let r = 0; r < b; r++) {
          const hp = (s * b + r) * h, hx = ((s + 1) * b + r) * h;
          const go = (s * b + r) * g, qo = (s * b + r) * h;
          // H' = z⊙H + (1-z)⊙n.
          for (let j = 0; j < h; j++) {
            const dy = DS[hx + j], z = Gs[go + h + j], n = Gs[go + 2 * h + j];
            dpre[h + j] = dy * (S[hp + j] - n) * z * (1 - z);
            dpre[2 * h + j] = dy * (1 - z) * (1 - n * n);
            DS[hp + j] += dy * z;
          }
          if (after) {
            // n̂ = zin_n + r⊙hn with hn = H·W_hn + bhn.
            for (let j = 0; j < h; j++) {
              const rg = Gs[go + j];
              dq[j] = dpre[2 * h + j] * rg;
              dpre[j] = dpre[2 * h + j] * HN[qo + j] * rg * (1 - rg);
              DBN[j] += dq[j];
            }
            for (let p = 0; p < h; p++) {
              for (let c = 0; c < g; c++) {
                const d = c < 2 * h ? dpre[c] : dq[c - 2 * h];
                DS[hp + p] += d * W[p * g + c];
                DW[p * g + c] += S[hp + p] * d;
              }
            }
          } else {
            // n̂ = zin_n + hn·W_hn with hn = r⊙H.
            for (let p = 0; p < h; p++) {
              let q = 0;
              for (let j = 0; j < h; j++) {
                q += dpre[2 * h + j] * W[p * g + 2 * h + j];
                DW[p * g + 2 * h + j] += HN[qo + p] * dpre[2 * h + j];
              }
              const rg = Gs[go + p];
              dpre[p] = q * S[hp + p] * rg * (1 - rg);
              DS[hp + p] += q * rg;
            }
            for (let p = 0; p < h; p++) {
              for (let c = 0; c < 2 * h; c++) {
                DS[hp + p] += dpre[c] * W[p * g + c];
                DW[p * g + c] += S[hp + p] * dpre[c];
              }
            }
          }
          for (let c = 0; c < g; c++) DZ[go + c] += dpre[c];
        }
      }
    },

    // LSTM gates: Dive into Deep Learning, LSTM section, in torch.nn.LSTM's order [i | f | g | o].
    lstmForward(states, cells, gates, zin, whh, t, b, h, whhPacked) {
      const S = f(states), C = f(cells), Gs = f(gates), Z = f(zin), W = f(whhPacked ?? whh);
      const g = 4 * h;
      for (let s = 0; s < t; s++) {
        for (let r = 0; r < b; r++) {
          const hp = (s * b + r) * h, hx = ((s + 1) * b + r) * h, go = (s * b + r) * g;
          for (let c = 0; c < g; c++) {
            let a = Z[go + c];
            for (let p = 0; p < h; p++) a += S[hp + p] * W[p * g + c];
            Gs[go + c] = c >= 2 * h && c < 3 * h ? Math.tanh(a) : sigmoid(a);
          }
          for (let j = 0; j < h; j++) {
            const i = Gs[go + j], fg = Gs[go + h + j];
            const gg = Gs[go + 2 * h + j], o = Gs[go + 3 * h + j];
            C[hx + j] = fg * C[hp + j] + i * gg;
            S[hx + j] = o * Math.tanh(C[hx + j]);
          }
        }
      }
    },
    lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, whh, t, b, h) {
      const DZ = f(dzin), DW = f(dwhh), DS = f(dstates), DC = f(dcells);
      const S = f(states), C = f(cells), Gs = f(gates), W = f(whh);
      const g = 4 * h;
      const dpre = new Float64Array(g);
      for (let s = t - 1; s >= 0; s--) {
        for (let r = 0; r < b; r++) {
          const hp = (s * b + r) * h, hx = ((s + 1) * b + r) * h, go = (s * b + r) * g;
          for (let j = 0; j < h; j++) {
            const i = Gs[go + j], fg = Gs[go + h + j];
            const gg = Gs[go + 2 * h + j], o = Gs[go + 3 * h + j];
            const dy = DS[hx + j], tc = Math.tanh(C[hx + j]);
            // The full gradient reaching C_{s+1}: from above and through H_{s+1}.
            const dc = DC[hx + j] + dy * o * (1 - tc * tc);
            DC[hx + j] = dc;
            DC[hp + j] += dc * fg;
            dpre[j] = dc * gg * i * (1 - i);
            dpre[h + j] = dc * C[hp + j] * fg * (1 - fg);
            dpre[2 * h + j] = dc * i * (1 - gg * gg);
            dpre[3 * h + j] = dy * tc * o * (1 - o);
          }
          for (let p = 0; p < h; p++) {
            for (let c = 0; c < g; c++) {
              DS[hp + p] += dpre[c] * W[p * g + c];
              DW[p * g + c] += S[hp + p] * dpre[c];
            }
          }
          for (let c = 0; c < g; c++) DZ[go + c] += dpre[c];
        }
      }
    },

    dropoutForward(y, x, mask, n) {
      const Y = f(y), X = f(x), M = f(mask);
      for (let i = 0; i < n; i++) Y[i] = X[i] * M[i];
    },
    dropoutBackward(dx, mask, dy, n) {
      const DX = f(dx), M = f(mask), DY = f(dy);
      for (let i = 0; i < n; i++) DX[i] += DY[i] * M[i];
    },

    clipGradNorm(grads, n, theta, stats) {
      const G = f(grads), S = f(stats);
      if (S[STAT.diverged] !== 0) return;
      let sq = 0;
      for (let i = 0; i < n; i++) sq += G[i] * G[i];
      const norm = Math.sqrt(sq);
      S[STAT.norm] = norm;
      if (!Number.isFinite(norm) || !Number.isFinite(S[STAT.loss])) {
        S[STAT.diverged] = 1;
      } else if (theta > 0 && norm > theta) {
        for (let i = 0; i < n; i++) G[i] *= theta / norm;
      }
    },
    sgdUpdate(params, grads, n, lr, stats) {
      if (!updateAllowed(stats)) return;
      const P = f(params), G = f(grads);
      for (let i = 0; i < n; i++) P[i] -= lr * G[i];
    },
    adamUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, step, stats) {
      adamStep(step);
      if (!updateAllowed(stats)) return;
      const P = f(params), G = f(grads), M = f(m), V = f(v);
      // Adam: Kingma & Ba 2015, Algorithm 1, with the bias corrections of torch.optim.Adam.
      const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
      for (let i = 0; i < n; i++) {
        const g = G[i];
        M[i] = beta1 * M[i] + (1 - beta1) * g;
        V[i] = beta2 * V[i] + (1 - beta2) * g * g;
        P[i] -= (lr * (M[i] / bc1)) / (Math.sqrt(V[i] / bc2) + eps);
      }
    },
  };
  // Every kernel checks its buffers and sizes against the kernel table first.
  for (const name of KERNEL_NAMES) {
    const kernel = backend[name] as (...args: unknown[]) => void;
    (backend as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (disposed) throw new TypeError("this reference backend is disposed");
      checkCall(name, args, (buf, kind) => {
        own(buf as AnyBuf, kind);
        return true;
      });
      kernel(...args);
    };
  }
  return backend;
}

/** Whether an update may run (no statistics, or no divergence yet); counts it when it may. */
function updateAllowed(stats: ScalarBuf | undefined): boolean {
  if (!stats) return true;
  const S = f(stats);
  if (S[STAT.diverged] !== 0) return false;
  S[STAT.updates]++;
  return true;
}

/** Throws unless `x` is an integer in [0, 2^31); returns it. */
function count(x: number, name: string): number {
  if ((x | 0) !== x || x < 0) {
    throw new RangeError(`Expected ${name} to be a non-negative 32-bit integer, got ${x}`);
  }
  return x;
}

/** The logistic function, written so that neither branch overflows. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Throws unless the Adam step count is an integer >= 1 (the bias corrections divide by 0 at 0). */
function adamStep(step: number): void {
  if (!Number.isInteger(step) || step < 1 || step > 0x7fffffff) {
    throw new RangeError(`Expected step to be an integer in [1, 2^31), got ${step}`);
  }
}

/** Rounds to the nearest integer, ties to even (WebAssembly's `nearest`, WGSL's `round`). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/**
 * The 8-bit (or, with `limit` 63, 7-bit) form of a row or column, in float32 steps as the kernels
 * take them: the scale `max / limit` and the integers `round(x / scale)`, ties to even
 * (see `Backend.packInt8` and `Backend.matmulInt8`).
 */
function quantizeInt8(values: ArrayLike<number>, limit = 127): { q: number[]; scale: number } {
  const x = Array.from(values, Math.fround);
  const max = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scale = Math.fround(max / limit);
  if (scale === 0) return { q: x.map(() => 0), scale };
  // NaN (a row of a diverged model) is 0.
  const q = x.map((v) => {
    const r = roundEven(Math.fround(v / scale));
    return Number.isNaN(r) ? 0 : Math.min(limit, Math.max(-limit, r));
  });
  return { q, scale };
}
