/**
 * The header of a WAV file sent as a live stream (Deepgram accepts containerised audio on the
 * WebSocket when no `encoding` is given). The `fmt ` chunk is read by `wavefile`; we only locate
 * where the `data` chunk's samples begin, so the rest of the stream can be decoded as raw frames.
 */
import { WaveFile } from "./wavefile-interop";
import { SUPPORTED_SAMPLE_RATES } from "./limits";
import { AudioDecodeError } from "./pcm";
import type { RawEncoding } from "./raw";

/** What a streamed WAV header says about the samples that follow. */
export interface WavStreamFormat {
  encoding: RawEncoding;
  /** Hz */
  sampleRate: number;
  channels: number;
  /** Offset of the first sample byte in the bytes given to {@link readWavStreamHeader}. */
  dataOffset: number;
}

/** Largest header we wait for before giving up (metadata chunks before `data` included). */
export const MAX_WAV_HEADER_BYTES = 64 * 1024;

/**
 * Read a WAV header from the start of a stream.
 * @returns the format, or `null` when more bytes are needed to reach the `data` chunk
 * @throws AudioDecodeError when the header is malformed or the format cannot be streamed
 *   (only 16-bit PCM, μ-law and A-law can)
 */
export function readWavStreamHeader(bytes: Uint8Array): WavStreamFormat | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const littleEndian = String.fromCharCode(...bytes.subarray(0, 4)) !== "RIFX";
  let offset = 12;
  let dataOffset = -1;
  while (offset + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + 4));
    const size = view.getUint32(offset + 4, littleEndian);
    if (id === "data") {
      dataOffset = offset + 8;
      break;
    }
    offset += 8 + size + (size % 2); // chunks are padded to an even length
  }
  if (dataOffset < 0) {
    if (bytes.length > MAX_WAV_HEADER_BYTES) throw new AudioDecodeError("WAV stream has no data chunk in its first 64 KiB");
    return null;
  }
  const wav = new WaveFile();
  try {
    wav.fromBuffer(bytes.subarray(0, dataOffset), false);
  } catch (err) {
    // wavefile wants a data chunk; give it the header with an empty one.
    try {
      const header = new Uint8Array(dataOffset);
      header.set(bytes.subarray(0, dataOffset));
      new DataView(header.buffer).setUint32(dataOffset - 4, 0, littleEndian);
      wav.fromBuffer(header, false);
    } catch {
      throw new AudioDecodeError(`unreadable WAV stream header: ${(err as Error).message}`);
    }
  }
  const fmt = wav.fmt as { audioFormat: number; numChannels: number; sampleRate: number; bitsPerSample: number };
  let encoding: RawEncoding;
  if (fmt.audioFormat === 1 && fmt.bitsPerSample === 16) encoding = "linear16";
  else if (fmt.audioFormat === 7) encoding = "mulaw";
  else if (fmt.audioFormat === 6) encoding = "alaw";
  else {
    throw new AudioDecodeError(
      `WAV stream format ${fmt.audioFormat} with ${fmt.bitsPerSample}-bit samples cannot be streamed: use 16-bit PCM, μ-law or A-law, or send raw audio with encoding and sample_rate`,
    );
  }
  const { min, max } = SUPPORTED_SAMPLE_RATES;
  if (!(fmt.numChannels >= 1 && fmt.numChannels <= 16) || !(fmt.sampleRate >= min && fmt.sampleRate <= max)) {
    throw new AudioDecodeError(`WAV stream has ${fmt.numChannels} channels at ${fmt.sampleRate} Hz; supported: 1–16 channels, ${min}–${max} Hz`);
  }
  return { encoding, sampleRate: fmt.sampleRate, channels: fmt.numChannels, dataOffset };
}
