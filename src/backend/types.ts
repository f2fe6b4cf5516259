/**
 * The interface every backend implements: the float64 reference (the test oracle), the
 * WebAssembly SIMD kernels (one thread or several), and later WebGPU. Each kernel method has the
 * name, arguments and shapes of its entry in the kernel table (`kernels.ts`), which is also the
 * name of the AssemblyScript export in `assembly/` and of the reference loop in `reference.ts`.
 *
 * Conventions (shared with `assembly/`):
 * - Matrices are row-major; shape letters `B` batch, `T` steps, `V` vocabulary, `H` hidden, `G`
 *   gate width (`3H` for the GRU, `4H` for the LSTM).
 * - Gates are in PyTorch's order (GRU `[r | z | n]`, LSTM `[i | f | g | o]`), so the recurrent
 *   weights `whh[H,G]` are the book's `W_h·` matrices side by side.
 * - Sizes are passed explicitly; buffers must hold at least that many elements.
 * - Backward kernels add into gradient buffers (the caller zeroes them once per step), except
 *   {@linkcode Backend.softmaxXentBackward}, which writes (logits have one consumer).
 * - Nothing a kernel computes comes back as a return value: results stay in backend buffers and
 *   reach the host only through the asynchronous reads, so a GPU backend never stalls on a kernel.
 *   Training keeps its loss, gradient norm and divergence flag in a statistics buffer
 *   ({@linkcode STAT}) and reads it when it reports.
 * - A backend may run a kernel asynchronously (on other threads, or a GPU queue) and overlap it
 *   with later ones; the results are those of running every call in order. What may overlap
 *   follows from the buffers each kernel reads and writes (the roles in the kernel table).
 *
 * @module
 */

/** A float buffer owned by a backend (float64 in the reference, float32 in WebAssembly). */
export interface FloatBuf {
  /** What kind of buffer this is. */
  readonly kind: "float";
  /** Number of elements. */
  readonly length: number;
}

/** An int32 buffer owned by a backend: token indices, greedy choices. */
export interface IndexBuf {
  /** What kind of buffer this is. */
  readonly kind: "index";
  /** Number of elements. */
  readonly length: number;
}

/**
 * A few float64 slots owned by a backend for scalars kernels produce and consume, such as the
 * training statistics ({@linkcode STAT}); float32 where the device has no float64.
 */
export interface ScalarBuf {
  /** What kind of buffer this is. */
  readonly kind: "scalar";
  /** Number of slots. */
  readonly length: number;
}

/**
 * A weight `b[k,n]` prepared by {@linkcode Backend.packWeights} for products with few rows (as in
 * generation), in the backend's own layout.
 */
export interface PackedBuf {
  /** What kind of buffer this is. */
  readonly kind: "packed";
  /** Rows of the weight it holds. */
  readonly k: number;
  /** Columns of the weight it holds. */
  readonly n: number;
}

/** Any buffer a backend hands out. */
export type AnyBuf = FloatBuf | IndexBuf | ScalarBuf | PackedBuf;

/** Nonlinearity of the vanilla RNN cell: `"tanh"` (the book's) or `"relu"` (its exercise). */
export type Activation = "tanh" | "relu";

/** The recurrent cell: the vanilla RNN, the GRU or the LSTM. */
export type CellKind = "rnn" | "gru" | "lstm";

/**
 * The GRU's candidate: the book's `tanh(X W_xh + (R ⊙ H) W_hh + b_h)` (`"book"`), or PyTorch's
 * `tanh(X W_xh + b_h + R ⊙ (H W_hh + b_hn))` (`"pytorch"`, `nn.GRU`), which applies the reset gate
 * after the recurrent product and has one more bias `b_hn` [H] per layer.
 */
export type GruVariant = "book" | "pytorch";

