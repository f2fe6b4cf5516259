/**
 * The safetensors checkpoint format (https://github.com/huggingface/safetensors), float32 only.
 *
 * Layout:
 * ```text
 * bytes [0, 8)        N, the header length: unsigned 64-bit little-endian
 * bytes [8, 8 + N)    UTF-8 JSON object, padded with trailing spaces:
 *                       { "__metadata__": { "key": "value", ... },          (optional)
 *                         "W_xh": { "dtype": "F32", "shape": [V, H], "data_offsets": [0, 4VH] },
 *                         ... }
 * bytes [8 + N, end)  the data section: each tensor's elements, row-major, little-endian,
 *                     contiguous, no gaps or overlaps; offsets are relative to its start
 * ```
 * {@linkcode encodeSafetensors} pads the header so the data section starts at a multiple of 8
 * bytes, as the reference writer does. The files it writes are readable by
 * `safetensors.torch.load_file(path)` (float32 tensors under the same names) and their metadata by
 * `safetensors.safe_open(path, "pt").metadata()`.
 *
 * @module
 */
import { CheckpointError } from "../errors.ts";

/**
 * A named tensor of float32 (`F32`) or signed 8-bit (`I8`, an 8-bit checkpoint's weights)
 * elements: `data` holds the product of `shape` elements, row-major.
 */
export interface Tensor {
  /** The tensor's name, unique in its file (for example `"W_xh"`). */
  name: string;
  /** Dimension sizes, outermost first; `[]` is a scalar (one element). */
  shape: number[];
  /** The elements, row-major: an `Int8Array` is written as `I8`. */
  data: Float32Array | Int8Array;
}

/** The contents of a safetensors file: its tensors and its string metadata. */
export interface SafetensorsFile {
  /** The tensors, in data order. */
  tensors: Tensor[];
  /** Free-form `__metadata__` (string to string); `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** The dtypes this module reads and writes, with their bytes per element. */
const DTYPES = { F32: 4, I8: 1 } as const;
type Dtype = keyof typeof DTYPES;
/** Bytes per F32 element. */
const F32_BYTES = DTYPES.F32;
/** The header key reserved for metadata. */
const METADATA_KEY = "__metadata__";

/** Whether this platform stores typed-array elements little-endian (almost all do). */
const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes tensors and metadata as a safetensors file: dtype `"F32"` (or `"I8"` for an `Int8Array`), little-endian, tensors in the
 * given order, header padded with spaces so the data section starts at a multiple of 8 bytes.
 * Element bits are copied as they are, so NaN payloads, infinities and `-0` survive.
 *
 * @param file The tensors (unique names, `data.length` equal to the product of `shape`) and the
 * metadata (string values).
 * @returns The bytes of the file.
 * @throws {TypeError} When a tensor's data length differs from the product of its shape, a shape
 * entry is not a non-negative integer, a name repeats or is `"__metadata__"`, or a metadata value
 * is not a string.
 *
 * @example Encode one tensor and read the header length
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   tensors: [{ name: "b_h", shape: [2], data: new Float32Array([0.5, -1]) }],
 *   metadata: { format: "pt" },
 * });
 * const headerLength = new DataView(bytes.buffer).getUint32(0, true);
 * console.log((8 + headerLength) % 8, bytes.length - 8 - headerLength); // 0 8
 * ```
 */
export function encodeSafetensors(file: SafetensorsFile): Uint8Array {
  const names = new Set<string>();
  const entries: string[] = [];
  const metadata = file.metadata ?? {};
  const metadataEntries = Object.entries(metadata);
  for (const [key, value] of metadataEntries) {
    if (typeof value !== "string") {
      throw new TypeError(
        `safetensors: metadata value for key ${JSON.stringify(key)} must be a string, got ${
          describe(value)
        }`,
      );
    }
  }
  // Metadata first, as the reference writer does; omitted when empty.
  if (metadataEntries.length > 0) {
    entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const tensor of file.tensors) {
    const { name, shape, data } = tensor;
    if (typeof name !== "string") {
      throw new TypeError(`safetensors: tensor name must be a string, got ${describe(name)}`);
    }
    const label = `tensor ${JSON.stringify(name)}`;
    if (name === METADATA_KEY) {
      throw new TypeError(`safetensors: ${label}: the name "__metadata__" is reserved`);
    }
    if (names.has(name)) throw new TypeError(`safetensors: ${label}: the name is used twice`);
    names.add(name);
    if (!(data instanceof Float32Array) && !(data instanceof Int8Array)) {
      throw new TypeError(`safetensors: ${label}: data must be a Float32Array or an Int8Array`);
    }
    const dtype: Dtype = data instanceof Int8Array ? "I8" : "F32";
    if (!isShape(shape)) {
      throw new TypeError(
        `safetensors: ${label}: shape must be an array of non-negative integers, got ${
          describe(shape)
        }`,
      );
    }
    const count = elementCount(shape);
    if (data.length !== count) {
      throw new TypeError(
        `safetensors: ${label}: data has ${data.length} elements but shape ${
          JSON.stringify(shape)
        } needs ${count}`,
      );
    }
    const end = offset + count * DTYPES[dtype];
    // Keys in the order the reference writer uses; names are built by hand so that
    // integer-like names keep their place (object keys would sort them first).
    entries.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }

  const json = new TextEncoder().encode(`{${entries.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { data } of file.tensors) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, at);
    if (!LITTLE_ENDIAN && data instanceof Float32Array) swapBytes32(out, at, bytes.length);
    at += bytes.length;
  }
  return out;
}

