/**
 * The WGSL compute shaders of the WebGPU backend, one per operation. Every shader reads its sizes,
 * element offsets and leading dimensions from a uniform block of 32 words (`u(i)` as u32, `fp(i)`
 * as f32; an elementwise shader's invocation count is word 31) and binds whole buffers, all `read_write` (two arguments may be views of one buffer), at
 * bindings 1, 2, ...: a view is a buffer and an offset, so offsets need no alignment.
 *
 * Shapes follow the kernel table (`kernels.ts`); the sequence kernels are split into steps by the
 * backend: a product of the previous state with the recurrent weights (`rowsW`), then the cell's
 * elementwise step, and backward the cell's elementwise step, then a product with the weights'
 * transpose (`rowsWT`); the weight gradients come last, as one tiled product over every step.
 *
 * @module
 */

/** A shader and what it binds. */
export interface ShaderSpec {
  /** The WGSL source. */
  readonly code: string;
  /** The storage buffers bound at 1, 2, ..., by their names in the source. */
  readonly names: readonly string[];
  /** Those that hold int32 (the others float32). */
  readonly ints: readonly string[];
}

const PRELUDE = /* wgsl */ `
struct Params { v: array<vec4<u32>, 8> }
@group(0) @binding(0) var<uniform> P: Params;
fn u(i: u32) -> u32 { return P.v[i / 4u][i % 4u]; }
fn fp(i: u32) -> f32 { return bitcast<f32>(u(i)); }
// The invocation's index in a grid of 256-wide workgroups laid out in two dimensions.
fn gid(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * 256u + lid; }
// Not NaN or infinite, read from the bits (arithmetic tests may be folded away).
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn sigm(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
// tanh without the overflow of exp(2x) for large |x|.
fn tanhs(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}
`;

const ELEMENTWISE_ENTRY = /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = gid(wid, nwg, lid);
`;

/** Storage bindings `names` (f32 arrays unless listed in `ints`) from binding 1. */
function bindings(names: readonly string[], ints: readonly string[] = []): string {
  return names.map((name, i) =>
    `@group(0) @binding(${i + 1}) var<storage, read_write> ${name}: array<${
      ints.includes(name) ? "i32" : "f32"
    }>;`
  ).join("\n");
}

/** A shader of `u(31)` invocations in 256-wide workgroups: `body` sees its index `i`. */
function elementwise(names: string[], body: string, ints: string[] = []) {
  return {
    code: `${PRELUDE}${bindings(names, ints)}${ELEMENTWISE_ENTRY}  if (i >= u(31u)) { return; }
