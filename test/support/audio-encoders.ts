/**
 * Test-time audio encoders: turn real corpus recordings into the containers a call recorder may
 * send, with maintained encoder libraries (no ffmpeg):
 * - WAV PCM16, G.711 μ-law and A-law WAV: `wavefile`
 * - MP3: `@breezystack/lamejs` (LAME port)
 * - FLAC: `libflacjs` (libFLAC compiled with emscripten; the asm.js build, because its WebAssembly
 *   loader tries `fetch` on a file path under Node 20)
 * - Ogg Opus: `opus-encdec` (libopus 1.3.1 + its Ogg muxer, emscripten)
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Mp3Encoder } from "@breezystack/lamejs";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop";

const require = createRequire(import.meta.url);

/** Planar float audio in [-1, 1]; `sampleRate` in Hz. */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** Read a WAV file's samples (any format `wavefile` reads) as planar floats. */
export function readWav(bytes: Uint8Array): PcmAudio {
  const wav = new WaveFile(bytes);
  // Copy the header fields first: toBitDepth() rebuilds wav.fmt.
  const fmt = { ...(wav.fmt as { numChannels: number; sampleRate: number }) };
  if (wav.bitDepth !== "32f") wav.toBitDepth("32f");
  const samples = wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[];
  const channels = fmt.numChannels === 1 ? [samples as Float32Array] : (samples as Float32Array[]);
  return { sampleRate: fmt.sampleRate, channels: channels.map((c) => Float32Array.from(c)) };
}

function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767)));
  return out;
}

function interleave<T extends Int16Array | Float32Array>(channels: T[], Ctor: new (n: number) => T): T {
  const frames = channels[0].length;
  const out = new Ctor(frames * channels.length);
  for (let f = 0; f < frames; f++) for (let c = 0; c < channels.length; c++) out[f * channels.length + c] = channels[c][f];
  return out;
}

/** 16-bit PCM WAV. */
export function encodeWavPcm16(audio: PcmAudio): Uint8Array {
  const wav = new WaveFile();
  const pcm = audio.channels.map(toInt16);
  wav.fromScratch(audio.channels.length, audio.sampleRate, "16", audio.channels.length === 1 ? pcm[0] : pcm);
  return wav.toBuffer();
}

/** G.711 WAV (format code 7 μ-law or 6 A-law), 8 bits per sample, at the audio's own rate. */
export function encodeWavG711(audio: PcmAudio, law: "mulaw" | "alaw"): Uint8Array {
  const wav = new WaveFile();
  const pcm = audio.channels.map(toInt16);
  wav.fromScratch(audio.channels.length, audio.sampleRate, "16", audio.channels.length === 1 ? pcm[0] : pcm);
  if (law === "mulaw") wav.toMuLaw();
  else wav.toALaw();
  return wav.toBuffer();
}

/** MP3 (CBR `kbps`), via lamejs. The sample rate must be an MPEG one (8–48 kHz). */
export function encodeMp3(audio: PcmAudio, kbps = 64): Uint8Array {
  const stereo = audio.channels.length > 1;
  const encoder = new Mp3Encoder(stereo ? 2 : 1, audio.sampleRate, kbps);
  const left = toInt16(audio.channels[0]);
  const right = stereo ? toInt16(audio.channels[1]) : undefined;
  const parts: Uint8Array[] = [];
  const block = 1152;
  for (let i = 0; i < left.length; i += block) {
    const out = encoder.encodeBuffer(left.subarray(i, i + block), right?.subarray(i, i + block));
    if (out.length > 0) parts.push(Uint8Array.from(out));
  }
  const tail = encoder.flush();
  if (tail.length > 0) parts.push(Uint8Array.from(tail));
  return Buffer.concat(parts);
}

/** The part of libflacjs's API the encoders use. */
export interface LibFlac {
  isReady(): boolean;
  on(event: "ready", cb: () => void): void;
  create_libflac_encoder(rate: number, channels: number, bps: number, compression: number, totalSamples: number, verify: boolean, blockSize: number): number;
  init_encoder_stream(encoder: number, write: (data: Uint8Array) => void, metadata?: (meta: unknown) => void): number;
  FLAC__stream_encoder_process_interleaved(encoder: number, samples: Int32Array, framesPerChannel: number): boolean;
  FLAC__stream_encoder_finish(encoder: number): boolean;
  FLAC__stream_encoder_delete(encoder: number): void;
}

