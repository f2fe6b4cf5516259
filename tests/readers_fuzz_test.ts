/**
 * The three readers of model files, fed random and mutated bytes: `decodeSafetensors`,
 * `decodeCheckpoint` and `importPyTorch` each either return a valid result or throw their
 * documented error (`SyntaxError` from safetensors, `CheckpointError` from the other two), never
 * another exception, within a time budget, without touching their input, and without asking for
 * an array larger than the file could fill (a declared size is not a size).
 *
 * Allocation is watched directly: while a reader runs, the typed-array and ArrayBuffer
 * constructors are wrapped so that any request above a few times the file's length is refused and
 * recorded (a library `catch` that turns it into a typed error still fails the check). Resident
 * memory is watched too, more coarsely.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createReferenceBackend } from "../src/backend/reference.ts";
import {
  resolveModelConfig,
  resolveTextConfig,
  resolveTrainConfig,
  settingNames,
} from "../src/config/settings.ts";
import { CheckpointError } from "../src/errors.ts";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "../src/io/checkpoint.ts";
import { exportPyTorch, importPyTorch, type PyTorchImport } from "../src/io/pytorch.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsFile,
} from "../src/io/safetensors.ts";
import { createModel } from "../src/model/model.ts";
import { GATES } from "../src/model/params.ts";
import { Rng } from "../src/rng.ts";
import { Vocab } from "../src/text/vocab.ts";

/** The type of the values an arbitrary draws. */
type Drawn<A> = A extends fc.Arbitrary<infer T> ? T : never;

/** Each read must finish within this (a reader that loops on a declared size would not). */
const TIME_BUDGET_MS = 1000;
/**
 * Resident memory may grow by at most this much during one read: a coarse guard only, since the
 * test modules of a parallel run share one process and its resident set (48 MiB was exceeded by
 * the neighbours' work). The allocation watch below is the exact check.
 */
const RSS_BUDGET = 512 * 2 ** 20;
/** The largest single array a read may ask for: a few times the file (the model's float64 copy). */
const allocationLimit = (fileLength: number): number => 4 * fileLength + 2 ** 16;

// ---------------------------------------------------------------------------------------------
// Watching allocations

/** The constructors a reader allocates its buffers with. */
const ALLOCATORS = (
  "ArrayBuffer Uint8Array Uint16Array Int32Array Uint32Array Float32Array Float64Array"
).split(" ");

/** A request refused by {@linkcode withAllocationLimit}. */
class OversizeAllocation extends Error {
  override name = "OversizeAllocation";
}

/** The limit in force (none outside {@linkcode withAllocationLimit}) and the largest request. */
const watch = { limit: Infinity, bytes: 0, what: "" };

// Each constructor is wrapped once, for the whole file: swapping globals back and forth would
// make V8 throw away the optimised code of everything that uses them.
for (const name of ALLOCATORS) {
  const global = globalThis as unknown as Record<string, unknown>;
  const ctor = global[name] as (new (...args: unknown[]) => object) & {
    BYTES_PER_ELEMENT?: number;
  };
  const width = ctor.BYTES_PER_ELEMENT ?? 1;
  global[name] = new Proxy(ctor, {
    construct(target, args, newTarget) {
      const first = args[0] as { length?: unknown } | number | undefined;
      // A number is a length; an array or typed array is copied; a buffer is only viewed.
      const count = typeof first === "number"
        ? first
        : typeof first?.length === "number"
        ? first.length
        : 0;
      const bytes = count * width;
      if (bytes > watch.bytes) Object.assign(watch, { bytes, what: `new ${name}(${count})` });
      if (bytes > watch.limit) {
        throw new OversizeAllocation(`${name}(${count}) asks for ${bytes} bytes`);
      }
      return Reflect.construct(target, args, newTarget);
    },
  });
}

/**
 * Runs `f` with every typed array or ArrayBuffer larger than `limit` bytes refused (by throwing
 * {@linkcode OversizeAllocation}); returns what `f` returned or threw, and the largest request
 * when it was over the limit (a library `catch` may have turned the refusal into another error).
 */
function withAllocationLimit<T>(
  limit: number,
  f: () => T,
): { value?: T; error?: unknown; threw: boolean; largest: string | undefined } {
  Object.assign(watch, { limit, bytes: 0, what: "" });
  const over = () =>
    watch.bytes > limit
      ? `${watch.what}: ${watch.bytes} bytes, over the ${limit} allowed`
      : undefined;
  try {
    const value = f();
    return { value, threw: false, largest: over() };
  } catch (error) {
    return { error, threw: true, largest: over() };
  } finally {
    watch.limit = Infinity;
  }
}

// ---------------------------------------------------------------------------------------------
// The readers and what a valid result is

const backend = createReferenceBackend();

/** A reader: how to call it, which errors it may throw, and what a result must satisfy. */
interface Reader {
  read(bytes: Uint8Array): unknown;
  refuses(error: unknown): boolean;
  check(result: unknown, bytes: Uint8Array): void;
}

/** The product of a shape's dimensions. */
const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A decoded safetensors file must be what its header says, and fill its data section. */
function checkSafetensors(result: unknown, bytes: Uint8Array): void {
  const file = result as SafetensorsFile;
  const { header, data } = parts(bytes)!;
  const entries = JSON.parse(new TextDecoder().decode(header));
  const { __metadata__: metadata = {}, ...tensors } = entries;
  assert.deepEqual(file.metadata, metadata);
  assert.equal(Object.getPrototypeOf(file.metadata), Object.prototype);
  assert.deepEqual(file.tensors.map((t) => t.name).sort(), Object.keys(tensors).sort());
  let total = 0;
  for (const t of file.tensors) {
    const { dtype, shape, data_offsets: [begin, end] } = tensors[t.name];
    assert.equal(dtype, "F32", `dtype of ${t.name}`);
    assert.deepEqual(t.shape, shape, `shape of ${t.name}`);
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `shape of ${t.name}`);
    assert.ok(t.data instanceof Float32Array, `data of ${t.name}`);
    assert.ok(t.data.length === product(t.shape), `elements of ${t.name}`); // -0 dims pass
    const got = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    assert.deepEqual(got, data.subarray(begin, end), `bytes of ${t.name}`);
    total += t.data.byteLength;
  }
  // No overlap, no gap, no trailing bytes: the tensors fill the data section exactly.
  assert.equal(total, data.length, "the tensors' bytes and the data section");
}

