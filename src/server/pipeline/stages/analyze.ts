/**
 * Analyze stage: summary, topic, sentiment, key phrases, action items and talk time of a
 * transcript, on-premise by default (wink-nlp and its English model from npm; nothing leaves the
 * server). With `llm` set, an OpenAI-compatible endpoint writes the summary and picks the topic;
 * if it fails, the on-premise results are used and `onLlmFallback` is told why.
 *
 * On-premise rules (documented here because they decide what a CRM sees):
 * - **Turns**: each transcript segment is a turn; turns are split into sentences by wink
 *   (engines without punctuation, like PocketSphinx, give one sentence per turn).
 * - **Sentiment** per turn: wink's lexicon score in [-1, 1] (AFINN-style, with negation).
 *   Overall: the mean of turn scores weighted by word count. Label: `positive` above
 *   {@link SENTIMENT_THRESHOLD}, `negative` below its negative, else `neutral`.
 * - **Summary**: extractive, by Luhn-style sentence scoring: each content lemma (noun, proper noun,
 *   verb, adjective; not a stop word) weighs its frequency in the call divided by the highest
 *   frequency; a sentence scores the sum of its weights over √(its content words). The best
 *   sentences (1 per 5, at most {@link SUMMARY_MAX_SENTENCES}, each ≥ 4 words, cut at
 *   {@link SUMMARY_MAX_WORDS} words) are kept in call order, prefixed by their speaker on multichannel calls.
 * - **Topic**: each label's keywords (lemmas; phrases count double; see `analyze/lexicon.ts`) are
 *   counted in the call's lemmas; the label with the highest count wins, ties and a call with no
 *   keyword at all going to the earliest label in the taxonomy.
 * - **Key phrases**: noun chunks (POS patterns ADJ/NOUN/PROPN + NOUN) ranked by frequency × (1 +
 *   0.5 per extra word), at most {@link MAX_KEY_PHRASES}.
 * - **Action items**: a first-person commitment ("I will…", "we'll…", "I'm going to…", "let me…"),
 *   a request ("please…", "can/could/would you…") or an imperative that names a time ("send the
 *   contract by Friday"; courtesies like "thank you for calling today" excluded), cut at the next
 *   trigger or after {@link ACTION_MAX_WORDS} words.
 * - **Talk time** per speaker: the union of that speaker's segment spans, seconds. **Silence**:
 *   the duration minus the union of all segments (overlaps count once).
 */
import type { Transcript, TranscriptSegment } from "../../../contracts";
import { analyseText, nlp, type SentenceInfo, type TokenInfo } from "./analyze/nlp";
import { COMMITMENT_MODALS, COMMITMENT_SUBJECTS, COURTESY_VERBS, DEFAULT_TAXONOMY, DEFAULT_TOPIC_KEYWORDS, FILLER_ADVERBS, TIME_WORDS } from "./analyze/lexicon";
import { llmSummaryAndTopic, type LlmOptions } from "./analyze/llm";
import { StageError } from "./errors";
import type { Analysis } from "./types";

export { DEFAULT_TAXONOMY } from "./analyze/lexicon";
export type { LlmOptions } from "./analyze/llm";

/** Sentiment scores above this are `positive`, below its negative `negative`. */
export const SENTIMENT_THRESHOLD = 0.05;
/** Most sentences in an on-premise summary. */
export const SUMMARY_MAX_SENTENCES = 3;
/** Longest summary sentence, in words; longer ones are cut and end with "…". */
export const SUMMARY_MAX_WORDS = 30;
/** Most key phrases returned. */
export const MAX_KEY_PHRASES = 8;
/** Longest action item, in words. */
export const ACTION_MAX_WORDS = 14;
/** Most action items returned. */
export const MAX_ACTION_ITEMS = 10;

/** A taxonomy label with the keywords that vote for it. */
export interface TopicDefinition {
  label: string;
  /** Words or phrases (any inflection: they are lemmatised). Default: the built-in list for a default label, else the label's own words. */
  keywords?: string[];
}

