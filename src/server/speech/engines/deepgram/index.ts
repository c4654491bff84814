/**
 * The Deepgram relay `SpeechEngine`: Deepgram's cloud (`nova-3`, `nova-2`, …) reached with the
 * server's DEEPGRAM_API_KEY through the real `@deepgram/sdk` (live: `client.listen.v1.connect` with
 * `reconnectAttempts: 0`; pre-recorded: `client.listen.v1.media.transcribeFile`). Browsers never see the key.
 *
 * Why an engine behind the port rather than a frame-for-frame proxy of the client's socket: our
 * session already decodes every encoding (linear16, μ-law, A-law, WAV), resamples to 16 kHz and
 * splits channels, so the same telephony handling, `multichannel`/`channel_index`, endpointing,
 * `UtteranceEnd`, `SpeechStarted` and Metadata logic serves every engine, and POST and live give
 * the same words whichever engine runs. Each transcribed channel is one mono 16 kHz linear16
 * connection to Deepgram (live) or request (a recording, `openRecording`: streamed to the
 * pre-recorded API as a chunked request body, `recording.ts`, never held whole). The cost: Deepgram's own endpointing and `UtteranceEnd` are replaced by
 * ours (computed from Deepgram's finals and word times); a browser that wants Deepgram's exact
 * behaviour uses direct mode (`POST /v1/auth/grant`, see `grant.ts`).
 *
 * Mapping (Deepgram docs "Live Audio"): an interim `Results` → `partial`; a final (`is_final`) →
 * `final` with reason `finalize` when `from_finalize`, else `endpoint`; `SpeechStarted` →
 * `speechStarted`. Word times are seconds from the start of the connection's audio, as ours.
 *
 * Ending a stream (our CloseStream) sends Deepgram's CloseStream and waits for its `Metadata` (or
 * its normal close): Deepgram sends every final before it, however long it takes. A `Finalize`
 * answer (`from_finalize`) is not guaranteed when little audio was buffered (Deepgram docs
 * "Finalize"), so `flush()` waits for it at most `finalizeTimeoutMs`; only `finish()` is sure to see
 * the last words of a Deepgram that is behind.
 */
import { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import { DeepgramClient } from "@deepgram/sdk";
import { ENGINE_SAMPLE_RATE, type EngineHypothesis, type EngineWord, type RecognizeOptions, type RecognizerStream, type RecordingTranscription, type SpeechEngine } from "../engine";
import { StreamedUploadRecording } from "./recording";

/** Deepgram models this relay offers (Deepgram's "Models & Languages" page, 2025). */
export const DEEPGRAM_MODELS = ["nova-3", "nova-2", "nova-3-general", "nova-2-general", "nova-2-phonecall", "nova-3-medical"] as const;

/** Languages Nova accepts (lower-case primary tags; Deepgram's "Models & Languages" page, nova-2/nova-3 union). */
export const DEEPGRAM_LANGUAGES = [
  "en", "es", "fr", "de", "it", "pt", "nl", "ja", "ko", "zh", "hi", "ru", "tr", "pl", "sv", "da", "no", "fi", "uk", "cs",
  "el", "hu", "ro", "bg", "id", "ms", "th", "vi", "ca", "et", "lv", "lt", "sk", "ta",
];

/** Options of {@link createDeepgramEngine}. */
export interface DeepgramEngineOptions {
  /** The server's Deepgram key (`Authorization: Token <key>`). */
  apiKey: string;
  /** API root, e.g. `https://api.deepgram.com` (tests: a fake). */
  baseUrl: string;
  /** Deepgram model, e.g. `nova-3`. */
  model: string;
  /**
   * Longest wait of `flush()` for the answer to a `Finalize`, ms. Default 5000. Deepgram does not
   * guarantee one when little audio was buffered. Ending a stream (`finish()`) never uses it.
   */
  finalizeTimeoutMs?: number;
  /**
   * Longest a streamed recording's request may take (`openRecording`: from its first chunk to
   * Deepgram's answer, the decoding that feeds it included), ms. Default {@link DEFAULT_RECORDING_TIMEOUT_MS}.
   */
  recordingTimeoutMs?: number;
  /** Body buffer of a streamed recording, bytes (`recording.ts`). Default 256 KiB (8 s of audio). */
  uploadBufferBytes?: number;
}

/** Default {@link DeepgramEngineOptions.recordingTimeoutMs}: 30 min, the recorded-call job's own timeout. */
export const DEFAULT_RECORDING_TIMEOUT_MS = 30 * 60_000;

/** Deepgram word and Results, as far as the relay reads them (protocol.ts has the full types). */
interface DgWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
}
interface DgResults {
  type: "Results";
  start: number;
  duration: number;
  is_final?: boolean;
  from_finalize?: boolean;
  channel: { alternatives: { transcript: string; confidence: number; words: DgWord[] }[]; detected_language?: string };
}

