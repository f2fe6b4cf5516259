/**
 * The corpora of Dive into Deep Learning ch. 8 and how to load them: find a corpus by name on
 * disk (or download it once into a cache), check its SHA-1, and decode it; or read any `.txt` or
 * `.zip` file. Every failure is a `CorpusError` that names the file and says what to do.
 *
 * Loading touches the file system (and, for a download, the network), so this module needs
 * `--allow-read` (plus `--allow-env` to read `RNN_DATA_DIR` and the cache location, and
 * `--allow-write`/`--allow-net` to download).
 *
 * @module
 */
import { CorpusError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { errorCode, isPermissionError, isWindows, nodeFs, readBytes, readEnv } from "./runtime.ts";
import { readZipEntries, readZipMember, type ZipEntry } from "./zip.ts";

/**
 * Where a corpus comes from and how to check it.
 *
 * @example The source of a registered corpus
 * ```ts
 * import { CORPORA, type CorpusSource } from "./corpus_files.ts";
 * const source: CorpusSource = CORPORA.timemachine;
 * console.log(source.url, source.sha1);
 * ```
 */
export interface CorpusSource {
  /** The registry name, as passed to {@linkcode loadText} (`"jaychou"`, `"timemachine"`). */
  name: string;
  /** The file name as published (looked for in each data folder, and saved in the cache). */
  file: string;
  /** Where the file is downloaded from. */
  url: string;
  /** SHA-1 of `file`, lowercase hex. */
  sha1: string;
  /** For an archive: the text file inside it (also accepted on its own in a data folder). */
  member?: string;
  /** SHA-1 of `member`, lowercase hex. */
  memberSha1?: string;
  /** Length of the member's text in Unicode code points. */
  memberLength?: number;
}

/**
 * The known corpora by name: `jaychou` (Jay Chou's lyrics, the Chinese edition's dataset, a zip
 * holding `jaychou_lyrics.txt`) and `timemachine` (H. G. Wells, The Time Machine, the English
 * edition's dataset). See `data/README.md` for sources and licences.
 *
 * @example List the corpora
 * ```ts
 * import { CORPORA } from "./corpus_files.ts";
 * console.log(Object.keys(CORPORA)); // ["jaychou", "timemachine"]
 * ```
 */
export const CORPORA: Readonly<Record<string, CorpusSource>> = Object.freeze({
  jaychou: Object.freeze({
    name: "jaychou",
    file: "jaychou_lyrics.txt.zip",
    url:
      "https://raw.githubusercontent.com/d2l-ai/d2l-zh/66964df083b506fcc672132851ea171519d48d0b/data/jaychou_lyrics.txt.zip",
    sha1: "9529987e701a4f37048ab778270a5dde9a762a0b",
    member: "jaychou_lyrics.txt",
    memberSha1: "389655757a8ef48c7ad5253ded9caa13cdf6086a",
    memberLength: 63282,
  }),
  timemachine: Object.freeze({
    name: "timemachine",
    file: "timemachine.txt",
    url: "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
    sha1: "090b5e7e70c295757f55df93cb0a180b9691891a",
  }),
});

/**
 * Options of {@linkcode loadText}.
 *
 * @example Offline: look only in one folder
 * ```ts
 * import type { LoadTextOptions } from "./corpus_files.ts";
 * const options: LoadTextOptions = { dataDir: "../shared/data", download: false };
 * console.log(options.download); // false
 * ```
 */
export interface LoadTextOptions {
  /** First folder searched for a named corpus. Default `"./data"` (relative to the working folder). */
  dataDir?: string;
  /**
   * Second folder searched. Default: the `RNN_DATA_DIR` environment variable, read only when env
   * permission for it is granted. Pass `undefined` explicitly to skip it.
   */
  envDataDir?: string | undefined;
  /**
   * Third folder searched, and where downloads are saved. Default `$XDG_CACHE_HOME/rnn-wasm`,
   * else `$HOME/.cache/rnn-wasm` (`%LOCALAPPDATA%\rnn-wasm` on Windows); see
   * {@linkcode defaultCacheDir}.
   */
  cacheDir?: string;
  /** Download a named corpus that is found nowhere. Default `true`. */
  download?: boolean;
  /** Download from this URL instead of the source's (a mirror, or a test server). */
  url?: string;
  /** The `fetch` used to download. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Receives progress lines and notes, e.g. `"downloading timemachine from … "`, or that a corrupt
   * `.zip` was passed over for the `.txt` beside it. Default: silent.
   */
  onMessage?: (line: string) => void;
  /** Aborts a download in progress (the abort reason is thrown). */
  signal?: AbortSignal;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Joins a folder and a file name with "/" (accepted on every OS Deno runs on). */
function join(dir: string, name: string): string {
  return /[\\/]$/.test(dir) ? dir + name : `${dir}/${name}`;
}

/**
 * The default download cache folder: `$XDG_CACHE_HOME/rnn-wasm`, else `$HOME/.cache/rnn-wasm`;
 * on Windows `%LOCALAPPDATA%/rnn-wasm`. Environment variables are read only when permission is
 * granted.
 *
 * @returns The folder, or `undefined` when no variable is set or readable.
 * @example Where downloads go
 * ```ts
 * import { defaultCacheDir } from "./corpus_files.ts";
 * console.log(defaultCacheDir() ?? "no cache folder");
 * ```
 */
export function defaultCacheDir(): string | undefined {
  if (isWindows) {
    const local = readEnv("LOCALAPPDATA");
    return local ? join(local, "rnn-wasm") : undefined;
  }
  const xdg = readEnv("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "rnn-wasm");
  const home = readEnv("HOME");
  return home ? join(join(home, ".cache"), "rnn-wasm") : undefined;
}

/** SHA-1 of bytes as lowercase hex. */
async function sha1Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-1", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Decodes strict UTF-8; invalid bytes are a CorpusError naming the file. */
function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return textDecoder.decode(bytes);
  } catch (e) {
    throw new CorpusError(
      `${path} is not valid UTF-8 text; convert it to UTF-8 (or, for a named corpus, delete it ` +
        "and download it again)",
      path,
      { cause: e },
    );
  }
}

/** A zip member's bytes, or the zip reader's error when the archive cannot be read. */
type MemberResult = { bytes: Uint8Array } | { unreadable: CorpusError };

/**
 * The bytes of the text member of a zip: the member named `wanted`, else the only `.txt` member.
 * An archive that cannot be read is returned as such (for the caller to fall back or throw);
 * an archive without a suitable member is a CorpusError saying what it held.
 */
async function zipMember(zip: Uint8Array, path: string, wanted: string): Promise<MemberResult> {
  let entries: ZipEntry[];
  try {
    entries = readZipEntries(zip, path);
  } catch (e) {
    if (e instanceof CorpusError) return { unreadable: e };
    throw e;
  }
  const files = entries.filter((e) => !e.name.endsWith("/"));
  const base = (n: string): string => n.slice(n.lastIndexOf("/") + 1);
  let entry = files.find((e) => base(e.name) === wanted);
  if (entry === undefined) {
    const texts = files.filter((e) => /\.txt$/i.test(e.name) && !e.name.startsWith("__MACOSX/"));
    if (texts.length === 1) entry = texts[0];
  }
  if (entry === undefined) {
    const held = files.length === 0
      ? "no files"
      : files.map((e) => JSON.stringify(e.name)).join(", ");
    throw new CorpusError(
      `${path} should hold ${JSON.stringify(wanted)} or exactly one .txt file, but it holds ` +
        `${held}; pass the text file itself, or a zip with one .txt file`,
      path,
    );
  }
  try {
    return { bytes: await readZipMember(zip, entry, path) };
  } catch (e) {
    if (e instanceof CorpusError) return { unreadable: e };
    throw e;
  }
}

/** The zip reader's error, with what to do about it. */
function unreadableZip(e: CorpusError, path: string): CorpusError {
  return new CorpusError(
    `${e.message}; download it again or pass the .txt file itself`,
    path,
    { cause: e },
  );
}

type ReadResult = { bytes: Uint8Array } | { problem: string };

/** Reads a file; a missing or unreadable file is described rather than thrown. */
async function tryRead(path: string): Promise<ReadResult> {
  try {
    return { bytes: await readBytes(path) };
  } catch (e) {
    if (errorCode(e) === "ENOENT") return { problem: "not found" };
    if (isPermissionError(e)) {
      return { problem: "not readable without read permission (run with --allow-read)" };
    }
    return { problem: `not readable (${messageOf(e)})` };
  }
}

function checksumError(path: string, expected: string, found: string, source: CorpusSource) {
  return new CorpusError(
    `${path} is not the ${source.name} corpus: expected SHA-1 ${expected}, found ${found}. ` +
      `The file is corrupt or a different version; delete it so that it is downloaded again ` +
      `from ${source.url}, or replace it with a fresh copy from there`,
    path,
  );
}

function notFoundError(
  source: CorpusSource,
  looked: readonly string[],
  download: string,
  cause?: unknown,
): Error {
  const where = source.member ? `${source.file} (or ${source.member})` : source.file;
  return new CorpusError(
    `corpus ${JSON.stringify(source.name)} not found. Looked in:\n` +
      looked.map((line) => `  - ${line}\n`).join("") +
      `  - ${download}\n` +
      `To get it, download ${source.url} and put ${where} in ./data, or in a folder that ` +
      "RNN_DATA_DIR names (e.g. RNN_DATA_DIR=/path/to/data)" +
      (isPermissionError(cause)
        ? "; or allow the download (--allow-net --allow-write --allow-env)"
        : ""),
    source.name,
    cause === undefined ? undefined : { cause },
  );
}

/** The text of a registered corpus from the bytes of its published file, checking the member. */
async function sourceText(source: CorpusSource, bytes: Uint8Array, path: string): Promise<string> {
  if (source.member === undefined) return decodeUtf8(bytes, path);
  const result = await zipMember(bytes, path, source.member);
  if ("unreadable" in result) throw unreadableZip(result.unreadable, path);
  const member = result.bytes;
  const memberPath = `${path} → ${source.member}`;
  if (source.memberSha1 !== undefined) {
    const found = await sha1Hex(member);
    if (found !== source.memberSha1) {
      throw checksumError(memberPath, source.memberSha1, found, source);
    }
  }
  return decodeUtf8(member, memberPath);
}

/** Saves a download in the cache folder (created if missing), atomically and flushed to disk. */
async function saveInCache(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  await (await nodeFs()).mkdir(dir, { recursive: true });
  const target = join(dir, name);
  await writeFileAtomic(target, bytes);
  return target;
}

async function loadRegistered(source: CorpusSource, options: LoadTextOptions): Promise<string> {
  const looked: string[] = [];
  // Each folder in search order; a folder that is not configured leaves a note instead.
  const envDataDir = Object.hasOwn(options, "envDataDir")
    ? options.envDataDir
    : readEnv("RNN_DATA_DIR");
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const folders: { dir: string | undefined; label: string; note?: string }[] = [
    { dir: options.dataDir ?? "./data", label: "dataDir" },
    {
      dir: envDataDir,
      label: "RNN_DATA_DIR",
      note: Object.hasOwn(options, "envDataDir")
        ? undefined
        : "RNN_DATA_DIR: not set (or not readable without --allow-env)",
    },
    {
      dir: cacheDir,
      label: "cache",
      note: "cache: no cache folder (HOME not set, or not readable without --allow-env)",
    },
  ];
  const searched = new Set<string>();

  const candidates = [{ file: source.file, sha1: source.sha1, bare: false }];
  if (source.member !== undefined && source.memberSha1 !== undefined) {
    candidates.push({ file: source.member, sha1: source.memberSha1, bare: true });
  }
  for (const { dir, label, note } of folders) {
    if (!dir) {
      if (note) looked.push(note);
      continue;
    }
    if (searched.has(dir)) continue;
    searched.add(dir);
    for (const candidate of candidates) {
      const path = join(dir, candidate.file);
      const read = await tryRead(path);
      if ("problem" in read) {
        looked.push(`${path} (${label}): ${read.problem}`);
        continue;
      }
      const found = await sha1Hex(read.bytes);
      if (found !== candidate.sha1) throw checksumError(path, candidate.sha1, found, source);
      return candidate.bare
        ? decodeUtf8(read.bytes, path)
        : await sourceText(source, read.bytes, path);
    }
  }

  if (options.download === false) {
    throw notFoundError(source, looked, "download: off (download: false)");
  }
  const url = options.url ?? source.url;
  const fetchFn = options.fetch ?? globalThis.fetch;
  options.onMessage?.(`downloading ${source.name} from ${url} ...`);
  let bytes: Uint8Array;
  try {
    const response = await fetchFn(url, { signal: options.signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw notFoundError(
        source,
        looked,
        `download from ${url}: failed with HTTP ${response.status} ${response.statusText}`.trim(),
      );
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    if (e instanceof CorpusError) throw e;
    if (options.signal?.aborted) throw options.signal.reason;
    throw notFoundError(source, looked, `download from ${url}: failed (${messageOf(e)})`, e);
  }
  const found = await sha1Hex(bytes);
  if (found !== source.sha1) {
    throw new CorpusError(
      `the download of ${source.name} from ${url} is corrupt: expected SHA-1 ${source.sha1}, ` +
        `found ${found} (${bytes.length} bytes); nothing was saved. Try again later, or download ` +
        `${source.url} yourself and put it in a folder that RNN_DATA_DIR names`,
      url,
    );
  }
  const text = await sourceText(source, bytes, url);
  if (cacheDir !== undefined) {
    try {
      const saved = await saveInCache(cacheDir, source.file, bytes);
      options.onMessage?.(`saved ${saved}`);
    } catch (e) {
      options.onMessage?.(`could not save ${source.file} in ${cacheDir}: ${messageOf(e)}`);
    }
  }
  return text;
}

async function loadPath(path: string, options: LoadTextOptions): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path);
  } catch (e) {
    if (errorCode(e) === "ENOENT") {
      throw new CorpusError(
        `${path} does not exist, and it is not a corpus name either; corpus names: ` +
          `${Object.keys(CORPORA).join(", ")}; or pass the path of a .txt or .zip file`,
        path,
        { cause: e },
      );
    }
    if (errorCode(e) === "EISDIR") {
      throw new CorpusError(
        `${path} is a folder; pass a .txt or .zip file or a corpus name`,
        path,
        {
          cause: e,
        },
      );
    }
    if (isPermissionError(e)) {
      throw new CorpusError(
        `${path} is not readable without read permission (run with --allow-read)`,
        path,
        { cause: e },
      );
    }
    throw new CorpusError(`${path} could not be read (${messageOf(e)})`, path, { cause: e });
  }
  if (/\.zip$/i.test(path)) {
    const wanted = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1, -4);
    const result = await zipMember(bytes, path, wanted);
    if ("bytes" in result) return decodeUtf8(result.bytes, `${path} → ${wanted}`);
    // A corrupt archive with its text beside it (`x.txt.zip` → `x.txt`, `x.zip` → `x.txt`).
    const stem = path.slice(0, -4);
    const txtPath = /\.txt$/i.test(stem) ? stem : `${stem}.txt`;
    const read = await tryRead(txtPath);
    if ("problem" in read) throw unreadableZip(result.unreadable, path);
    options.onMessage?.(`${result.unreadable.message}; reading ${txtPath} instead`);
    return decodeUtf8(read.bytes, txtPath);
  }
  return decodeUtf8(bytes, path);
}

