/**
 * The Whisper `SpeechEngine`: whisper.cpp through the smart-whisper addon (built for this CPU by
 * `scripts/build-whisper-addon.ts`), one model context per worker thread.
 *
 * - Models: `model = whisper-<name>` → `${modelsDir}/ggml-<name>.bin` (or `for-tests-ggml-<name>.bin`),
 *   checked by `inspectGgmlModel` before whisper.cpp sees it. A missing or broken file makes `ready()`,
 *   `createStream()` and `transcribe()` reject with a clear error (the next call looks again).
 * - Languages: English by default; `.en` models refuse other languages and language detection;
 *   multilingual models take any Whisper language, and `detectLanguage` lets Whisper detect it
 *   (reported as `EngineHypothesis.language`).
 * - `keyterms` become the decoding prompt (`buildPrompt`).
 * - Words: times from token timestamps (seconds from the stream start), confidence = mean token
 *   probability, `punctuatedWord` as Whisper wrote it.
 * - Live streams: VAD + LocalAgreement-2 + guards, see `stream.ts`. Pre-recorded: `batch.ts`, whole
 *   (`transcribe`) or fed chunk by chunk with the same results (`openRecording`, `recording.ts`).
 * - Cost (measured here, 2 threads, AVX2 build, test models f16): one 30 s window ≈ 1.0 s (tiny.en),
 *   ≈ 2.1 s (base.en); run `npm run bench:whisper` for this machine.
 */
import type { EngineHypothesis, RecognizeOptions, RecognizerStream, RecordingTranscription, SpeechEngine } from "../engine.js";
import { checkAddonBuilt } from "./addon.js";
import { chunkAudio, chunkHypotheses, findSpeechRegions, packChunks } from "./batch.js";
import { shouldDecode } from "./guards.js";
import { inspectGgmlModel, type GgmlModelInfo } from "./model-file.js";
import { downloadCommand, isEnglishOnlyName, modelFileNames } from "./models.js";
import { buildPrompt, resolveLanguage, resolveWhisperOptions, WHISPER_LANGUAGES, type ResolvedWhisperOptions, type WhisperEngineOptions } from "./options.js";
import { WhisperPool } from "./pool.js";
import type { DecodeParams, DecodeResult } from "./protocol.js";
import { WhisperRecording } from "./recording.js";
import { WhisperStream } from "./stream.js";
import { FrameVad } from "./vad.js";
import { endOfTextTokenId } from "./words.js";
import { access } from "node:fs/promises";
import path from "node:path";

export { listWhisperModels, defaultModelsDir, type WhisperModelEntry } from "./models.js";
export type { WhisperEngineOptions } from "./options.js";
export { WhisperStream } from "./stream.js";

/** The model file is missing: the message names where it was looked for and how to get it. */
export class WhisperModelNotFoundError extends Error {
  constructor(readonly model: string, readonly expectedPath: string, name: string) {
    super(
      `Whisper model "${model}" is not installed: ${expectedPath} does not exist. ` +
        `Download it with \`${downloadCommand(name)}\` or put the file there ` +
        `(set CALLSCRIBE_MODELS_DIR to use another folder).`,
    );
    this.name = "WhisperModelNotFoundError";
  }
}

/** Whisper behind the `SpeechEngine` port. */
export class WhisperEngine implements SpeechEngine {
  readonly name = "whisper";
  readonly options: ResolvedWhisperOptions;
  private pool?: WhisperPool;
  private info?: GgmlModelInfo;
  private modelPath?: string;
  private starting?: Promise<void>;
  private closed = false;

  /** @throws Error when an option is invalid. Starts nothing until `ready()`. */
  constructor(options: WhisperEngineOptions) {
    this.options = resolveWhisperOptions(options);
  }

  /** `whisper-<name>`, as requested with `model=`. */
  get model(): string {
    return this.options.model;
  }

  /** Languages this model accepts: `["en"]` for English-only models, else all of Whisper's. */
  get languages(): string[] {
    const multilingual = this.info ? this.info.multilingual : !isEnglishOnlyName(this.options.name);
    return multilingual ? [...WHISPER_LANGUAGES] : ["en"];
  }

  /** What the model file holds (after `ready()`). */
  get modelInfo(): (GgmlModelInfo & { path: string }) | undefined {
    return this.info && this.modelPath ? { ...this.info, path: this.modelPath } : undefined;
  }

  /** Model load time of the first worker, ms (after `ready()`). */
  get loadMs(): number {
    return this.pool?.loadMs ?? 0;
  }

  /**
   * Find and check the model file, then start the workers (each loads the model). Idempotent; after a
   * failure the next call tries again (a model downloaded meanwhile is found).
   * @throws WhisperModelNotFoundError; InvalidModelFileError for a file whisper.cpp would not load;
   *   Error when the addon is not built or a worker fails to start.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("Whisper engine is closed"));
    this.starting ??= this.start().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /**
   * Open a live stream.
   * @throws Error for a language the model cannot do, or when the engine cannot start.
   */
  async createStream(options: RecognizeOptions = {}): Promise<RecognizerStream> {
    this.language(options); // refuse bad options before loading anything
    await this.ready();
    const language = this.language(options);
    const vad = await FrameVad.create(this.options.vad);
    return new WhisperStream({ pool: this.pool!, options: this.options, language, keyterms: options.keyterms ?? [] }, vad);
  }

