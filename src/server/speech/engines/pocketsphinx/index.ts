/**
 * The PocketSphinx `SpeechEngine`: CMU PocketSphinx 5prealpha from Debian (`pocketsphinx`,
 * `pocketsphinx-en-us`) through koffi, one decoder per stream in a pool of worker threads.
 *
 * - English only (the `en-us` model). Keyterms are accepted and ignored (no per-stream biasing in
 *   the n-gram model).
 * - Word times are seconds from the start of each stream's audio (10 ms resolution).
 * - Final word confidence is the lattice posterior (`logmath_exp(ps_seg_prob)`), hypothesis
 *   confidence the mean over its words. Partials report confidence 0: PocketSphinx has no posterior
 *   before the utterance ends.
 * - Utterances follow the decoder's VAD: `speechStarted` when it hears speech (timestamp = where the
 *   decoder's utterance starts, including up to 0.2 s of pre-speech padding), `final` with reason
 *   `endpoint` after 0.5 s of silence (`-vad_postspeech 50`). A final may have empty text when the VAD
 *   heard only noise; `transcribe()` leaves such utterances out.
 * - Each stream and each `transcribe()` gets a fresh decoder (see `worker.ts` for why none is reused).
 * - Throughput: one decoder needs ~0.2 s of CPU per second of audio (RTF measured on one core), so a
 *   core keeps up with about five live streams; beyond that, streams lag (audio queues in the worker).
 *   The server therefore admits two live channels per core by default (`../../admission.ts`).
 */
import type { EngineHypothesis, RecognizeOptions, RecognizerStream, RecordingTranscription, SpeechEngine } from "../engine.js";
import { streamedRecording } from "../recording.js";
import { decoderArgs } from "./decoder.js";
import {
  checkInstallation,
  checkRecognizeOptions,
  resolveEngineOptions,
  SUPPORTED_LANGUAGES,
  type PocketSphinxEngineOptions,
  type ResolvedPocketSphinxOptions,
} from "./options.js";
import { WorkerPool } from "./pool.js";
import { PocketSphinxStream } from "./stream.js";

export type { PocketSphinxEngineOptions } from "./options.js";
export { PocketSphinxStream } from "./stream.js";

/** PocketSphinx behind the `SpeechEngine` port. */
export class PocketSphinxEngine implements SpeechEngine {
  readonly name = "pocketsphinx";
  readonly model = "pocketsphinx-en-us";
  readonly languages = [...SUPPORTED_LANGUAGES];
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedPocketSphinxOptions;
  private readonly pool: WorkerPool;
  private starting?: Promise<void>;
  private closed = false;

  /** @throws Error when an option is invalid (see `PocketSphinxEngineOptions`). Starts nothing until `ready()`. */
  constructor(options: PocketSphinxEngineOptions = {}) {
    this.options = resolveEngineOptions(options);
    this.pool = new WorkerPool(
      {
        libDir: this.options.libDir,
        decoderArgs: decoderArgs(this.options.modelDir),
        tuning: { partialIntervalSec: this.options.partialIntervalSec },
        spareDecoders: this.options.spareDecodersPerWorker,
      },
      this.options.poolSize,
    );
  }

  /**
   * Check the install, start the workers and load one decoder in each. Idempotent; after a failure the
   * next call tries again.
   * @throws Error naming a missing library or model file and `apt-get install pocketsphinx pocketsphinx-en-us`.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("PocketSphinx engine is closed"));
    this.starting ??= (async () => {
      await checkInstallation(this.options);
      await this.pool.start();
    })().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /**
   * Open a live stream with its own fresh decoder.
   * @throws Error for a language other than `en`/`en-*`, or when the engine cannot start a decoder.
   */
  async createStream(options: RecognizeOptions = {}): Promise<RecognizerStream> {
    checkRecognizeOptions(options);
    await this.ready();
    return new PocketSphinxStream(this.pool).open(options.signal);
  }

  /**
   * Transcribe a whole recording (mono 16 kHz PCM16) in a worker, cut into utterances where the
   * voice-activity detector hears silence. Utterances without words are left out.
   * @throws Error for a bad language or input type, or on engine failure.
   */
  async transcribe(pcm: Int16Array, options: RecognizeOptions = {}): Promise<EngineHypothesis[]> {
    checkRecognizeOptions(options);
    if (!(pcm instanceof Int16Array)) throw new TypeError("transcribe() expects an Int16Array of mono 16 kHz PCM16 samples");
    await this.ready();
    if (pcm.length === 0) return [];
    return this.pool.transcribe(pcm.slice());
  }

  /**
   * Transcribe a recording fed in chunks, on a stream of its own (a fresh decoder, as `transcribe`
   * uses): the same decoder, VAD and word filter, so the same utterances as `transcribe` on the
   * joined audio, while at most a few seconds of audio wait in the worker (`write` waits otherwise).
   * @throws Error for a bad language, or when the engine cannot start a decoder.
   */
  async openRecording(options: RecognizeOptions = {}): Promise<RecordingTranscription> {
    checkRecognizeOptions(options);
    await this.ready();
    return streamedRecording(await new PocketSphinxStream(this.pool).open(options.signal));
  }

  /** Worker threads, the decoders each holds (streams plus running transcriptions) and the audio queued for them (seconds). */
  workers(): { threadId: number; decoders: number; queuedSeconds: number }[] {
    return this.pool.snapshot;
  }

  /**
   * Stop one worker thread as a crash would (for tests and operations): its streams emit `error`,
   * its requests reject, and the pool starts a replacement.
   */
  terminateWorker(threadId: number): Promise<void> {
    return this.pool.terminateWorker(threadId);
  }

  /** Stop the workers and free every decoder; streams still open emit `error`. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.pool.close();
  }
}

/** Create the engine (nothing starts until `ready()`, `createStream()` or `transcribe()`). @throws Error on invalid options. */
export function createPocketSphinxEngine(options: PocketSphinxEngineOptions = {}): PocketSphinxEngine {
  return new PocketSphinxEngine(options);
}
