import assert from "node:assert/strict";
import fc from "fast-check";
import { CorpusError } from "../errors.ts";
import { crc32, readZipEntries, readZipMember, type ZipEntry } from "./zip.ts";

const DATA: string | undefined = (() => {
  try {
    return Deno.env.get("RNN_DATA_DIR") || undefined;
  } catch {
    return undefined;
  }
})();

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A member to archive: a folder when its name ends in "/", stored unless `method` is 8. */
interface Member {
  name: string;
  data?: Uint8Array;
  method?: 0 | 8;
}

/**
 * A zip archive built by hand (APPNOTE 4.3.7, 4.3.12, 4.3.16): each local header and its data,
 * then the central directory, then the end record with an optional comment.
 */
async function buildZip(members: Member[], comment = ""): Promise<Uint8Array> {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff);
  const put = (bytes: Uint8Array) => bytes.forEach((b) => out.push(b));
  const u32 = (n: number) => {
    u16(n & 0xffff);
    u16(n >>> 16);
  };
  const central: (() => void)[] = [];
  for (const { name, data = new Uint8Array(), method = 0 } of members) {
    const nameBytes = enc(name);
    const stored = method === 8 ? await deflateRaw(data) : data;
    const offset = out.length;
    // Fields shared by both headers: version needed, flags (UTF-8 names), method, time, date,
    // CRC-32, sizes, name length, extra length.
    const common = () => {
      u16(20), u16(0x0800), u16(method), u16(0), u16(0x21), u32(crc32(data));
      u32(stored.length), u32(data.length), u16(nameBytes.length), u16(0);
    };
    u32(0x04034b50), common(), put(nameBytes), put(stored);
    central.push(() => {
      u32(0x02014b50), u16(0x031e), common();
      // Comment length, disk, internal and external attributes, local header offset.
      u16(0), u16(0), u16(0), u32(name.endsWith("/") ? 0x41ed0010 : 0x81a40000), u32(offset);
      put(nameBytes);
    });
  }
  const directoryOffset = out.length;
  for (const write of central) write();
  const directorySize = out.length - directoryOffset;
  const commentBytes = enc(comment);
  u32(0x06054b50), u16(0), u16(0), u16(members.length), u16(members.length);
  u32(directorySize), u32(directoryOffset), u16(commentBytes.length);
  put(commentBytes);
  return Uint8Array.from(out);
}

/** Every member's bytes, in the central directory's order. */
async function readAll(zip: Uint8Array, path: string): Promise<[ZipEntry, Uint8Array][]> {
  const entries = readZipEntries(zip, path);
  const read: [ZipEntry, Uint8Array][] = [];
  for (const entry of entries) read.push([entry, await readZipMember(zip, entry, path)]);
  return read;
}

/** A copy of `zip` with a little-endian field of `width` bytes at `at` set to `value`. */
function patched(zip: Uint8Array, at: number, width: 2 | 4, value: number): Uint8Array {
  const copy = zip.slice();
  const view = new DataView(copy.buffer);
  if (width === 2) view.setUint16(at, value, true);
  else view.setUint32(at, value, true);
  return copy;
}

/** Offsets of the records of a one-member archive from `buildZip` (no comment). */
function records(zip: Uint8Array): { local: number; central: number; end: number } {
  const end = zip.length - 22;
  return { local: 0, central: new DataView(zip.buffer).getUint32(end + 16, true), end };
}

