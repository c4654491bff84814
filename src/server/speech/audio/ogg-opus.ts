/**
 * Ogg Opus decoding with `ogg-opus-decoder` (libopus in WebAssembly; always 48 kHz out).
 * Other codecs in Ogg (Vorbis, FLAC, Speex) are refused.
 */
import { OggOpusDecoder } from "ogg-opus-decoder";
import { oggCodec } from "./container";
import { AudioDecodeError, checkDecoded, type DecodedAudio } from "./pcm";

/**
 * Decode a whole Ogg Opus file to planar floats in [-1, 1] at 48 kHz.
 * @throws AudioDecodeError for another codec in Ogg, or a stream that decodes to no samples
 */
export async function decodeOggOpus(bytes: Uint8Array): Promise<DecodedAudio> {
  const codec = oggCodec(bytes);
  if (codec !== "opus") throw new AudioDecodeError(`Ogg ${codec} audio is not supported (supported in Ogg: Opus)`);
  const decoder = new OggOpusDecoder();
  try {
    await decoder.ready;
    const out = await decoder.decodeFile(bytes);
    const channels = checkDecoded(out.channelData, out.samplesDecoded, out.sampleRate, "Ogg Opus", out.errors);
    return { sampleRate: out.sampleRate, channels, duration: out.samplesDecoded / out.sampleRate, format: "ogg/opus" };
  } finally {
    decoder.free();
  }
}
