/**
 * The pure parts of the Whisper engine: hallucination guards, token → word assembly, VAD
 * segmentation (scripted frame decisions, and the real libfvad on real corpus speech), pre-recorded
 * chunk packing and time mapping, language rules and the prompt. No model.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop.js";
import { chunkAudio, packChunks, splitWordsByRegion, toRecordingTime, type SpeechRegion } from "../../src/server/speech/engines/whisper/batch.js";
import {
  checkHypothesis,
  compressionRatio,
  DEFAULT_GUARDS,
  maxConsecutiveRepeats,
  shouldDecode,
  stripAnnotations,
  type AudioStats,
} from "../../src/server/speech/engines/whisper/guards.js";
import { buildPrompt, resolveLanguage, resolveWhisperOptions } from "../../src/server/speech/engines/whisper/options.js";
import { reducedAudioCtx } from "../../src/server/speech/engines/whisper/stream.js";
import { DEFAULT_VAD, FRAME_SAMPLES, FrameVad, VadSegmenter, type SegmenterEvent } from "../../src/server/speech/engines/whisper/vad.js";
import { endOfTextTokenId, segmentsToWords, type WhisperSegment } from "../../src/server/speech/engines/whisper/words.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const corpusDir = process.env.CALLSCRIBE_CORPUS_DIR ?? path.resolve(repoRoot, "..", "shared", "corpus");

const speech: AudioStats = { durationSec: 2, voicedSec: 1.6, rmsDbfs: -22 };
const quiet: AudioStats = { durationSec: 2, voicedSec: 0.3, rmsDbfs: -52 };
const w = (text: string) => text.split(" ").map((word) => ({ word }));

describe("hallucination guards", () => {
  it("VAD gate: decodes only audio with enough voiced time", () => {
    expect(shouldDecode(speech)).toBe(true);
    expect(shouldDecode({ durationSec: 3, voicedSec: 0.1, rmsDbfs: -30 })).toBe(false);
  });

  it("drops known silence phrases on quiet audio but keeps them on clear speech", () => {
    for (const text of ["Thank you.", "Thanks for watching!", "you"]) {
      expect(checkHypothesis({ text, words: w(text) }, quiet)).toEqual({ keep: false, reason: "silence-phrase" });
      expect(checkHypothesis({ text, words: w(text) }, speech).keep).toBe(true);
    }
  });

  it("drops low-probability text on weak speech evidence (the no-speech rule) only", () => {
    const h = { text: "maybe words", words: w("maybe words"), meanLogProb: -1.8 };
    expect(checkHypothesis(h, quiet)).toEqual({ keep: false, reason: "no-speech" });
    expect(checkHypothesis(h, speech).keep).toBe(true);
    expect(checkHypothesis({ ...h, meanLogProb: -0.2 }, quiet).keep).toBe(true);
  });

  it("detects repetition loops by n-gram runs and by compression ratio", () => {
    expect(maxConsecutiveRepeats(["go", "go", "go"])).toBe(3);
    expect(maxConsecutiveRepeats("a b a b a b c".split(" "))).toBe(3);
    expect(maxConsecutiveRepeats("the cat sat on the mat".split(" "))).toBe(1);
    expect(maxConsecutiveRepeats([])).toBe(0);
    const loop = "I'm going to go to the store. ".repeat(6).trim();
    expect(compressionRatio(loop)).toBeGreaterThan(DEFAULT_GUARDS.maxCompressionRatio);
    expect(checkHypothesis({ text: loop, words: w(loop) }, speech)).toEqual({ keep: false, reason: "compression-ratio" });
    const stutter = "no no no no no";
    expect(checkHypothesis({ text: stutter, words: w(stutter) }, speech)).toEqual({ keep: false, reason: "repetition" });
    const normal = "Please confirm the delivery address and the invoice number before Friday afternoon.";
    expect(compressionRatio(normal)).toBeLessThan(DEFAULT_GUARDS.maxCompressionRatio);
    expect(checkHypothesis({ text: normal, words: w(normal) }, speech).keep).toBe(true);
  });

  it("removes non-speech annotations, also across words, and drops hypotheses left empty", () => {
    const kept = stripAnnotations(w("[BLANK_AUDIO] hello (upbeat music) there ♪ *laughs* friend"));
    expect(kept.map((x) => x.word)).toEqual(["hello", "there", "friend"]);
    expect(checkHypothesis({ text: "[BLANK_AUDIO]", words: w("[BLANK_AUDIO]") }, speech)).toEqual({ keep: false, reason: "empty" });
  });
});

describe("token → word assembly", () => {
  const eot = endOfTextTokenId(false);
  const segment: WhisperSegment = {
    from: 0,
    to: 2000,
    text: " Hello, world. I'm fine",
    lang: "en",
    tokens: [
      { text: "[_BEG_]", id: 50363, p: 0.9, from: 0, to: 0 },
      { text: " Hello", id: 18435, p: 0.9, from: 0, to: 400 },
      { text: ",", id: 11, p: 0.7, from: 400, to: 450 },
      { text: " world", id: 995, p: 0.8, from: 500, to: 900 },
      { text: ".", id: 13, p: 0.6, from: 900, to: 950 },
      { text: " I", id: 314, p: 0.5, from: 1000, to: 1100 },
      { text: "'m", id: 1101, p: 0.7, from: 1100, to: 1300 },
      { text: " fine", id: 3734, p: 0.9, from: 1300, to: 1800 },
      { text: "[_TT_90]", id: 50453, p: 0.9, from: 1800, to: 1800 },
    ],
  };

  it("joins sub-word tokens, attaches punctuation, skips special tokens, averages probabilities", () => {
    const out = segmentsToWords([segment], 10, 30, eot);
    expect(out.words.map((x) => [x.word, x.punctuatedWord])).toEqual([
      ["hello", "Hello,"],
      ["world", "world."],
      ["i'm", "I'm"],
      ["fine", "fine"],
    ]);
    expect(out.words[0]!.start).toBeCloseTo(10, 6);
    expect(out.words[0]!.end).toBeCloseTo(10.45, 6);
    expect(out.words[0]!.confidence).toBeCloseTo(0.8, 6);
    expect(out.words[2]!.confidence).toBeCloseTo(0.6, 6);
    expect(out.language).toBe("en");
    const logs = [0.9, 0.7, 0.8, 0.6, 0.5, 0.7, 0.9].map(Math.log);
    expect(out.meanLogProb).toBeCloseTo(logs.reduce((a, b) => a + b) / logs.length, 6);
  });

  it("falls back to the segment text when tokens split a multi-byte character", () => {
    const broken: WhisperSegment = {
      from: 0,
      to: 1000,
      text: " 你好 世界",
      tokens: [
        { text: " \uFFFD", id: 10, p: 0.5, from: 0, to: 300 },
        { text: "\uFFFD", id: 11, p: 0.7, from: 300, to: 600 },
      ],
    };
    const out = segmentsToWords([broken], 0, 30, endOfTextTokenId(true));
    expect(out.words.map((x) => x.word)).toEqual(["你好", "世界"]);
    expect(out.words[1]!.end).toBeCloseTo(1, 6);
    expect(out.words[0]!.confidence).toBeCloseTo(0.6, 6);
  });

  it("clamps times into the decoded buffer and keeps them ordered", () => {
    const seg: WhisperSegment = {
      from: 0,
      to: 5000,
      text: " a b",
      tokens: [
        { text: " a", id: 64, p: 1, from: 900, to: 1200 },
        { text: " b", id: 65, p: 1, from: 800, to: 9000 },
      ],
    };
    const out = segmentsToWords([seg], 0, 2, eot).words;
    expect(out[1]!.start).toBeGreaterThanOrEqual(out[0]!.start);
    expect(out[1]!.end).toBeLessThanOrEqual(2);
  });
});

/** Feed scripted decisions (1 = voiced frame) and collect events with their frame index. */
function runSegmenter(pattern: string, options = DEFAULT_VAD): { frame: number; event: SegmenterEvent }[] {
  const seg = new VadSegmenter(options);
  const out: { frame: number; event: SegmenterEvent }[] = [];
  [...pattern].forEach((c, frame) => seg.push(c === "1", c === "1" ? -20 : -70).forEach((event) => out.push({ frame, event })));
  seg.flush().forEach((event) => out.push({ frame: pattern.length, event }));
  return out;
}