/** A decoded checkpoint must hold a model the settings table accepts, fitting its vocabulary. */
function checkCheckpoint(result: unknown): void {
  const { model, vocab, text, state } = result as Checkpoint;
  try {
    assert.deepEqual(resolveModelConfig(model.config), model.config);
    assert.equal(model.config.vocabSize, vocab.size);
    assert.ok(model.config.inputSize === 0); // -0 (JSON "-0") is as good
    assert.deepEqual(resolveTextConfig(text), text);
    if (state) {
      const counters = [state.epoch, state.optimizer?.step ?? 0, state.position?.step ?? 0];
      assert.ok(counters.every(Number.isSafeInteger), `state counters ${counters}`);
      assert.equal(state.rngState.length, 4);
      if (state.optimizer) {
        assert.equal(state.optimizer.m.length, model.numParams);
        assert.equal(state.optimizer.v.length, model.numParams);
      }
      for (const carried of [state.position?.hidden ?? [], state.position?.cells ?? []]) {
        for (const h of carried) assert.equal(h.length % model.config.hidden, 0);
      }
    }
  } finally {
    model.dispose();
  }
}

/** An imported state dict must give a model the settings table accepts, fitting its vocabulary. */
function checkPyTorch(result: unknown): void {
  const { model, vocab, text } = result as PyTorchImport;
  try {
    assert.deepEqual(resolveModelConfig(model.config), model.config);
    assert.equal(model.config.vocabSize, vocab.size);
    assert.deepEqual(resolveTextConfig(text), text);
  } finally {
    model.dispose();
  }
}

const READERS: Readonly<Record<string, Reader>> = {
  decodeSafetensors: {
    read: (bytes) => decodeSafetensors(bytes),
    // Its own SyntaxError (the message says what is wrong), not one escaping from JSON.parse.
    refuses: (e) => e instanceof SyntaxError && e.message.startsWith("safetensors: "),
    check: checkSafetensors,
  },
  decodeCheckpoint: {
    read: (bytes) => decodeCheckpoint(bytes, { backend }),
    refuses: (e) => e instanceof CheckpointError,
    check: checkCheckpoint,
  },
  importPyTorch: {
    read: (bytes) => importPyTorch(bytes, { backend }),
    refuses: (e) => e instanceof CheckpointError,
    check: checkPyTorch,
  },
};

/** An error in one line, with the first frame in the library: what was thrown and where. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `a non-Error ${String(e)}`;
  const at = e.stack?.split("\n").find((line) => line.includes("/src/"))?.trim() ?? "";
  return `${e.name}: ${e.message.slice(0, 200)} ${at}`;
}

/**
 * Runs every reader on `bytes` (placed `shift` bytes into a larger buffer, so that a reader
 * ignoring `byteOffset` shows) and checks the property. Returns how each reader ended.
 */
function checkReaders(bytes: Uint8Array, shift = 0): Record<string, string> {
  const padded = new Uint8Array(shift + bytes.length + 3).fill(0xa5);
  padded.set(bytes, shift);
  const input = padded.subarray(shift, shift + bytes.length);
  const limit = allocationLimit(bytes.length);
  const outcomes: Record<string, string> = {};
  for (const [name, reader] of Object.entries(READERS)) {
    const rss = Deno.memoryUsage().rss;
    const start = performance.now();
    const run = withAllocationLimit(limit, () => reader.read(input));
    const ms = performance.now() - start;
    const grown = Deno.memoryUsage().rss - rss;
    // The messages are built only on failure: an error's stack is slow to format.
    const what = () => run.threw ? describeError(run.error) : "a result";
    if (run.largest !== undefined) assert.fail(`${name} allocated ${run.largest} (${what()})`);
    if (ms >= TIME_BUDGET_MS) assert.fail(`${name} took ${ms.toFixed(0)} ms (${what()})`);
    if (grown >= RSS_BUDGET) assert.fail(`${name} grew the resident set by ${grown} B (${what()})`);
    if (!input.every((b, i) => b === bytes[i])) assert.fail(`${name} changed its input`);
    if (run.threw) {
      if (!reader.refuses(run.error)) assert.fail(`${name} threw ${what()}`);
      outcomes[name] = (run.error as Error).name;
    } else {
      reader.check(run.value, bytes);
      outcomes[name] = "ok";
    }
  }
  return outcomes;
}

// ---------------------------------------------------------------------------------------------
// Files: framing, and the valid files the mutations start from

const encoder = new TextEncoder();

/** A file from its header (text or bytes) and data section; `declared` defaults to the truth. */
function frame(header: string | Uint8Array, data: Uint8Array, declared?: bigint): Uint8Array {
  const json = typeof header === "string" ? encoder.encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The header bytes and data section of a file whose declared length fits, else undefined. */
function parts(bytes: Uint8Array): { header: Uint8Array; data: Uint8Array } | undefined {
  if (bytes.length < 8) return undefined;
  const declared = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) return undefined;
  const end = 8 + Number(declared);
  return { header: bytes.subarray(8, end), data: bytes.subarray(end) };
}

/** The header as a JSON object, when it is one. */
function headerObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  const p = parts(bytes);
  if (!p) return undefined;
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(p.header));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** JSON text written as is (numbers JavaScript cannot hold, such as 2^64 or 1e400). */
class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify, with {@linkcode Raw} values spliced in as their text. */
function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_, v) => {
    if (!(v instanceof Raw)) return v;
    raws.push(v.text);
    return `@@raw${raws.length - 1}@@`;
  });
  return text.replace(/"@@raw(\d+)@@"/g, (_, i) => raws[Number(i)]);
}

const vocab = new Vocab(["分", "开", " ", "不"]);
const text = resolveTextConfig({});

/**
 * Valid files of every kind the readers take: checkpoints (bare, with Adam, with a position
 * inside an epoch) and PyTorch state dicts of each cell.
 */
