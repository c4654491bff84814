/**
 * Recordings decoded straight into what engines consume (mono 16 kHz PCM16 per channel), in
 * bounded chunks, with the limits that keep one request from taking the server down:
 *
 * - **duration**: at most `maxSeconds` of audio per channel (`CALLSCRIBE_MAX_AUDIO_SECONDS`, default
 *   4 h), and at most {@link CHANNEL_SECONDS_PER_CAP} × `maxSeconds` channel-seconds (duration × the
 *   channels handed on: every source channel for `separate`, 1 for `downmix`; see `limits.ts` for why).
 *   Checked from the header where the container says it (WAV data size, FLAC STREAMINFO total
 *   samples) before any sample is decoded, and enforced while decoding for the rest (decoding
 *   stops at the limit): a 32 KB FLAC of silence can claim or hold hours.
 * - **sample rate**: 8 000–48 000 Hz ({@link SUPPORTED_SAMPLE_RATES}), what the engines are fed
 *   from; a header claiming 100 Hz would otherwise turn 1 MB into 87 minutes of 16 kHz audio.
 *
 * Memory: each chunk (a few seconds) is decoded, resampled (libsamplerate, medium quality, its
 * filter state kept across chunks) and converted to PCM16 at once, never Float32 at the source rate.
 * {@link decodeForEngineChunks} hands the chunks on as they come (awaiting the consumer), so memory
 * does not grow with duration: that is what `/v1/listen` and the pipeline use. {@link decodeForEngine}
 * collects them into one full-length PCM16 copy per channel, 32 KB per second per channel (≈ 460 MB
 * for 4 h of mono), for callers that want the whole buffer (the CLI, tests): preallocated when the
 * length is counted from the bytes in hand (WAV, raw), otherwise joined once at the end, never
 * preallocated from a header's claim. {@link probeForEngine} decodes without resampling or keeping
 * samples, for the checks alone. At most {@link MAX_CHANNELS} channels.
 *
 * Identical channels: a mono call stored as stereo carries the same audio on both channels.
 * While decoding, the normalised correlation of every channel with channel 0 is accumulated
 * (O(samples), no extra memory); {@link EngineAudio.identicalChannels} tells callers to
 * transcribe once. It is known only once the whole recording is decoded: callers that stream probe
 * first ({@link probeForEngine}) when they need it before transcribing.
 */
import { ENGINE_SAMPLE_RATE } from "../engines/engine";
import type { ChunkedAudio } from "./chunks";
import { openContainer, openFlac, openRaw, openWav } from "./chunks";
import { sniffContainer } from "./container";
import { looksLikeFlac } from "./flac";
import { CHANNEL_SECONDS_PER_CAP, DEFAULT_MAX_AUDIO_SECONDS, SUPPORTED_SAMPLE_RATES } from "./limits";
import { AudioDecodeError, float32ToInt16 } from "./pcm";
import type { RawEncoding } from "./raw";
import { Quality, StreamResampler } from "./resample";
import { looksLikeWav } from "./wav";

export { CHANNEL_SECONDS_PER_CAP, DEFAULT_MAX_AUDIO_SECONDS, SUPPORTED_SAMPLE_RATES };

/** Most channels accepted from any container (as for raw and live audio). */
export const MAX_CHANNELS = 16;

/** Correlation with channel 0 at or above which a channel counts as a copy of it. */
export const IDENTICAL_CHANNEL_CORRELATION = 0.98;

/** The audio is longer than the configured limit. `limitSeconds` is that limit (seconds per channel, `CALLSCRIBE_MAX_AUDIO_SECONDS`). */
export class AudioTooLongError extends AudioDecodeError {
  constructor(
    readonly limitSeconds: number,
    message: string,
  ) {
    super(message);
    this.name = "AudioTooLongError";
  }
}

/** Audio ready for engines. */
export interface EngineAudio {
  /** Mono PCM16 at {@link ENGINE_SAMPLE_RATE} (16 kHz): one per source channel, or one downmix. */
  channels: Int16Array[];
  /** Sample rate of the source, Hz. */
  sourceSampleRate: number;
  /** Channels of the source. */
  sourceChannels: number;
  /** Seconds of source audio. */
  duration: number;
  /** Container/codec: `wav/pcm`, `wav/mulaw`, `flac`, `mp3`, `ogg/opus`, or a raw encoding. */
  format: string;
  /** What the decoder noticed without failing, e.g. `truncated: …` for a WAV cut short. */
  warnings: string[];
  /** True when the source has two or more channels carrying the same audio (see the module doc). */
  identicalChannels: boolean;
}