describe("VAD segmentation", () => {
  it("starts at the onset with pre-roll and ends after the hangover with post-roll", () => {
    const pattern = "0".repeat(50) + "1".repeat(50) + "0".repeat(60);
    const events = runSegmenter(pattern);
    expect(events.map((e) => e.event.type)).toEqual(["start", "end"]);
    const start = events[0]!.event as Extract<SegmenterEvent, { type: "start" }>;
    expect(start.onsetFrame).toBe(50);
    expect(start.audioStartFrame).toBe(35); // 0.3 s pre-roll
    expect(events[0]!.frame).toBe(55); // 6 voiced frames needed
    const end = events[1]!.event as Extract<SegmenterEvent, { type: "end" }>;
    expect(events[1]!.frame).toBe(124); // 25 unvoiced frames (0.5 s) after the last voiced frame 99
    expect(end.audioEndFrame).toBe(110); // 0.2 s post-roll
    expect(end.cause).toBe("endpoint");
    expect(end.stats.voicedSec).toBeCloseTo(1, 6);
    expect(end.stats.durationSec).toBeCloseTo(1, 6);
    expect(end.stats.rmsDbfs).toBeCloseTo(-20, 6);
  });

  it("ignores short blips and bridges short pauses", () => {
    expect(runSegmenter("0".repeat(20) + "11100" + "0".repeat(40))).toEqual([]);
    const events = runSegmenter("1".repeat(40) + "0".repeat(15) + "1".repeat(40) + "0".repeat(40));
    expect(events.filter((e) => e.event.type === "end")).toHaveLength(1);
  });

  it("cuts utterances at the maximum length and continues without a new onset", () => {
    const options = { ...DEFAULT_VAD, maxUtteranceSec: 2 };
    const events = runSegmenter("1".repeat(250), options).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(["start", "end", "start", "end", "start", "end"]);
    expect((events[1] as Extract<SegmenterEvent, { type: "end" }>).cause).toBe("max-length");
    expect((events[2] as Extract<SegmenterEvent, { type: "start" }>).continued).toBe(true);
    expect((events[5] as Extract<SegmenterEvent, { type: "end" }>).cause).toBe("flush");
  });

  it("libfvad finds the speech in a real recording and nothing in digital silence", async () => {
    const wav = new WaveFile(readFileSync(path.join(corpusDir, "debian_pocketsphinx", "goforward.wav")));
    const pcm = wav.getSamples(false, Int16Array) as unknown as Int16Array;
    const padded = new Int16Array(pcm.length + 32_000); // 1 s of silence after it
    padded.set(pcm);
    const vad = await FrameVad.create();
    const seg = new VadSegmenter();
    const events: SegmenterEvent[] = [];
    for (let f = 0; (f + 1) * FRAME_SAMPLES <= padded.length; f++) {
      const { voiced, dbfs } = vad.classify(padded.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES));
      events.push(...seg.push(voiced, dbfs));
    }
    vad.free();
    const starts = events.filter((e) => e.type === "start");
    const ends = events.filter((e): e is Extract<SegmenterEvent, { type: "end" }> => e.type === "end");
    expect(starts.length).toBeGreaterThanOrEqual(1);
    expect(ends.length).toBe(starts.length); // every utterance ended in the trailing silence
    const voiced = ends.reduce((a, e) => a + e.stats.voicedSec, 0);
    expect(voiced).toBeGreaterThan(0.8); // "go forward ten meters" is ~2 s of speech in 2.8 s
    expect(voiced).toBeLessThan(pcm.length / 16_000);
    expect(ends.at(-1)!.audioEndFrame * FRAME_SAMPLES).toBeLessThanOrEqual(pcm.length + 0.5 * 16_000);
  });

  it("rejects frames of the wrong length", async () => {
    const vad = await FrameVad.create();
    expect(() => vad.classify(new Int16Array(100))).toThrow(/320 samples/);
    vad.free();
  });
});

