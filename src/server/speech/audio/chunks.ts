/**
 * Decoding in bounded chunks: every container is read a slice at a time and handed on as planar
 * floats of at most a few seconds, so no caller has to hold the whole recording as Float32 (a
 * 32 KB FLAC of silence can decode to hours). The header's claims (sample rate, channels, length)
 * come first, so a consumer can refuse a recording before any samples are decoded.
 *
 * The samples come from the same libraries as the whole-file decoders (`wavefile` on each slice
 * of a WAV's data chunk, `@wasm-audio-decoders/flac`, `mpg123-decoder` and `ogg-opus-decoder`
 * in their streaming mode), so both give the same audio.
 */
import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { MPEGDecoder } from "mpg123-decoder";
import { OggOpusDecoder } from "ogg-opus-decoder";
import { mpegChannelCount, oggCodec, type Container } from "./container";
import { flacStart } from "./flac";
import { AudioDecodeError, deinterleave, int16ToFloat32 } from "./pcm";
import { bytesPerSample, decodeRawFrames, type RawEncoding } from "./raw";
import { decodeWav, wavFormatName } from "./wav";

/** What a container's header says, before any sample is decoded. */
export interface AudioSourceInfo {
  /** Hz */
  sampleRate: number;
  channels: number;
  /** `wav/pcm`, `flac`, `mp3`, `ogg/opus`, `linear16`, … */
  format: string;
  /** Frames (samples per channel) the header declares, when it does (WAV: the data in hand; FLAC: STREAMINFO total samples, 0 = unknown). */
  declaredFrames?: number;
  /** True when `declaredFrames` is counted from the bytes in hand (WAV, raw), not a claim the data may not back (FLAC). */
  exact?: boolean;
}

/** A recording opened for chunked decoding. */
export interface ChunkedAudio {
  info: AudioSourceInfo;
  /** Planar float chunks in [-1, 1], each at most about {@link CHUNK_FRAMES} frames (FLAC: a few frames of input). */
  chunks(): AsyncGenerator<Float32Array[]>;
  /** Things the decoder noticed that do not stop decoding, e.g. a truncated WAV; complete once `chunks()` is done. */
  warnings: string[];
}

/** Frames per chunk for containers we slice ourselves (WAV, raw): about 4 s at 16 kHz. */
export const CHUNK_FRAMES = 1 << 16;
/**
 * FLAC input per decode call. Small on purpose: a constant (silent) FLAC frame of 4 096 samples
 * takes ~11 bytes, so 2 KiB of input can decode to ~190 frames (0.8 M samples per channel).
 */
const FLAC_INPUT_BYTES = 2048;
/** MP3 and Ogg input per decode call (their compression is bounded: ~1 min of audio per 16 KiB at worst). */
const COMPRESSED_INPUT_BYTES = 16 * 1024;

/** WAV data sizes that mean "unknown, read to the end" (streaming writers). */
const UNKNOWN_WAV_SIZES = new Set([0xffffffff, 0x7fffffff, 0x7ffff000]);

interface WavLayout {
  little: boolean;
  audioFormat: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataOffset: number;
  /** Bytes of samples to decode (whole blocks). */
  dataBytes: number;
  declaredBytes: number;
}

function readWavLayout(bytes: Uint8Array): WavLayout | undefined {
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  if (tag === "RF64") return undefined; // 64-bit sizes live in ds64: decoded whole (below)
  const little = tag !== "RIFX";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavLayout, "dataOffset" | "dataBytes" | "declaredBytes" | "little"> | undefined;
  for (let o = 12; o + 8 <= bytes.length; ) {
    const id = String.fromCharCode(...bytes.subarray(o, o + 4));
    const size = view.getUint32(o + 4, little);
    if (id === "fmt " && o + 24 <= bytes.length) {
      fmt = {
        audioFormat: view.getUint16(o + 8, little),
        channels: view.getUint16(o + 10, little),
        sampleRate: view.getUint32(o + 12, little),
        blockAlign: view.getUint16(o + 20, little),
        bitsPerSample: view.getUint16(o + 22, little),
      };
    } else if (id === "data") {
      if (!fmt || !(fmt.blockAlign > 0)) return undefined;
      const available = bytes.length - (o + 8);
      const wanted = UNKNOWN_WAV_SIZES.has(size) ? available : size;
      const usable = Math.min(wanted, available);
      return { ...fmt, little, dataOffset: o + 8, dataBytes: usable - (usable % fmt.blockAlign), declaredBytes: wanted };
    }
    o += 8 + size + (size % 2);
  }
  return undefined;
}