/**
 * The slots of a training statistics buffer ({@linkcode Backend.allocScalars} of
 * {@linkcode STATS_SLOTS}), shared by {@linkcode Backend.softmaxXentForward},
 * {@linkcode Backend.clipGradNorm} and the updates:
 * - `loss`: the sum of the cross-entropy losses since the buffer was zeroed;
 * - `norm`: the global gradient norm of the last clipping;
 * - `diverged`: 1 once the loss sum or a gradient norm was NaN or infinite; the updates then
 *   change nothing, so the weights stay those before the first bad step;
 * - `updates`: updates applied since the buffer was zeroed.
 */
export const STAT = { loss: 0, norm: 1, diverged: 2, updates: 3 } as const;

/** Slots in a training statistics buffer (see {@linkcode STAT}). */
export const STATS_SLOTS = 4;

/** The kernels and buffer operations a backend provides. */
export interface Backend {
  /** `"reference"`, `"wasm"`, `"webgpu"`, ... */
  readonly name: string;

  /** A new zeroed float buffer of `n` elements. */
  alloc(n: number): FloatBuf;
  /** A new zeroed index buffer of `n` elements. */
  allocIndices(n: number): IndexBuf;
  /** A new zeroed scalar buffer of `n` slots. */
  allocScalars(n: number): ScalarBuf;
  /**
   * Room for a weight `b[k,n]` packed by {@linkcode Backend.packWeights} or
   * {@linkcode Backend.packInt8}.
   */
  allocPacked(k: number, n: number): PackedBuf;
  /** A view of `length` elements of `buf` starting at element `offset` (shares storage). */
  view(buf: FloatBuf, offset: number, length: number): FloatBuf;
  /** {@linkcode Backend.view} for an index buffer. */
  viewIndices(buf: IndexBuf, offset: number, length: number): IndexBuf;
  /**
   * Gives a buffer from one of the `alloc` methods back to the backend, which may hand its memory
   * out again; the buffer and its views must not be used afterwards. Views cannot be freed.
   */
  free(buf: AnyBuf): void;
  /**
   * Releases everything the backend holds (memory, workers, devices). It must not be used
   * afterwards; calling it twice is harmless.
   */
  dispose(): void;

  /** Copies `data` into `buf` starting at element `offset` (default 0). */
  write(buf: FloatBuf, data: ArrayLike<number>, offset?: number): void;
  /** Copies `data` into the index buffer starting at element `offset` (default 0). */
  writeIndices(buf: IndexBuf, data: ArrayLike<number>, offset?: number): void;
  /** Copies `data` into the scalar buffer starting at slot `offset` (default 0). */
  writeScalars(buf: ScalarBuf, data: ArrayLike<number>, offset?: number): void;
  /** Sets every element (slot) of `buf` to `value`. */
  fill(buf: FloatBuf | ScalarBuf, value: number): void;
  /** Copies `src` into `dst` (same length). */
  copy(dst: FloatBuf, src: FloatBuf): void;
  /**
   * The buffer's contents once every kernel before the call has finished: in `into` when given
   * (an array that `read` returned before, at least as long; its start is filled and it is
   * returned), else in a new array.
   */
  read(buf: FloatBuf, into?: Float32Array | Float64Array): Promise<Float32Array | Float64Array>;
  /** {@linkcode Backend.read} for an index buffer. */
  readIndices(buf: IndexBuf, into?: Int32Array): Promise<Int32Array>;
  /** {@linkcode Backend.read} for a scalar buffer. */
  readScalars(buf: ScalarBuf, into?: Float64Array): Promise<Float64Array>;

