/**
 * The real Whisper engine: the smart-whisper addon (whisper.cpp built for this CPU) in worker threads,
 * on real corpus speech (`debian_pocketsphinx`, LibriVox read speech, 16 kHz).
 *
 * Two kinds of model, neither of which can say anything true about accuracy:
 * - whisper.cpp's test models (`../shared/models/whisper-for-tests`: vocabulary, no weights) run the
 *   full tiny.en/base.en compute and transcribe nothing: loading, plumbing, not blocking the event loop;
 * - a synthetic complete model (`whisper-model-fixtures.ts`: every tensor, tiny random weights, a
 *   vocabulary of " w<id>" words) makes whisper.cpp emit tokens, so words, times, confidences, partials,
 *   finals and language detection flow through every layer. Its words are noise by construction.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop.js";
import type { EngineHypothesis, RecognizerStream } from "../../src/server/speech/engines/engine.js";
import { createWhisperEngine, listWhisperModels, WhisperModelNotFoundError, type WhisperEngine } from "../../src/server/speech/engines/whisper/index.js";
import { nativeParams } from "../../src/server/speech/engines/whisper/native-params.js";
import { writeSyntheticModel } from "./whisper-model-fixtures.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpusDir = process.env.CALLSCRIBE_CORPUS_DIR ?? path.resolve(repoRoot, "..", "shared", "corpus");
const testModelsDir = path.resolve(repoRoot, "..", "shared", "models", "whisper-for-tests");
const RATE = 16_000;

function readPcm(file: string): Int16Array {
  const wav = new WaveFile(readFileSync(path.join(corpusDir, "debian_pocketsphinx", file)));
  const fmt = wav.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number };
  expect([fmt.numChannels, fmt.sampleRate, fmt.bitsPerSample]).toEqual([1, RATE, 16]);
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

/** Corpus files joined with `gapSec` of silence between and after them. */
function joined(files: string[], gapSec = 1): Int16Array {
  const parts = files.map(readPcm);
  const gap = Math.round(gapSec * RATE);
  const out = new Int16Array(parts.reduce((a, p) => a + p.length + gap, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + gap;
  }
  return out;
}

const librivox = [
  "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
  "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
  "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
];

/** Events of a stream, in order, with the time each arrived. */
type Recorded = { type: "speechStarted"; ts: number } | { type: "partial"; h: EngineHypothesis } | { type: "final"; h: EngineHypothesis; reason: string };
function record(stream: RecognizerStream): { events: Recorded[]; errors: Error[] } {
  const out = { events: [] as Recorded[], errors: [] as Error[] };
  stream.on("speechStarted", (ts: number) => out.events.push({ type: "speechStarted", ts }));
  stream.on("partial", (h: EngineHypothesis) => out.events.push({ type: "partial", h }));
  stream.on("final", (h: EngineHypothesis, info: { reason: string }) => out.events.push({ type: "final", h, reason: info.reason }));
  stream.on("error", (e: Error) => out.errors.push(e));
  return out;
}

/** Write audio in 100 ms chunks, `speedup` times faster than real time. */
async function play(stream: RecognizerStream, pcm: Int16Array, speedup = 4): Promise<void> {
  for (let i = 0; i < pcm.length; i += 1600) {
    stream.write(pcm.slice(i, i + 1600));
    await new Promise((r) => setTimeout(r, 100 / speedup));
  }
}

function expectWordsInRange(hypotheses: EngineHypothesis[], durationSec: number): void {
  for (const h of hypotheses) {
    expect(h.start).toBeGreaterThanOrEqual(0);
    expect(h.end).toBeLessThanOrEqual(durationSec + 1e-6);
    expect(h.confidence).toBeGreaterThanOrEqual(0);
    expect(h.confidence).toBeLessThanOrEqual(1);
    let last = -1;
    for (const w of h.words) {
      expect(w.word).toMatch(/\S/);
      expect(w.punctuatedWord).toMatch(/\S/);
      expect(w.start).toBeGreaterThanOrEqual(h.start - 1e-6);
      expect(w.end).toBeLessThanOrEqual(h.end + 1e-6);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.start).toBeGreaterThanOrEqual(last);
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
      last = w.start;
    }
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "callscribe-whisper-engine-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("Whisper engine with whisper.cpp's test models (full compute, no weights)", () => {
  let engine: WhisperEngine;
  beforeAll(async () => {
    engine = createWhisperEngine({ modelsDir: testModelsDir, model: "whisper-tiny.en", threads: 2 });
    await engine.ready();
  });
  afterAll(() => engine?.close());

  it("lists and loads the test models", async () => {
    const models = await listWhisperModels(testModelsDir);
    expect(models.map((m) => [m.name, m.testModel, m.multilingual])).toEqual([
      ["base.en", true, false],
      ["tiny.en", true, false],
    ]);
    expect(engine.name).toBe("whisper");
    expect(engine.model).toBe("whisper-tiny.en");
    expect(engine.languages).toEqual(["en"]);
    expect(engine.modelInfo).toMatchObject({ size: "tiny", testModel: true, path: path.join(testModelsDir, "for-tests-ggml-tiny.en.bin") });
    expect(engine.workers()).toHaveLength(1);
    const base = createWhisperEngine({ modelsDir: testModelsDir, model: "base.en" });
    await base.ready();
    expect(base.modelInfo?.hparams.nAudioLayer).toBe(6);
    await base.close();
  });

  it("transcribes real speech in worker threads without blocking the event loop", async () => {
    const pcm = joined(librivox, 1.5);
    const before = engine.decodeStats().counts.batch;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const result = await engine.transcribe(pcm);
    const wallMs = performance.now() - started;
    delay.disable();
    expect(Array.isArray(result)).toBe(true);
    expectWordsInRange(result, pcm.length / RATE);
    const stats = engine.decodeStats();
    const decodes = stats.counts.batch - before;
    expect(decodes).toBeGreaterThanOrEqual(1); // the speech was found and decoded ...
    expect(decodes).toBeLessThanOrEqual(2); // ... packed: 15 s of speech fits one 28 s buffer
    const last = stats.recent.at(-1)!;
    expect(last.params).toMatchObject({ audioCtx: 0, beamSize: 5, language: "en", threads: 2 });
    // One full 30 s window takes ~1 s here: had it run on this thread, the loop would have stalled that long.
    expect(wallMs).toBeGreaterThan(300);
    expect(delay.max / 1e6).toBeLessThan(Math.min(250, wallMs / 3));
  });

  it("streams: VAD onsets, interim re-decodes with a reduced window, a full decode per utterance", async () => {
    const stream = await engine.createStream({ keyterms: ["Dashwood", "Norland"] });
    const rec = record(stream);
    const before = { ...engine.decodeStats().counts };
    await play(stream, joined([librivox[0]!, librivox[1]!], 1.2), 4);
    await stream.flush();
    await stream.close();
    expect(rec.errors).toEqual([]);
    const starts = rec.events.filter((e) => e.type === "speechStarted");
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect((starts[0] as { ts: number }).ts).toBeLessThan(1);
    const after = engine.decodeStats();
    expect(after.counts.partial - before.partial).toBeGreaterThanOrEqual(1);
    expect(after.counts.final - before.final).toBeGreaterThanOrEqual(2);
    const interim = after.recent.filter((d) => d.priority === "partial").at(-1)!;
    expect(interim.params.beamSize).toBe(1);
    expect(interim.params.audioCtx).toBeGreaterThan(0);
    expect(interim.params.audioCtx).toBeLessThan(1500);
    const final = after.recent.filter((d) => d.priority === "final").at(-1)!;
    expect(final.params).toMatchObject({ audioCtx: 0, beamSize: 5 });
    expect(final.params.prompt).toBe("Dashwood, Norland."); // keyterms → decoding prompt
  });

  it("does not decode silence or low noise (VAD gate)", async () => {
    const stream = await engine.createStream();
    const rec = record(stream);
    const before = engine.decodeStats().counts;
    const noise = new Int16Array(RATE * 4);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.round((Math.random() - 0.5) * 20); // ≈ −70 dBFS
    await play(stream, noise, 20);
    await stream.flush();
    await stream.close();
    const after = engine.decodeStats().counts;
    expect(rec.events).toEqual([]);
    expect(after.partial + after.final).toBe(before.partial + before.final);
    expect(await engine.transcribe(new Int16Array(RATE * 3))).toEqual([]);
  });

  it("refuses other languages and language detection on an English-only model", async () => {
    await expect(engine.createStream({ language: "de" })).rejects.toThrow(/whisper-tiny.en is English-only and cannot transcribe language "de"/);
    await expect(engine.transcribe(readPcm("goforward.wav"), { detectLanguage: true })).rejects.toThrow(/Language detection needs a multilingual/);
    await expect(engine.transcribe(new Float32Array(10) as unknown as Int16Array)).rejects.toThrow(/Int16Array/);
    const stream = await engine.createStream({ language: "en-US" });
    await stream.close();
  });

  it("maps decode parameters to whisper.cpp's", () => {
    const params = { language: "en", prompt: "Callscribe.", audioCtx: 175, beamSize: 1, threads: 2, offsetSec: 3 };
    expect(nativeParams(params)).toMatchObject({ strategy: 0, language: "en", initial_prompt: "Callscribe.", audio_ctx: 175, n_threads: 2, token_timestamps: true, temperature_inc: 0 });
    expect(nativeParams({ ...params, prompt: "", beamSize: 5 })).toMatchObject({ strategy: 1, beam_size: 5, temperature_inc: 0.2 });
    expect(nativeParams({ ...params, prompt: "" }).initial_prompt).toBeUndefined();
  });
});

