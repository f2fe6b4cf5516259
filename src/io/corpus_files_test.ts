import assert from "node:assert/strict";
import { CorpusError } from "../errors.ts";
import { countBatches } from "../text/batches.ts";
import { textCorpus } from "../text/text.ts";
import { CORPORA, loadText, type LoadTextOptions } from "./corpus_files.ts";
import { crc32 } from "./zip.ts";

/** The shared data folder; tests that need the corpora are skipped when it is not set. */
const DATA: string | undefined = (() => {
  try {
    return Deno.env.get("RNN_DATA_DIR") || undefined;
  } catch {
    return undefined;
  }
})();
const needsData = { ignore: DATA === undefined };
const data = (name: string): string => `${DATA}/${name}`;

const { jaychou, timemachine } = CORPORA;

async function sha1(bytes: Uint8Array | string): Promise<string> {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", b as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Runs `fn` with fresh temporary folders, removed afterwards. */
async function withTempDirs(
  n: number,
  fn: (...dirs: string[]) => Promise<void>,
): Promise<void> {
  const dirs: string[] = [];
  try {
    for (let i = 0; i < n; i++) dirs.push(await Deno.makeTempDir({ prefix: "rnn_corpus_test_" }));
    await fn(...dirs);
  } finally {
    for (const dir of dirs) await Deno.remove(dir, { recursive: true });
  }
}

/** Options that see only the given folders: no RNN_DATA_DIR, no real cache, no download. */
function only(dataDir: string, cacheDir: string, extra: LoadTextOptions = {}): LoadTextOptions {
  return { dataDir, envDataDir: undefined, cacheDir, download: false, ...extra };
}

/** A zip archive of the given files, stored (zip_test.ts covers deflate and the format itself). */
function storedZip(files: Record<string, Uint8Array>): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff);
  const u32 = (n: number) => (u16(n & 0xffff), u16(n >>> 16));
  const put = (bytes: Uint8Array) => bytes.forEach((b) => out.push(b));
  const central: (() => void)[] = [];
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = new TextEncoder().encode(name);
    const offset = out.length;
    const common = () => {
      u16(20), u16(0x0800); // version needed, flags (UTF-8 names)
      u16(0), u16(0), u16(0x21); // method (stored), time, date
      u32(crc32(data)), u32(data.length), u32(data.length), u16(nameBytes.length), u16(0);
    };
    u32(0x04034b50), common(), put(nameBytes), put(data);
    central.push(() => {
      u32(0x02014b50), u16(0x031e), common();
      u16(0), u16(0), u16(0), u32(0), u32(offset); // comment, disk, attributes, local header
      put(nameBytes);
    });
  }
  const start = out.length;
  central.forEach((write) => write());
  const [count, size] = [central.length, out.length - start];
  u32(0x06054b50), u16(0), u16(0), u16(count), u16(count), u32(size), u32(start), u16(0);
  return Uint8Array.from(out);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

// --- loadText by path ---------------------------------------------------------------------------

Deno.test("loadText() reads a .txt path as strict UTF-8", async () => {
  await withTempDirs(1, async (dir) => {
    await Deno.writeTextFile(`${dir}/a.txt`, "想要有直升机\n");
    assert.equal(await loadText(`${dir}/a.txt`), "想要有直升机\n");
    await Deno.writeFile(`${dir}/bad.txt`, Uint8Array.of(0x61, 0xff, 0x62));
    await assert.rejects(loadText(`${dir}/bad.txt`), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.match(e.message, new RegExp(`${dir}/bad.txt is not valid UTF-8`));
      assert.equal(e.path, `${dir}/bad.txt`);
      return true;
    });
    await assert.rejects(loadText(dir), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.match(e.message, /is a folder/);
      return true;
    });
  });
});

