import { describe, expect, it } from "vitest";
import { parseListenMessage } from "../../src/transcriber/session/listen-messages";

const results = {
  type: "Results",
  channel_index: [0, 1],
  start: 1.5,
  duration: 1.2,
  is_final: true,
  speech_final: false,
  channel: { alternatives: [{ transcript: "hello world", confidence: 0.9, words: [{ word: "hello", start: 1.6, end: 1.9, confidence: 0.95 }] }] },
  metadata: { request_id: "r1", model_info: { name: "pocketsphinx-en-us", version: "5", arch: "pocketsphinx" } },
};

describe("parseListenMessage", () => {
  it("accepts the frames of Deepgram's live protocol, as objects or JSON text", () => {
    expect(parseListenMessage(results)).toMatchObject({ ok: true, message: { type: "Results" } });
    expect(parseListenMessage(JSON.stringify({ type: "Metadata", request_id: "r1", duration: 3.2, channels: 1 }))).toMatchObject({ ok: true });
    expect(parseListenMessage({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.1 })).toMatchObject({ ok: true });
    expect(parseListenMessage({ type: "SpeechStarted", channel: [0], timestamp: 0.4 })).toMatchObject({ ok: true });
  });

  it("names the field of a malformed frame and never throws", () => {
    const bad = { ...results, start: -1 };
    const parsed = parseListenMessage(bad);
    expect(parsed).toMatchObject({ ok: false, ignored: false });
    expect(parsed.ok === false && !parsed.ignored && parsed.error).toMatch(/invalid Results frame: \/start/);
    const noWords = parseListenMessage({ ...results, channel: { alternatives: [{ transcript: 3, confidence: 1 }] } });
    expect(noWords.ok).toBe(false);
    expect(parseListenMessage("{not json")).toMatchObject({ ok: false, ignored: false });
    expect(parseListenMessage(null)).toMatchObject({ ok: false, ignored: false });
  });

  it("ignores frame types it does not use", () => {
    expect(parseListenMessage({ type: "Warning", description: "x" })).toEqual({ ok: false, ignored: true, type: "Warning" });
  });
});
