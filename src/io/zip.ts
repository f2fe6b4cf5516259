/**
 * A small zip reader for zipped corpora: the members an archive lists, and the bytes of one of
 * them. Members stored (method 0) or deflated (method 8) are read, the latter with the
 * web-standard `DecompressionStream("deflate-raw")`; each member's sizes and CRC-32 are checked.
 * Anything malformed or beyond this reader (encryption, zip64, other methods, several disks) is a
 * `CorpusError` that names the file and says what is wrong; a declared size is never allocated
 * before the data has shown it is real.
 *
 * Record layouts: PKWARE APPNOTE.TXT 6.3, sections 4.3.7 (local file header), 4.3.12 (central
 * directory header) and 4.3.16 (end of central directory record).
 *
 * @module
 */
import { CorpusError } from "../errors.ts";

/**
 * One member of a zip archive, as its central directory describes it.
 *
 * @example Look at a member's sizes
 * ```ts
 * import type { ZipEntry } from "./zip.ts";
 * const entry: ZipEntry = {
 *   name: "a.txt", flags: 0, method: 8, crc32: 0, compressedSize: 12, size: 40, offset: 0,
 * };
 * console.log(`${entry.name}: ${entry.compressedSize} of ${entry.size} bytes`);
 * ```
 */
export interface ZipEntry {
  /** The member's name, decoded as UTF-8; folders end in `/`. */
  readonly name: string;
  /** The general purpose flags (bit 0: encrypted). */
  readonly flags: number;
  /** The compression method: 0 stored, 8 deflate (others are refused when read). */
  readonly method: number;
  /** The CRC-32 of the member's bytes, as an unsigned integer. */
  readonly crc32: number;
  /** The member's size in the archive, in bytes. */
  readonly compressedSize: number;
  /** The member's size once read, in bytes. */
  readonly size: number;
  /** Where the member's local header starts in the archive. */
  readonly offset: number;
}

const END_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const END_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** The most bytes one byte of deflate data can expand to (zlib FAQ: "the limit is 1032:1"). */
const DEFLATE_MAX_RATIO = 1032;
const ZIP64_MARK = 0xffffffff;
/** How many compressed bytes are inflated at a time. */
const INFLATE_SLICE = 1 << 16;
const METHOD_NAMES: Readonly<Record<number, string>> = {
  9: "deflate64",
  12: "bzip2",
  14: "LZMA",
  93: "Zstandard",
  95: "xz",
  99: "AES encryption",
};

const nameDecoder = new TextDecoder();