async function validFiles(): Promise<Record<string, Uint8Array>> {
  const model = (config: Parameters<typeof createModel>[0]) =>
    createModel({ vocabSize: 4, hidden: 2, ...config }, { seed: 3, backend });
  const rnn = model({ activation: "relu" });
  const gru = model({ cell: "gru", gruVariant: "pytorch", layers: 2 });
  const lstm = model({ cell: "lstm" });
  const moments = (n: number, seed: number) => {
    const rng = new Rng(seed);
    return Float32Array.from({ length: n }, () => Math.abs(rng.normal()) * 1e-3);
  };
  const train = {
    ...resolveTrainConfig({ optimizer: "adam", epochs: 3, batchSize: 1, numSteps: 2 }),
    corpus: "jaychou",
  };
  return {
    checkpoint: await encodeCheckpoint({ model: rnn, vocab, text }),
    adam: await encodeCheckpoint({
      model: gru,
      vocab,
      text,
      train,
      state: {
        epoch: 2,
        rngState: new Rng(5).state(),
        dropoutRngState: new Rng(6).state(),
        optimizer: { m: moments(gru.numParams, 1), v: moments(gru.numParams, 2), step: 17 },
      },
    }),
    position: await encodeCheckpoint({
      model: lstm,
      vocab,
      text,
      train: { ...train, optimizer: "sgd", lr: 1, sampling: "sequential" },
      state: {
        epoch: 1,
        rngState: new Rng(7).state(),
        position: {
          step: 1,
          epochRngState: new Rng(8).state(),
          lossSum: 2.5,
          hidden: [new Float32Array([0.5, -0.5])],
          cells: [new Float32Array([1, -1])],
        },
      },
    }),
    ptLstm: await exportPyTorch(lstm, vocab),
    ptGru: await exportPyTorch(gru, vocab, { text: { tokens: "word", normalize: "letters" } }),
    ptRnn: await exportPyTorch(model({ activation: "relu", layers: 2 }), vocab),
  };
}

const VALID = await validFiles();
const VALID_NAMES = Object.keys(VALID);

Deno.test("the valid files the mutations start from are read by their readers", () => {
  for (const [name, bytes] of Object.entries(VALID)) {
    const got = checkReaders(bytes);
    assert.equal(got.decodeSafetensors, "ok", name);
    assert.equal(got[name.startsWith("pt") ? "importPyTorch" : "decodeCheckpoint"], "ok", name);
  }
});

// ---------------------------------------------------------------------------------------------
// Values that readers get wrong

/** `arb` once in `n` draws, else null. */
function rarely<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/** Header lengths to declare: the edges of 32-bit, 53-bit and 64-bit integers. */
const HUGE_LENGTHS = [
  2n ** 31n,
  2n ** 32n,
  2n ** 32n + 8n,
  2n ** 40n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Numbers as JSON text, including ones a double cannot hold and ones JSON.parse makes Infinity. */
const NUMBER_TEXTS = (
  "0 1 4 -1 -0 0.5 4.0 1e2 2147483648 2147483652 4294967296 1099511627776 9007199254740991 " +
  "9007199254740992 9007199254740993 18446744073709551615 18446744073709551616 1e400"
).split(" ");
const numberText = fc.constantFrom(...NUMBER_TEXTS).map((t) => new Raw(t));

/** Any JSON value, small, and the kinds of wrong value that matter most. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  numberText,
  fc.constantFrom(null, true, "", "3", [], {}, [[[[[]]]]], { a: 1 }),
);

/** Dtypes: the one supported, safetensors' others, and nonsense. */
const dtype = fc.oneof(
  { weight: 8, arbitrary: fc.constant("F32") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("F16", "F64", "I32", "BF16", "U8", "I64", "BOOL", "F8_E5M2", "f32"),
  },
  { weight: 1, arbitrary: anyValue },
);

/** Shapes: small ones mostly, then ones whose product overflows or is not a size at all. */
const shape: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(numberText, { minLength: 1, maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [2 ** 26, 2 ** 26, 2 ** 26],
      [2 ** 53 - 1, 2],
      [2 ** 31],
      [2 ** 38],
      [0, 2 ** 53 - 1],
      [1.5],
      [-1, -1],
      [0.5, 2],
      ["2"],
      [null],
      Array(40).fill(2),
    ),
  },
  { weight: 1, arbitrary: anyValue },
);

/** data_offsets: pairs of awkward numbers, wrong lengths, wrong types. */
const offsets: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(numberText, numberText) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom([0], [0, 4, 8], ["0", "4"], [4, 0], [-4, 0], [0.5, 4.5], null, {}),
  },
);

// ---------------------------------------------------------------------------------------------
// Property 1: noise

const randomBytes = fc.uint8Array({ maxLength: 160 });

/** A declared length: the true one mostly, a near miss or a huge one otherwise. */
const declaredLength = fc.oneof(
  { weight: 8, arbitrary: fc.constant("exact" as const) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HUGE_LENGTHS) },
);

/** The true length adjusted as drawn. */
function declare(length: number, d: "exact" | number | bigint): bigint {
  if (d === "exact") return BigInt(length);
  if (typeof d === "bigint") return d;
  return BigInt(Math.max(0, length + d));
}

/** Headers of JSON-looking fragments (and a lone surrogate), so the parser gets further. */
const tokenSoup = fc
  .array(
    fc.constantFrom(
      ...'{ } [ ] , : " "F32" "dtype" "shape" "data_offsets" "__metadata__" "W_xh"'.split(" "),
      ..."0 4 -1 1e400 null \u00ff \ud800".split(" "),
      " ",
    ),
    { maxLength: 40 },
  )
  .map((t) => t.join(""));

Deno.test("readers return a valid result or their own error for random bytes and JSON-like noise", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        randomBytes,
        fc
          .record({ header: tokenSoup, data: randomBytes, declared: declaredLength })
          .map(({ header, data, declared }) =>
            frame(header, data, declare(encoder.encode(header).length, declared))
          ),
      ),
      fc.nat(7),
      (bytes, shift) => {
        checkReaders(bytes, shift);
      },
    ),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Property 2: headers written by hand

