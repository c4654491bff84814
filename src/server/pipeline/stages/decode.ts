/**
 * Decode stage: recognise the container by its magic bytes and decode it to planar float audio,
 * keeping every channel separate (stereo call recordings carry one party per channel).
 *
 * | container | how it is recognised | decoder |
 * |---|---|---|
 * | WAV (PCM 8–32 bit, float, μ-law, A-law, IMA ADPCM) | `RIFF`/`RIFX`/`RF64` … `WAVE` | `wavefile`, through `speech/audio/wav.ts` |
 * | FLAC | `fLaC` (an ID3v2 tag before it is allowed) | `@wasm-audio-decoders/flac`, through `speech/audio/flac.ts` |
 * | Ogg Opus | `OggS` page whose first packet starts `OpusHead` (RFC 7845) | `ogg-opus-decoder` (always 48 kHz out) |
 * | MP3 (MPEG-1/2/2.5 layer I–III) | an ID3v2 tag or an MPEG frame sync (11 set bits) with a valid header | `mpg123-decoder` |
 *
 * No ffmpeg. Note: `mpg123-decoder` prints each damaged MP3 frame to stderr (`mpg123-decoder: -1
 * MPG123_ERR`); it cannot be turned off and contains no audio content. Anything else, or a stream that decodes to no samples, is a permanent
 * {@link StageError} (stage `decode`): retrying corrupt audio cannot help.
 */
import { MPEGDecoder } from "mpg123-decoder";
import { OggOpusDecoder } from "ogg-opus-decoder";
import { decodeFlac, looksLikeFlac } from "../../speech/audio/flac";
import { AudioDecodeError } from "../../speech/audio/pcm";
import { decodeWav, looksLikeWav } from "../../speech/audio/wav";
import { isStageError, StageError } from "./errors";
import type { DecodedAudio } from "./types";

const permanent = (message: string, cause?: unknown) => new StageError(message, { retryable: false, stage: "decode", cause });

const ascii = (bytes: Uint8Array, start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));

/** Length of an ID3v2 tag at the start (10-byte header + syncsafe size), or 0. */
function id3v2Length(bytes: Uint8Array): number {
  if (bytes.length < 10 || ascii(bytes, 0, 3) !== "ID3") return 0;
  const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  const footer = bytes[5] & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/**
 * True when 4 bytes at `o` form a plausible MPEG audio frame header (ISO/IEC 11172-3 §2.4.2.3):
 * 11-bit sync, version not "reserved", layer not "reserved", bitrate index not 15, sample-rate index not 3.
 */
function isMpegFrameHeader(bytes: Uint8Array, o: number): boolean {
  if (bytes.length < o + 4) return false;
  const b1 = bytes[o + 1];
  const b2 = bytes[o + 2];
  return bytes[o] === 0xff && (b1 & 0xe0) === 0xe0 && ((b1 >> 3) & 3) !== 1 && ((b1 >> 1) & 3) !== 0 && b2 >> 4 !== 15 && ((b2 >> 2) & 3) !== 3;
}

/** The container a byte string looks like, from its first bytes; `undefined` when unknown. */
export function sniffContainer(bytes: Uint8Array): "wav" | "flac" | "ogg" | "mp3" | undefined {
  if (looksLikeWav(bytes)) return "wav";
  if (looksLikeFlac(bytes)) return "flac";
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === "OggS") return "ogg";
  const id3 = id3v2Length(bytes);
  if (id3 > 0 || isMpegFrameHeader(bytes, 0)) return "mp3";
  return undefined;
}

/** WAV codec name from the `fmt ` chunk: `wav/pcm`, `wav/float`, `wav/mulaw`, `wav/alaw`, `wav/adpcm`. */
function wavFormatName(bytes: Uint8Array): string {
  const little = ascii(bytes, 0, 4) !== "RIFX";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 12; o + 8 <= bytes.length; ) {
    const id = ascii(bytes, o, 4);
    const size = view.getUint32(o + 4, little);
    if (id === "fmt " && o + 10 <= bytes.length) {
      let code = view.getUint16(o + 8, little);
      // WAVE_FORMAT_EXTENSIBLE: the real code is the first two bytes of the SubFormat GUID.
      if (code === 0xfffe && o + 34 <= bytes.length) code = view.getUint16(o + 32, little);
      return { 1: "wav/pcm", 3: "wav/float", 6: "wav/alaw", 7: "wav/mulaw", 17: "wav/adpcm" }[code] ?? `wav/${code}`;
    }
    o += 8 + size + (size & 1);
  }
  return "wav";
}

