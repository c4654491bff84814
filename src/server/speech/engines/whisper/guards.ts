/**
 * Guards against Whisper's hallucinations on silence and noise. Whisper was trained on subtitles, so
 * on audio without speech it tends to write "Thank you.", "[BLANK_AUDIO]" or loop on a phrase.
 * Pure functions over text, words and audio statistics; the stream and `transcribe()` apply them.
 *
 * 1. VAD gate (`shouldDecode`): audio with too little voiced time is never decoded.
 * 2. No-speech rule (`checkHypothesis`): OpenAI Whisper drops a segment when `no_speech_prob > 0.6`
 *    and `avg_logprob < -1` (openai/whisper `transcribe.py`). The whisper.cpp bundled with
 *    smart-whisper 0.8.1 neither computes nor exposes `no_speech_prob` (its `no_speech_thold` is unused),
 *    so the VAD stands in for it: a hypothesis whose mean token log-probability is below
 *    `maxMeanLogProb` is dropped when the audio's voiced ratio is low or the audio is quiet.
 * 3. Repetition (`checkHypothesis`): the gzip compression ratio of the text above 2.4 (OpenAI's
 *    `compression_ratio_threshold`), or one n-gram (1–6 words) repeated back to back more than
 *    `maxNgramRepeats` times, marks a decoding loop; the hypothesis is dropped.
 * 4. Known silence phrases (`checkHypothesis`): when the whole text is one of the phrases Whisper
 *    writes on silence and the audio is quiet or mostly unvoiced, it is dropped.
 * 5. Non-speech annotations (`stripAnnotations`): words like `[BLANK_AUDIO]`, `(music)`, `*laughs*`,
 *    `♪` are never words of a transcript and are always removed.
 */
import { deflateSync } from "node:zlib";
import { normalizeWord } from "./local-agreement.js";

/** Loudness and voicing of a stretch of audio, from the VAD. */
export interface AudioStats {
  /** Length from the first to the last voiced frame (the whole stretch when none is voiced), seconds. */
  durationSec: number;
  /** Seconds the VAD judged voiced. */
  voicedSec: number;
  /** RMS level over the voiced frames (over all frames when none is voiced), dBFS (0 = full scale). */
  rmsDbfs: number;
}

/** A decoded hypothesis as the guards see it. */
export interface GuardedHypothesis<W extends { word: string }> {
  text: string;
  words: W[];
  /** Mean natural-log probability of the text tokens (≤ 0); `undefined` when there were none. */
  meanLogProb?: number;
}

/** Thresholds of the guards. */
export interface GuardOptions {
  /** VAD gate: least voiced audio worth decoding, seconds. Default 0.25. */
  minVoicedSec: number;
  /** No-speech rule: hypotheses with a mean token log-probability below this are suspect. Default −1 (OpenAI's `logprob_threshold`). */
  maxMeanLogProb: number;
  /** Audio below this RMS is quiet, dBFS. Default −45. */
  quietDbfs: number;
  /** Audio with a lower voiced fraction is mostly silence. Default 0.3. */
  minVoicedRatio: number;
  /** Repetition: highest gzip compression ratio accepted. Default 2.4 (OpenAI's `compression_ratio_threshold`). */
  maxCompressionRatio: number;
  /** Texts shorter than this (UTF-8 bytes) skip the compression test: short strings do not compress. Default 60. */
  minCompressionBytes: number;
  /** Repetition: most back-to-back repeats of one n-gram accepted. Default 3. */
  maxNgramRepeats: number;
}

/** Default thresholds (see `GuardOptions`). */
export const DEFAULT_GUARDS: GuardOptions = {
  minVoicedSec: 0.25,
  maxMeanLogProb: -1,
  quietDbfs: -45,
  minVoicedRatio: 0.3,
  maxCompressionRatio: 2.4,
  minCompressionBytes: 60,
  maxNgramRepeats: 3,
};

/**
 * Phrases Whisper writes on silence or noise (from subtitle credits in its training data), compared
 * after `normalizeText`. Only dropped when the audio itself gives little evidence of speech.
 */
export const SILENCE_HALLUCINATIONS: readonly string[] = [
  "thank you",
  "thank you very much",
  "thanks",
  "thanks for watching",
  "thank you for watching",
  "thanks for watching and see you next time",
  "please subscribe",
  "subscribe",
  "like and subscribe",
  "bye",
  "bye bye",
  "goodbye",
  "you",
  "the end",
  "silence",
  "subtitles by the amara org community",
  "transcribed by https otter ai",
];

const SILENCE_SET = new Set(SILENCE_HALLUCINATIONS);

