/**
 * PCM helpers for the capture path: float samples → signed 16-bit little-endian PCM
 * (Deepgram `encoding=linear16`), cut into fixed-length frames for the WebSocket.
 */

/** Rate the speech server is sent, in Hz (Deepgram `sample_rate`). */
export const TARGET_SAMPLE_RATE = 16_000;
/** Length of one audio frame sent to the server, in milliseconds. */
export const FRAME_MS = 100;

/**
 * Convert float samples to PCM16. Values are clamped to [-1, 1]; -1 maps to -32768 and 1 to
 * 32767 (the asymmetric scale most encoders use, so full scale never wraps), rounded to nearest.
 * @param input samples nominally in [-1, 1]; NaN becomes 0
 */
export function floatToPcm16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    let s = input[i]!;
    if (!(s === s)) s = 0; // NaN
    if (s > 1) s = 1;
    else if (s < -1) s = -1;
    out[i] = Math.round(s < 0 ? s * 0x8000 : s * 0x7fff);
  }
  return out;
}

/** Samples in one frame of `frameMs` at `sampleRate` Hz, e.g. 1600 for 100 ms at 16 kHz. */
export function frameSamples(sampleRate: number, frameMs: number = FRAME_MS): number {
  const n = Math.round((sampleRate * frameMs) / 1000);
  if (!(n > 0)) throw new RangeError(`a ${frameMs} ms frame at ${sampleRate} Hz has no samples`);
  return n;
}

/**
 * Collects PCM16 samples and hands them out in frames of exactly `frameLength` samples;
 * the remainder is kept for the next push, and {@link flush} returns it at the end of stream.
 */
export class Pcm16Framer {
  private readonly pending: Int16Array;
  private fill = 0;

  /** @param frameLength samples per frame, e.g. {@link frameSamples}(16000) = 1600 */
  constructor(readonly frameLength: number) {
    if (!Number.isInteger(frameLength) || frameLength <= 0) throw new RangeError(`frameLength must be a positive integer, got ${frameLength}`);
    this.pending = new Int16Array(frameLength);
  }

  /** Add samples; returns the frames completed by them (each a new array of `frameLength`). */
  push(samples: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameLength - this.fill, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.fill);
      this.fill += take;
      offset += take;
      if (this.fill === this.frameLength) {
        frames.push(this.pending.slice());
        this.fill = 0;
      }
    }
    return frames;
  }

  /** The incomplete last frame (shorter than `frameLength`), or null when nothing is pending. */
  flush(): Int16Array | null {
    if (this.fill === 0) return null;
    const last = this.pending.slice(0, this.fill);
    this.fill = 0;
    return last;
  }
}
