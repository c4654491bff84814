/**
 * The on-premise NLP engine: `wink-nlp` with `wink-eng-lite-web-model` (English, shipped on npm:
 * tokens, lemmas, part-of-speech, sentence boundaries, negation and sentiment). Loaded once per
 * process, on first use.
 *
 * Sentiment is wink's lexicon score (AFINN/emoji lexicon with negation handling), normalised by
 * wink to [-1, 1]. Noun chunks come from wink's custom-entity patterns over POS tags.
 */
import winkNLP, { type ItemSentence, type ItemToken, type ItsFunction } from "wink-nlp";
import model from "wink-eng-lite-web-model";

type WinkNlp = ReturnType<typeof winkNLP>;

let instance: WinkNlp | undefined;

/** Part-of-speech patterns (Universal POS tags) that mark a key-phrase candidate. */
const NOUN_CHUNK_PATTERNS = ["[ADJ|NOUN|PROPN] [NOUN|PROPN]", "[ADJ|NOUN|PROPN] [ADJ|NOUN|PROPN] [NOUN|PROPN]", "[NOUN|PROPN]"];

/** The shared wink-nlp instance (pipe: sentence boundaries, negation, sentiment, POS, custom entities). */
export function nlp(): WinkNlp {
  if (!instance) {
    instance = winkNLP(model, ["sbd", "negation", "sentiment", "pos", "cer"]);
    instance.learnCustomEntities([{ name: "nounChunk", patterns: NOUN_CHUNK_PATTERNS }], { matchValue: false, usePOS: true, useEntity: false });
  }
  return instance;
}

/** One analysed token: lower-cased text, lemma, part of speech, stop-word flag. */
export interface TokenInfo {
  normal: string;
  lemma: string;
  pos: string;
  stop: boolean;
}

/** One analysed sentence. `sentiment` in [-1, 1]. */
export interface SentenceInfo {
  text: string;
  sentiment: number;
  tokens: TokenInfo[];
}

/** One analysed text: its sentences, overall sentiment in [-1, 1], and noun chunks (lower case). */
export interface TextInfo {
  sentiment: number;
  sentences: SentenceInfo[];
  tokens: TokenInfo[];
  nounChunks: string[];
}

/** Analyse one text (one turn of the call). */
export function analyseText(text: string): TextInfo {
  const n = nlp();
  const its = n.its;
  const doc = n.readDoc(text);
  const sentences: SentenceInfo[] = [];
  doc.sentences().each((s: ItemSentence) => {
    const tokens: TokenInfo[] = [];
    s.tokens()
      .filter((t: ItemToken) => t.out(its.type) === "word" || t.out(its.type) === "number")
      .each((t: ItemToken) => {
        // wink's typings give its.lemma an extra `addons` parameter that ItsFunction lacks; out() supplies it.
        tokens.push({ normal: t.out(its.normal), lemma: t.out(its.lemma as unknown as ItsFunction<string>), pos: t.out(its.pos), stop: t.out(its.stopWordFlag) as unknown as boolean });
      });
    sentences.push({ text: s.out(), sentiment: s.out(its.sentiment) as unknown as number, tokens });
  });
  const nounChunks = (doc.customEntities().out(its.normal) as string[]) ?? [];
  return { sentiment: doc.out(its.sentiment) as unknown as number, sentences, tokens: sentences.flatMap((s) => s.tokens), nounChunks };
}