/** Ogg: the first page's first packet names the codec (`OpusHead`, `\x01vorbis`, `\x7FFLAC`, …). */
function oggCodec(bytes: Uint8Array): string {
  if (bytes.length < 28) return "unknown";
  const segments = bytes[26];
  const start = 27 + segments;
  if (ascii(bytes, start, 8) === "OpusHead") return "opus";
  if (ascii(bytes, start + 1, 6) === "vorbis") return "vorbis";
  if (ascii(bytes, start + 1, 4) === "FLAC") return "flac";
  if (ascii(bytes, start, 8) === "Speex   ") return "speex";
  return "unknown";
}

function checkDecoded(channels: Float32Array[], samples: number, sampleRate: number, what: string, errors: { message: string }[] = []): Float32Array[] {
  if (samples <= 0 || channels.length === 0 || !(sampleRate > 0)) {
    const why = errors.map((e) => e.message).slice(0, 3).join("; ");
    throw permanent(`${what} decoded to no audio samples: the file is corrupt or truncated${why ? ` (${why})` : ""}`);
  }
  return channels.map((c) => c.subarray(0, samples));
}

/** Channels of the first MPEG frame: its mode bits (byte 3, top two bits) are 3 for single channel. */
function mpegChannelCount(bytes: Uint8Array): number | undefined {
  const start = id3v2Length(bytes);
  // The first frame sits right after the tag; allow a little padding/junk before it.
  for (let o = start; o < Math.min(bytes.length - 4, start + 4096); o++) {
    if (isMpegFrameHeader(bytes, o)) return bytes[o + 3] >> 6 === 3 ? 1 : 2;
  }
  return undefined;
}

async function decodeMp3(bytes: Uint8Array): Promise<DecodedAudio> {
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
      throw permanent(`MP3 is corrupt: ${out.errors.length} damaged frame(s) for ${(out.samplesDecoded / out.sampleRate).toFixed(2)} s of audio (${out.errors[0].message})`);
    }
    // mpg123-decoder always returns two channels; a mono stream's second is a copy of the first.
    if (mpegChannelCount(bytes) === 1) channels = channels.slice(0, 1);
    return { sampleRate: out.sampleRate, channels, duration: out.samplesDecoded / out.sampleRate, format: "mp3" };
  } finally {
    decoder.free();
  }
}

async function decodeOggOpus(bytes: Uint8Array): Promise<DecodedAudio> {
  const codec = oggCodec(bytes);
  if (codec !== "opus") throw permanent(`Ogg ${codec} audio is not supported (supported in Ogg: Opus)`);
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

/**
 * Decode a whole recording.
 * @param bytes the downloaded file
 * @returns planar floats in [-1, 1], one array per channel (never downmixed), the sample rate in
 *   Hz, the duration in seconds and the detected `format` (`wav/pcm`, `wav/mulaw`, `wav/alaw`,
 *   `wav/float`, `flac`, `mp3`, `ogg/opus`)
 * @throws StageError (permanent, stage `decode`) for empty, unknown, unsupported or corrupt audio
 */
export async function decodeRecording(bytes: Uint8Array): Promise<DecodedAudio> {
  if (bytes.length === 0) throw permanent("the recording is empty (0 bytes)");
  const container = sniffContainer(bytes);
  try {
    switch (container) {
      case "wav": {
        const audio = decodeWav(bytes);
        return { ...audio, duration: (audio.channels[0]?.length ?? 0) / audio.sampleRate, format: wavFormatName(bytes) };
      }
      case "flac": {
        const audio = await decodeFlac(bytes);
        return { ...audio, duration: (audio.channels[0]?.length ?? 0) / audio.sampleRate, format: "flac" };
      }
      case "ogg":
        return await decodeOggOpus(bytes);
      case "mp3":
        return await decodeMp3(bytes);
      default:
        throw permanent("unrecognised audio format: not WAV, FLAC, MP3 or Ogg Opus (checked the file's first bytes)");
    }
  } catch (err) {
    if (isStageError(err)) throw err;
    if (err instanceof AudioDecodeError) throw permanent(err.message, err);
    throw permanent(`cannot decode the ${container ?? "recording"}: ${(err as Error).message}`, err);
  }
}
