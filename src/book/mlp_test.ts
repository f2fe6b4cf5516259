import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../backend/reference.ts";
import type { Backend } from "../backend/types.ts";
import { createWasmBackend } from "../backend/wasm.ts";
import { createMlp, createMlpWorkspace, type Mlp, mlpBackward, mlpForward } from "./mlp.ts";
import { Rng } from "../rng.ts";

/** `|a - n| / max(|a| + |n|, tiny)`: the relative error of the house style. */
function relativeError(a: number, n: number, tiny: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a) + Math.abs(n), tiny);
}

/** A drawn problem: layer widths (1 and non-multiples of 4 included), a batch and its data. */
const shapes = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 4 }),
  batch: fc.integer({ min: 1, max: 7 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

interface Problem {
  params: Float64Array;
  x: Float64Array;
  y: Float64Array;
}

/** Parameters, inputs and targets rounded to float32, so both backends see the same numbers. */
async function drawProblem(sizes: number[], batch: number, seed: number): Promise<Problem> {
  const rng = new Rng(seed);
  const net = createMlp(createReferenceBackend(), sizes, rng);
  // Xavier weights plus non-zero biases, so the bias gradients are tested away from 0 too.
  const params = Float64Array.from(
    await net.backend.read(net.params),
    (p) => Math.fround(p + 0.3 * rng.normal()),
  );
  const x = Float64Array.from({ length: batch * sizes[0] }, () => Math.fround(rng.normal()));
  const y = Float64Array.from(
    { length: batch * sizes[sizes.length - 1] },
    () => Math.fround(rng.normal()),
  );
  return { params, x, y };
}

/** Half the summed squared error of the outputs, and its gradient with respect to them. */
function loss(out: ArrayLike<number>, y: ArrayLike<number>): { value: number; dOut: number[] } {
  let value = 0;
  const dOut: number[] = [];
  for (let i = 0; i < y.length; i++) {
    value += 0.5 * (out[i] - y[i]) ** 2;
    dOut.push(out[i] - y[i]);
  }
  return { value, dOut };
}

/** A network on `be` holding the problem's parameters, its forward outputs and gradients. */
async function run(be: Backend, sizes: number[], batch: number, p: Problem) {
  const net = createMlp(be, sizes, new Rng(0));
  be.write(net.params, p.params);
  const ws = createMlpWorkspace(net, batch);
  const out = await mlpForward(net, ws, p.x, batch);
  const { value, dOut } = loss(out, p.y);
  be.fill(net.grads, 0);
  mlpBackward(net, ws, dOut);
  return { net, ws, out, value, grads: await be.read(net.grads) };
}

// With the ReLU pattern fixed the outputs are linear in any one parameter, so the loss is
// quadratic in it and central differences have no truncation error at any step: a large step
// keeps the rounding error small (a loss of up to ~100 carries ~1e-14, over 2·EPS ~1e-11), and
// the steps that cross a kink are skipped. Gradients below TINY are compared in absolute terms.
const EPS = 1e-3;
const TINY = 1e-4;

Deno.test("mlpBackward() matches central finite differences (float64 reference)", async () => {
  // Kinks are counted over all runs: in a net of two hidden units one unit near its kink takes a
  // third of the parameters with it, so a single draw may skip many; across runs few are skipped.
  let compared = 0, straddled = 0;
  await fc.assert(
    fc.asyncProperty(shapes, async ({ sizes, batch, seed }) => {
      const be = createReferenceBackend();
      const p = await drawProblem(sizes, batch, seed);
      const { net, ws, grads } = await run(be, sizes, batch, p);
      const lossAt = async () => loss(await mlpForward(net, ws, p.x, batch), p.y).value;
      // Which hidden units are active: a difference whose two ends differ straddles a kink.
      const pattern = async () => {
        const rows: string[] = [];
        for (const a of ws.acts.slice(1, -1)) {
          rows.push(Array.from(await be.read(a), (v) => (v > 0 ? 1 : 0)).join(""));
        }
        return rows.join("|");
      };
      for (let i = 0; i < net.numParams; i++) {
        be.write(net.params, [p.params[i] + EPS], i);
        const up = await lossAt(), upPattern = await pattern();
        be.write(net.params, [p.params[i] - EPS], i);
        const down = await lossAt(), same = upPattern === await pattern();
        be.write(net.params, [p.params[i]], i);
        if (!same) {
          straddled++;
          continue;
        }
        compared++;
        const numeric = (up - down) / (2 * EPS);
        const err = relativeError(grads[i], numeric, TINY);
        assert.ok(err < 1e-6, `sizes [${sizes}] parameter ${i}: ${grads[i]} vs ${numeric}`);
      }
    }),
    { numRuns: 60 },
  );
  assert.ok(straddled <= compared / 20, `${straddled} of ${compared + straddled} straddled`);
});

Deno.test("mlpForward() and mlpBackward() on WASM match the float64 reference", async () => {
  await fc.assert(
    fc.asyncProperty(shapes, async ({ sizes, batch, seed }) => {
      const p = await drawProblem(sizes, batch, seed);
      const r = await run(createReferenceBackend(), sizes, batch, p);
      const wasm = createWasmBackend();
      const w = await run(wasm, sizes, batch, p);
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        for (let i = 0; i < b.length; i++) {
          assert.ok(
            Math.abs(a[i] - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])),
            `sizes [${sizes}] batch ${batch}: ${what}[${i}] ${a[i]} vs ${b[i]}`,
          );
        }
      };
      close(w.out, r.out, "output");
      close(w.grads, r.grads, "gradient");
      wasm.dispose();
    }),
    { numRuns: 60 },
  );
});

