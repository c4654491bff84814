/**
 * Timing rules of live results (endpointing hold, interrupted finals, endpointing=false, Finalize,
 * UtteranceEnd, span tiling), driven by a scripted engine stream so each event lands at an exact
 * audio time. The real engine cannot be steered to such boundaries; the integration tests in
 * live-protocol.test.ts cover the same features on real speech.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { EngineHypothesis, RecognizerStream } from "../../src/server/speech/engines/engine";
import { LiveChannel } from "../../src/server/speech/live-channel";
import type { ResultsMessage, ServerMessage } from "../../src/server/speech/protocol";
import { parseListenQuery, type ListenOptions } from "../../src/server/speech/query";
import { validateResults, validateUtteranceEnd } from "../../src/server/speech/validators";

/** A scripted stand-in for an engine stream ("fake": the tests emit its events by hand). */
class FakeRecognizerStream extends EventEmitter implements RecognizerStream {
  /** Emitted as a `final` with reason `finalize` by the next flush(). */
  pendingOnFlush?: EngineHypothesis;
  write(): void {}
  async flush(): Promise<void> {
    if (this.pendingOnFlush) this.emit("final", this.pendingOnFlush, { reason: "finalize" });
    this.pendingOnFlush = undefined;
  }
  async close(): Promise<void> {}
}

function hyp(words: [string, number, number][]): EngineHypothesis {
  return {
    text: words.map((w) => w[0]).join(" "),
    words: words.map(([word, start, end]) => ({ word, start, end, confidence: 0.8 })),
    confidence: 0.8,
    start: words[0]?.[1] ?? 0,
    end: words.at(-1)?.[2] ?? 0,
  };
}

function options(query: Record<string, string>): ListenOptions {
  const parsed = parseListenQuery({ encoding: "linear16", sample_rate: "16000", ...query }, "live", { name: "fake", model: "fake-model", languages: ["en"] });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.options;
}

function setup(query: Record<string, string>) {
  const stream = new FakeRecognizerStream();
  const sent: ServerMessage[] = [];
  let received = 0;
  const channel = new LiveChannel(
    0,
    1,
    stream,
    options(query),
    { requestId: "req-1", modelUuid: "uuid-1", modelInfo: { name: "fake-model", version: "1", arch: "fake" } },
    () => received,
    (m) => sent.push(m),
  );
  const advance = (t: number) => {
    received = t;
    channel.onAudioTime(t);
  };
  const results = () => sent.filter((m): m is ResultsMessage => m.type === "Results");
  return { stream, sent, channel, advance, results };
}

