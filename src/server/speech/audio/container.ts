/**
 * Recognising audio containers by their first bytes (never by file name or Content-Type):
 *
 * | container | how it is recognised |
 * |---|---|
 * | WAV | `RIFF`/`RIFX`/`RF64` … `WAVE` |
 * | FLAC | `fLaC` (an ID3v2 tag before it is allowed) |
 * | Ogg | `OggS`; the first packet names the codec (`OpusHead`, `\x01vorbis`, …) |
 * | MP3 (MPEG-1/2/2.5 layer I–III) | an ID3v2 tag or an MPEG frame sync (11 set bits) with a valid header |
 */
import { looksLikeFlac } from "./flac";
import { looksLikeWav, wavFormatName } from "./wav";

export { wavFormatName };

/** Containers {@link sniffContainer} recognises. */
export type Container = "wav" | "flac" | "ogg" | "mp3";

/** Latin-1 text of `length` bytes at `start`. */
export const ascii = (bytes: Uint8Array, start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));

/** Length in bytes of an ID3v2 tag at the start (10-byte header + syncsafe size + optional footer), or 0. */
export function id3v2Length(bytes: Uint8Array): number {
  if (bytes.length < 10 || ascii(bytes, 0, 3) !== "ID3") return 0;
  const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  const footer = bytes[5] & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/**
 * True when 4 bytes at `o` form a plausible MPEG audio frame header (ISO/IEC 11172-3 §2.4.2.3):
 * 11-bit sync, version not "reserved", layer not "reserved", bitrate index not 15, sample-rate index not 3.
 */
export function isMpegFrameHeader(bytes: Uint8Array, o: number): boolean {
  if (bytes.length < o + 4) return false;
  const b1 = bytes[o + 1];
  const b2 = bytes[o + 2];
  return bytes[o] === 0xff && (b1 & 0xe0) === 0xe0 && ((b1 >> 3) & 3) !== 1 && ((b1 >> 1) & 3) !== 0 && b2 >> 4 !== 15 && ((b2 >> 2) & 3) !== 3;
}

/** The container a byte string looks like, from its first bytes; `undefined` when unknown. */
export function sniffContainer(bytes: Uint8Array): Container | undefined {
  if (looksLikeWav(bytes)) return "wav";
  if (looksLikeFlac(bytes)) return "flac";
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === "OggS") return "ogg";
  const id3 = id3v2Length(bytes);
  if (id3 > 0 || isMpegFrameHeader(bytes, 0)) return "mp3";
  return undefined;
}

/** Ogg: the first page's first packet names the codec (`opus`, `vorbis`, `flac`, `speex`, else `unknown`). */
export function oggCodec(bytes: Uint8Array): string {
  if (bytes.length < 28) return "unknown";
  const segments = bytes[26];
  const start = 27 + segments;
  if (ascii(bytes, start, 8) === "OpusHead") return "opus";
  if (ascii(bytes, start + 1, 6) === "vorbis") return "vorbis";
  if (ascii(bytes, start + 1, 4) === "FLAC") return "flac";
  if (ascii(bytes, start, 8) === "Speex   ") return "speex";
  return "unknown";
}

/** Channels of the first MPEG frame: its mode bits (byte 3, top two bits) are 3 for single channel. */
export function mpegChannelCount(bytes: Uint8Array): number | undefined {
  const start = id3v2Length(bytes);
  // The first frame sits right after the tag; allow a little padding/junk before it.
  for (let o = start; o < Math.min(bytes.length - 4, start + 4096); o++) {
    if (isMpegFrameHeader(bytes, o)) return bytes[o + 3] >> 6 === 3 ? 1 : 2;
  }
  return undefined;
}
