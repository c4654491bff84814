/**
 * Decode stage on a real corpus recording (LibriSpeech 1272-128104-0000, 5.855 s, 16 kHz mono)
 * re-encoded at test time as WAV, μ-law WAV, A-law WAV, MP3, FLAC and Ogg Opus, downloaded from
 * the local recordings server; plus stereo, 8 kHz telephony μ-law, and corrupt input.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRecording, sniffContainer } from "../../src/server/pipeline/stages/decode";
import { downloadRecording } from "../../src/server/pipeline/stages/download";
import { StageError } from "../../src/server/pipeline/stages/errors";
import { int16ToFloat32 } from "../../src/server/speech/audio/pcm";
import { encodeMp3, encodeWavG711, encodeWavPcm16, type PcmAudio } from "../support/audio-encoders";
import { addEncodings, corpusDir, loadCorpusWav, startRecordingsServer, type Encoding, type RecordingsServer } from "../support/recordings-server";

const SOURCE = "read_en/librispeech/1272-128104-0000.wav";
const SOURCE_SECONDS = 5.855; // manifest duration_s

let server: RecordingsServer;
let work: string;
let source: PcmAudio;
let files: Record<Encoding, string>;

beforeAll(async () => {
  server = await startRecordingsServer();
  work = await mkdtemp(join(tmpdir(), "callscribe-decode-"));
  source = await loadCorpusWav(join(corpusDir(), SOURCE));
  files = await addEncodings(server, "librispeech-1272", source);
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function fetchBytes(name: string): Promise<Uint8Array> {
  const { path } = await downloadRecording(server.fileUrl(name), join(work, name), { allowedHosts: [server.host], maxBytes: 20e6, timeoutMs: 10_000 });
  return new Uint8Array(await readFile(path));
}

/** Pearson correlation of two equal-rate signals over their common length (after an offset). */
function correlation(a: Float32Array, b: Float32Array, offset = 0): number {
  const n = Math.min(a.length, b.length - offset);
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i], y = b[i + offset];
    sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y;
  }
  return (n * sab - sa * sb) / Math.sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

