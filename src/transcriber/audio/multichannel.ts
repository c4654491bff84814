/**
 * Two (or more) capture streams as one multichannel stream for `/v1/listen`
 * (`multichannel=true&channels=N`, Deepgram's interleaved linear16): each input channel runs
 * through its own {@link CaptureCore} (resampled to 16 kHz mono, framed), and the channels'
 * samples are interleaved `c0 c1 c0 c1 …` into frames of 100 ms of every channel.
 *
 * Used by the worklet for a browser tab (channel 0, "Webcast") with the microphone (channel 1,
 * "You"): a ChannelMergerNode puts each source on its own input channel. Free of worklet globals,
 * so it is unit-tested in Node with the real resampler.
 *
 * Each channel's converter starts asynchronously, so one channel may have frames before another:
 * the samples wait per channel and a frame is emitted only when every channel has its share;
 * `flush` pads the shorter channels with silence to the longest.
 */
import { CaptureCore, type CaptureCoreOptions } from "./capture-core";
import { FRAME_MS, TARGET_SAMPLE_RATE, frameSamples } from "./pcm";

/**
 * Interleave equal-length channels: `[a0 a1], [b0 b1]` → `a0 b0 a1 b1`.
 * @throws RangeError when the lengths differ
 */
export function interleave(channels: readonly Int16Array[]): Int16Array {
  const n = channels[0]?.length ?? 0;
  if (channels.some((c) => c.length !== n)) throw new RangeError("interleave: channels differ in length");
  const out = new Int16Array(n * channels.length);
  channels.forEach((c, ch) => {
    for (let i = 0; i < n; i++) out[i * channels.length + ch] = c[i]!;
  });
  return out;
}

/** Split interleaved PCM16 into its channels (the inverse of {@link interleave}; a partial last sample frame is dropped). */
export function deinterleave(pcm: Int16Array, channels: number): Int16Array[] {
  const n = Math.floor(pcm.length / channels);
  return Array.from({ length: channels }, (_, ch) => {
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = pcm[i * channels + ch]!;
    return out;
  });
}

/** Options of {@link MultiChannelCapture}: those of {@link CaptureCore}, plus the channel count. */
export interface MultiChannelOptions extends CaptureCoreOptions {
  /** Channels captured and sent (2: tab and microphone). */
  channels: number;
}

/** N input channels → interleaved 16 kHz PCM16 frames of `frameMs` of every channel. */
export class MultiChannelCapture {
  readonly channels: number;
  private readonly cores: CaptureCore[];
  /** Per channel: mono samples waiting for the other channels. */
  private queues: Int16Array[];
  private readonly frameLength: number;

  constructor(options: MultiChannelOptions) {
    if (!Number.isInteger(options.channels) || options.channels < 1 || options.channels > 8) throw new RangeError(`channels must be 1–8, got ${options.channels}`);
    this.channels = options.channels;
    this.cores = Array.from({ length: options.channels }, () => new CaptureCore(options));
    this.queues = this.cores.map(() => new Int16Array(0));
    this.frameLength = frameSamples(options.outputRate ?? TARGET_SAMPLE_RATE, options.frameMs ?? FRAME_MS);
  }

  /** Resolves once every channel's resampler is ready (or failed; see {@link error}). */
  async whenReady(): Promise<void> {
    await Promise.all(this.cores.map((c) => c.whenReady()));
  }

  /** The first channel's resampler failure, if any. */
  get error(): Error | undefined {
    return this.cores.find((c) => c.error)?.error;
  }

  /** Seconds of 16 kHz audio per channel produced so far (the longest channel). */
  get secondsOut(): number {
    return Math.max(...this.cores.map((c) => c.secondsOut));
  }

  /**
   * Feed one block: `inputs[c]` is channel c (a missing channel counts as silence).
   * @returns completed interleaved frames (`frameLength · channels` samples each)
   */
  process(inputs: readonly Float32Array[]): Int16Array[] {
    const length = inputs[0]?.length ?? 0;
    if (length === 0) return [];
    this.cores.forEach((core, ch) => {
      const block = inputs[ch] && inputs[ch]!.length === length ? inputs[ch]! : new Float32Array(length);
      this.enqueue(ch, core.process([block]));
    });
    return this.drain(false);
  }

  /** End of stream: every channel's tail, the shorter channels padded with silence. */
  async flush(): Promise<Int16Array[]> {
    const tails = await Promise.all(this.cores.map((c) => c.flush()));
    tails.forEach((frames, ch) => this.enqueue(ch, frames));
    return this.drain(true);
  }

  private enqueue(ch: number, frames: Int16Array[]): void {
    if (frames.length === 0) return;
    const queued = this.queues[ch]!;
    const joined = new Int16Array(queued.length + frames.reduce((n, f) => n + f.length, 0));
    joined.set(queued);
    let at = queued.length;
    for (const f of frames) {
      joined.set(f, at);
      at += f.length;
    }
    this.queues[ch] = joined;
  }

  private drain(final: boolean): Int16Array[] {
    const frames: Int16Array[] = [];
    const take = (n: number) => {
      frames.push(interleave(this.queues.map((q) => (q.length >= n ? q.subarray(0, n) : padded(q, n)))));
      this.queues = this.queues.map((q) => q.slice(Math.min(n, q.length)));
    };
    while (Math.min(...this.queues.map((q) => q.length)) >= this.frameLength) take(this.frameLength);
    if (final) {
      const longest = Math.max(...this.queues.map((q) => q.length));
      for (let left = longest; left > 0; left -= this.frameLength) take(Math.min(this.frameLength, left));
    }
    return frames;
  }
}

function padded(samples: Int16Array, n: number): Int16Array {
  const out = new Int16Array(n);
  out.set(samples.subarray(0, n));
  return out;
}