/** Bytes that deflate cannot shrink much (a linear congruential generator's high bytes). */
function noise(length: number): Uint8Array {
  let x = 1;
  return Uint8Array.from({ length }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
}

const LYRICS = "想要有直升机\n想要和你飞到宇宙去\n".repeat(20);

Deno.test("crc32() gives the standard check value", () => {
  assert.equal(crc32(enc("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
  assert.equal(crc32(enc("The quick brown fox jumps over the lazy dog")), 0x414fa339);
});

Deno.test("readZipMember() reads a stored member", async () => {
  const zip = await buildZip([{ name: "a.txt", data: enc("hello, zip") }]);
  const [[entry, bytes]] = await readAll(zip, "a.zip");
  assert.deepEqual(entry, {
    name: "a.txt",
    flags: 0x0800,
    method: 0,
    crc32: crc32(enc("hello, zip")),
    compressedSize: 10,
    size: 10,
    offset: 0,
  });
  assert.deepEqual(bytes, enc("hello, zip"));
});

Deno.test("readZipMember() inflates a deflated member", async () => {
  const data = enc(LYRICS);
  const zip = await buildZip([{ name: "歌词.txt", data, method: 8 }], "a comment");
  const [[entry, bytes]] = await readAll(zip, "lyrics.zip");
  assert.equal(entry.name, "歌词.txt");
  assert.equal(entry.method, 8);
  assert.equal(entry.size, data.length);
  assert.ok(entry.compressedSize < data.length / 4, `${entry.compressedSize} bytes`);
  assert.deepEqual(bytes, data);
});

Deno.test("readZipEntries() lists several members and folders in order, and each reads back", async () => {
  const members: Member[] = [
    { name: "songs/" },
    { name: "songs/a.txt", data: enc("a".repeat(300)), method: 8 },
    { name: "songs/b.txt", data: enc("bee") },
    { name: "empty.txt", data: new Uint8Array(), method: 8 },
    { name: "c.bin", data: Uint8Array.from({ length: 256 }, (_, i) => i), method: 8 },
    // Larger than one slice of the inflater's input, so that it comes out in several chunks.
    { name: "noise.bin", data: noise(200_000), method: 8 },
  ];
  const zip = await buildZip(members);
  const read = await readAll(zip, "songs.zip");
  assert.deepEqual(read.map(([e]) => e.name), members.map((m) => m.name));
  for (const [i, [, bytes]] of read.entries()) {
    assert.deepEqual(bytes, members[i].data ?? new Uint8Array(), members[i].name);
  }
  assert.deepEqual(readZipEntries(await buildZip([]), "empty.zip"), []);
});

Deno.test({
  name: "readZipMember() reads the real jaychou_lyrics.txt.zip to the published text",
  ignore: DATA === undefined,
  fn: async () => {
    const path = `${DATA}/jaychou_lyrics.txt.zip`;
    const zip = await Deno.readFile(path);
    const [[entry, bytes]] = await readAll(zip, path);
    assert.equal(entry.name, "jaychou_lyrics.txt");
    assert.equal(entry.method, 8);
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-1", bytes as Uint8Array<ArrayBuffer>),
    );
    assert.equal(
      Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
      "389655757a8ef48c7ad5253ded9caa13cdf6086a",
    );
  },
});

Deno.test("every malformed or unsupported archive is a CorpusError naming the file and the fault", async () => {
  const stored = await buildZip([{ name: "a.txt", data: enc("hello, zip") }]);
  const deflated = await buildZip([{ name: "a.txt", data: enc(LYRICS), method: 8 }]);
  const two = await buildZip([{ name: "a.txt", data: enc("a") }, { name: "b.txt" }]);
  const s = records(stored);
  const t = { central: 2 * 30 + 5 + 1 + 5 };
  const d = records(deflated);
  const deflatedSize = enc(LYRICS).length;
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty input", new Uint8Array(), /no end of central directory record/],
    ["not a zip", enc("this is not a zip archive, only text"), /no end of central directory/],
    ["truncated by one byte", stored.subarray(0, -1), /no end of central directory record/],
    ["truncated in the data", deflated.subarray(0, 40), /no end of central directory record/],
    ["zip64 end record", patched(stored, s.end + 10, 2, 0xffff), /zip64 archive/],
    ["zip64 directory offset", patched(stored, s.end + 16, 4, 0xffffffff), /zip64 archive/],
    ["several disks", patched(stored, s.end + 4, 2, 1), /spans several disks/],
    [
      "directory past the end record",
      patched(stored, s.end + 16, 4, s.central + 1),
      new RegExp(
        `central directory \\(51 bytes at offset ${s.central + 1}\\) runs past the end record ` +
          `at offset ${s.end}`,
      ),
    ],
    [
      "more members than the directory holds",
      patched(patched(stored, s.end + 8, 2, 2), s.end + 10, 2, 2),
      /lists 2 members, more than its 51-byte central directory can hold/,
    ],
    [
      "bad central signature",
      patched(stored, s.central, 4, 0x12345678),
      new RegExp(`central directory entry 1 \\(offset ${s.central}\\) has a bad signature`),
    ],
    [
      "name past the directory",
      patched(stored, s.central + 28, 2, 6),
      new RegExp(`central directory entry 1 \\(offset ${s.central}\\) is truncated`),
    ],
    [
      "second entry cut short by the first's comment length",
      patched(two, t.central + 32, 2, 6),
      new RegExp(`central directory entry 2 \\(offset ${t.central + 46 + 5 + 6}\\) is truncated`),
    ],
    ["encrypted", patched(stored, s.central + 8, 2, 0x0801), /member "a\.txt" is encrypted/],
    [
      "bzip2",
      patched(stored, s.central + 10, 2, 12),
      /member "a\.txt" uses compression method 12 \(bzip2\); only stored \(0\) and deflate \(8\)/,
    ],
    ["method 3", patched(stored, s.central + 10, 2, 3), /uses compression method 3; only/],
    ["zip64 sizes", patched(stored, s.central + 24, 4, 0xffffffff), /has zip64 sizes/],
    [
      "local header past the end",
      patched(stored, s.central + 42, 4, stored.length - 29),
      new RegExp(`local header at offset ${stored.length - 29}, past the end \\(118 bytes\\)`),
    ],
    [
      "bad local signature",
      patched(stored, s.local, 4, 0x04034b51),
      /member "a\.txt" has a bad local header signature at offset 0/,
    ],
    [
      "data past the end",
      patched(stored, s.central + 20, 4, 1_000_000),
      /has 1000000 bytes of data at offset 35, past the end \(118 bytes\)/,
    ],
    [
      "stored with sizes that differ",
      patched(stored, s.central + 24, 4, 11),
      /is stored, yet its sizes differ \(10 and 11\)/,
    ],
    [
      "stored with a CRC mismatch",
      patched(stored, s.local + 35, 2, 0x4849),
      new RegExp(
        `fails its CRC-32 check \\(expected ${
          crc32(enc("hello, zip")).toString(16).padStart(8, "0")
        }`,
      ),
    ],
    [
      "a declared size deflate cannot reach",
      patched(deflated, d.central + 24, 4, 0xfffffffe),
      /declares 4294967294 bytes from \d+ deflated bytes, more than deflate can produce/,
    ],
    [
      "a declared size larger than the data gives",
      patched(deflated, d.central + 24, 4, deflatedSize + 1),
      new RegExp(`inflates to ${deflatedSize} bytes, not its declared ${deflatedSize + 1}`),
    ],
    [
      "a declared size smaller than the data gives",
      patched(deflated, d.central + 24, 4, deflatedSize - 1),
      new RegExp(`inflates to more than its declared ${deflatedSize - 1} bytes`),
    ],
    [
      "deflate data that is not deflate",
      patched(deflated, d.local + 35, 4, 0xffffffff),
      /member "a\.txt" is not valid deflate data/,
    ],
    [
      "deflated with a CRC mismatch",
      patched(deflated, d.central + 16, 4, 0),
      /fails its CRC-32 check \(expected 00000000, found [0-9a-f]{8}\)/,
    ],
  ];
  for (const [what, zip, message] of cases) {
    await assert.rejects(readAll(zip, "dir/bad.zip"), (e: Error) => {
      assert.ok(e instanceof CorpusError, `${what}: ${e}`);
      assert.equal(e.path, "dir/bad.zip", what);
      assert.ok(e.message.startsWith("dir/bad.zip is not a readable zip archive: "), e.message);
      assert.match(e.message, message, what);
      return true;
    }, what);
  }
});

Deno.test("readZipEntries() and readZipMember() on damaged or random bytes give a CorpusError or the right bytes", async () => {
  const members: Member[] = [
    { name: "dir/" },
    { name: "dir/stored.txt", data: enc("stored, not squeezed") },
    { name: "deflated.txt", data: enc(LYRICS), method: 8 },
    { name: "empty.txt", data: new Uint8Array() },
  ];
  const original = await buildZip(members, "comment");
  // Each input says whether it is the archive with some bytes changed (same members expected).
  const truncated = fc.nat(original.length - 1).map((n) => ({
    zip: original.subarray(0, n),
    copy: false,
  }));
  const flipped = fc.array(
    fc.record({ at: fc.nat(original.length - 1), bits: fc.integer({ min: 1, max: 255 }) }),
    { minLength: 1, maxLength: 4 },
  ).map((flips) => {
    const copy = original.slice();
    for (const { at, bits } of flips) copy[at] ^= bits;
    return { zip: copy, copy: true };
  });
  // Random bytes, and random bytes before a plausible end record, to reach the deeper checks.
  const randomBytes = fc.uint8Array({ maxLength: 200 });
  const random = randomBytes.map((zip) => ({ zip, copy: false }));
  const endRecord = fc.tuple(randomBytes, fc.nat(4), fc.nat(250), fc.nat(250)).map(
    ([prefix, count, size, offset]) => {
      const end = new Uint8Array(22);
      const view = new DataView(end.buffer);
      view.setUint32(0, 0x06054b50, true);
      view.setUint16(8, count, true);
      view.setUint16(10, count, true);
      view.setUint32(12, size, true);
      view.setUint32(16, offset, true);
      return { zip: Uint8Array.of(...prefix, ...end), copy: false };
    },
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(truncated, flipped, random, endRecord), async ({ zip, copy }) => {
      let read: [ZipEntry, Uint8Array][];
      try {
        read = await readAll(zip, "damaged.zip");
      } catch (e) {
        assert.ok(e instanceof CorpusError, `not a CorpusError: ${(e as Error)?.stack ?? e}`);
        assert.ok(e.message.startsWith("damaged.zip is not a readable zip archive: "), e.message);
        return;
      }
      for (const [entry, bytes] of read) {
        assert.equal(bytes.length, entry.size);
        assert.equal(crc32(bytes), entry.crc32);
      }
      // A damaged copy of the archive that still reads gives the original members' bytes.
      if (copy) {
        assert.ok(read.length <= members.length);
        for (const [i, [, bytes]] of read.entries()) {
          assert.deepEqual(bytes, members[i].data ?? new Uint8Array());
        }
      }
    }),
    { numRuns: 1000 },
  );
});