/** Frames in `bytes` of WAV data (IMA ADPCM: blocks of `(blockAlign - 4·channels)·2/channels + 1` samples). */
function wavFrames(layout: WavLayout, bytes: number): number {
  if (layout.audioFormat === 17) {
    const perBlock = ((layout.blockAlign - 4 * layout.channels) * 2) / layout.channels + 1;
    return Math.floor(bytes / layout.blockAlign) * perBlock;
  }
  return Math.floor(bytes / layout.blockAlign);
}

/**
 * Open a WAV file for chunked decoding. The data chunk is decoded a slice at a time by
 * `decodeWav` on a copy of the header with that slice as its data. A data chunk that declares
 * more bytes than the file holds is decoded as far as it goes, with a `truncated` warning.
 * @throws AudioDecodeError when the header is unreadable
 */
export function openWav(bytes: Uint8Array): ChunkedAudio {
  const layout = readWavLayout(bytes);
  if (!layout) {
    // RF64, or a layout we do not slice: the whole-file reader (bounded by the body size).
    const whole = decodeWav(bytes);
    return {
      info: { sampleRate: whole.sampleRate, channels: whole.channels.length, format: whole.format, declaredFrames: whole.channels[0].length, exact: true },
      warnings: [],
      async *chunks() {
        for (let f = 0; f < whole.channels[0].length; f += CHUNK_FRAMES) yield whole.channels.map((c) => c.subarray(f, f + CHUNK_FRAMES));
      },
    };
  }
  if (!(layout.channels >= 1) || !(layout.sampleRate > 0)) {
    throw new AudioDecodeError(`WAV header is invalid: ${layout.channels} channels at ${layout.sampleRate} Hz`);
  }
  const warnings: string[] = [];
  const format = wavFormatName(bytes);
  // A copy, never a view: its size fields are rewritten per chunk (Buffer#slice would be a view
  // and write into the caller's bytes, or into Node's shared pool when `bytes` lives there).
  const header = new Uint8Array(bytes.subarray(0, layout.dataOffset));
  const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const framesPerBlock = wavFrames(layout, layout.blockAlign);
  const bytesPerChunk = layout.blockAlign * Math.max(1, Math.floor(CHUNK_FRAMES / Math.max(1, framesPerBlock)));
  return {
    info: { sampleRate: layout.sampleRate, channels: layout.channels, format, declaredFrames: wavFrames(layout, layout.dataBytes), exact: true },
    warnings,
    async *chunks() {
      if (layout.dataBytes === 0) throw new AudioDecodeError("WAV file has no audio samples");
      for (let o = 0; o < layout.dataBytes; o += bytesPerChunk) {
        const data = bytes.subarray(layout.dataOffset + o, layout.dataOffset + Math.min(layout.dataBytes, o + bytesPerChunk));
        const mini = new Uint8Array(header.length + data.length);
        headerView.setUint32(4, header.length - 8 + data.length, layout.little);
        headerView.setUint32(header.length - 4, data.length, layout.little);
        mini.set(header, 0);
        mini.set(data, header.length);
        yield decodeWav(mini).channels;
      }
      if (layout.declaredBytes > layout.dataBytes + layout.blockAlign - 1) {
        const held = wavFrames(layout, layout.dataBytes) / layout.sampleRate;
        const declared = wavFrames(layout, layout.declaredBytes) / layout.sampleRate;
        warnings.push(`truncated: the WAV data chunk declares ${declared.toFixed(2)} s of audio but the file ends at ${held.toFixed(2)} s`);
      }
    },
  };
}

/**
 * Open a FLAC stream: STREAMINFO read from the header, frames decoded a little input at a time.
 * @throws AudioDecodeError when there is no fLaC marker or STREAMINFO
 */