/** How to decode. */
export interface DecodeForEngineOptions {
  /** `downmix`: one channel, all averaged (POST without multichannel); `separate`: one per source channel. */
  channels: "downmix" | "separate";
  /**
   * Longest accepted audio, seconds per channel; the channels handed on may hold at most
   * {@link CHANNEL_SECONDS_PER_CAP} × this together (channel-seconds; see `limits.ts`).
   */
  maxSeconds: number;
  /** Which containers are accepted: `body` (POST /v1/listen: WAV, FLAC or raw) or `file` (recordings: WAV, FLAC, MP3, Ogg Opus). */
  accept: "body" | "file";
  /** How headerless bytes are read (`body` only). */
  raw?: { encoding: RawEncoding; sampleRate: number; channels: number };
}

const hours = (s: number) => (s >= 3600 ? ` (${+(s / 3600).toFixed(2)} h)` : s >= 60 ? ` (${+(s / 60).toFixed(1)} min)` : "");

function tooLong(maxSeconds: number, what: string): AudioTooLongError {
  return new AudioTooLongError(maxSeconds, `${what} longer than the limit of ${maxSeconds} s${hours(maxSeconds)} of audio per request (CALLSCRIBE_MAX_AUDIO_SECONDS)`);
}

function tooManyChannelSeconds(maxSeconds: number, channels: number, seconds: number, declared: boolean): AudioTooLongError {
  const limit = CHANNEL_SECONDS_PER_CAP * maxSeconds;
  return new AudioTooLongError(
    maxSeconds,
    `the audio ${declared ? "declares" : "holds at least"} ${channels} channels × ${Math.round(seconds)} s = ${Math.round(channels * seconds)} channel-seconds, ` +
      `over the limit of ${limit} channel-seconds per request (${CHANNEL_SECONDS_PER_CAP} × CALLSCRIBE_MAX_AUDIO_SECONDS = ${maxSeconds} s${hours(maxSeconds)}; ` +
      `with ${channels} channels at most ${Math.floor(limit / channels)} s${hours(Math.floor(limit / channels))})`,
  );
}

/** Grows an Int16 buffer chunk by chunk; preallocated when the final length is known. */
class Int16Collector {
  private parts: Int16Array[] = [];
  private buf?: Int16Array;
  length = 0;
  constructor(expected?: number) {
    if (expected !== undefined && expected > 0) this.buf = new Int16Array(expected);
  }
  push(samples: Int16Array): void {
    if (this.buf && this.length + samples.length <= this.buf.length) this.buf.set(samples, this.length);
    else {
      if (this.buf) {
        this.parts.push(this.buf.subarray(0, this.length));
        this.buf = undefined;
      }
      this.parts.push(samples);
    }
    this.length += samples.length;
  }
  /** The samples, cut or zero-padded to `length`. */
  take(length: number): Int16Array {
    if (this.buf) return length <= this.buf.length ? this.buf.subarray(0, length) : grow(this.buf.subarray(0, this.length), length);
    const out = new Int16Array(length);
    let o = 0;
    for (const p of this.parts) {
      if (o >= length) break;
      out.set(p.subarray(0, length - o), o);
      o += p.length;
    }
    this.parts = [];
    return out;
  }
}
function grow(a: Int16Array, length: number): Int16Array {
  const out = new Int16Array(length);
  out.set(a.subarray(0, length));
  return out;
}

/** Running sums for the normalised correlation of each channel with channel 0. */
class ChannelSimilarity {
  private readonly energy: number[];
  private readonly cross: number[];
  constructor(channels: number) {
    this.energy = new Array(channels).fill(0);
    this.cross = new Array(channels).fill(0);
  }
  add(chunk: Float32Array[]): void {
    if (chunk.length < 2) return;
    const a = chunk[0];
    let e0 = 0;
    for (let i = 0; i < a.length; i++) e0 += a[i] * a[i];
    this.energy[0] += e0;
    for (let c = 1; c < chunk.length; c++) {
      const b = chunk[c];
      let e = 0;
      let x = 0;
      for (let i = 0; i < b.length; i++) {
        e += b[i] * b[i];
        x += a[i] * b[i];
      }
      this.energy[c] += e;
      this.cross[c] += x;
    }
  }
  /** True when every channel is a copy of channel 0 (or all are digital silence). */
  identical(frames: number): boolean {
    if (this.energy.length < 2 || frames === 0) return false;
    const silent = (e: number) => e / frames < 1e-10;
    for (let c = 1; c < this.energy.length; c++) {
      if (silent(this.energy[0]) && silent(this.energy[c])) continue;
      if (silent(this.energy[0]) || silent(this.energy[c])) return false;
      if (this.cross[c] / Math.sqrt(this.energy[0] * this.energy[c]) < IDENTICAL_CHANNEL_CORRELATION) return false;
    }
    return true;
  }
}