  /** `c[m,n] += a[m,k] · b[k,n]`. */
  matmulNN(c: FloatBuf, a: FloatBuf, b: FloatBuf, m: number, k: number, n: number): void;
  /** `c[m,n] += a[m,k] · b[n,k]ᵀ`. */
  matmulNT(c: FloatBuf, a: FloatBuf, b: FloatBuf, m: number, k: number, n: number): void;
  /** `c[m,n] += a[k,m]ᵀ · b[k,n]`. */
  matmulTN(c: FloatBuf, a: FloatBuf, b: FloatBuf, m: number, k: number, n: number): void;
  /**
   * Packs a weight `b[k,n]` into `dst` (from {@linkcode Backend.allocPacked} with the same `k`,
   * `n`) for {@linkcode Backend.matmulPacked} and the cells' forward kernels: for a weight
   * multiplied many times by a few rows, as in generation, where reading it in order is what
   * costs. Pack again after `b` changes.
   */
  packWeights(dst: PackedBuf, b: FloatBuf, k: number, n: number): void;
  /**
   * `c[m,n] += a[m,k] · b[k,n]` with `b` packed by {@linkcode Backend.packWeights}; the same
   * numbers as {@linkcode Backend.matmulNN} with `m >= 4`, whatever `m`.
   */
  matmulPacked(c: FloatBuf, a: FloatBuf, b: PackedBuf, m: number, k: number, n: number): void;
  /**
   * Packs a weight `b[k,n]` into `dst` (from {@linkcode Backend.allocPacked}) in 8 bits for
   * {@linkcode Backend.matmulInt8}: per column `j` a scale `s_j = max|b[:,j]| / 127` (float32)
   * and integers `q = round(b / s_j)` in [-127, 127], ties to even. An 8-bit model's
   * weights are such `q · s_j` already, and pack to exactly those integers and scales.
   */
  packInt8(dst: PackedBuf, b: FloatBuf, k: number, n: number): void;
  /**
   * `c[m,n] += a[m,k] · b[k,n]` in 8 bits, `b` packed by {@linkcode Backend.packInt8} (a weight
   * packed by {@linkcode Backend.packWeights} gives meaningless numbers): each row of `a` is
   * quantised to 7 bits, `x = round(a / s_r)` in [-63, 63] with its scale `s_r = max / 63`
   * (seven, so that relaxed SIMD's 8-bit dot product is exact on every engine), the integer
   * products summed exactly in 32 bits, and `c[r,j] += f32(sum) · (s_r · s_j)` in float32: the
   * same bits on every WebAssembly build and their scalar twins.
   */
  matmulInt8(c: FloatBuf, a: FloatBuf, b: PackedBuf, m: number, k: number, n: number): void;

  /** `y[i,:] += bias` for each of the `m` rows of `y[m,n]`. */
  biasForward(y: FloatBuf, bias: FloatBuf, m: number, n: number): void;
  /** `dbias += Σ_i dy[i,:]` over the `m` rows of `dy[m,n]`. */
  biasBackward(dbias: FloatBuf, dy: FloatBuf, m: number, n: number): void;

  /** `y = tanh(x)` over `n` elements; `y` may alias `x`. */
  tanhForward(y: FloatBuf, x: FloatBuf, n: number): void;
  /** `dx += (1 - y²) · dy`, from the saved output `y`. */
  tanhBackward(dx: FloatBuf, y: FloatBuf, dy: FloatBuf, n: number): void;
  /** `y = σ(x) = 1 / (1 + exp(-x))` over `n` elements; `y` may alias `x`. */
  sigmoidForward(y: FloatBuf, x: FloatBuf, n: number): void;
  /** `dx += y · (1 - y) · dy`, from the saved output `y`. */
  sigmoidBackward(dx: FloatBuf, y: FloatBuf, dy: FloatBuf, n: number): void;
  /** `y = max(x, 0)` over `n` elements; `y` may alias `x`. */
  reluForward(y: FloatBuf, x: FloatBuf, n: number): void;
  /** `dx += (y > 0) · dy`, from the saved output `y`. */
  reluBackward(dx: FloatBuf, y: FloatBuf, dy: FloatBuf, n: number): void;

