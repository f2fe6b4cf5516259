/**
 * The folders' order (docs/architecture.md): a library module imports only from its own folder
 * and from folders earlier in the order, never upwards, so each layer can be read, tested and
 * replaced without the ones above it.
 */
import assert from "node:assert/strict";

const ORDER = [
  ["errors.ts", "rng.ts"],
  ["backend"],
  ["config"],
  ["text"],
  ["model"],
  ["generate"],
  ["train"],
  ["io"],
  ["cli", "book"],
];
const SRC = new URL("../src/", import.meta.url);

/** The rank of a path under src/: its folder's (or top-level file's) place in ORDER. */
function rank(path: string): number {
  const head = path.split("/")[0];
  const at = ORDER.findIndex((names) => names.includes(head));
  if (at < 0) throw new Error(`src/${path} is in no layer of the order; add it to this test`);
  return at;
}

async function* sources(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* sources(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield `${prefix}${e.name}`;
  }
}

Deno.test("no library module imports from a folder above its own", async () => {
  const upward: string[] = [];
  for await (const file of sources(SRC)) {
    const text = await Deno.readTextFile(new URL(file, SRC));
    // Static and dynamic imports at the start of a line (doc examples are inside comments).
    for (
      const m of text.matchAll(/^(?:import|export)[^"]*?from "(\.[^"]+)"|import\("(\.[^"]+)"\)/gm)
    ) {
      const target = new URL(m[1] ?? m[2], new URL(file, SRC)).pathname;
      if (!target.startsWith(SRC.pathname)) continue;
      const to = target.slice(SRC.pathname.length);
      if (rank(to) > rank(file)) upward.push(`src/${file} imports src/${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("the library and the command line need no npm package (a first run downloads none)", async () => {
  const root = new URL("../", import.meta.url);
  for (const entry of ["mod.ts", "book.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { kind: string; specifier: string }[];
    };
    // Static and dynamic imports alike are in the graph: an npm one would be fetched on first use.
    const npm = graph.modules.filter((m) => m.kind === "npm").map((m) => m.specifier);
    assert.deepEqual(npm, [], `${entry} reaches npm packages`);
    assert.ok(graph.modules.length > 10, `${entry}: the graph looks too small to be real`);
  }
});

Deno.test("outside the command line the library loads no node: module (a page's bundle runs it)", async () => {
  const root = new URL("../", import.meta.url);
  for (const entry of ["mod.ts", "book.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { specifier: string; code?: unknown; isDynamic?: boolean }[];
      }[];
    };
    // Code imports of node: built-ins, loaded with the module (types alone are erased).
    const loaded = graph.modules
      .filter((m) => !m.specifier.startsWith(new URL("src/cli/", root).href))
      .flatMap((m) =>
        (m.dependencies ?? [])
          .filter((d) => d.specifier.startsWith("node:") && d.code && !d.isDynamic)
          .map((d) => `${m.specifier.slice(root.href.length)} imports ${d.specifier}`)
      );
    assert.deepEqual(loaded, [], `${entry}: import these on first use instead`);
  }
});
