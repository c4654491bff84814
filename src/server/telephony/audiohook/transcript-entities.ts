/**
 * Deepgram-shaped `Results` of a live call → AudioHook `transcript` event entities (the
 * Transcription Connector's shape, see `messages.ts` {@link TranscriptEntityData}), so Genesys
 * Cloud gets the transcript too. Times move from the engines' timeline (seconds of audio
 * received) to the client's stream timeline (positions, which also count discarded audio).
 */
import { randomUUID } from "node:crypto";
import type { ResultsMessage } from "../../speech/protocol";
import { formatDuration } from "./duration";
import type { EventEntity } from "./messages";

/**
 * Maps seconds of audio received to the client's stream position: every `discarded` report
 * (audio the client dropped, not sent) shifts what follows.
 */
export class StreamTimeline {
  /** [received seconds at the gap, seconds discarded there], in order. */
  private readonly gaps: [number, number][] = [];
  /** Total seconds discarded. */
  discarded = 0;

  /** The client discarded `seconds` of audio after `receivedSeconds` of audio had arrived. */
  addGap(receivedSeconds: number, seconds: number): void {
    if (!(seconds > 0)) return;
    this.discarded += seconds;
    const last = this.gaps[this.gaps.length - 1];
    if (last && last[0] === receivedSeconds) last[1] += seconds;
    else if (this.gaps.length < 10_000) this.gaps.push([receivedSeconds, seconds]);
    else this.gaps[this.gaps.length - 1]![1] += seconds; // bounded: later gaps merge into the last
  }

  /** The stream position of `t` seconds of received audio. */
  positionOf(t: number): number {
    let shift = 0;
    for (const [at, s] of this.gaps) {
      if (at > t) break;
      shift += s;
    }
    return t + shift;
  }
}

/** Options of {@link transcriptEntity}. */
export interface EntityOptions {
  /** The `channelId` (index in the selected media's channels) of the result's channel; undefined: not sent. */
  channelId: number | undefined;
  timeline: StreamTimeline;
  /** BCP 47 language of the transcript, e.g. `en-US`. */
  language: string;
}

/**
 * The entity for one `Results`; undefined when it has no words or its channel is not streamed.
 */
export function transcriptEntity(result: ResultsMessage, o: EntityOptions): EventEntity | undefined {
  const alt = result.channel.alternatives[0];
  if (!alt || alt.transcript.trim() === "" || o.channelId === undefined) return undefined;
  const start = o.timeline.positionOf(result.start);
  return {
    type: "transcript",
    data: {
      id: randomUUID(),
      channelId: o.channelId,
      isFinal: result.is_final,
      offset: formatDuration(start),
      duration: formatDuration(result.duration),
      alternatives: [
        {
          confidence: clamp01(alt.confidence),
          languages: [o.language],
          interpretations: [
            {
              type: "display",
              transcript: alt.transcript,
              tokens: alt.words.map((w) => ({
                type: "word" as const,
                value: w.punctuated_word ?? w.word,
                confidence: clamp01(w.confidence),
                offset: formatDuration(o.timeline.positionOf(w.start)),
                duration: formatDuration(w.end - w.start),
                language: o.language,
              })),
            },
          ],
        },
      ],
    },
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