/** Options of {@link analyzeTranscript}. */
export interface AnalyzeOptions {
  /** Topic labels, in priority order (ties go to the earlier). Default {@link DEFAULT_TAXONOMY}. */
  taxonomy?: readonly (string | TopicDefinition)[];
  /** Use an OpenAI-compatible endpoint for summary and topic. */
  llm?: LlmOptions;
  /** Called with the reason when the LLM failed and on-premise results were used instead. */
  onLlmFallback?: (reason: string) => void;
}

type Label = Analysis["sentiment"]["label"];

const labelOf = (score: number): Label => (score > SENTIMENT_THRESHOLD ? "positive" : score < -SENTIMENT_THRESHOLD ? "negative" : "neutral");
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const CONTENT_POS = new Set(["NOUN", "PROPN", "VERB", "ADJ"]);

interface Turn {
  index: number;
  segment: TranscriptSegment;
  sentences: SentenceInfo[];
  sentiment: number;
  wordCount: number;
  nounChunks: string[];
}

/** Lemmas of a keyword or phrase, through the same wink pipeline as the transcript. */
function lemmasOf(text: string): string[] {
  return analyseText(text.toLowerCase()).tokens.map((t) => t.lemma);
}

interface CompiledTopic {
  label: string;
  phrases: string[][];
}

const compiledTaxonomies = new Map<string, CompiledTopic[]>();

function compileTaxonomy(taxonomy: readonly (string | TopicDefinition)[]): CompiledTopic[] {
  if (taxonomy.length === 0) throw new StageError("the topic taxonomy is empty", { retryable: false, stage: "analyze" });
  const key = JSON.stringify(taxonomy);
  const cached = compiledTaxonomies.get(key);
  if (cached) return cached;
  const compiled = taxonomy.map((entry) => {
    const def = typeof entry === "string" ? { label: entry } : entry;
    const keywords =
      def.keywords ??
      DEFAULT_TOPIC_KEYWORDS[def.label.toLowerCase()] ??
      analyseText(def.label.toLowerCase()).tokens.filter((t) => !t.stop).map((t) => t.normal);
    return { label: def.label, phrases: keywords.map(lemmasOf).filter((p) => p.length > 0) };
  });
  // Taxonomies come from config: a handful per process, so the cache stays small.
  if (compiledTaxonomies.size < 32) compiledTaxonomies.set(key, compiled);
  return compiled;
}

/** Count keyword hits per label over the call's lemmas; phrases (2+ words) count double. */
export function scoreTopics(lemmas: readonly string[], topics: readonly CompiledTopic[]): { label: string; score: number }[] {
  return topics.map(({ label, phrases }) => {
    let score = 0;
    for (const phrase of phrases) {
      for (let i = 0; i + phrase.length <= lemmas.length; i++) {
        let match = true;
        for (let j = 0; j < phrase.length && match; j++) match = lemmas[i + j] === phrase[j];
        if (match) score += phrase.length > 1 ? 2 : 1;
      }
    }
    return { label, score };
  });
}

function pickTopic(lemmas: readonly string[], topics: readonly CompiledTopic[]): string {
  const scores = scoreTopics(lemmas, topics);
  return scores.reduce((best, s) => (s.score > best.score ? s : best), scores[0]).label;
}