  /**
   * The one-hot product as a row gather: `out[i,:] += w[idx[i],:]` for `out[n,h]`, `w[V,h]`.
   * Equal to `onehot(idx) · w`.
   */
  gatherRowsForward(out: FloatBuf, idx: IndexBuf, w: FloatBuf, n: number, h: number): void;
  /** The gather's gradient as a scatter-add: `dw[idx[i],:] += dout[i,:]`. */
  gatherRowsBackward(dw: FloatBuf, idx: IndexBuf, dout: FloatBuf, n: number, h: number): void;

  /**
   * The greedy choice of each row of `x[m,n]`: `out[i]` is the first index of the row's largest
   * value (a NaN never counts, unless it comes first: then 0).
   */
  argmaxRows(out: IndexBuf, x: FloatBuf, m: number, n: number): void;

  /**
   * Row-wise softmax with cross-entropy, numerically stable: writes `probs[m,v]` (may alias
   * `logits`) and adds `Σ_i -log softmax(logits[i,:])[targets[i]]`, summed row by row in
   * float64, to the `loss` slot of the statistics buffer `stats` ({@linkcode STAT}).
   */
  softmaxXentForward(
    probs: FloatBuf,
    logits: FloatBuf,
    targets: IndexBuf,
    m: number,
    v: number,
    stats: ScalarBuf,
  ): void;
  /**
   * Writes `dlogits = scale · (probs - onehot(targets))`; `dlogits` may alias `probs`.
   * With `scale = 1/m` this is the gradient of the mean loss.
   */
  softmaxXentBackward(
    dlogits: FloatBuf,
    probs: FloatBuf,
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
    states: FloatBuf,
    zin: FloatBuf,
    whh: FloatBuf,
    t: number,
    b: number,
    h: number,
    act: Activation,
    whhPacked?: PackedBuf,
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
    dzin: FloatBuf,
    dwhh: FloatBuf,
    dstates: FloatBuf,
    states: FloatBuf,
    whh: FloatBuf,
    t: number,
    b: number,
    h: number,
    act: Activation,
  ): void;

  /**
   * The gated recurrent unit over a sequence, gates `[r | z | n]` (`G = 3H`). `states[T+1,B,H]`
   * holds `H_0` in its first block on entry; for `s < T`, with `H = states[s]`:
   * `r = σ(zin_r + H·W_hr)`, `z = σ(zin_z + H·W_hz)`, `states[s+1] = z⊙H + (1-z)⊙n`, where
   * the candidate is the book's `n = tanh(zin_n + (r⊙H)·W_hn)` (`variant` `"book"`) or
   * PyTorch's `n = tanh(zin_n + r⊙(H·W_hn + bhn))` (`"pytorch"`). `zin[T,B,G]` holds the input
   * products plus the input-side biases, `whh[H,G]` is `W_hr | W_hz | W_hn`, and `bhn[H]` is
   * required for PyTorch's variant and ignored for the book's. Saves `gates[T,B,G]` (post-activation r, z, n) and
   * `hn[T,B,H]` (`r⊙H` for the book's variant, `H·W_hn + bhn` for PyTorch's) for
   * {@linkcode Backend.gruBackward}. `whhPacked` as for {@linkcode Backend.rnnForward}, read
   * only for PyTorch's variant (the book's multiplies by two column blocks of `whh`).
   */
  gruForward(
    states: FloatBuf,
    gates: FloatBuf,
    hn: FloatBuf,
    zin: FloatBuf,
    whh: FloatBuf,
    bhn: FloatBuf | undefined,
    t: number,
    b: number,
    h: number,
    variant: GruVariant,
    whhPacked?: PackedBuf,
  ): void;
  /**
   * Backpropagation through time for {@linkcode Backend.gruForward}. On entry `dstates[s+1]`
   * holds the loss gradient reaching `H_{s+1}` from above; walking `s = T-1 … 0` the kernel adds
   * the recurrent part into `dstates[s]` and writes `dzin[T,B,G]`, the gradient of `zin`, which
   * must be zero on entry. `dwhh[H,G]` and `dbhn[H]` (PyTorch's variant; ignored for the book's)
   * are added into. On
   * exit `dstates[0]` holds the gradient with respect to `H_0`.
   */
  gruBackward(
    dzin: FloatBuf,
    dwhh: FloatBuf,
    dbhn: FloatBuf | undefined,
    dstates: FloatBuf,
    states: FloatBuf,
    gates: FloatBuf,
    hn: FloatBuf,
    whh: FloatBuf,
    t: number,
    b: number,
    h: number,
    variant: GruVariant,
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
    states: FloatBuf,
    cells: FloatBuf,
    gates: FloatBuf,
    zin: FloatBuf,
    whh: FloatBuf,
    t: number,
    b: number,
    h: number,
    whhPacked?: PackedBuf,
  ): void;
  /**
   * Backpropagation through time for {@linkcode Backend.lstmForward}. On entry `dstates[s+1]`
   * and `dcells[s+1]` hold the loss gradients reaching `H_{s+1}` and `C_{s+1}` from outside the
   * recurrence (for a language model `dcells` is zero but for `dcells[T]`, the gradient reaching
   * the last cell state, usually 0 too); walking `s = T-1 … 0` the kernel adds the recurrent
   * parts into `dstates[s]` and `dcells[s]`, leaves in `dcells[s+1]` the full gradient with
   * respect to `C_{s+1}`, and writes `dzin[T,B,G]`, the gradient of `zin`, which must be zero on
   * entry. `dwhh[H,G]` is added into. On exit `dstates[0]` and `dcells[0]` hold the gradients
   * with respect to `H_0` and `C_0`.
   */
  lstmBackward(
    dzin: FloatBuf,
    dwhh: FloatBuf,
    dstates: FloatBuf,
    dcells: FloatBuf,
    states: FloatBuf,
    cells: FloatBuf,
    gates: FloatBuf,
    whh: FloatBuf,
    t: number,
    b: number,
    h: number,
  ): void;

