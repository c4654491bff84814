/**
 * Headerless audio as Deepgram accepts it with `encoding` and `sample_rate`: `linear16` (signed
 * 16-bit little-endian), `mulaw` and `alaw` (G.711, one byte per sample); channels interleaved.
 */
import { decodeAlaw, decodeMulaw } from "./g711";
import { AudioDecodeError, deinterleave, int16ToFloat32, type DecodedAudio } from "./pcm";

/** Raw encodings we accept (Deepgram names). */
export const RAW_ENCODINGS = ["linear16", "mulaw", "alaw"] as const;
/** One of {@link RAW_ENCODINGS}. */
export type RawEncoding = (typeof RAW_ENCODINGS)[number];

/** Bytes per sample of one channel. */
export function bytesPerSample(encoding: RawEncoding): number {
  return encoding === "linear16" ? 2 : 1;
}

/** Decode interleaved raw bytes whose length is a whole number of frames to interleaved PCM16. */
export function decodeRawFrames(bytes: Uint8Array, encoding: RawEncoding): Int16Array {
  if (encoding === "mulaw") return decodeMulaw(bytes);
  if (encoding === "alaw") return decodeAlaw(bytes);
  const out = new Int16Array(bytes.length >> 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true);
  return out;
}

/**
 * Decode a whole raw body.
 * @param bytes interleaved samples
 * @param encoding linear16 | mulaw | alaw
 * @param sampleRate Hz
 * @param channelCount interleaved channels
 * @throws AudioDecodeError when the body holds less than one frame
 */
export function decodeRaw(bytes: Uint8Array, encoding: RawEncoding, sampleRate: number, channelCount: number): DecodedAudio {
  const frameBytes = bytesPerSample(encoding) * channelCount;
  const usable = bytes.length - (bytes.length % frameBytes);
  if (usable === 0) throw new AudioDecodeError(`raw ${encoding} body is shorter than one ${channelCount}-channel frame`);
  const pcm = decodeRawFrames(bytes.subarray(0, usable), encoding);
  const frames = pcm.length / channelCount;
  return { sampleRate, channels: deinterleave(pcm, channelCount).map(int16ToFloat32), duration: frames / sampleRate, format: encoding };
}

/**
 * Decodes a live stream of raw chunks. WebSocket frames need not end on a sample or frame
 * boundary, so the partial frame at the end of a chunk is kept for the next one.
 */
export class RawStreamDecoder {
  private remainder: Uint8Array = new Uint8Array(0);
  private readonly frameBytes: number;

  /**
   * @param encoding linear16 | mulaw | alaw
   * @param channelCount interleaved channels in the stream
   */
  constructor(
    private readonly encoding: RawEncoding,
    private readonly channelCount: number,
  ) {
    this.frameBytes = bytesPerSample(encoding) * channelCount;
  }

  /** Decode one chunk; returns PCM16 per channel (possibly empty arrays). */
  push(chunk: Uint8Array): Int16Array[] {
    let bytes = chunk;
    if (this.remainder.length > 0) {
      bytes = new Uint8Array(this.remainder.length + chunk.length);
      bytes.set(this.remainder, 0);
      bytes.set(chunk, this.remainder.length);
    }
    const usable = bytes.length - (bytes.length % this.frameBytes);
    this.remainder = bytes.slice(usable);
    const pcm = decodeRawFrames(bytes.subarray(0, usable), this.encoding);
    return deinterleave(pcm, this.channelCount);
  }
}