/** Union length of [start, end] spans, seconds. */
function unionLength(spans: { start: number; end: number }[]): number {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const s of sorted) {
    if (s.start > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s.start;
      curEnd = s.end;
    } else curEnd = Math.max(curEnd, s.end);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** Talk time per speaker and silence, in seconds (rounded to ms). */
export function talkTimes(segments: readonly TranscriptSegment[], duration: number): { talkTime: Record<string, number>; silenceSec: number } {
  const bySpeaker = new Map<string, { start: number; end: number }[]>();
  for (const s of segments) bySpeaker.set(s.speaker, [...(bySpeaker.get(s.speaker) ?? []), { start: s.start, end: s.end }]);
  const talkTime: Record<string, number> = {};
  for (const [speaker, spans] of bySpeaker) talkTime[speaker] = round3(unionLength(spans));
  const total = Math.max(duration, ...segments.map((s) => s.end));
  return { talkTime, silenceSec: round3(Math.max(0, total - unionLength(segments.map((s) => ({ start: s.start, end: s.end }))))) };
}

function sentenceText(tokens: readonly TokenInfo[], from: number, to: number): string {
  return tokens.slice(from, to).map((t) => t.normal).join(" ");
}

/** Action items in one sentence, by the rules in the module comment. */
export function actionItemsOf(tokens: readonly TokenInfo[]): string[] {
  const starts: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    // "I/we" + modal + (adverbs) + verb
    if (COMMITMENT_SUBJECTS.has(t.normal)) {
      for (const modal of COMMITMENT_MODALS) {
        if (modal.every((m, k) => tokens[i + 1 + k]?.lemma === m)) {
          let v = i + 1 + modal.length;
          while (tokens[v] && FILLER_ADVERBS.has(tokens[v].normal)) v++;
          if (tokens[v]?.pos === "VERB" && tokens[v].lemma !== "be") starts.push(i);
          break;
        }
      }
    }
    // "let me" + verb
    if (t.normal === "let" && tokens[i + 1]?.normal === "me" && tokens[i + 2]?.pos === "VERB") starts.push(i);
    // "please" + verb (within two words)
    if (t.normal === "please" && tokens.slice(i + 1, i + 3).some((n) => n.pos === "VERB")) starts.push(i);
    // "can/could/would you" + verb
    if (["can", "could", "would"].includes(t.normal) && tokens[i + 1]?.normal === "you" && tokens[i + 2]?.pos === "VERB") starts.push(i);
  }
  // An imperative opening the sentence, dated by a time word.
  const first = tokens[0];
  if (first?.pos === "VERB" && first.normal === first.lemma && !COURTESY_VERBS.has(first.lemma) && tokens.slice(0, ACTION_MAX_WORDS).some((t) => TIME_WORDS.has(t.lemma))) {
    starts.push(0);
  }
  const unique = [...new Set(starts)].sort((a, b) => a - b);
  return unique
    .map((start, k) => sentenceText(tokens, start, Math.min(unique[k + 1] ?? tokens.length, start + ACTION_MAX_WORDS, tokens.length)))
    .filter((text) => text.split(" ").length >= 3);
}

function capitalise(sentence: string): string {
  const words = sentence.trim().split(/\s+/);
  // Engines without punctuation give whole turns as "sentences": keep summaries short.
  const s = words.length > SUMMARY_MAX_WORDS ? `${words.slice(0, SUMMARY_MAX_WORDS).join(" ")}…` : words.join(" ");
  const withStop = /[.!?…]$/.test(s) ? s : `${s}.`;
  return withStop.charAt(0).toUpperCase() + withStop.slice(1);
}

function extractiveSummary(turns: readonly Turn[], multichannel: boolean): string {
  const candidates = turns.flatMap((turn) => turn.sentences.map((sentence) => ({ turn, sentence })));
  const freq = new Map<string, number>();
  const contentOf = (s: SentenceInfo) => s.tokens.filter((t) => !t.stop && CONTENT_POS.has(t.pos) && t.lemma.length > 2);
  for (const { sentence } of candidates) for (const t of contentOf(sentence)) freq.set(t.lemma, (freq.get(t.lemma) ?? 0) + 1);
  const maxFreq = Math.max(1, ...freq.values());
  const scored = candidates
    .map((c, order) => {
      const content = contentOf(c.sentence);
      const score = content.length === 0 ? 0 : content.reduce((sum, t) => sum + (freq.get(t.lemma) ?? 0) / maxFreq, 0) / Math.sqrt(content.length);
      return { ...c, order, score };
    })
    .filter((c) => c.sentence.tokens.length >= 4 && c.score > 0);
  if (scored.length === 0) {
    const any = candidates.find((c) => c.sentence.tokens.length > 0);
    return any ? capitalise(any.sentence.text) : "No speech was recognised in the recording.";
  }
  const count = Math.min(SUMMARY_MAX_SENTENCES, Math.max(1, Math.round(candidates.length / 5)));
  return scored
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, count)
    .sort((a, b) => a.order - b.order)
    .map((c) => (multichannel ? `${c.turn.segment.speaker}: ${capitalise(c.sentence.text)}` : capitalise(c.sentence.text)))
    .join(" ");
}

