/**
 * FLAC decoding with `@wasm-audio-decoders/flac` (libFLAC compiled to WebAssembly).
 */
import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { AudioDecodeError, type DecodedAudio } from "./pcm";

/** True when the bytes start with the FLAC stream marker "fLaC" (an ID3v2 tag before it is allowed). */
export function looksLikeFlac(bytes: Uint8Array): boolean {
  return flacStart(bytes) >= 0;
}

/** Offset of "fLaC" at the start, or after an ID3v2 tag; -1 when absent. */
export function flacStart(bytes: Uint8Array): number {
  const isMarker = (o: number) =>
    bytes.length >= o + 4 && bytes[o] === 0x66 && bytes[o + 1] === 0x4c && bytes[o + 2] === 0x61 && bytes[o + 3] === 0x43;
  if (isMarker(0)) return 0;
  if (bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    // ID3v2: 10-byte header, then a 28-bit "syncsafe" size.
    const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
    if (isMarker(10 + size)) return 10 + size;
  }
  return -1;
}

/**
 * Decode a whole FLAC file to planar floats in [-1, 1].
 * @throws AudioDecodeError when the stream is not FLAC or decodes to no samples.
 */
export async function decodeFlac(bytes: Uint8Array): Promise<DecodedAudio> {
  const start = flacStart(bytes);
  if (start < 0) throw new AudioDecodeError("not a FLAC stream (no fLaC marker)");
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    const decoded = await decoder.decodeFile(bytes.subarray(start));
    if (decoded.samplesDecoded === 0 || decoded.channelData.length === 0) {
      const why = decoded.errors.map((e) => e.message).join("; ");
      throw new AudioDecodeError(`FLAC stream decoded to no samples${why ? `: ${why}` : ""}`);
    }
    return {
      sampleRate: decoded.sampleRate,
      channels: decoded.channelData.map((ch) => ch.subarray(0, decoded.samplesDecoded)),
      duration: decoded.samplesDecoded / decoded.sampleRate,
      format: "flac",
    };
  } catch (err) {
    if (err instanceof AudioDecodeError) throw err;
    throw new AudioDecodeError(`cannot decode FLAC: ${(err as Error).message}`);
  } finally {
    decoder.free();
  }
}
