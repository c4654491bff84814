/**
 * The main-thread side of the `callscribe-pcm16` AudioWorklet (./capture-worklet.ts), shared by
 * the microphone and the browser-tab capture: load the module into an AudioContext, connect a
 * source node to the processor (mono, or N channels kept apart), deliver its frames, and flush
 * it on stop (port protocol in capture-worklet.ts).
 */
import workletUrl from "./capture-worklet.ts?worker&url";

/** The processor name registered by ./capture-worklet.ts. */
const PROCESSOR = "callscribe-pcm16";

/** Callbacks of a worklet capture. */
export interface WorkletSink {
  /** 100 ms of 16 kHz PCM16 (interleaved when `channels` > 1); the last may be shorter. */
  onFrame: (pcm: Int16Array) => void;
  /** The worklet cannot process audio (its resampler failed to start). */
  onError?: (error: Error) => void;
}

/**
 * Load the worklet module and make sure the context runs.
 * @throws Error when the module cannot load, or the browser keeps audio suspended (autoplay policy)
 */
export async function prepareCaptureContext(context: AudioContext): Promise<void> {
  await context.audioWorklet.addModule(workletUrl);
  if (context.state !== "running") await resumeWithin(context, 2000);
}

/**
 * Connect `source` to a new processor and start delivering frames.
 * @param channels 1: the source is downmixed to mono; N > 1: its N channels stay apart, interleaved
 * @returns `flush`: stop feeding, deliver the last frames, disconnect; resolves with the seconds
 *   delivered (-1 when the worklet did not answer within 2 s, e.g. a suspended context)
 */
export function startCaptureWorklet(context: AudioContext, source: AudioNode, channels: number, sink: WorkletSink): { flush(): Promise<number> } {
  const node = new AudioWorkletNode(context, PROCESSOR, {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: Math.max(2, channels),
    channelCountMode: "explicit",
    // Mono: the processor averages what it gets; several channels: each its own party, never mixed.
    channelInterpretation: channels > 1 ? "discrete" : "speakers",
    processorOptions: { channels },
  });
  // Chromium only pulls nodes that reach the destination; a muted gain keeps it pulled silently.
  const mute = context.createGain();
  mute.gain.value = 0;
  source.connect(node).connect(mute).connect(context.destination);

  let flushed: (seconds: number) => void = () => undefined;
  const whenFlushed = new Promise<number>((resolve) => (flushed = resolve));
  node.port.onmessage = (event: MessageEvent<{ type: string; pcm?: ArrayBuffer; seconds?: number; message?: string }>) => {
    const msg = event.data;
    if (msg.type === "frame" && msg.pcm) sink.onFrame(new Int16Array(msg.pcm));
    else if (msg.type === "flushed") flushed(msg.seconds ?? 0);
    else if (msg.type === "error") sink.onError?.(new Error(msg.message ?? "audio worklet failed"));
  };
  return {
    async flush() {
      source.disconnect();
      node.port.postMessage({ type: "flush" });
      // The worklet answers within a render quantum or two while the context runs; don't hang if it was suspended.
      const seconds = await Promise.race([whenFlushed, new Promise<number>((r) => setTimeout(() => r(-1), 2000))]);
      node.disconnect();
      return seconds;
    },
  };
}

/** Resume a suspended AudioContext, or explain why it stays suspended. */
async function resumeWithin(context: AudioContext, ms: number): Promise<void> {
  await Promise.race([context.resume(), new Promise((r) => setTimeout(r, ms))]);
  if ((context.state as string) !== "running") {
    throw new Error(
      `audio context is ${context.state}: the browser blocked audio before a user gesture; click Dictate, or allow autoplay for this app`,
    );
  }
}
