import assert from "node:assert/strict";
import { DataError } from "../errors.ts";
import { writeFileAtomic, writeTextFileAtomic } from "./atomic_write.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "atomic_write_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The sorted names in `dir`. */
async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("writeFileAtomic() creates the file with exactly the given bytes", async () => {
  await inTempDir(async (dir) => {
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 2654435761) >>> 24);
    await writeFileAtomic(`${dir}/model.safetensors`, bytes);
    assert.deepEqual(await Deno.readFile(`${dir}/model.safetensors`), bytes);
    assert.deepEqual(await list(dir), ["model.safetensors"]);
  });
});

Deno.test("writeFileAtomic() writes an empty file", async () => {
  await inTempDir(async (dir) => {
    await writeFileAtomic(`${dir}/empty`, new Uint8Array(0));
    assert.equal((await Deno.stat(`${dir}/empty`)).size, 0);
    assert.deepEqual(await list(dir), ["empty"]);
  });
});

Deno.test("writeFileAtomic() replaces an existing file and leaves no temporary files", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/ckpt.bin`;
    await Deno.writeFile(path, new Uint8Array(1000).fill(7));
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, new Uint8Array([4]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([4]));
    assert.deepEqual(await list(dir), ["ckpt.bin"]);
  });
});

Deno.test("writeFileAtomic() handles concurrent writes to one path with no litter", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/same`;
    const contents = Array.from({ length: 8 }, (_, i) => new Uint8Array(4096).fill(i));
    await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
    const final = await Deno.readFile(path);
    assert.ok(contents.some((c) => c.length === final.length && c.every((b, i) => b === final[i])));
    assert.deepEqual(await list(dir), ["same"]);
  });
});

Deno.test("writeFileAtomic() into a missing directory rejects with a DataError naming the path, and litters nothing", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/missing/model.safetensors`;
    await assert.rejects(writeFileAtomic(path, new Uint8Array([1])), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.path, path);
      assert.equal(e.message, `${path} could not be written: no such file or folder`);
      assert.equal((e.cause as { code?: string }).code, "ENOENT");
      // The user's path, never the hidden temporary file's.
      assert.doesNotMatch(e.message, /\.tmp/);
      return true;
    });
    assert.deepEqual(await list(dir), []);
  });
});

Deno.test("writeFileAtomic() that fails mid-write keeps the old file and removes its temporary", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/ckpt.bin`;
    await Deno.writeFile(path, new Uint8Array([9, 9, 9]));
    const boom = new Error("disk on fire");
    // A buffer that throws once the write has started: the temporary file exists by then.
    class FailingBytes extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        throw boom;
      }
    }
    await assert.rejects(writeFileAtomic(path, new FailingBytes(16)), (e) => e === boom);
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([9, 9, 9]));
    assert.deepEqual(await list(dir), ["ckpt.bin"]);
  });
});

Deno.test("writeFileAtomic() onto a directory rejects and removes its temporary", async () => {
  await inTempDir(async (dir) => {
    // The temporary file is written, then the rename over a non-empty directory fails.
    await Deno.mkdir(`${dir}/taken`);
    await Deno.writeFile(`${dir}/taken/keep`, new Uint8Array([1]));
    await assert.rejects(writeFileAtomic(`${dir}/taken`, new Uint8Array([2])), (e: unknown) => {
      assert.ok(e instanceof DataError, String(e));
      assert.match(e.message, /taken could not be written: /);
      assert.doesNotMatch(e.message, /\.tmp/);
      return true;
    });
    assert.deepEqual(await list(dir), ["taken"]);
    assert.deepEqual(await Deno.readFile(`${dir}/taken/keep`), new Uint8Array([1]));
  });
});

Deno.test("writeFileAtomic() rejects a path that names no file with TypeError", async () => {
  await assert.rejects(writeFileAtomic("", new Uint8Array(0)), TypeError);
  await assert.rejects(writeFileAtomic("some/dir/", new Uint8Array(0)), TypeError);
});

Deno.test("writeFileAtomic() accepts a bare file name, relative to the working directory", async () => {
  await inTempDir(async (dir) => {
    // A child process, so changing the working directory cannot disturb parallel tests.
    const module = new URL("./atomic_write.ts", import.meta.url).href;
    const code = `import { writeFileAtomic } from ${JSON.stringify(module)};
      await writeFileAtomic("bare.bin", new Uint8Array([5]));`;
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", code],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(success, new TextDecoder().decode(stderr));
    assert.deepEqual(await Deno.readFile(`${dir}/bare.bin`), new Uint8Array([5]));
    assert.deepEqual(await list(dir), ["bare.bin"]);
  });
});

Deno.test("writeTextFileAtomic() writes UTF-8 text", async () => {
  await inTempDir(async (dir) => {
    const text = '{"name":"char-rnn","vocab":"héllo → 世界"}\n';
    await writeTextFileAtomic(`${dir}/config.json`, text);
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), text);
    await writeTextFileAtomic(`${dir}/config.json`, "{}");
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), "{}");
    assert.deepEqual(await list(dir), ["config.json"]);
  });
});
