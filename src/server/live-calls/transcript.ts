/**
 * The final `fdc3.transcript` of a live call, built from the final `Results` of its channels:
 * one segment per final result with words, speakers named by channel (channel 0 the agent,
 * 1 the customer: `channelSpeakers` of the recorded-call pipeline), segments in time order,
 * `text` one `speaker: text` line per segment. Times are seconds from the stream's start.
 */
import { createHash } from "node:crypto";
import { validateContext, type Transcript, type TranscriptSegment } from "../../contracts";
import { channelSpeakers, participantsContext, timeRange } from "../pipeline/stages/transcribe";
import type { ResultsMessage } from "../speech/protocol";
import type { LiveCallMetadata } from "./types";

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Stable transcript id of a live call (`live-` + 32 hex of SHA-256 of the call id). */
export function liveTranscriptId(callId: string): string {
  return `live-${createHash("sha256").update(callId).digest("hex").slice(0, 32)}`;
}

/** Speaker names and roles by channel for a live call's metadata. */
export function liveSpeakers(metadata: LiveCallMetadata, channels = 2): { speakers: string[]; roles: string[] } {
  return {
    speakers: channelSpeakers(metadata, channels),
    roles: Array.from({ length: channels }, (_, c) => (c === 0 ? "agent" : c === 1 ? "customer" : `channel ${c}`)),
  };
}

/** One final result as a transcript segment; undefined when it holds no words. */
export function segmentOfResult(r: ResultsMessage, speakers: readonly string[]): TranscriptSegment | undefined {
  const alt = r.channel.alternatives[0];
  if (!alt) return undefined;
  const channel = r.channel_index[0];
  const words = alt.words
    .filter((w) => w.word.trim().length > 0)
    .map((w) => ({ word: w.punctuated_word ?? w.word, start: round(Math.max(0, w.start)), end: round(Math.max(0, w.end)), confidence: clamp01(w.confidence) }));
  const text = alt.transcript.trim() || words.map((w) => w.word).join(" ");
  if (!text) return undefined;
  const start = round(words[0]?.start ?? r.start);
  const end = round(Math.max(start, words[words.length - 1]?.end ?? r.start + r.duration));
  return { speaker: speakers[channel] ?? `channel ${channel}`, channel, start, end, text, confidence: clamp01(alt.confidence), words };
}

/**
 * Build and validate the call's transcript.
 * @param finals the call's final Results (any order, any channel)
 * @param durationSec audio received, seconds (per channel)
 * @param provider engine name and model that transcribed it
 * @throws Error when the built transcript fails validation (a bug: the inputs are server-made)
 */
export function buildLiveTranscript(
  callId: string,
  metadata: LiveCallMetadata,
  finals: readonly ResultsMessage[],
  durationSec: number,
  provider?: { name: string; model: string },
  language?: string,
): Transcript {
  const channels = Math.max(2, ...finals.map((r) => r.channel_index[1]));
  const { speakers } = liveSpeakers(metadata, channels);
  const segments = finals
    .map((r) => segmentOfResult(r, speakers))
    .filter((s): s is TranscriptSegment => s !== undefined)
    .sort((a, b) => a.start - b.start || (a.channel ?? 0) - (b.channel ?? 0));
  const participants = participantsContext(metadata);
  const range = timeRange(metadata, durationSec);
  const transcript: Transcript = {
    type: "fdc3.transcript",
    id: { transcriptId: liveTranscriptId(callId), callId },
    source: "call",
    ...(participants ? { participants } : {}),
    ...(range ? { timeRange: range } : {}),
    ...(language ? { language } : {}),
    text: segments.map((s) => `${s.speaker}: ${s.text}`).join("\n"),
    segments,
    ...(provider ? { provider } : {}),
    duration: round(durationSec),
  };
  const checked = validateContext(transcript);
  if (!checked.valid) throw new Error(`live call ${callId}: built transcript is not a valid fdc3.transcript: ${checked.error}`);
  return transcript;
}
