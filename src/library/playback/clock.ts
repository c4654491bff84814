/**
 * Playback timing without React: which word is being said at time t (seconds from the start of
 * the audio), found by binary search over the words' start times. A word is current while
 * `start ≤ t < end` (the TranscriptView contract); between words (silence) none is.
 */

/** A word's times, seconds. */
export interface TimedWord {
  start: number;
  end: number;
}

/** Where a word is: its turn (segment) index and its index in that turn's `words`. */
export interface WordRef {
  turn: number;
  word: number;
}

/** The words of a transcript in start order, ready for {@link wordAt}. */
export interface WordTimeline {
  /** Start times, ascending. */
  starts: number[];
  /** End time of the word at the same index. */
  ends: number[];
  refs: WordRef[];
}

/** Index the words of `turns` (segments with optional `words`) by start time; words with non-finite or reversed times are left out. */
export function wordTimeline(turns: readonly { words?: readonly TimedWord[] }[]): WordTimeline {
  const all: { start: number; end: number; ref: WordRef }[] = [];
  turns.forEach((t, turn) =>
    t.words?.forEach((w, word) => {
      if (Number.isFinite(w.start) && Number.isFinite(w.end) && w.end >= w.start) all.push({ start: w.start, end: w.end, ref: { turn, word } });
    }),
  );
  all.sort((a, b) => a.start - b.start); // stable: equal starts keep transcript order
  return { starts: all.map((w) => w.start), ends: all.map((w) => w.end), refs: all.map((w) => w.ref) };
}

/** Index of the last word that starts at or before `t`; -1 when none does. O(log n). */
export function lastStartedIndex(tl: WordTimeline, t: number): number {
  let lo = 0;
  let hi = tl.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (tl.starts[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The word being said at `t` seconds: the latest-starting word with `start ≤ t < end`
 * (overlapping speakers: the one that started last); undefined in silence, before the first word
 * or after the last, or for a non-finite `t`.
 */
export function wordAt(tl: WordTimeline, t: number): WordRef | undefined {
  if (!Number.isFinite(t)) return undefined;
  // Overlaps are rare and short: look back a few words for one still going.
  for (let i = lastStartedIndex(tl, t), seen = 0; i >= 0 && seen < 8; i--, seen++) {
    if (t < tl.ends[i]) return tl.refs[i];
  }
  return undefined;
}
