/**
 * The capture pipeline run inside the AudioWorklet, kept free of worklet globals so it is
 * unit-tested in Node: render quanta (any channel count, at the AudioContext's rate) → mono →
 * band-limited resampling to 16 kHz → PCM16 → frames of 100 ms (1600 samples).
 *
 * Resampling is libsamplerate's (Secret Rabbit Code, band-limited sinc) through
 * `@alexanderolsen/libsamplerate-js`, the same library the speech server uses; the package ships a
 * build for AudioWorkletGlobalScope (`dist/libsamplerate.worklet.js`). Its converter is created
 * asynchronously, so {@link CaptureCore} buffers the input that arrives before it is ready.
 */
import { FRAME_MS, Pcm16Framer, TARGET_SAMPLE_RATE, floatToPcm16, frameSamples } from "./pcm";

/** libsamplerate's stateful `full` API for one mono stream (an `SRC` instance). */
export interface StreamConverter {
  /** Resample the next chunk, keeping filter state; returns the output produced so far. */
  full(input: Float32Array): Float32Array;
  destroy(): void;
}

/** libsamplerate converter types (`ConverterType` of the package; libsamplerate's `src_new` codes). */
export const ConverterQuality = { best: 0, medium: 1, fastest: 2 } as const;

/** The package's `create` (same signature in the Node and worklet builds). */
export type CreateConverter = (
  channels: number,
  inputRate: number,
  outputRate: number,
  options: { converterType: number },
) => Promise<StreamConverter>;

/**
 * Average the channels of one block into mono.
 * @param channels one Float32Array per channel, equal lengths (a render quantum is 128 frames)
 * @returns a new mono array; empty when there are no channels
 */
export function downmixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  const first = channels[0]!;
  if (channels.length === 1) return first.slice();
  const out = new Float32Array(first.length);
  for (const ch of channels) for (let i = 0; i < out.length; i++) out[i] += ch[i]!;
  const scale = 1 / channels.length;
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/** Output samples for `inputSamples` at `inputRate`: ceil(n · out / in). */
export function expectedOutputLength(inputSamples: number, inputRate: number, outputRate: number): number {
  return Math.ceil((inputSamples * outputRate) / inputRate - 1e-9);
}

/** Options of {@link CaptureCore}. */
export interface CaptureCoreOptions {
  /** The AudioContext's sample rate in Hz (a worklet's global `sampleRate`). */
  inputRate: number;
  /** libsamplerate's `create` (Node build in tests, worklet build in the browser). */
  createConverter: CreateConverter;
  /** Output rate in Hz. Default 16000. */
  outputRate?: number;
  /** Frame length in ms. Default 100. */
  frameMs?: number;
  /** libsamplerate quality. Default medium (90 % bandwidth: 7.2 kHz of the 8 kHz Nyquist at 16 kHz). */
  quality?: number;
}

/** Mono → 16 kHz PCM16 frames. One instance per capture stream. */
export class CaptureCore {
  readonly inputRate: number;
  readonly outputRate: number;
  private readonly framer: Pcm16Framer;
  private converter: StreamConverter | undefined;
  private readonly ready: Promise<void>;
  private failure: Error | undefined;
  private pending: Float32Array[] = [];
  private samplesIn = 0;
  private samplesOut = 0;

  constructor(options: CaptureCoreOptions) {
    this.inputRate = options.inputRate;
    this.outputRate = options.outputRate ?? TARGET_SAMPLE_RATE;
    this.framer = new Pcm16Framer(frameSamples(this.outputRate, options.frameMs ?? FRAME_MS));
    const quality = options.quality ?? ConverterQuality.medium;
    this.ready =
      this.inputRate === this.outputRate
        ? Promise.resolve()
        : options.createConverter(1, this.inputRate, this.outputRate, { converterType: quality }).then(
            (c) => void (this.converter = c),
            (e: unknown) => void (this.failure = new Error(`resampler failed to start: ${String((e as Error)?.message ?? e)}`)),
          );
  }

  /** Resolves once the resampler is ready (or failed; see {@link error}). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Why the resampler could not start, if it could not. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Seconds of 16 kHz audio produced so far. */
  get secondsOut(): number {
    return this.samplesOut / this.outputRate;
  }

  /**
   * Feed one block of input. Before the resampler is ready the block is kept and converted later.
   * @param channels one Float32Array per input channel (equal lengths); none (no input yet) is a no-op
   * @returns completed PCM16 frames of `frameMs` each
   */
  process(channels: readonly Float32Array[]): Int16Array[] {
    if (channels.length === 0 || channels[0]!.length === 0) return [];
    const mono = downmixToMono(channels);
    this.samplesIn += mono.length;
    if (this.needsConverter() && !this.converter) {
      this.pending.push(mono);
      return [];
    }
    const frames: Int16Array[] = [];
    for (const block of this.drainPending()) frames.push(...this.emit(this.convert(block)));
    frames.push(...this.emit(this.convert(mono)));
    return frames;
  }

  /**
   * End of stream: pushes the filter's tail out with silence and trims the output to exactly
   * ceil(inputSamples · out / in) samples, so the audio keeps its length; returns the remaining
   * frames, the last one possibly shorter.
   */
  async flush(): Promise<Int16Array[]> {
    await this.ready;
    const frames: Int16Array[] = [];
    for (const block of this.drainPending()) frames.push(...this.emit(this.convert(block)));
    if (this.needsConverter() && this.converter) {
      const want = expectedOutputLength(this.samplesIn, this.inputRate, this.outputRate) - this.samplesOut;
      // libsamplerate holds back less than its filter length (a few hundred input samples).
      let tail = this.convert(new Float32Array(Math.ceil(this.inputRate / 20)));
      tail = tail.subarray(0, Math.max(0, want));
      frames.push(...this.emit(tail));
      this.converter.destroy();
      this.converter = undefined;
    }
    const last = this.framer.flush();
    if (last) frames.push(last);
    return frames;
  }

  private needsConverter(): boolean {
    return this.inputRate !== this.outputRate && !this.failure;
  }

  private *drainPending(): Generator<Float32Array> {
    const blocks = this.pending;
    this.pending = [];
    yield* blocks;
  }

  private convert(block: Float32Array): Float32Array {
    if (this.inputRate === this.outputRate) return block;
    if (!this.converter) return new Float32Array(0); // failed: see `error`
    return this.converter.full(block);
  }

  private emit(samples: Float32Array): Int16Array[] {
    this.samplesOut += samples.length;
    return this.framer.push(floatToPcm16(samples));
  }
}