describe("pre-recorded packing", () => {
  const stats: AudioStats = { durationSec: 1, voicedSec: 1, rmsDbfs: -20 };
  const region = (startSec: number, endSec: number): SpeechRegion => ({ startFrame: startSec * 50, endFrame: endSec * 50, stats });

  it("packs regions into buffers of at most the limit, cutting the silence between them", () => {
    const chunks = packChunks([region(1, 6), region(20, 30), region(40, 55), region(60, 62)], 28, 0.3);
    expect(chunks.map((c) => c.pieces.length)).toEqual([2, 2]);
    expect(chunks[0]!.samples).toBe((5 + 0.3 + 10) * 16_000);
    expect(chunks[0]!.pieces[1]!.bufferStart).toBe(5.3 * 16_000);
  });

  it("maps buffer times back to recording time and splits words by region", () => {
    const [chunk] = packChunks([region(1, 6), region(20, 30)], 28, 0.3);
    expect(toRecordingTime(chunk!, 0.5)).toBeCloseTo(1.5, 6);
    expect(toRecordingTime(chunk!, 6)).toBeCloseTo(20.7, 6);
    expect(toRecordingTime(chunk!, 5.1)).toBeCloseTo(6, 6); // in the gap: end of the first region
    const word = (s: number, e: number) => ({ word: "x", punctuatedWord: "x", start: s, end: e, confidence: 1 });
    const parts = splitWordsByRegion(chunk!, [word(0.2, 0.6), word(4.9, 5.2), word(5.5, 6.0)]);
    expect(parts.map((p) => p.length)).toEqual([2, 1]);
    expect(parts[0]![1]!.end).toBeCloseTo(6, 6);
    expect(parts[1]![0]!.start).toBeCloseTo(20.2, 6);
  });

  it("copies the regions' audio into the buffer", () => {
    const pcm = new Int16Array(16_000 * 10).fill(1000);
    const [chunk] = packChunks([region(1, 2), region(5, 6)], 28, 0.5);
    const audio = chunkAudio(pcm, chunk!);
    expect(audio.length).toBe(2.5 * 16_000);
    expect(audio[0]).toBeCloseTo(1000 / 32767, 6);
    expect(audio[16_000 + 100]).toBe(0); // the inserted silence
  });
});

