/**
 * An audio source for controller tests that plays real recorded speech (16 kHz mono PCM16) as
 * 100 ms frames, paced faster than real time: what the microphone worklet delivers, without a
 * browser. Real audio, not a stand-in: the capture path itself is tested in capture-core.test.ts.
 */
import type { AudioCapture, AudioSink, OpenAudioOptions } from "../../src/transcriber/session/controller";

/** What {@link fileAudioSource} returns: the controller's `OpenAudio`, and when playback is done. */
export interface FileAudioSource {
  open: (sink: AudioSink, options?: OpenAudioOptions) => Promise<AudioCapture>;
  /** Resolves when every frame has been delivered (or the capture was stopped). */
  done: Promise<void>;
}

/**
 * @param pcm 16 kHz samples, mono or interleaved (`channels`)
 * @param paceMs wall-clock ms between 100 ms frames (10 = 10× real time)
 * @param endsByItself call `onEnded` after the last frame, like a track that stops
 * @param channels interleaved channels in `pcm` (frames hold 100 ms of each)
 */
export function fileAudioSource(pcm: Int16Array, paceMs = 10, endsByItself = false, channels = 1): FileAudioSource {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const step = 1600 * channels; // 100 ms of every channel
  const open = async (sink: AudioSink): Promise<AudioCapture> => {
    let stopped = false;
    void (async () => {
      for (let at = 0; at < pcm.length && !stopped; at += step) {
        sink.onFrame(pcm.slice(at, Math.min(pcm.length, at + step)));
        await new Promise((r) => setTimeout(r, paceMs));
      }
      finish();
      if (endsByItself && !stopped) sink.onEnded();
    })();
    return {
      label: "file",
      async stop() {
        stopped = true;
        finish();
      },
    };
  };
  return { open, done };
}
