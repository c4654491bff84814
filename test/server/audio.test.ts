/**
 * Audio decoding for the speech server: WAV in every sample format we accept, FLAC (corpus file),
 * raw linear16 / G.711, the streaming decoders, and resampling with libsamplerate.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { decodeAudioBody, toEngineChannels } from "../../src/server/speech/audio/decode";
import { decodeFlac } from "../../src/server/speech/audio/flac";
import { decodeAlaw, decodeMulaw } from "../../src/server/speech/audio/g711";
import { AudioDecodeError, float32ToInt16, int16ToFloat32 } from "../../src/server/speech/audio/pcm";
import { decodeRaw, RawStreamDecoder } from "../../src/server/speech/audio/raw";
import { resample, StreamResampler } from "../../src/server/speech/audio/resample";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { readWavStreamHeader } from "../../src/server/speech/audio/wav-stream";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop";

const CORPUS = corpusDir();

/** `n` samples of a sine of `freq` Hz at `rate` Hz, amplitude `amp`. */
function sine(n: number, freq: number, rate: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Frequency estimate from rising zero crossings. */
function frequency(x: Float32Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < x.length; i++) if (x[i - 1] < 0 && x[i] >= 0) crossings++;
  return (crossings * rate) / x.length;
}

/** A WAV file written by wavefile from float samples in the given bit depth code. */
function wavOf(samples: Float32Array[], rate: number, bitDepth: string): Uint8Array {
  const wav = new WaveFile();
  const toInt = (x: number, bits: number) => Math.round(x > 0 ? x * (2 ** (bits - 1) - 1) : x * 2 ** (bits - 1));
  const scaled = samples.map((ch) =>
    bitDepth === "32f" || bitDepth === "64" ? Array.from(ch)
    : bitDepth === "8" ? Array.from(ch, (x) => toInt(x, 8) + 128)
    : Array.from(ch, (x) => toInt(x, Number(bitDepth))),
  );
  wav.fromScratch(samples.length, rate, bitDepth, samples.length === 1 ? scaled[0] : scaled);
  return wav.toBuffer();
}

describe("WAV decoding (wavefile)", () => {
  const left = sine(800, 440, 8000, 0.5);
  const right = sine(800, 1000, 8000, 0.25);

  it.each([
    ["8", 1 / 64],
    ["16", 1e-4],
    ["24", 1e-6],
    ["32", 1e-6],
    ["32f", 1e-7],
    ["64", 1e-7],
  ])("PCM %s-bit stereo decodes to the original floats, channels kept apart", (bitDepth, tolerance) => {
    const decoded = decodeWav(wavOf([left, right], 8000, bitDepth));
    expect(decoded.sampleRate).toBe(8000);
    expect(decoded.channels).toHaveLength(2);
    expect(decoded.channels[0]).toHaveLength(800);
    expect(maxAbsDiff(decoded.channels[0], left)).toBeLessThanOrEqual(tolerance);
    expect(maxAbsDiff(decoded.channels[1], right)).toBeLessThanOrEqual(tolerance);
  });

  it("μ-law and A-law WAVs decode within G.711 quantization error", () => {
    for (const law of ["mulaw", "alaw"] as const) {
      const wav = new WaveFile();
      wav.fromScratch(1, 8000, "16", float32ToInt16(left));
      if (law === "mulaw") wav.toMuLaw();
      else wav.toALaw();
      const decoded = decodeWav(wav.toBuffer());
      // G.711 keeps ~13 bits near zero and ~6 % relative error at full scale.
      expect(maxAbsDiff(decoded.channels[0], left)).toBeLessThan(0.02);
    }
  });

  it("WAVE_FORMAT_EXTENSIBLE with 32-bit float samples decodes (hand-written header)", () => {
    const samples = sine(160, 440, 16000, 0.3);
    const header = new ArrayBuffer(68);
    const v = new DataView(header);
    const ascii = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
    ascii(0, "RIFF");
    v.setUint32(4, 60 + samples.byteLength, true);
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    v.setUint32(16, 40, true);
    v.setUint16(20, 0xfffe, true); // WAVE_FORMAT_EXTENSIBLE
    v.setUint16(22, 1, true); // channels
    v.setUint32(24, 16000, true);
    v.setUint32(28, 16000 * 4, true);
    v.setUint16(32, 4, true);
    v.setUint16(34, 32, true);
    v.setUint16(36, 22, true); // cbSize
    v.setUint16(38, 32, true); // valid bits
    v.setUint32(40, 4, true); // channel mask
    v.setUint16(44, 3, true); // subformat GUID starts with the format code: IEEE float
    [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71].forEach((b, i) => v.setUint8(46 + i, b));
    ascii(60, "data");
    v.setUint32(64, samples.byteLength, true);
    const bytes = new Uint8Array(68 + samples.byteLength);
    bytes.set(new Uint8Array(header), 0);
    bytes.set(new Uint8Array(samples.buffer), 68);
    const decoded = decodeWav(bytes);
    expect(decoded.sampleRate).toBe(16000);
    expect(maxAbsDiff(decoded.channels[0], samples)).toBeLessThan(1e-7);
  });

  it("refuses bytes that are not a WAV file with AudioDecodeError", () => {
    expect(() => decodeWav(new TextEncoder().encode("RIFF....WAVEnothing here"))).toThrow(AudioDecodeError);
  });
});

