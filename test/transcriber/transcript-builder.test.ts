import { describe, expect, it } from "vitest";
import { validateContext } from "../../src/contracts";
import type { ListenResults, ListenWord } from "../../src/transcriber/session/listen-messages";
import { TranscriptAccumulator, providerFromModelInfo } from "../../src/transcriber/session/transcript-builder";

const MODEL_INFO = { name: "pocketsphinx-en-us", version: "5.0", arch: "pocketsphinx" };

function w(word: string, start: number, end: number, confidence = 0.9, speaker?: number): ListenWord {
  return { word, start, end, confidence, ...(speaker !== undefined && { speaker }) };
}

function results(words: ListenWord[], opts: Partial<ListenResults> & { transcript?: string } = {}): ListenResults {
  const start = opts.start ?? (words[0]?.start ?? 0);
  const end = words.length ? words[words.length - 1]!.end : start + 1;
  return {
    type: "Results",
    channel_index: [0, 1],
    start,
    duration: opts.duration ?? end - start,
    is_final: opts.is_final ?? true,
    speech_final: opts.speech_final ?? false,
    ...(opts.from_finalize !== undefined && { from_finalize: opts.from_finalize }),
    channel: { alternatives: [{ transcript: opts.transcript ?? words.map((x) => x.word).join(" "), confidence: 0.8, words }] },
    metadata: { request_id: "req-1", model_info: MODEL_INFO },
  };
}

const META = { transcriptId: "t-1", source: "call" as const, language: "en", callId: "call-1" };

