import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsFile,
  type Tensor,
} from "./safetensors.ts";

/** Builds a file by hand: the 8-byte length, the header text, then `data` (or that many zeros). */
function build(header: string | object, data: Uint8Array | number = 0): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** An F32 header entry. */
function f32(shape: number[], begin: number, end: number): object {
  return { dtype: "F32", shape, data_offsets: [begin, end] };
}

/** The bit patterns of a Float32Array, for bit-exact comparison (NaN payloads, -0). */
function bits(data: Float32Array | Int8Array): number[] {
  if (data instanceof Int8Array) return Array.from(data);
  return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));
}

/** A tensor in comparable form. */
function plain(t: Tensor): { name: string; shape: number[]; bits: number[] } {
  return { name: t.name, shape: t.shape, bits: bits(t.data) };
}

Deno.test("encodeSafetensors() writes the documented byte layout for a small example", () => {
  const bytes = encodeSafetensors({
    tensors: [
      { name: "W", shape: [2], data: new Float32Array([1, -2]) },
      { name: "s", shape: [], data: new Float32Array([0.5]) },
    ],
    metadata: { format: "pt" },
  });
  const json = '{"__metadata__":{"format":"pt"},' +
    '"W":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"s":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
  assert.equal(json.length, 138);
  // 138 bytes of JSON padded with 6 spaces to 144, so the data starts at 8 + 144 = 152 = 19 * 8.
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [144, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(new TextDecoder().decode(bytes.subarray(8, 152)), json + "      ");
  // 1, -2, 0.5 as little-endian float32: 0x3f800000, 0xc0000000, 0x3f000000.
  assert.deepEqual(
    Array.from(bytes.subarray(152)),
    [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f],
  );
  assert.equal(bytes.length, 164);
});

Deno.test("encodeSafetensors() omits __metadata__ when the metadata is empty", () => {
  const bytes = encodeSafetensors({ tensors: [], metadata: {} });
  assert.deepEqual(Array.from(bytes), [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual(decodeSafetensors(bytes), { tensors: [], metadata: {} });
});

/** Float32 bit patterns: anything, with the special values drawn often. */
const f32Bits = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(
    0x7fc00000, // quiet NaN
    0x7f800001, // signalling NaN
    0xffc12345, // negative NaN with a payload
    0x7f800000, // Infinity
    0xff800000, // -Infinity
    0x80000000, // -0
    0x00000001, // smallest subnormal
  ),
);

/** A tensor with a small random shape (0-size dims and scalars included) and random bits. */
const tensorArb = fc
  .record({
    name: fc.string({ unit: "binary", maxLength: 6 }).filter((n) => n !== "__metadata__"),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  })
  .chain(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.array(f32Bits, { minLength: n, maxLength: n }).map((b): Tensor => ({
      name,
      shape,
      data: new Float32Array(new Uint32Array(b).buffer),
    }));
  });

const fileArb: fc.Arbitrary<SafetensorsFile> = fc.record({
  tensors: fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 6 }),
  metadata: fc.dictionary(
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.string({ unit: "binary", maxLength: 8 }),
    { noNullPrototype: true, maxKeys: 4 },
  ),
});

/** The order decodeSafetensors() promises: by offsets, empty tensors at one offset by name. */
function dataOrder(tensors: Tensor[]): Tensor[] {
  let offset = 0;
  const placed = tensors.map((t) => {
    const begin = offset;
    offset += t.data.byteLength;
    return { t, begin, end: offset };
  });
  placed.sort((a, b) =>
    a.begin - b.begin || a.end - b.end ||
    (a.t.name < b.t.name ? -1 : a.t.name > b.t.name ? 1 : 0)
  );
  return placed.map((p) => p.t);
}