describe("FLAC decoding (@wasm-audio-decoders/flac)", () => {
  it("decodes the corpus JFK clip: stereo, 44.1 kHz, 24-bit, 11 s", async () => {
    const audio = await decodeFlac(readFileSync(`${CORPUS}/read_en/other/jfk.flac`));
    expect(audio.sampleRate).toBe(44100);
    expect(audio.channels).toHaveLength(2);
    expect(audio.channels[0].length).toBe(485100);
    const rms = Math.sqrt(audio.channels[0].reduce((a, x) => a + x * x, 0) / audio.channels[0].length);
    expect(rms).toBeGreaterThan(0.01);
    expect(rms).toBeLessThan(0.5);
  });

  it("refuses a truncated stream with AudioDecodeError", async () => {
    const bytes = readFileSync(`${CORPUS}/read_en/other/jfk.flac`).subarray(0, 30);
    await expect(decodeFlac(bytes)).rejects.toThrow(AudioDecodeError);
  });
});

describe("raw audio and G.711", () => {
  it("G.711 tables match ITU-T G.711 reference values", () => {
    expect(Array.from(decodeMulaw(new Uint8Array([0x00, 0x80, 0xff, 0x7f])))).toEqual([-32124, 32124, 0, 0]);
    expect(Array.from(decodeAlaw(new Uint8Array([0xd5, 0x55, 0x2a, 0xaa])))).toEqual([8, -8, -32256, 32256]);
  });

  it("decodes interleaved linear16 stereo into planar channels", () => {
    const pcm = new Int16Array([1000, -1000, 2000, -2000, 3000, -3000]);
    const audio = decodeRaw(new Uint8Array(pcm.buffer), "linear16", 8000, 2);
    expect(Array.from(float32ToInt16(audio.channels[0]))).toEqual([1000, 2000, 3000]);
    expect(Array.from(float32ToInt16(audio.channels[1]))).toEqual([-1000, -2000, -3000]);
  });

  it("the streaming decoder gives the same samples however the bytes are split", () => {
    const pcm = float32ToInt16(sine(999, 300, 8000));
    const bytes = new Uint8Array(pcm.buffer);
    const decoder = new RawStreamDecoder("linear16", 1);
    const parts: Int16Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) parts.push(decoder.push(bytes.subarray(i, i + 7))[0]);
    const joined = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(Array.from(joined)).toEqual(Array.from(pcm));
  });

  it("int16 ↔ float conversion round-trips exactly", () => {
    const pcm = new Int16Array([-32768, -1, 0, 1, 12345, 32767]);
    expect(Array.from(float32ToInt16(int16ToFloat32(pcm)))).toEqual(Array.from(pcm));
  });
});

