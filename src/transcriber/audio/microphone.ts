/**
 * Microphone capture in the browser: getUserMedia → MediaStreamAudioSourceNode → the
 * `callscribe-pcm16` AudioWorklet → 100 ms frames of 16 kHz mono PCM16.
 *
 * Echo cancellation, noise suppression and automatic gain control are switched off: speech
 * recognisers want the raw signal, and with any of them on Chromium's capture of a known file
 * correlated only r = 0.63 with the file (DESIGN §8). The track comes at the device's rate
 * (Chromium's fake device: 44.1 kHz stereo) whatever we ask, so the worklet resamples.
 */
import { prepareCaptureContext, startCaptureWorklet } from "./worklet-node";

/** Constraints for getUserMedia: raw audio, no browser processing. */
export const RAW_AUDIO_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};

/** A running capture. */
export interface MicrophoneCapture {
  /** The AudioContext rate the worklet resamples from, Hz. */
  readonly inputRate: number;
  /** The device track's label, for display. */
  readonly label: string;
  /**
   * Stop capturing: flushes the worklet (the last, possibly short, frame is delivered through
   * `onFrame` before this resolves), stops the tracks and closes the AudioContext. Idempotent.
   * @returns seconds of 16 kHz audio delivered in total
   */
  stop(): Promise<number>;
}

/** Options of {@link openMicrophone}. */
export interface MicrophoneOptions {
  /** Receives each frame (1600 samples = 100 ms at 16 kHz; the last may be shorter). */
  onFrame: (pcm: Int16Array) => void;
  /** Called when the track ends by itself (device unplugged, permission revoked). */
  onEnded?: () => void;
  /** Called when the worklet cannot process audio (its resampler failed to start). */
  onError?: (error: Error) => void;
}

/**
 * Open the microphone and start delivering PCM16 frames.
 * @throws Error with a readable message when getUserMedia is unavailable (insecure context),
 *   permission is denied, or the AudioContext cannot run (e.g. autoplay policy without a user gesture)
 */
export async function openMicrophone(options: MicrophoneOptions): Promise<MicrophoneCapture> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error("microphone unavailable: getUserMedia needs a secure context (https, localhost or 127.0.0.1)");
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(RAW_AUDIO_CONSTRAINTS);
  } catch (err) {
    const name = (err as DOMException)?.name ?? "Error";
    throw new Error(`microphone refused (${name}): ${(err as Error)?.message ?? String(err)}`);
  }
  const context = new AudioContext();
  const stopTracks = () => stream.getTracks().forEach((t) => t.stop());
  try {
    await prepareCaptureContext(context);
  } catch (err) {
    stopTracks();
    await context.close().catch(() => undefined);
    throw err;
  }
  const worklet = startCaptureWorklet(context, context.createMediaStreamSource(stream), 1, options);
  const track = stream.getAudioTracks()[0];
  track?.addEventListener("ended", () => options.onEnded?.());

  let stopping: Promise<number> | undefined;
  return {
    inputRate: context.sampleRate,
    label: track?.label ?? "microphone",
    stop() {
      stopping ??= (async () => {
        const seconds = await worklet.flush();
        stopTracks();
        await context.close().catch(() => undefined);
        return seconds;
      })();
      return stopping;
    },
  };
}