describe("TranscriptAccumulator", () => {
  it("shows interim text, replaces it with finals, and closes a segment on speech_final", () => {
    const acc = new TranscriptAccumulator({ channelSpeakers: ["agent"] });
    expect(acc.handle(results([w("hello", 0.5, 0.8)], { is_final: false }))).toBe("interim");
    expect(acc.interim).toBe("hello");
    expect(acc.finalText).toBe("");
    expect(acc.handle(results([w("hello", 0.5, 0.8, 0.9), w("there", 0.9, 1.2, 0.7)]))).toBe("final");
    expect(acc.interim).toBe("");
    expect(acc.handle(results([w("friend", 1.3, 1.7, 0.8)], { speech_final: true, transcript: "friend." }))).toBe("segment-closed");
    expect(acc.handle(results([w("next", 2.5, 2.8)], { is_final: false }))).toBe("interim");
    expect(acc.segments).toEqual([
      {
        speaker: "agent",
        start: 0.5,
        end: 1.7,
        text: "hello there friend.",
        confidence: 0.8,
        words: [
          { word: "hello", start: 0.5, end: 0.8, confidence: 0.9 },
          { word: "there", start: 0.9, end: 1.2, confidence: 0.7 },
          { word: "friend", start: 1.3, end: 1.7, confidence: 0.8 },
        ],
      },
    ]);
    expect(acc.finalText).toBe("hello there friend.");
    expect(acc.interim).toBe("next");
  });

  it("builds a valid fdc3.transcript with provider, duration, participants and time range", () => {
    const acc = new TranscriptAccumulator({ channelSpeakers: ["agent"] });
    acc.handle(results([w("good", 0.2, 0.5), w("morning", 0.5, 0.9)], { speech_final: true }));
    acc.handle(results([w("how", 2.0, 2.2), w("are", 2.2, 2.4), w("you", 2.4, 2.7)], { from_finalize: true }));
    acc.handle({ type: "Metadata", request_id: "req-1", duration: 3.25, channels: 1 });
    acc.finish();
    const t = acc.toTranscript({
      ...META,
      participants: [{ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane@example.com" } }],
      startTime: "2026-11-21T09:30:00.000Z",
      endTime: "2026-11-21T09:30:04.000Z",
    });
    expect(t).toMatchObject({
      type: "fdc3.transcript",
      id: { transcriptId: "t-1", callId: "call-1" },
      source: "call",
      text: "good morning how are you",
      duration: 3.25,
      provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
      participants: { type: "fdc3.contactList", contacts: [{ name: "Jane Doe" }] },
      timeRange: { type: "fdc3.timeRange", startTime: "2026-11-21T09:30:00.000Z", endTime: "2026-11-21T09:30:04.000Z" },
    });
    expect(t.segments).toHaveLength(2);
    expect(t.segments![1]).toMatchObject({ start: 2, end: 2.7, text: "how are you" });
    const checked = validateContext(t);
    expect(checked.valid ? "valid" : checked.error).toBe("valid");
  });

  it("splits diarised words into one segment per speaker run", () => {
    const acc = new TranscriptAccumulator();
    acc.handle(results([w("hi", 0, 0.3, 0.9, 0), w("hello", 0.5, 0.9, 0.9, 1), w("how", 1.0, 1.2, 0.9, 1)], { speech_final: true }));
    expect(acc.segments.map((s) => [s.speaker, s.text, s.start, s.end])).toEqual([
      ["speaker 1", "hi", 0, 0.3],
      ["speaker 2", "hello how", 0.5, 1.2],
    ]);
  });

  it("closes on UtteranceEnd, skips empty finals, and uses the result span when there are no words", () => {
    const acc = new TranscriptAccumulator();
    expect(acc.handle(results([], { transcript: "", start: 0, duration: 1 }))).toBe("none");
    acc.handle(results([], { transcript: "one two", start: 1, duration: 1.5 }));
    expect(acc.handle({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.4 })).toBe("segment-closed");
    expect(acc.handle({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.4 })).toBe("none");
    acc.handle(results([w("three", 4, 4.5)]));
    expect(acc.segments.map((s) => [s.text, s.start, s.end, s.confidence, s.words?.length])).toEqual([
      ["one two", 1, 2.5, 0.8, undefined],
      ["three", 4, 4.5, 0.9, 1],
    ]);
    // No Metadata: duration is the end of the last Results.
    expect(acc.duration).toBe(4.5);
  });

  it("leaves callId, participants and timeRange out of a dictation that has none", () => {
    const acc = new TranscriptAccumulator();
    acc.handle(results([w("note", 0.1, 0.4)]));
    const t = acc.toTranscript({ transcriptId: "d-1", source: "dictation", language: "en" });
    expect(t.id).toEqual({ transcriptId: "d-1" });
    expect(t).not.toHaveProperty("participants");
    expect(t).not.toHaveProperty("timeRange");
    expect(validateContext(t).valid).toBe(true);
  });
});

describe("providerFromModelInfo", () => {
  it("reads the engine from arch and the model from name", () => {
    expect(providerFromModelInfo(MODEL_INFO)).toEqual({ name: "pocketsphinx", model: "pocketsphinx-en-us" });
    expect(providerFromModelInfo({ name: "whisper-base.en" })).toEqual({ name: "whisper-base.en", model: "whisper-base.en" });
    expect(providerFromModelInfo({ arch: "nova-3" })).toEqual({ name: "nova-3" });
    expect(providerFromModelInfo(undefined)).toBeUndefined();
  });
});

describe("what is saved is what the user saw (issue 7 item 23)", () => {
  it("saves exactly the final text the user saw, frame by frame, with no final appended twice", () => {
    const acc = new TranscriptAccumulator({ channelSpeakers: ["agent"] });
    const frames = [
      results([w("he", 0.2, 0.4)], { is_final: false, start: 0 }),
      results([w("he", 0.2, 0.4), w("was", 0.4, 0.7)], { is_final: false, start: 0 }),
      results([w("he", 0.2, 0.4), w("was", 0.4, 0.7), w("not", 0.7, 1)], { start: 0, duration: 1.2, speech_final: true, transcript: "He was not." }),
      // The same final again (a repeat for audio already final) must not be appended twice.
      results([w("he", 0.2, 0.4), w("was", 0.4, 0.7), w("not", 0.7, 1)], { start: 0, duration: 1.2, speech_final: true, transcript: "He was not." }),
      results([w("an", 1.3, 1.5)], { is_final: false, start: 1.2 }),
      results([w("an", 1.3, 1.5), w("ill", 1.5, 1.8)], { start: 1.2, duration: 0.7, from_finalize: true, transcript: "an ill" }),
      // The empty from_finalize final of CloseStream adds nothing.
      results([], { start: 1.9, duration: 0.3, from_finalize: true, transcript: "" }),
    ];
    const shownFinals: string[] = [];
    for (const f of frames) {
      acc.handle(f);
      shownFinals.push(acc.finalText);
    }
    expect(shownFinals.at(-1)).toBe("He was not. an ill");
    acc.finish({ keepInterim: true });
    const t = acc.toTranscript(META);
    expect(t.text).toBe(shownFinals.at(-1));
    expect(t.segments!.map((s) => s.text).join(" ")).toBe(t.text);
    // Each final the user saw is still there, in order: finals only ever grow.
    for (const seen of shownFinals) expect(t.text.startsWith(seen)).toBe(true);
  });

  it("keeps an interim hypothesis the stream never finalised (finish({ keepInterim })) so nothing the user saw is dropped", () => {
    const acc = new TranscriptAccumulator({ channelSpeakers: ["agent"] });
    acc.handle(results([w("he", 0.2, 0.4), w("was", 0.4, 0.7)], { start: 0, duration: 0.9, speech_final: true, transcript: "He was" }));
    acc.handle(results([w("not", 1, 1.3, 0), w("an", 1.3, 1.5, 0)], { is_final: false, start: 0.9 }));
    const shown = `${acc.finalText} ${acc.interim}`;
    expect(shown).toBe("He was not an");
    // The stream ended (timeout, dropped socket) before the final for "not an" came.
    expect(acc.finish({ keepInterim: true })).toBe(true);
    const t = acc.toTranscript(META);
    expect(t.text).toBe(shown);
    expect(t.segments!.at(-1)).toMatchObject({ speaker: "agent", text: "not an", start: 1, end: 1.5 });
    expect(validateContext(t)).toMatchObject({ valid: true });
    expect(acc.interim).toBe("");
    // Default: dropped, as before (a caller that only wants finals).
    const plain = new TranscriptAccumulator();
    plain.handle(results([w("maybe", 0, 0.4)], { is_final: false }));
    expect(plain.finish()).toBe(false);
    expect(plain.toTranscript(META).text).toBe("");
  });
});
