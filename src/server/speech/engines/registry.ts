/**
 * The engine registry: which speech models this server offers, which one a request gets, and the
 * engines behind them (created on first use, cached, closed together on shutdown).
 *
 * Model names (`model=` of `/v1/listen`):
 * - `pocketsphinx` / `pocketsphinx-en-us`: CMU PocketSphinx (Debian `pocketsphinx-en-us`), always offered.
 * - `whisper-<name>`: whisper.cpp with `<modelsDir>/ggml-<name>.bin` (or whisper.cpp's test model
 *   `for-tests-ggml-<name>.bin`; test models have a vocabulary but no weights: offered, flagged
 *   `testModel`, never chosen as the default).
 * - `nova-3`, `nova-2`, … (see {@link DEEPGRAM_MODELS}): Deepgram's cloud, relayed with the server's
 *   key; offered only when DEEPGRAM_API_KEY is set.
 *
 * Default order (a request without `model=`), documented in the README and DESIGN.md §5:
 * 1. `CALLSCRIBE_DEFAULT_MODEL` when set (any available model, Deepgram included);
 * 2. Whisper with a real (non-test) model: the largest file wins (more weights, better words);
 * 3. PocketSphinx.
 * Deepgram is never the default unless configured: sending audio to a cloud needs an explicit choice.
 */
import type { ModelInfo } from "../protocol";
import { modelIdentity } from "../results";
import { DEEPGRAM_LANGUAGES, DEEPGRAM_MODELS, createDeepgramEngine } from "./deepgram/index";
import type { SpeechEngine } from "./engine";
import { createPocketSphinxEngine, type PocketSphinxEngineOptions } from "./pocketsphinx/index";
import { SUPPORTED_LANGUAGES as POCKETSPHINX_LANGUAGES } from "./pocketsphinx/options";
import { createWhisperEngine, listWhisperModels, defaultModelsDir, type WhisperEngineOptions } from "./whisper/index";
import { WHISPER_LANGUAGES } from "./whisper/options";

/** One model the server offers. */
export interface ModelEntry {
  /** Canonical model name, as in `model=` and `model_info.name`, e.g. `whisper-base.en`. */
  model: string;
  /** Other names that select it, e.g. `pocketsphinx` for `pocketsphinx-en-us`. */
  aliases: string[];
  /** Engine (provider) name: `pocketsphinx`, `whisper`, `deepgram`. */
  provider: string;
  /** Lower-case BCP 47 primary tags the model accepts. */
  languages: string[];
  /** True for whisper.cpp's test models: they compute but transcribe nothing (no weights). */
  testModel: boolean;
  /** True when the audio leaves this server (Deepgram's cloud). */
  cloud: boolean;
}

/** `GET /v1/models` body, Deepgram's shape (`stt` only; we have no text-to-speech). */
export interface ModelsResponse {
  stt: {
    name: string;
    canonical_name: string;
    architecture: string;
    languages: string[];
    version: string;
    uuid: string;
    batch: boolean;
    streaming: boolean;
    formatted_output: boolean;
    /** Ours: the model the server uses when a request names none. */
    default: boolean;
    /** Ours: whisper.cpp test model (no weights, no accuracy). */
    test_model: boolean;
  }[];
}

/** The requested model is unknown or not available here; `message` says which models are. */
export class ModelUnavailableError extends Error {
  constructor(
    readonly requested: string,
    readonly available: string[],
    detail?: string,
  ) {
    super(`${detail ?? `model "${requested}" is not available on this server`}; available: ${available.join(", ")} (or absent for the default)`);
    this.name = "ModelUnavailableError";
  }
}

/** What the `/v1/listen` routes need: an engine for a requested model. */
export interface EngineResolver {
  /**
   * The engine for `model` (the default when undefined) and its Deepgram model identity.
   * @throws ModelUnavailableError for unknown or unavailable models
   */
  resolve(model: string | undefined): { engine: SpeechEngine; identity: { uuid: string; info: ModelInfo }; entry: ModelEntry };
  /** The default engine (created if needed). */
  readonly defaultEngine: SpeechEngine;
  /** Deepgram `GET /v1/models` body. */
  modelsResponse(): ModelsResponse;
  /** Close every engine this resolver created. */
  close(): Promise<void>;
}

/** Options of {@link createEngineRegistry}. */
export interface EngineRegistryOptions {
  /** Whisper models folder. Default `defaultModelsDir()` (`models/` in the repository; the entry points pass CALLSCRIBE_MODELS_DIR from the config). */
  modelsDir?: string;
  /** Deepgram relay, when a key is configured. */
  deepgram?: { apiKey: string; baseUrl: string };
  /** Model for requests without `model=` (CALLSCRIBE_DEFAULT_MODEL). @throws at creation when not available. */
  defaultModel?: string;
  pocketsphinx?: PocketSphinxEngineOptions;
  /** Options for every Whisper engine (model and modelsDir are set per model). */
  whisper?: Omit<WhisperEngineOptions, "model" | "modelsDir">;
}

/** The models and the engines behind them. */
export class EngineRegistry implements EngineResolver {
  private readonly engines = new Map<string, SpeechEngine>();
  private readonly byName = new Map<string, ModelEntry>();
  readonly defaultModel: string;

