/**
 * LocalAgreement-2: the stable-prefix policy of whisper_streaming (Macháček, Dabre, Bojar, "Turning
 * Whisper into Real-Time Transcription System", IJCNLP-AACL 2023 demo; `HypothesisBuffer` in
 * `whisper_online.py`). Whisper re-decodes the growing audio buffer again and again; a word is
 * *committed* (shown as stable) once two consecutive hypotheses agree on it: the committed output
 * grows by the longest common prefix of the last two hypotheses, after what is already committed.
 *
 * Per hypothesis (`insert`), as in `HypothesisBuffer.insert` + `flush`:
 * 1. keep only words that start after the last committed word's end (minus 0.1 s tolerance), so
 *    words committed earlier are not committed twice;
 * 2. if the first kept word starts within 1 s of that end, drop a 1–5-word n-gram at its head that
 *    repeats the tail of the committed words (the same words, re-timed by the new decode);
 * 3. commit the longest common prefix of these words and the previous hypothesis's uncommitted words;
 *    the rest of the new hypothesis becomes the uncommitted (tentative) words.
 *
 * One deviation: words are compared after `normalizeWord` (case and surrounding punctuation
 * ignored), so "Hello," and "hello" agree; whisper_streaming compares the raw token text.
 * Pure: no model, no timers. Times are seconds (any origin, as long as it is the same for all words).
 */

/** A word with times in seconds. Extra fields (confidence, punctuation) travel along untouched. */
export interface TimedWord {
  word: string;
  start: number;
  end: number;
}

/** Tuning of the policy; the defaults are whisper_streaming's constants. */
export interface LocalAgreementOptions {
  /** Words starting before (last committed end − this) are treated as already committed, seconds. Default 0.1. */
  timeToleranceSec?: number;
  /** Only look for a repeated n-gram when the first new word starts within this of the last committed end, seconds. Default 1. */
  overlapWindowSec?: number;
  /** Longest committed tail compared for repetition, in words. Default 5. */
  maxOverlapWords?: number;
}

/** Case- and punctuation-insensitive form used to compare words ("Hello," → "hello"). */
export function normalizeWord(word: string): string {
  return word
    .toLowerCase()
    .normalize("NFKC")
    .replace(/^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu, "");
}

/** The LocalAgreement-2 state of one utterance (or one stream: it never forgets committed words). */
export class LocalAgreement<W extends TimedWord = TimedWord> {
  private readonly tolerance: number;
  private readonly overlapWindow: number;
  private readonly maxOverlap: number;
  private committedWords: W[] = [];
  /** Uncommitted words of the previous hypothesis (whisper_streaming's `buffer`). */
  private pending: W[] = [];
  private lastCommittedEnd: number;

  /** @param originSec where the audio starts (seconds); words before it minus the tolerance are ignored. */
  constructor(originSec = 0, options: LocalAgreementOptions = {}) {
    this.tolerance = options.timeToleranceSec ?? 0.1;
    this.overlapWindow = options.overlapWindowSec ?? 1;
    this.maxOverlap = options.maxOverlapWords ?? 5;
    this.lastCommittedEnd = originSec;
  }

  /** Words committed so far, in order. */
  get committed(): readonly W[] {
    return this.committedWords;
  }

  /** The latest hypothesis's words after the committed ones: shown, but may still change. */
  get tentative(): readonly W[] {
    return this.pending;
  }

  /**
   * Add the next hypothesis (all words of a fresh decode, in order) and commit what it shares with
   * the previous one.
   * @returns the words committed by this call (possibly none).
   */
  insert(hypothesis: readonly W[]): W[] {
    let fresh = hypothesis.filter((w) => w.start > this.lastCommittedEnd - this.tolerance);
    if (fresh.length > 0 && Math.abs(fresh[0]!.start - this.lastCommittedEnd) < this.overlapWindow) {
      fresh = this.dropRepeatedHead(fresh);
    }
    const newlyCommitted: W[] = [];
    let i = 0;
    while (i < fresh.length && i < this.pending.length && normalizeWord(fresh[i]!.word) === normalizeWord(this.pending[i]!.word)) {
      newlyCommitted.push(fresh[i]!);
      i++;
    }
    if (newlyCommitted.length > 0) {
      this.committedWords.push(...newlyCommitted);
      this.lastCommittedEnd = newlyCommitted[newlyCommitted.length - 1]!.end;
    }
    this.pending = fresh.slice(i);
    return newlyCommitted;
  }

  /** Committed plus tentative words: what an interim result shows. */
  current(): W[] {
    return [...this.committedWords, ...this.pending];
  }

  /** Drop the longest 1..maxOverlap-word head of `fresh` that equals the tail of the committed words. */
  private dropRepeatedHead(fresh: W[]): W[] {
    const committed = this.committedWords;
    const limit = Math.min(committed.length, fresh.length, this.maxOverlap);
    // whisper_streaming tries n = 1, 2, ... and stops at the first match; do the same.
    for (let n = 1; n <= limit; n++) {
      let same = true;
      for (let j = 0; j < n && same; j++) {
        same = normalizeWord(committed[committed.length - n + j]!.word) === normalizeWord(fresh[j]!.word);
      }
      if (same) return fresh.slice(n);
    }
    return fresh;
  }
}