  /**
   * Transcribe a recording (mono 16 kHz PCM16): one hypothesis per speech region, in order; regions
   * without words are left out.
   * @throws Error for a bad language or input type, or on engine failure.
   */
  async transcribe(pcm: Int16Array, options: RecognizeOptions = {}): Promise<EngineHypothesis[]> {
    if (!(pcm instanceof Int16Array)) throw new TypeError("transcribe() expects an Int16Array of mono 16 kHz PCM16 samples");
    this.language(options);
    await this.ready();
    const language = this.language(options);
    const regions = (await findSpeechRegions(pcm, this.options.vad)).filter((r) => shouldDecode(r.stats, this.options.guards));
    const chunks = packChunks(regions, this.maxChunkSec);
    const params = this.batchParams(language, options);
    // Keep at most one chunk per worker in the queue: a long recording then neither holds all its
    // audio twice in memory nor keeps live streams' interim decodes waiting behind all of it.
    const decoded: DecodeResult[] = new Array(chunks.length);
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) {
        const c = next++;
        decoded[c] = await this.pool!.decode(chunkAudio(pcm, chunks[c]!), params, "batch").result;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.poolSize, chunks.length) }, lane));
    return chunks.flatMap((chunk, c) => chunkHypotheses(chunk, decoded[c]!, this.options.guards));
  }

  /**
   * Transcribe a recording fed chunk by chunk (mono 16 kHz PCM16): the same VAD, packing and
   * decodes as {@link transcribe} on the joined audio, hence the same utterances, while holding only
   * O(30 s) of audio per recording (see `recording.ts`).
   * @throws Error for a bad language, or when the engine cannot start; `write`/`finish` reject on engine failure.
   */
  async openRecording(options: RecognizeOptions = {}): Promise<RecordingTranscription> {
    this.language(options);
    await this.ready();
    const language = this.language(options);
    const vad = await FrameVad.create(this.options.vad);
    const pool = this.pool!;
    return new WhisperRecording({
      decode: (pcm, params, priority) => pool.decode(pcm, params, priority),
      vad,
      vadOptions: this.options.vad,
      guards: this.options.guards,
      params: this.batchParams(language, options),
      maxChunkSec: this.maxChunkSec,
      lanes: this.options.poolSize,
    });
  }

  /** Longest packed buffer of a recording, seconds: an utterance plus context, within Whisper's 30 s window. */
  private get maxChunkSec(): number {
    return Math.min(28, this.options.vad.maxUtteranceSec + 8);
  }

  private batchParams(language: string, options: RecognizeOptions): DecodeParams {
    const prompt = buildPrompt(options.keyterms ?? []);
    return { language, prompt, audioCtx: 0, beamSize: this.options.finalBeamSize, threads: this.options.threads, offsetSec: 0 };
  }

  /** Decodes done so far (by priority, compute ms) and the last ones with their parameters: for metrics and tests. */
  decodeStats(): { counts: WhisperPool["stats"]; recent: WhisperPool["recent"]; queued: number } {
    return { counts: { ...(this.pool?.stats ?? { final: 0, batch: 0, partial: 0, computeMs: 0 }) }, recent: [...(this.pool?.recent ?? [])], queued: this.pool?.queued ?? 0 };
  }

  /** Worker threads and whether each is decoding. */
  workers(): { threadId: number; busy: boolean }[] {
    return this.pool?.snapshot ?? [];
  }

  /** Stop the workers and free the models; open streams stop getting results. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.pool?.close();
  }

  private language(options: RecognizeOptions): string {
    const multilingual = this.info ? this.info.multilingual : !isEnglishOnlyName(this.options.name);
    return resolveLanguage(options, this.options.model, multilingual);
  }

  private async start(): Promise<void> {
    const { modelsDir, name, model } = this.options;
    let found: string | undefined;
    for (const file of modelFileNames(name)) {
      const candidate = path.join(modelsDir, file);
      try {
        await access(candidate);
        found = candidate;
        break;
      } catch {
        // try the next name
      }
    }
    if (!found) throw new WhisperModelNotFoundError(model, path.join(modelsDir, modelFileNames(name)[0]!), name);
    const info = await inspectGgmlModel(found);
    checkAddonBuilt();
    const pool = new WhisperPool({ modelPath: found, eotId: endOfTextTokenId(info.multilingual) }, this.options.poolSize);
    await pool.start();
    if (this.closed) {
      await pool.close();
      throw new Error("Whisper engine is closed");
    }
    this.info = info;
    this.modelPath = found;
    this.pool = pool;
  }
}

/** Create the engine (nothing loads until `ready()`, `createStream()` or `transcribe()`). @throws Error on invalid options. */
export function createWhisperEngine(options: WhisperEngineOptions): WhisperEngine {
  return new WhisperEngine(options);
}