  /**
   * @param entries models offered, in listing order
   * @param factory creates the engine of an entry
   * @param defaultModel canonical name or alias of the default; must be among `entries`
   * @param owned engines the registry did not create (not closed by it), by canonical model
   * @throws ModelUnavailableError when `defaultModel` is not offered
   */
  constructor(
    readonly entries: ModelEntry[],
    private readonly factory: (entry: ModelEntry) => SpeechEngine,
    defaultModel: string,
    private readonly external: ReadonlySet<string> = new Set(),
  ) {
    for (const e of entries) for (const n of [e.model, ...e.aliases]) if (!this.byName.has(n)) this.byName.set(n, e);
    const d = this.byName.get(defaultModel);
    if (!d) throw new ModelUnavailableError(defaultModel, this.names(), `default model "${defaultModel}" (CALLSCRIBE_DEFAULT_MODEL) is not available`);
    this.defaultModel = d.model;
  }

  /**
   * A registry around one engine the caller made and closes (tests, and `buildServer({engine})`):
   * the engine answers to its `name` and `model`.
   */
  static single(engine: SpeechEngine): EngineRegistry {
    const entry: ModelEntry = {
      model: engine.model,
      aliases: engine.name !== engine.model ? [engine.name] : [],
      provider: engine.name,
      languages: [...engine.languages],
      testModel: false,
      cloud: engine.name === "deepgram",
    };
    const reg = new EngineRegistry([entry], () => engine, engine.model, new Set([engine.model]));
    reg.engines.set(engine.model, engine);
    return reg;
  }

  /** Every accepted model name (canonical names and aliases). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The entry a name selects, if offered. */
  entry(model: string): ModelEntry | undefined {
    return this.byName.get(model);
  }

  get defaultEngine(): SpeechEngine {
    return this.resolve(undefined).engine;
  }

  resolve(model: string | undefined): { engine: SpeechEngine; identity: { uuid: string; info: ModelInfo }; entry: ModelEntry } {
    const entry = this.byName.get(model ?? this.defaultModel);
    if (!entry) {
      const hint = model && /^(nova|enhanced|base|whisper-(tiny|base|small|medium|large))/.test(model) && !model.startsWith("whisper-")
        ? `model "${model}" is a Deepgram cloud model: set DEEPGRAM_API_KEY to use it`
        : model?.startsWith("whisper-")
          ? `Whisper model "${model}" is not installed (no ggml file in the models folder; see npm run models)`
          : undefined;
      throw new ModelUnavailableError(model ?? "", this.names(), hint);
    }
    let engine = this.engines.get(entry.model);
    if (!engine) {
      engine = this.factory(entry);
      this.engines.set(entry.model, engine);
    }
    return { engine, identity: modelIdentity(engine), entry };
  }

  modelsResponse(): ModelsResponse {
    return {
      stt: this.entries.map((e) => {
        const id = modelIdentity({ name: e.provider, model: e.model });
        return {
          name: e.model,
          canonical_name: e.model,
          architecture: e.provider,
          languages: [...e.languages],
          version: id.info.version,
          uuid: id.uuid,
          batch: true,
          streaming: true,
          formatted_output: e.provider !== "pocketsphinx",
          default: e.model === this.defaultModel,
          test_model: e.testModel,
        };
      }),
    };
  }

  /** Engines created so far, by canonical model. */
  created(): Map<string, SpeechEngine> {
    return new Map(this.engines);
  }

  async close(): Promise<void> {
    const toClose = [...this.engines].filter(([m]) => !this.external.has(m)).map(([, e]) => e);
    this.engines.clear();
    await Promise.allSettled(toClose.map((e) => e.close()));
  }
}

/**
 * Scan what is available (Whisper files in `modelsDir`, the Deepgram key) and build the registry.
 * Whisper models found later need a restart (the folder is read once here).
 * @throws ModelUnavailableError when `defaultModel` is set and not available
 */
export async function createEngineRegistry(options: EngineRegistryOptions = {}): Promise<EngineRegistry> {
  const modelsDir = options.modelsDir ?? defaultModelsDir();
  const whisperModels = await listWhisperModels(modelsDir);
  const entries: ModelEntry[] = [];
  // Real Whisper models first, largest first: the default picks the first real one.
  const real = whisperModels.filter((m) => !m.testModel).sort((a, b) => b.bytes - a.bytes);
  const test = whisperModels.filter((m) => m.testModel);
  for (const m of [...real, ...test]) {
    entries.push({
      model: `whisper-${m.name}`,
      aliases: [],
      provider: "whisper",
      languages: m.multilingual ? [...WHISPER_LANGUAGES] : ["en"],
      testModel: m.testModel,
      cloud: false,
    });
  }
  entries.push({ model: "pocketsphinx-en-us", aliases: ["pocketsphinx"], provider: "pocketsphinx", languages: [...POCKETSPHINX_LANGUAGES], testModel: false, cloud: false });
  if (options.deepgram) {
    for (const model of DEEPGRAM_MODELS) {
      entries.push({ model, aliases: [], provider: "deepgram", languages: [...DEEPGRAM_LANGUAGES], testModel: false, cloud: true });
    }
  }
  const defaultModel = options.defaultModel ?? (real.length ? `whisper-${real[0]!.name}` : "pocketsphinx-en-us");
  const deepgram = options.deepgram;
  return new EngineRegistry(
    entries,
    (entry) => {
      if (entry.provider === "whisper") return createWhisperEngine({ ...options.whisper, model: entry.model, modelsDir });
      if (entry.provider === "deepgram") return createDeepgramEngine({ apiKey: deepgram!.apiKey, baseUrl: deepgram!.baseUrl, model: entry.model });
      return createPocketSphinxEngine(options.pocketsphinx);
    },
    defaultModel,
  );
}
