import assert from "node:assert/strict";
import { createReferenceBackend } from "../backend/reference.ts";
import { Rng } from "../rng.ts";
import { sineSeries } from "./seq_data.ts";
import { runSequenceExperiment } from "./seq_experiment.ts";

const NOISE_VARIANCE = 0.2 ** 2;

/** Seeds checked below; the bounds were checked on seeds 0..299 (margins in the comments). */
const SEEDS = [0, 1, 2, 3, 4];
const runs: Awaited<ReturnType<typeof runSequenceExperiment>>[] = [];
for (const seed of SEEDS) runs.push(await runSequenceExperiment({ seed }));

Deno.test("runSequenceExperiment() is deterministic for a seed", async () => {
  const again = await runSequenceExperiment({ seed: 0 });
  const { net: _a, ...first } = runs[0];
  const { net: _b, ...second } = again;
  assert.deepEqual(second, first);
  assert.notDeepEqual(runs[1].losses, runs[0].losses);
});

Deno.test("runSequenceExperiment() returns the book's shapes and time axes", () => {
  const r = runs[0];
  assert.equal(r.losses.length, 5);
  assert.equal(r.x.length, 1000);
  assert.deepEqual([r.onestep.time[0], r.onestep.time.at(-1), r.onestep.preds.length], [
    5,
    1000,
    996,
  ]);
  assert.deepEqual(
    [r.multistep.time[0], r.multistep.time.at(-1), r.multistep.preds.length],
    [605, 1000, 396],
  );
  assert.deepEqual([...r.kstep.keys()], [1, 4, 16, 64]);
  for (const [k, p] of r.kstep) {
    // The book plots column τ+k-1 against time[τ+k-1 : T-max_steps+k].
    assert.deepEqual([p.time[0], p.time.at(-1), p.preds.length], [4 + k, 1000 - 64 + k, 933]);
  }
  // The 1-step column of the k-step table is the 1-step prediction on the same windows.
  const k1 = r.kstep.get(1)!.preds;
  for (let i = 0; i < k1.length; i++) assert.equal(k1[i], r.onestep.preds[i]);
});

Deno.test("the training loss falls from the data's variance to near the noise floor", () => {
  // Predicting the mean scores the variance of the clean sine (about 0.46) plus the noise's; the
  // floor is the label noise 0.04 plus the input noise the weights pass on (about 0.01): the
  // book ends near 0.05. Over seeds 0..299 the final loss lies in [0.043, 0.065]; below 0.03
  // would mean the labels leak into the features, above 0.1 that training failed.
  const clean = sineSeries(new Rng(0), { noise: 0 }).x;
  const mean = clean.reduce((s, v) => s + v, 0) / clean.length;
  const cleanVariance = clean.reduce((s, v) => s + (v - mean) ** 2, 0) / clean.length;
  assert.ok(cleanVariance > 0.4, `clean variance ${cleanVariance}`);
  runs.forEach((r, i) => {
    const final = r.losses.at(-1)!;
    assert.ok(final < 0.1 && final > 0.03, `seed ${SEEDS[i]}: final loss ${final}`);
    assert.ok(r.losses.every((l) => l < cleanVariance / 2), `seed ${SEEDS[i]}: ${r.losses}`);
  });
});

Deno.test("1-step predictions err by about the noise; feeding predictions back errs far more", () => {
  runs.forEach((r, i) => {
    const { onestep, multistep } = r.mse;
    // The label noise (variance 0.04) cannot be predicted, so no model scores much below it:
    // the mean of 996 squared N(0, 0.04) draws has standard error 0.0018, so 0.035 is ~3 of
    // them below. Above 2σ² = 0.08 the model would add more error than the noise. Seeds 0..299
    // give [0.043, 0.063].
    assert.ok(onestep > 0.035 && onestep < 2 * NOISE_VARIANCE, `seed ${SEEDS[i]}: ${onestep}`);
    // Multistep predictions settle on a constant (as in the book) while the sine goes on: at
    // least 4 times the 1-step error on seeds 0..299.
    assert.ok(multistep > 3 * onestep, `seed ${SEEDS[i]}: multistep ${multistep}`);
  });
});

Deno.test("k-step errors grow with k", async () => {
  runs.forEach((r, i) => {
    const [k1, k4, k16, k64] = [1, 4, 16, 64].map((k) => r.mse.k[k]);
    const what = `seed ${SEEDS[i]}: ${[k1, k4, k16, k64]}`;
    // Strictly increasing on these seeds and 298 others of 0..299. On seed 224 the 4-step error
    // is 0.8% below the 1-step one: over 3 steps the sine moves by 0.03, small against the noise
    // (variance 0.04), so 1 and 4 steps ahead differ by less than the sampling error there.
    assert.ok(k1 < k4 && k4 < k16 && k16 < k64, what);
  });
  const r224 = (await runSequenceExperiment({ seed: 224 })).mse.k;
  assert.ok(r224[4] > 0.98 * r224[1] && r224[1] < r224[16] && r224[16] < r224[64]);
});

Deno.test("the float64 reference backend reproduces the WASM run", async () => {
  // Same draws, same steps: only float32 rounding differs, about 1e-7 relative per epoch on
  // seeds 0..4 and at most 1e-5 in the 64-step error, which compounds 64 predictions.
  const ref = await runSequenceExperiment({ seed: 1, backend: createReferenceBackend() });
  const near = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `${what}: wasm ${a}, reference ${b}`);
  runs[1].losses.forEach((l, i) => near(l, ref.losses[i], `epoch ${i + 1} loss`));
  near(runs[1].mse.onestep, ref.mse.onestep, "1-step mse");
  near(runs[1].mse.multistep, ref.mse.multistep, "multistep mse");
  for (const k of [1, 4, 16, 64]) near(runs[1].mse.k[k], ref.mse.k[k], `${k}-step mse`);
});

Deno.test("runSequenceExperiment() rejects inconsistent sizes", async () => {
  await assert.rejects(runSequenceExperiment({ ks: [65] }), RangeError);
  await assert.rejects(runSequenceExperiment({ T: 100, nTrain: 96 }), RangeError);
  await assert.rejects(runSequenceExperiment({ T: 60 }), RangeError);
  await assert.rejects(runSequenceExperiment({ tau: 0 }), RangeError);
  await assert.rejects(runSequenceExperiment({ lr: -1 }), RangeError);
});
