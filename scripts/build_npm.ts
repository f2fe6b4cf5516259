/**
 * `deno task build:npm`: the library as npm users get it (what JSR serves to `npx jsr add`):
 * ECMAScript modules with type declarations in `build/npm/`, one `.js` and one `.d.ts` per module
 * of the two entries' graphs, and a `package.json` with the same two entries. Nothing in it is
 * committed; `tests/runtimes_test.ts` builds it and runs it on Node, Bun and Deno.
 *
 * The sources are copied to `build/npm-src/` with two changes: `mod.ts` loses its command-line
 * block (`import.meta.main`, for Deno only), and the threads' worker is named by its `.js` file
 * (a URL, which TypeScript does not rewrite as it rewrites imports). TypeScript then checks and
 * compiles the copy against Node's and WebGPU's declarations.
 *
 * Usage: `deno task build:npm [--out DIR]` (another folder, for the test).
 *
 * @module
 */
import ts from "typescript";
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url);

/** A change to one copied file: the text it must contain, and what replaces it. */
type Edit = [file: string, find: RegExp, replace: string];

/** What only Deno needs, taken out of the copies (each must match, or the build fails). */
const EDITS: readonly Edit[] = [
  ["mod.ts", /\nif \(import\.meta\.main\) \{[\s\S]*?\n\}\n/, "\n"],
  ["src/backend/threads.ts", /"\.\/thread_worker\.ts"/, '"./thread_worker.js"'],
];

/**
 * TypeScript's settings for the package as an npm user's project has them (ES2022 modules resolved
 * as Node does, strict); the build adds its own, and `tests/runtimes_test.ts` type-checks a user's
 * module with these.
 */
export const NPM_USER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
  types: [],
  strict: true,
  skipLibCheck: true,
};

/** The type packages the build compiles against (pinned in `deno.json`). */
const TYPE_PACKAGES = ["build-types/node", "build-types/webgpu"] as const;

/** Runs a command and returns its standard output; fails with its standard error. */
async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`deno ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The project's own modules that the two entries reach, relative to the root. */
async function localModules(): Promise<string[]> {
  const files = new Set<string>();
  for (const entry of ["mod.ts", "book.ts"]) {
    const info = JSON.parse(await run(["info", "--json", entry])) as {
      modules: { specifier: string }[];
    };
    for (const { specifier } of info.modules) {
      if (specifier.startsWith(ROOT.href)) files.add(specifier.slice(ROOT.href.length));
    }
  }
  // mod.ts reaches the command line only through its import.meta.main block, left out below.
  for (const f of files) if (f.startsWith("src/cli/")) files.delete(f);
  // Loaded by URL (new Worker), so no import names it.
  files.add("src/backend/thread_worker.ts");
  return [...files].sort();
}

/** The declaration file of a type package (its name in `deno.json`'s imports), from Deno's cache. */
async function typesEntry(name: string): Promise<string> {
  const info = JSON.parse(await run(["info", "--json", name])) as {
    roots: string[];
    npmPackages: Record<string, { localPath?: string }>;
  };
  // The root is "npm:@scope/name@version"; the packages are keyed "@scope/name@version".
  const pkg = info.npmPackages[info.roots[0].replace(/^npm:\/?/, "")];
  if (!pkg?.localPath) throw new Error(`${name} is not in Deno's npm cache`);
  const manifest = JSON.parse(await Deno.readTextFile(`${pkg.localPath}/package.json`)) as {
    types?: string;
    typings?: string;
  };
  return `${pkg.localPath}/${manifest.types ?? manifest.typings ?? "index.d.ts"}`;
}

/**
 * Copies the library into `src` (with {@linkcode EDITS}) and compiles it into `out`.
 *
 * @param out The package folder (replaced).
 * @param src The folder of the copied sources (replaced).
 * @returns The files written to `out`.
 */
export async function buildNpm(out: string, src: string): Promise<string[]> {
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.remove(src, { recursive: true }).catch(() => {});
  const files = await localModules();
  const pending = new Map(EDITS.map(([f, find, by]) => [f, { find, by }]));
  for (const file of files) {
    let text = await Deno.readTextFile(new URL(file, ROOT));
    const edit = pending.get(file);
    if (edit) {
      if (!edit.find.test(text)) throw new Error(`${file} no longer contains ${edit.find}`);
      text = text.replace(edit.find, edit.by);
      pending.delete(file);
    }
    await Deno.mkdir(`${src}/${file.slice(0, file.lastIndexOf("/") + 1)}`, { recursive: true });
    await Deno.writeTextFile(`${src}/${file}`, text);
  }
  if (pending.size) throw new Error(`not in the graph: ${[...pending.keys()].join(", ")}`);
  await Deno.writeTextFile(`${src}/package.json`, '{ "type": "module" }\n');

  const types = await Promise.all(TYPE_PACKAGES.map(typesEntry));
  const options: ts.CompilerOptions = {
    ...NPM_USER_OPTIONS,
    declaration: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    rootDir: src,
    outDir: out,
    newLine: ts.NewLineKind.LineFeed,
  };
  const roots = [...files.map((f) => `${src}/${f}`), ...types];
  const program = ts.createProgram(roots, options);
  const result = program.emit();
  const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => src,
      getNewLine: () => "\n",
    };
    throw new Error(ts.formatDiagnostics(problems.slice(0, 20), host));
  }

  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    name: string;
    version: string;
    license: string;
  };
  const entry = (name: string) => ({ types: `./${name}.d.ts`, default: `./${name}.js` });
  const manifest = {
    name: config.name,
    version: config.version,
    license: config.license,
    type: "module",
    exports: { ".": entry("mod"), "./book": entry("book") },
    engines: { node: ">=20" },
    sideEffects: false,
  };
  await Deno.writeTextFile(`${out}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
  await Deno.copyFile(new URL("README.md", ROOT), `${out}/README.md`);
  return [...files.map((f) => f.replace(/\.ts$/, ".js")), "package.json"];
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" } } });
  const out = values.out ?? new URL("build/npm", ROOT).pathname;
  const files = await buildNpm(out, `${out}-src`);
  console.log(`${out}: ${files.length} files`);
}
