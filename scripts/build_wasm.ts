/**
 * Compiles the AssemblyScript kernels in `assembly/` and writes `build/kernels_<build>.wasm` (for
 * inspection) and `src/backend/_wasm/kernels.ts`, a generated module that
 * inlines the bytes so the library loads with no file-system or network access.
 *
 * Run with `deno task build:wasm`. `tests/wasm_module_test.ts` rebuilds in memory and fails when
 * the committed module is stale.
 *
 * @module
 */
import asc from "assemblyscript/asc";

const ROOT = new URL("../", import.meta.url);
const GENERATED = new URL("src/backend/_wasm/kernels.ts", ROOT);

/**
 * `"simd"`: 128-bit SIMD, runs everywhere; `"relaxed-simd"`: adds fused multiply-adds;
 * `"threads"`: the relaxed build over an imported shared memory, for the threaded backend;
 * `"threads-simd"`: the plain SIMD build over a shared memory, for threads on engines without
 * relaxed SIMD (Node 20) and for the same bits as `"simd"` on every engine.
 */
export type KernelVariant = "simd" | "relaxed-simd" | "threads" | "threads-simd";

/** Every build, in the order the generated module lists them. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  "simd",
  "relaxed-simd",
  "threads",
  "threads-simd",
];

/** Pages (64 KiB) of the threaded build's shared memory: at first, and at most (4 GiB). */
export const SHARED_MEMORY_PAGES = { initial: 64, maximum: 65536 } as const;

/**
 * Compiles `assembly/index.ts` with the release target of `asconfig.json`, plus relaxed SIMD for
 * that variant; returns the bytes.
 */
export async function compileKernels(variant: KernelVariant = "simd"): Promise<Uint8Array> {
  let wasm: Uint8Array | undefined;
  const stderr: string[] = [];
  const { error } = await asc.main(
    [
      "assembly/index.ts",
      "--config",
      "asconfig.json",
      "--target",
      "release",
      "--outFile",
      "out.wasm",
      // The relaxed build turns the GEMM tiles' multiply-adds into relaxed_madd (assembly/fma.ts).
      ...(variant === "relaxed-simd" || variant === "threads" ? ["--enable", "relaxed-simd"] : []),
      // Threads share one memory, which the module imports (JS creates it shared).
      ...(variant.startsWith("threads")
        ? [
          "--enable",
          "threads",
          "--sharedMemory",
          "--importMemory",
          "--initialMemory",
          String(SHARED_MEMORY_PAGES.initial),
          "--maximumMemory",
          String(SHARED_MEMORY_PAGES.maximum),
        ]
        : []),
    ],
    {
      readFile: (name: string, baseDir: string) => {
        try {
          return Deno.readTextFileSync(new URL(`${baseDir}/${name}`.replace(/^\.?\//, ""), ROOT));
        } catch {
          return null;
        }
      },
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith(".wasm") && typeof contents !== "string") wasm = contents;
      },
      listFiles: () => [],
      stdout: { write: () => true } as never,
      stderr: { write: (s: string) => (stderr.push(String(s)), true) } as never,
    },
  );
  if (error || !wasm) throw new Error(`asc failed: ${error?.message ?? ""}\n${stderr.join("")}`);
  return wasm;
}

/**
 * SHA-256 of what the kernel bytes are built from: every `assembly/*.ts` file (by name, in name
 * order), `asconfig.json` and the pinned compiler (`deno.json`'s `assemblyscript` import). The
 * generated module records it, so a test can tell that `assembly/` changed without a rebuild.
 * `edit` sees each file's text before it is hashed (for that test's own check).
 */
export async function sourceHash(
  edit: (name: string, text: string) => string = (_, text) => text,
): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL("assembly/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".ts")) names.push(`assembly/${entry.name}`);
  }
  names.sort();
  const compiler = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).imports
    .assemblyscript;
  const parts = [`compiler ${compiler}`];
  for (const name of [...names, "asconfig.json"]) {
    parts.push(`${name}\n${edit(name, await Deno.readTextFile(new URL(name, ROOT)))}`);
  }
  return await sha256(new TextEncoder().encode(parts.join("\n\0")));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Renders the generated TypeScript module: the builds as base64, each decoded on first use (a
 * process decodes only the builds it runs), and the hash of their sources.
 */
export async function renderModule(
  builds: Readonly<Record<KernelVariant, Uint8Array>>,
  sources: string,
): Promise<string> {
  const base64 = (bytes: Uint8Array) => {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/.{1,100}/g, (line) => `  "${line}" +\n`);
  };
  const hashes = await Promise.all(
    KERNEL_VARIANTS.map(async (v) =>
      `// ${v}: sha256 ${await sha256(builds[v])}, ${builds[v].length} bytes\n`
    ),
  );
  const entries = KERNEL_VARIANTS.map((v) => `  "${v}":\n${base64(builds[v])}    "",\n`);
  return `// @generated by scripts/build_wasm.ts from assembly/ — do not edit; run \`deno task build:wasm\`.
${hashes.join("")}
/** SHA-256 of the sources the bytes were built from (see \`sourceHash\` in scripts/build_wasm.ts). */
export const KERNELS_SOURCE_HASH = "${sources}";

/** The builds: \`simd\` runs everywhere, \`relaxed-simd\` adds fused multiply-adds, \`threads\` is
 * the relaxed build over an imported shared memory, one instance per thread, and
 * \`threads-simd\` the plain SIMD build over a shared memory. */
export type KernelBuild = ${KERNEL_VARIANTS.map((v) => `"${v}"`).join(" | ")};

const BASE64: Readonly<Record<KernelBuild, string>> = {
${entries.join("")}};

const decoded = new Map<KernelBuild, Uint8Array>();

/**
 * The bytes of one build, decoded on first use. The module imports nothing (\`threads\`,
 * \`threads-simd\`: only \`env.memory\`, shared, ${SHARED_MEMORY_PAGES.initial} to ${SHARED_MEMORY_PAGES.maximum} pages).
 */
export function kernelBytes(build: KernelBuild): Uint8Array {
  let bytes = decoded.get(build);
  if (!bytes) {
    const binary = atob(BASE64[build]);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    decoded.set(build, bytes);
  }
  return bytes;
}

/** Pages (64 KiB) of the threaded builds' shared memory: at first, and at most. */
export const SHARED_MEMORY_PAGES = { initial: ${SHARED_MEMORY_PAGES.initial}, maximum: ${SHARED_MEMORY_PAGES.maximum} } as const;
`;
}

if (import.meta.main) {
  const builds = {} as Record<KernelVariant, Uint8Array>;
  await Deno.mkdir(new URL("build/", ROOT), { recursive: true });
  for (const variant of KERNEL_VARIANTS) {
    builds[variant] = await compileKernels(variant);
    await Deno.writeFile(new URL(`build/kernels_${variant}.wasm`, ROOT), builds[variant]);
  }
  await Deno.writeTextFile(GENERATED, await renderModule(builds, await sourceHash()));
  const sizes = KERNEL_VARIANTS.map((v) => builds[v].length).join(" + ");
  console.log(`wrote src/backend/_wasm/kernels.ts (${sizes} bytes of wasm)`);
}