describe("LiveChannel timing rules", () => {
  it("endpointing=500: the final waits until 0.5 s of silence after its last word was received", () => {
    const { stream, advance, results } = setup({ endpointing: "500" });
    advance(1.2);
    stream.emit("final", hyp([["hello", 0.4, 0.8], ["world", 0.8, 1.1]]), { reason: "endpoint" });
    expect(results()).toHaveLength(0);
    advance(1.5);
    expect(results()).toHaveLength(0);
    advance(1.6);
    expect(results()).toHaveLength(1);
    const r = results()[0];
    expect(validateResults(r)).toBe(true);
    expect(r).toMatchObject({ is_final: true, speech_final: true, from_finalize: false, start: 0, duration: 1.1 });
    expect(r.channel.alternatives[0].transcript).toBe("hello world");
  });

  it("speech resuming before the endpointing silence sends the final with speech_final=false", () => {
    const { stream, advance, results } = setup({ endpointing: "2000" });
    advance(1.3);
    stream.emit("final", hyp([["one", 0.2, 0.6]]), { reason: "endpoint" });
    advance(1.5);
    stream.emit("partial", hyp([["two", 1.4, 1.6]]));
    expect(results()).toHaveLength(1);
    expect(results()[0]).toMatchObject({ is_final: true, speech_final: false });
  });

  it("the default endpointing (10 ms) sends a final as soon as the engine ends the utterance", () => {
    const { stream, advance, results } = setup({});
    advance(2);
    stream.emit("final", hyp([["now", 1.0, 1.4]]), { reason: "endpoint" });
    expect(results()).toHaveLength(1);
    expect(results()[0].speech_final).toBe(true);
  });

  it("finals tile the stream: each starts where the previous ended", () => {
    const { stream, advance, results } = setup({});
    advance(3);
    stream.emit("final", hyp([["a", 0.5, 0.9]]), { reason: "endpoint" });
    stream.emit("final", hyp([["b", 2.0, 2.6]]), { reason: "endpoint" });
    const [r1, r2] = results();
    expect(r1.start).toBe(0);
    expect(r2.start).toBeCloseTo(r1.start + r1.duration, 6);
    expect(r2.start + r2.duration).toBeCloseTo(2.6, 6);
  });

  it("endpointing=false: engine finals wait for the flush; interim results include them", async () => {
    const { stream, channel, advance, results } = setup({ endpointing: "false", interim_results: "true" });
    advance(5);
    stream.emit("final", hyp([["first", 0.5, 1.0]]), { reason: "endpoint" });
    advance(9);
    expect(results()).toHaveLength(0);
    stream.emit("partial", hyp([["second", 3.0, 3.5]]));
    expect(results()).toHaveLength(1);
    expect(results()[0].is_final).toBe(false);
    expect(results()[0].channel.alternatives[0].transcript).toBe("first second");
    stream.pendingOnFlush = hyp([["second", 3.0, 3.5], ["part", 3.5, 3.9]]);
    await channel.flush("close");
    const finals = results().filter((r) => r.is_final);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ speech_final: true, from_finalize: false });
    expect(finals[0].channel.alternatives[0].transcript).toBe("first second part");
  });

  it("Finalize answers with one from_finalize final, empty when nothing was pending", async () => {
    const { stream, channel, advance, results } = setup({});
    advance(1);
    await channel.flush("finalize");
    expect(results()).toHaveLength(1);
    expect(results()[0]).toMatchObject({ is_final: true, from_finalize: true, speech_final: false, start: 0, duration: 1 });
    expect(results()[0].channel.alternatives[0].transcript).toBe("");
    advance(2.5);
    stream.pendingOnFlush = hyp([["flushed", 1.5, 2.2]]);
    await channel.flush("finalize");
    expect(results()[1]).toMatchObject({ from_finalize: true, start: 1 });
    expect(results()[1].channel.alternatives[0].transcript).toBe("flushed");
    // CloseStream with nothing pending sends no empty final.
    await channel.flush("close");
    expect(results()).toHaveLength(2);
  });

  it("UtteranceEnd comes once, utterance_end_ms after the last finalized word, not during speech", () => {
    const { stream, advance, sent } = setup({ utterance_end_ms: "1000" });
    advance(2.0);
    stream.emit("final", hyp([["hi", 1.0, 1.5]]), { reason: "endpoint" });
    advance(2.4);
    stream.emit("speechStarted", 2.3); // speech again before the gap is complete
    advance(2.6);
    expect(sent.filter((m) => m.type === "UtteranceEnd")).toHaveLength(0);
    stream.emit("final", hyp([["there", 2.4, 2.8]]), { reason: "endpoint" });
    advance(3.7);
    expect(sent.filter((m) => m.type === "UtteranceEnd")).toHaveLength(0);
    advance(3.8);
    advance(4.5);
    const ends = sent.filter((m) => m.type === "UtteranceEnd");
    expect(ends).toHaveLength(1);
    expect(validateUtteranceEnd(ends[0])).toBe(true);
    expect(ends[0]).toMatchObject({ channel: [0, 1], last_word_end: 2.8 });
  });

  it("after a flush, a due UtteranceEnd follows the flush's final (never precedes the words it ends)", async () => {
    for (const kind of ["finalize", "close"] as const) {
      const { stream, channel, advance, sent } = setup({ utterance_end_ms: "1000" });
      advance(3.0); // all audio received (faster than real time); the engine is still behind
      stream.pendingOnFlush = hyp([["late", 0.5, 1.0], ["words", 1.0, 1.4]]);
      await channel.flush(kind);
      expect(sent.map((m) => m.type), kind).toEqual(["Results", "UtteranceEnd"]);
      expect(sent[1]).toMatchObject({ type: "UtteranceEnd", last_word_end: 1.4 });
    }
  });

  it("CloseStream ends the stream with finish() where the engine has one, and sends the finals it emits", async () => {
    const { stream, channel, advance, sent, results } = setup({ utterance_end_ms: "1000" });
    let finished = false;
    const finishing = stream as FakeRecognizerStream & { finish(): Promise<void> };
    finishing.finish = async () => {
      // A remote engine's last finals arrive while it finishes (reason endpoint), then it is done.
      stream.emit("final", hyp([["remote", 0.2, 0.7]]), { reason: "endpoint" });
      finished = true;
    };
    stream.flush = async () => {
      throw new Error("flush() must not be used to end a stream that has finish()");
    };
    advance(2.5);
    await channel.flush("close");
    expect(finished).toBe(true);
    expect(results().map((r) => r.channel.alternatives[0].transcript)).toEqual(["remote"]);
    expect(sent.map((m) => m.type)).toEqual(["Results", "UtteranceEnd"]);
  });

  it("punctuate, diarize and vad_events shape the messages", () => {
    const { stream, advance, sent, results } = setup({ punctuate: "true", diarize: "true", vad_events: "true" });
    stream.emit("speechStarted", 0.3);
    advance(2);
    stream.emit("final", hyp([["i", 0.4, 0.5], ["think", 0.5, 0.9], ["so", 0.9, 1.2]]), { reason: "endpoint" });
    expect(sent[0]).toEqual({ type: "SpeechStarted", channel: [0, 1], timestamp: 0.3 });
    const r = results()[0];
    expect(r.channel.alternatives[0].transcript).toBe("I think so.");
    expect(r.channel.alternatives[0].words.map((w) => w.punctuated_word)).toEqual(["I", "think", "so."]);
    expect(r.channel.alternatives[0].words.every((w) => w.speaker === 0)).toBe(true);
  });
});
