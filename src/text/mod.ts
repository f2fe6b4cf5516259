/**
 * Text: the vocabulary (`vocab.ts`), the book's tokenisers (`tokenize.ts`), raw text to tokens
 * and corpora under a `TextConfig` (`text.ts`, `corpus.ts`), and the minibatch samplers
 * (`batches.ts`). No file access: loading corpora is `io/corpus_files.ts`.
 *
 * @module
 */
export * from "./vocab.ts";
export * from "./tokenize.ts";
export * from "./text.ts";
export * from "./corpus.ts";
export * from "./batches.ts";
