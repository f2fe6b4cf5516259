/**
 * PyTorch interop: a model as the state dict of the book's concise model (Dive into Deep
 * Learning, "Concise Implementation of Recurrent Neural Networks"), an `nn.RNN`, `nn.GRU` or
 * `nn.LSTM` named `rnn` (`batch_first=False`) feeding an `nn.Linear` named `dense`, saved as a
 * safetensors file that `safetensors.torch.load_file` reads.
 *
 * Tensors, float32, in PyTorch's orientation (`W x`, the transpose of the book's `X W`) and gate
 * order (GRU r, z, n; LSTM i, f, g, o, the order this library stores them in), per layer `k`:
 * `rnn.weight_ih_l{k}` [G, I], `rnn.weight_hh_l{k}` [G, H], `rnn.bias_ih_l{k}` [G],
 * `rnn.bias_hh_l{k}` [G]; then `dense.weight` [V, H] and `dense.bias` [V]. Our one bias per gate
 * goes into `bias_ih` and `bias_hh` is zero, except the `n` block of PyTorch's GRU, which holds
 * `b_hn`. `__metadata__` holds `format` (`"pt"`), `producer` (`"@rnn/wasm"`), and JSON strings
 * `config` (the model's config), `vocab` (tokens in index order) and `text` (tokenisation).
 *
 * @module
 */
import type { Activation, Backend, CellKind } from "../backend/types.ts";
import {
  type ModelConfig,
  resolveModelConfig,
  resolveTextConfig,
  type TextConfig,
} from "../config/settings.ts";
import { CheckpointError, UsageError } from "../errors.ts";
import { createModel, type RnnModel } from "../model/model.ts";
import { blocks, GATES } from "../model/params.ts";
import { fromTorch, TORCH_NAMES, torchShapes, toTorch, transpose } from "../model/torch_layout.ts";
import type { Tokenization } from "../text/text.ts";
import { Vocab } from "../text/vocab.ts";
import { decodeModelFile, encodeSafetensors, type Tensor } from "./safetensors.ts";

/** What {@linkcode exportPyTorch} records beside the weights and vocabulary. */
export interface ExportPyTorchOptions {
  /** How the model's text is tokenised; default characters. */
  text?: Tokenization;
}

/** Options of {@linkcode importPyTorch}. */
export interface ImportPyTorchOptions {
  /** Backend of the imported model; default the shared WebAssembly backend. */
  backend?: Backend;
  /**
   * The nonlinearity of an `nn.RNN` (its tensors cannot tell `'tanh'` from `'relu'`); default:
   * the metadata's `config.activation` when it has one, else `"tanh"` (and `assumed` says so).
   * A value that contradicts the metadata is an error.
   */
  activation?: Activation;
}

/** A model read from a PyTorch state dict. */
export interface PyTorchImport {
  /** The model, its weights those of the state dict. */
  model: RnnModel;
  /** The vocabulary from the file's metadata. */
  vocab: Vocab;
  /** The text settings from the file's metadata; characters when it records none. */
  text: TextConfig;
  /** What was assumed because neither the file nor the options said it, in words; else absent. */
  assumed?: string;
}

/** PyTorch's module class for each cell. */
const MODULES: Readonly<Record<CellKind, string>> = { rnn: "RNN", gru: "GRU", lstm: "LSTM" };

/**
 * Writes a model as the state dict of the book's concise PyTorch model: `nn.RNN`/`nn.GRU`/
 * `nn.LSTM` named `rnn` plus `nn.Linear` named `dense` (see the module doc for the tensors). A
 * vanilla model with relu maps to `nn.RNN(nonlinearity='relu')`.
 *
 * @param model The model: one-hot inputs and an output layer; a GRU must use
 * `gruVariant: "pytorch"`.
 * @param vocab Its vocabulary (size must match the model).
 * @param options Tokenisation to record.
 * @returns The safetensors file's bytes.
 * @throws {UsageError} For the book's GRU (PyTorch applies the reset gate after the recurrent
 * product, so it has no exact `nn.GRU` equivalent), a model with dense inputs or no output layer,
 * or a vocabulary of another size.
 * @example Export a small LSTM
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { Vocab } from "../text/vocab.ts";
 * import { exportPyTorch } from "./pytorch.ts";
 * import { decodeSafetensors } from "./safetensors.ts";
 * const model = createModel({ vocabSize: 3, hidden: 2, cell: "lstm" });
 * const file = decodeSafetensors(await exportPyTorch(model, new Vocab(["a", "b", "c"])));
 * console.log(file.tensors[0].name, file.tensors[0].shape); // rnn.weight_ih_l0 [8, 3]
 * ```
 */