describe("resampling (libsamplerate)", () => {
  it("44.1 kHz → 16 kHz keeps a 1 kHz tone at 1 kHz and the duration", async () => {
    const out = await resample(sine(44100, 1000, 44100), 44100, 16000);
    expect(Math.abs(out.length - 16000)).toBeLessThanOrEqual(2);
    expect(frequency(out, 16000)).toBeCloseTo(1000, -1);
  });

  it("removes a 7 kHz tone when going down to 8 kHz (anti-aliasing)", async () => {
    const out = await resample(sine(16000, 7000, 16000, 0.5), 16000, 8000);
    const rms = Math.sqrt(out.slice(200, -200).reduce((a, x) => a + x * x, 0) / (out.length - 400));
    expect(rms).toBeLessThan(0.01);
  });

  it("the streaming resampler carries filter state across chunks", async () => {
    const input = sine(8000, 440, 8000);
    const r = await StreamResampler.create(8000, 16000);
    const parts: Float32Array[] = [];
    for (let i = 0; i < input.length; i += 800) parts.push(r.process(input.subarray(i, i + 800)));
    r.close();
    const total = parts.reduce((n, p) => n + p.length, 0);
    expect(total).toBeGreaterThan(15800); // all but the filter's delay
    expect(total).toBeLessThanOrEqual(16000);
    const joined = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      joined.set(p, o);
      o += p.length;
    }
    expect(frequency(joined.subarray(400), 16000)).toBeCloseTo(440, -1);
    // No clicks at chunk boundaries: consecutive samples of a 440 Hz tone at 16 kHz differ by < 0.1.
    for (let i = 401; i < joined.length; i++) expect(Math.abs(joined[i] - joined[i - 1])).toBeLessThan(0.1);
  });
});

describe("container sniffing and engine channels", () => {
  it("recognises WAV and FLAC bodies and refuses unknown bytes without raw parameters", async () => {
    const wav = await decodeAudioBody(readFileSync(`${CORPUS}/debian_pocketsphinx/goforward.wav`));
    expect(wav.format).toBe("wav");
    const flac = await decodeAudioBody(readFileSync(`${CORPUS}/read_en/librispeech/2412-153948-0000.flac`));
    expect(flac.format).toBe("flac");
    await expect(decodeAudioBody(new TextEncoder().encode("hello"))).rejects.toThrow(/neither WAV nor FLAC/);
    const raw = await decodeAudioBody(new Uint8Array(320), { encoding: "mulaw", sampleRate: 8000, channels: 1 });
    expect(raw.format).toBe("mulaw");
    expect(raw.audio.channels[0]).toHaveLength(320);
  });

  it("gives the engine mono 16 kHz PCM16: one channel mixed, or one per channel", async () => {
    const { audio } = await decodeAudioBody(readFileSync(`${CORPUS}/read_en/other/jfk.flac`));
    const mixed = await toEngineChannels(audio, false);
    const split = await toEngineChannels(audio, true);
    expect(mixed).toHaveLength(1);
    expect(split).toHaveLength(2);
    expect(Math.abs(mixed[0].length - 11 * 16000)).toBeLessThanOrEqual(2);
  });

  it("reads a streamed WAV header, asks for more bytes when it is cut, and refuses unstreamable formats", () => {
    const file = readFileSync(`${CORPUS}/read_en/ljspeech/LJ001-0002.wav`);
    expect(readWavStreamHeader(file.subarray(0, 20))).toBeNull();
    expect(readWavStreamHeader(file.subarray(0, 200))).toEqual({ encoding: "linear16", sampleRate: 22050, channels: 1, dataOffset: 44 });
    expect(() => readWavStreamHeader(wavOf([sine(10, 1, 8000)], 8000, "24").subarray(0, 60))).toThrow(/cannot be streamed/);
  });
});
