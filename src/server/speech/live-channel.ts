/**
 * One channel of a live `/v1/listen` session: turns the engine stream's events into Deepgram
 * messages (interim and final `Results`, `SpeechStarted`, `UtteranceEnd`).
 *
 * How Deepgram's options map onto an engine that reports utterances from its own voice-activity
 * detector (VAD) — source: Deepgram docs "Endpointing", "Interim Results", "Utterance End", "Finalize":
 * - `interim_results`: each engine `partial` becomes `is_final: false`, covering the audio since the last final.
 * - `endpointing=<ms>`: an engine `final` (reason `endpoint`, the VAD heard the speaker stop) becomes
 *   `is_final: true, speech_final: true` once the audio received shows at least `<ms>` of silence after
 *   its last word; if speech resumes first it is sent with `speech_final: false`. The VAD itself needs
 *   some silence before it ends an utterance, so small values (the default 10 ms) act at once.
 * - `endpointing=false`: engine finals are held and merged; finals are sent only on Finalize or CloseStream
 *   (interim results then cover everything since the last final).
 * Silence is measured on the audio received so far; a client sending faster than real time is ahead of
 * the engine, so long `endpointing` values then decide `speech_final` early.
 * - `Finalize`: flushes the engine; one final with `from_finalize: true` (empty when nothing was pending).
 * - CloseStream: ends the engine stream (`finish()` where the engine has one, e.g. Deepgram's relay,
 *   else `flush()`); the last final has `speech_final: true`.
 * - `utterance_end_ms`: `UtteranceEnd` once the audio received runs that long past the last finalized
 *   word with no speech in progress, once per utterance. It never precedes the final that holds that
 *   word: after a flush (Finalize, CloseStream) it is checked once the flush's final has been sent.
 * `start`/`duration` of Results tile the stream: each final starts where the previous one ended.
 */
import type { EngineHypothesis, RecognizerStream } from "./engines/engine";
import type { ModelInfo, ResultsMessage, ServerMessage } from "./protocol";
import type { ListenOptions } from "./query";
import { alternativeOf, hypothesesWords, roundSeconds, type WordStyle } from "./results";

/** Why a final is sent; decides `speech_final` / `from_finalize`. */
type FinalKind = "endpoint" | "interrupted" | "finalize" | "close";

/** Identity fields every Results message carries. */
export interface ResultsMetadata {
  requestId: string;
  modelUuid: string;
  modelInfo: ModelInfo;
}

/** Recognition state and message building for one channel. */
export class LiveChannel {
  /** Start of the span the next final covers, seconds. */
  private segmentStart = 0;
  /** Endpoint finals waiting for `endpointing` ms of silence after their last word. */
  private awaitingSilence: EngineHypothesis[] = [];
  /** Finals sent only by the next flush: all of them with endpointing=false, and the flush's own. */
  private untilFlush: EngineHypothesis[] = [];
  /** Speech in progress per the engine (VAD on, or a partial with words since the last final). */
  private inSpeech = false;
  private lastWordEnd: number | null = null;
  private utteranceEndDue = false;
  private readonly style: WordStyle;

  /**
   * @param index channel index
   * @param count channels in the session (`channel_index: [index, count]`)
   * @param stream the engine stream of this channel
   * @param receivedSeconds audio of this channel received so far, seconds
   * @param send delivers one message to the client
   */
  constructor(
    readonly index: number,
    readonly count: number,
    readonly stream: RecognizerStream,
    private readonly options: ListenOptions,
    private readonly meta: ResultsMetadata,
    private readonly receivedSeconds: () => number,
    private readonly send: (message: ServerMessage) => void,
  ) {
    this.style = {
      punctuate: options.punctuate || options.smartFormat,
      speaker: options.diarize ? index : undefined,
    };
    stream.on("partial", (h: EngineHypothesis) => this.onPartial(h));
    stream.on("final", (h: EngineHypothesis, info: { reason: "endpoint" | "finalize" }) => this.onFinal(h, info?.reason));
    stream.on("speechStarted", (t: number) => this.onSpeechStarted(t));
  }

  /**
   * More audio was handed to the engine: release finals whose endpointing silence has passed and
   * send a due `UtteranceEnd`. Silence is measured on the audio received, which runs ahead of the
   * engine when a client sends faster than real time.
   */
  onAudioTime(receivedSeconds: number): void {
    const endpointing = this.options.endpointing;
    if (endpointing !== false && this.awaitingSilence.length > 0) {
      const last = lastWordEnd(this.awaitingSilence) ?? this.awaitingSilence[this.awaitingSilence.length - 1].end;
      if (receivedSeconds - last >= endpointing / 1000) this.sendFinal("endpoint", this.takeAwaitingSilence());
    }
    const ms = this.options.utteranceEndMs;
    if (ms !== undefined && this.utteranceEndDue && !this.inSpeech && this.lastWordEnd !== null) {
      if (receivedSeconds - this.lastWordEnd >= ms / 1000) {
        this.utteranceEndDue = false;
        this.send({ type: "UtteranceEnd", channel: [this.index, this.count], last_word_end: roundSeconds(this.lastWordEnd) });
      }
    }
  }