Deno.test("mlpBackward() adds into the gradients", async () => {
  const be = createReferenceBackend();
  const sizes = [3, 5, 2], p = await drawProblem(sizes, 4, 9);
  const { net, ws, out, grads } = await run(be, sizes, 4, p);
  mlpBackward(net, ws, loss(out, p.y).dOut);
  const twice = await be.read(net.grads);
  for (let i = 0; i < net.numParams; i++) assert.ok(Math.abs(twice[i] - 2 * grads[i]) < 1e-12);
});

Deno.test("createMlp() draws Xavier-uniform weights and zero biases, the same for a seed", async () => {
  const be = createReferenceBackend();
  const make = (seed: number): Mlp => createMlp(be, [4, 10, 1], new Rng(seed));
  const net = make(5);
  assert.equal(net.numParams, 61);
  for (const [l, layer] of net.layers.entries()) {
    const bound = Math.sqrt(6 / (net.sizes[l] + net.sizes[l + 1]));
    const w = Array.from(await be.read(layer.W));
    assert.ok(w.every((v) => Math.abs(v) <= bound), `layer ${l} exceeds ±${bound}`);
    // Spread over the interval, not bunched near 0: the mean |w| of U(±a) is a/2.
    const meanAbs = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
    assert.ok(meanAbs > 0.25 * bound, `layer ${l} mean |w| ${meanAbs}`);
    assert.ok((await be.read(layer.b)).every((v) => v === 0));
  }
  assert.deepEqual(await be.read(make(5).params), await be.read(net.params));
  assert.notDeepEqual(await be.read(make(6).params), await be.read(net.params));
});

Deno.test("the MLP rejects bad sizes, batches and gradients", async () => {
  const be = createReferenceBackend();
  assert.throws(() => createMlp(be, [4], new Rng(0)), RangeError);
  assert.throws(() => createMlp(be, [4, 0, 1], new Rng(0)), RangeError);
  const net = createMlp(be, [2, 3, 1], new Rng(0));
  assert.throws(() => createMlpWorkspace(net, 0), RangeError);
  const ws = createMlpWorkspace(net, 2);
  assert.throws(() => mlpBackward(net, ws, [1]), RangeError);
  // mlpForward refuses a bad call at once, not as a rejected promise.
  assert.throws(() => mlpForward(net, ws, [1, 2, 3, 4, 5, 6], 3), RangeError);
  assert.throws(() => mlpForward(net, ws, [1, 2, 3], 2), RangeError);
  await mlpForward(net, ws, [1, 2, 3, 4], 2);
  assert.throws(() => mlpBackward(net, ws, [1]), RangeError);
});
