/**
 * The real PocketSphinx engine (Debian libpocketsphinx through koffi, decoders in worker threads) on
 * real read speech from the corpus (`debian_pocketsphinx`, LibriVox via Debian pocketsphinx-testdata).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop.js";
import type { EngineHypothesis, EngineWord, RecognizerStream } from "../../src/server/speech/engines/engine.js";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpusDir = process.env.CALLSCRIBE_CORPUS_DIR ?? path.resolve(repoRoot, "..", "shared", "corpus");
const setDir = path.join(corpusDir, "debian_pocketsphinx");
const SAMPLE_RATE = 16_000;

interface ManifestRow {
  file: string;
  duration_s: string;
  reference_text: string;
  reference_quality: string;
}
const manifest = parse(readFileSync(path.join(setDir, "manifest.csv")), { columns: true }) as ManifestRow[];

function reference(file: string): string {
  const row = manifest.find((r) => r.file === file);
  if (!row) throw new Error(`${file} is not in the manifest`);
  expect(row.reference_quality).toMatch(/^exact/); // WER only against exact references (corpus README)
  return row.reference_text;
}

/** Read a corpus WAV, checking it really is mono 16 kHz PCM16. */
function readPcm(file: string): Int16Array {
  const wav = new WaveFile(readFileSync(path.join(setDir, file)));
  const fmt = wav.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number };
  expect([fmt.numChannels, fmt.sampleRate, fmt.bitsPerSample]).toEqual([1, SAMPLE_RATE, 16]);
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

/** Lower-case words without punctuation; "mr" is how the dictionary spells the reference's "mister". */
function normalise(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => (w === "mr" ? "mister" : w));
}

/** Word error rate: word-level Levenshtein distance (substitutions + deletions + insertions) / reference words. */
function wer(referenceText: string, hypothesisText: string): number {
  const ref = normalise(referenceText);
  const hyp = normalise(hypothesisText);
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[hyp.length]! / ref.length;
}

const joined = (hs: EngineHypothesis[]) => hs.map((h) => h.text).join(" ").trim();

