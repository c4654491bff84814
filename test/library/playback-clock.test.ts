/** The Library's playback clock (`src/library/playback/clock.ts`): the word at time t. */
import { describe, expect, it } from "vitest";
import { lastStartedIndex, wordAt, wordTimeline } from "../../src/library/playback/clock";

const turns = [
  { words: [{ start: 0.5, end: 0.9 }, { start: 1.0, end: 1.4 }, { start: 1.4, end: 2.0 }] },
  { words: [] },
  { words: [{ start: 3.0, end: 3.5 }, { start: 3.2, end: 4.0 }] }, // overlaps the one before
  {},
];

describe("playback clock", () => {
  const tl = wordTimeline(turns);

  it("finds the word with start ≤ t < end, across turns", () => {
    expect(wordAt(tl, 0.5)).toEqual({ turn: 0, word: 0 });
    expect(wordAt(tl, 0.899)).toEqual({ turn: 0, word: 0 });
    expect(wordAt(tl, 1.0)).toEqual({ turn: 0, word: 1 });
    // A word ends where the next starts: the next one is current.
    expect(wordAt(tl, 1.4)).toEqual({ turn: 0, word: 2 });
    expect(wordAt(tl, 3.1)).toEqual({ turn: 2, word: 0 });
    expect(wordAt(tl, 3.3)).toEqual({ turn: 2, word: 1 });
    expect(wordAt(tl, 3.9)).toEqual({ turn: 2, word: 1 });
  });

  it("has no current word in silence, before the first word, after the last, or for a bad time", () => {
    for (const t of [0, 0.49, 0.95, 2.0, 2.5, 4.0, 100, Number.NaN, Number.POSITIVE_INFINITY, -1]) expect(wordAt(tl, t), String(t)).toBeUndefined();
  });

  it("orders words by start even when the transcript does not, and drops words with bad times", () => {
    const out = wordTimeline([{ words: [{ start: 2, end: 3 }, { start: 0, end: 1 }, { start: Number.NaN, end: 1 }, { start: 5, end: 4 }] }]);
    expect(out.starts).toEqual([0, 2]);
    expect(out.refs).toEqual([{ turn: 0, word: 1 }, { turn: 0, word: 0 }]);
    expect(wordAt(out, 0.5)).toEqual({ turn: 0, word: 1 });
  });

  it("binary search agrees with a linear scan on a long transcript", () => {
    const words = Array.from({ length: 5000 }, (_, i) => ({ start: i * 0.3, end: i * 0.3 + 0.2 }));
    const long = wordTimeline([{ words }]);
    for (let k = 0; k < 2000; k++) {
      const t = ((k * 7919) % 15000) / 10;
      const linear = words.findIndex((w) => w.start <= t && t < w.end);
      expect(wordAt(long, t)?.word ?? -1, String(t)).toBe(linear);
      expect(lastStartedIndex(long, t)).toBe(words.filter((w) => w.start <= t).length - 1);
    }
  });
});
