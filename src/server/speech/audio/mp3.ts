/**
 * MP3 (MPEG-1/2/2.5 layer I–III) decoding with `mpg123-decoder` (libmpg123 in WebAssembly).
 * Note: `mpg123-decoder` prints each damaged frame to stderr (`mpg123-decoder: -1 MPG123_ERR`);
 * it cannot be turned off and contains no audio content.
 */
import { MPEGDecoder } from "mpg123-decoder";
import { mpegChannelCount } from "./container";
import { AudioDecodeError, checkDecoded, type DecodedAudio } from "./pcm";

/**
 * Decode a whole MP3 file to planar floats in [-1, 1].
 * @throws AudioDecodeError when it decodes to no samples or most frames are damaged
 */
export async function decodeMp3(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new MPEGDecoder();
  try {
    await decoder.ready;
    const out = decoder.decode(bytes);
    let channels = checkDecoded(out.channelData, out.samplesDecoded, out.sampleRate, "MP3", out.errors);
    // mpg123 resynchronises past damaged frames (and conceals them), so a file with a few bad
    // frames still decodes; but when errors rival the frames decoded (576 samples is the smallest
    // layer III frame) the "audio" is garbage that happened to contain sync words.
    const framesAtMost = out.samplesDecoded / 576;
    if (out.errors.length > 0 && (out.errors.length * 2 > framesAtMost || out.samplesDecoded < out.sampleRate * 0.25)) {
      throw new AudioDecodeError(`MP3 is corrupt: ${out.errors.length} damaged frame(s) for ${(out.samplesDecoded / out.sampleRate).toFixed(2)} s of audio (${out.errors[0].message})`);
    }
    // mpg123-decoder always returns two channels; a mono stream's second is a copy of the first.
    if (mpegChannelCount(bytes) === 1) channels = channels.slice(0, 1);
    return { sampleRate: out.sampleRate, channels, duration: out.samplesDecoded / out.sampleRate, format: "mp3" };
  } finally {
    decoder.free();
  }
}