export async function exportPyTorch(
  model: RnnModel,
  vocab: Vocab,
  options: ExportPyTorchOptions = {},
): Promise<Uint8Array> {
  const config = model.config;
  const { vocabSize: V, hidden: H, layers, cell } = config;
  if (cell === "gru" && config.gruVariant !== "pytorch") {
    throw new UsageError(
      "the book's GRU cannot be exported to PyTorch: nn.GRU applies the reset gate after the " +
        "recurrent product (r * (W_hn h + b_hn)), the book before it (W_hh (r * h)), so no " +
        'nn.GRU computes the same; train with gruVariant "pytorch" to export',
    );
  }
  if (config.inputSize > 0 || V === 0) {
    throw new UsageError(
      "only models of one-hot tokens with an output layer can be exported " +
        `(this one has inputSize ${config.inputSize}, vocabSize ${V})`,
    );
  }
  if (vocab.size !== V) {
    throw new UsageError(`the vocabulary has ${vocab.size} tokens, the model ${V}`);
  }
  // Our storage is PyTorch's gate order in the book's orientation: each block is a transpose.
  const all = await model.backend.read(model.params);
  const block = new Map(
    blocks(config).map((b) => [b.key, all.subarray(b.offset, b.offset + b.size)]),
  );
  const tensors: Tensor[] = [];
  for (let l = 0; l < layers; l++) {
    const I = l === 0 ? V : H;
    const torch = toTorch(cell, I, H, {
      W_x: block.get(`${l}.W_x`)!,
      W_h: block.get(`${l}.W_h`)!,
      b: block.get(`${l}.b`)!,
      b_hn: block.get(`${l}.b_hn`),
    });
    const shapes = torchShapes(cell, I, H);
    for (const name of TORCH_NAMES) {
      tensors.push({ name: `rnn.${name}_l${l}`, shape: shapes[name], data: torch[name] });
    }
  }
  tensors.push(
    { name: "dense.weight", shape: [V, H], data: transpose(block.get("W_hq")!, H, V) },
    { name: "dense.bias", shape: [V], data: Float32Array.from(block.get("b_q")!) },
  );
  const text = options.text ?? { tokens: "char", normalize: "none" };
  return encodeSafetensors({
    tensors,
    metadata: {
      format: "pt",
      producer: "@rnn/wasm",
      module: `rnn = nn.${MODULES[cell]}(${V}, ${H}, num_layers=${layers}` +
        `${cell === "rnn" ? `, nonlinearity='${config.activation}'` : ""}); ` +
        `dense = nn.Linear(${H}, ${V})`,
      config: JSON.stringify(config),
      vocab: JSON.stringify(vocab.toJSON()),
      text: JSON.stringify({ tokens: text.tokens, normalize: text.normalize }),
    },
  });
}

/** The JSON value of a metadata entry, or undefined when absent. */
function metaJson(meta: Record<string, string>, key: string): unknown {
  if (meta[key] === undefined) return undefined;
  try {
    return JSON.parse(meta[key]);
  } catch {
    throw new CheckpointError(`the metadata entry "${key}" is not valid JSON`);
  }
}

/**
 * Reads the state dict of the book's concise PyTorch model (as {@linkcode exportPyTorch} writes
 * it, or as `safetensors.torch.save_file(model.state_dict(), path, metadata={"vocab": ...})`
 * writes it from PyTorch) into a model. The cell, layers and hidden size come from the tensors
 * (checked against the metadata's `config` when there is one); an `nn.RNN`'s nonlinearity from
 * the `activation` option, else the metadata's `config.activation` (the key `export` writes),
 * else tanh, which `assumed` then says. `bias_ih` and `bias_hh` are added into the one bias per
 * gate, except the GRU's `n` block, whose `bias_hh` part becomes `b_hn`: a GRU is always imported
 * with `gruVariant: "pytorch"`.
 *
 * @param bytes The safetensors file's bytes.
 * @param options Backend for the model, and the nonlinearity of an `nn.RNN`.
 * @returns The model, its vocabulary and tokenisation, and what was assumed.
 * @throws {CheckpointError} When the file is not such a state dict: a tensor missing, extra or of
 * the wrong shape, a layer or the dense layer not matching the others, no vocabulary, or a config
 * that disagrees with the tensors; the message says which.
 * @example Round trip
 * ```ts
 * import { createModel } from "../model/model.ts";
 * import { Vocab } from "../text/vocab.ts";
 * import { exportPyTorch, importPyTorch } from "./pytorch.ts";
 * const model = createModel({ vocabSize: 2, hidden: 3, activation: "relu" }, { seed: 1 });
 * const back = importPyTorch(await exportPyTorch(model, new Vocab(["a", "b"])));
 * console.log(back.model.config.activation, back.vocab.tokens); // relu ["a", "b"]
 * ```
 */
