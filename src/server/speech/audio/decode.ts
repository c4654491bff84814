/**
 * Turn a pre-recorded request body into what engines consume: mono 16 kHz PCM16 per transcribed
 * channel. Containers are recognised by their magic bytes (WAV, FLAC); anything else needs
 * `encoding` + `sample_rate` (+ `channels`) as Deepgram requires for raw audio.
 */
import { ENGINE_SAMPLE_RATE } from "../engines/engine";
import { decodeFlac, looksLikeFlac } from "./flac";
import { AudioDecodeError, downmix, float32ToInt16, type DecodedAudio } from "./pcm";
import { decodeRaw, type RawEncoding } from "./raw";
import { Quality, resample } from "./resample";
import { decodeWav, looksLikeWav } from "./wav";

/** How raw (headerless) bytes are to be read; ignored for WAV and FLAC, which carry their own header. */
export interface RawAudioFormat {
  encoding: RawEncoding;
  /** Hz */
  sampleRate: number;
  channels: number;
}

/** The container or encoding that was decoded. */
export type AudioSourceFormat = "wav" | "flac" | RawEncoding;

/**
 * Decode a body: WAV or FLAC by magic bytes, else raw per `raw`.
 * @throws AudioDecodeError with a message for the client when the body is not decodable audio
 */
export async function decodeAudioBody(
  bytes: Uint8Array,
  raw?: RawAudioFormat,
): Promise<{ audio: DecodedAudio; format: AudioSourceFormat }> {
  if (bytes.length === 0) throw new AudioDecodeError("the request body is empty: send audio (WAV, FLAC, or raw with encoding and sample_rate)");
  if (looksLikeWav(bytes)) return { audio: decodeWav(bytes), format: "wav" };
  if (looksLikeFlac(bytes)) return { audio: await decodeFlac(bytes), format: "flac" };
  if (raw) return { audio: decodeRaw(bytes, raw.encoding, raw.sampleRate, raw.channels), format: raw.encoding };
  throw new AudioDecodeError(
    "unrecognised audio: the body is neither WAV nor FLAC; for raw audio set encoding (linear16, mulaw or alaw) and sample_rate",
  );
}

/**
 * Channels ready for an engine: each mono, 16 kHz, PCM16.
 * @param multichannel true: one entry per input channel; false: all channels averaged into one
 */
export async function toEngineChannels(audio: DecodedAudio, multichannel: boolean): Promise<Int16Array[]> {
  const sources = multichannel ? audio.channels : [downmix(audio.channels)];
  return Promise.all(
    sources.map(async (ch) => float32ToInt16(await resample(ch, audio.sampleRate, ENGINE_SAMPLE_RATE, Quality.medium))),
  );
}

/** Duration of decoded audio in seconds. */
export function durationSeconds(audio: DecodedAudio): number {
  return (audio.channels[0]?.length ?? 0) / audio.sampleRate;
}

export { AudioDecodeError };
