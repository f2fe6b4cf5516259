/**
 * The playground's bundles in `web/dist/` are what `deno task build:web` makes of today's sources:
 * the page is served from them, so a change to `web/` or the library that was not rebuilt would
 * ship the old code.
 */
import assert from "node:assert/strict";
import { buildWeb, BUNDLES } from "../scripts/build_web.ts";

Deno.test("web/dist holds the bundles of the current sources (deno task build:web)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await buildWeb(dir);
    for (const [name] of BUNDLES) {
      const built = await Deno.readFile(`${dir}/${name}`);
      const kept = await Deno.readFile(new URL(`../web/dist/${name}`, import.meta.url));
      assert.ok(
        built.length === kept.length && built.every((b, i) => b === kept[i]),
        `web/dist/${name} is stale: run deno task build:web`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
