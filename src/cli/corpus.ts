/**
 * A corpus for a command: the library's `textCorpus`, with the corpus named in its errors so
 * that "the text is empty" says which text.
 *
 * @module
 */
import { CorpusError } from "../errors.ts";
import type { TextConfig } from "../config/settings.ts";
import type { Corpus } from "../text/corpus.ts";
import { textCorpus } from "../text/text.ts";
import type { Vocab } from "../text/vocab.ts";

/**
 * Encodes a loaded text as `textCorpus` does.
 *
 * @param name The corpus as the user gave it (a preset name or a path).
 * @param raw Its text.
 * @param config Tokenisation settings.
 * @param vocab A vocabulary to encode with (a checkpoint's).
 * @returns The corpus.
 * @throws {CorpusError} When the text holds no tokens, naming the corpus.
 */
export function namedCorpus(
  name: string,
  raw: string,
  config: Readonly<Partial<TextConfig>>,
  vocab?: Vocab,
): Corpus {
  try {
    return textCorpus(raw, config, vocab);
  } catch (e) {
    if (e instanceof CorpusError && e.path === undefined) {
      throw new CorpusError(`${name}: ${e.message}`, name, { cause: e });
    }
    throw e;
  }
}
