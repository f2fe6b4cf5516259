// The same small job on Deno, Node and Bun against the npm build (tests/runtimes_test.ts):
// train 2 epochs, generate 50 characters, round-trip the checkpoint through bytes and a file,
// and the same training on 2 threads where the runtime has them. Prints one JSON line.
// Usage: <runtime> smoke.mjs ENTRY TEMP_DIR (ENTRY: the build's mod.js, or the sources' mod.ts).
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [entry, temp] = process.argv.slice(-2);
const lib = await import(pathToFileURL(entry).href);

const text = "The Time Traveller (for so it will be convenient to speak of him) was expounding " +
  "a recondite matter to us. His grey eyes shone and twinkled, and his usually pale face was " +
  "flushed and animated. ";
const corpus = lib.textCorpus(text.repeat(8));
const settings = {
  hidden: 64,
  epochs: 2,
  batchSize: 2,
  numSteps: 8,
  lr: 2,
  clip: 1,
  predEvery: 0,
  seed: 7,
};
const prefix = "The Time";

async function run(backend) {
  const { model, history } = await lib.train(corpus, { ...settings, backend });
  const generated = await lib.generate(model, corpus.vocab, prefix, { length: 50 });
  return { model, perplexities: history.map((h) => h.perplexity), generated };
}

const one = await run(lib.createWasmBackend({ relaxedSimd: false }));
const checkpoint = { model: one.model, vocab: corpus.vocab, text: corpus.text };
const bytes = await lib.encodeCheckpoint(checkpoint);
const fromBytes = lib.decodeCheckpoint(bytes);
const path = join(temp, "model.safetensors");
await lib.saveCheckpoint(path, checkpoint);
const fromFile = await lib.loadCheckpoint(path);
const again = async (c) =>
  await lib.generate(c.model, c.vocab, prefix, { length: 50, text: c.text });

let threads = { available: lib.threadsAvailable() };
if (threads.available) {
  // Every product split, however small: the test is that splitting changes no bit.
  const be = await lib.createThreadedBackend({ threads: 2, relaxedSimd: false, minSplitWork: 1 });
  try {
    const two = await run(be);
    threads = { ...threads, ...two, model: undefined, split: be.splits > 0 };
  } finally {
    be.dispose();
  }
}

// The file helpers: a text file by path, and (where RNN_DATA_DIR is set) a corpus by name, found
// through the environment, and its zip.
const textPath = join(temp, "text.txt");
const { writeFile } = await import("node:fs/promises");
await writeFile(textPath, text);
const files = { textFile: (await lib.loadText(textPath)) === text };
if (process.env.RNN_DATA_DIR) {
  const byName = await lib.loadText("jaychou");
  const zipped = await lib.loadText(join(process.env.RNN_DATA_DIR, "jaychou_lyrics.txt.zip"));
  Object.assign(files, {
    jaychou: [byName.length, byName.slice(0, 12)],
    zipSame: zipped === byName,
  });
}

console.log(JSON.stringify({
  files,
  perplexities: one.perplexities,
  generated: one.generated,
  checkpointBytes: bytes.length,
  fromBytes: await again(fromBytes),
  fromFile: await again(fromFile),
  threads,
}));