/** An entry of a hand-written header: a name, and a tensor (parts missing or wrong) or a value. */
const entry = fc.record({
  name: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("W_xh", "W_hh", "b_h", "a", "0", "10") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "__metadata__", "__proto__", "constructor", "adam.m.W_xh"),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
  ),
  dtype,
  shape,
  // Where its bytes go: "next", the free bytes after the others, as a writer places them;
  // "again", the previous tensor's bytes; "back", from 4 bytes before the free ones (these two
  // overlap, yet the tensors still cover the data section exactly); or drawn offsets.
  offsets: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("next" as const) },
    { weight: 2, arbitrary: fc.constantFrom("again" as const, "back" as const) },
    { weight: 2, arbitrary: offsets },
  ),
  omit: rarely(fc.constantFrom("dtype", "shape", "data_offsets"), 8),
  whole: rarely(anyValue, 12),
});

/** `__metadata__` values: strings (the valid form) or anything else. */
const metadataValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 6 })) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), anyValue, { minKeys: 1 }) },
  { weight: 1, arbitrary: anyValue },
);

const handHeader = fc.record({
  entries: fc.array(entry, { maxLength: 5 }),
  metadata: fc.option(fc.tuple(fc.nat(5), metadataValue), { freq: 2 }),
  padding: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("", "   ") },
    { weight: 1, arbitrary: fc.constantFrom("\u0000", " x", "\n\t") },
  ),
  data: fc.oneof(
    { weight: 4, arbitrary: fc.constant("auto" as const) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }) },
  ),
  // Bytes more or fewer than the tensors cover, with data "auto".
  extra: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -4, max: 4 }) },
  ),
  declared: declaredLength,
});

