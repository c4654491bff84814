/**
 * The one entry point for decoding audio, used by the speech routes (`POST /v1/listen`: WAV, FLAC
 * or raw) and the recorded-call pipeline (WAV, FLAC, MP3, Ogg Opus), and turning it into what
 * engines consume: mono 16 kHz PCM16 per transcribed channel. Containers are recognised by their
 * magic bytes (see `container.ts`); a body that is none needs `encoding` + `sample_rate`
 * (+ `channels`) as Deepgram requires for raw audio.
 *
 * | container | decoder |
 * |---|---|
 * | WAV (PCM 8–32 bit, float, μ-law, A-law, IMA ADPCM) | `wavefile` (`wav.ts`) |
 * | FLAC | `@wasm-audio-decoders/flac` (`flac.ts`) |
 * | Ogg Opus | `ogg-opus-decoder`, always 48 kHz out (`chunks.ts`) |
 * | MP3 | `mpg123-decoder` (`chunks.ts`) |
 *
 * No ffmpeg. Requests and recorded calls use `engine-audio.ts` (chunked, with the duration and
 * sample-rate limits); the whole-file functions here serve tools, benchmarks and tests.
 */
import { ENGINE_SAMPLE_RATE } from "../engines/engine";
import { openContainer } from "./chunks";
import { sniffContainer } from "./container";
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
 * Decode a recording file of any supported container (WAV, FLAC, MP3, Ogg Opus), recognised by
 * its first bytes; every channel kept separate.
 * @returns planar floats in [-1, 1], the sample rate in Hz, the duration in seconds and the
 *   detected `format` (`wav/pcm`, `wav/mulaw`, `wav/alaw`, `wav/float`, `wav/adpcm`, `flac`, `mp3`, `ogg/opus`)
 * @throws AudioDecodeError for empty, unknown, unsupported or corrupt audio
 */
export async function decodeAudioFile(bytes: Uint8Array): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new AudioDecodeError("the recording is empty (0 bytes)");
  const container = sniffContainer(bytes);
  if (!container) throw new AudioDecodeError("unrecognised audio format: not WAV, FLAC, MP3 or Ogg Opus (checked the file's first bytes)");
  try {
    const source = await openContainer(bytes, container);
    const parts: Float32Array[][] = [];
    let frames = 0;
    for await (const chunk of source.chunks()) {
      parts.push(chunk);
      frames += chunk[0].length;
    }
    const channels = Array.from({ length: parts[0]?.length ?? source.info.channels }, (_, c) => {
      const out = new Float32Array(frames);
      let o = 0;
      for (const p of parts) {
        out.set(p[c], o);
        o += p[c].length;
      }
      return out;
    });
    const { sampleRate, format } = source.info;
    return { sampleRate, channels, duration: frames / sampleRate, format };
  } catch (err) {
    if (err instanceof AudioDecodeError) throw err;
    throw new AudioDecodeError(`cannot decode the ${container}: ${(err as Error).message}`);
  }
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
