/**
 * Files: safetensors (`safetensors.ts`), checkpoints (`checkpoint.ts`), PyTorch state dicts
 * (`pytorch.ts`), atomic writes (`atomic_write.ts`) and their messages for OS errors
 * (`os_errors.ts`), and the corpora on disk or downloaded (`corpus_files.ts`), zipped ones read by
 * a small reader of our own (`zip.ts`, stored or deflated entries). The only folder besides `cli/`
 * that touches the file system, through `node:` built-ins (`runtime.ts`), so that the same code runs
 * on Deno, Node and Bun.
 *
 * @module
 */
export * from "./safetensors.ts";
export * from "./checkpoint.ts";
export * from "./pytorch.ts";
export * from "./atomic_write.ts";
export * from "./corpus_files.ts";