/**
 * Loads the text of a corpus, by registry name or by path.
 *
 * A name in {@linkcode CORPORA} is looked for in `dataDir` (`./data`), then `RNN_DATA_DIR`, then
 * the cache folder; in each folder the published file is accepted, and for `jaychou` also the bare
 * `jaychou_lyrics.txt`. Every file found is checked by SHA-1: a mismatch is a `CorpusError` naming
 * the file and both checksums, never a silent use. A corpus found nowhere is downloaded (unless
 * `download: false`), checked, and saved in the cache atomically. When that is not possible the
 * `CorpusError` lists every place looked and how to get the file.
 *
 * Anything else is a path: a `.zip` yields its `.txt` member (the one named like the zip without
 * `.zip`, else the only `.txt`); a `.zip` that cannot be read (corrupt, or beyond the zip reader)
 * gives way to the `.txt` of the same name beside it when there is one (`x.txt.zip` or `x.zip` →
 * `x.txt`, noted through `onMessage`). Any other file is read as strict UTF-8 (invalid bytes are a
 * `CorpusError`).
 *
 * @param nameOrPath `"jaychou"`, `"timemachine"`, or the path of a `.txt` or `.zip` file.
 * @param options Where to look, whether and how to download.
 * @returns The text, decoded from UTF-8 (a leading byte-order mark is dropped).
 * @example Load a text file
 * ```ts
 * import { loadText } from "./corpus_files.ts";
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "The Time Traveller");
 * console.log(await loadText(path)); // "The Time Traveller"
 * await Deno.remove(path);
 * ```
 */
export async function loadText(nameOrPath: string, options: LoadTextOptions = {}): Promise<string> {
  if (typeof nameOrPath !== "string" || nameOrPath === "") {
    throw new UsageError(
      `loadText() needs a corpus name (${Object.keys(CORPORA).join(", ")}) or a file path, ` +
        `got ${nameOrPath === "" ? "an empty string" : typeof nameOrPath}`,
    );
  }
  if (Object.hasOwn(CORPORA, nameOrPath)) return await loadRegistered(CORPORA[nameOrPath], options);
  return await loadPath(nameOrPath, options);
}