/** Writes a drawn header by hand, keeping duplicate names (JSON.stringify would merge them). */
function writeHeader(h: Drawn<typeof handHeader>): Uint8Array {
  let cursor = 0, previous = 0;
  const items = h.entries.map((e): [string, unknown] => {
    if (e.whole !== null) return [e.name, e.whole];
    // Small valid-looking shapes get their bytes; the others none (their product may be huge).
    const count = Array.isArray(e.shape) && e.shape.every((d) => typeof d === "number")
      ? product(e.shape as number[])
      : NaN;
    const size = count >= 0 && count <= 64 ? 4 * Math.floor(count) : 0;
    let at = e.offsets;
    if (e.offsets === "next" || e.offsets === "again" || e.offsets === "back") {
      const begin = e.offsets === "next"
        ? cursor
        : e.offsets === "again"
        ? previous
        : Math.max(0, cursor - 4);
      at = [begin, begin + size];
      cursor = Math.max(cursor, begin + size);
      previous = begin;
    }
    const value: Record<string, unknown> = { dtype: e.dtype, shape: e.shape, data_offsets: at };
    if (e.omit !== null) delete value[e.omit];
    return [e.name, value];
  });
  if (h.metadata !== null) {
    items.splice(h.metadata[0] % (items.length + 1), 0, ["__metadata__", h.metadata[1]]);
  }
  const json = `{${items.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
  const header = encoder.encode(json + h.padding);
  const data = h.data === "auto" ? new Uint8Array(Math.max(0, cursor + h.extra)) : h.data;
  return frame(header, data, declare(header.length, h.declared));
}

Deno.test("readers return a valid result or their own error for hand-written headers", () => {
  fc.assert(
    fc.property(handHeader, fc.nat(7), (h, shift) => {
      checkReaders(writeHeader(h), shift);
    }),
    { numRuns: 400 },
  );
});

/** Tensors placed in the data section, and listed in the header in another order. */
const layout = fc.record({
  tensors: fc.array(
    fc.record({
      // Now and then a shape of one element that is no shape: negative or fractional sizes.
      shape: fc.oneof(
        { weight: 12, arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }) },
        { weight: 1, arbitrary: fc.constantFrom([-1, -1], [0.5, 2], [-2, -0.5]) },
      ),
      // After the others (as a writer places them), on the previous one, 4 bytes back, 4 ahead,
      // or 4 bytes before the data section (a negative offset).
      place: fc.oneof(
        { weight: 4, arbitrary: fc.constant("next" as const) },
        {
          weight: 3,
          arbitrary: fc.constantFrom(
            "again" as const,
            "back" as const,
            "ahead" as const,
            "before" as const,
          ),
        },
      ),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  rotate: fc.nat(),
  reverse: fc.boolean(),
  extra: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(-4, 4) },
  ),
});

/**
 * Writes a drawn layout (varied bytes, so a misplaced read shows), and says whether its tensors
 * tile the data section: in offset order, each begins where the one before ends, and the last
 * ends at the end.
 */
function writeLayout(l: Drawn<typeof layout>): { bytes: Uint8Array; tiles: boolean } {
  let cursor = 0, previous = 0;
  const placed = l.tensors.map((t, i) => {
    const size = 4 * product(t.shape as number[]);
    const begin = t.place === "next"
      ? cursor
      : t.place === "again"
      ? previous
      : t.place === "back"
      ? Math.max(0, cursor - 4)
      : t.place === "ahead"
      ? cursor + 4
      : -4;
    cursor = Math.max(cursor, begin + size);
    previous = begin;
    return { name: `t${i}`, shape: t.shape as number[], begin, end: begin + size };
  });
  const length = Math.max(0, cursor + l.extra);
  let end = 0, tiles = true;
  for (const p of [...placed].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    tiles &&= p.begin === end;
    end = p.end;
  }
  tiles &&= end === length &&
    placed.every((p) => p.shape.every((d) => Number.isSafeInteger(d) && d >= 0));
  const k = l.rotate % placed.length;
  const listed = [...placed.slice(k), ...placed.slice(0, k)];
  if (l.reverse) listed.reverse();
  const header = Object.fromEntries(
    listed.map((p) => [p.name, { dtype: "F32", shape: p.shape, data_offsets: [p.begin, p.end] }]),
  );
  const data = Uint8Array.from({ length }, (_, i) => i * 7);
  return { bytes: frame(JSON.stringify(header), data), tiles };
}

Deno.test("decodeSafetensors() accepts a layout exactly when its tensors tile the data section", () => {
  fc.assert(
    fc.property(layout, fc.nat(7), (l, shift) => {
      const { bytes, tiles } = writeLayout(l);
      assert.equal(checkReaders(bytes, shift).decodeSafetensors === "ok", tiles);
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Property 3: valid files, mutated

/** The metadata keys the readers look at, and one they do not know. */
const META_KEYS = "format format_version model text vocab train state config producer bogus"
  .split(" ");

/** The metadata entries that hold JSON. */
const JSON_ENTRIES = ["model", "text", "vocab", "train", "state", "config"];

/** Strings to put in a metadata entry: versions, formats, broken JSON, JSON of the wrong kind. */
const metaString = fc.oneof(
  fc.constantFrom("1", "2", "3", "2.0", "", "{", "null", "[]", "{}", '"x"', "rnn-wasm", "pt"),
  fc.string({ maxLength: 8 }),
);

/** Keys inside the JSON entries: every setting, the state's fields, and strangers. */
const JSON_KEYS = [
  ...settingNames("model", "text", "train", "run"),
  ..."epoch rngState dropoutRngState adamStep position step epochRngState lossSum".split(" "),
  ..."bogus __proto__".split(" "),
];
/** A key to edit: one the object has (its index among them, mostly) or any of those above. */
const jsonKey = fc.oneof(
  { weight: 2, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constantFrom(...JSON_KEYS) },
);
/** The keys that live inside the state's `position`. */
const POSITION_KEYS = new Set(["step", "epochRngState", "lossSum"]);

/** Values a setting must not take, and some it may. */
const settingValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2, 64, 65, 65536, 65537, 1.5, 2 ** 32, 2 ** 53),
  fc.constantFrom(..."rnn gru lstm book pytorch relu word adam sequential".split(" "), ""),
  fc.constantFrom(true, null, [], {}, [1, 2, 3, 4], [0, 0, 0, 2 ** 32], ["a", "a"]),
  anyValue,
);

/** Byte sequences that are not UTF-8 (and a BOM and a NUL, which are). */
const badUtf8 = fc.constantFrom(
  [0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xef, 0xbb, 0xbf],
  [0x00],
);

/** One mutation of a file, as data (so that a failure prints a readable recipe). */
const mutation = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("truncate" as const),
      boundary: fc.nat(),
      delta: fc.integer({ min: -2, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("flip" as const),
      region: fc.constantFrom("length", "header", "data"),
      at: fc.nat(),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("declare" as const), length: declaredLength }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("splice" as const),
      at: fc.nat(),
      remove: fc.nat(4),
      insert: fc.oneof(fc.uint8Array({ maxLength: 4 }).map((a) => Array.from(a)), badUtf8),
      fix: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      bytes: fc.uint8Array({ maxLength: 9 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("tensor" as const),
      pick: fc.nat(),
      edit: fc.oneof(
        fc.record({ kind: fc.constant("dtype" as const), value: dtype }),
        fc.record({ kind: fc.constant("shape" as const), value: shape }),
        fc.record({ kind: fc.constant("data_offsets" as const), value: offsets }),
        fc.record({
          kind: fc.constant("drop" as const),
          field: fc.constantFrom("dtype", "shape", "data_offsets"),
        }),
        fc.record({ kind: fc.constant("entry" as const), value: anyValue }),
        fc.record({
          kind: fc.constant("rename" as const),
          name: fc.constantFrom("W_xh", "b_q", "adam.m.W_xh", "rnn.weight_ih_l1", "x", ""),
        }),
        fc.record({ kind: fc.constant("remove" as const) }),
        fc.record({ kind: fc.constant("duplicate" as const) }),
        fc.record({ kind: fc.constant("swap" as const), other: fc.nat() }),
        fc.record({
          kind: fc.constant("shift" as const),
          begin: fc.integer({ min: -8, max: 8 }),
          end: fc.integer({ min: -8, max: 8 }),
        }),
        fc.record({ kind: fc.constant("beyond" as const), end: numberText }),
      ),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("metadata" as const),
      key: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...JSON_ENTRIES) },
        { weight: 1, arbitrary: fc.constantFrom(...META_KEYS) },
      ),
      edit: fc.oneof(
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const) }) },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant("string" as const), value: metaString }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant("value" as const), value: anyValue }),
        },
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant("set" as const),
            key: jsonKey,
            value: settingValue,
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant("unset" as const),
            key: jsonKey,
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant("item" as const),
            index: fc.nat(),
            value: settingValue,
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant("tokens" as const),
            // Thousands of tokens only once importPyTorch checks tensors before allocating.
            count: fc.oneof(
              fc.integer({ min: 0, max: 9 }),
              fc.constantFrom(300, 3000),
            ),
          }),
        },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("whole-metadata" as const), value: anyValue }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("add" as const),
      name: fc.constantFrom(
        "state.hidden.l0",
        "state.hidden.l1",
        "state.cells.l0",
        "adam.m.W_xh",
        "adam.v.b_q",
        "W_xh_l1",
        "rnn.weight_ih_l1",
        "rnn.weight_ih_l2",
        "dense.weight",
      ),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
  },
);
type Mutation = Drawn<typeof mutation>;

/** The byte positions where a file changes meaning: the length field, the header, each tensor. */
function boundaries(bytes: Uint8Array): number[] {
  const out = [0, 1, 4, 7, 8, 9, bytes.length - 1, bytes.length];
  const p = parts(bytes);
  if (p) {
    const start = 8 + p.header.length;
    out.push(start - 1, start, start + 1);
    for (const value of Object.values(headerObject(bytes) ?? {})) {
      const at = (value as { data_offsets?: unknown })?.data_offsets;
      if (Array.isArray(at)) out.push(...at.filter(Number.isSafeInteger).map((o) => start + o));
    }
  }
  return out;
}

/** Rewrites the header (parsed JSON) and keeps the data section. */
function rewrite(
  bytes: Uint8Array,
  edit: (header: Record<string, unknown>) => string | void,
): Uint8Array {
  const header = headerObject(bytes);
  if (!header) return bytes;
  const text = edit(header) ?? toJson(header);
  return frame(text, parts(bytes)!.data);
}

/** Applies one mutation; one that does not apply (a header no longer JSON) changes nothing. */
function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.op) {
    case "truncate": {
      const b = boundaries(bytes);
      const at = b[m.boundary % b.length] + m.delta;
      return bytes.slice(0, Math.max(0, Math.min(bytes.length, at)));
    }
    case "flip": {
      const p = parts(bytes);
      const [from, to] = m.region === "length"
        ? [0, 8]
        : m.region === "header"
        ? [8, 8 + (p?.header.length ?? bytes.length - 8)]
        : [bytes.length - (p?.data.length ?? 0), bytes.length];
      if (to <= from || to > bytes.length) return bytes;
      const out = bytes.slice();
      out[from + (m.at % (to - from))] ^= m.xor;
      return out;
    }
    case "declare": {
      const out = bytes.slice();
      if (out.length < 8) return out;
      const length = Number(new DataView(out.buffer).getBigUint64(0, true));
      new DataView(out.buffer).setBigUint64(0, declare(length, m.length), true);
      return out;
    }
    case "splice": {
      const p = parts(bytes);
      if (!p) return bytes;
      const header = Array.from(p.header);
      header.splice(m.at % (header.length + 1), m.remove, ...m.insert);
      const declared = m.fix ? undefined : BigInt(p.header.length);
      return frame(Uint8Array.from(header), p.data, declared);
    }
    case "append": {
      const out = new Uint8Array(bytes.length + m.bytes.length);
      out.set(bytes);
      out.set(m.bytes, bytes.length);
      return out;
    }
    case "tensor":
      return rewrite(bytes, (header) => editTensor(header, m.pick, m.edit));
    case "metadata":
      return rewrite(bytes, (header) => {
        const meta = header.__metadata__;
        if (typeof meta === "object" && meta !== null && !Array.isArray(meta)) {
          editMetadata(meta as Record<string, unknown>, m.key, m.edit);
        }
      });
    case "whole-metadata":
      return rewrite(bytes, (header) => void (header.__metadata__ = m.value));
    case "add": {
      // A tensor (zeros) at the end of the data section, under a name a reader may look for.
      const p = parts(bytes), header = headerObject(bytes);
      if (!p || !header) return bytes;
      const size = 4 * product(m.shape);
      const at = [p.data.length, p.data.length + size];
      header[m.name] = { dtype: "F32", shape: m.shape, data_offsets: at };
      const data = new Uint8Array(p.data.length + size);
      data.set(p.data);
      return frame(toJson(header), data);
    }
  }
}

/** Edits one tensor's entry (picked among the tensors, modulo their count). */
function editTensor(
  header: Record<string, unknown>,
  pick: number,
  edit: Extract<Mutation, { op: "tensor" }>["edit"],
): string | void {
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  if (names.length === 0) return;
  const name = names[pick % names.length];
  const e = header[name] as Record<string, unknown>;
  // An entry an earlier mutation made a non-object can only be replaced, renamed or removed.
  const isObject = typeof e === "object" && e !== null && !Array.isArray(e);
  if (!isObject && !["entry", "rename", "remove", "duplicate"].includes(edit.kind)) return;
  const at = isObject && Array.isArray(e.data_offsets) ? e.data_offsets as unknown[] : undefined;
  if (at === undefined && (edit.kind === "shift" || edit.kind === "beyond")) return;
  switch (edit.kind) {
    case "dtype":
    case "shape":
    case "data_offsets":
      e[edit.kind] = edit.value;
      return;
    case "drop":
      delete e[edit.field];
      return;
    case "entry":
      header[name] = edit.value;
      return;
    case "rename":
      delete header[name];
      header[edit.name] = e;
      return;
    case "remove":
      delete header[name];
      return;
    case "duplicate": {
      // The same name twice: JSON.parse keeps the last, so the first one's bytes are orphaned.
      const text = toJson(header);
      return `{${JSON.stringify(name)}:${toJson(e)},${text.slice(1)}`;
    }
    case "swap": {
      const other = header[names[edit.other % names.length]] as Record<string, unknown> | null;
      if (typeof other !== "object" || other === null) return;
      [e.data_offsets, other.data_offsets] = [other.data_offsets, e.data_offsets];
      return;
    }
    case "shift":
      e.data_offsets = [Number(at![0]) + edit.begin, Number(at![1]) + edit.end];
      return;
    case "beyond":
      e.data_offsets = [at![0], edit.end];
      return;
  }
}

/** Edits one metadata entry: the string itself, or a value inside its JSON. */
function editMetadata(
  meta: Record<string, unknown>,
  key: string,
  edit: Extract<Mutation, { op: "metadata" }>["edit"],
): void {
  switch (edit.kind) {
    case "delete":
      delete meta[key];
      return;
    case "string":
      meta[key] = edit.value;
      return;
    case "value":
      meta[key] = edit.value;
      return;
  }
  let value: unknown;
  try {
    value = JSON.parse(meta[key] as string);
  } catch {
    return;
  }
  if (edit.kind === "tokens") {
    value = Array.from({ length: edit.count }, (_, i) => `t${i}`);
  } else if (Array.isArray(value)) {
    if (edit.kind === "item") value[edit.index % (value.length + 1)] = edit.value;
  } else if (typeof value === "object" && value !== null) {
    let target = value as Record<string, unknown>;
    const position = target.position;
    if (
      edit.kind !== "item" && typeof edit.key === "string" && POSITION_KEYS.has(edit.key) &&
      typeof position === "object" && position !== null
    ) {
      target = position as Record<string, unknown>;
    }
    const keys = Object.keys(target);
    const name = edit.kind === "item"
      ? undefined
      : typeof edit.key === "string"
      ? edit.key
      : keys[edit.key % Math.max(1, keys.length)] ?? "bogus";
    // defineProperty, so that "__proto__" becomes a key and not the prototype.
    if (edit.kind === "set") {
      Object.defineProperty(target, name!, {
        value: edit.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (edit.kind === "unset") delete target[name!];
  }
  meta[key] = toJson(value);
}

Deno.test("readers return a valid result or their own error for mutated checkpoints and state dicts", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...VALID_NAMES),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.nat(7),
      (base, mutations, shift) => {
        checkReaders(mutations.reduce(mutate, VALID[base]), shift);
      },
    ),
    { numRuns: 600 },
  );
});

// ---------------------------------------------------------------------------------------------
// Property 4: PyTorch state dicts assembled from drawn sizes

const stateDict = fc.record({
  cell: fc.constantFrom("rnn", "gru", "lstm"),
  hidden: fc.integer({ min: 1, max: 3 }),
  layers: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 64, 65) },
  ),
  vocabSize: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
    // Many tokens: the first layer's input weights and the output layer are large.
    { weight: 1, arbitrary: fc.constantFrom(4000) },
  ),
  // The metadata's config: absent, the truth, or the truth with one setting changed.
  config: fc.oneof(
    { weight: 1, arbitrary: fc.constant("absent" as const) },
    { weight: 2, arbitrary: fc.constant("truth" as const) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...settingNames("model")), settingValue) },
  ),
  text: fc.option(fc.dictionary(fc.constantFrom(...settingNames("text")), settingValue), {
    freq: 2,
  }),
  // One tensor missing, or one of another shape.
  drop: rarely(fc.nat(), 4),
  reshape: rarely(
    fc.tuple(fc.nat(), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })),
    4,
  ),
});

/** Writes a drawn state dict: the tensors of `nn.<cell>` + `nn.Linear`, zeros, then the edits. */
function writeStateDict(d: Drawn<typeof stateDict>): Uint8Array {
  const { cell, hidden: H, layers, vocabSize: V } = d;
  const G = GATES[cell].length * H;
  const shapes: [string, number[]][] = [];
  for (let l = 0; l < layers; l++) {
    shapes.push(
      [`rnn.weight_ih_l${l}`, [G, l === 0 ? V : H]],
      [`rnn.weight_hh_l${l}`, [G, H]],
      [`rnn.bias_ih_l${l}`, [G]],
      [`rnn.bias_hh_l${l}`, [G]],
    );
  }
  shapes.push(["dense.weight", [V, H]], ["dense.bias", [V]]);
  if (d.reshape !== null) shapes[d.reshape[0] % shapes.length][1] = d.reshape[1];
  if (d.drop !== null) shapes.splice(d.drop % shapes.length, 1);
  const metadata: Record<string, string> = {
    vocab: JSON.stringify(Array.from({ length: V }, (_, i) => `t${i}`)),
  };
  if (d.config !== "absent") {
    const config: Record<string, unknown> = { vocabSize: V, hidden: H, cell, layers };
    if (d.config !== "truth") config[d.config[0]] = d.config[1];
    metadata.config = toJson(config);
  }
  if (d.text !== null) metadata.text = toJson(d.text);
  return encodeSafetensors({
    tensors: shapes.map(([name, shape]) => ({
      name,
      shape,
      data: new Float32Array(product(shape)),
    })),
    metadata,
  });
}

Deno.test("importPyTorch() returns a valid model or a CheckpointError for state dicts of drawn sizes", () => {
  fc.assert(
    fc.property(stateDict, (d) => {
      checkReaders(writeStateDict(d));
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Exhaustive and chosen cases

Deno.test("every truncation and every flipped header byte of a checkpoint or state dict is refused", () => {
  for (const base of ["checkpoint", "ptLstm"]) {
    const bytes = VALID[base];
    const refused = (file: Uint8Array, what: string) => {
      const got = checkReaders(file);
      assert.ok(Object.values(got).every((o) => o !== "ok"), `${base}, ${what}: ${got}`);
    };
    for (let n = 0; n < bytes.length; n++) refused(bytes.subarray(0, n), `${n} bytes`);
    // Bit 7 flipped: an ASCII byte becomes a stray continuation byte, a multi-byte character
    // loses its lead byte or gains a control character, a length byte moves by 2^(8k+7).
    const headerEnd = 8 + parts(bytes)!.header.length;
    for (let at = 0; at < headerEnd; at++) {
      const flipped = bytes.slice();
      flipped[at] ^= 0x80;
      refused(flipped, `byte ${at} flipped`);
    }
  }
});

/** Small files declaring sizes far beyond themselves: what each declares, and why it is refused. */
const DECLARED_BEYOND: [string, Uint8Array, RegExp][] = [
  ...HUGE_LENGTHS.map((n): [string, Uint8Array, RegExp] => [
    `header length ${n}`,
    frame('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4), n),
    /header length \d+ runs past the end of the file/,
  ]),
  ...([
    ["offsets past 2^31", "[2147483648]", "[0,8589934592]", /are out of range/],
    ["offsets past 2^40", "[274877906944]", "[0,1099511627776]", /are out of range/],
    ["offsets at 2^53", "[2251799813685248]", "[0,9007199254740992]", /two non-negative integers/],
    ["offsets past 2^64", "[1]", "[0,18446744073709551616]", /two non-negative integers/],
    ["a begin past the end", "[1]", "[2147483648,2147483652]", /are out of range/],
    ["a product past 2^53", "[67108864,67108864,67108864]", "[0,4]", /span 4 bytes, but shape/],
    ["a size of 2^32 + 4 bytes", "[1073741825]", "[0,4]", /span 4 bytes, but shape/],
    ["offsets 2^32 + 4 apart", "[1073741825]", "[0,4294967300]", /are out of range/],
    ["a shape of 2^53 - 1 by 2", "[9007199254740991,2]", "[0,4]", /span 4 bytes, but shape/],
    ["a zero next to 2^40", "[0,1099511627776]", "[0,0]", /trailing bytes/],
  ] as const).map(([what, dims, at, why]): [string, Uint8Array, RegExp] => [
    what,
    frame(`{"a":{"dtype":"F32","shape":${dims},"data_offsets":${at}}}`, new Uint8Array(4)),
    why,
  ]),
];

Deno.test("sizes declared far beyond the file are refused at once, without allocating them", () => {
  for (const [what, bytes, why] of DECLARED_BEYOND) {
    // checkReaders bounds time, allocation and resident memory; none of these files is valid.
    assert.deepEqual(
      checkReaders(bytes),
      {
        decodeSafetensors: "SyntaxError",
        decodeCheckpoint: "CheckpointError",
        importPyTorch: "CheckpointError",
      },
      what,
    );
    // Refused for the reason the size gives, not by a later check that happens to fail too.
    assert.throws(() => decodeSafetensors(bytes), { name: "SyntaxError", message: why }, what);
  }
});

// ---------------------------------------------------------------------------------------------
// Problems this test found (each fixed), as examples

/** A state dict written tensor by tensor (zeros), with the given metadata. */
function stateDictOf(
  shapes: Record<string, number[]>,
  metadata: Record<string, string>,
): Uint8Array {
  return encodeSafetensors({
    tensors: Object.entries(shapes).map(([name, shape]) => ({
      name,
      shape,
      data: new Float32Array(product(shape)),
    })),
    metadata,
  });
}

Deno.test({
  // Was: TypeError "Cannot read properties of undefined (reading 'offset')" in importPyTorch's
  // putTransposed("W_hq", ...): with V = 0, blocks() has no W_hq block. Expected: CheckpointError.
  name: "importPyTorch() refuses an empty vocabulary with a CheckpointError",
  fn() {
    const bytes = stateDictOf({
      "rnn.weight_ih_l0": [1, 0],
      "rnn.weight_hh_l0": [1, 1],
      "rnn.bias_ih_l0": [1],
      "rnn.bias_hh_l0": [1],
      "dense.weight": [0, 1],
      "dense.bias": [0],
    }, { vocab: "[]" });
    assert.equal(checkReaders(bytes).importPyTorch, "CheckpointError");
  },
});

Deno.test({
  // Was: UsageError "layers must be an integer in [1, 64], got 65" from createModel at the end
  // of importPyTorch: the layer count read from the tensors was not checked against the settings
  // table. Expected: CheckpointError.
  name: "importPyTorch() refuses more layers than the settings allow with a CheckpointError",
  fn() {
    const shapes: Record<string, number[]> = {};
    for (let l = 0; l < 65; l++) {
      shapes[`rnn.weight_ih_l${l}`] = [1, 1];
      shapes[`rnn.weight_hh_l${l}`] = [1, 1];
      shapes[`rnn.bias_ih_l${l}`] = [1];
      shapes[`rnn.bias_hh_l${l}`] = [1];
    }
    const bytes = stateDictOf({ ...shapes, "dense.weight": [1, 1], "dense.bias": [1] }, {
      vocab: '["a"]',
    });
    assert.equal(checkReaders(bytes).importPyTorch, "CheckpointError");
  },
});

Deno.test({
  // Was: importPyTorch allocated `all` (a Float64Array of every parameter of the config it inferred)
  // before checking any tensor but rnn.weight_hh_l0: the layer count comes from the names
  // rnn.weight_ih_l<k> alone and V from the vocabulary, so a small file can ask for gigabytes.
  // Each file below is refused with a CheckpointError only after that allocation; the last one,
  // 2.7 MB, throws "RangeError: Array buffer allocation failed" (it asks for 84 GB).
  name: "importPyTorch() checks the tensors before allocating for the sizes they imply",
  fn() {
    const H = 8, G = 4 * H;
    const tokens = JSON.stringify(Array.from({ length: 4000 }, (_, i) => `t${i}`));
    // An LSTM over 4000 tokens without its input weights: 4000 * (32 + 8 + 1) float64s.
    const manyTokens = stateDictOf({
      "rnn.weight_hh_l0": [G, H],
      "rnn.bias_ih_l0": [G],
      "rnn.bias_hh_l0": [G],
      "rnn.weight_ih_l0": [0],
      "dense.weight": [4000, H],
      "dense.bias": [4000],
    }, { vocab: tokens });
    // 64 LSTM layers of 64 units declared by empty tensors: 64 * 2 * 256 * 64 float64s.
    const deep = (layers: number, hidden: number) => {
      const shapes: Record<string, number[]> = { "rnn.weight_hh_l0": [4 * hidden, hidden] };
      for (let l = 0; l < layers; l++) shapes[`rnn.weight_ih_l${l}`] = [0];
      return stateDictOf(shapes, { vocab: '["a"]' });
    };
    const failures: string[] = [];
    for (const bytes of [manyTokens, deep(64, 64), deep(20000, 256)]) {
      try {
        assert.equal(checkReaders(bytes).importPyTorch, "CheckpointError");
      } catch (e) {
        failures.push(`${bytes.length} bytes: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  // Was: decodeCheckpoint checked the state's counters with Number.isInteger, so 2^53 and 1e300 pass
  // (and epoch + 1 === epoch at 2^53); the settings table requires safe integers. Expected:
  // CheckpointError.
  name: "decodeCheckpoint() refuses state counters that are not safe integers",
  fn() {
    const file = decodeSafetensors(VALID.position);
    const state = JSON.parse(file.metadata.state);
    const huge = (edit: (s: Record<string, Record<string, unknown>>) => void) => {
      const s = structuredClone(state);
      edit(s);
      return encodeSafetensors({
        ...file,
        metadata: { ...file.metadata, state: JSON.stringify(s) },
      });
    };
    for (
      const bytes of [
        huge((s) => void (s.epoch = 2 ** 53 as never)),
        huge((s) => void (s.epoch = 1e300 as never)),
        huge((s) => void (s.position.step = 2 ** 53)),
      ]
    ) {
      assert.throws(() => decodeCheckpoint(bytes, { backend }), CheckpointError);
    }
    const adam = decodeSafetensors(VALID.adam);
    const withStep = encodeSafetensors({
      ...adam,
      metadata: {
        ...adam.metadata,
        state: JSON.stringify({ ...JSON.parse(adam.metadata.state), adamStep: 1e300 }),
      },
    });
    assert.throws(() => decodeCheckpoint(withStep, { backend }), CheckpointError);
  },
});