  /**
   * Dropout as a product with a mask drawn by the caller (0, or 1/(1−p) for kept values):
   * `y = x · mask` over `n` elements; `y` may alias `x`.
   */
  dropoutForward(y: FloatBuf, x: FloatBuf, mask: FloatBuf, n: number): void;
  /** `dx += dy · mask`, with the mask of {@linkcode Backend.dropoutForward}. */
  dropoutBackward(dx: FloatBuf, mask: FloatBuf, dy: FloatBuf, n: number): void;

  /**
   * Clipping by global norm, the book's `grad_clipping`: writes `‖grads‖` (accumulated in
   * float64) to the `norm` slot of `stats`; when that norm or the `loss` slot is NaN or infinite
   * sets the `diverged` slot to 1 and leaves the gradients alone; otherwise, when `theta > 0` and
   * the norm exceeds it, scales the `n` gradients by `theta / norm`. Once the `diverged` slot is
   * set it changes nothing, so the statistics keep the norm that diverged.
   */
  clipGradNorm(grads: FloatBuf, n: number, theta: number, stats: ScalarBuf): void;
  /**
   * `params -= lr · grads` over `n` elements. With `stats`, nothing changes once its `diverged`
   * slot is set; otherwise its `updates` slot counts the update.
   */
  sgdUpdate(params: FloatBuf, grads: FloatBuf, n: number, lr: number, stats?: ScalarBuf): void;
  /**
   * One Adam step over `n` elements (Kingma & Ba 2015, as in `torch.optim.Adam`), `step`
   * counted from 1, updating the moment buffers `m` and `v` in place:
   * `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
   * `params -= lr · (m / (1-β1^step)) / (sqrt(v / (1-β2^step)) + eps)`. `stats` as for
   * {@linkcode Backend.sgdUpdate}. Throws `RangeError` unless `step` is an integer >= 1.
   */
  adamUpdate(
    params: FloatBuf,
    grads: FloatBuf,
    m: FloatBuf,
    v: FloatBuf,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    stats?: ScalarBuf,
  ): void;
}
