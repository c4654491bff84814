/**
 * Transcribe stage: each channel resampled to the engine's 16 kHz PCM16 and transcribed on its
 * own (DESIGN §5: per-channel transcription is the most accurate way to tell speakers apart on
 * stereo call recordings), then the utterances of all channels merged by start time into one
 * validated `fdc3.transcript` (source `recording`).
 *
 * Speakers: channel 0 is the agent and channel 1 the customer (the telephony convention, also in
 * the transcript schema); further channels are `channel N`. A mono recording mixes everyone, so
 * its segments carry the label {@link MIXED_SPEAKER} (no diarization is attempted). A recording
 * whose channels carry the same audio (a mono call stored as stereo, detected while decoding) is
 * transcribed once, as a mono call: otherwise every line would appear twice, as agent and customer.
 */
import { createHash } from "node:crypto";
import { validateContext, type Transcript, type TranscriptSegment } from "../../../contracts";
import { chunksOfDecoded, type ChunkedEngineAudio } from "../../speech/audio/engine-audio";
import type { EngineHypothesis, SpeechEngine } from "../../speech/engines/engine";
import { transcribeChunked } from "../../speech/engines/recording";
import { isStageError, StageError } from "./errors";
import type { EngineAudio, RecordingReady } from "./types";

/** Speaker label of segments from a mono recording (all parties on one channel). */
export const MIXED_SPEAKER = "mixed";

/** Labels used when the webhook names nobody: channel 0, channel 1. */
export const DEFAULT_CHANNEL_SPEAKERS = ["agent", "customer"] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/**
 * Speaker name per channel from the webhook's metadata: channel 0 the agent (`agent.name`, else
 * the participant with role `agent`), channel 1 the customer (the participant with role
 * `customer`, else the first participant that is not the agent); defaults `agent` / `customer`.
 */
export function channelSpeakers(meta: Pick<RecordingReady, "agent" | "participants"> & Partial<RecordingReady>, channelCount: number): string[] {
  const participants = meta.participants ?? [];
  const agentParticipant = participants.find((p) => p.role === "agent");
  const agentName = meta.agent?.name ?? agentParticipant?.name;
  const customer =
    participants.find((p) => p.role === "customer") ??
    participants.find((p) => p !== agentParticipant && p.role !== "agent" && (p.name === undefined || p.name !== agentName));
  const names = [agentName || DEFAULT_CHANNEL_SPEAKERS[0], customer?.name || DEFAULT_CHANNEL_SPEAKERS[1]];
  if (names[0] === names[1]) names[1] = `${names[1]} (customer)`;
  return Array.from({ length: channelCount }, (_, c) => names[c] ?? `channel ${c}`);
}

function segmentOf(h: EngineHypothesis, speaker: string, channel: number | undefined): TranscriptSegment | undefined {
  const words = h.words
    .filter((w) => w.word.trim().length > 0)
    .map((w) => ({ word: w.word, start: round(Math.max(0, w.start)), end: round(Math.max(0, w.end)), confidence: Math.min(1, Math.max(0, w.confidence)) }));
  const text = h.text.trim() || words.map((w) => w.word).join(" ");
  if (!text) return undefined;
  const start = round(Math.max(0, words[0]?.start ?? h.start));
  const end = round(Math.max(start, words[words.length - 1]?.end ?? h.end));
  const confidence = Math.min(1, Math.max(0, h.confidence));
  return { speaker, ...(channel === undefined ? {} : { channel }), start, end, text, confidence, words };
}

/** The call's people as an `fdc3.contactList` (agent first, then participants; e-mails where valid); undefined when nobody is named. */
export function participantsContext(meta: Pick<RecordingReady, "agent" | "participants">): Transcript["participants"] | undefined {
  const people = [...(meta.agent ? [{ name: meta.agent.name, email: meta.agent.email }] : []), ...(meta.participants ?? [])];
  const contacts = people
    .filter((p) => p.name || p.email)
    .map((p) => ({ type: "fdc3.contact" as const, ...(p.name ? { name: p.name } : {}), id: p.email && EMAIL.test(p.email) ? { email: p.email } : {} }));
  const unique = contacts.filter((c, i) => contacts.findIndex((d) => d.name === c.name && d.id.email === c.id.email) === i);
  return unique.length > 0 ? ({ type: "fdc3.contactList", contacts: unique } as Transcript["participants"]) : undefined;
}

