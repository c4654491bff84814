/**
 * Turns the speech server's live frames into transcript state: the current interim text, the
 * final segments, and finally an `fdc3.transcript` context (DESIGN §3).
 *
 * Segmenting rules (Deepgram's live semantics): final `Results` (`is_final: true`) of one
 * speaker are appended to the open segment; the segment closes when a final has `speech_final`
 * (the endpointer saw the speaker stop) or `from_finalize`, when `UtteranceEnd` arrives, or when
 * the speaker changes (with `diarize`, per word `speaker`). An interim `Results` replaces the
 * previous interim text; a final clears it. Empty finals (silence) add nothing, and a final for
 * audio already covered by earlier finals of its channel (a repeat) is not appended again.
 *
 * What is saved is what the user saw: the final text shown is exactly the transcript's `text`,
 * and an interim hypothesis that never got its final (the stream ended or timed out first) is
 * kept by `finish({ keepInterim: true })` rather than silently dropped.
 */
import type { Contact, Segment, Transcript, Word } from "../../../contexts/types";
import type { ListenMessage, ListenResults, ListenWord } from "./listen-messages";

/** The engine that produced the results, for `fdc3.transcript.provider`. */
export interface ProviderInfo {
  name: string;
  model?: string;
}

/**
 * Map Deepgram's `metadata.model_info` to `provider`. Our server reports the engine in `arch`
 * (e.g. `pocketsphinx`) and the model in `name` (e.g. `pocketsphinx-en-us`); Deepgram's cloud
 * reports e.g. `{name: "general-nova-3", arch: "nova-3"}`.
 */
export function providerFromModelInfo(info: { name?: string; version?: string; arch?: string } | undefined): ProviderInfo | undefined {
  const model = info?.name?.trim();
  const engine = info?.arch?.trim();
  if (!model && !engine) return undefined;
  return model ? { name: engine || model, model } : { name: engine! };
}

/** Options of {@link TranscriptAccumulator}. */
export interface AccumulatorOptions {
  /**
   * Speaker label when the words carry no `speaker` (no diarisation), per channel index;
   * e.g. `["agent"]` for a microphone on a call. Default `speaker 1`, `speaker 2`, … by channel.
   */
  channelSpeakers?: readonly string[];
  /** Put `channel` on each segment (multichannel audio). Default false. */
  includeChannel?: boolean;
  /**
   * Fixed provider, instead of reading `metadata.model_info`: direct mode knows it talks to
   * Deepgram and which model it asked for (Deepgram's cloud names its models its own way, e.g.
   * `general-nova-3`).
   */
  provider?: ProviderInfo;
}

/** What a frame changed, so callers re-render or broadcast only when needed. */
export type AccumulatorChange = "interim" | "final" | "segment-closed" | "metadata" | "speech-started" | "none";

interface OpenSegment {
  speaker: string;
  channel: number;
  start: number;
  end: number;
  texts: string[];
  words: Word[];
  confidences: number[];
}

const round3 = (s: number) => Math.round(Math.max(0, s) * 1000) / 1000;
const clamp01 = (c: number) => (Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0);

/** Fields of the transcript that do not come from the audio. */
export interface TranscriptMeta {
  transcriptId: string;
  callId?: string;
  source: Transcript["source"];
  /** BCP 47 tag. */
  language: string;
  participants?: Contact[];
  /** Wall-clock start and end of the capture (ISO 8601). */
  startTime?: string;
  endTime?: string;
}

/** Accumulates live frames of one stream. Feed every frame to {@link handle}. */
export class TranscriptAccumulator {
  private readonly closed: Segment[] = [];
  private open: OpenSegment | undefined;
  private interimText = "";
  private provider: ProviderInfo | undefined;
  private requestId: string | undefined;
  private metadataDuration: number | undefined;
  private lastAudioEnd = 0;
  private metadataSeen = false;
  /** The latest interim Results not yet replaced by a final (what the user sees greyed). */
  private pendingInterim: ListenResults | undefined;
  /** Per channel: end of the audio covered by finals so far, seconds. */
  private readonly finalUntil = new Map<number, number>();

  private readonly options: AccumulatorOptions;

  constructor(options: AccumulatorOptions = {}) {
    this.options = { ...options };
    if (options.provider) this.provider = { ...options.provider };
  }

