/**
 * The demo PBX's call audio (`telephony/demo-pbx/call-audio.ts`) on the real corpus: two real mono
 * recordings per party (LJ Speech = agent, LibriSpeech = customer), resampled to 8 kHz, μ-law,
 * alternating turns, interleaved in AudioHook's channel order (external = customer first,
 * internal = agent); and the μ-law compressor it uses (`speech/audio/g711.ts`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { decodeMulaw, encodeMulaw } from "../../src/server/speech/audio/g711";
import { isoDuration } from "../../src/server/telephony/demo-pbx/audiohook-client";
import {
  buildDemoCallAudio,
  DEFAULT_DEMO_TURNS,
  DemoAudioUnavailableError,
  PCMU_SILENCE,
  reorderChannels,
  type DemoCallAudio,
} from "../../src/server/telephony/demo-pbx/call-audio";

/** RMS of one channel (0 external, 1 internal) of interleaved PCMU between two times, PCM16 units. */
function rms(audio: DemoCallAudio, channel: 0 | 1, fromS: number, toS: number): number {
  const from = Math.round(fromS * 8000);
  const to = Math.round(toS * 8000);
  const codes = new Uint8Array(to - from);
  for (let i = from; i < to; i++) codes[i - from] = audio.bytes[i * 2 + channel]!;
  const pcm = decodeMulaw(codes);
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe("μ-law compression", () => {
  it("maps 0 to 0xFF (G.711 silence) and every PCM16 value back within its quantisation step", () => {
    expect(encodeMulaw(new Int16Array([0]))[0]).toBe(0xff);
    expect(PCMU_SILENCE).toBe(0xff);
    const all = new Int16Array(65_536).map((_, i) => i - 32_768);
    const back = decodeMulaw(encodeMulaw(all));
    for (let i = 0; i < all.length; i += 97) {
      const v = all[i]!;
      // G.711 μ-law steps grow with the magnitude: 2 at zero to 1024 (×4 in PCM16 scale) at the top.
      const step = Math.max(8, Math.abs(v) / 16);
      expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(step);
    }
    // Monotonic: louder input never decodes quieter.
    for (let i = 1; i < all.length; i += 13) expect(back[i]!).toBeGreaterThanOrEqual(back[i - 1]!);
  });
});

describe("the demo call built from the corpus", () => {
  let audio: DemoCallAudio;
  beforeAll(async () => {
    audio = await buildDemoCallAudio({ corpusRoot: corpusDir() });
  }, 60_000);

  it("alternates agent and customer turns, each a real clip at 8 kHz, with pauses between them", () => {
    expect(audio.sampleRate).toBe(8000);
    expect(audio.channels).toEqual(["external", "internal"]);
    expect(audio.turns.map((t) => t.party)).toEqual(["agent", "customer", "agent", "customer"]);
    expect(audio.turns.map((t) => t.file)).toEqual(DEFAULT_DEMO_TURNS.map((t) => t.file));
    // Clip lengths from the manifest (duration_s): 9.945, 11.66, 5.266, 5.855 s.
    const lengths = audio.turns.map((t) => t.endS - t.startS);
    [9.945, 11.66, 5.266, 5.855].forEach((d, i) => expect(lengths[i]).toBeCloseTo(d, 1));
    for (let i = 1; i < audio.turns.length; i++) expect(audio.turns[i]!.startS - audio.turns[i - 1]!.endS).toBeCloseTo(0.8, 3);
    expect(audio.turns[0]!.startS).toBeCloseTo(0.5, 3);
    expect(audio.durationS).toBeCloseTo(audio.turns.at(-1)!.endS + 1.5, 3);
    expect(audio.bytes.length).toBe(Math.round(audio.durationS * 8000) * 2);
    expect(audio.turns[1]!.reference).toMatch(/^IF THE READER WILL EXCUSE ME/);
  });

  it("puts each party on its own channel: speech there during its turns, G.711 silence on the other", () => {
    for (const t of audio.turns) {
      const own = t.party === "customer" ? 0 : 1;
      const other = own === 0 ? 1 : 0;
      expect(rms(audio, own, t.startS, t.endS)).toBeGreaterThan(300);
      expect(rms(audio, other, t.startS, t.endS)).toBe(0);
    }
    // Between turns and before the first, both channels are silent.
    expect(rms(audio, 0, 0, audio.turns[0]!.startS)).toBe(0);
    expect(rms(audio, 1, 0, audio.turns[0]!.startS)).toBe(0);
    expect(rms(audio, 1, audio.turns[0]!.endS + 0.05, audio.turns[1]!.startS - 0.05)).toBe(0);
  });

  it("reorders the interleaving for another selected channel order, or one channel", () => {
    const swapped = reorderChannels(audio, ["internal", "external"]);
    for (let f = 0; f < audio.bytes.length / 2; f += 101) {
      expect(swapped[f * 2]).toBe(audio.bytes[f * 2 + 1]);
      expect(swapped[f * 2 + 1]).toBe(audio.bytes[f * 2]);
    }
    const agentOnly = reorderChannels(audio, ["internal"]);
    expect(agentOnly.length).toBe(audio.bytes.length / 2);
    expect(agentOnly[Math.round(audio.turns[0]!.startS * 8000) + 4000]).toBe(audio.bytes[(Math.round(audio.turns[0]!.startS * 8000) + 4000) * 2 + 1]);
    expect(reorderChannels(audio, ["external", "internal"])).toBe(audio.bytes);
    expect(() => reorderChannels(audio, ["external", "mixed"])).toThrow(/channel mixed is not one/);
  });
});

describe("without a corpus", () => {
  const empty = mkdtempSync(join(tmpdir(), "callscribe-no-corpus-"));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it("says there is no demo audio, naming the folder and the variable", async () => {
    const err = await buildDemoCallAudio({ corpusRoot: empty }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemoAudioUnavailableError);
    expect((err as Error).message).toContain(empty);
    expect((err as Error).message).toContain("CALLSCRIBE_CORPUS_DIR");
  });

  it("names a clip the manifest does not have", async () => {
    const err = await buildDemoCallAudio({ corpusRoot: corpusDir(), turns: [{ party: "agent", set: "read_en", file: "ljspeech/nope.wav" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemoAudioUnavailableError);
    expect((err as Error).message).toBe("the corpus set read_en has no clip ljspeech/nope.wav");
  });
});

describe("AudioHook positions", () => {
  it("are ISO 8601 durations in seconds", () => {
    expect(isoDuration(0)).toBe("PT0S");
    expect(isoDuration(1.25)).toBe("PT1.25S");
    expect(isoDuration(0.1 + 0.2)).toBe("PT0.3S");
    expect(isoDuration(-1)).toBe("PT0S");
  });
});
