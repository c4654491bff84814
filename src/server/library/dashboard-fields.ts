/**
 * What the dashboard (issue 9 §4) needs of one transcript, worked out when it is stored
 * (`store.ts` add) or, for transcripts stored before migration 6, by {@link backfillDashboardFields}:
 *
 * - `talkSec`: seconds of speech, the sum over speakers of each speaker's talk time (the union of
 *   their segments' spans, as the pipeline's analysis counts it: `talkTimes`); a transcript without
 *   segments counts its whole duration.
 * - `agent` / `agentTalkSec`: who the agent is and how long they spoke. The fdc3.transcript
 *   contract and both call paths (the recorded-call pipeline's `channelSpeakers`, live calls'
 *   `liveSpeakers`) put the agent on channel 0 and the customer on channel 1: on a transcript with
 *   two or more channels, the agent is the speaker of channel 0 (their name, or `agent` when the
 *   call named nobody). Without channels, a speaker labelled `agent` (the transcriber's label for
 *   the desktop user on a one-channel call). A dictation, a mono recording (speaker `mixed`) or a
 *   transcript with neither has no agent: it is left out of the talk ratio.
 * - `keyPhraseKeys`: keyed HMAC-SHA256 of each key phrase (lower case, spaces collapsed), once per
 *   transcript: SQL counts them without the phrases being stored in clear; the dashboard reads the
 *   words of the top ones back from one sealed transcript each (`dashboard-store.ts`).
 */
import { createHmac } from "node:crypto";
import type { Transcript, TranscriptSegment } from "../../contracts";
import { talkTimes } from "../pipeline/stages/analyze";

/** The dashboard columns of a transcript (migration 6). Seconds. */
export interface DashboardFields {
  talkSec: number;
  agent: string | null;
  agentTalkSec: number | null;
  keyPhraseKeys: string[];
}

/** A key phrase as counted: NFKC, lower case, trimmed, inner spaces collapsed. */
export function normalizeKeyPhrase(phrase: string): string {
  return phrase.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

/** The key of the key-phrase HMACs, derived from the library's HMAC key (`participantHmacKey`, itself from the encryption key). */
export function keyPhraseHmacKey(libraryHmacKey: Uint8Array): Buffer {
  return createHmac("sha256", libraryHmacKey).update("callscribe library key phrases v1").digest();
}

/** HMAC (hex) of a normalised key phrase. */
export function keyPhraseKey(hmacKey: Uint8Array, phrase: string): string {
  return createHmac("sha256", hmacKey).update(normalizeKeyPhrase(phrase)).digest("hex");
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The agent's speaker label in `segments`, by the rules in the module comment; undefined when none. */
export function agentSpeaker(t: Pick<Transcript, "source"> & { segments?: readonly TranscriptSegment[] }): string | undefined {
  if (t.source === "dictation") return undefined;
  const segments = t.segments ?? [];
  const channels = new Set(segments.map((s) => s.channel).filter((c) => c !== undefined));
  if (channels.size >= 2) return segments.find((s) => s.channel === 0)?.speaker;
  return segments.find((s) => s.speaker.trim().toLowerCase() === "agent")?.speaker;
}

/** The dashboard fields of a (validated) transcript; `hmacKey` from {@link keyPhraseHmacKey}. */
export function dashboardFields(t: Transcript, hmacKey: Uint8Array): DashboardFields {
  const segments = t.segments ?? [];
  const { talkTime } = talkTimes(segments, t.duration ?? 0);
  const talkSec = segments.length ? round3(Object.values(talkTime).reduce((a, b) => a + b, 0)) : (t.duration ?? 0);
  const agent = agentSpeaker(t);
  const phrases = [...new Set((t.keyPhrases ?? []).map(normalizeKeyPhrase).filter(Boolean))];
  return {
    talkSec,
    agent: agent ?? null,
    agentTalkSec: agent === undefined ? null : (talkTime[agent] ?? 0),
    keyPhraseKeys: [...new Set(phrases.map((p) => keyPhraseKey(hmacKey, p)))].sort(),
  };
}
