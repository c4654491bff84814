/**
 * Limits of the one audio module (`speech/audio/engine-audio.ts`), on real and hostile audio:
 * - a tiny FLAC of silence that decodes to hours, refused from its header, and with its length
 *   hidden (STREAMINFO total 0) refused while decoding, at the limit (issue 7 item 8);
 * - real corpus WAVs whose header claims 100 Hz or 1 Hz, refused (item 11);
 * - the corpus's jfk.flac, a mono recording stored as stereo, flagged as identical channels, and a
 *   stereo file with different audio per channel not (item 18);
 * - a real corpus WAV cut short, decoded as far as it goes with a `truncated` warning (item 21).
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { AudioTooLongError, decodeForEngine, type DecodeForEngineOptions } from "../../src/server/speech/audio/engine-audio";
import { AudioDecodeError } from "../../src/server/speech/audio/pcm";
import { silentFlac, withUnknownLength, withWavSampleRate } from "../support/audio-bombs";
import { encodeWavPcm16, readWav } from "../support/audio-encoders";

const CORPUS = corpusDir();
const file: DecodeForEngineOptions = { channels: "separate", accept: "file", maxSeconds: 14_400 };
const body: DecodeForEngineOptions = { channels: "downmix", accept: "body", maxSeconds: 14_400 };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe("decoded duration limit", () => {
  let bomb: Uint8Array;
  beforeAll(async () => {
    bomb = await silentFlac(4.5 * 3600); // 4.5 h of silence at 8 kHz
  }, 120_000);

  it("refuses a FLAC whose STREAMINFO declares 4.5 h before decoding it, with the limit in the message", async () => {
    expect(bomb.length).toBeLessThan(400_000); // 4.5 h of audio in under 0.4 MB
    const started = performance.now();
    for (const options of [file, body]) {
      const err = await failure(decodeForEngine(bomb, options));
      expect(err).toBeInstanceOf(AudioTooLongError);
      expect((err as Error).message).toMatch(/declares 16200 s .*limit of 14400 s \(4 h\).*CALLSCRIBE_MAX_AUDIO_SECONDS/);
    }
    // Refused from the header: no 4.5 h of decoding happened (that takes far longer than this, even on a loaded machine).
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 60_000);

  it("stops decoding a FLAC of unknown length once it passes the limit", async () => {
    const err = await failure(decodeForEngine(withUnknownLength(bomb), { ...file, maxSeconds: 600 }));
    expect(err).toBeInstanceOf(AudioTooLongError);
    expect((err as AudioTooLongError).limitSeconds).toBe(600);
    expect((err as Error).message).toMatch(/the audio is longer than the limit of 600 s \(10(\.0)? min\)/);
    // Under the limit the same kind of stream decodes, and its length is counted while decoding.
    const short = await decodeForEngine(withUnknownLength(await silentFlac(30)), { ...file, maxSeconds: 600 });
    // (libFLAC's last partial block of silence, 384 samples, is not decoded, as with the whole-file decoder.)
    expect(short.duration).toBeGreaterThan(29.9);
    expect(short.duration).toBeLessThanOrEqual(30);
    expect(short.channels[0].length).toBe(Math.floor(short.duration * 16000));
  }, 60_000);

  it("refuses a WAV longer than the limit from its data size", async () => {
    const wav = readFileSync(`${CORPUS}/read_en/librispeech/1272-128104-0000.wav`); // 5.855 s
    const err = await failure(decodeForEngine(wav, { ...body, maxSeconds: 5 }));
    expect(err).toBeInstanceOf(AudioTooLongError);
    expect((err as Error).message).toMatch(/declares 6 s .*limit of 5 s/);
    expect((await decodeForEngine(wav, { ...body, maxSeconds: 6 })).duration).toBeCloseTo(5.855, 3);
  });
});

describe("channel-seconds (the cap is per channel; the channels together get twice it)", () => {
  const wav = readFileSync(`${CORPUS}/read_en/librispeech/1272-128104-0000.wav`); // 5.855 s, 16 kHz mono
  const speech = readWav(wav);
  const copies = (n: number) => encodeWavPcm16({ sampleRate: speech.sampleRate, channels: Array.from({ length: n }, () => speech.channels[0]) });

  it("refuses 4 channels × 5.9 s under a 10 s cap from the header (23 channel-seconds > 2 × 10), naming both limits", async () => {
    const err = await failure(decodeForEngine(copies(4), { ...file, maxSeconds: 10 }));
    expect(err).toBeInstanceOf(AudioTooLongError);
    expect((err as AudioTooLongError).limitSeconds).toBe(10);
    expect((err as Error).message).toMatch(/declares 4 channels × 6 s = 23 channel-seconds, over the limit of 20 channel-seconds .*2 × CALLSCRIBE_MAX_AUDIO_SECONDS = 10 s.*at most 5 s/);
    // Downmixed (a POST without multichannel), the same file is 5.9 channel-seconds: accepted.
    expect((await decodeForEngine(copies(4), { ...body, maxSeconds: 10 })).duration).toBeCloseTo(5.855, 3);
  });

  it("accepts stereo up to the cap per channel (as a 4 h stereo call passes the 4 h default)", async () => {
    const stereo = await decodeForEngine(copies(2), { ...file, maxSeconds: 6 });
    expect(stereo.channels).toHaveLength(2);
    expect(stereo.duration).toBeCloseTo(5.855, 3);
    // Over the cap per channel is refused whatever the channel count.
    expect(await failure(decodeForEngine(copies(2), { ...file, maxSeconds: 5 }))).toBeInstanceOf(AudioTooLongError);
  });
});

describe("sample rates", () => {
  it("refuses real WAVs whose header claims 100 Hz or 1 Hz (and 96 kHz), naming the supported range", async () => {
    const wav = readFileSync(`${CORPUS}/read_en/librispeech/1272-128104-0000.wav`);
    for (const rate of [1, 100, 7999, 96_000]) {
      for (const options of [file, body]) {
        const err = await failure(decodeForEngine(withWavSampleRate(wav, rate), options));
        expect(err, `${rate} Hz`).toBeInstanceOf(AudioDecodeError);
        expect((err as Error).message).toBe(`the wav/pcm audio's sample rate of ${rate} Hz is not supported: use 8000–48000 Hz`);
      }
    }
    for (const rate of [8000, 48_000]) expect((await decodeForEngine(withWavSampleRate(wav, rate), file)).sourceSampleRate).toBe(rate);
  });

  it("refuses raw audio at an unsupported rate", async () => {
    const err = await failure(decodeForEngine(new Uint8Array(3200), { ...body, raw: { encoding: "linear16", sampleRate: 100, channels: 1 } }));
    expect((err as Error).message).toMatch(/100 Hz is not supported/);
  });
});

describe("identical channels", () => {
  it("flags jfk.flac (the same speech on both channels) and not a stereo file with different audio per channel", async () => {
    const jfk = await decodeForEngine(readFileSync(`${CORPUS}/read_en/other/jfk.flac`), file);
    expect(jfk.sourceChannels).toBe(2);
    expect(jfk.channels).toHaveLength(2);
    expect(jfk.identicalChannels).toBe(true);

    const a = readWav(readFileSync(`${CORPUS}/read_en/ljspeech/LJ001-0002.wav`));
    const b = readWav(readFileSync(`${CORPUS}/read_en/ljspeech/LJ001-0004.wav`));
    const n = Math.min(a.channels[0].length, b.channels[0].length);
    const different = encodeWavPcm16({ sampleRate: a.sampleRate, channels: [a.channels[0].subarray(0, n), b.channels[0].subarray(0, n)] });
    expect((await decodeForEngine(different, file)).identicalChannels).toBe(false);
    // One channel silent, the other speech: not a copy either.
    const oneSided = encodeWavPcm16({ sampleRate: a.sampleRate, channels: [a.channels[0], new Float32Array(a.channels[0].length)] });
    expect((await decodeForEngine(oneSided, file)).identicalChannels).toBe(false);
    // The same speech at half level on the right (a mono call stored with unequal gains) is a copy.
    const scaled = encodeWavPcm16({ sampleRate: a.sampleRate, channels: [a.channels[0], a.channels[0].map((x) => x * 0.5)] });
    expect((await decodeForEngine(scaled, file)).identicalChannels).toBe(true);
  });
});

describe("truncated WAV", () => {
  it("decodes a real corpus WAV cut short as far as it goes, with a warning saying where it ends", async () => {
    const wav = readFileSync(`${CORPUS}/read_en/librispeech/1272-128104-0000.wav`); // 5.855 s, 16 kHz mono PCM16
    const cut = wav.subarray(0, Math.floor(wav.length * 0.4));
    const audio = await decodeForEngine(cut, file);
    expect(audio.duration).toBeGreaterThan(2);
    expect(audio.duration).toBeLessThan(2.5);
    expect(audio.warnings).toEqual([expect.stringMatching(/^truncated: the WAV data chunk declares 5\.86 s of audio but the file ends at 2\.\d\d s$/)]);
    expect((await decodeForEngine(wav, file)).warnings).toEqual([]);
  });
});
