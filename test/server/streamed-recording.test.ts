/**
 * Recordings transcribed chunk by chunk (issue 7 item 8: memory that does not grow with the
 * duration) give what the whole-buffer path gave: real PocketSphinx on real corpus recordings,
 * `transcribeChunked` over `openForEngine` (what POST /v1/listen and the pipeline now run) against
 * `engine.transcribe` on `decodeForEngine`'s whole buffer (what they ran before), words, times and
 * confidences equal. Plus the backpressure of `streamedRecording` on a stream that decodes slowly,
 * and that decoding leaves the caller's bytes as they were (a Buffer body was rewritten before).
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { decodeForEngine, openForEngine, type DecodeForEngineOptions } from "../../src/server/speech/audio/engine-audio";
import type { RecognizerStream } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx";
import { streamedRecording, transcribeChunked } from "../../src/server/speech/engines/recording";

const CORPUS = corpusDir();
const FILES = [
  `${CORPUS}/read_en/other/jfk.flac`, // stereo 44.1 kHz FLAC: resampled, chunks of a few FLAC frames
  `${CORPUS}/read_en/librispeech/1272-128104-0000.wav`, // 16 kHz WAV
  `${CORPUS}/calls_conversational/faster_whisper/stereo_diarization.wav`,
  `${CORPUS}/telephony_8k/asterisk_en/agent-pass.wav`, // 8 kHz telephony
];

let engine: PocketSphinxEngine;
beforeAll(async () => {
  engine = createPocketSphinxEngine({ poolSize: 1 });
  await engine.ready();
}, 120_000);
afterAll(async () => {
  await engine?.close();
});

describe("chunked transcription equals whole-buffer transcription (real PocketSphinx)", () => {
  for (const file of FILES) {
    for (const channels of ["downmix", "separate"] as const) {
      it(`${file.slice(CORPUS.length + 1)} (${channels})`, async () => {
        const bytes = readFileSync(file);
        const options: DecodeForEngineOptions = { channels, accept: "file", maxSeconds: 600 };
        const whole = await decodeForEngine(bytes, options);
        const before = await Promise.all(whole.channels.map((pcm) => engine.transcribe(pcm)));
        const chunked = await openForEngine(bytes, options);
        expect(chunked.outputs).toBe(whole.channels.length);
        expect(chunked.duration).toBe(whole.duration);
        expect(chunked.identicalChannels).toBe(whole.identicalChannels);
        const after = await transcribeChunked(engine, chunked.decode, chunked.outputs);
        expect(before.flat().length).toBeGreaterThan(0);
        expect(after).toEqual(before);
      }, 120_000);
    }
  }
});

/** A fake stream (named so) that "decodes" `samplesPerTick` of its queue every 5 ms and records the queue after each write. */
class FakeSlowStream extends EventEmitter implements RecognizerStream {
  queued = 0;
  writes: number[] = [];
  peakQueued = 0;
  private timer = setInterval(() => (this.queued = Math.max(0, this.queued - 8000)), 5);
  get queuedSeconds(): number {
    return this.queued / 16_000;
  }
  write(pcm: Int16Array): void {
    this.queued += pcm.length;
    this.writes.push(pcm.length);
    this.peakQueued = Math.max(this.peakQueued, this.queued);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}

describe("streamedRecording", () => {
  it("waits while the engine has more than maxQueuedSeconds queued, and writes whole blocks", async () => {
    const stream = new FakeSlowStream();
    const recording = streamedRecording(stream, { maxQueuedSeconds: 3, blockSamples: 32_000 });
    // 60 s of audio in odd-sized chunks, as a decoder hands them on.
    for (let sent = 0; sent < 60 * 16_000; sent += 12_345) await recording.write(new Int16Array(Math.min(12_345, 60 * 16_000 - sent)));
    await recording.finish();
    expect(stream.writes.reduce((a, b) => a + b, 0)).toBe(60 * 16_000);
    expect(stream.writes.slice(0, -1).every((n) => n === 32_000)).toBe(true);
    // Never more than the bound plus one block ahead of the engine.
    expect(stream.peakQueued).toBeLessThanOrEqual(3 * 16_000 + 32_000);
  });

  it("rejects the writer when the stream fails", async () => {
    const stream = new FakeSlowStream();
    const recording = streamedRecording(stream, { blockSamples: 1600 });
    stream.emit("error", new Error("decoder crashed"));
    await expect(recording.write(new Int16Array(3200))).rejects.toThrow("decoder crashed");
    await recording.close();
  });
});

describe("decoding leaves the caller's bytes alone", () => {
  it("a WAV body in a Buffer decodes twice to the same audio and is unchanged", async () => {
    const body = readFileSync(FILES[1]);
    const copy = Buffer.from(body);
    const options: DecodeForEngineOptions = { channels: "downmix", accept: "body", maxSeconds: 600 };
    const first = await decodeForEngine(body, options);
    expect(body.equals(copy)).toBe(true);
    const second = await decodeForEngine(body, options);
    expect(second.channels[0]).toEqual(first.channels[0]);
  });
});
