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

const ROOT = new URL("../", import.meta.url);

/** A module of `deno info --json`'s graph, with what it imports. */
interface GraphModule {
  kind?: string;
  specifier: string;
  dependencies?: { specifier: string; code?: unknown; isDynamic?: boolean }[];
}

const graphs = new Map<string, Promise<GraphModule[]>>();
/** The module graph of an entry (`deno info --json`), read once for the tests below. */
function graphOf(entry: string): Promise<GraphModule[]> {
  let graph = graphs.get(entry);
  if (!graph) {
    graph = (async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", entry],
        cwd: ROOT,
        stderr: "inherit",
      }).output();
      assert.equal(out.code, 0);
      return (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] })
        .modules;
    })();
    graphs.set(entry, graph);
  }
  return graph;
}

Deno.test("the library and the command line need no npm package (a first run downloads none)", async () => {
  for (const entry of ["mod.ts", "book.ts"]) {
    const modules = await graphOf(entry);
    // Static and dynamic imports alike are in the graph: an npm one would be fetched on first use.
    const npm = modules.filter((m) => m.kind === "npm").map((m) => m.specifier);
    assert.deepEqual(npm, [], `${entry} reaches npm packages`);
    assert.ok(modules.length > 10, `${entry}: the graph looks too small to be real`);
  }
});

Deno.test("outside the command line the library loads no node: module (a page's bundle runs it)", async () => {
  for (const entry of ["mod.ts", "book.ts"]) {
    // Code imports of node: built-ins, loaded with the module (types alone are erased).
    const loaded = (await graphOf(entry))
      .filter((m) => !m.specifier.startsWith(new URL("src/cli/", ROOT).href))
      .flatMap((m) =>
        (m.dependencies ?? [])
          .filter((d) => d.specifier.startsWith("node:") && d.code && !d.isDynamic)
          .map((d) => `${m.specifier.slice(ROOT.href.length)} imports ${d.specifier}`)
      );
    assert.deepEqual(loaded, [], `${entry}: import these on first use instead`);
  }
});
