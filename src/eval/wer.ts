/**
 * Word error rate (WER): the minimum number of word substitutions, deletions and insertions that
 * turn the hypothesis into the reference, divided by the number of reference words
 * (Levenshtein distance over words; the standard ASR definition, as in NIST sclite and jiwer).
 *
 * Own code rather than a dependency: the only npm package for it (`word-error-rate` 0.0.7, one
 * release) has no tests for the alignment counts we report; the algorithm is ten lines of dynamic
 * programming. Texts are normalized with {@link normalizeEnglish} (Whisper-style normalizer) first.
 */
import { normalizeEnglish } from "./english-normalizer";

/** Edit counts of one alignment. `wer = (substitutions + deletions + insertions) / referenceWords`. */
export interface WerCounts {
  substitutions: number;
  deletions: number;
  insertions: number;
  /** substitutions + deletions + insertions */
  edits: number;
  /** Number of words in the (normalized) reference. */
  referenceWords: number;
  /** Number of words in the (normalized) hypothesis. */
  hypothesisWords: number;
}

/** {@link WerCounts} plus the rate; `wer` is `edits / referenceWords` (0 when both are empty, Infinity when only the reference is empty). */
export interface WerResult extends WerCounts {
  wer: number;
}

/**
 * Align two word sequences and count the edits (unit costs, Levenshtein).
 * @param reference words of the reference
 * @param hypothesis words of the hypothesis
 */
export function alignWords(reference: readonly string[], hypothesis: readonly string[]): WerCounts {
  const n = reference.length;
  const m = hypothesis.length;
  // cost[j] and ops[j] for the previous row; each cell keeps [cost, subs, dels, ins] of its best path.
  type Cell = [number, number, number, number];
  let prev: Cell[] = Array.from({ length: m + 1 }, (_, j): Cell => [j, 0, 0, j]);
  for (let i = 1; i <= n; i++) {
    const row: Cell[] = [[i, 0, i, 0]];
    for (let j = 1; j <= m; j++) {
      const same = reference[i - 1] === hypothesis[j - 1];
      const diag = prev[j - 1];
      const up = prev[j]; // deletion of reference[i-1]
      const left = row[j - 1]; // insertion of hypothesis[j-1]
      let best: Cell = [diag[0] + (same ? 0 : 1), diag[1] + (same ? 0 : 1), diag[2], diag[3]];
      if (up[0] + 1 < best[0]) best = [up[0] + 1, up[1], up[2] + 1, up[3]];
      if (left[0] + 1 < best[0]) best = [left[0] + 1, left[1], left[2], left[3] + 1];
      row.push(best);
    }
    prev = row;
  }
  const [edits, substitutions, deletions, insertions] = prev[m];
  return { substitutions, deletions, insertions, edits, referenceWords: n, hypothesisWords: m };
}

/** Split normalized text into words. */
export function words(normalized: string): string[] {
  return normalized.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * WER of one hypothesis against one reference, both normalized with Whisper's English normalizer.
 * @example wordErrorRate("Hello, world!", "hello word") → { wer: 0.5, substitutions: 1, ... }
 */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const counts = alignWords(words(normalizeEnglish(reference)), words(normalizeEnglish(hypothesis)));
  return { ...counts, wer: rate(counts.edits, counts.referenceWords) };
}

/** Corpus-level WER: total edits over total reference words (not the mean of per-file rates). */
export function corpusWer(results: readonly WerCounts[]): WerResult {
  const sum = (k: keyof WerCounts) => results.reduce((a, r) => a + r[k], 0);
  const counts: WerCounts = {
    substitutions: sum("substitutions"),
    deletions: sum("deletions"),
    insertions: sum("insertions"),
    edits: sum("edits"),
    referenceWords: sum("referenceWords"),
    hypothesisWords: sum("hypothesisWords"),
  };
  return { ...counts, wer: rate(counts.edits, counts.referenceWords) };
}

function rate(edits: number, referenceWords: number): number {
  if (referenceWords === 0) return edits === 0 ? 0 : Infinity;
  return edits / referenceWords;
}