Deno.test("decodeSafetensors(encodeSafetensors(f)) returns f bit-exactly, in data order", () => {
  fc.assert(
    fc.property(fileArb, (file) => {
      const bytes = encodeSafetensors(file);
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.equal((8 + headerLength) % 8, 0);
      const decoded = decodeSafetensors(bytes);
      assert.deepEqual(decoded.tensors.map(plain), dataOrder(file.tensors).map(plain));
      assert.deepEqual(decoded.metadata, file.metadata);
      for (const t of decoded.tensors) {
        assert.ok(t.data instanceof Float32Array);
        assert.equal(t.data.buffer.byteLength, t.data.byteLength); // a fresh buffer of its own
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeSafetensors() keeps the written order of non-empty tensors, integer-like names too", () => {
  const names = ["b", "10", "2", "a"];
  const bytes = encodeSafetensors({
    tensors: names.map((name, i) => ({ name, shape: [1], data: new Float32Array([i]) })),
    metadata: {},
  });
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.map((t) => t.name), names);
  assert.deepEqual(tensors.map((t) => t.data[0]), [0, 1, 2, 3]);
});

Deno.test("decodeSafetensors() orders tensors by data offset, not by header order", () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const bytes = build(
    { z: f32([], 0, 4), a: f32([2], 4, 12), __metadata__: { k: "v" }, e: f32([0, 3], 12, 12) },
    data,
  );
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.map((t) => [t.name, t.shape, Array.from(t.data)]), [
    ["z", [], [1]],
    ["a", [2], [2, 3]],
    ["e", [0, 3], []],
  ]);
  assert.deepEqual(metadata, { k: "v" });
});

Deno.test("decodeSafetensors() accepts a header not padded to 8 bytes and copies unaligned data", () => {
  // A 57-byte header (3 trailing spaces) puts the data section at byte 65, not a multiple of 4.
  const header = JSON.stringify({ x: f32([2], 0, 8) }) + "   ";
  const file = build(header, new Uint8Array(new Float32Array([-0, 7.5]).buffer));
  assert.equal(8 + new TextEncoder().encode(header).length, 65);
  const backing = new Uint8Array(file.length + 1);
  backing.set(file, 1);
  const input = backing.subarray(1); // the file itself at an odd byte offset
  const [x] = decodeSafetensors(input).tensors;
  assert.equal(x.data.byteOffset, 0);
  assert.notEqual(x.data.buffer, backing.buffer);
  assert.ok(Object.is(x.data[0], -0));
  assert.equal(x.data[1], 7.5);
  input.fill(0);
  assert.equal(x.data[1], 7.5); // a copy, not a view of the input
});

Deno.test("decodeSafetensors() returns a __proto__ metadata key as a plain key", () => {
  const bytes = build('{"__metadata__":{"__proto__":"x"}}');
  const { metadata } = decodeSafetensors(bytes);
  assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
  assert.deepEqual(Object.entries(metadata), [["__proto__", "x"]]);
});

Deno.test("encodeSafetensors() throws TypeError for inconsistent or invalid input", () => {
  const ok = (name: string, shape: number[], n: number): Tensor => ({
    name,
    shape,
    data: new Float32Array(n),
  });
  const cases: [string, SafetensorsFile, RegExp][] = [
    [
      "data length is not the shape's product",
      { tensors: [ok("w", [2, 2], 3)], metadata: {} },
      /tensor "w": data has 3 elements but shape \[2,2\] needs 4/,
    ],
    [
      "a name repeats",
      { tensors: [ok("w", [1], 1), ok("w", [1], 1)], metadata: {} },
      /tensor "w": the name is used twice/,
    ],
    [
      "a tensor is named __metadata__",
      { tensors: [ok("__metadata__", [1], 1)], metadata: {} },
      /"__metadata__" is reserved/,
    ],
    [
      "a metadata value is not a string",
      { tensors: [], metadata: { epoch: 3 } as unknown as Record<string, string> },
      /metadata value for key "epoch" must be a string, got number 3/,
    ],
    [
      "a shape has a negative dimension",
      { tensors: [ok("w", [-1], 0)], metadata: {} },
      /tensor "w": shape must be an array of non-negative integers/,
    ],
    [
      "a shape has a fractional dimension",
      { tensors: [ok("w", [1.5], 1)], metadata: {} },
      /tensor "w": shape must be an array of non-negative integers/,
    ],
    [
      "data is not a Float32Array",
      {
        tensors: [{ name: "w", shape: [1], data: new Float64Array(1) as unknown as Float32Array }],
        metadata: {},
      },
      /tensor "w": data must be a Float32Array/,
    ],
  ];
  for (const [what, file, message] of cases) {
    assert.throws(() => encodeSafetensors(file), (e) => {
      assert.ok(e instanceof TypeError, what);
      assert.match(e.message, message, what);
      return true;
    });
  }
});

/** Little-endian u64 header length followed by `rest`. */
function withLength(length: bigint, rest: number): Uint8Array {
  const out = new Uint8Array(8 + rest);
  new DataView(out.buffer).setBigUint64(0, length, true);
  return out;
}

const malformed: [string, Uint8Array, RegExp][] = [
  ["a file shorter than the header length field", new Uint8Array(5), /too short: 5 bytes/],
  [
    "a header length past the end of the file",
    withLength(100n, 10),
    /header length 100 runs past the end of the file \(10 bytes/,
  ],
  [
    "a header length of 2^64 - 1",
    withLength(0xffffffffffffffffn, 4),
    /header length 18446744073709551615 runs past the end/,
  ],
  [
    "a header that is not valid UTF-8",
    (() => {
      const b = build("{ }");
      b[9] = 0xff;
      return b;
    })(),
    /header is not valid UTF-8/,
  ],
  ["a header that is not valid JSON", build('{"a":'), /header is not valid JSON/],
  ["a header that is a JSON array", build("[1,2]"), /header is not a JSON object/],
  ["a header with leading whitespace", build(" {}"), /header is not a JSON object.*start with/],
  ["an empty header", build(""), /header is not a JSON object/],
  ["a tensor entry that is not an object", build({ a: 5 }), /tensor "a": entry must be an object/],
  [
    "a tensor entry missing dtype",
    build({ a: { shape: [1], data_offsets: [0, 4] } }, 4),
    /tensor "a": entry is missing "dtype"/,
  ],
  [
    "a tensor entry missing shape",
    build({ a: { dtype: "F32", data_offsets: [0, 4] } }, 4),
    /tensor "a": entry is missing "shape"/,
  ],
  [
    "a tensor entry missing data_offsets",
    build({ a: { dtype: "F32", shape: [1] } }, 4),
    /tensor "a": entry is missing "data_offsets"/,
  ],
  [
    "a dtype other than F32 and I8",
    build({ a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, 4),
    /tensor "a": dtype "F16" is not supported \(supported dtypes: F32, I8\)/,
  ],
  [
    "I8 offsets sized as F32",
    build({ a: { dtype: "I8", shape: [2], data_offsets: [0, 8] } }, 8),
    /tensor "a": data_offsets \[0, 8\] span 8 bytes, but shape \[2\] of I8 needs 2/,
  ],
  [
    "a negative dimension",
    build({ a: f32([-1], 0, 0) }),
    /tensor "a": shape must be an array of non-negative integers, got \[-1\]/,
  ],
  [
    "a fractional dimension",
    build({ a: f32([0.5], 0, 0) }),
    /tensor "a": shape must be an array of non-negative integers/,
  ],
  [
    "a shape that is not an array",
    build({ a: { dtype: "F32", shape: "2", data_offsets: [0, 8] } }, 8),
    /tensor "a": shape must be an array of non-negative integers, got "2"/,
  ],
  [
    "data_offsets with one number",
    build({ a: { dtype: "F32", shape: [], data_offsets: [4] } }, 4),
    /tensor "a": data_offsets must be two non-negative integers/,
  ],
  [
    "a negative data offset",
    build({ a: f32([1], -4, 0) }, 4),
    /tensor "a": data_offsets must be two non-negative integers/,
  ],
  [
    "data_offsets spanning fewer bytes than the shape needs",
    build({ a: f32([2], 0, 4) }, 4),
    /tensor "a": data_offsets \[0, 4\] span 4 bytes, but shape \[2\] of F32 needs 8/,
  ],
  [
    "data_offsets ending before they begin",
    build({ a: f32([1], 8, 4) }, 8),
    /tensor "a": data_offsets \[8, 4\] span -4 bytes/,
  ],
  [
    "data_offsets past the end of the data section",
    build({ a: f32([2], 0, 8) }, 4),
    /tensor "a": data_offsets \[0, 8\] are out of range: the data section has 4 bytes/,
  ],
  [
    "overlapping tensors",
    build({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12),
    /tensor "b" \(data_offsets \[4, 12\]\) overlaps tensor "a"/,
  ],
  [
    "an empty tensor inside another",
    build({ a: f32([2], 0, 8), e: f32([0], 4, 4) }, 8),
    /tensor "e" .* overlaps tensor "a"/,
  ],
  [
    "a gap between tensors",
    build({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12),
    /gap in the data section: bytes \[4, 8\) belong to no tensor/,
  ],
  [
    "a gap before the first tensor",
    build({ a: f32([1], 4, 8) }, 8),
    /gap in the data section: bytes \[0, 4\)/,
  ],
  [
    "trailing bytes after the last tensor",
    build({ a: f32([1], 0, 4) }, 8),
    /trailing bytes: data section bytes \[4, 8\) belong to no tensor/,
  ],
  [
    "data bytes with no tensors at all",
    build({}, 4),
    /trailing bytes: data section bytes \[0, 4\)/,
  ],
  [
    "__metadata__ that is not an object",
    build({ __metadata__: "v1" }),
    /__metadata__ must be an object of strings, got "v1"/,
  ],
  [
    "a metadata value that is not a string",
    build({ __metadata__: { epoch: 3 } }),
    /__metadata__ value for key "epoch" must be a string, got number 3/,
  ],
];

for (const [what, bytes, message] of malformed) {
  Deno.test(`decodeSafetensors() rejects ${what} with a SyntaxError saying so`, () => {
    assert.throws(() => decodeSafetensors(bytes), (e) => {
      assert.ok(e instanceof SyntaxError, `expected SyntaxError, got ${e}`);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("I8 tensors round-trip beside F32 ones, byte for byte, with I8 in the header", () => {
  const q = Int8Array.from([-127, -1, 0, 1, 127, 5, -5]);
  const file = {
    tensors: [
      { name: "W", shape: [7], data: q },
      { name: "W.scale", shape: [1], data: new Float32Array([0.25]) },
      { name: "odd", shape: [3], data: Int8Array.from([1, 2, 3]) },
    ],
    metadata: {},
  };
  const bytes = encodeSafetensors(file);
  const header = new TextDecoder().decode(
    bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))),
  );
  assert.match(header, /"W":\{"dtype":"I8","shape":\[7\],"data_offsets":\[0,7\]\}/);
  assert.match(header, /"W.scale":\{"dtype":"F32","shape":\[1\],"data_offsets":\[7,11\]\}/);
  const back = decodeSafetensors(bytes);
  assert.ok(back.tensors[0].data instanceof Int8Array);
  assert.deepEqual(back.tensors.map(plain), file.tensors.map(plain));
  assert.deepEqual(encodeSafetensors(back), bytes);
});
