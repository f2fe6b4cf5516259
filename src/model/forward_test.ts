import assert from "node:assert/strict";
import { createReferenceBackend } from "../backend/reference.ts";
import { createWasmBackend } from "../backend/wasm.ts";
import { Rng } from "../rng.ts";
import { forwardHidden, resetState, writeTokens } from "./forward.ts";
import { createModel } from "./model.ts";

for (const backend of [createReferenceBackend(), createWasmBackend()]) {
  Deno.test(`dropout keeps each output with probability 1-p and scales the kept ones by 1/(1-p) (${backend.name})`, async () => {
    const p = 0.3, T = 10, B = 8, H = 32;
    const model = createModel({ vocabSize: 7, hidden: H, layers: 2 }, { backend, seed: 2 });
    const ws = model.acquireWorkspace(T, B);
    const rng = new Rng(5);
    resetState(model, ws);
    writeTokens(model, ws, Int32Array.from({ length: T * B }, () => rng.nextInt(7)), T, "inputs");
    forwardHidden(model, ws, T, { p, rng: new Rng(11) });
    const n = T * B * H, below = ws.layers[0];
    const mask = (await backend.read(below.mask!)).subarray(0, n);
    const states = (await backend.read(below.states)).subarray(B * H, B * H + n);
    const dropped = (await backend.read(below.dropped!)).subarray(0, n);
    // Inverted dropout (nn.Dropout): the next layer sees x / (1-p) or 0, so its input's
    // expectation is the layer's output and evaluation needs no rescaling.
    const keep = backend.name === "wasm" ? Math.fround(1 / (1 - p)) : 1 / (1 - p);
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) zeros++;
      else assert.equal(mask[i], keep, `mask[${i}]`);
      const want = backend.name === "wasm" ? Math.fround(states[i] * mask[i]) : states[i] * mask[i];
      assert.equal(dropped[i], want, `dropped[${i}]`);
    }
    assert.ok(Math.abs(zeros / n - p) < 0.03, `${zeros} of ${n} dropped, expected about ${p}`);
    model.releaseWorkspace(ws);
  });
}
