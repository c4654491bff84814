/**
 * Build Deepgram result objects (words, alternatives) from engine hypotheses.
 *
 * Punctuation: the engines we run offline (PocketSphinx) produce lower-case words without
 * punctuation, and we have no punctuation model. With `punctuate` or `smart_format` we apply the
 * rules that are always right for one utterance: capitalise its first word and the pronoun "I"
 * (with its contractions), and end a final utterance with a full stop. `punctuated_word` carries
 * that form and the transcript is built from it, as Deepgram does.
 */
import { createHash } from "node:crypto";
import type { EngineHypothesis, EngineWord, SpeechEngine } from "./engines/engine";
import type { Alternative, ModelInfo, ResultWord } from "./protocol";

/** Options that shape the words of a result. */
export interface WordStyle {
  /** Add `punctuated_word` and build the transcript from it. */
  punctuate: boolean;
  /** Put `speaker` on every word (the channel index: we have no diarizer). */
  speaker?: number;
}

/** Round seconds to milliseconds (engine times are 10 ms frames; more digits are float noise). */
export function roundSeconds(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const PRONOUN_I = /^i('(m|d|ll|ve))?$/;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Turn one utterance's engine words into Deepgram words.
 * @param final true when the utterance is finished (gets a closing full stop when punctuating)
 */
export function utteranceWords(words: readonly EngineWord[], style: WordStyle, final: boolean): ResultWord[] {
  return words.map((w, i) => {
    const out: ResultWord = {
      word: w.word,
      start: roundSeconds(w.start),
      end: roundSeconds(Math.max(w.end, w.start)),
      confidence: roundSeconds(Math.min(1, Math.max(0, w.confidence))),
    };
    if (style.punctuate) {
      let p = i === 0 || PRONOUN_I.test(w.word) ? capitalise(w.word) : w.word;
      if (final && i === words.length - 1) p += ".";
      out.punctuated_word = p;
    }
    if (style.speaker !== undefined) out.speaker = style.speaker;
    return out;
  });
}

/** Words of several utterances in order, each punctuated as its own sentence. */
export function hypothesesWords(hypotheses: readonly EngineHypothesis[], style: WordStyle, final: boolean): ResultWord[] {
  return hypotheses.flatMap((h) => utteranceWords(h.words, style, final));
}

/** A Deepgram alternative: transcript (punctuated when asked), mean word confidence, words. */
export function alternativeOf(words: ResultWord[], style: WordStyle): Alternative {
  const transcript = words.map((w) => (style.punctuate ? (w.punctuated_word ?? w.word) : w.word)).join(" ");
  const confidence = words.length ? roundSeconds(words.reduce((a, w) => a + w.confidence, 0) / words.length) : 0;
  return { transcript, confidence, words };
}

/** Deepgram-style model identity of an engine: a stable UUID (derived from its model name) and `model_info`. */
export function modelIdentity(engine: Pick<SpeechEngine, "name" | "model">): { uuid: string; info: ModelInfo } {
  const hex = createHash("sha256").update(`${engine.name}/${engine.model}`).digest("hex");
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return { uuid, info: { name: engine.model, version: "1", arch: engine.name } };
}
