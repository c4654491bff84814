/**
 * Whisper's chunked recording path (`WhisperEngine.openRecording`, `whisper/recording.ts`) against its
 * whole-buffer path (`transcribe`) on a real corpus call (`calls_conversational/azure/test_call_audio.wav`,
 * the first 60 s of a two-party sales call, 16 kHz mono), with the real whisper.cpp addon in worker threads.
 *
 * The model is the synthetic complete one (`whisper-model-fixtures.ts`: every tensor, tiny random
 * weights): no real Whisper weights exist here, and whisper.cpp's test models transcribe nothing, so
 * equality on them would be empty = empty. The synthetic model's words are noise, but a
 * deterministic function of the audio buffers decoded: equal words (and times) mean the chunked path
 * decoded exactly the buffers the whole path did, whatever sizes the chunks came in.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import type { EngineHypothesis } from "../../src/server/speech/engines/engine";
import { transcribeChunked } from "../../src/server/speech/engines/recording";
import { createWhisperEngine, type WhisperEngine } from "../../src/server/speech/engines/whisper/index";
import { WhisperRecording } from "../../src/server/speech/engines/whisper/recording";
import { readWav } from "../support/audio-encoders";
import { writeSyntheticModel } from "./whisper-model-fixtures";

const CALL = `${corpusDir()}/calls_conversational/azure/test_call_audio.wav`;
const RATE = 16_000;

function callPcm(): Int16Array {
  const wav = readWav(readFileSync(CALL));
  expect(wav.sampleRate).toBe(RATE);
  // The first minute (the whole 120 s call costs twice the CPU and shows nothing more).
  const f = wav.channels[0]!.subarray(0, 60 * RATE);
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, f[i]!)) * 32767);
  return out;
}

/** Feed `pcm` in chunks whose sizes cycle through `sizes`. */
async function chunked(engine: WhisperEngine, pcm: Int16Array, sizes: number[], onWrite?: (r: WhisperRecording) => void): Promise<EngineHypothesis[]> {
  const rec = await engine.openRecording();
  for (let o = 0, i = 0; o < pcm.length; i++) {
    const n = sizes[i % sizes.length]!;
    await rec.write(pcm.subarray(o, o + n));
    o += n;
    onWrite?.(rec as WhisperRecording);
  }
  return rec.finish();
}

/** Word error rate of `hyp` against `ref` (word sequences), by edit distance. */
function wer(ref: string[], hyp: string[]): number {
  const d = Array.from({ length: ref.length + 1 }, (_, i) => [i, ...new Array(hyp.length).fill(0)]);
  for (let j = 1; j <= hyp.length; j++) d[0]![j] = j;
  for (let i = 1; i <= ref.length; i++)
    for (let j = 1; j <= hyp.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
  return ref.length ? d[ref.length]![hyp.length]! / ref.length : hyp.length ? 1 : 0;
}
const words = (hs: EngineHypothesis[]) => hs.flatMap((h) => h.words.map((w) => w.word));

describe("Whisper: a recording fed chunk by chunk (synthetic complete model, real corpus call)", () => {
  let engine: WhisperEngine;
  let dir: string;
  let pcm: Int16Array;
  let whole: EngineHypothesis[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "whisper-rec-"));
    writeSyntheticModel(path.join(dir, "ggml-synth.en.bin"));
    engine = createWhisperEngine({ modelsDir: dir, model: "whisper-synth.en", threads: 2, poolSize: 2 });
    await engine.ready();
    pcm = callPcm();
    whole = await engine.transcribe(pcm);
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives exactly the utterances transcribe() gives on the joined audio, for any chunk sizes (WER 0 between them)", async () => {
    // The guards drop most of the noise the random weights produce; what is left must match word for word.
    // (4 words in 3 utterances on this minute, each with its times: equal words at equal times.)
    expect(whole.length).toBeGreaterThanOrEqual(2);
    expect(words(whole).length).toBeGreaterThanOrEqual(3);
    // Odd sizes that split 20 ms frames, and one sample at a time for a while (4 s blocks: the next tests).
    for (const sizes of [[1_234, 7_777, 321, 40_000], [1, 1, 1, 319, 16_000, 48_001]]) {
      const got = await chunked(engine, pcm, sizes);
      const rate = wer(words(whole), words(got));
      console.log(`chunks ${JSON.stringify(sizes)}: ${got.length} utterances, ${words(got).length} words, WER vs transcribe() ${rate}`);
      expect(got).toEqual(whole);
      expect(rate).toBe(0);
    }
  }, 300_000);

  it("holds at most ~one utterance and one packed buffer of PCM16 whatever the recording's length", async () => {
    // The minute, 10 min of silence, the minute again (12 min): what is held never exceeds a 20 s
    // utterance + a 28 s packed buffer + the 4 s chunk written + the VAD's reach.
    const gap = 600 * RATE;
    const long = new Int16Array(2 * pcm.length + gap);
    long.set(pcm, 0);
    long.set(pcm, pcm.length + gap);
    let peak = 0;
    let atEnd = 0;
    const got = await chunked(engine, long, [65_536], (r) => {
      peak = Math.max(peak, r.heldSamples);
      atEnd = r.heldSamples;
    });
    console.log(`12 min fed in 4 s chunks: peak PCM16 held ${(peak / RATE).toFixed(1)} s (${((peak * 2) / 1024).toFixed(0)} KiB), ${(atEnd / RATE).toFixed(1)} s after the last write`);
    expect(peak / RATE).toBeLessThan(20 + 28 + 4.1 + 1.5);
    expect(got.some((h) => h.start > (pcm.length + gap) / RATE)).toBe(true);
    expect(got.every((h, i) => i === 0 || h.start >= got[i - 1]!.start)).toBe(true);
  }, 300_000);

  it("is what the chunked pipeline path (transcribeChunked) uses, and refuses a language the model cannot do", async () => {
    const got = await transcribeChunked(
      engine,
      async (onChunk) => {
        for (let o = 0; o < pcm.length; o += 65_536) await onChunk([pcm.subarray(o, o + 65_536)]);
      },
      1,
    );
    expect(got[0]).toEqual(whole);
    await expect(engine.openRecording({ language: "de" })).rejects.toThrow(/de/);
  }, 300_000);
});