describe("options, language and prompt", () => {
  it("defaults to English and maps BCP 47 tags to Whisper's codes", () => {
    expect(resolveLanguage({}, "whisper-base.en", false)).toBe("en");
    expect(resolveLanguage({ language: "en-GB" }, "whisper-base.en", false)).toBe("en");
    expect(resolveLanguage({ language: "de-DE" }, "whisper-base", true)).toBe("de");
  });

  it("refuses other languages and detection on English-only models, and unknown languages anywhere", () => {
    expect(() => resolveLanguage({ language: "de" }, "whisper-base.en", false)).toThrow(/whisper-base.en is English-only/);
    expect(() => resolveLanguage({ detectLanguage: true }, "whisper-tiny.en", false)).toThrow(/multilingual/);
    expect(() => resolveLanguage({ language: "xx" }, "whisper-base", true)).toThrow(/does not support language "xx"/);
    expect(resolveLanguage({ detectLanguage: true, language: "fr" }, "whisper-base", true)).toBe("auto");
    expect(() => resolveLanguage({ keyterms: [1 as unknown as string] }, "whisper-base", true)).toThrow(/Invalid recognition options/);
  });

  it("validates engine options and names", () => {
    expect(resolveWhisperOptions({ model: "base.en" }).model).toBe("whisper-base.en");
    expect(resolveWhisperOptions({ model: "whisper-large-v3-q5_0" }).name).toBe("large-v3-q5_0");
    expect(() => resolveWhisperOptions({ model: "whisper-../../etc/passwd" })).toThrow(/Invalid Whisper model name/);
    expect(() => resolveWhisperOptions({ model: "whisper-base", threads: 0 })).toThrow(/threads/);
    expect(() => resolveWhisperOptions({ model: "whisper-base", vad: { maxUtteranceSec: 40 } })).toThrow(/maxUtteranceSec/);
  });

  it("builds the prompt from de-duplicated keyterms and the end of the earlier text", () => {
    expect(buildPrompt(["Callscribe", " FDC3 ", "Callscribe", ""])).toBe("Callscribe, FDC3.");
    expect(buildPrompt([], "short")).toBe("short");
    const long = "word ".repeat(100);
    const prompt = buildPrompt(["X"], long);
    expect(prompt.startsWith("X. word")).toBe(true);
    expect(prompt.length).toBeLessThanOrEqual(3 + 200);
    expect(buildPrompt(Array.from({ length: 500 }, (_, i) => `term${i}`)).length).toBeLessThanOrEqual(600);
  });

  it("sizes the reduced encoder context to the audio", () => {
    expect(reducedAudioCtx(16_000 * 3)).toBe(150 + 25);
    expect(reducedAudioCtx(16_000 * 29.9)).toBe(0); // would exceed the window: use the full one
  });
});