Deno.test("loadText() reads the .txt member of a .zip path and says what a bad zip holds", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  await withTempDirs(1, async (dir) => {
    await Deno.writeFile(`${dir}/one.zip`, storedZip({ "inner/lyrics.txt": enc("歌词") }));
    assert.equal(await loadText(`${dir}/one.zip`), "歌词");

    await Deno.writeFile(
      `${dir}/songs.zip`,
      storedZip({ "a.txt": enc("a"), "songs": enc("the one"), "b.txt": enc("b") }),
    );
    assert.equal(await loadText(`${dir}/songs.zip`), "the one");

    await Deno.writeFile(`${dir}/two.zip`, storedZip({ "a.txt": enc("a"), "b.txt": enc("b") }));
    await assert.rejects(loadText(`${dir}/two.zip`), {
      name: "CorpusError",
      message: /should hold "two" or exactly one \.txt file, but it holds "a\.txt", "b\.txt"/,
    });
    await Deno.writeFile(`${dir}/empty.zip`, storedZip({}));
    await assert.rejects(loadText(`${dir}/empty.zip`), {
      name: "CorpusError",
      message: /holds no files/,
    });
    await Deno.writeFile(`${dir}/junk.zip`, enc("this is not a zip archive"));
    await assert.rejects(loadText(`${dir}/junk.zip`), {
      name: "CorpusError",
      message: /junk\.zip is not a readable zip archive/,
    });
  });
});

Deno.test("loadText() reads the .txt beside a .zip that cannot be read, and only then", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  await withTempDirs(1, async (dir) => {
    // x.zip → x.txt, noted through onMessage.
    await Deno.writeFile(`${dir}/junk.zip`, enc("this is not a zip archive"));
    await Deno.writeTextFile(`${dir}/junk.txt`, "the text beside");
    const messages: string[] = [];
    const onMessage = (line: string) => messages.push(line);
    assert.equal(await loadText(`${dir}/junk.zip`, { onMessage }), "the text beside");
    assert.equal(messages.length, 1, messages.join("\n"));
    assert.ok(
      messages[0].startsWith(`${dir}/junk.zip is not a readable zip archive: `),
      messages[0],
    );
    assert.ok(messages[0].endsWith(`; reading ${dir}/junk.txt instead`), messages[0]);

    // x.txt.zip → x.txt, for a member that fails its CRC-32; without onMessage nothing is printed.
    const zip = storedZip({ "lyrics.txt": enc("歌词") });
    zip[30 + "lyrics.txt".length] ^= 1; // the member's first byte
    await Deno.writeFile(`${dir}/lyrics.txt.zip`, zip);
    await Deno.writeTextFile(`${dir}/lyrics.txt`, "歌词 beside");
    const printed: unknown[][] = [];
    const saved = { ...console };
    for (const k of ["log", "info", "warn", "error", "debug"] as const) {
      console[k] = (...args: unknown[]) => printed.push(args);
    }
    try {
      assert.equal(await loadText(`${dir}/lyrics.txt.zip`), "歌词 beside");
    } finally {
      Object.assign(console, saved);
    }
    assert.deepEqual(printed, []);

    // Without the .txt the archive's own error stands, with what to do.
    await Deno.remove(`${dir}/lyrics.txt`);
    await assert.rejects(loadText(`${dir}/lyrics.txt.zip`), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.equal(e.path, `${dir}/lyrics.txt.zip`);
      assert.match(
        e.message,
        /lyrics\.txt\.zip is not a readable zip archive: member "lyrics\.txt" fails its CRC-32 check/,
      );
      assert.match(e.message, /; download it again or pass the \.txt file itself$/);
      return true;
    });

    // A readable zip without a suitable member is not corrupt: the .txt beside it is not read.
    await Deno.writeFile(`${dir}/two.zip`, storedZip({ "a.txt": enc("a"), "b.txt": enc("b") }));
    await Deno.writeTextFile(`${dir}/two.txt`, "beside");
    await assert.rejects(loadText(`${dir}/two.zip`, { onMessage }), {
      name: "CorpusError",
      message: /should hold "two" or exactly one \.txt file/,
    });
    assert.equal(messages.length, 1);

    // The .txt beside is held to the same rules as any text file, and named when it breaks one.
    await Deno.writeFile(`${dir}/bad.zip`, enc("not a zip either"));
    await Deno.writeFile(`${dir}/bad.txt`, Uint8Array.of(0x61, 0xff));
    await assert.rejects(loadText(`${dir}/bad.zip`), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.equal(e.path, `${dir}/bad.txt`);
      assert.match(e.message, /bad\.txt is not valid UTF-8/);
      return true;
    });
  });
});

