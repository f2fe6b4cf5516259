/**
 * Generation: choosing a token from logits (`sample.ts`), the one decoder that owns a
 * generation's state (`decoder.ts`), and the public forms: whole text, batches and streams
 * (`generate.ts`).
 *
 * @module
 */
export * from "./sample.ts";
export * from "./generate.ts";
