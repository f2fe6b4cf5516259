/**
 * The layer objects against PyTorch by hand, never run by the tests (PyTorch is no dependency):
 *
 *     deno run -A scripts/pytorch/layers.ts export DIR   # our 2-layer bidirectional modules
 *     python3 scripts/pytorch/layers.py DIR              # strict loads, compares, writes PyTorch's
 *     deno run -A scripts/pytorch/layers.ts import DIR   # loads PyTorch's, compares
 *
 * Each file holds a module's state dict and an input, an initial state and the outputs of the side
 * that wrote it.
 *
 * @module
 */
import { GRU, LSTM, Rng, RNN } from "../../mod.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts";

const [mode, dir] = Deno.args;
const [T, B, I, H] = [6, 3, 5, 7];
const MODULES = [["lstm", LSTM], ["gru", GRU], ["rnn", RNN]] as const;

if (mode === "export") {
  for (const [name, Layer] of MODULES) {
    const options = { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 5 };
    const layer = new Layer({ ...options, batchFirst: true });
    const rng = new Rng(1);
    const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const x = normal(B * T * I), h0 = normal(4 * B * H), c0 = normal(4 * B * H);
    const out = await layer.forward(x, B, { h: h0, ...(name === "lstm" ? { c: c0 } : {}) });
    const tensors = Object.entries(await layer.stateDict("rnn.")).map(([n, t]) => ({
      name: n,
      shape: [...t.shape],
      data: t.data,
    }));
    tensors.push(
      { name: "x", shape: [B, T, I], data: x },
      { name: "h0", shape: [4, B, H], data: h0 },
      { name: "c0", shape: [4, B, H], data: c0 },
      { name: "out", shape: [B, T, 2 * H], data: Float32Array.from(out.outputs) },
      { name: "hn", shape: [4, B, H], data: Float32Array.from(out.state.h) },
      { name: "cn", shape: [4, B, H], data: Float32Array.from(out.state.c ?? c0) },
    );
    await Deno.writeFile(
      `${dir}/ours_${name}.safetensors`,
      encodeSafetensors({ tensors, metadata: {} }),
    );
  }
} else if (mode === "import") {
  for (const [name, Layer] of MODULES) {
    const file = decodeSafetensors(await Deno.readFile(`${dir}/torch_${name}.safetensors`));
    const t = Object.fromEntries(file.tensors.map((x) => [x.name, x]));
    const layer = new Layer({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true });
    layer.loadStateDict(t, "rnn."); // strict within the prefix
    const got = await layer.forward(t.x.data, B);
    let err = 0;
    got.outputs.forEach((v, i) => err = Math.max(err, Math.abs(v - t.out.data[i])));
    got.state.h.forEach((v, i) => err = Math.max(err, Math.abs(v - t.hn.data[i])));
    console.log(`${name}: PyTorch's state dict loaded; max |difference| ${err.toExponential(2)}`);
  }
} else {
  console.error("usage: layers.ts export|import DIR");
  Deno.exit(2);
}
