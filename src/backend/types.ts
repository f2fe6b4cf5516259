/**
 * The kernel interface every backend implements: the float64 reference (the test oracle), the
 * WebAssembly SIMD kernels, and later WebGPU. Each method has the same name as the AssemblyScript
 * export in `assembly/` and the reference loop in `reference.ts`.
 *
 * Conventions (shared with `assembly/`):
 * - Matrices are row-major; shape letters `B` batch, `T` steps, `V` vocabulary, `H` hidden, `G`
 *   gate width (`3H` for the GRU, `4H` for the LSTM).
 * - Gates are in PyTorch's order (GRU `[r | z | n]`, LSTM `[i | f | g | o]`), so the recurrent
 *   weights `whh[H,G]` are the book's `W_h·` matrices side by side and export to PyTorch is a
 *   slice.
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
  /**
   * A copy of the buffer's contents: in `into` when given (an array that `read` returned before,
   * at least as long; the copy fills its start and `into` is returned), else in a new array, so a
   * loop that reads every step can reuse one.
   */
  read(buf: Buf, into?: Float32Array | Float64Array): Float32Array | Float64Array;
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
  /**
   * {@linkcode Backend.matmulTN} while this thread runs `work`, which must neither read nor write
   * `c`, `a` or `b` (a weight gradient beside the rest of the backward pass). A threaded backend
   * gives the product to its other threads meanwhile; the bits are those of `matmulTN`. Others
   * run the product, then `work`.
   */
  matmulTNAlongside(
    c: Buf,
    a: Buf,
    b: Buf,
    m: number,
    k: number,
    n: number,
    work: () => void,
  ): void;
  /**
   * Elements a packed copy of a weight `b[k,n]` takes (see {@linkcode Backend.packWeights}); the
   * layout is the backend's own.
   */
  packedSize(k: number, n: number): number;
  /**
   * Packs a weight `b[k,n]` into `dst` (of {@linkcode Backend.packedSize} elements) for
   * {@linkcode Backend.matmulPacked}: for a weight multiplied many times by a few rows, as in
   * generation, where reading it in order is what costs.
   */
  packWeights(dst: Buf, b: Buf, k: number, n: number): void;
  /**
   * `c[m,n] += a[m,k] · b[k,n]` with `b` packed by {@linkcode Backend.packWeights}; the same
   * numbers as {@linkcode Backend.matmulNN} with `m >= 4`, whatever `m`.
   */
  matmulPacked(c: Buf, a: Buf, bPacked: Buf, m: number, k: number, n: number): void;

  /** `y[i,:] += bias` for each of the `m` rows of `y[m,n]`. */
  biasForward(y: Buf, bias: Buf, m: number, n: number): void;
  /** `dbias += Σ_i dy[i,:]` over the `m` rows of `dy[m,n]`. */
  biasBackward(dbias: Buf, dy: Buf, m: number, n: number): void;

  /** `y = tanh(x)` over `n` elements; `y` may alias `x`. */
  tanhForward(y: Buf, x: Buf, n: number): void;
  /** `dx += (1 - y²) · dy`, from the saved output `y`. */
  tanhBackward(dx: Buf, y: Buf, dy: Buf, n: number): void;
  /** `y = σ(x) = 1 / (1 + exp(-x))` over `n` elements; `y` may alias `x`. */
  sigmoidForward(y: Buf, x: Buf, n: number): void;
  /** `dx += y · (1 - y) · dy`, from the saved output `y`. */
  sigmoidBackward(dx: Buf, y: Buf, dy: Buf, n: number): void;
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
   * The greedy choice of each row of `x[m,n]`: the first index of its largest value (a NaN never
   * counts, unless it comes first: then 0), written into `into[0..m)`.
   */
  argmaxRows(x: Buf, m: number, n: number, into: Int32Array): void;

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
   * products plus bias and `whh[H,H]`. `whhPacked`, when given, is `whh` packed by
   * {@linkcode Backend.packWeights} and used in its place (generation packs it once for many
   * one-step calls); the numbers are the same.
   */
  rnnForward(
    states: Buf,
    zin: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
    act: ActivationCode,
    whhPacked?: Buf,
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

  /**
   * The gated recurrent unit over a sequence, gates `[r | z | n]` (`G = 3H`). `states[T+1,B,H]`
   * holds `H_0` in its first block on entry; for `s < T`, with `H = states[s]`:
   * `r = σ(zin_r + H·W_hr)`, `z = σ(zin_z + H·W_hz)`, `states[s+1] = z⊙H + (1-z)⊙n`, where
   * the candidate is the book's `n = tanh(zin_n + (r⊙H)·W_hn)` when `resetAfter = 0` and
   * PyTorch's `n = tanh(zin_n + r⊙(H·W_hn + bhn))` when `resetAfter = 1`. `zin[T,B,G]` holds
   * the input products plus the input-side biases, `whh[H,G]` is `W_hr | W_hz | W_hn`, and
   * `bhn[H]` is read only when `resetAfter = 1` (otherwise any buffer of the backend). Saves `gates[T,B,G]` (post-activation r, z, n)
   * and `hn[T,B,H]` (`r⊙H` for the book's variant, `H·W_hn + bhn` for PyTorch's) for
   * {@linkcode Backend.gruBackward}. `whhPacked` as for {@linkcode Backend.rnnForward}, read
   * only when `resetAfter = 1` (the book's variant multiplies by two column blocks of `whh`).
   */
  gruForward(
    states: Buf,
    gates: Buf,
    hn: Buf,
    zin: Buf,
    whh: Buf,
    bhn: Buf,
    t: number,
    b: number,
    h: number,
    resetAfter: 0 | 1,
    whhPacked?: Buf,
  ): void;
  /**
   * Backpropagation through time for {@linkcode Backend.gruForward}. On entry `dstates[s+1]`
   * holds the loss gradient reaching `H_{s+1}` from above; walking `s = T-1 … 0` the kernel adds
   * the recurrent part into `dstates[s]` and writes `dzin[T,B,G]`, the gradient of `zin`, which
   * must be zero on entry. `dwhh[H,G]` and `dbhn[H]` are added into (`dbhn` only when
   * `resetAfter = 1`; otherwise it may be any buffer of the backend and is left alone). On exit `dstates[0]` holds the gradient with respect to `H_0`.
   */
  gruBackward(
    dzin: Buf,
    dwhh: Buf,
    dbhn: Buf,
    dstates: Buf,
    states: Buf,
    gates: Buf,
    hn: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
    resetAfter: 0 | 1,
  ): void;

  /**
   * Long short-term memory over a sequence, gates `[i | f | g | o]` (`G = 4H`).
   * `states, cells[T+1,B,H]` hold `H_0`, `C_0` in their first blocks on entry; for `s < T`, with
   * `H = states[s]`: `i, f, o = σ(zin_· + H·W_h·)`, `g = tanh(zin_g + H·W_hc)`,
   * `cells[s+1] = f⊙cells[s] + i⊙g`, `states[s+1] = o⊙tanh(cells[s+1])`. `zin[T,B,G]` holds the
   * input products plus biases and `whh[H,G]` is `W_hi | W_hf | W_hc | W_ho`. Saves
   * `gates[T,B,G]` (post-activation) for {@linkcode Backend.lstmBackward}. `whhPacked` as for
   * {@linkcode Backend.rnnForward}.
   */
  lstmForward(
    states: Buf,
    cells: Buf,
    gates: Buf,
    zin: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
    whhPacked?: Buf,
  ): void;
  /**
   * Backpropagation through time for {@linkcode Backend.lstmForward}. On entry `dstates[s+1]`
   * and `dcells[s+1]` hold the loss gradients reaching `H_{s+1}` and `C_{s+1}` from outside the
   * recurrence (for a language model `dcells` is zero but for `dcells[T]`, the gradient reaching
   * the last cell state, usually 0 too); walking `s = T-1 … 0` the kernel adds the recurrent
   * parts into `dstates[s]` and `dcells[s]`, leaves in `dcells[s+1]` the full gradient with
   * respect to `C_{s+1}`, and writes `dzin[T,B,G]`, the gradient of `zin`, which must be zero on
   * entry. `dwhh[H,G]` is added into. On exit `dstates[0]` and `dcells[0]` hold
   * the gradients with respect to `H_0` and `C_0`.
   */
  lstmBackward(
    dzin: Buf,
    dwhh: Buf,
    dstates: Buf,
    dcells: Buf,
    states: Buf,
    cells: Buf,
    gates: Buf,
    whh: Buf,
    t: number,
    b: number,
    h: number,
  ): void;

  /**
   * Dropout as a product with a mask drawn by the caller (0, or 1/(1−p) for kept values):
   * `y = x · mask` over `n` elements; `y` may alias `x`.
   */
  dropoutForward(y: Buf, x: Buf, mask: Buf, n: number): void;
  /** `dx += dy · mask`, with the mask of {@linkcode Backend.dropoutForward}. */
  dropoutBackward(dx: Buf, mask: Buf, dy: Buf, n: number): void;

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