describe("Whisper engine with a synthetic complete model (random weights: words are noise)", () => {
  let engine: WhisperEngine;
  let multilingual: WhisperEngine;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmp, "synthetic-"));
    writeSyntheticModel(path.join(dir, "ggml-synth.en.bin"));
    writeSyntheticModel(path.join(dir, "ggml-synth.bin"), { hparams: { nVocab: 51865 } });
    engine = createWhisperEngine({ modelsDir: dir, model: "whisper-synth.en", threads: 2, partialIntervalSec: 0.5 });
    multilingual = createWhisperEngine({ modelsDir: dir, model: "whisper-synth", threads: 2 });
    await Promise.all([engine.ready(), multilingual.ready()]);
  });
  afterAll(async () => {
    await engine?.close();
    await multilingual?.close();
  });

  it("transcribe() returns words with times inside their utterance and confidences", async () => {
    const pcm = joined(["goforward.wav", librivox[1]!], 1.5);
    const result = await engine.transcribe(pcm, { keyterms: ["Marianne"] });
    expect(result.length).toBeGreaterThanOrEqual(1);
    expect(result.some((h) => h.words.length > 0)).toBe(true);
    expectWordsInRange(result, pcm.length / RATE);
    for (const h of result) {
      expect(h.language).toBe("en");
      expect(h.text).toBe(h.words.map((w) => w.punctuatedWord).join(" "));
      for (const w of h.words) expect(w.word).toMatch(/^w\d+$/); // the synthetic vocabulary
    }
    // The second file starts after 2.8 s + 1.5 s of silence: its words are placed there, not packed time.
    const late = result.filter((h) => h.start > 4);
    for (const h of late) expect(h.words.every((w) => w.start >= 4)).toBe(true);
    expect(engine.decodeStats().recent.at(-1)!.params.prompt).toBe("Marianne.");
  });

  it("streams partials and finals in order, with words inside the utterance", async () => {
    const stream = await engine.createStream();
    const rec = record(stream);
    await play(stream, joined([librivox[0]!], 1.2), 4);
    await stream.flush();
    await stream.close();
    expect(rec.errors).toEqual([]);
    const types = rec.events.map((e) => e.type);
    expect(types[0]).toBe("speechStarted");
    expect(types).toContain("partial");
    expect(types).toContain("final");
    expect(types.lastIndexOf("partial")).toBeLessThan(types.lastIndexOf("final"));
    const finals = rec.events.filter((e): e is Extract<Recorded, { type: "final" }> => e.type === "final");
    expectWordsInRange(
      finals.map((f) => f.h),
      readPcm(librivox[0]!).length / RATE + 1.2,
    );
    expect(finals.every((f) => f.reason === "endpoint" || f.reason === "finalize")).toBe(true);
    const partials = rec.events.filter((e): e is Extract<Recorded, { type: "partial" }> => e.type === "partial");
    for (const p of partials) expect(p.h.words.length).toBeGreaterThan(0);
  });

  it("flush() ends the utterance in progress with reason finalize", async () => {
    const stream = await engine.createStream();
    const rec = record(stream);
    await play(stream, readPcm(librivox[1]!).subarray(0, RATE * 2), 10); // cut mid-speech: no endpoint yet
    await stream.flush();
    const finals = rec.events.filter((e): e is Extract<Recorded, { type: "final" }> => e.type === "final");
    expect(finals.length).toBe(1);
    expect(finals[0]!.reason).toBe("finalize");
    expect(finals[0]!.h.words.length).toBeGreaterThan(0);
    await stream.flush(); // nothing pending: resolves without an event
    expect(rec.events.filter((e) => e.type === "final")).toHaveLength(1);
    await stream.close();
  });

  it("detects the language on a multilingual model (the code path; the answer is noise)", async () => {
    expect(multilingual.languages).toContain("de");
    const pcm = readPcm("goforward.wav");
    const detected = await multilingual.transcribe(pcm, { detectLanguage: true });
    expect(multilingual.decodeStats().recent.at(-1)!.params.language).toBe("auto");
    expect(detected.length).toBeGreaterThanOrEqual(1);
    for (const h of detected) expect(multilingual.languages).toContain(h.language);
    const german = await multilingual.transcribe(pcm, { language: "de-DE" });
    expect(multilingual.decodeStats().recent.at(-1)!.params.language).toBe("de");
    expect(german.length).toBeGreaterThanOrEqual(1);
    for (const h of german) expect(h.language).toBe("de");
  });
});

