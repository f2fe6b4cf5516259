/**
 * PyTorch's recurrent modules in float64, straight from the equations of its documentation
 * (`nn.RNN`, `nn.GRU`, `nn.LSTM`: `W x + b`, gates in rows `[r|z|n]` and `[i|f|g|o]`), reading a
 * state dict: the oracle the layer objects and the language model's export are checked against.
 * Bidirectional stacks as documented: layer `l > 0` reads both directions of layer `l − 1` side by
 * side, the reverse direction reads the steps from last to first, and `h_n` holds layer `l`'s
 * direction `d` at row `l·D + d`.
 */

/** A state dict's tensor. */
export interface TorchTensor {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** Sigmoid. */
const sigma = (x: number) => 1 / (1 + Math.exp(-x));

/** `W x + b` for `W` [rows, cols] row-major. */
function affine(w: TorchTensor, x: readonly number[], b: ArrayLike<number>): number[] {
  return Array.from({ length: w.shape[0] }, (_, r) => {
    let s = b[r];
    for (let c = 0; c < w.shape[1]; c++) s += w.data[r * w.shape[1] + c] * x[c];
    return s;
  });
}

/**
 * One step of one layer and direction: the tensors `weight_ih<suffix>`, ... of `dict`.
 *
 * @returns The next hidden state and (LSTM) memory cell.
 */
export function torchStep(
  dict: Readonly<Record<string, TorchTensor>>,
  suffix: string,
  cell: "rnn" | "gru" | "lstm",
  nonlinearity: "tanh" | "relu",
  x: readonly number[],
  h: readonly number[],
  c: readonly number[],
): { h: number[]; c: number[] } {
  const get = (name: string) => {
    const t = dict[`${name}${suffix}`];
    if (!t) throw new Error(`no tensor ${name}${suffix}`);
    return t;
  };
  const H = h.length;
  const gi = affine(get("weight_ih"), x, get("bias_ih").data);
  const gh = affine(get("weight_hh"), h, get("bias_hh").data);
  const next = new Array<number>(H), cell2 = [...c];
  for (let j = 0; j < H; j++) {
    if (cell === "rnn") {
      const a = gi[j] + gh[j];
      next[j] = nonlinearity === "tanh" ? Math.tanh(a) : Math.max(0, a);
    } else if (cell === "gru") {
      // r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
      // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
      const r = sigma(gi[j] + gh[j]), z = sigma(gi[H + j] + gh[H + j]);
      const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
      next[j] = (1 - z) * n + z * h[j];
    } else {
      // i, f, o = σ(·), g = tanh(·); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').
      const i = sigma(gi[j] + gh[j]), f = sigma(gi[H + j] + gh[H + j]);
      const g = Math.tanh(gi[2 * H + j] + gh[2 * H + j]);
      const o = sigma(gi[3 * H + j] + gh[3 * H + j]);
      cell2[j] = f * c[j] + i * g;
      next[j] = o * Math.tanh(cell2[j]);
    }
  }
  return { h: next, c: cell2 };
}

/** A module's shape, as its constructor's arguments. */
export interface TorchModule {
  cell: "rnn" | "gru" | "lstm";
  nonlinearity: "tanh" | "relu";
  numLayers: number;
  bidirectional: boolean;
  /** Put before every tensor name (the module's name in a larger model). */
  prefix?: string;
}

/**
 * A module's forward pass over `x` [T][B][I] (time-major) from `h0`, `c0` [L·D][B][H] (zero when
 * absent).
 *
 * @returns `output` [T][B][D·H] and `h_n`, `c_n` [L·D][B][H].
 */
export function torchForward(
  dict: Readonly<Record<string, TorchTensor>>,
  m: TorchModule,
  x: readonly (readonly (readonly number[])[])[],
  h0?: readonly (readonly number[])[][],
  c0?: readonly (readonly number[])[][],
): { output: number[][][]; h: number[][][]; c: number[][][] } {
  const D = m.bidirectional ? 2 : 1, T = x.length, B = x[0].length;
  const prefix = m.prefix ?? "";
  const own = Object.fromEntries(
    Object.entries(dict).filter(([n]) => n.startsWith(prefix)).map(([n, v]) => [
      n.slice(prefix.length),
      v,
    ]),
  );
  const H = own.weight_hh_l0.shape[1];
  const zero = () => Array.from({ length: B }, () => new Array<number>(H).fill(0));
  const hN: number[][][] = [], cN: number[][][] = [];
  let input = x.map((row) => row.map((v) => [...v]));
  for (let l = 0; l < m.numLayers; l++) {
    const out = Array.from({ length: T }, () => Array.from({ length: B }, () => [] as number[]));
    for (let d = 0; d < D; d++) {
      const u = l * D + d, suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
      let h = h0?.[u].map((r) => [...r]) ?? zero(), c = c0?.[u].map((r) => [...r]) ?? zero();
      for (let k = 0; k < T; k++) {
        const t = d === 0 ? k : T - 1 - k;
        const next = input[t].map((xt, b) =>
          torchStep(own, suffix, m.cell, m.nonlinearity, xt, h[b], c[b])
        );
        h = next.map((s) => s.h);
        c = next.map((s) => s.c);
        for (let b = 0; b < B; b++) out[t][b].push(...h[b]);
      }
      hN.push(h);
      cN.push(c);
    }
    input = out;
  }
  return { output: input, h: hN, c: cN };
}
