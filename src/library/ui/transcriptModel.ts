/**
 * What the transcript view shows, computed from an `fdc3.transcript` without React: turns (one per
 * segment, as the pipeline's analysis counts them), talk time per party, the per-turn sentiment
 * strip, and the low-confidence rule. Times are seconds from the start of the audio.
 */
import type { Transcript, TranscriptSegment } from "../../contracts";

/** Words below this confidence are marked `low-confidence` in the view. */
export const LOW_CONFIDENCE = 0.6;
/** |score| above this is positive/negative, else neutral (the pipeline's SENTIMENT_THRESHOLD, `src/server/pipeline/stages/analyze.ts`). */
export const SENTIMENT_THRESHOLD = 0.05;

/** Sentiment label. */
export type SentimentLabel = "positive" | "neutral" | "negative";

/** One turn's sentiment: `score` in [-1, 1]. */
export interface TurnSentiment {
  label: SentimentLabel;
  score: number;
}

/** Label of a score in [-1, 1]. */
export const sentimentLabel = (score: number): SentimentLabel => (score > SENTIMENT_THRESHOLD ? "positive" : score < -SENTIMENT_THRESHOLD ? "negative" : "neutral");

/** Is this word shown as low confidence? */
export const isLowConfidence = (confidence: number): boolean => confidence < LOW_CONFIDENCE;

/** The turns of a transcript: its segments, or the whole text as one turn by `unknown`. */
export function turnsOf(t: Transcript): TranscriptSegment[] {
  if (t.segments && t.segments.length > 0) return t.segments;
  return t.text.trim() ? [{ speaker: "unknown", start: 0, end: t.duration ?? 0, text: t.text, confidence: 0 }] : [];
}

/** Talk time of one party: seconds spoken and share of all speech (0–100). */
export interface TalkTime {
  speaker: string;
  seconds: number;
  percent: number;
}

/** Talk time per speaker, most first: the sum of their turns' lengths. */
export function talkTimes(turns: readonly TranscriptSegment[]): TalkTime[] {
  const by = new Map<string, number>();
  for (const s of turns) by.set(s.speaker, (by.get(s.speaker) ?? 0) + Math.max(0, s.end - s.start));
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  return [...by.entries()]
    .map(([speaker, seconds]) => ({ speaker, seconds, percent: total > 0 ? (seconds / total) * 100 : 0 }))
    .sort((a, b) => b.seconds - a.seconds);
}

/**
 * The per-turn sentiment the transcript carries (`sentiment.perTurn[i]` `{segment, label, score}`,
 * as the pipeline's analysis writes it), aligned to `turns`; undefined when it has none.
 */
export function carriedTurnSentiment(t: Transcript, turns: readonly TranscriptSegment[]): (TurnSentiment | undefined)[] | undefined {
  const perTurn = (t.sentiment as { perTurn?: { segment: number; label?: string; score: number }[] } | undefined)?.perTurn;
  if (!Array.isArray(perTurn) || perTurn.length === 0) return undefined;
  const out: (TurnSentiment | undefined)[] = turns.map(() => undefined);
  for (const p of perTurn) {
    if (typeof p?.segment === "number" && p.segment >= 0 && p.segment < turns.length && typeof p.score === "number") out[p.segment] = { label: sentimentLabel(p.score), score: p.score };
  }
  return out;
}
