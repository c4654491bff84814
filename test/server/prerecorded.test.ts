/**
 * `POST /v1/listen` with the real `@deepgram/sdk` (`client.listen.v1.media.transcribeFile`) and the
 * real PocketSphinx engine on corpus audio: a WAV, a stereo 24-bit 44.1 kHz FLAC (with and without
 * `multichannel`), and raw μ-law / A-law made from corpus recordings (16 kHz, and 8 kHz telephony).
 */
import { readFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { decodeAudioBody } from "../../src/server/speech/audio/decode";
import { downmix, float32ToInt16 } from "../../src/server/speech/audio/pcm";
import { resample } from "../../src/server/speech/audio/resample";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop";
import type { PrerecordedResponse } from "../../src/server/speech/protocol";
import { describeErrors, validatePrerecordedResponse } from "../../src/server/speech/validators";
import { startServer, type RunningServer } from "./helpers";

const CORPUS = corpusDir();
const LIBRISPEECH_WAV = `${CORPUS}/read_en/librispeech/1272-128104-0000.wav`;
const LIBRISPEECH_REF = "MISTER QUILTER IS THE APOSTLE OF THE MIDDLE CLASSES AND WE ARE GLAD TO WELCOME HIS GOSPEL";
const JFK_FLAC = `${CORPUS}/read_en/other/jfk.flac`;
const JFK_REF = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";

let server: RunningServer;
let client: DeepgramClient;

beforeAll(async () => {
  server = await startServer();
  client = new DeepgramClient({ apiKey: "no-key-needed", baseUrl: server.baseUrl });
});

afterAll(async () => {
  await server?.close();
});

function expectValid(body: unknown): PrerecordedResponse {
  expect(validatePrerecordedResponse(body), describeErrors(validatePrerecordedResponse)).toBe(true);
  return body as PrerecordedResponse;
}

/** 8 kHz mono PCM16 of a corpus file, as a telephony system would record it. */
async function telephonyPcm(path: string): Promise<Int16Array> {
  const { audio } = await decodeAudioBody(readFileSync(path));
  return float32ToInt16(await resample(downmix(audio.channels), audio.sampleRate, 8000));
}

describe("POST /v1/listen with the Deepgram SDK", () => {
  it("transcribes a WAV file (transcribeFile) into Deepgram's response shape", async () => {
    const body = expectValid(
      await client.listen.v1.media.transcribeFile(readFileSync(LIBRISPEECH_WAV), { model: "pocketsphinx", utterances: true, punctuate: true }),
    );
    expect(body.metadata.channels).toBe(1);
    expect(body.metadata.duration).toBeCloseTo(5.855, 2);
    expect(body.results.channels).toHaveLength(1);
    const alt = body.results.channels[0].alternatives[0];
    expect(wordErrorRate(LIBRISPEECH_REF, alt.transcript).wer).toBeLessThanOrEqual(0.4);
    // punctuate=true: a capitalised first word and a closing full stop on every word list.
    expect(alt.words[0].punctuated_word?.[0]).toMatch(/[A-Z]/);
    expect(alt.transcript.endsWith(".")).toBe(true);
    expect(body.results.utterances?.length).toBeGreaterThan(0);
    for (const u of body.results.utterances ?? []) {
      expect(u.end).toBeGreaterThan(u.start);
      expect(u.channel).toBe(0);
    }
  });

  it("transcribes a stereo 24-bit 44.1 kHz FLAC, downmixed by default and per channel with multichannel=true", async () => {
    const flac = readFileSync(JFK_FLAC);
    const mixed = expectValid(await client.listen.v1.media.transcribeFile(flac, { model: "pocketsphinx-en-us" }));
    expect(mixed.metadata.channels).toBe(2);
    expect(mixed.metadata.duration).toBeCloseTo(11.0, 1);
    expect(mixed.results.channels).toHaveLength(1);
    const mixedWer = wordErrorRate(JFK_REF, mixed.results.channels[0].alternatives[0].transcript);
    expect(mixedWer.wer).toBeLessThanOrEqual(0.5);

    const split = expectValid(await client.listen.v1.media.transcribeFile(flac, { model: "pocketsphinx", multichannel: true, diarize: true }));
    expect(split.results.channels).toHaveLength(2);
    split.results.channels.forEach((ch, i) => {
      const alt = ch.alternatives[0];
      expect(alt.words.length).toBeGreaterThan(5);
      for (const w of alt.words) expect(w.speaker).toBe(i); // diarize: one speaker per channel
    });
  });

  it("transcribes raw μ-law and A-law (G.711) as accurately as the PCM they were made from", async () => {
    const { audio } = await decodeAudioBody(readFileSync(LIBRISPEECH_WAV));
    const pcm = float32ToInt16(audio.channels[0]);
    const g711 = (code: "mulaw" | "alaw") => {
      const wav = new WaveFile();
      wav.fromScratch(1, 16000, "16", pcm);
      if (code === "mulaw") wav.toMuLaw();
      else wav.toALaw();
      return Buffer.from((wav.data as { samples: Uint8Array }).samples);
    };
    for (const encoding of ["mulaw", "alaw"] as const) {
      const bytes = g711(encoding);
      expect(bytes.length).toBe(pcm.length); // one byte per sample
      const body = expectValid(
        await client.listen.v1.media.transcribeFile(bytes, { model: "pocketsphinx", encoding }, { queryParams: { sample_rate: 16000 } }),
      );
      expect(body.metadata.duration).toBeCloseTo(pcm.length / 16000, 3);
      // A wrong expansion is noise to the recognizer; the right one keeps the WAV's accuracy.
      expect(wordErrorRate(LIBRISPEECH_REF, body.results.channels[0].alternatives[0].transcript).wer).toBeLessThanOrEqual(0.4);
    }
  });

  it("reads raw μ-law at 8 kHz (telephony) exactly as the same bytes in a μ-law WAV file", async () => {
    const path = `${CORPUS}/telephony_8k/asterisk_en/demo-nogo.wav`;
    const pcm = await telephonyPcm(path);
    const wav = new WaveFile();
    wav.fromScratch(1, 8000, "16", pcm);
    wav.toMuLaw();
    const raw = Buffer.from((wav.data as { samples: Uint8Array }).samples);
    const fromRaw = expectValid(
      await client.listen.v1.media.transcribeFile(raw, { model: "pocketsphinx", encoding: "mulaw" }, { queryParams: { sample_rate: 8000, channels: 1 } }),
    );
    const fromWav = expectValid(await client.listen.v1.media.transcribeFile(Buffer.from(wav.toBuffer()), { model: "pocketsphinx" }));
    expect(fromRaw.metadata.duration).toBeCloseTo(raw.length / 8000, 3);
    expect(fromRaw.metadata.duration).toBeCloseTo(10.512, 1);
    // Two decode paths (raw frames vs the WAV reader) must hand the engine identical audio.
    expect(fromRaw.results.channels[0].alternatives[0].words).toEqual(fromWav.results.channels[0].alternatives[0].words);
    expect(fromRaw.results.channels[0].alternatives[0].words.length).toBeGreaterThan(0);
  });
});
