/**
 * AudioWorklet processor `callscribe-pcm16`: runs {@link CaptureCore} on the audio thread and
 * posts 100 ms frames of 16 kHz mono PCM16 to the main thread; with `processorOptions.channels`
 * = N > 1 it keeps the input's N channels apart ({@link MultiChannelCapture}) and posts frames
 * interleaved `c0 c1 …` (a browser tab on channel 0, the microphone on channel 1).
 *
 * Port protocol (main ↔ worklet):
 * - worklet → main `{type: "frame", pcm: ArrayBuffer}` (Int16 samples; the buffer is transferred)
 * - worklet → main `{type: "error", message}` when the resampler cannot start
 * - main → worklet `{type: "flush"}`; worklet → main the remaining frames, then
 *   `{type: "flushed", seconds}`, and the processor ends (returns false from `process`).
 *
 * Bundled by Vite as its own chunk through `?worker&url` (see ./microphone.ts), with
 * libsamplerate-js's worklet build inlined (WASM embedded; it needs no fetch in the worklet).
 */
import { create } from "@alexanderolsen/libsamplerate-js/dist/libsamplerate.worklet.js";
import { CaptureCore, type CreateConverter } from "./capture-core";
import { MultiChannelCapture } from "./multichannel";

// AudioWorkletGlobalScope globals (not in TypeScript's DOM lib).
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new (options?: { processorOptions?: { channels?: number } }) => AudioWorkletProcessor): void;

/** The part of CaptureCore and MultiChannelCapture the processor uses. */
type Core = Pick<CaptureCore, "whenReady" | "error" | "secondsOut" | "process" | "flush">;

class Pcm16CaptureProcessor extends AudioWorkletProcessor {
  private readonly core: Core;
  private done = false;

  constructor(options?: { processorOptions?: { channels?: number } }) {
    super();
    const channels = options?.processorOptions?.channels ?? 1;
    const core = { inputRate: sampleRate, createConverter: create as CreateConverter };
    this.core = channels > 1 ? new MultiChannelCapture({ ...core, channels }) : new CaptureCore(core);
    void this.core.whenReady().then(() => {
      if (this.core.error) this.port.postMessage({ type: "error", message: this.core.error.message });
    });
    this.port.onmessage = (event: MessageEvent<{ type?: string }>) => {
      if (event.data?.type !== "flush" || this.done) return;
      this.done = true;
      void this.core.flush().then(
        (frames) => {
          this.post(frames);
          this.port.postMessage({ type: "flushed", seconds: this.core.secondsOut });
        },
        (err: unknown) => this.port.postMessage({ type: "error", message: `flush failed: ${err instanceof Error ? err.message : String(err)}` }),
      );
    };
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.done) return false;
    this.post(this.core.process(inputs[0] ?? []));
    return true;
  }

  private post(frames: Int16Array[]): void {
    for (const frame of frames) this.port.postMessage({ type: "frame", pcm: frame.buffer }, [frame.buffer]);
  }
}

registerProcessor("callscribe-pcm16", Pcm16CaptureProcessor);