export function openFlac(bytes: Uint8Array): ChunkedAudio {
  const start = flacStart(bytes);
  if (start < 0) throw new AudioDecodeError("not a FLAC stream (no fLaC marker)");
  const si = start + 8; // "fLaC", then a 4-byte metadata block header; STREAMINFO is always first
  if (bytes.length < si + 18 || (bytes[start + 4] & 0x7f) !== 0) throw new AudioDecodeError("FLAC stream has no STREAMINFO block");
  const sampleRate = (bytes[si + 10] << 12) | (bytes[si + 11] << 4) | (bytes[si + 12] >> 4);
  const channels = ((bytes[si + 12] >> 1) & 7) + 1;
  const totalSamples = (bytes[si + 13] & 0x0f) * 2 ** 32 + ((bytes[si + 14] << 24) | (bytes[si + 15] << 16) | (bytes[si + 16] << 8) | bytes[si + 17]) >>> 0;
  const warnings: string[] = [];
  return {
    info: { sampleRate, channels, format: "flac", ...(totalSamples > 0 ? { declaredFrames: totalSamples } : {}) },
    warnings,
    async *chunks() {
      const decoder = new FLACDecoder();
      let samples = 0;
      const errors: string[] = [];
      try {
        await decoder.ready;
        const body = bytes.subarray(start);
        for (let o = 0; o < body.length + FLAC_INPUT_BYTES; o += FLAC_INPUT_BYTES) {
          // The last round flushes the frame the parser still holds.
          const out = o < body.length ? await decoder.decode(body.subarray(o, o + FLAC_INPUT_BYTES)) : await decoder.flush();
          for (const e of out.errors) errors.push(e.message);
          if (out.samplesDecoded > 0 && out.channelData.length > 0) {
            samples += out.samplesDecoded;
            yield out.channelData.map((c) => c.subarray(0, out.samplesDecoded));
          }
        }
      } catch (err) {
        if (err instanceof AudioDecodeError) throw err;
        throw new AudioDecodeError(`cannot decode FLAC: ${(err as Error).message}`);
      } finally {
        decoder.free();
      }
      if (samples === 0) throw new AudioDecodeError(`FLAC stream decoded to no samples${errors.length ? `: ${errors.slice(0, 3).join("; ")}` : ""}`);
    },
  };
}

/** First decoded output of a streaming decoder, to learn its rate and channels before yielding. */
async function* withFirst<T>(first: T | undefined, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first !== undefined) yield first;
  yield* rest;
}

/**
 * Open an MP3 file. The sample rate and channels are those of the first decoded frames.
 * @throws AudioDecodeError when it decodes to no samples, or most frames are damaged (checked at the end)
 */
export async function openMp3(bytes: Uint8Array): Promise<ChunkedAudio> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  const mono = mpegChannelCount(bytes) === 1;
  let samples = 0;
  let errors: { message: string }[] = [];
  let rate = 0;
  let offset = 0;
  const next = (): Float32Array[] | undefined => {
    while (offset < bytes.length) {
      const out = decoder.decode(bytes.subarray(offset, offset + COMPRESSED_INPUT_BYTES));
      offset += COMPRESSED_INPUT_BYTES;
      errors = errors.concat(out.errors);
      if (out.samplesDecoded > 0 && out.channelData.length > 0) {
        rate = out.sampleRate;
        samples += out.samplesDecoded;
        // mpg123-decoder always returns two channels; a mono stream's second is a copy of the first.
        const channels = out.channelData.map((c) => c.subarray(0, out.samplesDecoded));
        return mono ? channels.slice(0, 1) : channels;
      }
    }
    return undefined;
  };
  let first: Float32Array[] | undefined;
  try {
    first = next();
  } catch (err) {
    decoder.free();
    throw err;
  }
  if (!first) {
    decoder.free();
    const why = errors.map((e) => e.message).slice(0, 3).join("; ");
    throw new AudioDecodeError(`MP3 decoded to no audio samples: the file is corrupt or truncated${why ? ` (${why})` : ""}`);
  }
  async function* rest(): AsyncGenerator<Float32Array[]> {
    try {
      for (let c = next(); c; c = next()) yield c;
    } finally {
      decoder.free();
    }
    // mpg123 resynchronises past damaged frames (and conceals them), so a file with a few bad
    // frames still decodes; but when errors rival the frames decoded (576 samples is the smallest
    // layer III frame) the "audio" is garbage that happened to contain sync words.
    const framesAtMost = samples / 576;
    if (errors.length > 0 && (errors.length * 2 > framesAtMost || samples < rate * 0.25)) {
      throw new AudioDecodeError(`MP3 is corrupt: ${errors.length} damaged frame(s) for ${(samples / rate).toFixed(2)} s of audio (${errors[0].message})`);
    }
  }
  return { info: { sampleRate: rate, channels: first.length, format: "mp3" }, warnings: [], chunks: () => withFirst(first, rest()) };
}

