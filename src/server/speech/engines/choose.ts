/**
 * One engine choice for every process (the server, `npm run worker`, `npm run transcribe`): the
 * registry of what is installed and configured (Whisper files in CALLSCRIBE_MODELS_DIR, Deepgram with
 * DEEPGRAM_API_KEY, PocketSphinx always), then one model from it: the one asked for by name (the
 * CLI's `--model`), else the registry's default order (CALLSCRIBE_DEFAULT_MODEL; else Whisper with a
 * real model; else PocketSphinx; see `registry.ts`).
 */
import { ConfigError, type EngineConfig } from "../../config";
import type { SpeechEngine } from "./engine";
import { createEngineRegistry, ModelUnavailableError, type EngineRegistry, type EngineRegistryOptions, type ModelEntry } from "./registry";

/** Options of {@link chooseEngine}. */
export interface ChooseEngineOptions {
  /** A model asked for by name (canonical name or alias); absent: the default order. */
  model?: string;
  /** How the user named `model`, for the error, e.g. `--model`. Default `model`. */
  modelSource?: string;
  /** Engine options passed to the registry (pool sizes). */
  pocketsphinx?: EngineRegistryOptions["pocketsphinx"];
  whisper?: EngineRegistryOptions["whisper"];
}

/** The registry (the caller closes it: that closes the engine) and the chosen model. */
export interface ChosenEngine {
  registry: EngineRegistry;
  engine: SpeechEngine;
  entry: ModelEntry;
}

/**
 * Build the registry from `config` and pick the engine. Nothing is loaded yet: call
 * `engine.ready()` to load it (and see it fail) before serving.
 * @throws ConfigError when the model is not available: `variable` is CALLSCRIBE_DEFAULT_MODEL, or
 *   `modelSource` for `model`; the message lists the available models
 */
export async function chooseEngine(config: EngineConfig, options: ChooseEngineOptions = {}): Promise<ChosenEngine> {
  let registry: EngineRegistry;
  try {
    registry = await createEngineRegistry({ modelsDir: config.modelsDir, deepgram: config.deepgram, defaultModel: config.defaultModel, pocketsphinx: options.pocketsphinx, whisper: options.whisper });
  } catch (err) {
    if (err instanceof ModelUnavailableError) {
      throw new ConfigError("CALLSCRIBE_DEFAULT_MODEL", `Invalid environment variable CALLSCRIBE_DEFAULT_MODEL=${JSON.stringify(config.defaultModel)}: ${err.message}.`);
    }
    throw err;
  }
  try {
    const { engine, entry } = registry.resolve(options.model);
    return { registry, engine, entry };
  } catch (err) {
    await registry.close();
    if (err instanceof ModelUnavailableError) {
      const source = options.modelSource ?? "model";
      throw new ConfigError(source, `Invalid ${source} ${JSON.stringify(options.model)}: ${err.message}.`);
    }
    throw err;
  }
}