  /**
   * Name the channels from now on (a live call's `CallStarted` / `CallUpdated`): segments closed
   * from now on carry these speakers and, with `includeChannel`, their channel.
   */
  setChannels(channelSpeakers: readonly string[], includeChannel: boolean): void {
    this.options.channelSpeakers = [...channelSpeakers];
    this.options.includeChannel = includeChannel;
  }

  /** Current interim (not yet final) text; empty when none. */
  get interim(): string {
    return this.interimText;
  }

  /** Final segments so far, the open one included (copies). */
  get segments(): Segment[] {
    return this.open ? [...this.closed, toSegment(this.open, this.options.includeChannel)] : [...this.closed];
  }

  /** All final text so far, segments joined by a space. */
  get finalText(): string {
    return this.segments.map((s) => s.text).join(" ");
  }

  /** Provider from the latest Results' `metadata.model_info` (or the fixed `provider` option). */
  get providerInfo(): ProviderInfo | undefined {
    return this.provider;
  }

  /** The server's request id (from Results or Metadata). */
  get serverRequestId(): string | undefined {
    return this.requestId;
  }

  /** Whether the closing `Metadata` frame has arrived. */
  get hasMetadata(): boolean {
    return this.metadataSeen;
  }

  /** Seconds of audio: `Metadata.duration` when known, else the end of the last Results. */
  get duration(): number {
    return round3(this.metadataDuration ?? this.lastAudioEnd);
  }

  /** Apply one validated frame (see `parseListenMessage`). */
  handle(message: ListenMessage): AccumulatorChange {
    switch (message.type) {
      case "Results":
        return this.handleResults(message);
      case "UtteranceEnd":
        return this.closeOpen() ? "segment-closed" : "none";
      case "Metadata":
        this.metadataSeen = true;
        if (typeof message.duration === "number") this.metadataDuration = message.duration;
        if (message.request_id) this.requestId ??= message.request_id;
        return "metadata";
      case "SpeechStarted":
        return "speech-started";
    }
  }

  /**
   * End of stream: close the open segment.
   * @param options.keepInterim keep an interim hypothesis that never got its final as the last
   *   segment (its words as heard, confidence as the interim reported, usually 0 = not known),
   *   so the transcript holds what the user last saw. Default false: drop it.
   * @returns whether an interim hypothesis was kept
   */
  finish(options: { keepInterim?: boolean } = {}): boolean {
    const pending = this.pendingInterim;
    this.pendingInterim = undefined;
    this.interimText = "";
    let kept = false;
    if (options.keepInterim && pending && pending.channel.alternatives[0]?.transcript.trim()) {
      this.appendFinal({ ...pending, is_final: true });
      kept = true;
    }
    this.closeOpen();
    return kept;
  }

  /**
   * Build the `fdc3.transcript` from the segments so far. Not validated here: callers validate
   * with `validateContext` before sending it anywhere.
   */
  toTranscript(meta: TranscriptMeta): Transcript {
    const segments = this.segments;
    const transcript: Transcript = {
      type: "fdc3.transcript",
      id: meta.callId ? { transcriptId: meta.transcriptId, callId: meta.callId } : { transcriptId: meta.transcriptId },
      source: meta.source,
      language: meta.language,
      text: segments.map((s) => s.text).join(" "),
      segments,
      duration: this.duration,
    };
    if (meta.participants && meta.participants.length > 0) {
      transcript.participants = { type: "fdc3.contactList", contacts: meta.participants };
    }
    if (meta.startTime || meta.endTime) {
      transcript.timeRange = { type: "fdc3.timeRange", ...(meta.startTime && { startTime: meta.startTime }), ...(meta.endTime && { endTime: meta.endTime }) };
    }
    if (this.provider) transcript.provider = { ...this.provider };
    return transcript;
  }

