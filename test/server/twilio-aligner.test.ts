/**
 * The Twilio track aligner (`telephony/twilio/aligner.ts`): per-track 20 ms chunks placed by
 * timestamp and interleaved into stereo μ-law (channel 0 = outbound/agent, 1 = inbound/customer).
 * Chunks are filled with distinct byte values so every output byte can be traced to its chunk.
 */
import { describe, expect, it } from "vitest";
import { AlignerError, MULAW_SILENCE, TrackAligner } from "../../src/server/telephony/twilio/aligner";

const CHUNK = 160; // 20 ms at 8 kHz
const fill = (v: number, n = CHUNK) => new Uint8Array(n).fill(v);

/** Split interleaved stereo into its two channels. */
function split(stereo: Uint8Array): [number[], number[]] {
  const a: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < stereo.length; i += 2) {
    a.push(stereo[i]!);
    c.push(stereo[i + 1]!);
  }
  return [a, c];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** Runs of equal values: [[value, count], …]. */
function runs(xs: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const x of xs) {
    const last = out[out.length - 1];
    if (last && last[0] === x) last[1]++;
    else out.push([x, 1]);
  }
  return out;
}

describe("TrackAligner", () => {
  it("interleaves both tracks chunk by chunk: outbound on channel 0, inbound on channel 1, emitted once both cover", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"] });
    expect(al.push("outbound", 0, fill(10)).length).toBe(0); // inbound not yet there
    const first = al.push("inbound", 0, fill(20));
    expect(first.length).toBe(2 * CHUNK);
    const [a, c] = split(first);
    expect(new Set(a)).toEqual(new Set([10]));
    expect(new Set(c)).toEqual(new Set([20]));
    const out = [first];
    for (let k = 1; k < 50; k++) {
      out.push(al.push("outbound", k * 20, fill(10 + (k % 5))));
      out.push(al.push("inbound", k * 20, fill(20 + (k % 5))));
    }
    out.push(al.flush());
    const [aa, cc] = split(concat(out));
    expect(aa.length).toBe(50 * CHUNK);
    expect(aa.every((v, i) => v === 10 + (Math.floor(i / CHUNK) % 5))).toBe(true);
    expect(cc.every((v, i) => v === 20 + (Math.floor(i / CHUNK) % 5))).toBe(true);
    expect(al.stats.paddedSamples).toBe(0);
    expect(al.stats.lateSamples).toBe(0);
  });

  it("snaps jittery whole-millisecond timestamps onto the track's end (no 1-sample gaps or overlaps)", () => {
    const al = new TrackAligner({ tracks: ["inbound"], leadMs: 0 });
    const out: Uint8Array[] = [];
    const stamps = [0, 21, 39, 61, 80, 99];
    stamps.forEach((ts, k) => out.push(al.push("inbound", ts, fill(k + 1))));
    out.push(al.flush());
    const [, c] = split(concat(out));
    expect(c.length).toBe(stamps.length * CHUNK);
    expect(runs(c)).toEqual(stamps.map((_, k) => [k + 1, CHUNK]));
  });

  it("pads a gap in one track with μ-law silence at its timestamp", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"] });
    const out: Uint8Array[] = [];
    // outbound skips 40..100 ms (3 chunks missing), inbound is continuous
    for (let ts = 0; ts < 200; ts += 20) {
      if (ts < 40 || ts >= 100) out.push(al.push("outbound", ts, fill(7)));
      out.push(al.push("inbound", ts, fill(9)));
    }
    out.push(al.flush());
    const [a, c] = split(concat(out));
    expect(a.length).toBe(10 * CHUNK);
    expect(runs(a)).toEqual([
      [7, 2 * CHUNK],
      [MULAW_SILENCE, 3 * CHUNK],
      [7, 5 * CHUNK],
    ]);
    expect(runs(c)).toEqual([[9, 10 * CHUNK]]);
    expect(al.stats.paddedSamples).toBe(3 * CHUNK);
  });

  it("a one-track stream (tracks: [inbound]) flows at once, with silence on the agent's channel", () => {
    const al = new TrackAligner({ tracks: ["inbound"] });
    const got = al.push("inbound", 0, fill(5));
    expect(got.length).toBe(2 * CHUNK);
    const [a, c] = split(got);
    expect(new Set(a)).toEqual(new Set([MULAW_SILENCE]));
    expect(new Set(c)).toEqual(new Set([5]));
  });

  it("a requested track that never comes is padded once the other runs more than leadMs ahead", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"], leadMs: 500 });
    let emitted = 0;
    for (let ts = 0; ts < 2000; ts += 20) emitted += al.push("inbound", ts, fill(3)).length / 2;
    // 2 s of inbound: everything but the last 500 ms is out, with silence on channel 0
    expect(emitted).toBe((2000 - 500) * 8);
    expect(al.bufferedSamples).toBe(500 * 8);
    const [a, c] = split(al.flush());
    expect(c.length).toBe(500 * 8);
    expect(new Set(a)).toEqual(new Set([MULAW_SILENCE]));
    expect(new Set(c)).toEqual(new Set([3]));
  });

  it("reorders chunks by timestamp: a chunk that arrives before its predecessor is placed after it", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"] });
    const out: Uint8Array[] = [];
    out.push(al.push("outbound", 0, fill(1)));
    out.push(al.push("outbound", 40, fill(3))); // chunk 3 before chunk 2
    out.push(al.push("outbound", 20, fill(2)));
    for (let ts = 0; ts <= 40; ts += 20) out.push(al.push("inbound", ts, fill(50)));
    out.push(al.flush());
    const [a] = split(concat(out));
    expect(runs(a)).toEqual([
      [1, CHUNK],
      [2, CHUNK],
      [3, CHUNK],
    ]);
    expect(al.stats.lateSamples).toBe(0);
  });

  it("drops (and counts) a chunk whose place was already emitted", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"], leadMs: 100 });
    for (let ts = 0; ts < 400; ts += 20) al.push("inbound", ts, fill(4));
    // outbound's first chunk arrives 400 ms late: its place went out as silence
    al.push("outbound", 0, fill(8));
    expect(al.stats.lateSamples).toBe(CHUNK);
  });

  it("bounds memory: a timestamp jumping past maxGapMs, or an oversized chunk, is refused", () => {
    const al = new TrackAligner({ tracks: ["inbound"], maxGapMs: 1000, maxChunkMs: 100 });
    al.push("inbound", 0, fill(1));
    expect(() => al.push("inbound", 5000, fill(1))).toThrow(AlignerError);
    expect(() => al.push("inbound", 20, fill(1, 801))).toThrow(/longer than 100 ms/);
    // within the bound: padded
    expect(al.push("inbound", 900, fill(2)).length / 2).toBeGreaterThan(0);
    expect(al.capacitySamples).toBeLessThanOrEqual((500 + 1000 + 100 + 10) * 8);
  });

  it("a long stream keeps at most leadMs buffered", () => {
    const al = new TrackAligner({ tracks: ["inbound", "outbound"], leadMs: 500 });
    let max = 0;
    for (let ts = 0; ts < 60_000; ts += 20) {
      al.push("inbound", ts, fill(1));
      if (ts % 1000 < 500) al.push("outbound", ts, fill(2)); // outbound drops out half of every second
      max = Math.max(max, al.bufferedSamples);
    }
    expect(max).toBeLessThanOrEqual(500 * 8 + CHUNK);
    expect(al.stats.emittedFrames + al.bufferedSamples).toBe(60_000 * 8);
  });
});