export function importPyTorch(
  bytes: Uint8Array,
  options: ImportPyTorchOptions = {},
): PyTorchImport {
  const file = decodeModelFile(bytes);
  const meta = file.metadata;
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const int8 = file.tensors.find((t) => !(t.data instanceof Float32Array));
  if (int8) {
    throw new CheckpointError(
      `tensor "${int8.name}" is 8-bit; a state dict to import holds float32 tensors`,
    );
  }
  const shapeOf = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new CheckpointError(`the state dict has no tensor "${name}"`);
    return t.shape;
  };
  const need = (name: string, shape: number[]) => {
    const got = shapeOf(name);
    if (JSON.stringify(got) !== JSON.stringify(shape)) {
      throw new CheckpointError(
        `tensor "${name}" has shape ${JSON.stringify(got)}, expected ${JSON.stringify(shape)}`,
      );
    }
  };

  let vocab: Vocab;
  const vocabJson = metaJson(meta, "vocab");
  if (vocabJson === undefined) {
    throw new CheckpointError('the metadata has no "vocab" entry (a JSON list of the tokens)');
  }
  try {
    vocab = Vocab.fromJSON(vocabJson);
  } catch (e) {
    throw new CheckpointError(`the metadata's vocabulary is invalid: ${(e as Error).message}`);
  }
  const V = vocab.size;
  if (V === 0) throw new CheckpointError("the metadata's vocabulary is empty");

  // Sizes from the first layer's recurrent weights [G, H].
  const hh = shapeOf("rnn.weight_hh_l0");
  if (hh.length !== 2 || hh[1] < 1 || hh[0] % hh[1] !== 0) {
    throw new CheckpointError(
      `tensor "rnn.weight_hh_l0" has shape ${JSON.stringify(hh)}, expected [G, H] with G a ` +
        "multiple of H",
    );
  }
  const H = hh[1], G = hh[0];
  const cell = (Object.keys(GATES) as CellKind[]).find((c) => GATES[c].length * H === G);
  if (!cell) {
    throw new CheckpointError(
      `tensor "rnn.weight_hh_l0" has ${G} rows for ${H} hidden units: not nn.RNN (${H}), ` +
        `nn.GRU (${3 * H}) or nn.LSTM (${4 * H})`,
    );
  }
  let layers = 0;
  while (byName.has(`rnn.weight_ih_l${layers}`)) layers++;
  if (layers === 0) throw new CheckpointError('the state dict has no tensor "rnn.weight_ih_l0"');

  const saved = metaJson(meta, "config") as Partial<ModelConfig> | undefined;
  if (saved !== undefined && (typeof saved !== "object" || saved === null)) {
    throw new CheckpointError(`the metadata's config ${meta.config} is not an object`);
  }
  const given = options.activation;
  if (given !== undefined && given !== "tanh" && given !== "relu") {
    throw new UsageError(`{activation} must be one of tanh, relu, got ${JSON.stringify(given)}`);
  }
  if (cell === "rnn" && given && saved?.activation && given !== saved.activation) {
    throw new UsageError(
      `the state dict's metadata says activation ${saved.activation}; {activation} ${given} ` +
        "contradicts it (drop it)",
    );
  }
  const activation = given ?? saved?.activation ?? "tanh";
  // Only nn.RNN has a nonlinearity to choose, and its tensors cannot show which it was.
  const assumed = cell === "rnn" && given === undefined && saved?.activation === undefined
    ? "nonlinearity 'tanh' (the state dict does not say; for nn.RNN(nonlinearity='relu') give " +
      "activation relu)"
    : undefined;
  const found: Record<string, unknown> = { vocabSize: V, hidden: H, cell, layers };
  for (const [key, value] of Object.entries(found)) {
    const given = saved?.[key as keyof ModelConfig];
    if (given !== undefined && given !== value) {
      throw new CheckpointError(
        `the metadata's config says ${key} ${JSON.stringify(given)}, the tensors ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  if (activation !== "tanh" && activation !== "relu") {
    throw new CheckpointError(`the metadata's config has activation ${JSON.stringify(activation)}`);
  }
  if ((saved?.inputSize ?? 0) !== 0) {
    throw new CheckpointError(
      "the metadata's config has dense inputs (inputSize); only tokens load",
    );
  }
  if (cell === "gru" && (saved?.gruVariant ?? "pytorch") !== "pytorch") {
    throw new CheckpointError(
      `the metadata's config says gruVariant ${JSON.stringify(saved!.gruVariant)}, but an ` +
        'nn.GRU state dict is always PyTorch\'s GRU ("pytorch")',
    );
  }

  let config: ModelConfig;
  try {
    config = resolveModelConfig({
      vocabSize: V,
      inputSize: 0,
      hidden: H,
      activation,
      cell,
      layers,
      gruVariant: cell === "gru" ? "pytorch" : "book",
    });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new CheckpointError(`the state dict's model is out of range: ${e.message}`);
  }

  // Every tensor is checked before anything is allocated for the weights, whose size follows
  // from the tensors' names and the vocabulary: a few bytes of header must not claim gigabytes.
  const expected: [string, number[]][] = [];
  for (let l = 0; l < layers; l++) {
    const I = l === 0 ? V : H;
    expected.push(
      [`rnn.weight_ih_l${l}`, [G, I]],
      [`rnn.weight_hh_l${l}`, [G, H]],
      [`rnn.bias_ih_l${l}`, [G]],
      [`rnn.bias_hh_l${l}`, [G]],
    );
  }
  if (!byName.has("dense.weight")) {
    throw new CheckpointError(
      'the state dict has no tensor "dense.weight" (nn.Linear named dense)',
    );
  }
  expected.push(["dense.weight", [V, H]], ["dense.bias", [V]]);
  for (const [name, shape] of expected) need(name, shape);
  const known = new Set(expected.map(([name]) => name));
  const extra = file.tensors.filter((t) => !known.has(t.name));
  if (extra.some((t) => /^rnn\..*_reverse$/.test(t.name))) {
    throw new CheckpointError(
      `the state dict is a bidirectional nn.${MODULES[cell]}: a language model reads left to ` +
        "right only (a reverse direction would see the tokens it predicts); load it into a " +
        "layer object (GRU, LSTM, RNN with bidirectional: true) with loadStateDict",
    );
  }
  if (extra.length > 0) {
    throw new CheckpointError(
      `the state dict has unexpected tensors: ${extra.map((t) => t.name).join(", ")} ` +
        `(expected ${layers} ${MODULES[cell]} layer(s) named rnn and a Linear named dense)`,
    );
  }

  const storage = new Map(blocks(config).map((b) => [b.key, b]));
  const all = new Float64Array([...storage.values()].reduce((n, b) => n + b.size, 0));
  const data = (name: string) => byName.get(name)!.data;
  for (let l = 0; l < layers; l++) {
    const stored = fromTorch(cell, l === 0 ? V : H, H, {
      weight_ih: data(`rnn.weight_ih_l${l}`),
      weight_hh: data(`rnn.weight_hh_l${l}`),
      bias_ih: data(`rnn.bias_ih_l${l}`),
      bias_hh: data(`rnn.bias_hh_l${l}`),
    });
    for (const [key, values] of Object.entries(stored)) {
      all.set(values, storage.get(`${l}.${key}`)!.offset);
    }
  }
  all.set(transpose(data("dense.weight"), V, H), storage.get("W_hq")!.offset);
  all.set(data("dense.bias"), storage.get("b_q")!.offset);

  let text: TextConfig;
  try {
    text = resolveTextConfig((metaJson(meta, "text") ?? {}) as Partial<TextConfig>);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new CheckpointError(`the metadata's text settings ${meta.text} are not understood`);
  }
  const model = createModel(config, { backend: options.backend, initScale: 0 });
  model.loadParams(all);
  return { model, vocab, text, ...(assumed ? { assumed } : {}) };
}
