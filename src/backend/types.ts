/**
 * The kernel interface every backend implements: the float64 reference (the test oracle), the
 * WebAssembly SIMD kernels, and later WebGPU. Each method has the same name as the AssemblyScript
 * export in `assembly/` and the reference loop in `reference.ts`.
 *
 * Conventions (shared with `assembly/`):
 * - Matrices are row-major; shape letters `B` batch, `T` steps, `V` vocabulary, `H` hidden.
 * - Sizes are passed explicitly; buffers must hold at least that many elements.
 * - Backward kernels add into gradient buffers (the caller zeroes them once per step), except
 *   {@linkcode Backend.softmaxXentBackward}, which writes (logits have one consumer).
 *
 * @module
 */

/** A float buffer owned by a backend (float64 in the reference, float32 in WASM). */
export interface Buf {
  /** Number of elements. */
  readonly length: number;
}

/** An int32 buffer owned by a backend (token indices). */
export interface IndexBuf {
  /** Number of elements. */
  readonly length: number;
}

/** Activation of the vanilla RNN cell: `0` tanh (the book's), `1` relu (the book's exercise). */
export type ActivationCode = 0 | 1;

/** The kernels and buffer operations a backend provides. */
export interface Backend {
  /** `"reference"` or `"wasm"`. */
  readonly name: string;

  /** A new zeroed float buffer of `n` elements. */
  alloc(n: number): Buf;
  /** A new zeroed index buffer of `n` elements. */
  allocIndices(n: number): IndexBuf;
  /** A view of `length` elements of `buf` starting at element `offset` (shares storage). */
  view(buf: Buf, offset: number, length: number): Buf;
  /** A copy of the buffer's contents. */
  read(buf: Buf): Float32Array | Float64Array;
  /** Copies `data` into `buf` starting at element `offset` (default 0). */
  write(buf: Buf, data: ArrayLike<number>, offset?: number): void;
  /** Copies `data` into the index buffer starting at element `offset` (default 0). */
  writeIndices(buf: IndexBuf, data: ArrayLike<number>, offset?: number): void;
  /** Sets every element of `buf` to `value`. */
  fill(buf: Buf, value: number): void;
  /** Copies `src` into `dst` (same length). */
  copy(dst: Buf, src: Buf): void;

  /** `c[m,n] += a[m,k] · b[k,n]`. */
  matmulNN(c: Buf, a: Buf, b: Buf, m: number, k: number, n: number): void;
  /** `c[m,n] += a[m,k] · b[n,k]ᵀ`. */
  matmulNT(c: Buf, a: Buf, b: Buf, m: number, k: number, n: number): void;
  /** `c[m,n] += a[k,m]ᵀ · b[k,n]`. */
  matmulTN(c: Buf, a: Buf, b: Buf, m: number, k: number, n: number): void;

  /** `y[i,:] += bias` for each of the `m` rows of `y[m,n]`. */
  biasForward(y: Buf, bias: Buf, m: number, n: number): void;
  /** `dbias += Σ_i dy[i,:]` over the `m` rows of `dy[m,n]`. */
  biasBackward(dbias: Buf, dy: Buf, m: number, n: number): void;

  /** `y = tanh(x)` over `n` elements; `y` may alias `x`. */
  tanhForward(y: Buf, x: Buf, n: number): void;
  /** `dx += (1 - y²) · dy`, from the saved output `y`. */
  tanhBackward(dx: Buf, y: Buf, dy: Buf, n: number): void;
  /** `y = max(x, 0)` over `n` elements; `y` may alias `x`. */
  reluForward(y: Buf, x: Buf, n: number): void;
  /** `dx += (y > 0) · dy`, from the saved output `y`. */
  reluBackward(dx: Buf, y: Buf, dy: Buf, n: number): void;

  /**
   * The one-hot product as a row gather: `out[i,:] += w[idx[i],:]` for `out[n,h]`, `w[V,h]`.
   * Equal to `onehot(idx) · w`.
   */
  gatherRowsForward(out: Buf, idx: IndexBuf, w: Buf, n: number, h: number): void;
  /** The gather's gradient as a scatter-add: `dw[idx[i],:] += dout[i,:]`. */
  gatherRowsBackward(dw: Buf, idx: IndexBuf, dout: Buf, n: number, h: number): void;

  /**
   * Row-wise softmax with cross-entropy, numerically stable: writes `probs[m,v]` (may alias
   * `logits`) and returns `Σ_i -log softmax(logits[i,:])[targets[i]]`.
   */
  softmaxXentForward(probs: Buf, logits: Buf, targets: IndexBuf, m: number, v: number): number;
  /**
   * Writes `dlogits = scale · (probs - onehot(targets))`; `dlogits` may alias `probs`.
   * With `scale = 1/m` this is the gradient of the mean loss.
   */
  softmaxXentBackward(
    dlogits: Buf,
    probs: Buf,
    targets: IndexBuf,
    m: number,
    v: number,
    scale: number,
  ): void;

  /**
   * The vanilla RNN over a sequence. `states[T+1,B,H]` holds `H_0` in its first block on entry;
   * for `s < T`: `states[s+1] = act(zin[s] + states[s] · whh)`, with `zin[T,B,H]` the input
   * products plus bias and `whh[H,H]`.
   */
  rnnForward(
    states: Buf,
    zin: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
    act: ActivationCode,
  ): void;
  /**
   * Backpropagation through time for {@linkcode Backend.rnnForward}. On entry `dstates[s+1]`
   * holds the loss gradient reaching `H_{s+1}` from above; the kernel adds the recurrent part,
   * walking `s = T-1 … 0`: `dz = act'(states[s+1]) · dstates[s+1]`, `dzin[s] += dz`,
   * `dstates[s] += dz · whhᵀ`, and finally `dwhh += states[0..T)ᵀ · dzin`. `dzin` must be zero
   * on entry (zin has no other consumer). On exit `dstates[0]` holds the gradient with respect
   * to `H_0`.
   */
  rnnBackward(
    dzin: Buf,
    dwhh: Buf,
    dstates: Buf,
    states: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
    act: ActivationCode,
  ): void;

  /** `Σ x²` over `n` elements, accumulated in float64. */
  sumSquares(x: Buf, n: number): number;
  /** `x *= s` over `n` elements. */
  scale(x: Buf, n: number, s: number): void;
  /** `params -= lr · grads` over `n` elements. */
  sgdUpdate(params: Buf, grads: Buf, n: number, lr: number): void;
  /**
   * One Adam step over `n` elements (Kingma & Ba 2015, as in `torch.optim.Adam`), `step`
   * counted from 1, updating the moment buffers `m` and `v` in place:
   * `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
   * `params -= lr · (m / (1-β1^step)) / (sqrt(v / (1-β2^step)) + eps)`.
   * Throws `RangeError` unless `step` is an integer >= 1.
   */
  adamUpdate(
    params: Buf,
    grads: Buf,
    m: Buf,
    v: Buf,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
  ): void;
}
