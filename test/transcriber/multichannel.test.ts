/**
 * Two capture channels kept apart (`multichannel.ts`), as the worklet runs them for a browser
 * tab with the microphone: with the real libsamplerate converter, each channel of the interleaved
 * output equals what the single-channel capture path makes of that channel alone, in lockstep,
 * even when one channel's resampler is ready later than the other's.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CaptureCore, expectedOutputLength, type CreateConverter } from "../../src/transcriber/audio/capture-core";
import { MultiChannelCapture, deinterleave, interleave } from "../../src/transcriber/audio/multichannel";
import { loadManifest } from "../../src/eval/corpus";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { createConverter } from "./libsamplerate-node";

const QUANTUM = 128;
const RATE = 48_000;

function tone(freq: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(RATE * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / RATE));
}

function join(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) out.set(f, at), (at += f.length);
  return out;
}

/** Run blocks of render quanta through `core.process`, then flush. */
async function run(core: { process(c: Float32Array[]): Int16Array[]; flush(): Promise<Int16Array[]> }, channels: Float32Array[]): Promise<Int16Array[]> {
  const frames: Int16Array[] = [];
  for (let at = 0; at < channels[0]!.length; at += QUANTUM) frames.push(...core.process(channels.map((c) => c.subarray(at, Math.min(c.length, at + QUANTUM)))));
  frames.push(...(await core.flush()));
  return frames;
}

async function mono(channel: Float32Array): Promise<Int16Array> {
  const core = new CaptureCore({ inputRate: RATE, createConverter });
  await core.whenReady();
  return join(await run(core, [channel]));
}

describe("interleave / deinterleave", () => {
  it("round-trips and refuses unequal channels", () => {
    const a = Int16Array.from([1, 2, 3]);
    const b = Int16Array.from([-1, -2, -3]);
    expect(Array.from(interleave([a, b]))).toEqual([1, -1, 2, -2, 3, -3]);
    expect(deinterleave(interleave([a, b]), 2).map((c) => Array.from(c))).toEqual([[1, 2, 3], [-1, -2, -3]]);
    expect(() => interleave([a, Int16Array.from([1])])).toThrow(RangeError);
  });
});

describe("MultiChannelCapture", () => {
  it("keeps a tab's speech and the microphone's tone on their own channels, each as the mono path makes it", async () => {
    const clip = loadManifest("read_en").find((e) => e.file === "librispeech/1272-128104-0000.wav")!;
    const speech16k = decodeWav(readFileSync(clip.path)).channels[0]!.subarray(0, 16000 * 3);
    // The tab plays real speech at 48 kHz (sample-and-hold ×3 is enough here: both paths get the same input).
    const tab = Float32Array.from({ length: speech16k.length * 3 }, (_, i) => speech16k[Math.floor(i / 3)]!);
    const mic = tone(300, tab.length / RATE, 0.3);
    const capture = new MultiChannelCapture({ channels: 2, inputRate: RATE, createConverter });
    await capture.whenReady();
    const frames = await run(capture, [tab, mic]);
    // Every frame but the last holds 100 ms of both channels.
    expect(frames.slice(0, -1).every((f) => f.length === 3200)).toBe(true);
    const [ch0, ch1] = deinterleave(join(frames), 2);
    const want = expectedOutputLength(tab.length, RATE, 16000);
    expect(ch0!.length).toBe(want);
    expect(Array.from(ch0!)).toEqual(Array.from(await mono(tab)));
    expect(Array.from(ch1!)).toEqual(Array.from(await mono(mic)));
    expect(capture.secondsOut).toBeCloseTo(want / 16000, 3);
  });

  it("stays in lockstep when one channel's resampler starts later, and a missing channel is silence", async () => {
    let made = 0;
    const slowSecond: CreateConverter = async (...args) => {
      const n = made++;
      if (n === 1) await new Promise((r) => setTimeout(r, 100));
      return createConverter(...args);
    };
    const a = tone(440, 1);
    const capture = new MultiChannelCapture({ channels: 2, inputRate: RATE, createConverter: slowSecond });
    const early = capture.process([a.subarray(0, QUANTUM * 40)]); // before either converter is ready: buffered
    expect(early).toEqual([]);
    await new Promise((r) => setTimeout(r, 20)); // the first is ready, the second not yet
    const frames = [...capture.process([a.subarray(QUANTUM * 40, QUANTUM * 200)])];
    await capture.whenReady();
    frames.push(...(await run(capture, [a.subarray(QUANTUM * 200)])));
    const [ch0, ch1] = deinterleave(join(frames), 2);
    expect(ch0!.length).toBe(expectedOutputLength(a.length, RATE, 16000));
    expect(ch1!.length).toBe(ch0!.length);
    expect(Array.from(ch0!)).toEqual(Array.from(await mono(a)));
    expect(ch1!.every((s) => s === 0)).toBe(true);
  });

  it("refuses a channel count out of range", () => {
    expect(() => new MultiChannelCapture({ channels: 0, inputRate: RATE, createConverter })).toThrow(/channels must be 1–8/);
    expect(() => new MultiChannelCapture({ channels: 9, inputRate: RATE, createConverter })).toThrow(/channels must be 1–8/);
  });
});
