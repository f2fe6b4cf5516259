/** docs/cli.md is the commands' own help, as `deno task docs:cli` renders it now. */
import assert from "node:assert/strict";
import { renderCliDocs } from "../scripts/cli_docs.ts";

Deno.test("docs/cli.md is current with the commands' --help", async () => {
  const committed = await Deno.readTextFile(new URL("../docs/cli.md", import.meta.url));
  assert.ok(committed === await renderCliDocs(), "docs/cli.md is stale; run `deno task docs:cli`");
});
