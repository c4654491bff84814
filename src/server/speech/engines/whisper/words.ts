/**
 * Turn whisper.cpp's output (segments of BPE tokens with probabilities and token timestamps, as
 * smart-whisper's `format: "detail"` returns them) into words with times and confidence.
 *
 * - A token whose text starts with a space starts a new word; other tokens continue the current word
 *   (sub-word pieces, trailing punctuation). A word's start is its first token's start, its end its last
 *   token's end, its confidence the mean probability of its tokens.
 * - Special tokens (id ≥ end-of-text: timestamps, `[_BEG_]`, language tags) are skipped.
 * - `word` is the lower-case form without surrounding punctuation, as Deepgram's `word`; `punctuatedWord`
 *   keeps Whisper's casing and punctuation (Deepgram's `punctuated_word`). Tokens that are punctuation
 *   only (" -") join the previous word's punctuated form.
 * - Whisper's BPE can split one multi-byte UTF-8 character across tokens; smart-whisper then hands over
 *   U+FFFD for each part. Such segments fall back to the segment text split on spaces, with times spread
 *   over the segment in proportion to word length and the segment's mean token probability as confidence.
 * Pure; times in seconds.
 */

/** One token as smart-whisper reports it. Times in milliseconds from the start of the decoded buffer. */
export interface WhisperToken {
  text: string;
  id: number;
  /** Probability of the token, 0–1. */
  p: number;
  from?: number;
  to?: number;
}

/** One segment as smart-whisper reports it (`format: "detail"`). Times in milliseconds from the buffer start. */
export interface WhisperSegment {
  from: number;
  to: number;
  text: string;
  /** Language of the decode (ISO 639-1, e.g. `en`). */
  lang?: string;
  tokens?: WhisperToken[];
}

/** A word of a Whisper hypothesis. `start`/`end` in seconds from the stream (or recording) start. */
export interface WhisperWord {
  /** Lower case, no surrounding punctuation. */
  word: string;
  /** As Whisper wrote it, with casing and punctuation. */
  punctuatedWord: string;
  start: number;
  end: number;
  /** Mean token probability, 0–1. */
  confidence: number;
}

/** Words of a decode plus the statistics the guards need. */
export interface DecodedWords {
  words: WhisperWord[];
  /** Whisper's text, segments joined. */
  text: string;
  /** Mean natural-log probability of the text tokens; undefined when there were none. */
  meanLogProb?: number;
  /** Language Whisper decoded in (first segment's), if it said. */
  language?: string;
}

/** First special token of Whisper's vocabulary: end-of-text. English-only models: 50256; multilingual: 50257. */
export function endOfTextTokenId(multilingual: boolean): number {
  return multilingual ? 50257 : 50256;
}

/** Lower-case form without surrounding punctuation ("Hello," → "hello", "U.S." → "u.s"). */
export function plainWord(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu, "");
}

interface Building {
  text: string;
  start: number;
  end: number;
  probs: number[];
}

/**
 * Build words from decoded segments.
 * @param segments smart-whisper's detailed segments (token times in ms from the buffer start)
 * @param offsetSec where the decoded buffer starts in the stream, seconds (added to every time)
 * @param durationSec length of the decoded buffer, seconds: times are clamped to it
 * @param eotId end-of-text token id (`endOfTextTokenId`); tokens with this id or above are special
 */
export function segmentsToWords(segments: readonly WhisperSegment[], offsetSec: number, durationSec: number, eotId: number): DecodedWords {
  const words: WhisperWord[] = [];
  let logSum = 0;
  let logCount = 0;
  const clamp = (ms: number) => offsetSec + Math.min(durationSec, Math.max(0, ms / 1000));

  for (const segment of segments) {
    const tokens = (segment.tokens ?? []).filter((t) => t.id < eotId && !/^\[_.*_?\]$/.test(t.text) && !/^<\|.*\|>$/.test(t.text));
    for (const t of tokens) {
      logSum += Math.log(Math.max(1e-9, t.p));
      logCount++;
    }
    if (tokens.some((t) => t.text.includes("\uFFFD"))) {
      words.push(...spreadOverSegment(segment, tokens, clamp));
      continue;
    }
    let current: Building | undefined;
    const finish = () => {
      if (current) pushWord(words, current);
      current = undefined;
    };
    for (const t of tokens) {
      const start = clamp(t.from ?? segment.from);
      const end = clamp(t.to ?? segment.to);
      if (!current || /^\s/.test(t.text)) {
        finish();
        current = { text: t.text, start, end, probs: [t.p] };
      } else {
        current.text += t.text;
        current.end = Math.max(current.end, end);
        current.probs.push(t.p);
      }
    }
    finish();
  }
  enforceOrder(words);
  return {
    words,
    text: segments.map((s) => s.text).join("").trim(),
    meanLogProb: logCount > 0 ? logSum / logCount : undefined,
    language: segments.find((s) => s.lang)?.lang,
  };
}

/** Append a finished word; punctuation-only pieces join the previous word's punctuated form. */
function pushWord(words: WhisperWord[], b: Building): void {
  const punctuated = b.text.trim();
  if (!punctuated) return;
  const plain = plainWord(punctuated);
  const confidence = b.probs.reduce((a, p) => a + p, 0) / b.probs.length;
  if (!plain) {
    const previous = words[words.length - 1];
    if (previous) {
      previous.punctuatedWord += punctuated;
      previous.end = Math.max(previous.end, b.end);
    }
    return;
  }
  words.push({ word: plain, punctuatedWord: punctuated, start: b.start, end: Math.max(b.start, b.end), confidence });
}

/** Fallback for segments with broken UTF-8 tokens: split the (intact) segment text on whitespace. */
function spreadOverSegment(segment: WhisperSegment, tokens: WhisperToken[], clamp: (ms: number) => number): WhisperWord[] {
  const parts = segment.text.trim().split(/\s+/).filter(Boolean);
  const confidence = tokens.length ? tokens.reduce((a, t) => a + t.p, 0) / tokens.length : 0;
  const start = clamp(segment.from);
  const end = Math.max(start, clamp(segment.to));
  const totalChars = parts.reduce((a, p) => a + p.length, 0) || 1;
  const out: WhisperWord[] = [];
  let at = start;
  for (const part of parts) {
    const len = ((end - start) * part.length) / totalChars;
    const plain = plainWord(part);
    if (plain) out.push({ word: plain, punctuatedWord: part, start: at, end: at + len, confidence });
    at += len;
  }
  return out;
}

/** Token timestamps are estimates and can go backwards by a few ms: make starts non-decreasing and end ≥ start. */
function enforceOrder(words: WhisperWord[]): void {
  let last = -Infinity;
  for (const w of words) {
    if (w.start < last) w.start = last;
    if (w.end < w.start) w.end = w.start;
    last = w.start;
  }
}