let flacLib: Promise<LibFlac> | undefined;
/** libflacjs (asm.js build), loaded once. */
export function loadFlac(): Promise<LibFlac> {
  flacLib ??= new Promise((resolve) => {
    const lib = (require("libflacjs") as (variant: string) => LibFlac)("release");
    if (lib.isReady()) resolve(lib);
    else lib.on("ready", () => resolve(lib));
  });
  return flacLib;
}

/** FLAC, 16 bits per sample, compression level 5, via libflacjs. */
export async function encodeFlac(audio: PcmAudio): Promise<Uint8Array> {
  const Flac = await loadFlac();
  const frames = audio.channels[0].length;
  const encoder = Flac.create_libflac_encoder(audio.sampleRate, audio.channels.length, 16, 5, frames, false, 0);
  if (!encoder) throw new Error("libflacjs could not create an encoder");
  const parts: Uint8Array[] = [];
  try {
    // The write callback may hand out a view into the WebAssembly heap: copy it.
    const status = Flac.init_encoder_stream(encoder, (data) => parts.push(Uint8Array.from(data)));
    if (status !== 0) throw new Error(`libflacjs init_encoder_stream failed with status ${status}`);
    const interleaved = interleave(audio.channels.map(toInt16), Int16Array);
    const samples = Int32Array.from(interleaved);
    if (!Flac.FLAC__stream_encoder_process_interleaved(encoder, samples, frames)) throw new Error("libflacjs failed to encode");
    if (!Flac.FLAC__stream_encoder_finish(encoder)) throw new Error("libflacjs failed to finish the stream");
  } finally {
    Flac.FLAC__stream_encoder_delete(encoder);
  }
  return Buffer.concat(parts);
}

interface OpusModule {
  isReady: boolean;
  onready?: () => void;
}
interface OggOpusEncoderInstance {
  generateIdPage(): { page: Uint8Array };
  generateCommentPage(): { page: Uint8Array };
  encode(buffers: Float32Array[]): { page: Uint8Array }[];
  encodeFinalFrame(): { page: Uint8Array }[];
  destroy(): void;
}

let opusModule: Promise<{ Module: OpusModule; Encoder: new (config: object, module: OpusModule) => OggOpusEncoderInstance }> | undefined;
function loadOpus() {
  opusModule ??= new Promise((resolve) => {
    // The emscripten loader finds its .wasm through OPUS_SCRIPT_LOCATION.
    process.env.OPUS_SCRIPT_LOCATION = `${dirname(require.resolve("opus-encdec/dist/libopus-encoder.wasm.js"))}/`;
    const Module = require("opus-encdec/dist/libopus-encoder.wasm.js") as OpusModule;
    const Encoder = (require("opus-encdec/src/oggOpusEncoder.js") as { OggOpusEncoder: new (config: object, module: OpusModule) => OggOpusEncoderInstance }).OggOpusEncoder;
    if (Module.isReady) resolve({ Module, Encoder });
    else Module.onready = () => resolve({ Module, Encoder });
  });
  return opusModule;
}

/**
 * Ogg Opus (RFC 7845), 48 kHz internal rate, voice application, via opus-encdec. The last partial
 * 20 ms frame is padded with silence by the encoder.
 */
export async function encodeOggOpus(audio: PcmAudio, bitRate = 32_000): Promise<Uint8Array> {
  const { Module, Encoder } = await loadOpus();
  const encoder = new Encoder(
    { numberOfChannels: audio.channels.length, originalSampleRate: audio.sampleRate, encoderSampleRate: 48_000, encoderApplication: 2048, encoderBitRate: bitRate, serial: 1 },
    Module,
  );
  try {
    const pages = [encoder.generateIdPage(), encoder.generateCommentPage()];
    const block = 4096;
    for (let i = 0; i < audio.channels[0].length; i += block) {
      // opus-encdec interleaves a fixed block length taken from the first call: pad a short last block.
      const chunk = audio.channels.map((c) => {
        const part = c.subarray(i, i + block);
        if (part.length === block || audio.channels.length === 1) return part;
        const padded = new Float32Array(block);
        padded.set(part);
        return padded;
      });
      pages.push(...encoder.encode(chunk));
    }
    pages.push(...encoder.encodeFinalFrame());
    return Buffer.concat(pages.map((p) => Uint8Array.from(p.page)));
  } finally {
    encoder.destroy();
  }
}
