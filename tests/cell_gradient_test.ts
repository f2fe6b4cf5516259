// The gated cells' analytic gradients (float64 reference backend) against central finite
// differences, for the scalar loss L = Σ w⊙states[1..T] (+ Σ w'⊙cells[1..T] for the LSTM) with
// random weights w, w': every coordinate of zin, whh, bhn, H_0 and C_0 when there are few,
// otherwise an even spread of them.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import type { FloatBuf, GruVariant } from "../src/backend/types.ts";
import { Rng } from "../src/rng.ts";
import { relativeError } from "./_helpers.ts";

const EPS = 1e-5;
// Gradients below ~1e-3 in size are compared in absolute terms (1e-9). Why 10x the 1e-4 of
// gradient_check_test.ts: that loss is a mean near log V ≈ 2, this one a sum of up to
// 2·T·B·H = 120 terms of order 1, so L is of order 10 and the rounding in L(x ± EPS) leaves about
// 1e-10 of noise in a central difference (measured up to 1.1e-10). Against a gradient near 1e-5
// that is a relative error above 1e-6 that says nothing about the gradient; with 1e-3 the worst
// figure over thousands of draws was 2e-7.
const TINY = 1e-3;
const TOLERANCE = 1e-6;
/** Coordinates compared per tensor at most. */
const PER_TENSOR = 24;

const be = createReferenceBackend();

const sizes = fc.record({
  T: fc.integer({ min: 1, max: 4 }),
  B: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 5 }),
});
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Float64 data ~ N(0, scale²). */
function normal(rng: Rng, n: number, scale: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

function buf(data: ArrayLike<number>): FloatBuf {
  const b = be.alloc(data.length);
  be.write(b, data);
  return b;
}

/** The contents of a reference buffer (float64). */
async function asArray(b: FloatBuf): Promise<Float64Array> {
  return (await be.read(b)) as Float64Array;
}

/** Σ w⊙x over blocks 1..T of x[T+1,B,H] (w[T,B,H]). */
function weighted(x: Float64Array, w: Float64Array, block: number): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * x[block + i];
  return s;
}

/**
 * Perturbs up to PER_TENSOR coordinates of `x` by ±EPS and asserts that `analytic` matches the
 * central differences of `loss`; returns how many were compared.
 */
async function compare(
  what: string,
  x: Float64Array,
  analytic: ArrayLike<number>,
  loss: () => Promise<number>,
): Promise<number> {
  const count = Math.min(x.length, PER_TENSOR);
  for (let c = 0; c < count; c++) {
    const i = Math.floor((c * x.length) / count);
    const v = x[i];
    x[i] = v + EPS;
    const up = await loss();
    x[i] = v - EPS;
    const down = await loss();
    x[i] = v;
    const numeric = (up - down) / (2 * EPS);
    const err = relativeError(analytic[i], numeric, TINY);
    assert.ok(err < TOLERANCE, `${what}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
  }
  return count;
}

Deno.test("gruBackward() matches central finite differences (both variants)", async () => {
  await fc.assert(
    fc.asyncProperty(sizes, seed, async ({ T, B, H }, s) => {
      for (const variant of ["book", "pytorch"] as const satisfies GruVariant[]) {
        const rng = new Rng(s);
        const G = 3 * H, block = B * H;
        const zin = normal(rng, T * B * G, 1), whh = normal(rng, H * G, 1 / Math.sqrt(H));
        const bhn = normal(rng, H, 0.5), h0 = normal(rng, block, 0.5);
        const w = normal(rng, T * block, 1);
        const states = be.alloc((T + 1) * block), gates = be.alloc(T * B * G);
        const hn = be.alloc(T * block);
        const zb = buf(zin), wb = buf(whh), bb = buf(bhn);
        // b_hn is given for PyTorch's variant only.
        const bias = variant === "pytorch" ? bb : undefined;
        const forward = () => {
          be.write(states, h0);
          be.write(zb, zin);
          be.write(wb, whh);
          be.write(bb, bhn);
          be.gruForward(states, gates, hn, zb, wb, bias, T, B, H, variant);
        };
        const loss = async () => (forward(), weighted(await asArray(states), w, block));

        forward();
        const dstates = be.alloc((T + 1) * block);
        be.write(dstates, w, block);
        const dzin = be.alloc(T * B * G), dwhh = be.alloc(H * G), dbhn = be.alloc(H);
        const dbias = variant === "pytorch" ? dbhn : undefined;
        be.gruBackward(dzin, dwhh, dbias, dstates, states, gates, hn, wb, T, B, H, variant);

        const v = `${variant}:`;
        await compare(`${v} zin`, zin, await asArray(dzin), loss);
        await compare(`${v} whh`, whh, await asArray(dwhh), loss);
        await compare(`${v} H0`, h0, await asArray(dstates), loss);
        if (variant === "pytorch") await compare(`${v} bhn`, bhn, await asArray(dbhn), loss);
        else {
          // The book's variant never reads bhn, so its gradient stays zero even when a buffer
          // for it is passed, and the passes are those without one.
          forward();
          const byState = await asArray(states);
          const dstates2 = be.alloc((T + 1) * block), dzin2 = be.alloc(T * B * G);
          be.write(dstates2, w, block);
          be.gruForward(states, gates, hn, zb, wb, bb, T, B, H, variant);
          be.gruBackward(
            dzin2,
            be.alloc(H * G),
            dbhn,
            dstates2,
            states,
            gates,
            hn,
            wb,
            T,
            B,
            H,
            variant,
          );
          assert.deepEqual(Array.from(await asArray(dbhn)), new Array(H).fill(0));
          assert.deepEqual(await asArray(states), byState);
          assert.deepEqual(await asArray(dzin2), await asArray(dzin));
        }
      }
    }),
    { numRuns: 40 },
  );
});

Deno.test("lstmBackward() matches central finite differences, through H and C", async () => {
  await fc.assert(
    fc.asyncProperty(sizes, seed, async ({ T, B, H }, s) => {
      const rng = new Rng(s);
      const G = 4 * H, block = B * H;
      const zin = normal(rng, T * B * G, 1), whh = normal(rng, H * G, 1 / Math.sqrt(H));
      const h0 = normal(rng, block, 0.5), c0 = normal(rng, block, 0.5);
      const w = normal(rng, T * block, 1), wc = normal(rng, T * block, 1);
      const states = be.alloc((T + 1) * block), cells = be.alloc((T + 1) * block);
      const gates = be.alloc(T * B * G);
      const zb = buf(zin), wb = buf(whh);
      const forward = () => {
        be.write(states, h0);
        be.write(cells, c0);
        be.write(zb, zin);
        be.write(wb, whh);
        be.lstmForward(states, cells, gates, zb, wb, T, B, H);
      };
      const loss = async () => (
        forward(),
          weighted(await asArray(states), w, block) + weighted(await asArray(cells), wc, block)
      );

      forward();
      // The loss reaches every H_s and C_s (s ≥ 1) from outside the recurrence.
      const dstates = be.alloc((T + 1) * block), dcells = be.alloc((T + 1) * block);
      be.write(dstates, w, block);
      be.write(dcells, wc, block);
      const dzin = be.alloc(T * B * G), dwhh = be.alloc(H * G);
      be.lstmBackward(dzin, dwhh, dstates, dcells, states, cells, gates, wb, T, B, H);

      await compare("zin", zin, await asArray(dzin), loss);
      await compare("whh", whh, await asArray(dwhh), loss);
      await compare("H0", h0, await asArray(dstates), loss);
      await compare("C0", c0, await asArray(dcells), loss);
    }),
    { numRuns: 40 },
  );
});
