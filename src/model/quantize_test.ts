import fc from "fast-check";
import assert from "node:assert/strict";
import { createModel } from "./model.ts";
import { dequantizeInt8, int8Axes, int8Matrices, quantize, quantizeInt8 } from "./quantize.ts";

const matrix = fc.integer({ min: 1, max: 9 }).chain((rows) =>
  fc.integer({ min: 1, max: 9 }).chain((cols) =>
    fc.tuple(
      fc.constant(rows),
      fc.constant(cols),
      fc.array(fc.float({ min: -4, max: 4, noNaN: true }), {
        minLength: rows * cols,
        maxLength: rows * cols,
      }),
      fc.constantFrom("rows" as const, "columns" as const),
    )
  )
);

Deno.test("quantizeInt8(): each unit's largest magnitude is ±127, every value within half a step", () => {
  fc.assert(
    fc.property(matrix, ([rows, cols, values, axis]) => {
      const w = Float32Array.from(values);
      const m = quantizeInt8(w, rows, cols, axis);
      assert.equal(m.scale.length, axis === "rows" ? rows : cols);
      const back = dequantizeInt8(m, rows, cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c, s = m.scale[axis === "rows" ? r : c];
          assert.ok(m.q[i] >= -127 && m.q[i] <= 127);
          // Half a step, plus float32 rounding of the step itself (and a unit of subnormals,
          // whose step underflows to 0).
          const slack = 1e-6 * Math.abs(w[i]) + 1e-37;
          assert.ok(Math.abs(back[i] - w[i]) <= s / 2 + slack, `${w[i]} ${back[i]}`);
        }
      }
      for (let u = 0; u < m.scale.length; u++) {
        const unit = axis === "rows"
          ? Array.from({ length: cols }, (_, c) => m.q[u * cols + c])
          : Array.from({ length: rows }, (_, r) => m.q[r * cols + u]);
        const peak = Math.max(...unit.map(Math.abs));
        assert.equal(peak, m.scale[u] === 0 ? 0 : 127, `unit ${u}`);
      }
    }),
  );
});

Deno.test("quantizeInt8() is idempotent: the values of an 8-bit matrix give back its integers and scales", () => {
  fc.assert(
    fc.property(matrix, ([rows, cols, values, axis]) => {
      const m = quantizeInt8(Float32Array.from(values), rows, cols, axis);
      const again = quantizeInt8(dequantizeInt8(m, rows, cols), rows, cols, axis);
      assert.deepEqual(again, m);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("quantizeInt8(): a unit of zeros has scale 0 and integers 0", () => {
  const m = quantizeInt8(new Float32Array([0, 0, 1, -2]), 2, 2, "rows");
  assert.deepEqual(Array.from(m.scale), [0, Math.fround(2 / 127)]);
  assert.deepEqual(Array.from(m.q), [0, 0, 64, -127]);
});

Deno.test("int8Axes(): the first layer's input weights by rows, every other matrix by columns", () => {
  const rnn = int8Axes(createModel({ vocabSize: 5, hidden: 3 }).config);
  assert.deepEqual(Object.fromEntries(rnn), { W_xh: "rows", W_hh: "columns", W_hq: "columns" });
  const lstm = int8Axes(createModel({ vocabSize: 5, hidden: 3, cell: "lstm", layers: 2 }).config);
  assert.equal(lstm.get("W_xi_l0"), "rows");
  assert.equal(lstm.get("W_xi_l1"), "columns");
  assert.equal(lstm.get("W_ho_l1"), "columns");
  assert.ok(![...lstm.keys()].some((n) => n.startsWith("b_")));
});

Deno.test("quantize(): a model of 8-bit values, marked, whose 8-bit form is exactly the one it came from", async () => {
  for (const cell of ["rnn", "gru", "lstm"] as const) {
    const model = createModel({ vocabSize: 7, hidden: 5, cell, layers: 2 }, { seed: 3 });
    const small = await quantize(model);
    assert.equal(small.quantized, "int8");
    assert.equal(model.quantized, undefined);
    const [w, q] = [await model.getWeights(), await small.getWeights()];
    const matrices = int8Matrices(small.config, q);
    for (const [name, m] of matrices) {
      const [rows, cols] = [w[name].length / m.scale.length, m.scale.length];
      const shape = m.axis === "rows"
        ? [m.scale.length, w[name].length / m.scale.length]
        : [rows, cols];
      assert.deepEqual(
        Array.from(q[name]),
        Array.from(dequantizeInt8(m, shape[0], shape[1])),
        name,
      );
    }
    // Biases are kept as they were.
    for (const name of Object.keys(w).filter((n) => n.startsWith("b_"))) {
      assert.deepEqual(q[name], w[name], name);
    }
    // Quantised again, the 8-bit model gives back its integers and scales.
    const twice = await quantize(small);
    const again = int8Matrices(twice.config, await twice.getWeights());
    for (const [name, m] of matrices) {
      assert.deepEqual(again.get(name), m, name);
    }
  }
});