function expectWordsInOrder(words: EngineWord[], duration: number): void {
  let last = 0;
  for (const w of words) {
    expect(w.word).toMatch(/^[a-z'.-]+$/); // no fillers (<sil>, [NOISE]) and no variant suffixes (was(2))
    expect(w.start).toBeGreaterThanOrEqual(last - 1e-9);
    expect(w.end).toBeGreaterThan(w.start);
    expect(w.end).toBeLessThanOrEqual(duration + 0.05);
    expect(w.confidence).toBeGreaterThanOrEqual(0);
    expect(w.confidence).toBeLessThanOrEqual(1);
    last = w.end;
  }
}

interface Recorded {
  partials: EngineHypothesis[];
  finals: { h: EngineHypothesis; reason: string }[];
  speechStarted: number[];
  errors: Error[];
}

function record(stream: RecognizerStream): Recorded {
  const r: Recorded = { partials: [], finals: [], speechStarted: [], errors: [] };
  stream.on("partial", (h: EngineHypothesis) => r.partials.push(h));
  stream.on("final", (h: EngineHypothesis, info: { reason: string }) => r.finals.push({ h, reason: info.reason }));
  stream.on("speechStarted", (t: number) => r.speechStarted.push(t));
  stream.on("error", (e: Error) => r.errors.push(e));
  return r;
}

/** Write `pcm` the way a live client does: 100 ms chunks. */
function feed(stream: RecognizerStream, pcm: Int16Array): void {
  for (let i = 0; i < pcm.length; i += SAMPLE_RATE / 10) stream.write(pcm.subarray(i, i + SAMPLE_RATE / 10));
}

const AUSTEN_0870 = "librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
const AUSTEN_0880 = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav";
const AUSTEN_0890 = "librivox/sense_and_sensibility_01_austen_64kb-0890.wav";

/** Two real recordings with 2 s of digital silence between them (a pause the VAD must end an utterance on). */
function twoUtterances(): { pcm: Int16Array; secondStart: number } {
  const a = readPcm(AUSTEN_0880);
  const b = readPcm(AUSTEN_0890);
  const pcm = new Int16Array(a.length + 2 * SAMPLE_RATE + b.length);
  pcm.set(a);
  pcm.set(b, a.length + 2 * SAMPLE_RATE);
  return { pcm, secondStart: (a.length + 2 * SAMPLE_RATE) / SAMPLE_RATE };
}

describe("PocketSphinx engine (real decoder, real speech)", () => {
  let engine: PocketSphinxEngine;

  beforeAll(async () => {
    engine = createPocketSphinxEngine({ poolSize: 2 });
    await engine.ready();
  });

  afterAll(async () => {
    await engine?.close();
  });

  it("reports its identity", () => {
    expect([engine.name, engine.model, engine.languages]).toEqual(["pocketsphinx", "pocketsphinx-en-us", ["en"]]);
    expect(engine.workers()).toHaveLength(2);
  });

  it("transcribes a recording: words in time order inside the file, WER < 0.5 against the reference", async () => {
    const pcm = readPcm(AUSTEN_0870);
    const duration = pcm.length / SAMPLE_RATE;
    const utterances = await engine.transcribe(pcm, { language: "en-US" });
    expect(utterances.length).toBeGreaterThan(0);
    const words = utterances.flatMap((u) => u.words);
    expectWordsInOrder(words, duration);
    for (const u of utterances) {
      expect(u.text).toBe(u.words.map((w) => w.word).join(" "));
      expect(u.start).toBeLessThanOrEqual(u.words[0]!.start);
      expect(u.end).toBeGreaterThanOrEqual(u.words.at(-1)!.end);
    }
    expect(wer(reference(AUSTEN_0870), joined(utterances))).toBeLessThan(0.5);
  });

  it("transcribe cuts utterances at pauses and keeps word times on the stream clock", async () => {
    const { pcm, secondStart } = twoUtterances();
    const utterances = await engine.transcribe(pcm);
    expect(utterances.length).toBeGreaterThanOrEqual(2);
    expectWordsInOrder(utterances.flatMap((u) => u.words), pcm.length / SAMPLE_RATE);
    expect(utterances[0]!.end).toBeLessThan(secondStart);
    const last = utterances.at(-1)!;
    expect(last.words[0]!.start).toBeGreaterThan(secondStart - 0.1);
    // "rather cold hearted and rather selfish" sits 1.3–3.7 s into the second file (measured on the file alone).
    const selfish = last.words.find((w) => w.word === "selfish");
    expect(selfish).toBeDefined();
    expect(selfish!.start).toBeGreaterThan(secondStart + 2.2);
    expect(selfish!.start).toBeLessThan(secondStart + 3.3);
    expect(wer(`${reference(AUSTEN_0880)} ${reference(AUSTEN_0890)}`, joined(utterances))).toBeLessThan(0.6);
  });

  it("a live stream in 100 ms chunks gives speechStarted, partials, and finals matching transcribe", async () => {
    const pcm = readPcm(AUSTEN_0870);
    const duration = pcm.length / SAMPLE_RATE;
    const batch = joined(await engine.transcribe(pcm));
    const stream = await engine.createStream({ language: "en" });
    const r = record(stream);
    feed(stream, pcm);
    await stream.flush();
    await stream.close();

    expect(r.errors).toEqual([]);
    expect(r.speechStarted.length).toBeGreaterThan(0);
    expect(r.speechStarted[0]).toBeGreaterThanOrEqual(0);
    expect(r.speechStarted[0]).toBeLessThan(1);
    expect(r.partials.length).toBeGreaterThan(3);
    expect(new Set(r.partials.map((p) => p.text)).size).toBe(r.partials.length); // only on change
    expect(r.partials.every((p) => p.confidence === 0)).toBe(true); // no posterior before the utterance ends
    const finalWords = r.finals.flatMap((f) => f.h.words);
    expect(finalWords.some((w) => w.confidence > 0 && w.confidence < 1)).toBe(true); // real lattice posteriors
    expect(r.finals.length).toBeGreaterThan(0);
    expect(r.finals.at(-1)!.reason).toBe("finalize");
    expectWordsInOrder(r.finals.flatMap((f) => f.h.words), duration);
    const live = r.finals.map((f) => f.h.text).join(" ");
    expect(wer(batch, live)).toBeLessThan(0.2);
    expect(wer(reference(AUSTEN_0870), live)).toBeLessThan(0.5);
  });

  it("ends an utterance with reason endpoint when the speaker pauses; flush gives finalize", async () => {
    const { pcm, secondStart } = twoUtterances();
    const stream = await engine.createStream();
    const r = record(stream);
    feed(stream, pcm);
    let finalsBeforeFlushResolved = -1;
    await stream.flush().then(() => (finalsBeforeFlushResolved = r.finals.length));
    await stream.close();

    expect(r.errors).toEqual([]);
    expect(r.finals.length).toBeGreaterThanOrEqual(2);
    expect(r.finals[0]!.reason).toBe("endpoint");
    expect(r.finals[0]!.h.text).not.toBe("");
    expect(r.finals.at(-1)!.reason).toBe("finalize");
    expect(finalsBeforeFlushResolved).toBe(r.finals.length); // the finalize final came before flush() resolved
    expect(r.speechStarted.length).toBeGreaterThanOrEqual(2);
    expect(r.speechStarted.at(-1)).toBeGreaterThan(secondStart - 0.3);
    expect(r.finals.at(-1)!.h.words[0]!.start).toBeGreaterThan(secondStart - 0.1);
  });

  it("flush with nothing pending resolves without a final", async () => {
    const stream = await engine.createStream();
    const r = record(stream);
    stream.write(new Int16Array(SAMPLE_RATE / 2)); // 0.5 s of digital silence
    await stream.flush();
    await stream.close();
    expect(r.finals).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  it("rejects languages other than English with a message naming the supported ones", async () => {
    await expect(engine.createStream({ language: "de" })).rejects.toThrow(/only supports English \("en" or "en-\*"/);
    await expect(engine.transcribe(new Int16Array(160), { language: "fr-FR" })).rejects.toThrow(/only supports English/);
    await expect(engine.transcribe(new Int16Array(160), { language: "english" })).rejects.toThrow(/only supports English/);
    const ok = await engine.createStream({ language: "EN-gb", keyterms: ["Dashwood"] });
    await ok.close();
  });

  it("serves 12 concurrent streams, each producing text", async () => {
    const files = manifest.map((row) => row.file);
    const chosen = Array.from({ length: 12 }, (_, i) => files[i % files.length]!);
    const streams = await Promise.all(chosen.map(() => engine.createStream()));
    expect(engine.workers().map((w) => w.decoders).sort()).toEqual([6, 6]); // spread over the pool
    const recs = streams.map(record);
    const audio = chosen.map(readPcm);
    const longest = Math.max(...audio.map((a) => a.length));
    for (let i = 0; i < longest; i += SAMPLE_RATE / 10) {
      streams.forEach((s, k) => {
        const chunk = audio[k]!.subarray(i, i + SAMPLE_RATE / 10);
        if (chunk.length) s.write(chunk);
      });
    }
    await Promise.all(streams.map((s) => s.flush()));
    await Promise.all(streams.map((s) => s.close()));
    recs.forEach((r, k) => {
      expect(r.errors, chosen[k]).toEqual([]);
      expect(r.finals.map((f) => f.h.text).join(" ").trim(), chosen[k]).not.toBe("");
    });
    expect(engine.workers().map((w) => w.decoders)).toEqual([0, 0]);
  }, 120_000);

  it("close is idempotent; writes and flushes after close are ignored", async () => {
    const stream = await engine.createStream();
    const r = record(stream);
    const first = stream.close();
    const second = stream.close();
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
    await expect(stream.close()).resolves.toBeUndefined();
    expect(() => stream.write(readPcm(AUSTEN_0880))).not.toThrow();
    await expect(stream.flush()).resolves.toBeUndefined();
    expect([r.finals, r.partials, r.errors]).toEqual([[], [], []]);
  });

  it("a write that is not Int16Array gives error, not an exception", async () => {
    const stream = await engine.createStream();
    const r = record(stream);
    expect(() => stream.write(new Float32Array(10) as unknown as Int16Array)).not.toThrow();
    expect(r.errors[0]?.message).toMatch(/Int16Array/);
    await stream.close();
  });

  it("a dead worker fails only its streams with error, and the pool replaces it", async () => {
    const victim = await engine.createStream();
    const r = record(victim);
    const host = engine.workers().find((w) => w.decoders === 1)!;
    expect(host).toBeDefined();
    await engine.terminateWorker(host.threadId);
    await expect.poll(() => r.errors.length).toBe(1);
    expect(r.errors[0]!.message).toMatch(/worker thread/);
    await expect.poll(() => engine.workers().length, { timeout: 20_000 }).toBe(2);
    expect(engine.workers().map((w) => w.threadId)).not.toContain(host.threadId);
    await victim.close();
    const after = await engine.transcribe(readPcm(AUSTEN_0880));
    expect(joined(after)).not.toBe("");
  });
});

describe("PocketSphinx engine setup errors", () => {
  it("ready() names the missing library and the packages to install", async () => {
    const engine = createPocketSphinxEngine({ libDir: "/nonexistent/lib" });
    await expect(engine.ready()).rejects.toThrow(
      /\/nonexistent\/lib\/libsphinxbase\.so\.3 is missing.*apt-get install pocketsphinx pocketsphinx-en-us/,
    );
    await engine.close();
  });

  it("ready() names a missing model file", async () => {
    const engine = createPocketSphinxEngine({ modelDir: "/nonexistent/model" });
    await expect(engine.ready()).rejects.toThrow(/\/nonexistent\/model\/en-us\.lm\.bin is missing/);
    await expect(engine.createStream()).rejects.toThrow(/is missing/);
    await engine.close();
  });

  it("invalid options are refused up front", () => {
    expect(() => createPocketSphinxEngine({ poolSize: 0 })).toThrow(/poolSize must be >= 1/);
    expect(() => createPocketSphinxEngine({ bogus: 1 } as never)).toThrow(/additional properties/);
  });
});
