/**
 * The reference backend: every kernel as a plain float64 loop. It is the oracle the WASM kernels
 * are tested against and the backend the finite-difference gradient checks run on.
 *
 * @module
 */
import type { ActivationCode, Backend, Buf, IndexBuf } from "./types.ts";

const f = (buf: Buf): Float64Array => buf as Float64Array;
const ix = (buf: IndexBuf): Int32Array => buf as Int32Array;

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
  return {
    name: "reference",
    alloc: (n) => new Float64Array(n),
    allocIndices: (n) => new Int32Array(n),
    view: (buf, offset, length) => f(buf).subarray(offset, offset + length),
    read: (buf) => f(buf).slice(),
    write: (buf, data, offset = 0) => f(buf).set(data, offset),
    writeIndices: (buf, data, offset = 0) => ix(buf).set(data, offset),
    fill: (buf, value) => void f(buf).fill(value),
    copy: (dst, src) => f(dst).set(f(src)),

    matmulNN(c, a, b, m, k, n) {
      const C = f(c), A = f(a), B = f(b);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
          C[i * n + j] += s;
        }
      }
    },
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
    reluForward(y, x, n) {
      const Y = f(y), X = f(x);
      for (let i = 0; i < n; i++) Y[i] = X[i] > 0 ? X[i] : 0;
    },
    reluBackward(dx, y, dy, n) {
      const DX = f(dx), Y = f(y), DY = f(dy);
      for (let i = 0; i < n; i++) if (Y[i] > 0) DX[i] += DY[i];
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

    rnnForward(states, zin, whh, t, b, h, act: ActivationCode) {
      const S = f(states), Z = f(zin), W = f(whh);
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
}

/** Throws unless the Adam step count is an integer >= 1 (the bias corrections divide by 0 at 0). */
function adamStep(step: number): void {
  if (!Number.isInteger(step) || step < 1 || step > 0x7fffffff) {
    throw new RangeError(`Expected step to be an integer in [1, 2^31), got ${step}`);
  }
}
