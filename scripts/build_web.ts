/**
 * `deno task build:web`: bundles the playground (`web/app.ts`, `web/worker.ts`) and the threads'
 * worker (`src/backend/thread_worker.ts`) for the browser with `deno bundle`, minified, into
 * `web/dist/`. The bundles are committed, so the playground serves offline with no build step;
 * `tests/web_bundle_test.ts` fails when they are stale.
 *
 * Usage: `deno task build:web [--out DIR]` (another folder, for the test).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The bundles: output name and entry, relative to the project root. */
export const BUNDLES: readonly [string, string][] = [
  ["app.js", "web/app.ts"],
  ["worker.js", "web/worker.ts"],
  ["thread_worker.js", "src/backend/thread_worker.ts"],
];

const ROOT = new URL("../", import.meta.url);

/**
 * Bundles every entry into `out`.
 *
 * @param out The folder (created if missing).
 */
export async function buildWeb(out: string): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  for (const [name, entry] of BUNDLES) {
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "--output",
        `${out}/${name}`,
        new URL(entry, ROOT).pathname,
      ],
      cwd: ROOT.pathname,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!result.success) throw new Error(`deno bundle failed on ${entry}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" } } });
  const out = values.out ?? new URL("web/dist", ROOT).pathname;
  await buildWeb(out);
  for (const [name] of BUNDLES) {
    console.log(`${out}/${name}: ${(await Deno.stat(`${out}/${name}`)).size} bytes`);
  }
}