/** The CRC-32 table (polynomial 0xEDB88320, reflected), one entry per byte value. */
const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * The CRC-32 of bytes, as zip, gzip and PNG compute it.
 *
 * @param bytes The data.
 * @returns The checksum as an unsigned 32-bit integer.
 * @example The standard check value
 * ```ts
 * import { crc32 } from "./zip.ts";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // "cbf43926"
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Little-endian reads; callers check bounds first. */
function u16(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}
function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function unreadable(path: string, what: string, cause?: unknown): CorpusError {
  return new CorpusError(
    `${path} is not a readable zip archive: ${what}`,
    path,
    cause === undefined ? undefined : { cause },
  );
}

/** The offset of the end of central directory record: the last one whose comment ends the file. */
function findEnd(zip: Uint8Array): number {
  const lowest = Math.max(0, zip.length - END_SIZE - 0xffff);
  for (let i = zip.length - END_SIZE; i >= lowest; i--) {
    if (u32(zip, i) === END_SIGNATURE && i + END_SIZE + u16(zip, i + 20) === zip.length) return i;
  }
  return -1;
}

/**
 * The members a zip archive lists in its central directory, in order. Only the directory is read
 * here; {@linkcode readZipMember} reads and checks a member's data.
 *
 * @param zip The whole archive.
 * @param path The archive's file name, for error messages.
 * @returns One entry per member, folders included (their names end in `/`).
 * @throws {CorpusError} When the archive is truncated or malformed, zip64, or spans several disks.
 * @example List a small archive
 * ```ts
 * import { readZipEntries } from "./zip.ts";
 * const zip = Uint8Array.from(
 *   atob(
 *     "UEsDBBQAAAAAAAAAIQCsKpPYAgAAAAIAAAAFAAAAYS50eHRoaVBLAQIUAxQAAAAAAAAAIQCsKpPYAgAAAAIAAAAF" +
 *       "AAAAAAAAAAAAAACAAQAAAABhLnR4dFBLBQYAAAAAAQABADMAAAAlAAAAAAA=",
 *   ),
 *   (c) => c.charCodeAt(0),
 * );
 * console.log(readZipEntries(zip, "hi.zip").map((e) => e.name)); // ["a.txt"]
 * ```
 */
export function readZipEntries(zip: Uint8Array, path: string): ZipEntry[] {
  const end = findEnd(zip);
  if (end < 0) {
    throw unreadable(path, "no end of central directory record (truncated, or not a zip file)");
  }
  const [disk, directoryDisk, countHere, count] = [4, 6, 8, 10].map((o) => u16(zip, end + o));
  const directorySize = u32(zip, end + 12);
  const directoryOffset = u32(zip, end + 16);
  if (count === 0xffff || directorySize === ZIP64_MARK || directoryOffset === ZIP64_MARK) {
    throw unreadable(path, "it is a zip64 archive, which this reader does not support");
  }
  if (disk !== 0 || directoryDisk !== 0 || countHere !== count) {
    throw unreadable(path, "it spans several disks, which this reader does not support");
  }
  const directoryEnd = directoryOffset + directorySize;
  if (directoryEnd > end) {
    throw unreadable(
      path,
      `its central directory (${directorySize} bytes at offset ${directoryOffset}) runs past ` +
        `the end record at offset ${end}`,
    );
  }
  if (count * CENTRAL_SIZE > directorySize) {
    throw unreadable(
      path,
      `it lists ${count} members, more than its ${directorySize}-byte central directory can hold`,
    );
  }
  const entries: ZipEntry[] = [];
  for (let p = directoryOffset; entries.length < count;) {
    const at = `central directory entry ${entries.length + 1} (offset ${p})`;
    if (p + CENTRAL_SIZE > directoryEnd) throw unreadable(path, `${at} is truncated`);
    if (u32(zip, p) !== CENTRAL_SIGNATURE) throw unreadable(path, `${at} has a bad signature`);
    const nameStart = p + CENTRAL_SIZE;
    const nameEnd = nameStart + u16(zip, p + 28);
    const next = nameEnd + u16(zip, p + 30) + u16(zip, p + 32);
    if (next > directoryEnd) throw unreadable(path, `${at} is truncated`);
    entries.push({
      name: nameDecoder.decode(zip.subarray(nameStart, nameEnd)),
      flags: u16(zip, p + 8),
      method: u16(zip, p + 10),
      crc32: u32(zip, p + 16),
      compressedSize: u32(zip, p + 20),
      size: u32(zip, p + 24),
      offset: u32(zip, p + 42),
    });
    p = next;
  }
  return entries;
}

/**
 * The bytes of one member of a zip archive, inflated if deflated, after checking its local header,
 * its sizes and its CRC-32.
 *
 * @param zip The whole archive.
 * @param entry The member, one of {@linkcode readZipEntries}'s entries for `zip`.
 * @param path The archive's file name, for error messages.
 * @returns A new array holding the member's bytes.
 * @throws {CorpusError} When the member is encrypted, zip64, compressed by another method than
 *   stored or deflate, lies past the end of the archive, or fails its size or CRC-32 check.
 * @example Read a member as text
 * ```ts
 * import { readZipEntries, readZipMember } from "./zip.ts";
 * const zip = Uint8Array.from(
 *   atob(
 *     "UEsDBBQAAAAAAAAAIQCsKpPYAgAAAAIAAAAFAAAAYS50eHRoaVBLAQIUAxQAAAAAAAAAIQCsKpPYAgAAAAIAAAAF" +
 *       "AAAAAAAAAAAAAACAAQAAAABhLnR4dFBLBQYAAAAAAQABADMAAAAlAAAAAAA=",
 *   ),
 *   (c) => c.charCodeAt(0),
 * );
 * const [entry] = readZipEntries(zip, "hi.zip");
 * console.log(new TextDecoder().decode(await readZipMember(zip, entry, "hi.zip"))); // "hi"
 * ```
 */
export async function readZipMember(
  zip: Uint8Array,
  entry: ZipEntry,
  path: string,
): Promise<Uint8Array> {
  const member = `member ${JSON.stringify(entry.name)}`;
  const fail = (what: string, cause?: unknown) => unreadable(path, `${member} ${what}`, cause);
  if (entry.flags & 1) throw fail("is encrypted");
  if (entry.method !== 0 && entry.method !== 8) {
    const known = METHOD_NAMES[entry.method];
    throw fail(
      `uses compression method ${entry.method}${known ? ` (${known})` : ""}; only stored (0) ` +
        "and deflate (8) are supported",
    );
  }
  if ([entry.compressedSize, entry.size, entry.offset].includes(ZIP64_MARK)) {
    throw fail("has zip64 sizes, which this reader does not support");
  }
  const local = entry.offset;
  if (local + LOCAL_SIZE > zip.length) {
    throw fail(`has its local header at offset ${local}, past the end (${zip.length} bytes)`);
  }
  if (u32(zip, local) !== LOCAL_SIGNATURE) {
    throw fail(`has a bad local header signature at offset ${local}`);
  }
  const start = local + LOCAL_SIZE + u16(zip, local + 26) + u16(zip, local + 28);
  const end = start + entry.compressedSize;
  if (end > zip.length) {
    throw fail(
      `has ${entry.compressedSize} bytes of data at offset ${start}, past the end ` +
        `(${zip.length} bytes)`,
    );
  }
  const data = zip.subarray(start, end);
  let bytes: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) {
      throw fail(`is stored, yet its sizes differ (${entry.compressedSize} and ${entry.size})`);
    }
    bytes = data.slice();
  } else {
    if (entry.size > entry.compressedSize * DEFLATE_MAX_RATIO) {
      throw fail(
        `declares ${entry.size} bytes from ${entry.compressedSize} deflated bytes, more than ` +
          "deflate can produce",
      );
    }
    bytes = await inflateRaw(data, entry.size, fail);
  }
  const found = crc32(bytes);
  if (found !== entry.crc32) {
    throw fail(`fails its CRC-32 check (expected ${hex(entry.crc32)}, found ${hex(found)})`);
  }
  return bytes;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** Inflates raw deflate data that should give exactly `size` bytes, stopping once it gives more. */
async function inflateRaw(
  data: Uint8Array,
  size: number,
  fail: (what: string, cause?: unknown) => CorpusError,
): Promise<Uint8Array> {
  // Fed in slices, read as it comes: an archive that lies about its size is stopped within one
  // slice's worth of output.
  let fed = 0;
  const input = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      if (fed >= data.length) return controller.close();
      controller.enqueue(data.slice(fed, fed + INFLATE_SLICE));
      fed += INFLATE_SLICE;
    },
  });
  const reader = input.pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw fail(`is not valid deflate data (${e instanceof Error ? e.message : String(e)})`, e);
    }
    if (chunk.done) break;
    total += chunk.value.length;
    if (total > size) {
      await reader.cancel();
      throw fail(`inflates to more than its declared ${size} bytes`);
    }
    chunks.push(chunk.value);
  }
  if (total !== size) throw fail(`inflates to ${total} bytes, not its declared ${size}`);
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