function mixDown(chunk: Float32Array[]): Float32Array {
  if (chunk.length === 1) return chunk[0];
  const out = new Float32Array(chunk[0].length);
  for (const ch of chunk) for (let i = 0; i < out.length; i++) out[i] += ch[i];
  const scale = 1 / chunk.length;
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

function checkRate(sampleRate: number, format: string): void {
  if (!(sampleRate >= SUPPORTED_SAMPLE_RATES.min && sampleRate <= SUPPORTED_SAMPLE_RATES.max)) {
    throw new AudioDecodeError(
      `the ${format} audio's sample rate of ${sampleRate} Hz is not supported: use ${SUPPORTED_SAMPLE_RATES.min}–${SUPPORTED_SAMPLE_RATES.max} Hz`,
    );
  }
}

/** What a decode found, without the samples: {@link EngineAudio} less `channels`. */
export type AudioSummary = Omit<EngineAudio, "channels">;

/**
 * Receives the decoded audio a chunk at a time: one mono 16 kHz PCM16 plane per output channel,
 * all of the same length (a few seconds). Decoding waits for a returned promise (backpressure), so
 * a consumer slower than the decoder bounds the audio in flight.
 */
export type EngineChunkSink = (planes: Int16Array[]) => void | Promise<void>;

/**
 * Holds one channel's resampled output back so that what has been handed on never exceeds
 * `floor(frames · ratio)` for the input seen so far: the total is then exactly that length for the
 * whole input (the tail zero-padded), the same samples a whole-buffer decode would cut to.
 */
class ExactLength {
  private pending: Int16Array[] = [];
  /** Samples resampled and not yet handed on. */
  pendingLength = 0;
  /** Samples handed on. */
  emitted = 0;
  add(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.pending.push(samples);
    this.pendingLength += samples.length;
  }
  /** Up to `limit - emitted` samples of what is pending (the rest stays pending). */
  take(limit: number): Int16Array {
    const n = Math.max(0, Math.min(this.pendingLength, limit - this.emitted));
    const out = new Int16Array(n);
    for (let o = 0; o < n; ) {
      const p = this.pending[0];
      const k = Math.min(p.length, n - o);
      out.set(p.subarray(0, k), o);
      o += k;
      if (k === p.length) this.pending.shift();
      else this.pending[0] = p.subarray(k);
    }
    this.pendingLength -= n;
    this.emitted += n;
    return out;
  }
}

/**
 * Decode, check and resample a recording for an engine, a chunk at a time: memory stays a few
 * seconds of audio whatever the duration (plus the encoded bytes). Chunks go to `onChunk` as they
 * are decoded; the sum of each channel's planes is exactly the length {@link decodeForEngine} returns.
 * @param bytes the whole body or file
 * @param onChunk awaited before the next chunk is decoded
 * @returns duration, format, warnings and `identicalChannels` (known only at the end: see the module doc)
 * @throws AudioTooLongError (an AudioDecodeError) when it is longer than `maxSeconds`: from the header
 *   before any chunk, else once decoding passes the limit (chunks up to it were handed on)
 * @throws AudioDecodeError when it is not decodable audio, or its sample rate is outside {@link SUPPORTED_SAMPLE_RATES}
 * @throws whatever `onChunk` throws (decoding stops)
 */
export async function decodeForEngineChunks(bytes: Uint8Array, options: DecodeForEngineOptions, onChunk: EngineChunkSink): Promise<AudioSummary> {
  return decodeChunks(bytes, options, onChunk);
}

/**
 * Decode a recording without resampling or keeping any sample: checks format, sample rate and the
 * duration limit and measures duration and channel similarity, so a caller can refuse it, or learn
 * that its channels are copies, before an engine spends time on it. Memory: one chunk.
 * @throws as {@link decodeForEngineChunks}
 */
export async function probeForEngine(bytes: Uint8Array, options: DecodeForEngineOptions): Promise<AudioSummary> {
  return decodeChunks(bytes, options, undefined);
}

/**
 * Decode, check and resample a whole recording for an engine (collected from
 * {@link decodeForEngineChunks}; holds 32 KB per second per channel, see the module doc).
 * @param bytes the whole body or file
 * @throws AudioTooLongError (an AudioDecodeError) when it is longer than `maxSeconds`
 * @throws AudioDecodeError when it is not decodable audio, or its sample rate is outside {@link SUPPORTED_SAMPLE_RATES}
 */
export async function decodeForEngine(bytes: Uint8Array, options: DecodeForEngineOptions): Promise<EngineAudio> {
  let collectors: Int16Collector[] | undefined;
  let expected: number | undefined;
  const summary = await decodeChunks(bytes, options, (planes) => {
    collectors ??= planes.map(() => new Int16Collector(expected));
    planes.forEach((plane, c) => collectors![c].push(plane));
  }, (length) => (expected = length));
  const length = collectors?.[0]?.length ?? 0;
  const outputs = options.channels === "downmix" ? 1 : summary.sourceChannels;
  return { ...summary, channels: Array.from({ length: outputs }, (_, c) => collectors?.[c]?.take(length) ?? new Int16Array(0)) };
}

/** Wraps what the consumer threw, so it is passed on as it is, not reported as a decoding failure. */
class SinkFailure {
  constructor(readonly cause: unknown) {}
}
async function handOn(onChunk: EngineChunkSink, planes: Int16Array[]): Promise<void> {
  try {
    await onChunk(planes);
  } catch (err) {
    throw new SinkFailure(err);
  }
}

/** The decode loop; without `onChunk` nothing is resampled (a probe). `onExpected` hears an exact output length before the first chunk. */
async function decodeChunks(
  bytes: Uint8Array,
  options: DecodeForEngineOptions,
  onChunk: EngineChunkSink | undefined,
  onExpected?: (length: number) => void,
): Promise<AudioSummary> {
  const source = await openSource(bytes, options);
  const { info } = source;
  checkRate(info.sampleRate, info.format);
  if (!(info.channels >= 1 && info.channels <= MAX_CHANNELS)) {
    throw new AudioDecodeError(`the ${info.format} audio has ${info.channels} channels; supported: 1–${MAX_CHANNELS}`);
  }
  const maxFrames = Math.floor(options.maxSeconds * info.sampleRate);
  const outputs = options.channels === "downmix" ? 1 : info.channels;
  // Channel-seconds: frames × the channels handed on, at most CHANNEL_SECONDS_PER_CAP × the cap (limits.ts).
  const maxChannelFrames = CHANNEL_SECONDS_PER_CAP * maxFrames;
  if (info.declaredFrames !== undefined && info.declaredFrames > maxFrames) {
    throw tooLong(options.maxSeconds, `the ${info.format} header declares ${Math.round(info.declaredFrames / info.sampleRate)} s of audio,`);
  }
  if (info.declaredFrames !== undefined && info.declaredFrames * outputs > maxChannelFrames) {
    throw tooManyChannelSeconds(options.maxSeconds, outputs, info.declaredFrames / info.sampleRate, true);
  }
  const ratio = ENGINE_SAMPLE_RATE / info.sampleRate;
  // Preallocate only for a length counted from the bytes in hand: a FLAC header may claim hours the data does not hold.
  if (info.exact && info.declaredFrames !== undefined) onExpected?.(Math.floor(info.declaredFrames * ratio));
  const resamplers = onChunk
    ? await Promise.all(Array.from({ length: outputs }, () => StreamResampler.create(info.sampleRate, ENGINE_SAMPLE_RATE, Quality.medium)))
    : [];
  const held = resamplers.map(() => new ExactLength());
  const similarity = new ChannelSimilarity(info.channels);
  let frames = 0;
  try {
    for await (const chunk of source.chunks()) {
      frames += chunk[0].length;
      if (frames > maxFrames) throw tooLong(options.maxSeconds, `the audio is`);
      if (frames * outputs > maxChannelFrames) throw tooManyChannelSeconds(options.maxSeconds, outputs, frames / info.sampleRate, false);
      similarity.add(chunk);
      if (!onChunk) continue;
      const planes = options.channels === "downmix" ? [mixDown(chunk)] : chunk;
      const limit = Math.floor(frames * ratio);
      planes.forEach((plane, c) => held[c].add(float32ToInt16(resamplers[c].process(plane))));
      const out = held.map((h) => h.take(limit));
      if (out[0].length > 0) await handOn(onChunk, out);
    }
    if (onChunk) {
      // Push the last input through the filter (libsamplerate holds back its lookahead), then cut or pad to length.
      const length = Math.floor(frames * ratio);
      const tail = new Float32Array(Math.ceil(info.sampleRate / 20));
      resamplers.forEach((r, c) => {
        for (let i = 0; i < 8 && held[c].emitted + held[c].pendingLength < length; i++) held[c].add(float32ToInt16(r.process(tail)));
      });
      const out = held.map((h) => {
        const got = h.take(length);
        if (h.emitted >= length) return got;
        const padded = new Int16Array(got.length + length - h.emitted);
        padded.set(got);
        h.emitted = length;
        return padded;
      });
      if (out[0].length > 0) await handOn(onChunk, out);
    }
    return {
      sourceSampleRate: info.sampleRate,
      sourceChannels: info.channels,
      duration: frames / info.sampleRate,
      format: info.format,
      warnings: source.warnings,
      identicalChannels: similarity.identical(frames),
    };
  } catch (err) {
    if (err instanceof SinkFailure) throw err.cause;
    if (err instanceof AudioDecodeError) throw err;
    throw new AudioDecodeError(`cannot decode the ${info.format} audio: ${(err as Error).message}`);
  } finally {
    for (const r of resamplers) r.close();
  }
}

async function openSource(bytes: Uint8Array, options: DecodeForEngineOptions): Promise<ChunkedAudio> {
  if (options.accept === "body") {
    if (bytes.length === 0) throw new AudioDecodeError("the request body is empty: send audio (WAV, FLAC, or raw with encoding and sample_rate)");
    if (looksLikeWav(bytes)) return openWav(bytes);
    if (looksLikeFlac(bytes)) return openFlac(bytes);
    if (options.raw) {
      checkRate(options.raw.sampleRate, options.raw.encoding);
      return openRaw(bytes, options.raw.encoding, options.raw.sampleRate, options.raw.channels);
    }
    throw new AudioDecodeError(
      "unrecognised audio: the body is neither WAV nor FLAC; for raw audio set encoding (linear16, mulaw or alaw) and sample_rate",
    );
  }
  if (bytes.length === 0) throw new AudioDecodeError("the recording is empty (0 bytes)");
  const container = sniffContainer(bytes);
  if (!container) throw new AudioDecodeError("unrecognised audio format: not WAV, FLAC, MP3 or Ogg Opus (checked the file's first bytes)");
  try {
    return await openContainer(bytes, container);
  } catch (err) {
    if (err instanceof AudioDecodeError) throw err;
    throw new AudioDecodeError(`cannot decode the ${container}: ${(err as Error).message}`);
  }
}

/**
 * A recording checked ({@link probeForEngine}) and ready to be decoded chunk by chunk, any number
 * of times: what `decode` hands on has `outputs` planes per chunk (one per source channel, or one
 * downmix).
 */
export interface ChunkedEngineAudio extends AudioSummary {
  /** Planes per chunk. */
  outputs: number;
  /** Decode again from the start, awaiting `onChunk` for each chunk. @throws as {@link decodeForEngineChunks} */
  decode(onChunk: EngineChunkSink): Promise<void>;
}

/**
 * Check a recording once (a probe: no resampling, one chunk in memory) and return it ready for
 * chunked decoding. Refusals (too long, bad rate, undecodable) come from here, before any engine work.
 * @throws as {@link probeForEngine}
 */
export async function openForEngine(bytes: Uint8Array, options: DecodeForEngineOptions): Promise<ChunkedEngineAudio> {
  const summary = await probeForEngine(bytes, options);
  return {
    ...summary,
    outputs: options.channels === "downmix" ? 1 : summary.sourceChannels,
    decode: async (onChunk) => {
      await decodeForEngineChunks(bytes, options, onChunk);
    },
  };
}

/** Frames per chunk when a decoded buffer is handed on as chunks (4 s at 16 kHz). */
const BUFFER_CHUNK_SAMPLES = 1 << 16;

/** Audio already decoded whole, seen as {@link ChunkedEngineAudio} (slices of 4 s, no copies). */
export function chunksOfDecoded(audio: EngineAudio): ChunkedEngineAudio {
  const { channels, ...summary } = audio;
  return {
    ...summary,
    outputs: channels.length,
    decode: async (onChunk) => {
      const length = channels[0]?.length ?? 0;
      for (let o = 0; o < length; o += BUFFER_CHUNK_SAMPLES) await onChunk(channels.map((c) => c.subarray(o, o + BUFFER_CHUNK_SAMPLES)));
    },
  };
}