describe("Whisper engine without a usable model", () => {
  it("rejects ready(), createStream() and transcribe() with the file and the download command, then finds the model once it is there", async () => {
    const dir = mkdtempSync(path.join(tmp, "empty-"));
    const engine = createWhisperEngine({ modelsDir: dir, model: "whisper-tiny.en" });
    for (const attempt of [() => engine.ready(), () => engine.createStream(), () => engine.transcribe(new Int16Array(RATE))]) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WhisperModelNotFoundError);
      expect((err as Error).message).toContain(path.join(dir, "ggml-tiny.en.bin"));
      expect((err as Error).message).toContain("npm run models -- tiny.en");
    }
    copyFileSync(path.join(testModelsDir, "for-tests-ggml-tiny.en.bin"), path.join(dir, "for-tests-ggml-tiny.en.bin"));
    await engine.ready();
    expect(engine.modelInfo?.testModel).toBe(true);
    await engine.close();
    await expect(engine.ready()).rejects.toThrow(/closed/);
  });

  it("refuses a broken model file instead of handing it to whisper.cpp (which would crash)", async () => {
    const dir = mkdtempSync(path.join(tmp, "broken-"));
    writeFileSync(path.join(dir, "ggml-base.en.bin"), readFileSync(path.join(testModelsDir, "for-tests-ggml-base.en.bin")).subarray(0, 1000));
    const engine = createWhisperEngine({ modelsDir: dir, model: "whisper-base.en" });
    await expect(engine.ready()).rejects.toThrow(/is not a usable whisper.cpp model: truncated/);
    await engine.close();
  });

  it("refuses invalid engine options at creation", () => {
    expect(() => createWhisperEngine({ model: "whisper-base.en", poolSize: 0 })).toThrow(/poolSize/);
    expect(() => createWhisperEngine({ model: "whisper-base en" })).toThrow(/Invalid Whisper model name/);
  });
});
