/**
 * The worklet's capture pipeline in Node, with the real libsamplerate converter: rate, length,
 * alias rejection, time alignment, buffering before the converter is ready, and real speech
 * taken through the same path as Chromium's fake microphone (44.1 kHz stereo).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CaptureCore, downmixToMono, expectedOutputLength } from "../../src/transcriber/audio/capture-core";
import { loadManifest } from "../../src/eval/corpus";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { createConverter } from "./libsamplerate-node";

const QUANTUM = 128; // Web Audio render quantum, frames

function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
}

/** Feed mono or stereo audio in render quanta, flush, and join every frame. */
async function capture(channels: Float32Array[], inputRate: number): Promise<{ pcm: Int16Array; frames: Int16Array[] }> {
  const core = new CaptureCore({ inputRate, createConverter });
  await core.whenReady();
  const frames: Int16Array[] = [];
  for (let at = 0; at < channels[0]!.length; at += QUANTUM) {
    frames.push(...core.process(channels.map((c) => c.subarray(at, Math.min(c.length, at + QUANTUM)))));
  }
  frames.push(...(await core.flush()));
  const pcm = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    pcm.set(f, at);
    at += f.length;
  }
  return { pcm, frames };
}

const rms = (x: ArrayLike<number>, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, to - from));
};

function correlation(a: ArrayLike<number>, b: ArrayLike<number>, lag = 0): number {
  const n = Math.min(a.length, b.length - lag);
  let ab = 0, aa = 0, bb = 0;
  for (let i = Math.max(0, -lag); i < n; i++) {
    const x = a[i]!, y = b[i + lag]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

describe("downmixToMono", () => {
  it("averages channels sample by sample", () => {
    const mono = downmixToMono([Float32Array.from([1, 0.5, -1]), Float32Array.from([0, 0.5, 1])]);
    expect(Array.from(mono)).toEqual([0.5, 0.5, 0]);
    expect(downmixToMono([])).toHaveLength(0);
  });
});

describe("CaptureCore", () => {
  it("turns 1 s of 44.1 kHz stereo into exactly 16000 samples in 100 ms frames", async () => {
    const left = tone(440, 44100, 1);
    const { pcm, frames } = await capture([left, left], 44100);
    expect(pcm.length).toBe(16000);
    expect(frames.slice(0, -1).every((f) => f.length === 1600)).toBe(true);
  });

  it("keeps a 1 kHz tone in time and amplitude (no delay added)", async () => {
    const rate = 48000;
    const { pcm } = await capture([tone(1000, rate, 1)], rate);
    const expected = tone(1000, 16000, 1, 0.5 * 32767);
    // Skip the first and last 20 ms (filter start-up and the padded tail).
    const body = (x: ArrayLike<number>) => Array.from(x).slice(320, 16000 - 320);
    expect(correlation(body(pcm), body(expected))).toBeGreaterThan(0.999);
    expect(rms(body(pcm)) / rms(body(expected))).toBeCloseTo(1, 1);
  });

  it("removes content above the 8 kHz Nyquist instead of aliasing it", async () => {
    // A 12 kHz tone would fold to 4 kHz at full level with plain decimation.
    const { pcm } = await capture([tone(12000, 44100, 1)], 44100);
    const level = rms(pcm, 800, 15200) / 32767;
    expect(level).toBeLessThan(0.5 * 0.01); // > 40 dB below the 0.35 RMS input
  });

  it("converts audio that arrives before the converter is ready", async () => {
    const core = new CaptureCore({ inputRate: 44100, createConverter });
    const input = tone(300, 44100, 0.5);
    const early: Int16Array[] = [];
    for (let at = 0; at < input.length; at += QUANTUM) early.push(...core.process([input.subarray(at, at + QUANTUM)]));
    const rest = await core.flush();
    const total = [...early, ...rest].reduce((n, f) => n + f.length, 0);
    expect(total).toBe(expectedOutputLength(input.length, 44100, 16000));
    expect(core.error).toBeUndefined();
  });

  it("passes 16 kHz input through unchanged", async () => {
    const input = Float32Array.from({ length: 3200 }, (_, i) => ((i % 200) - 100) / 200);
    const { pcm } = await capture([input], 16000);
    expect(pcm.length).toBe(3200);
    expect(pcm[150]).toBe(Math.round(input[150]! * 32768));
  });

  it("reports a converter that cannot start instead of throwing in the audio thread", async () => {
    const core = new CaptureCore({ inputRate: 44100, createConverter: () => Promise.reject(new Error("no wasm")) });
    await core.whenReady();
    expect(core.error?.message).toMatch(/resampler failed to start: no wasm/);
    expect(core.process([tone(100, 44100, 0.01)])).toEqual([]);
  });

  it("recovers real speech played as Chromium's fake microphone does (16 kHz → 44.1 kHz stereo → capture)", async () => {
    const entry = loadManifest("read_en").find((e) => e.sampleRate === 16000 && e.file.endsWith(".wav"));
    expect(entry, "a 16 kHz WAV in read_en").toBeDefined();
    const original = decodeWav(readFileSync(entry!.path));
    const speech = original.channels[0]!;
    // What Chromium's fake device delivers: the file at 44.1 kHz on two channels.
    const up = await createConverter(1, 16000, 44100, { converterType: 0 });
    const device = (up as unknown as { simple(x: Float32Array): Float32Array }).simple(speech);
    up.destroy();
    const { pcm } = await capture([device, device], 44100);
    expect(Math.abs(pcm.length - speech.length)).toBeLessThanOrEqual(2);
    const back = Array.from(pcm, (s) => s / 32768);
    // Best alignment within ±3 samples, and it must be (near) zero lag.
    const scores = [-3, -2, -1, 0, 1, 2, 3].map((lag) => ({ lag, r: correlation(speech, back, lag) }));
    const best = scores.reduce((a, b) => (b.r > a.r ? b : a));
    expect(Math.abs(best.lag)).toBeLessThanOrEqual(1);
    expect(best.r).toBeGreaterThan(0.99);
  });
});