function toWords(words: DgWord[] | undefined): EngineWord[] {
  return (words ?? []).map((w) => ({
    word: w.word,
    start: w.start,
    end: w.end,
    confidence: w.confidence,
    ...(w.punctuated_word ? { punctuatedWord: w.punctuated_word } : {}),
  }));
}

function hypothesis(words: EngineWord[], start: number, end: number, confidence?: number, language?: string): EngineHypothesis {
  const conf = confidence ?? (words.length ? words.reduce((a, w) => a + w.confidence, 0) / words.length : 0);
  return { text: words.map((w) => w.word).join(" "), words, confidence: conf, start, end, ...(language ? { language } : {}) };
}

function pcmBytes(pcm: Int16Array): Uint8Array {
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Deepgram's cloud behind the `SpeechEngine` port. */
export class DeepgramEngine implements SpeechEngine {
  readonly name = "deepgram";
  readonly model: string;
  readonly languages = [...DEEPGRAM_LANGUAGES];
  private readonly client: DeepgramClient;
  private readonly streams = new Set<DeepgramStream>();
  private closed = false;

  constructor(private readonly options: DeepgramEngineOptions) {
    this.model = options.model;
    this.client = new DeepgramClient({ apiKey: options.apiKey, baseUrl: options.baseUrl });
  }

  /** Nothing to load: the cloud is asked per request. */
  async ready(): Promise<void> {
    if (this.closed) throw new Error("Deepgram engine is closed");
  }

  private checkLanguage(options: RecognizeOptions): void {
    const primary = options.language?.split("-")[0]?.toLowerCase();
    if (primary && !this.languages.includes(primary)) {
      throw new Error(`Deepgram ${this.model} does not support language "${options.language}" (supported: ${this.languages.join(", ")})`);
    }
  }

  /**
   * Open one Deepgram live connection (mono 16 kHz linear16). Resolves once it is open.
   * @throws Error when Deepgram refuses the connection (bad key, bad model) or cannot be reached.
   */
  async createStream(options: RecognizeOptions = {}): Promise<RecognizerStream> {
    await this.ready();
    this.checkLanguage(options);
    const conn = await this.client.listen.v1.connect({
      model: this.model,
      encoding: "linear16",
      sample_rate: ENGINE_SAMPLE_RATE,
      channels: 1,
      interim_results: "true",
      vad_events: "true",
      punctuate: "true",
      // Live Deepgram has no detect_language; `multi` is its code-switching mode.
      language: options.detectLanguage ? "multi" : (options.language ?? "en"),
      ...(options.keyterms?.length ? { keyterm: options.keyterms } : {}),
      reconnectAttempts: 0,
    } as Parameters<DeepgramClient["listen"]["v1"]["connect"]>[0]);
    const stream = new DeepgramStream(conn, this.options.finalizeTimeoutMs ?? 5000, () => this.streams.delete(stream));
    this.streams.add(stream);
    try {
      await stream.open();
    } catch (err) {
      await stream.close(); // releases the connection and leaves `streams`
      throw err;
    }
    return stream;
  }

  /**
   * Transcribe mono 16 kHz PCM16 with Deepgram's pre-recorded API; one hypothesis per Deepgram utterance.
   * @throws Error with Deepgram's status and message when the request fails.
   */
  async transcribe(pcm: Int16Array, options: RecognizeOptions = {}): Promise<EngineHypothesis[]> {
    if (!(pcm instanceof Int16Array)) throw new TypeError("transcribe() expects an Int16Array of mono 16 kHz PCM16 samples");
    await this.ready();
    this.checkLanguage(options);
    if (pcm.length === 0) return [];
    return this.prerecorded(Buffer.from(pcmBytes(pcm)), options);
  }

  /**
   * A recording streamed to Deepgram's pre-recorded API chunk by chunk (one request, a chunked
   * body; see `recording.ts`): the same answer as `transcribe` on the joined audio, while the relay
   * holds only a bounded buffer of it.
   * @throws Error for a language Deepgram does not take; `write`/`finish` reject with Deepgram's
   *   status and message when the request fails
   */
  async openRecording(options: RecognizeOptions = {}): Promise<RecordingTranscription> {
    await this.ready();
    this.checkLanguage(options);
    return new StreamedUploadRecording((body, signal) => this.prerecorded(body, options, signal), this.options.uploadBufferBytes);
  }

  /** One pre-recorded request (mono 16 kHz linear16 body, whole or streamed); one hypothesis per Deepgram utterance. */
  private async prerecorded(audio: Buffer | Readable, options: RecognizeOptions, signal?: AbortSignal): Promise<EngineHypothesis[]> {
    const streamed = !(audio instanceof Buffer);
    const body = (await this.client.listen.v1.media.transcribeFile(
      audio,
      {
        model: this.model,
        encoding: "linear16",
        utterances: true,
        punctuate: true,
        ...(options.detectLanguage ? { detect_language: true } : { language: options.language ?? "en" }),
        ...(options.keyterms?.length ? { keyterm: options.keyterms } : {}),
      } as Parameters<DeepgramClient["listen"]["v1"]["media"]["transcribeFile"]>[1],
      {
        queryParams: { sample_rate: ENGINE_SAMPLE_RATE },
        // A streamed body cannot be sent twice, and it lasts as long as the decoding feeding it.
        ...(streamed ? { maxRetries: 0, timeoutInSeconds: (this.options.recordingTimeoutMs ?? DEFAULT_RECORDING_TIMEOUT_MS) / 1000 } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      },
    )) as unknown as {
      results: { channels: { detected_language?: string; alternatives: { words: DgWord[] }[] }[]; utterances?: { start: number; end: number; confidence: number; words: DgWord[] }[] };
    };
    const language = body.results.channels[0]?.detected_language;
    const utterances = body.results.utterances;
    if (utterances && utterances.length > 0) {
      return utterances.map((u) => hypothesis(toWords(u.words), u.start, u.end, u.confidence, language)).filter((h) => h.words.length > 0);
    }
    const words = toWords(body.results.channels[0]?.alternatives[0]?.words);
    return words.length ? [hypothesis(words, words[0]!.start, words[words.length - 1]!.end, undefined, language)] : [];
  }

  /** Close every open Deepgram connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.streams].map((s) => s.close()));
  }
}

type V1Socket = Awaited<ReturnType<DeepgramClient["listen"]["v1"]["connect"]>>;

/** One Deepgram live connection as a `RecognizerStream`. */
class DeepgramStream extends EventEmitter implements RecognizerStream {
  private pendingFinalize: (() => void)[] = [];
  /** Waiters of `finish()`: resolved by Deepgram's Metadata or normal close. */
  private pendingFinish: (() => void)[] = [];
  private closed = false;
  private failed = false;
  /** CloseStream sent: no more audio; Deepgram's close is expected. */
  private finishing = false;

  constructor(
    private readonly conn: V1Socket,
    private readonly finalizeTimeoutMs: number,
    private readonly onClosed: () => void,
  ) {
    super();
    conn.on("message", (m: unknown) => this.onMessage(m as { type?: string }));
    conn.on("error", (err: unknown) => this.fail(new Error(`Deepgram connection error: ${(err as Error)?.message ?? String(err)}`)));
    conn.on("close", (event: { code?: number; reason?: string }) => {
      if (this.closed) return;
      if (this.finishing && event?.code === 1000) {
        this.resolveFinish();
        return;
      }
      this.fail(new Error(`Deepgram closed the connection (${event?.code ?? "?"}${event?.reason ? `: ${event.reason}` : ""})`));
    });
  }

  /** Connect and wait for the handshake. @throws Error when it fails. */
  async open(): Promise<void> {
    const failed = new Promise<never>((_, reject) => this.once("error", reject));
    this.conn.connect();
    await Promise.race([this.conn.waitForOpen(), failed]);
  }

  private fail(err: Error): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    for (const resolve of this.pendingFinalize.splice(0)) resolve();
    this.resolveFinish();
    if (this.listenerCount("error") > 0) this.emit("error", err);
    this.onClosed();
  }

  private resolveFinish(): void {
    for (const resolve of this.pendingFinish.splice(0)) resolve();
  }

  private onMessage(m: { type?: string }): void {
    if (m.type === "Metadata") {
      // Deepgram's last message after CloseStream: every final came before it.
      this.resolveFinish();
      return;
    }
    if (m.type === "SpeechStarted") {
      this.emit("speechStarted", (m as { timestamp?: number }).timestamp ?? 0);
      return;
    }
    if (m.type !== "Results") return;
    const r = m as DgResults;
    const alt = r.channel.alternatives[0];
    const words = toWords(alt?.words);
    const h = hypothesis(words, r.start, r.start + r.duration, alt?.confidence, r.channel.detected_language);
    if (!r.is_final) {
      this.emit("partial", h);
      return;
    }
    this.emit("final", h, { reason: r.from_finalize ? "finalize" : "endpoint" });
    if (r.from_finalize) for (const resolve of this.pendingFinalize.splice(0)) resolve();
  }

  write(pcm: Int16Array): void {
    if (this.closed || this.failed || this.finishing || pcm.length === 0) return;
    this.conn.sendMedia(pcmBytes(pcm).slice());
  }

  /**
   * Send `Finalize` and wait for Deepgram's `from_finalize` final (or `finalizeTimeoutMs`: Deepgram
   * does not answer when little was pending). A late answer is kept: its words go with the next flush.
   */
  async flush(): Promise<void> {
    if (this.closed || this.failed || this.finishing) return;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      this.pendingFinalize.push(resolve);
      timer = setTimeout(resolve, this.finalizeTimeoutMs);
    });
    this.conn.sendFinalize({ type: "Finalize" });
    await answered.finally(() => clearTimeout(timer));
  }

  /**
   * Send `CloseStream` and wait for Deepgram's `Metadata` or normal close: every final for the
   * audio sent has been emitted by then, however long Deepgram took. No own timeout: the session's
   * flush timeout bounds it; an abnormal close or error resolves it (and emits `error`).
   */
  async finish(): Promise<void> {
    if (this.closed || this.failed || this.finishing) return;
    this.finishing = true;
    const ended = new Promise<void>((resolve) => this.pendingFinish.push(resolve));
    try {
      this.conn.sendCloseStream({ type: "CloseStream" });
    } catch (err) {
      this.fail(new Error(`Deepgram connection error: ${(err as Error)?.message ?? String(err)}`));
    }
    await ended;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const resolve of this.pendingFinalize.splice(0)) resolve();
    this.resolveFinish();
    try {
      if (!this.failed && !this.finishing && this.conn.readyState === 1) this.conn.sendCloseStream({ type: "CloseStream" });
    } catch {
      // already closing
    }
    this.conn.close();
    this.onClosed();
  }
}

/** Create the relay engine (nothing connects until a stream or request). */
export function createDeepgramEngine(options: DeepgramEngineOptions): DeepgramEngine {
  return new DeepgramEngine(options);
}
