/**
 * LocalAgreement-2 (whisper_streaming's stable-prefix policy) with scripted hypotheses: no model.
 * Each hypothesis is what a re-decode of the growing buffer might return.
 */
import { describe, expect, it } from "vitest";
import { LocalAgreement, normalizeWord, type TimedWord } from "../../src/server/speech/engines/whisper/local-agreement.js";

/** Words spaced 0.5 s apart from `start`: "a b c" → a@[0,0.4], b@[0.5,0.9], ... */
function hyp(text: string, start = 0, step = 0.5): TimedWord[] {
  return text
    .split(" ")
    .filter(Boolean)
    .map((word, i) => ({ word, start: start + i * step, end: start + i * step + 0.4 }));
}
const words = (ws: readonly TimedWord[]) => ws.map((w) => w.word).join(" ");

describe("LocalAgreement-2", () => {
  it("commits nothing from a single hypothesis and shows it as tentative", () => {
    const la = new LocalAgreement();
    expect(la.insert(hyp("hello world"))).toEqual([]);
    expect(words(la.committed)).toBe("");
    expect(words(la.tentative)).toBe("hello world");
    expect(words(la.current())).toBe("hello world");
  });

  it("commits the longest common prefix of the last two hypotheses", () => {
    const la = new LocalAgreement();
    la.insert(hyp("the cat sat"));
    const committed = la.insert(hyp("the cat sat on"));
    expect(words(committed)).toBe("the cat sat");
    expect(words(la.tentative)).toBe("on");
    expect(words(la.current())).toBe("the cat sat on");
  });

  it("stops at the first disagreement and keeps the newest words as tentative", () => {
    const la = new LocalAgreement();
    la.insert(hyp("I scream for"));
    expect(words(la.insert(hyp("ice cream for you")))).toBe("");
    expect(words(la.tentative)).toBe("ice cream for you");
    // The next decode agrees with the revised reading: now it is committed.
    expect(words(la.insert(hyp("ice cream for you all")))).toBe("ice cream for you");
    expect(words(la.tentative)).toBe("all");
  });

  it("never commits a word twice when later hypotheses repeat the committed part", () => {
    const la = new LocalAgreement();
    la.insert(hyp("one two three"));
    la.insert(hyp("one two three four"));
    expect(words(la.committed)).toBe("one two three");
    // Re-decoding the whole buffer again returns the committed words first: they are filtered by time.
    la.insert(hyp("one two three four five"));
    expect(words(la.committed)).toBe("one two three four");
    expect(words(la.tentative)).toBe("five");
    expect(words(la.current())).toBe("one two three four five");
  });

  it("drops a re-timed repeat of the committed tail (the n-gram check)", () => {
    const la = new LocalAgreement();
    la.insert(hyp("good morning"));
    la.insert(hyp("good morning everyone"));
    expect(words(la.committed)).toBe("good morning");
    // The new decode places "morning" slightly later, after the committed end (0.9 s): without the
    // n-gram check it would be shown twice.
    const retimed: TimedWord[] = [
      { word: "morning", start: 0.95, end: 1.2 },
      { word: "everyone", start: 1.3, end: 1.7 },
    ];
    la.insert(retimed);
    expect(words(la.committed)).toBe("good morning everyone");
    expect(words(la.current())).toBe("good morning everyone");
  });

  it("compares words without case or punctuation", () => {
    expect(normalizeWord("Hello,")).toBe("hello");
    expect(normalizeWord("¿Qué?")).toBe("qué");
    const la = new LocalAgreement();
    la.insert(hyp("Hello, world"));
    expect(words(la.insert(hyp("hello world again")))).toBe("hello world");
  });

  it("ignores words before the utterance origin", () => {
    const la = new LocalAgreement(10);
    la.insert([...hyp("stale", 5), ...hyp("fresh words", 10)]);
    expect(words(la.tentative)).toBe("fresh words");
  });

  it("is monotonic over a scripted decode sequence: committed words only grow", () => {
    const script = ["so", "so we", "so we should", "so we should meet", "so we should meet at", "so we should meet at noon"];
    const la = new LocalAgreement();
    let previous = "";
    for (const text of script) {
      la.insert(hyp(text));
      const committed = words(la.committed);
      expect(committed.startsWith(previous)).toBe(true);
      previous = committed;
      expect(words(la.current())).toBe(text);
    }
    expect(previous).toBe("so we should meet at");
  });
});