/** `fdc3.timeRange` from `start_time` and a duration in seconds; undefined without a valid start time. */
export function timeRange(meta: Pick<RecordingReady, "start_time">, duration: number): Transcript["timeRange"] | undefined {
  if (!meta.start_time) return undefined;
  const start = Date.parse(meta.start_time);
  if (Number.isNaN(start)) return undefined;
  return { type: "fdc3.timeRange", startTime: new Date(start).toISOString(), endTime: new Date(start + duration * 1000).toISOString() } as Transcript["timeRange"];
}

/** Stable transcript id per call, so a retried stage yields the same id (idempotent delivery). */
export function transcriptIdFor(callId: string): string {
  return `rec-${createHash("sha256").update(callId).digest("hex").slice(0, 32)}`;
}

/**
 * Transcribe a decoded recording.
 * @param engine any `SpeechEngine` (ready or not; `transcribe` waits for it)
 * @param decoded the decode stage's output (`openRecording`: decoded again here chunk by chunk into
 *   the engine, memory not growing with the duration), or audio decoded whole; every channel is
 *   transcribed separately when there are two or more that differ, once (as mono) when they carry the same audio
 * @param meta the webhook body: `call_id`, participants and agent for speaker names, `start_time`
 * @returns an `fdc3.transcript` validated with ajv: `source: "recording"`, `id.callId`, segments in
 *   time order with `channel` (multichannel only), words and confidences; times in seconds from the
 *   start of the audio; `text` is one line per segment (`speaker: text` for multichannel)
 * @throws StageError (stage `transcribe`): retryable when the engine fails; permanent when the
 *   audio has no channels or the built transcript fails validation
 */
export async function transcribeRecording(engine: SpeechEngine, decoded: EngineAudio | ChunkedEngineAudio, meta: RecordingReady): Promise<Transcript> {
  const audio = "channels" in decoded ? chunksOfDecoded(decoded) : decoded;
  if (audio.outputs === 0) {
    throw new StageError("decoded audio has no channels", { retryable: false, stage: "transcribe" });
  }
  const transcribed = audio.identicalChannels ? 1 : audio.outputs;
  const multichannel = transcribed > 1;
  const speakers = multichannel ? channelSpeakers(meta, transcribed) : [MIXED_SPEAKER];

  let perChannel: EngineHypothesis[][];
  try {
    perChannel = await transcribeChunked(engine, audio.decode, transcribed);
  } catch (err) {
    if (isStageError(err)) throw err;
    throw new StageError(`speech engine ${engine.name} failed: ${(err as Error).message}`, { retryable: true, stage: "transcribe", cause: err });
  }

  const segments = perChannel
    .flatMap((hypotheses, c) => hypotheses.map((h) => segmentOf(h, speakers[c], multichannel ? c : undefined)))
    .filter((s): s is TranscriptSegment => s !== undefined)
    .sort((a, b) => a.start - b.start || (a.channel ?? 0) - (b.channel ?? 0));

  const duration = round(audio.duration);
  const participants = participantsContext(meta);
  const range = timeRange(meta, duration);
  const transcript: Transcript = {
    type: "fdc3.transcript",
    id: { transcriptId: transcriptIdFor(meta.call_id), callId: meta.call_id },
    source: "recording",
    ...(participants ? { participants } : {}),
    ...(range ? { timeRange: range } : {}),
    // A single-language engine tells us the language; a multilingual one would have to detect it.
    ...(engine.languages.length === 1 ? { language: engine.languages[0] } : {}),
    text: segments.map((s) => (multichannel ? `${s.speaker}: ${s.text}` : s.text)).join("\n"),
    segments,
    provider: { name: engine.name, model: engine.model },
    duration,
  };
  const checked = validateContext(transcript);
  if (!checked.valid) {
    throw new StageError(`built transcript is not a valid fdc3.transcript: ${checked.error}`, { retryable: false, stage: "transcribe" });
  }
  return transcript;
}