describe("decodeRecording", () => {
  const expected: Record<Encoding, { format: string; rate: number; tolerance: number; minCorrelation?: number }> = {
    wav: { format: "wav/pcm", rate: 16000, tolerance: 0.001, minCorrelation: 0.9999 },
    mulaw: { format: "wav/mulaw", rate: 16000, tolerance: 0.001, minCorrelation: 0.99 },
    alaw: { format: "wav/alaw", rate: 16000, tolerance: 0.001, minCorrelation: 0.99 },
    flac: { format: "flac", rate: 16000, tolerance: 0.001, minCorrelation: 0.9999 },
    // Lossy codecs add encoder delay/padding (LAME: up to a frame of 1152 samples; Opus: 20 ms frames).
    mp3: { format: "mp3", rate: 16000, tolerance: 0.15 },
    ogg: { format: "ogg/opus", rate: 48000, tolerance: 0.25 },
  };

  for (const encoding of Object.keys(expected) as Encoding[]) {
    it(`decodes ${encoding} served over HTTP, mono, with the recording's duration, to the engine's 16 kHz PCM16`, async () => {
      const want = expected[encoding];
      const audio = await decodeRecording(await fetchBytes(files[encoding]));
      expect(audio.format).toBe(want.format);
      expect(audio.sourceSampleRate).toBe(want.rate);
      expect(audio.channels).toHaveLength(1);
      expect(audio.warnings).toEqual([]);
      expect(Math.abs(audio.duration - SOURCE_SECONDS)).toBeLessThanOrEqual(want.tolerance);
      expect(Math.abs(audio.channels[0].length - audio.duration * 16000)).toBeLessThanOrEqual(1);
      const samples = int16ToFloat32(audio.channels[0]);
      const peak = samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(peak).toBeGreaterThan(0.05);
      expect(peak).toBeLessThanOrEqual(1.0001);
      if (want.minCorrelation) expect(correlation(source.channels[0], samples)).toBeGreaterThan(want.minCorrelation);
    });
  }

  it("keeps stereo channels separate (WAV and MP3)", async () => {
    // Left: the recording; right: the same recording delayed by 1 s and at half level.
    const rate = source.sampleRate;
    const right = new Float32Array(source.channels[0].length);
    right.set(source.channels[0].subarray(0, right.length - rate).map((x) => x * 0.5), rate);
    const stereo = { sampleRate: rate, channels: [source.channels[0], right] };
    for (const bytes of [encodeWavPcm16(stereo), encodeMp3(stereo, 128)]) {
      const audio = await decodeRecording(bytes);
      expect(audio.channels).toHaveLength(2);
      expect(audio.identicalChannels).toBe(false);
      const [l, r] = audio.channels.map(int16ToFloat32);
      // Decoded left matches the source left, and the right is the delayed copy, not a mix.
      const lag = bytes[0] === 0x52 ? 0 : findLag(source.channels[0], l);
      expect(correlation(source.channels[0], l, lag)).toBeGreaterThan(0.9);
      expect(correlation(source.channels[0], r, lag + rate)).toBeGreaterThan(0.9);
      expect(correlation(l, r)).toBeLessThan(0.5);
    }
  });

  it("decodes 8 kHz telephony μ-law", async () => {
    const tel = await loadCorpusWav(join(corpusDir(), SOURCE), 8000);
    const audio = await decodeRecording(encodeWavG711(tel, "mulaw"));
    expect([audio.format, audio.sourceSampleRate, audio.channels.length]).toEqual(["wav/mulaw", 8000, 1]);
    expect(Math.abs(audio.duration - SOURCE_SECONDS)).toBeLessThan(0.01);
  });

  it("refuses empty, unknown, truncated and corrupt audio as permanent errors", async () => {
    const wav = await fetchBytes(files.wav);
    const flac = await fetchBytes(files.flac);
    const mp3 = await fetchBytes(files.mp3);
    const ogg = await fetchBytes(files.ogg);
    const random = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    const cases: [string, Uint8Array, RegExp][] = [
      ["empty", new Uint8Array(0), /empty/],
      ["text", new TextEncoder().encode("<html>Access denied</html>"), /unrecognised audio format/],
      ["random bytes", random, /unrecognised audio format/],
      ["WAV header only", wav.subarray(0, 44), /WAV|no audio samples/],
      ["FLAC with its frames zeroed", Uint8Array.from(flac).fill(0, 200), /FLAC/],
      ["MP3 sync then garbage", Uint8Array.from([...mp3.subarray(0, 4), ...random]), /MP3|mp3/],
      ["Ogg Opus header only", ogg.subarray(0, 80), /Ogg Opus|opus/i],
      ["Ogg Vorbis", Uint8Array.from([...new TextEncoder().encode("OggS"), 0, 2, ...new Uint8Array(20), 1, 30, 1, ...new TextEncoder().encode("vorbis")]), /Ogg vorbis audio is not supported/],
    ];
    for (const [name, bytes, message] of cases) {
      const err = await decodeRecording(bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(StageError);
      expect((err as StageError).retryable, name).toBe(false);
      expect((err as StageError).stage, name).toBe("decode");
      expect((err as StageError).message, name).toMatch(message);
    }
  });

  it("still decodes an MP3 with a few damaged frames (mpg123 resynchronises)", async () => {
    const damaged = Uint8Array.from(await fetchBytes(files.mp3)).fill(7, 2000, 2400);
    const audio = await decodeRecording(damaged);
    expect(audio.format).toBe("mp3");
    expect(Math.abs(audio.duration - SOURCE_SECONDS)).toBeLessThan(0.5);
  });

  it("sniffs containers by magic bytes, not by name", async () => {
    expect(sniffContainer(await fetchBytes(files.mp3))).toBe("mp3");
    expect(sniffContainer(await fetchBytes(files.ogg))).toBe("ogg");
    expect(sniffContainer(await fetchBytes(files.flac))).toBe("flac");
    expect(sniffContainer(await fetchBytes(files.alaw))).toBe("wav");
  });
});

/** Lag (samples, 0–2000) at which `decoded` best matches `ref`: MP3 encoders add a start delay. */
function findLag(ref: Float32Array, decoded: Float32Array): number {
  let best = 0;
  let bestR = -Infinity;
  const a = ref.subarray(0, 16000);
  for (let lag = 0; lag <= 2000; lag++) {
    const r = correlation(a, decoded, lag);
    if (r > bestR) [best, bestR] = [lag, r];
  }
  return best;
}
