/**
 * Settings: the one table of every setting's name, default and range (`settings.ts`), the config
 * types read from it (`ModelConfig`, `TextConfig`, `TrainConfig`, `RunConfig`), and the book's
 * runs as presets (`presets.ts`).
 *
 * @module
 */
export * from "./settings.ts";
export { type Preset, PRESETS } from "./presets.ts";
