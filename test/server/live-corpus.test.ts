/**
 * Real corpus speech through the live `/v1/listen` WebSocket with the real `@deepgram/sdk` client
 * and the real PocketSphinx engine: every exact-reference file of `read_en` and
 * `debian_pocketsphinx`, decoded, resampled to 16 kHz, sent as linear16 in 100 ms chunks (faster
 * than real time), three files at a time. Checks every message against the protocol's JSON Schemas
 * and the word error rate over the whole set.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exactReferenceEntries, type CorpusEntry } from "../../src/eval/corpus";
import { corpusWer, wordErrorRate, type WerResult } from "../../src/eval/wer";
import type { ResultsMessage } from "../../src/server/speech/protocol";
import { describeErrors, validateMetadata, validateResults } from "../../src/server/speech/validators";
import { loadPcm16k, mapLimit, startServer, streamWithSdk, type RunningServer } from "./helpers";

const SETS = ["read_en", "debian_pocketsphinx"];
const MAX_WER = 0.45;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

interface FileOutcome {
  entry: CorpusEntry;
  wer: WerResult;
  hypothesis: string;
}

describe("live /v1/listen on the exact-reference corpus (real SDK, real PocketSphinx)", () => {
  it("streams every file, sends schema-valid Results and Metadata, and keeps corpus WER ≤ 0.45", async () => {
    const entries = SETS.flatMap((set) => exactReferenceEntries(set));
    expect(entries.length).toBeGreaterThanOrEqual(30);

    const outcomes = await mapLimit(entries, 3, async (entry): Promise<FileOutcome> => {
      const pcm = await loadPcm16k(entry.path);
      const out = await streamWithSdk(server.baseUrl, pcm, { query: { interim_results: "true" } });
      const where = `${entry.set}/${entry.file}`;
      expect(out.close, where).toEqual({ code: 1000, reason: "" });

      const results = out.messages.filter((m) => m.type === "Results") as unknown as ResultsMessage[];
      const metadata = out.messages.filter((m) => m.type === "Metadata");
      for (const r of results) expect(validateResults(r), `${where}: ${describeErrors(validateResults)}`).toBe(true);
      expect(metadata, where).toHaveLength(1);
      expect(validateMetadata(metadata[0]), `${where}: ${describeErrors(validateMetadata)}`).toBe(true);
      // Metadata is the last message, and reports the audio actually sent.
      expect(out.messages[out.messages.length - 1].type).toBe("Metadata");
      expect(metadata[0].duration as number).toBeCloseTo(pcm.length / 16000, 2);

      const finals = results.filter((r) => r.is_final);
      expect(finals.length, `${where}: at least one final`).toBeGreaterThan(0);
      const audioSeconds = pcm.length / 16000;
      let previousEnd = 0;
      for (const r of finals) {
        // Finals tile the stream: each starts where the previous ended.
        expect(r.start).toBeCloseTo(previousEnd, 3);
        previousEnd = r.start + r.duration;
        for (const w of r.channel.alternatives[0].words) {
          expect(w.end).toBeGreaterThanOrEqual(w.start);
          expect(w.start).toBeGreaterThanOrEqual(r.start - 0.001);
          expect(w.end).toBeLessThanOrEqual(audioSeconds + 0.05);
        }
        expect(r.channel.alternatives[0].transcript).toBe(r.channel.alternatives[0].words.map((w) => w.word).join(" "));
      }
      expect(finals[finals.length - 1].speech_final).toBe(true);
      // interim_results=true: anything longer than two seconds gets interim results before its final.
      const interims = results.filter((r) => !r.is_final);
      if (audioSeconds > 2) expect(interims.length, `${where}: interim results`).toBeGreaterThan(0);
      for (const r of interims) expect(r.speech_final).toBe(false);
      const hypothesis = out.finals[0];
      return { entry, hypothesis, wer: wordErrorRate(entry.referenceText, hypothesis) };
    });

    const lines: string[] = [];
    for (const set of SETS) {
      const inSet = outcomes.filter((o) => o.entry.set === set);
      const w = corpusWer(inSet.map((o) => o.wer));
      lines.push(
        `${set.padEnd(20)} files ${String(inSet.length).padStart(3)}  ref words ${String(w.referenceWords).padStart(4)}  ` +
          `S ${w.substitutions} D ${w.deletions} I ${w.insertions}  WER ${(w.wer * 100).toFixed(1)}%`,
      );
    }
    const total = corpusWer(outcomes.map((o) => o.wer));
    lines.push(`${"all".padEnd(20)} files ${String(outcomes.length).padStart(3)}  ref words ${String(total.referenceWords).padStart(4)}  WER ${(total.wer * 100).toFixed(1)}%`);
    console.log(`Live streaming WER (Whisper-style normalized, total edits / total reference words):\n${lines.join("\n")}`);

    expect(total.referenceWords).toBeGreaterThan(300);
    expect(total.wer).toBeLessThanOrEqual(MAX_WER);
    // Every file produced words: a silent failure on one file would hide behind the corpus average.
    for (const o of outcomes) expect(o.wer.hypothesisWords, `${o.entry.file} produced no words`).toBeGreaterThan(0);
  }, 600_000);
});
