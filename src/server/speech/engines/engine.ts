/**
 * The `SpeechEngine` port: every speech-to-text engine (PocketSphinx, whisper.cpp, the Deepgram
 * cloud relay) plugs in behind this interface. The Deepgram-compatible API in `../` only talks to it.
 *
 * Audio contract: engines consume **mono, 16 000 Hz, signed 16-bit PCM** (`Int16Array`, one sample
 * per element). Decoding, G.711 expansion, resampling and channel splitting happen before the engine
 * (see `../audio/`). All times are **seconds from the start of the stream's audio**.
 */
import type { EventEmitter } from "node:events";

/** Sample rate every engine consumes, in Hz. */
export const ENGINE_SAMPLE_RATE = 16_000;

/** One recognised word. `start`/`end` in seconds from stream start; `confidence` in [0, 1]. */
export interface EngineWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  /** The word with the engine's own casing and punctuation (Deepgram `punctuated_word`), when the engine writes them (Whisper). */
  punctuatedWord?: string;
}

/**
 * A hypothesis over one span of audio: a partial (interim) one, or a final one for a finished
 * utterance. `start`/`end` are seconds from stream start; `confidence` in [0, 1] (mean word confidence).
 */
export interface EngineHypothesis {
  text: string;
  words: EngineWord[];
  confidence: number;
  start: number;
  end: number;
  /** Language the engine decoded in (lower-case BCP 47 primary tag), when it detected or reports it. */
  language?: string;
}

/** Options for one recognition stream or one pre-recorded request. */
export interface RecognizeOptions {
  /** BCP 47 tag, for example `en` or `en-US`. Engines refuse languages they cannot do. */
  language?: string;
  /** Words or phrases to favour (Deepgram `keyterm`). Engines may ignore them. */
  keyterms?: string[];
  /** Detect the spoken language (Deepgram `detect_language`). Engines that cannot refuse it with an error. */
  detectLanguage?: boolean;
  /**
   * `createStream` only: the caller no longer wants the stream (its client left). An engine that
   * honours it builds no decoder once it is aborted and rejects with the signal's reason; others ignore it.
   */
  signal?: AbortSignal;
}

/**
 * Events of a live stream (Node `EventEmitter`):
 * - `partial` (h: EngineHypothesis): the current best guess for the utterance in progress; replaces the previous one.
 * - `final` (h: EngineHypothesis, info: { reason: "endpoint" | "finalize" }): a finished utterance.
 *   `reason` is `endpoint` when the engine's voice-activity detection saw the speaker stop, `finalize` when it came from `flush()`.
 * - `speechStarted` (timestamp: number): the engine's VAD saw speech begin, seconds from stream start.
 * - `error` (err: Error): the engine failed; the stream is unusable afterwards.
 */
export interface RecognizerStream extends EventEmitter {
  /** Feed audio: mono 16 kHz PCM16. Any length; the engine buffers. Never throws for a live stream: failures come as `error`. */
  write(pcm: Int16Array): void;
  /**
   * End the utterance in progress (if any) and resolve once its `final` has been emitted
   * (with `reason: "finalize"`). Resolves with no event when nothing was pending.
   */
  flush(): Promise<void>;
  /**
   * Optional: the audio is over (CloseStream). Resolve once every `final` for the audio written so
   * far has been emitted; no `write` follows. Engines without it are ended with `flush()`. Remote
   * engines need it: their flush answer is not guaranteed, their end-of-stream answer is.
   */
  finish?(): Promise<void>;
  /** Release the decoder. Pending audio is discarded; call `flush()` first to keep it. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: audio written and not yet decoded, seconds. Engines that queue audio (PocketSphinx's
   * worker threads) report it, so a writer faster than the engine can wait (backpressure).
   */
  readonly queuedSeconds?: number;
}

/**
 * A whole recording transcribed while it is decoded, chunk by chunk, so neither side holds it
 * whole. Open one per channel with `openRecordingTranscription` (`./recording.ts`).
 */
export interface RecordingTranscription {
  /**
   * Feed the next chunk (mono 16 kHz PCM16). Resolves once the engine has room for more: await it
   * before decoding the next chunk. @throws Error (rejects) when the engine failed.
   */
  write(pcm: Int16Array): Promise<void>;
  /** The audio is over. Resolves with the utterances in order (as `transcribe` returns them) and frees the engine's resources. */
  finish(): Promise<EngineHypothesis[]>;
  /** Give up (the decoding failed): frees the engine's resources, results are discarded. Idempotent. */
  close(): Promise<void>;
}

/** A speech-to-text engine. One instance serves many concurrent streams. */
export interface SpeechEngine {
  /** Provider name reported in metadata and in `fdc3.transcript.provider.name`, e.g. `pocketsphinx`. */
  readonly name: string;
  /** Model name as requested through `model=` and reported in `model_info`, e.g. `pocketsphinx-en-us`. */
  readonly model: string;
  /** Languages this engine accepts (lower-case BCP 47 primary tags, e.g. `["en"]`). */
  readonly languages: string[];
  /** Resolves once the engine can serve (models loaded). Rejects with a clear error if it cannot. */
  ready(): Promise<void>;
  /** Open a live recognition stream. Rejects if the engine cannot start a decoder. */
  createStream(options?: RecognizeOptions): Promise<RecognizerStream>;
  /**
   * Transcribe a whole recording (mono 16 kHz PCM16). Returns the utterances in order, each a final
   * hypothesis. Rejects on engine failure.
   */
  transcribe(pcm: Int16Array, options?: RecognizeOptions): Promise<EngineHypothesis[]>;
  /**
   * Optional: transcribe a whole recording fed in chunks, with the same results as `transcribe` on
   * the joined audio, in memory that does not grow with its duration. Engines without it are fed
   * through `transcribe` (the chunks joined first; see `openRecordingTranscription`).
   * @throws Error as `transcribe` does.
   */
  openRecording?(options?: RecognizeOptions): Promise<RecordingTranscription>;
  /** Stop all workers and free models. */
  close(): Promise<void>;
}