/** Why a hypothesis was dropped. */
export type DropReason = "no-speech" | "compression-ratio" | "repetition" | "silence-phrase" | "empty";

/** Lower-case words joined by single spaces, punctuation removed: the form phrases are compared in. */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKC")
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

/** True for tokens that annotate non-speech: `[BLANK_AUDIO]`, `(music)`, `*laughs*`, `♪`, `[_TT_12]`. */
export function isAnnotation(word: string): boolean {
  const w = word.trim();
  return /^\[.*\]$|^\(.*\)$|^\*.*\*$/su.test(w) || /^[♪♫\s]+$/u.test(w);
}

/**
 * Remove annotation words. Multi-word annotations ("(upbeat" "music)") are removed from the opening
 * bracket to the closing one.
 */
export function stripAnnotations<W extends { word: string }>(words: readonly W[]): W[] {
  const out: W[] = [];
  let closing: string | undefined;
  for (const w of words) {
    const t = w.word.trim();
    if (closing) {
      if (t.endsWith(closing)) closing = undefined;
      continue;
    }
    if (isAnnotation(t)) continue;
    const open = /^[[(*]/.exec(t)?.[0];
    if (open) {
      const close = open === "[" ? "]" : open === "(" ? ")" : "*";
      if (!t.endsWith(close)) {
        closing = close;
        continue;
      }
    }
    if (/^[♪♫]/u.test(t)) continue;
    out.push(w);
  }
  return out;
}

/** gzip (deflate) compression ratio of the text: UTF-8 bytes / compressed bytes, as OpenAI Whisper computes it. */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length === 0) return 0;
  return bytes.length / deflateSync(bytes).length;
}

/**
 * The most times any n-gram (1 ≤ n ≤ maxN words) occurs back to back, comparing normalized words.
 * "go go go" → 3; "a b a b a b" → 3; "a b c" → 1; [] → 0.
 */
export function maxConsecutiveRepeats(words: readonly string[], maxN = 6): number {
  const w = words.map(normalizeWord);
  if (w.length === 0) return 0;
  let best = 1;
  for (let n = 1; n <= maxN && n * 2 <= w.length; n++) {
    for (let start = 0; start + n <= w.length; start++) {
      let repeats = 1;
      let next = start + n;
      while (next + n <= w.length && sameSpan(w, start, next, n)) {
        repeats++;
        next += n;
      }
      if (repeats > best) best = repeats;
    }
  }
  return best;
}

function sameSpan(w: string[], a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (w[a + i] !== w[b + i]) return false;
  return true;
}

/** VAD gate: decode only audio with enough voiced time. */
export function shouldDecode(stats: AudioStats, options: GuardOptions = DEFAULT_GUARDS): boolean {
  return stats.voicedSec >= options.minVoicedSec;
}

/** True when the audio gives little evidence of speech: quiet, or mostly unvoiced. */
export function weakSpeechEvidence(stats: AudioStats, options: GuardOptions = DEFAULT_GUARDS): boolean {
  const ratio = stats.durationSec > 0 ? stats.voicedSec / stats.durationSec : 0;
  return stats.rmsDbfs < options.quietDbfs || ratio < options.minVoicedRatio;
}

/** Outcome of `checkHypothesis`: the words to keep, or why the hypothesis was dropped. */
export type GuardVerdict<W> = { keep: true; words: W[]; text: string } | { keep: false; reason: DropReason };

/**
 * Apply guards 2–5 to a decoded hypothesis.
 * @returns the kept words (annotations removed) and their text, or the reason it was dropped.
 */
export function checkHypothesis<W extends { word: string }>(
  hypothesis: GuardedHypothesis<W>,
  stats: AudioStats,
  options: GuardOptions = DEFAULT_GUARDS,
): GuardVerdict<W> {
  const words = stripAnnotations(hypothesis.words);
  if (words.length === 0) return { keep: false, reason: "empty" };
  const text = words.map((w) => w.word).join(" ");
  const weak = weakSpeechEvidence(stats, options);
  if (weak && hypothesis.meanLogProb !== undefined && hypothesis.meanLogProb < options.maxMeanLogProb) {
    return { keep: false, reason: "no-speech" };
  }
  if (Buffer.byteLength(text, "utf8") >= options.minCompressionBytes && compressionRatio(text) > options.maxCompressionRatio) {
    return { keep: false, reason: "compression-ratio" };
  }
  if (maxConsecutiveRepeats(words.map((w) => w.word)) > options.maxNgramRepeats) {
    return { keep: false, reason: "repetition" };
  }
  if (weak && SILENCE_SET.has(normalizeText(text))) return { keep: false, reason: "silence-phrase" };
  return { keep: true, words, text };
}