Deno.test("loadText() on a path that does not exist lists the corpus names", async () => {
  await assert.rejects(loadText("no/such/file.txt"), (e: Error) => {
    assert.ok(e instanceof CorpusError, String(e));
    assert.equal(e.path, "no/such/file.txt");
    assert.match(e.message, /no\/such\/file\.txt does not exist/);
    assert.match(e.message, /corpus names: jaychou, timemachine/);
    return true;
  });
  // Not a corpus failure but a call without a name: a usage mistake.
  await assert.rejects(loadText(""), {
    name: "UsageError",
    message: /needs a corpus name \(jaychou, timemachine\) or a file path, got an empty string/,
  });
});

// --- loadText by name, from disk ----------------------------------------------------------------

Deno.test("loadText() refuses a corpus file whose SHA-1 does not match, naming both checksums", async () => {
  await withTempDirs(2, async (dataDir, cacheDir) => {
    const bytes = new TextEncoder().encode("not the time machine");
    await Deno.writeFile(`${dataDir}/timemachine.txt`, bytes);
    await assert.rejects(loadText("timemachine", only(dataDir, cacheDir)), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.equal(e.path, `${dataDir}/timemachine.txt`);
      assert.ok(e.message.includes(`${dataDir}/timemachine.txt`), e.message);
      assert.ok(e.message.includes(`expected SHA-1 ${timemachine.sha1}`), e.message);
      assert.match(e.message, /found [0-9a-f]{40}/);
      assert.match(e.message, /delete it/);
      return true;
    });
    const found = await sha1(bytes);
    await assert.rejects(loadText("timemachine", only(dataDir, cacheDir)), {
      message: new RegExp(`found ${found}`),
    });
  });
});

Deno.test("loadText() with download off lists every place it looked and how to get the file", async () => {
  await withTempDirs(3, async (dataDir, envDir, cacheDir) => {
    const options = { ...only(dataDir, cacheDir), envDataDir: envDir };
    await assert.rejects(loadText("jaychou", options), (e: Error) => {
      assert.ok(e instanceof CorpusError, String(e));
      assert.equal(e.path, "jaychou");
      for (const dir of [dataDir, envDir, cacheDir]) {
        assert.ok(e.message.includes(`${dir}/jaychou_lyrics.txt.zip`), e.message);
        assert.ok(e.message.includes(`${dir}/jaychou_lyrics.txt `), e.message);
      }
      assert.match(e.message, /\(dataDir\): not found/);
      assert.match(e.message, /\(RNN_DATA_DIR\): not found/);
      assert.match(e.message, /\(cache\): not found/);
      assert.match(e.message, /download: off/);
      assert.ok(e.message.includes(jaychou.url), e.message);
      assert.match(e.message, /RNN_DATA_DIR=/);
      return true;
    });
  });
});

Deno.test({
  name: "loadText('jaychou') has 63282 characters and the published SHA-1",
  ...needsData,
  fn: async () => {
    await withTempDirs(2, async (empty, cacheDir) => {
      const text = await loadText("jaychou", { ...only(empty, cacheDir), envDataDir: DATA });
      assert.equal(Array.from(text).length, 63282);
      assert.equal(Array.from(text).length, jaychou.memberLength);
      assert.equal(await sha1(text), jaychou.memberSha1);
      assert.equal(await sha1(await Deno.readFile(data(jaychou.file))), jaychou.sha1);
      assert.ok(!text.includes("\r"), "LF line ends");
    });
  },
});

Deno.test({
  name: "loadText('timemachine') loads with the published SHA-1",
  ...needsData,
  fn: async () => {
    await withTempDirs(1, async (cacheDir) => {
      const text = await loadText("timemachine", only(DATA!, cacheDir));
      assert.equal(await sha1(text), timemachine.sha1);
      assert.ok(text.startsWith("The Time Machine, by H. G. Wells"));
    });
  },
});

Deno.test({
  name: "the jaychou zip and the bare jaychou_lyrics.txt give the same text, by name and by path",
  ...needsData,
  fn: async () => {
    await withTempDirs(3, async (zipDir, txtDir, cacheDir) => {
      await Deno.copyFile(data(jaychou.file), `${zipDir}/${jaychou.file}`);
      await Deno.copyFile(data(jaychou.member!), `${txtDir}/${jaychou.member}`);
      const fromZip = await loadText("jaychou", only(zipDir, cacheDir));
      const fromTxt = await loadText("jaychou", only(txtDir, cacheDir));
      assert.equal(fromZip, fromTxt);
      assert.equal(await loadText(data(jaychou.file)), fromZip);
      assert.equal(await loadText(data(jaychou.member!)), fromZip);

      // A bare member with the wrong checksum is refused too, naming memberSha1.
      await Deno.writeTextFile(`${txtDir}/${jaychou.member}`, fromTxt.slice(1));
      await assert.rejects(loadText("jaychou", only(txtDir, cacheDir)), {
        name: "CorpusError",
        message: new RegExp(`expected SHA-1 ${jaychou.memberSha1}`),
      });
    });
  },
});

