/**
 * The English WER normalizer and WER. Expected normalizer outputs follow the rules written in
 * `src/eval/english-normalizer.ts` and `english-numbers.ts`, one group of cases per rule.
 */
import { describe, expect, it } from "vitest";
import { exactReferenceEntries, loadManifest } from "../../src/eval/corpus";
import { normalizeEnglish, removeSymbolsAndDiacritics } from "../../src/eval/english-normalizer";
import { alignWords, corpusWer, wordErrorRate } from "../../src/eval/wer";

const cases = (rows: Array<[string, string]>) =>
  it.each(rows)("%j → %j", (input, expected) => {
    expect(normalizeEnglish(input)).toBe(expected);
  });

describe("normalizeEnglish: text", () => {
  describe("lower-cases, drops diacritics, folds letters NFKD leaves whole", () => cases([
    ["Ünïcödé CAFÉ naïve", "unicode cafe naive"],
    ["Œuvre straße Łódź Đaković þorn Æsir Ørsted", "oeuvre strasse lodz dakovic thorn aesir orsted"],
  ]));
  describe("drops bracketed spans", () => cases([
    ["so [laughter] we <unk> agreed (inaudible) yes", "so we agreed yes"],
    ["[noise]", ""],
  ]));
  describe("drops fillers as whole words only", () => cases([
    ["Hmm, well uh I um think mhm mm mmm so", "well i think so"],
    ["umbrella uhura hummus summer mmmkay", "umbrella uhura hummus summer mmmkay"],
  ]));
  describe("expands contractions; a possessive keeps its s attached", () => cases([
    ["I won't, you can't, she doesn't, they're here", "i will not you can not she does not they are here"],
    ["it's that's there's here's what's who's he's she's", "it is that is there is here is what is who is he is she is"],
    ["I'd we'll you've I'm let's", "i would we will you have i am let us"],
    ["John\u2019s car, the students' books, o'clock", "johns car the students books oclock"],
  ]));
  describe("expands titles, as whole words, with or without a period", () => cases([
    ["Mr. and Mrs. Smith met Dr Jones in St. Paul", "mister and missus smith met doctor jones in saint paul"],
    [
      "Jr. Sr. Prof. Gen. Sgt. Capt. Lt. Col. Rev. Hon.",
      "junior senior professor general sergeant captain lieutenant colonel reverend honorable",
    ],
    ["Dry street, 1st strong drive", "dry street 1st strong drive"],
  ]));
  describe("turns punctuation and symbols into spaces, but keeps numbers whole", () => cases([
    ["Wait... it costs $3.50; that's 10.5% of 1,000,000 & £5/€7 - ok?", "wait it costs $3.50 that is 10.5% of 1000000 £5 €7 ok"],
    ['"Forty-two," she said: i.e. 3.5!', "42 she said i e 3.5"],
  ]));
  describe("collapses whitespace and trims", () => cases([
    ["  lots   of\tspace \n here  ", "lots of space here"],
    ["", ""],
    [" ... ", ""],
  ]));
  it("does not look words up on Object.prototype", () => {
    expect(normalizeEnglish("five constructor one two __proto__ dollars")).toBe("5 constructor 12 proto dollars");
  });
});

describe("normalizeEnglish: spelled-out numbers", () => {
  describe("cardinals; a lone one is 1, words containing one are left alone", () => cases([
    ["twenty one", "21"],
    ["one hundred and five", "105"],
    ["two thousand twenty six", "2026"],
    ["a hundred and one, a thousand and one nights", "101 1001 nights"],
    ["one million two hundred thousand and seven", "1200007"],
    ["one", "1"],
    ["someone, anyone or no one", "someone anyone or no 1"],
  ]));
  describe("year pairs", () => cases([
    ["nineteen ninety", "1990"],
    ["about fourteen fifty-five", "about 1455"],
    ["nineteen oh five", "1905"],
    ["twenty twenty six", "2026"],
    ["the nineteen sixties", "the 1960s"],
  ]));
  describe("decimals", () => cases([
    ["three point five", "3.5"],
    ["zero point oh five", "0.05"],
    ["two point five million", "2500000"],
    ["2.5 million and 2 thousand", "2500000 and 2000"],
  ]));
  describe("ordinals and plurals", () => cases([
    ["first second third fourth twenty third", "1st 2nd 3rd 4th 23rd"],
    ["eleventh twelfth thirteenth twenty first hundredth", "11th 12th 13th 21st 100th"],
    ["one hundred and first, the fifteenth century", "101st the 15th century"],
    ["the twenties, hundreds of thousands", "the 20s 100s of 1000s"],
  ]));
  describe("percent", () => cases([
    ["twenty percent, 20 percent and fifty per cent", "20% 20% and 50%"],
    ["per cent", "per cent"],
  ]));
  describe("money; cents are written in dollars", () => cases([
    ["five dollars and fifty cents", "$5.50"],
    ["five dollars, 5 dollars, $5", "$5 $5 $5"],
    ["ten cents, 10 cents, 10¢, $0.10", "$0.10 $0.10 $0.10 $0.10"],
    ["five cents", "$0.05"],
    ["five pounds and a hundred euros", "£5 and €100"],
    ["a million dollars, $5 million", "$1000000 $5000000"],
  ]));
  describe("digit strings: double, triple, and oh as zero only inside them", () => cases([
    ["double seven", "77"],
    ["one oh one", "101"],
    ["five five five one two one two", "5551212"],
    ["triple nine, double oh seven", "999 007"],
    ["oh no, one oh", "oh no 1 oh"],
  ]));
  describe("sentence punctuation ends a number", () => cases([
    ["five, six", "5 6"],
    ["twenty. one", "20 1"],
  ]));
});

describe("removeSymbolsAndDiacritics", () => {
  it("puts a space for each symbol or punctuation mark and keeps the characters asked for", () => {
    expect(removeSymbolsAndDiacritics("Café—au-lait!")).toBe("Cafe au lait ");
    expect(removeSymbolsAndDiacritics("$3.50!", "$.")).toBe("$3.50 ");
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