function keyPhrases(turns: readonly Turn[]): string[] {
  const stats = new Map<string, { count: number; first: number }>();
  let order = 0;
  for (const turn of turns) {
    for (const chunk of turn.nounChunks) {
      const phrase = chunk.trim();
      if (phrase.length < 3) continue;
      const s = stats.get(phrase) ?? { count: 0, first: order++ };
      s.count++;
      stats.set(phrase, s);
    }
  }
  const stop = new Set<string>();
  for (const phrase of stats.keys()) {
    // Single nouns that are stop words in wink's list ("thing", "way") are noise.
    const tokens = analyseText(phrase).tokens;
    if (tokens.every((t) => t.stop)) stop.add(phrase);
  }
  return [...stats.entries()]
    .filter(([phrase]) => !stop.has(phrase))
    .map(([phrase, s]) => ({ phrase, score: s.count * (1 + 0.5 * (phrase.split(" ").length - 1)), first: s.first }))
    .sort((a, b) => b.score - a.score || a.first - b.first)
    .slice(0, MAX_KEY_PHRASES)
    .map((p) => p.phrase);
}

/** Transcript lines for the LLM: `speaker: text`. */
function transcriptLines(segments: readonly TranscriptSegment[], text: string): string {
  return segments.length > 0 ? segments.map((s) => `${s.speaker}: ${s.text}`).join("\n") : text;
}

/**
 * Analyse a transcript.
 * @param transcript an `fdc3.transcript`; its `segments` are the turns (without segments, its
 *   `text` is one turn by `unknown`)
 * @returns summary, a topic from the taxonomy, sentiment overall and per turn (`perTurn[i].segment`
 *   indexes `transcript.segments`), key phrases, action items, talk time per speaker and silence (seconds)
 * @throws StageError (permanent, stage `analyze`) when the taxonomy is empty. LLM failures never
 *   throw: the on-premise result is used.
 */
export async function analyzeTranscript(transcript: Transcript, options: AnalyzeOptions = {}): Promise<Analysis> {
  const taxonomy = options.taxonomy ?? DEFAULT_TAXONOMY;
  const topics = compileTaxonomy(taxonomy);
  const segments: TranscriptSegment[] =
    transcript.segments && transcript.segments.length > 0
      ? transcript.segments
      : transcript.text.trim()
        ? [{ speaker: "unknown", start: 0, end: transcript.duration ?? 0, text: transcript.text, confidence: 0 }]
        : [];
  nlp();
  const turns: Turn[] = segments.map((segment, index) => {
    const info = analyseText(segment.text);
    return { index, segment, sentences: info.sentences, sentiment: info.sentiment, wordCount: info.tokens.length, nounChunks: info.nounChunks };
  });

  const perTurn = turns.map((t) => ({ segment: t.index, label: labelOf(t.sentiment), score: round3(t.sentiment) }));
  const totalWords = turns.reduce((n, t) => n + t.wordCount, 0);
  const overall = totalWords === 0 ? 0 : turns.reduce((sum, t) => sum + t.sentiment * t.wordCount, 0) / totalWords;
  const lemmas = turns.flatMap((t) => t.sentences.flatMap((s) => s.tokens.map((tok) => tok.lemma)));
  const multichannel = new Set(segments.map((s) => s.speaker)).size > 1;
  const actionItems = [...new Set(turns.flatMap((t) => t.sentences.flatMap((s) => actionItemsOf(s.tokens))))].slice(0, MAX_ACTION_ITEMS);
  const { talkTime, silenceSec } = talkTimes(segments, transcript.duration ?? 0);

  let summary: string | undefined;
  let topic: string | undefined;
  if (options.llm && turns.length > 0) {
    try {
      const answer = await llmSummaryAndTopic(transcriptLines(segments, transcript.text), topics.map((t) => t.label), options.llm);
      summary = answer.summary;
      topic = answer.topic;
    } catch (err) {
      options.onLlmFallback?.((err as Error).message);
    }
  }
  return {
    summary: summary ?? extractiveSummary(turns, multichannel),
    topic: topic ?? pickTopic(lemmas, topics),
    sentiment: { label: labelOf(overall), score: round3(overall), perTurn },
    keyPhrases: keyPhrases(turns),
    actionItems,
    talkTime,
    silenceSec,
  };
}