/**
 * Decodes and validates a safetensors file of F32 (and I8) tensors. Every tensor's data is copied
 * into a fresh Float32Array (read little-endian, bits preserved) or Int8Array, so the result does
 * not alias `bytes`.
 *
 * @param bytes The whole file.
 * @returns The tensors in data-offset order (empty tensors sharing an offset by name) and the
 * metadata (`{}` when absent).
 * @throws {SyntaxError} When the file is malformed; the message says what is wrong: the file is
 * shorter than the header length field, the header length runs past the end, the header is not a
 * UTF-8 JSON object, a tensor entry lacks `dtype`, `shape` or `data_offsets`, a dtype is not F32 or I8,
 * a shape is not non-negative integers, offsets do not match the shape's byte size, run past the
 * data section, overlap, or leave gaps or trailing bytes, or a metadata value is not a string.
 *
 * @example Round trip one tensor
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   tensors: [{ name: "W_hh", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
 *   metadata: {},
 * });
 * const [w] = decodeSafetensors(bytes).tensors;
 * console.log(w.name, w.shape, Array.from(w.data)); // W_hh [ 2, 2 ] [ 1, 2, 3, 4 ]
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) {
    throw new SyntaxError(
      `safetensors: file is too short: ${bytes.length} bytes, but the header length alone takes 8`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new SyntaxError(
      `safetensors: header length ${declared} runs past the end of the file (${
        bytes.length - 8
      } bytes follow the length field)`,
    );
  }
  const headerLength = Number(declared);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength));
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(entry);
      continue;
    }
    entries.push({ name, ...parseEntry(name, entry, dataLength) });
  }

  // Sort by offsets (the reference reader does too); ties are empty tensors, ordered by name.
  entries.sort((a, b) =>
    a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
  const where = (e: { name: string; begin: number; end: number }): string =>
    `tensor ${JSON.stringify(e.name)} (data_offsets [${e.begin}, ${e.end}])`;
  let cursor = 0;
  let previous: (typeof entries)[number] | undefined;
  for (const entry of entries) {
    if (entry.begin < cursor && previous !== undefined) {
      throw new SyntaxError(`safetensors: ${where(entry)} overlaps ${where(previous)}`);
    }
    if (entry.begin > cursor) {
      const gap = `[${cursor}, ${entry.begin})`;
      throw new SyntaxError(
        `safetensors: gap in the data section: bytes ${gap} belong to no tensor`,
      );
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor !== dataLength) {
    const tail = `[${cursor}, ${dataLength})`;
    throw new SyntaxError(
      `safetensors: trailing bytes: data section bytes ${tail} belong to no tensor`,
    );
  }

  const tensors = entries.map(({ name, dtype, shape, begin, end }): Tensor => {
    if (dtype === "I8") {
      return {
        name,
        shape,
        data: new Int8Array(bytes.slice(dataStart + begin, dataStart + end).buffer),
      };
    }
    const data = new Float32Array((end - begin) / F32_BYTES);
    const target = new Uint8Array(data.buffer);
    target.set(bytes.subarray(dataStart + begin, dataStart + end));
    if (!LITTLE_ENDIAN) swapBytes32(target, 0, target.length);
    return { name, shape, data };
  });
  return { tensors, metadata };
}

/** Decodes the header bytes as a UTF-8 JSON object. */
function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new SyntaxError("safetensors: header is not valid UTF-8");
  }
  if (!text.startsWith("{")) {
    throw new SyntaxError(
      `safetensors: header is not a JSON object: it must start with "{", got ${
        JSON.stringify(text.slice(0, 16))
      }`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `safetensors: header is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!isRecord(parsed)) {
    throw new SyntaxError(`safetensors: header is not a JSON object, got ${describe(parsed)}`);
  }
  return parsed;
}

/** Validates `__metadata__`: an object whose values are all strings. */
function parseMetadata(entry: unknown): Record<string, string> {
  if (!isRecord(entry)) {
    throw new SyntaxError(
      `safetensors: __metadata__ must be an object of strings, got ${describe(entry)}`,
    );
  }
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== "string") {
      throw new SyntaxError(
        `safetensors: __metadata__ value for key ${JSON.stringify(key)} must be a string, got ${
          describe(value)
        }`,
      );
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(Object.entries(entry as Record<string, string>));
}

/** Validates one tensor entry against itself and the data section length. */
function parseEntry(
  name: string,
  entry: unknown,
  dataLength: number,
): { dtype: Dtype; shape: number[]; begin: number; end: number } {
  const label = `tensor ${JSON.stringify(name)}`;
  if (!isRecord(entry)) {
    throw new SyntaxError(`safetensors: ${label}: entry must be an object, got ${describe(entry)}`);
  }
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!(field in entry)) {
      throw new SyntaxError(`safetensors: ${label}: entry is missing "${field}"`);
    }
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype !== "F32" && dtype !== "I8") {
    throw new SyntaxError(
      `safetensors: ${label}: dtype ${
        JSON.stringify(dtype)
      } is not supported (supported dtypes: F32, I8)`,
    );
  }
  if (!isShape(shape)) {
    throw new SyntaxError(
      `safetensors: ${label}: shape must be an array of non-negative integers, got ${
        describe(shape)
      }`,
    );
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SyntaxError(
      `safetensors: ${label}: data_offsets must be two non-negative integers [begin, end], got ${
        describe(offsets)
      }`,
    );
  }
  const [begin, end] = offsets as [number, number];
  const size = elementCount(shape) * DTYPES[dtype];
  if (end - begin !== size) {
    throw new SyntaxError(
      `safetensors: ${label}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, ` +
        `but shape ${JSON.stringify(shape)} of ${dtype} needs ${size}`,
    );
  }
  if (end > dataLength) {
    throw new SyntaxError(
      `safetensors: ${label}: data_offsets [${begin}, ${end}] are out of range: ` +
        `the data section has ${dataLength} bytes`,
    );
  }
  return { dtype, shape: [...shape], begin, end };
}

/** Whether `value` is an array of non-negative safe integers. */
function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** The product of the dimensions (1 for a scalar). */
function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/** Whether `value` is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short description of a value for error messages. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) {
    const json = JSON.stringify(value);
    return json.length > 60 ? `an array of ${value.length}` : json;
  }
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

/** Reverses the bytes of each 4-byte word in `bytes[at, at + length)` (big-endian hosts). */
function swapBytes32(bytes: Uint8Array, at: number, length: number): void {
  for (let i = at; i < at + length; i += 4) {
    const b0 = bytes[i], b1 = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b1;
    bytes[i + 3] = b0;
  }
}

/**
 * {@linkcode decodeSafetensors} for a model file (a checkpoint or a PyTorch state dict): bytes
 * that are not safetensors are a `CheckpointError`.
 *
 * @param bytes The file's bytes.
 * @returns The tensors and metadata.
 * @throws {CheckpointError} When the bytes are not a valid safetensors file.
 * @example Garbage is refused
 * ```ts
 * import { decodeModelFile } from "./safetensors.ts";
 * try {
 *   decodeModelFile(new Uint8Array(3));
 * } catch (e) {
 *   console.log((e as Error).name); // "CheckpointError"
 * }
 * ```
 */
export function decodeModelFile(bytes: Uint8Array): SafetensorsFile {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new CheckpointError(`not a safetensors file: ${e.message}`);
  }
}
