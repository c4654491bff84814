/**
 * The Whisper English normalizer port and WER. Expected normalizer outputs were produced by running
 * the original Python (openai/whisper@c0d2f62 `whisper/normalizers/english.py`, with
 * `more_itertools.windowed` inlined) on the same inputs.
 */
import { describe, expect, it } from "vitest";
import { exactReferenceEntries, loadManifest } from "../../src/eval/corpus";
import { normalizeEnglish } from "../../src/eval/english-normalizer";
import { alignWords, corpusWer, wordErrorRate } from "../../src/eval/wer";

describe("normalizeEnglish (Whisper EnglishTextNormalizer)", () => {
  it.each([
    ["Mr. Quilter's 42 apostles, colour!", "mister quilter is 42 apostles color"],
    [
      'the earliest book printed with movable types, the Gutenberg, or "forty-two line Bible" of about fourteen fifty-five,',
      "the earliest book printed with movable types the gutenberg or 42 line bible of about 1455",
    ],
    [
      "The first books were printed in black letter, i.e. the letter which was a Gothic development of the ancient Roman character,",
      "the 1st books were printed in black letter i e the letter which was a gothic development of the ancient roman character",
    ],
    ["I paid twenty dollars and fifty cents, that's about 20 percent [laughs] (inaudible) um of it.", "i paid $20.50 that is about 20% of it"],
    ["one oh one, double five, triple seven, two point five million, three and a half, minus seven", "101557772500003.5 -7"],
    [
      "It's the 1960s; we won't go—he can't. Dr. Smith, St. John's, 1,000,000 $3.50 £0.5 ones",
      "it is the 1960s we will not go he can not doctor smith saint john is 1000000 $3.50 £0.51s",
    ],
    ["the fifteenth century, nineteenth, twenty first, a hundred and one, one hundred and twenty three thousand", "the 15th century 19th 21st a 224000"],
    ["seventy sixth, twenties, sixes, thousands, millionth, hmm uh favourite organise", "76th 20s 6s 1000s 1000000th favorite organize"],
    ["Ünïcödé café naïve Œuvre straße 10.5% point o five", "unicode cafe naive oeuvre strasse 10.5% .05"],
  ])("%s", (input, expected) => {
    expect(normalizeEnglish(input)).toBe(expected);
  });
});

describe("word error rate", () => {
  it("counts substitutions, deletions and insertions of the best alignment", () => {
    expect(alignWords(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"])).toEqual({
      substitutions: 1, deletions: 0, insertions: 1, edits: 2, referenceWords: 4, hypothesisWords: 5,
    });
    expect(alignWords(["a", "b", "c"], ["c"])).toMatchObject({ deletions: 2, edits: 2 });
    expect(alignWords([], ["a"])).toMatchObject({ insertions: 1, edits: 1 });
  });

  it("normalizes before comparing, and pools a corpus as total edits over total words", () => {
    expect(wordErrorRate("Hello, World!", "hello world").wer).toBe(0);
    expect(wordErrorRate("forty two", "42").wer).toBe(0);
    const a = wordErrorRate("alpha beta gamma delta", "alpha beta gamma delta");
    const b = wordErrorRate("epsilon zeta", "epsilon eta");
    expect(corpusWer([a, b]).wer).toBeCloseTo(1 / 6, 10); // not the mean of 0 and 0.5
  });
});

describe("corpus manifests", () => {
  it("reads the exact-reference rows of read_en and debian_pocketsphinx", () => {
    const read = exactReferenceEntries("read_en");
    const deb = exactReferenceEntries("debian_pocketsphinx");
    expect(read.length).toBe(23);
    expect(deb.length).toBe(11);
    for (const e of [...read, ...deb]) {
      expect(e.referenceText.length).toBeGreaterThan(0);
      expect(e.durationS).toBeGreaterThan(0);
    }
    // telephony_8k rows are prompt scripts, not exact references.
    expect(exactReferenceEntries("telephony_8k")).toHaveLength(0);
    expect(loadManifest("telephony_8k").length).toBeGreaterThan(30);
  });
});