  /**
   * Flush the engine and send what it had as one final.
   * @param kind `finalize` (client Finalize: `from_finalize: true`, always answered, empty when nothing
   *   was pending) or `close` (CloseStream: `speech_final: true`, sent only when there are words)
   */
  async flush(kind: "finalize" | "close"): Promise<void> {
    if (kind === "close" && this.stream.finish) await this.stream.finish();
    else await this.stream.flush();
    const pending = [...this.takeAwaitingSilence(), ...this.untilFlush];
    this.untilFlush = [];
    if (pending.length > 0 || kind === "finalize") this.sendFinal(kind, pending, this.receivedSeconds());
    this.onAudioTime(this.receivedSeconds()); // a due UtteranceEnd, after the final it refers to
  }

  private takeAwaitingSilence(): EngineHypothesis[] {
    const hs = this.awaitingSilence;
    this.awaitingSilence = [];
    return hs;
  }

  private onPartial(h: EngineHypothesis): void {
    if (h.words.length === 0) return;
    this.inSpeech = true;
    // Speech resumed before the endpointing silence passed: the waiting final is not speech_final.
    if (this.awaitingSilence.length > 0) this.sendFinal("interrupted", this.takeAwaitingSilence());
    if (!this.options.interimResults) return;
    const words = [...hypothesesWords(this.untilFlush, this.style, true), ...hypothesesWords([h], this.style, false)];
    const end = Math.max(h.end, words.length ? words[words.length - 1].end : 0);
    this.send(this.results(words, end, { is_final: false, speech_final: false, from_finalize: false }));
  }

  private onFinal(h: EngineHypothesis, reason: "endpoint" | "finalize" | undefined): void {
    this.inSpeech = false;
    if (h.words.length > 0) {
      this.lastWordEnd = h.words[h.words.length - 1].end;
      this.utteranceEndDue = true;
      // The flush's own final, and every final with endpointing=false, wait for flush().
      if (reason === "finalize" || this.options.endpointing === false) this.untilFlush.push(h);
      else this.awaitingSilence.push(h);
    }
    // The flush's own final is sent by flush(), which then checks UtteranceEnd.
    if (reason !== "finalize") this.onAudioTime(this.receivedSeconds());
  }

  private onSpeechStarted(timestamp: number): void {
    this.inSpeech = true;
    if (this.options.vadEvents) {
      this.send({ type: "SpeechStarted", channel: [this.index, this.count], timestamp: roundSeconds(timestamp) });
    }
  }

  /** Send hypotheses (possibly none) as one final Results; the next span starts where it ends. */
  private sendFinal(kind: FinalKind, hs: EngineHypothesis[], emptyEnd?: number): void {
    const words = hypothesesWords(hs, this.style, true);
    const spanEnd = hs.length
      ? Math.max(hs[hs.length - 1].end, words.length ? words[words.length - 1].end : 0)
      : Math.max(this.segmentStart, emptyEnd ?? this.segmentStart);
    this.send(
      this.results(words, spanEnd, {
        is_final: true,
        speech_final: kind === "endpoint" || kind === "close",
        from_finalize: kind === "finalize",
      }),
    );
    this.segmentStart = Math.max(this.segmentStart, spanEnd);
  }

  private results(
    words: ReturnType<typeof hypothesesWords>,
    spanEnd: number,
    flags: Pick<ResultsMessage, "is_final" | "speech_final" | "from_finalize">,
  ): ResultsMessage {
    const start = roundSeconds(this.segmentStart);
    return {
      type: "Results",
      channel_index: [this.index, this.count],
      start,
      duration: roundSeconds(Math.max(0, spanEnd - this.segmentStart)),
      ...flags,
      channel: { alternatives: [alternativeOf(words, this.style)] },
      metadata: { request_id: this.meta.requestId, model_info: this.meta.modelInfo, model_uuid: this.meta.modelUuid },
    };
  }
}

function lastWordEnd(hs: EngineHypothesis[]): number | undefined {
  for (let i = hs.length - 1; i >= 0; i--) {
    const w = hs[i].words;
    if (w.length) return w[w.length - 1].end;
  }
  return undefined;
}
