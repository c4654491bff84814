/**
 * PCM helpers shared by the decoders: planar float audio, conversion to and from signed 16-bit,
 * downmixing and de-interleaving.
 */

/**
 * Decoded audio, planar: `channels[c][i]` is sample `i` of channel `c`, a float in [-1, 1].
 * `sampleRate` in Hz. All channels have the same length. The one decoded-audio type of the server:
 * the speech routes and the recorded-call pipeline both decode with `speech/audio/`.
 */
export interface DecodedAudio {
  sampleRate: number;
  channels: Float32Array[];
  /** Seconds (`channels[0].length / sampleRate`). */
  duration: number;
  /** Container/codec detected: `wav/pcm`, `wav/float`, `wav/mulaw`, `wav/alaw`, `wav/adpcm`, `flac`, `mp3`, `ogg/opus`, or the raw encoding (`linear16`, `mulaw`, `alaw`). */
  format: string;
}

/** Raised for input that is not audio we can decode. `message` says what was wrong, for the client. */
export class AudioDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AudioDecodeError";
  }
}

/**
 * Signed 16-bit samples to floats in [-1, 1]: negative values divided by 32768, positive by 32767,
 * the convention of `wavefile` (so raw and WAV bodies decode to identical floats).
 */
export function int16ToFloat32(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i];
    out[i] = v > 0 ? v / 32767 : v / 32768;
  }
  return out;
}

/** Floats in [-1, 1] to signed 16-bit (inverse of {@link int16ToFloat32}), rounded and clipped. */
export function float32ToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    const v = Math.round(x > 0 ? x * 32767 : x * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** Average the channels into one (equal weights). A single channel is returned as is. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const length = channels[0]?.length ?? 0;
  const out = new Float32Array(length);
  for (const ch of channels) for (let i = 0; i < length; i++) out[i] += ch[i];
  const scale = 1 / channels.length;
  for (let i = 0; i < length; i++) out[i] *= scale;
  return out;
}

/** Split interleaved frames (`[c0, c1, …, c0, c1, …]`) into one array per channel. */
export function deinterleave<T extends Int16Array | Float32Array>(interleaved: T, channelCount: number): T[] {
  if (channelCount === 1) return [interleaved];
  const frames = Math.floor(interleaved.length / channelCount);
  const Ctor = interleaved.constructor as { new (n: number): T };
  const out: T[] = Array.from({ length: channelCount }, () => new Ctor(frames));
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channelCount; c++) out[c][f] = interleaved[f * channelCount + c];
  }
  return out;
}