  private handleResults(r: ListenResults): AccumulatorChange {
    this.lastAudioEnd = Math.max(this.lastAudioEnd, r.start + r.duration);
    const provider = this.options.provider ? undefined : providerFromModelInfo(r.metadata?.model_info);
    if (provider) this.provider = provider;
    if (r.metadata?.request_id) this.requestId ??= r.metadata.request_id;
    const alt = r.channel.alternatives[0];
    const text = alt?.transcript.trim() ?? "";
    if (!r.is_final) {
      this.interimText = text;
      this.pendingInterim = text ? r : undefined;
      return "interim";
    }
    this.interimText = "";
    this.pendingInterim = undefined;
    const channel = r.channel_index[0] ?? 0;
    const until = this.finalUntil.get(channel) ?? 0;
    const spanEnd = r.start + r.duration;
    // Finals of a channel tile its audio: one that lies inside audio already final repeats it.
    if (text && r.duration > 0 && r.start < until - 0.001 && spanEnd <= until + 0.001) return "none";
    this.finalUntil.set(channel, Math.max(until, spanEnd));
    this.appendFinal(r);
    const endsUtterance = r.speech_final === true || r.from_finalize === true;
    if (endsUtterance && this.closeOpen()) return "segment-closed";
    return alt && text ? "final" : "none";
  }

  /** Append a final's words to the open segment (closing it first when the speaker changes). */
  private appendFinal(r: ListenResults): void {
    const alt = r.channel.alternatives[0];
    const text = alt?.transcript.trim() ?? "";
    const channel = r.channel_index[0] ?? 0;
    if (alt && text) {
      for (const piece of splitBySpeaker(r, alt.words ?? [], text, alt.confidence)) {
        const speaker = this.speakerLabel(piece.speaker, channel);
        if (this.open && (this.open.speaker !== speaker || this.open.channel !== channel)) this.closeOpen();
        this.open ??= { speaker, channel, start: piece.start, end: piece.end, texts: [], words: [], confidences: [] };
        this.open.end = Math.max(this.open.end, piece.end);
        this.open.start = Math.min(this.open.start, piece.start);
        this.open.texts.push(piece.text);
        this.open.words.push(...piece.words);
        this.open.confidences.push(...piece.confidences);
      }
    }
  }

  private speakerLabel(speaker: number | undefined, channel: number): string {
    if (speaker !== undefined) return `speaker ${speaker + 1}`;
    return this.options.channelSpeakers?.[channel] ?? `speaker ${channel + 1}`;
  }

  private closeOpen(): boolean {
    if (!this.open) return false;
    this.closed.push(toSegment(this.open, this.options.includeChannel));
    this.open = undefined;
    return true;
  }
}

interface Piece {
  speaker: number | undefined;
  start: number;
  end: number;
  text: string;
  words: Word[];
  confidences: number[];
}

/**
 * Split one final alternative into runs of one speaker. With a single speaker (the usual case)
 * the alternative's own `transcript` is kept as the text, since it carries the punctuation.
 */
function splitBySpeaker(r: ListenResults, words: ListenWord[], transcript: string, altConfidence: number): Piece[] {
  if (words.length === 0) {
    return [{ speaker: undefined, start: r.start, end: r.start + r.duration, text: transcript, words: [], confidences: [altConfidence] }];
  }
  const runs: ListenWord[][] = [];
  for (const w of words) {
    const run = runs[runs.length - 1];
    if (run && run[0]!.speaker === w.speaker) run.push(w);
    else runs.push([w]);
  }
  return runs.map((run) => ({
    speaker: run[0]!.speaker,
    start: run[0]!.start,
    end: run[run.length - 1]!.end,
    text: runs.length === 1 ? transcript : run.map((w) => w.punctuated_word ?? w.word).join(" "),
    words: run.map((w) => ({ word: w.word, start: round3(w.start), end: round3(w.end), confidence: clamp01(w.confidence) })),
    confidences: run.map((w) => w.confidence),
  }));
}

function toSegment(open: OpenSegment, includeChannel = false): Segment {
  const mean = open.confidences.reduce((a, b) => a + b, 0) / Math.max(1, open.confidences.length);
  const segment: Segment = {
    speaker: open.speaker,
    start: round3(open.start),
    end: round3(Math.max(open.end, open.start)),
    text: open.texts.join(" "),
    confidence: Math.round(clamp01(mean) * 1000) / 1000,
  };
  if (includeChannel) segment.channel = open.channel;
  if (open.words.length > 0) segment.words = open.words.map((w) => ({ ...w }));
  return segment;
}
