/** Turn Whisper words into the port's `EngineHypothesis`. */
import type { EngineHypothesis } from "../engine.js";
import type { WhisperWord } from "./words.js";

/**
 * One hypothesis from words. `text` is Whisper's punctuated text; `confidence` the mean word
 * confidence (0 without words); `start`/`end` the audio span in seconds.
 */
export function toHypothesis(words: readonly WhisperWord[], start: number, end: number, language?: string): EngineHypothesis {
  const hypothesis: EngineHypothesis = {
    text: words.map((w) => w.punctuatedWord).join(" "),
    words: words.map((w) => ({ word: w.word, start: w.start, end: w.end, confidence: w.confidence, punctuatedWord: w.punctuatedWord })),
    confidence: words.length ? words.reduce((a, w) => a + w.confidence, 0) / words.length : 0,
    start,
    end,
  };
  if (language) hypothesis.language = language;
  return hypothesis;
}
