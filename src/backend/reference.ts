/**
 * The reference backend: every kernel as a plain float64 loop. It is the oracle the WASM kernels
 * are tested against and the backend the finite-difference gradient checks run on.
 *
 * @module
 */
import type { ActivationCode, Backend, Buf, IndexBuf } from "./types.ts";

const f = (buf: Buf): Float64Array => buf as Float64Array;
const ix = (buf: IndexBuf): Int32Array => buf as Int32Array;

/** `c[m,n] += a[m,k] · b[k,n]` in float64. */
function matmulNN(c: Buf, a: Buf, b: Buf, m: number, k: number, n: number): void {
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
 * console.log(be.read(c)[0]); // 11
 * ```
 */
export function createReferenceBackend(): Backend {
  const backend: Backend = {
    name: "reference",
    alloc: (n) => new Float64Array(n),
    allocIndices: (n) => new Int32Array(n),
    view: (buf, offset, length) => f(buf).subarray(offset, offset + length),
    read(buf, into) {
      if (!into) return f(buf).slice();
      into.set(f(buf));
      return into;
    },
    write: (buf, data, offset = 0) => f(buf).set(data, offset),
    writeIndices: (buf, data, offset = 0) => ix(buf).set(data, offset),
    fill: (buf, value) => void f(buf).fill(value),
    copy: (dst, src) => f(dst).set(f(src)),

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
    matmulTNAlongside(c, a, b, m, k, n, work) {
      backend.matmulTN(c, a, b, m, k, n);
      work();
    },
    // The reference layout of a packed weight is the weight itself.
    packedSize: (k, n) => k * n,
    packWeights: (dst, b, k, n) => f(dst).set(f(b).subarray(0, k * n)),
    matmulPacked: matmulNN,

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

    argmaxRows(x, m, n, into) {
      const X = f(x);
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

    softmaxXentForward(probs, logits, targets, m, v) {
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
      return loss;
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
    rnnForward(states, zin, whh, t, b, h, act: ActivationCode, whhPacked) {
      const S = f(states), Z = f(zin), W = f(whhPacked ?? whh);
      const block = b * h;
      for (let s = 0; s < t; s++) {
        for (let r = 0; r < b; r++) {
          for (let j = 0; j < h; j++) {
            let z = Z[s * block + r * h + j];
            for (let p = 0; p < h; p++) z += S[s * block + r * h + p] * W[p * h + j];
            S[(s + 1) * block + r * h + j] = act === 0 ? Math.tanh(z) : Math.max(z, 0);
          }
        }
      }
    },
    rnnBackward(dzin, dwhh, dstates, states, whh, t, b, h, act: ActivationCode) {
      const DZ = f(dzin), DW = f(dwhh), DS = f(dstates), S = f(states), W = f(whh);
      const block = b * h;
      for (let s = t - 1; s >= 0; s--) {
        for (let r = 0; r < b; r++) {
          for (let j = 0; j < h; j++) {
            const y = S[(s + 1) * block + r * h + j];
            const dy = DS[(s + 1) * block + r * h + j];
            const dz = act === 0 ? (1 - y * y) * dy : (y > 0 ? dy : 0);
            DZ[s * block + r * h + j] += dz;
            for (let p = 0; p < h; p++) {
              DS[s * block + r * h + p] += dz * W[p * h + j];
              DW[p * h + j] += S[s * block + r * h + p] * dz;
            }
          }
        }
      }
    },

    // GRU gates: Dive into Deep Learning, GRU section; resetAfter = 1 as torch.nn.GRU.
    gruForward(states, gates, hn, zin, whh, bhn, t, b, h, resetAfter, whhPacked) {
      resetAfterCode(resetAfter);
      const S = f(states), Gs = f(gates), HN = f(hn), Z = f(zin), BN = f(bhn);
      const W = f(resetAfter === 1 ? whhPacked ?? whh : whh);
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
            if (resetAfter === 1) {
              let q = BN[j];
              for (let p = 0; p < h; p++) q += S[hp + p] * W[p * g + 2 * h + j];
              HN[qo + j] = q;
            } else {
              HN[qo + j] = Gs[go + j] * S[hp + j];
            }
          }
          for (let j = 0; j < h; j++) {
            let a = Z[go + 2 * h + j];
            if (resetAfter === 1) a += Gs[go + j] * HN[qo + j];
            else for (let p = 0; p < h; p++) a += HN[qo + p] * W[p * g + 2 * h + j];
            const n = Math.tanh(a), z = Gs[go + h + j];
            Gs[go + 2 * h + j] = n;
            S[hx + j] = z * S[hp + j] + (1 - z) * n;
          }
        }
      }
    },
    gruBackward(dzin, dwhh, dbhn, dstates, states, gates, hn, whh, t, b, h, resetAfter) {
      resetAfterCode(resetAfter);
      const DZ = f(dzin), DW = f(dwhh), DBN = f(dbhn), DS = f(dstates);
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
          if (resetAfter === 1) {
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

    sumSquares(x, n) {
      const X = f(x);
      let s = 0;
      for (let i = 0; i < n; i++) s += X[i] * X[i];
      return s;
    },
    scale(x, n, s) {
      const X = f(x);
      for (let i = 0; i < n; i++) X[i] *= s;
    },
    sgdUpdate(params, grads, n, lr) {
      const P = f(params), G = f(grads);
      for (let i = 0; i < n; i++) P[i] -= lr * G[i];
    },
    adamUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, step) {
      adamStep(step);
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
  return backend;
}

/** The logistic function, written so that neither branch overflows. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Throws unless the GRU variant is 0 (the book's) or 1 (PyTorch's). */
function resetAfterCode(resetAfter: number): void {
  if (resetAfter !== 0 && resetAfter !== 1) {
    throw new RangeError(`Expected resetAfter to be 0 (book) or 1 (PyTorch), got ${resetAfter}`);
  }
}

/** Throws unless the Adam step count is an integer >= 1 (the bias corrections divide by 0 at 0). */
function adamStep(step: number): void {
  if (!Number.isInteger(step) || step < 1 || step > 0x7fffffff) {
    throw new RangeError(`Expected step to be an integer in [1, 2^31), got ${step}`);
  }
}