/**
 * Open an Ogg Opus file (always 48 kHz out).
 * @throws AudioDecodeError for another codec in Ogg, or a stream that decodes to no samples
 */
export async function openOggOpus(bytes: Uint8Array): Promise<ChunkedAudio> {
  const codec = oggCodec(bytes);
  if (codec !== "opus") throw new AudioDecodeError(`Ogg ${codec} audio is not supported (supported in Ogg: Opus)`);
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  let offset = 0;
  let flushed = false;
  const errors: { message: string }[] = [];
  const next = async (): Promise<Float32Array[] | undefined> => {
    while (!flushed) {
      // decode() returns a promise although the package's types say otherwise.
      const out = offset < bytes.length ? await decoder.decode(bytes.subarray(offset, offset + COMPRESSED_INPUT_BYTES)) : await decoder.flush();
      if (offset >= bytes.length) flushed = true;
      offset += COMPRESSED_INPUT_BYTES;
      errors.push(...out.errors);
      if (out.samplesDecoded > 0 && out.channelData.length > 0) return out.channelData.map((c) => c.subarray(0, out.samplesDecoded));
    }
    return undefined;
  };
  let first: Float32Array[] | undefined;
  try {
    first = await next();
  } catch (err) {
    decoder.free();
    throw new AudioDecodeError(`cannot decode the ogg: ${(err as Error).message}`);
  }
  if (!first) {
    decoder.free();
    const why = errors.map((e) => e.message).slice(0, 3).join("; ");
    throw new AudioDecodeError(`Ogg Opus decoded to no audio samples: the file is corrupt or truncated${why ? ` (${why})` : ""}`);
  }
  async function* rest(): AsyncGenerator<Float32Array[]> {
    try {
      for (let c = await next(); c; c = await next()) yield c;
    } finally {
      decoder.free();
    }
  }
  return { info: { sampleRate: 48000, channels: first.length, format: "ogg/opus" }, warnings: [], chunks: () => withFirst(first, rest()) };
}

/**
 * Open raw interleaved audio (Deepgram's `encoding` + `sample_rate` + `channels`).
 * @throws AudioDecodeError when the body holds less than one frame
 */
export function openRaw(bytes: Uint8Array, encoding: RawEncoding, sampleRate: number, channels: number): ChunkedAudio {
  const frameBytes = bytesPerSample(encoding) * channels;
  const frames = Math.floor(bytes.length / frameBytes);
  if (frames === 0) throw new AudioDecodeError(`raw ${encoding} body is shorter than one ${channels}-channel frame`);
  return {
    info: { sampleRate, channels, format: encoding, declaredFrames: frames, exact: true },
    warnings: [],
    async *chunks() {
      for (let f = 0; f < frames; f += CHUNK_FRAMES) {
        const slice = bytes.subarray(f * frameBytes, Math.min(frames, f + CHUNK_FRAMES) * frameBytes);
        yield deinterleave(decodeRawFrames(slice, encoding), channels).map(int16ToFloat32);
      }
    },
  };
}

/**
 * Open a recording by container.
 * @throws AudioDecodeError for a container we cannot read
 */
export async function openContainer(bytes: Uint8Array, container: Container): Promise<ChunkedAudio> {
  switch (container) {
    case "wav":
      return openWav(bytes);
    case "flac":
      return openFlac(bytes);
    case "mp3":
      return openMp3(bytes);
    case "ogg":
      return openOggOpus(bytes);
  }
}