${body}
}`,
    names,
    ints,
  };
}

/**
 * The tiled product `c[m,n] += A[m,k] · B[k,n]` over 64×64 tiles of `c`, 16 steps of `k` at a
 * time through workgroup memory, 4×4 outputs per invocation held in four vec4 registers (an array
 * indexed in a loop would live in memory on some compilers). `a` and `b` give the element
 * `A(i, p)` and `B(p, j)` for each form. Params: m, k, n, aoff, boff, coff, lda, ldb, ldc.
 */
function matmul(a: string, b: string): ShaderSpec {
  return {
    code: `${PRELUDE}${bindings(["A", "B", "C"])}
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
fn loadA(i: u32, p: u32) -> f32 { return A[${a}]; }
fn loadB(p: u32, j: u32) -> f32 { return B[${b}]; }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = u(0u); let k = u(1u); let n = u(2u);
  let row0 = wid.y * 64u; let col0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  // Rows lid.y + 16i, columns lid.x + 16j: four accumulators of four, in registers.
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  for (var kk = 0u; kk < k; kk += 16u) {
    for (var q = 0u; q < 4u; q++) {
      let e = t + q * 256u;
      let r = e % 64u; let c = e / 64u;
      var v = 0.0;
      if (row0 + r < m && kk + c < k) { v = loadA(row0 + r, kk + c); }
      As[c * 64u + r] = v;
      var w = 0.0;
      if (kk + c < k && col0 + r < n) { w = loadB(kk + c, col0 + r); }
      Bs[c * 64u + r] = w;
    }
    workgroupBarrier();
    for (var p = 0u; p < 16u; p++) {
      let o = p * 64u;
      let b = vec4<f32>(Bs[o + lid.x], Bs[o + lid.x + 16u], Bs[o + lid.x + 32u], Bs[o + lid.x + 48u]);
      acc0 += As[o + lid.y] * b;
      acc1 += As[o + lid.y + 16u] * b;
      acc2 += As[o + lid.y + 32u] * b;
      acc3 += As[o + lid.y + 48u] * b;
    }
    workgroupBarrier();
  }
  store(row0 + lid.y, col0 + lid.x, m, n, acc0);
  store(row0 + lid.y + 16u, col0 + lid.x, m, n, acc1);
  store(row0 + lid.y + 32u, col0 + lid.x, m, n, acc2);
  store(row0 + lid.y + 48u, col0 + lid.x, m, n, acc3);
}
fn store(r: u32, c: u32, m: u32, n: u32, v: vec4<f32>) {
  if (r >= m) { return; }
  let o = u(5u) + r * u(8u);
  if (c < n) { C[o + c] += v.x; }
  if (c + 16u < n) { C[o + c + 16u] += v.y; }
  if (c + 32u < n) { C[o + c + 32u] += v.z; }
  if (c + 48u < n) { C[o + c + 48u] += v.w; }
}`,
    names: ["A", "B", "C"],
    ints: [],
  };
}

/** The shaders, by name. */
export const SHADERS = {
  // off, n, value
  fill: elementwise(["X"], "  X[u(0u) + i] = fp(2u);"),
  // doff, soff, n
  copy: elementwise(["D", "S"], "  D[u(0u) + i] = S[u(1u) + i];"),
  matmulNN: matmul("u(3u) + i * u(6u) + p", "u(4u) + p * u(7u) + j"),
  matmulNT: matmul("u(3u) + i * u(6u) + p", "u(4u) + j * u(7u) + p"),
  matmulTN: matmul("u(3u) + p * u(6u) + i", "u(4u) + p * u(7u) + j"),

  // O[r, c] = (accumulate ? O : 0) + Σ_p X[r, p] W[p, c] (+ bias[c − from] for c ≥ from), for
  // few rows: rows, kdim, cols, xoff, ldx, woff, ldw, ooff, ldo, accumulate, boff, from.
  rowsW: elementwise(
    ["X", "W", "O", "Bias"],
    `  let r = i / u(2u); let c = i % u(2u);
  if (r >= u(0u)) { return; }
  var s = 0.0;
  if (c >= u(11u)) { s = Bias[u(10u) + c - u(11u)]; }
  let x0 = u(3u) + r * u(4u);
  for (var p = 0u; p < u(1u); p++) { s += X[x0 + p] * W[u(5u) + p * u(6u) + c]; }
  let o = u(7u) + r * u(8u) + c;
  if (u(9u) != 0u) { O[o] += s; } else { O[o] = s; }`,
  ),
  // O[r, p] (+)= Σ_c D[r, c] W[p, c]: rows, kdim (c), cols (p), doff, ldd, woff, ldw, ooff, ldo,
  // accumulate.
  rowsWT: elementwise(
    ["D", "W", "O"],
    `  let r = i / u(2u); let p = i % u(2u);
  if (r >= u(0u)) { return; }
  var s = 0.0;
  let d0 = u(3u) + r * u(4u); let w0 = u(5u) + p * u(6u);
  for (var c = 0u; c < u(1u); c++) { s += D[d0 + c] * W[w0 + c]; }
  let o = u(7u) + r * u(8u) + p;
  if (u(9u) != 0u) { O[o] += s; } else { O[o] = s; }`,
  ),

  // yoff, boff, m, n
  biasForward: elementwise(["Y", "Bias"], "  Y[u(0u) + i] += Bias[u(1u) + i % u(3u)];"),
  // One invocation per column: dboff, dyoff, m, n, ld.
  biasBackward: elementwise(
    ["DB", "DY"],
    `  var s = 0.0;
  for (var r = 0u; r < u(2u); r++) { s += DY[u(1u) + r * u(4u) + i]; }
  DB[u(0u) + i] += s;`,
  ),
  // act: 0 tanh, 1 sigmoid, 2 relu. yoff, xoff, n, act
  activationForward: elementwise(
    ["Y", "X"],
    `  let x = X[u(1u) + i];
  var y = max(x, 0.0);
  if (u(3u) == 0u) { y = tanhs(x); } else if (u(3u) == 1u) { y = sigm(x); }
  Y[u(0u) + i] = y;`,
  ),
  // dxoff, yoff, dyoff, n, act
  activationBackward: elementwise(
    ["DX", "Y", "DY"],
    `  let y = Y[u(1u) + i]; let dy = DY[u(2u) + i];
  var d = select(0.0, dy, y > 0.0);
  if (u(4u) == 0u) { d = (1.0 - y * y) * dy; } else if (u(4u) == 1u) { d = y * (1.0 - y) * dy; }
  DX[u(0u) + i] += d;`,
  ),
  // ooff, ioff, woff, n, h
  gatherRowsForward: elementwise(
    ["O", "I", "W"],
    `  let r = i / u(4u); let j = i % u(4u);
  O[u(0u) + i] += W[u(2u) + u32(I[u(1u) + r]) * u(4u) + j];`,
    ["I"],
  ),
  // One invocation per column, walking the rows in order: dwoff, ioff, dooff, n, h.
  gatherRowsBackward: elementwise(
    ["DW", "I", "DO"],
    `  for (var r = 0u; r < u(3u); r++) {
    DW[u(0u) + u32(I[u(1u) + r]) * u(4u) + i] += DO[u(2u) + r * u(4u) + i];
  }`,
    ["I"],
  ),
  // 8 bits (Backend.packInt8): one invocation per column; doff, boff, k, n. The integers go
  // where the weight's elements were, the n scales after them.
  int8Pack: elementwise(
    ["D", "B"],
    `  let k = u(2u); let n = u(3u);
  var mx = 0.0;
  for (var p = 0u; p < k; p++) { mx = max(mx, abs(B[u(1u) + p * n + i])); }
  let s = mx / 127.0;
  D[u(0u) + k * n + i] = s;
  for (var p = 0u; p < k; p++) {
    D[u(0u) + p * n + i] = select(0.0, clamp(round(B[u(1u) + p * n + i] / s), -127.0, 127.0), s > 0.0);
  }`,
  ),
  // Each row of a in 7 bits, one invocation per row: aoff, k, m. Q holds the rows' integers
  // [m,k], then their m scales.
  int8Rows: elementwise(
    ["Q", "A"],
    `  let k = u(1u); let m = u(2u);
  var mx = 0.0;
  for (var p = 0u; p < k; p++) { mx = max(mx, abs(A[u(0u) + i * k + p])); }
  let s = mx / 63.0;
  Q[m * k + i] = s;
  for (var p = 0u; p < k; p++) {
    Q[i * k + p] = select(0.0, clamp(round(A[u(0u) + i * k + p] / s), -63.0, 63.0), s > 0.0);
  }`,
  ),
  // c += the 8-bit product, summed in integers: one invocation per element; coff, boff, m, k, n.
  int8Product: elementwise(
    ["C", "Q", "B"],
    `  let m = u(2u); let k = u(3u); let n = u(4u);
  let r = i / n; let j = i % n;
  var sum = 0i;
  for (var p = 0u; p < k; p++) { sum += i32(Q[r * k + p]) * i32(B[u(1u) + p * n + j]); }
  C[u(0u) + i] += f32(sum) * (Q[m * k + r] * B[u(1u) + k * n + j]);`,
  ),
  // One invocation per row: ooff, xoff, m, n.
  argmaxRows: elementwise(
    ["O", "X"],
    `  // A NaN never counts, unless it comes first: then the answer is 0 (as the CPU's scan). NaN is
  // read from the bits: comparisons with it are not defined alike everywhere.
  let x0 = u(1u) + i * u(3u);
  if (u(3u) == 0u || isNan(X[x0])) { O[u(0u) + i] = 0; return; }
  var best = X[x0]; var at = 0u;
  for (var j = 1u; j < u(3u); j++) {
    let x = X[x0 + j];
    if (!isNan(x) && x > best) { best = x; at = j; }
  }
  O[u(0u) + i] = i32(at);`,
    ["O"],
  ),
  // yoff, xoff, moff, n
  dropoutForward: elementwise(["Y", "X", "M"], "  Y[u(0u) + i] = X[u(1u) + i] * M[u(2u) + i];"),
  // dxoff, moff, dyoff, n
  dropoutBackward: elementwise(
    ["DX", "M", "DY"],
    "  DX[u(0u) + i] += DY[u(2u) + i] * M[u(1u) + i];",
  ),
  // dloff, poff, toff, m, v, scale
  softmaxXentBackward: elementwise(
    ["DL", "PR", "T"],
    `  let r = i / u(4u); let j = i % u(4u);
  DL[u(0u) + i] = fp(5u) * (PR[u(1u) + i] - select(0.0, 1.0, u32(T[u(2u) + r]) == j));`,
    ["T"],
  ),

  // One workgroup of 64 per row (rows laid out in two dimensions): poff, zoff, toff, m, v,
  // lossoff. Writes the row's loss to L[lossoff + row].
  softmaxXentRows: {
    code: `${PRELUDE}${bindings(["PR", "Z", "T", "L"], ["T"])}
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u(3u)) { return; }
  let v = u(4u); let z0 = u(1u) + row * v; let p0 = u(0u) + row * v;
  let tz = Z[z0 + u32(T[u(2u) + row])];
  var mx = bitcast<f32>(0xff7fffffu); // -FLT_MAX
  for (var j = lid; j < v; j += 64u) { mx = max(mx, Z[z0 + j]); }
  red[lid] = mx;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid; j < v; j += 64u) { sum += exp(Z[z0 + j] - mx); }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  sum = red[0];
  for (var j = lid; j < v; j += 64u) { PR[p0 + j] = exp(Z[z0 + j] - mx) / sum; }
  if (lid == 0u) { L[u(5u) + row] = log(sum) + mx - tz; }
}`,
    names: ["PR", "Z", "T", "L"],
    ints: ["T"],
  },
  // One workgroup: S[slot] += Σ X[xoff .. xoff + n). xoff, n, slot
  sumInto: {
    code: `${PRELUDE}${bindings(["X", "S"])}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < u(1u); i += 256u) { s += X[u(0u) + i]; }
  red[lid] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u) { S[u(2u)] += red[0]; }
}`,
    names: ["X", "S"],
    ints: [],
  },

  // Clipping by global norm, in three passes. 1: each of 256 workgroups sums the squares of a
  // stride of the gradients into Part[wid]: goff, n.
  sumSquares: {
    code: `${PRELUDE}${bindings(["G", "Part"])}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = wid.x * 256u + lid; i < u(1u); i += 65536u) { let g = G[u(0u) + i]; s += g * g; }
  red[lid] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u) { Part[wid.x] = red[0]; }
}`,
    names: ["G", "Part"],
    ints: [],
  },
  // 2: one workgroup: the norm into the statistics, divergence, and the factor into Part[256]:
  // soff, theta.
  clipFactor: {
    code: `${PRELUDE}${bindings(["Part", "S"])}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  red[lid] = Part[lid];
  workgroupBarrier();
  for (var w = 128u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  if (lid != 0u) { return; }
  let s = u(0u);
  var factor = 1.0;
  if (S[s + 2u] == 0.0) {
    let norm = sqrt(red[0]);
    S[s + 1u] = norm;
    if (!finite(norm) || !finite(S[s])) {
      S[s + 2u] = 1.0;
    } else if (fp(1u) > 0.0 && norm > fp(1u)) {
      factor = fp(1u) / norm;
    }
  }
  Part[256] = factor;
}`,
    names: ["Part", "S"],
    ints: [],
  },
  // 3: goff, n
  scaleBy: elementwise(["G", "Part"], "  G[u(0u) + i] *= Part[256];"),

  // p -= lr g unless diverged: poff, goff, n, lr, soff, hasStats
  sgdUpdate: elementwise(
    ["PA", "G", "S"],
    `  if (u(5u) != 0u && S[u(4u) + 2u] != 0.0) { return; }
  PA[u(0u) + i] -= fp(3u) * G[u(1u) + i];`,
  ),
  // poff, goff, moff, voff, n, lr/bc1 parts: lr, beta1, beta2, eps, bc1, bc2, soff, hasStats
  adamUpdate: elementwise(
    ["PA", "G", "M", "V", "S"],
    `  if (u(12u) != 0u && S[u(11u) + 2u] != 0.0) { return; }
  let g = G[u(1u) + i];
  let m = fp(6u) * M[u(2u) + i] + (1.0 - fp(6u)) * g;
  let v = fp(7u) * V[u(3u) + i] + (1.0 - fp(7u)) * g * g;
  M[u(2u) + i] = m;
  V[u(3u) + i] = v;
  PA[u(0u) + i] -= (fp(5u) * (m / fp(9u))) / (sqrt(v / fp(10u)) + fp(8u));`,
  ),
  // One invocation: counts an update unless diverged: soff
  countUpdate: elementwise(["S"], `  if (S[u(0u) + 2u] == 0.0) { S[u(0u) + 3u] += 1.0; }`),

  // The vanilla RNN's step s: S[s+1] = act(Z[s] + S[s] W): soff, zoff, woff, s, b, h, act
  //.
  rnnStep: elementwise(
    ["S", "Z", "W"],
    `  let h = u(5u); let r = i / h; let j = i % h; let s = u(3u); let blk = u(4u) * h;
  var a = Z[u(1u) + s * blk + i];
  let x0 = u(0u) + s * blk + r * h;
  for (var p = 0u; p < h; p++) { a += S[x0 + p] * W[u(2u) + p * h + j]; }
  var y = max(a, 0.0);
  if (u(6u) == 0u) { y = tanhs(a); }
  S[u(0u) + (s + 1u) * blk + i] = y;`,
  ),
  // Its backward step: DZ[s] += act'(S[s+1]) DS[s+1]: dzoff, dsoff, soff, s, b, h, act
  rnnBackStep: elementwise(
    ["DZ", "DS", "S"],
    `  let blk = u(4u) * u(5u); let s = u(3u);
  let y = S[u(2u) + (s + 1u) * blk + i]; let dy = DS[u(1u) + (s + 1u) * blk + i];
  var d = select(0.0, dy, y > 0.0);
  if (u(6u) == 0u) { d = (1.0 - y * y) * dy; }
  DZ[u(0u) + s * blk + i] += d;`,
  ),

  // GRU step s after the hidden product P [b, 3h] (PyTorch's variant: with bhn in its n block).
  // soff, goff, hnoff, zoff, poff, s, b, h, variant (0 book: r, z only; 1 pytorch: everything)
  //.
  gruStep: elementwise(
    ["S", "GS", "HN", "Z", "PP"],
    `  let h = u(7u); let g = 3u * h; let r = i / h; let j = i % h; let s = u(5u);
  let row = s * u(6u) + r;
  let hp = u(0u) + row * h + j; let go = u(1u) + row * g; let zo = u(3u) + row * g;
  let po = u(4u) + r * g;
  let rg = sigm(Z[zo + j] + PP[po + j]);
  let zg = sigm(Z[zo + h + j] + PP[po + h + j]);
  GS[go + j] = rg;
  GS[go + h + j] = zg;
  if (u(8u) == 0u) {
    HN[u(2u) + row * h + j] = rg * S[hp];
    return;
  }
  let q = PP[po + 2u * h + j];
  HN[u(2u) + row * h + j] = q;
  let n = tanhs(Z[zo + 2u * h + j] + rg * q);
  GS[go + 2u * h + j] = n;
  S[hp + u(6u) * h] = zg * S[hp] + (1.0 - zg) * n;`,
  ),
  // The book's GRU, after the candidate's product (r⊙H) W_hn in P's n block: the same sizes.
  gruBookCandidate: elementwise(
    ["S", "GS", "Z", "PP"],
    `  let h = u(7u); let g = 3u * h; let r = i / h; let j = i % h; let s = u(5u);
  let row = s * u(6u) + r;
  let hp = u(0u) + row * h + j; let go = u(1u) + row * g; let zo = u(3u) + row * g;
  let n = tanhs(Z[zo + 2u * h + j] + PP[u(4u) + r * g + 2u * h + j]);
  let zg = GS[go + h + j];
  GS[go + 2u * h + j] = n;
  S[hp + u(6u) * h] = zg * S[hp] + (1.0 - zg) * n;`,
  ),
  // GRU backward step s: dzoff, dghoff, dsoff, soff, goff, hnoff, s, b, h, variant
  //. Writes DZ[s] (every block for PyTorch's variant, z and n for the book's) and
  // DGH[s] (PyTorch's: the gradient of the hidden product, [dr | dz | dq]).
  gruBackStep: elementwise(
    ["DZ", "DGH", "DS", "S", "GS", "HN"],
    `  let h = u(8u); let g = 3u * h; let r = i / h; let j = i % h; let s = u(6u);
  let row = s * u(7u) + r;
  let hp = row * h + j; let hx = hp + u(7u) * h; let go = row * g;
  let dy = DS[u(2u) + hx]; let z = GS[u(4u) + go + h + j]; let n = GS[u(4u) + go + 2u * h + j];
  let dpz = dy * (S[u(3u) + hp] - n) * z * (1.0 - z);
  let dpn = dy * (1.0 - z) * (1.0 - n * n);
  DS[u(2u) + hp] += dy * z;
  DZ[u(0u) + go + h + j] += dpz;
  DZ[u(0u) + go + 2u * h + j] += dpn;
  if (u(9u) == 0u) { return; }
  let rg = GS[u(4u) + go + j];
  let dpr = dpn * HN[u(5u) + hp] * rg * (1.0 - rg);
  DZ[u(0u) + go + j] += dpr;
  DGH[u(1u) + go + j] = dpr;
  DGH[u(1u) + go + h + j] = dpz;
  DGH[u(1u) + go + 2u * h + j] = dpn * rg;`,
  ),
  // The book's GRU, the reset gate's part after Q = dn̂ · W_hnᵀ [b, h]: dzoff, dsoff, soff, goff,
  // qoff, s, b, h.
  gruBookBackReset: elementwise(
    ["DZ", "DS", "S", "GS", "Q"],
    `  let h = u(7u); let g = 3u * h; let r = i / h; let p = i % h; let s = u(5u);
  let row = s * u(6u) + r;
  let q = Q[u(4u) + r * h + p]; let rg = GS[u(3u) + row * g + p];
  DZ[u(0u) + row * g + p] += q * S[u(2u) + row * h + p] * rg * (1.0 - rg);
  DS[u(1u) + row * h + p] += q * rg;`,
  ),

  // LSTM step s after the hidden product P [b, 4h]: soff, coff, goff, zoff, poff, s, b, h
  //.
  lstmStep: elementwise(
    ["S", "C", "GS", "Z", "PP"],
    `  let h = u(7u); let g = 4u * h; let r = i / h; let j = i % h; let s = u(5u);
  let row = s * u(6u) + r;
  let zo = u(3u) + row * g; let po = u(4u) + r * g; let go = u(2u) + row * g;
  let ig = sigm(Z[zo + j] + PP[po + j]);
  let fg = sigm(Z[zo + h + j] + PP[po + h + j]);
  let gg = tanhs(Z[zo + 2u * h + j] + PP[po + 2u * h + j]);
  let og = sigm(Z[zo + 3u * h + j] + PP[po + 3u * h + j]);
  GS[go + j] = ig; GS[go + h + j] = fg; GS[go + 2u * h + j] = gg; GS[go + 3u * h + j] = og;
  let hp = row * h + j; let hx = hp + u(6u) * h;
  let c = fg * C[u(1u) + hp] + ig * gg;
  C[u(1u) + hx] = c;
  S[u(0u) + hx] = og * tanhs(c);`,
  ),
  // LSTM backward step s: dzoff, dsoff, dcoff, coff, goff, s, b, h.
  lstmBackStep: elementwise(
    ["DZ", "DS", "DC", "C", "GS"],
    `  let h = u(7u); let g = 4u * h; let r = i / h; let j = i % h; let s = u(5u);
  let row = s * u(6u) + r;
  let go = u(4u) + row * g; let hp = row * h + j; let hx = hp + u(6u) * h;
  let ig = GS[go + j]; let fg = GS[go + h + j]; let gg = GS[go + 2u * h + j];
  let og = GS[go + 3u * h + j];
  let dy = DS[u(1u) + hx]; let tc = tanhs(C[u(3u) + hx]);
  let dc = DC[u(2u) + hx] + dy * og * (1.0 - tc * tc);
  DC[u(2u) + hx] = dc;
  DC[u(2u) + hp] += dc * fg;
  let dz = u(0u) + row * g;
  DZ[dz + j] += dc * gg * ig * (1.0 - ig);
  DZ[dz + h + j] += dc * C[u(3u) + hp] * fg * (1.0 - fg);
  DZ[dz + 2u * h + j] += dc * ig * (1.0 - gg * gg);
  DZ[dz + 3u * h + j] += dy * tc * og * (1.0 - og);`,
  ),
} as const satisfies Record<string, ShaderSpec>;

/** A shader's name. */
export type ShaderName = keyof typeof SHADERS;

/**
 * A shader's source with arguments that share one buffer bound once: WebGPU forbids binding a
 * buffer twice where one binding is writable (Chromium checks; Deno's wgpu does not), and two
 * arguments of a kernel may be views of one buffer (`y` aliasing `x`, weights and their bias).
 *
 * @param spec The shader.
 * @param first For each argument, the index of the first argument bound to the same buffer.
 * @returns The source, its bindings renumbered and the later names read as the first's.
 */
export function mergedBindings(spec: ShaderSpec, first: readonly number[]): string {
  const declared = bindings(spec.names, spec.ints);
  const kept = spec.names.filter((_, i) => first[i] === i);
  if (!spec.code.includes(declared)) throw new Error("a shader's bindings are not where expected");
  let code = spec.code.replace(declared, bindings(kept, spec.ints));
  spec.names.forEach((name, i) => {
    if (first[i] !== i) code = code.replace(new RegExp(`\\b${name}\\b`, "g"), spec.names[first[i]]);
  });
  return code;
}