Deno.test({
  name: "loadText() searches dataDir before RNN_DATA_DIR and never skips a bad file silently",
  ...needsData,
  fn: async () => {
    await withTempDirs(2, async (dataDir, cacheDir) => {
      await Deno.writeTextFile(`${dataDir}/timemachine.txt`, "corrupt");
      await assert.rejects(
        loadText("timemachine", { ...only(dataDir, cacheDir), envDataDir: DATA }),
        { name: "CorpusError", message: new RegExp(`${dataDir}/timemachine.txt`) },
      );
      await Deno.remove(`${dataDir}/timemachine.txt`);
      const text = await loadText("timemachine", { ...only(dataDir, cacheDir), envDataDir: DATA });
      assert.equal(await sha1(text), timemachine.sha1);
    });
  },
});

Deno.test({
  name:
    "loadText('jaychou') + textCorpus() with the defaults: 10000 characters, 1027 tokens, 8 minibatches",
  ...needsData,
  fn: async () => {
    await withTempDirs(2, async (empty, cacheDir) => {
      const text = await loadText("jaychou", { ...only(empty, cacheDir), envDataDir: DATA });
      const corpus = textCorpus(text);
      const chars = corpus.vocab.toTokens(corpus.indices);
      assert.equal(chars.length, 10000);
      assert.equal(corpus.indices.length, 10000);
      assert.equal(corpus.vocab.size, 1027);
      assert.ok(!chars.includes("\n"));
      assert.equal(corpus.vocab.decode(corpus.indices), chars.join(""));
      // The first 10000 characters of the text, each newline a space.
      assert.equal(
        chars.join(""),
        Array.from(text).slice(0, 10000).join("").replace(/[\r\n]/g, " "),
      );
      assert.equal(countBatches("random", corpus.indices.length, 32, 35), 8);
      assert.equal(countBatches("sequential", corpus.indices.length, 32, 35), 8);
      const all = textCorpus(text, { maxTokens: 0 });
      assert.equal(all.indices.length, 63282);
    });
  },
});

// --- loadText by name, downloaded from a loopback server ----------------------------------------

/**
 * Serves the data files (and a corrupted copy under /corrupt/) on 127.0.0.1 for one test, with a
 * time limit, and shuts the server down afterwards.
 */
async function withServer(
  fn: (base: string, requests: string[], signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const file = path.replace(/^\/(corrupt\/)?/, "");
    if (![jaychou.file, timemachine.file].includes(file)) {
      return new Response("not here", { status: 404 });
    }
    const bytes = await Deno.readFile(data(file));
    if (path.startsWith("/corrupt/")) bytes[1000] ^= 0x20;
    return new Response(bytes);
  });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("download test timed out")), 10_000);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, requests, controller.signal);
  } finally {
    clearTimeout(timer);
    await server.shutdown();
  }
}

Deno.test({
  name: "loadText() downloads into the cache once, then finds it there",
  ...needsData,
  fn: async () => {
    await withServer(async (base, requests, signal) => {
      await withTempDirs(2, async (empty, cacheDir) => {
        for (const source of [timemachine, jaychou]) {
          const messages: string[] = [];
          const options: LoadTextOptions = {
            dataDir: empty,
            envDataDir: undefined,
            cacheDir,
            url: `${base}/${source.file}`,
            signal,
            onMessage: (line) => messages.push(line),
          };
          const before = requests.length;
          const text = await loadText(source.name, options);
          assert.equal(requests.length, before + 1);
          assert.match(messages[0], new RegExp(`^downloading ${source.name} from ${base}/`));
          assert.equal(await sha1(await Deno.readFile(`${cacheDir}/${source.file}`)), source.sha1);

          assert.equal(await loadText(source.name, options), text);
          assert.equal(requests.length, before + 1, "the second load made no request");
        }
        assert.deepEqual(await listDir(cacheDir), [jaychou.file, timemachine.file].sort());
      });
    });
  },
});

