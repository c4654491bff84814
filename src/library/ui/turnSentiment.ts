/**
 * Per-turn sentiment for transcripts that do not carry it (the transcriber's live calls and
 * dictations): each turn scored in the browser by the same lexicon scorer the pipeline's analysis
 * uses (`wink-nlp` with `wink-eng-lite-web-model`, `src/server/pipeline/stages/analyze/nlp.ts`),
 * loaded on first use as its own chunk.
 */
import { sentimentLabel, type TurnSentiment } from "./transcriptModel";

/** Score each text; `score` in [-1, 1]. */
export async function scoreTurns(texts: readonly string[]): Promise<TurnSentiment[]> {
  const { analyseText } = await import("../../server/pipeline/stages/analyze/nlp");
  return texts.map((text) => {
    const score = Math.round(analyseText(text).sentiment * 1000) / 1000;
    return { label: sentimentLabel(score), score };
  });
}