Deno.test({
  name: "loadText() refuses a corrupted download and saves nothing",
  ...needsData,
  fn: async () => {
    await withServer(async (base, requests, signal) => {
      await withTempDirs(2, async (empty, cacheDir) => {
        const url = `${base}/corrupt/${timemachine.file}`;
        await assert.rejects(
          loadText("timemachine", { dataDir: empty, envDataDir: undefined, cacheDir, url, signal }),
          (e: Error) => {
            assert.ok(e instanceof CorpusError, String(e));
            assert.ok(e.message.includes(url), e.message);
            assert.ok(e.message.includes(`expected SHA-1 ${timemachine.sha1}`), e.message);
            assert.match(e.message, /found [0-9a-f]{40}/);
            assert.match(e.message, /nothing was saved/);
            return true;
          },
        );
        assert.deepEqual(requests, [`/corrupt/${timemachine.file}`]);
        assert.deepEqual(await listDir(cacheDir), []);
      });
    });
  },
});

Deno.test({
  name: "loadText() reports a failed download (HTTP 404) with every place it looked",
  ...needsData,
  fn: async () => {
    await withServer(async (base, _requests, signal) => {
      await withTempDirs(2, async (empty, cacheDir) => {
        const url = `${base}/missing/${timemachine.file}`;
        await assert.rejects(
          loadText("timemachine", { dataDir: empty, envDataDir: undefined, cacheDir, url, signal }),
          (e: Error) => {
            assert.ok(e instanceof CorpusError, String(e));
            assert.ok(e.message.includes(`${empty}/timemachine.txt (dataDir): not found`));
            assert.ok(e.message.includes(`${cacheDir}/timemachine.txt (cache): not found`));
            assert.ok(e.message.includes(`download from ${url}: failed with HTTP 404`), e.message);
            assert.ok(e.message.includes(timemachine.url), e.message);
            assert.match(e.message, /RNN_DATA_DIR/);
            return true;
          },
        );
        assert.deepEqual(await listDir(cacheDir), []);
      });
    });
  },
});

Deno.test("loadText() reports a download that cannot connect, and uses options.fetch", async () => {
  await withTempDirs(2, async (empty, cacheDir) => {
    const calls: string[] = [];
    const failing: typeof fetch = (input) => {
      calls.push(String(input));
      return Promise.reject(new TypeError("connection refused"));
    };
    await assert.rejects(
      loadText("timemachine", { dataDir: empty, envDataDir: undefined, cacheDir, fetch: failing }),
      (e: Error) => {
        assert.ok(e instanceof CorpusError, String(e));
        assert.match(e.message, /failed \(connection refused\)/);
        return true;
      },
    );
    assert.deepEqual(calls, [timemachine.url]);
  });
});

Deno.test({
  name: "loadText() still returns a download that cannot be saved in the cache, and says why",
  ...needsData,
  fn: async () => {
    await withTempDirs(1, async (dir) => {
      const bytes = await Deno.readFile(data(timemachine.file));
      const notAFolder = `${dir}/cache-is-a-file`;
      await Deno.writeTextFile(notAFolder, "");
      const messages: string[] = [];
      const text = await loadText("timemachine", {
        dataDir: dir,
        envDataDir: undefined,
        cacheDir: notAFolder,
        fetch: () => Promise.resolve(new Response(bytes)),
        onMessage: (line) => messages.push(line),
      });
      assert.equal(await sha1(text), timemachine.sha1);
      assert.match(
        messages.at(-1)!,
        new RegExp(`^could not save timemachine.txt in ${notAFolder}`),
      );
    });
  },
});

Deno.test("loadText() runs without env permission, never prompting, and says RNN_DATA_DIR was not read", async () => {
  await withTempDirs(1, async (dir) => {
    const script = `${dir}/probe.ts`;
    const corpusModule = new URL("./corpus_files.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { loadText } from ${JSON.stringify(corpusModule)};
try {
  await loadText("timemachine", { dataDir: ${JSON.stringify(dir)}, download: false });
} catch (e) {
  console.log(e.name + ": " + e.message);
}`,
    );
    const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--allow-read=${dir}`,
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        script,
      ],
      stdin: "null",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.match(
      out,
      /^CorpusError: corpus "timemachine" not found/,
      new TextDecoder().decode(stderr),
    );
    assert.match(out, /RNN_DATA_DIR: not set \(or not readable without --allow-env\)/);
    assert.match(out, /cache: no cache folder/);
  });
});
