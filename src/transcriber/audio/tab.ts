/**
 * A browser tab's audio as a capture source (issue 8 §3: the analyst's earnings call in a tab):
 * `getDisplayMedia` with audio (browsers require video as well; its track is stopped at once and
 * only the audio kept), optionally with the microphone as a second channel.
 *
 * - Tab only: one channel, the tab's audio downmixed to mono ("Webcast").
 * - Tab + microphone: a ChannelMergerNode puts the tab on channel 0 and the microphone on
 *   channel 1 (each input downmixed to mono by the merger), and the worklet sends them
 *   interleaved for `/v1/listen?multichannel=true&channels=2`.
 *
 * The user picks the tab in the browser's picker and must leave "share tab audio" ticked; a
 * shared window or screen has no audio in most browsers, which is refused with that advice.
 */
import { RAW_AUDIO_CONSTRAINTS } from "./microphone";
import { prepareCaptureContext, startCaptureWorklet } from "./worklet-node";

/** Options of {@link openTabAudio}. */
export interface TabAudioOptions {
  /** The microphone as channel 1 too. */
  withMicrophone: boolean;
  /** 100 ms frames of 16 kHz PCM16: mono, or interleaved tab/microphone with the microphone. */
  onFrame: (pcm: Int16Array) => void;
  /** The user stopped sharing (the browser's "Stop sharing"), or the microphone went away. */
  onEnded?: () => void;
  onError?: (error: Error) => void;
}

/** A running tab capture. */
export interface TabCapture {
  readonly inputRate: number;
  /** e.g. the tab's title as the browser labels the track, plus the microphone's. */
  readonly label: string;
  /** Channels in each frame (1 or 2). */
  readonly channels: number;
  /** Flush the last frames, stop the tracks, close the context. Idempotent. @returns seconds delivered */
  stop(): Promise<number>;
}

/** What getDisplayMedia is asked for: a tab, with its audio, still playing locally. */
export const TAB_CONSTRAINTS = {
  video: true,
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, suppressLocalAudioPlayback: false },
  preferCurrentTab: false,
  selfBrowserSurface: "exclude",
  surfaceSwitching: "include",
  systemAudio: "exclude",
} as DisplayMediaStreamOptions;

/**
 * Ask the user for a tab and start delivering its audio (and the microphone's).
 * @throws Error with a readable message when screen capture is unavailable, the user cancels,
 *   the shared surface has no audio, or the microphone is refused
 */
export async function openTabAudio(options: TabAudioOptions): Promise<TabCapture> {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new Error("tab capture unavailable: this browser has no getDisplayMedia (it needs a secure context: https, localhost or 127.0.0.1)");
  }
  let display: MediaStream;
  try {
    display = await navigator.mediaDevices.getDisplayMedia(TAB_CONSTRAINTS);
  } catch (err) {
    const name = (err as DOMException)?.name ?? "Error";
    throw new Error(name === "NotAllowedError" ? "tab capture cancelled or refused: pick the tab with the webcast and share it" : `tab capture failed (${name}): ${(err as Error)?.message ?? String(err)}`);
  }
  display.getVideoTracks().forEach((t) => t.stop()); // only the sound is wanted
  const tabTrack = display.getAudioTracks()[0];
  if (!tabTrack) {
    display.getTracks().forEach((t) => t.stop());
    throw new Error("the shared surface has no audio: share a browser tab and leave \"Also share tab audio\" ticked");
  }
  let mic: MediaStream | undefined;
  const stopTracks = () => [...display.getTracks(), ...(mic?.getTracks() ?? [])].forEach((t) => t.stop());
  if (options.withMicrophone) {
    try {
      mic = await navigator.mediaDevices.getUserMedia(RAW_AUDIO_CONSTRAINTS);
    } catch (err) {
      stopTracks();
      throw new Error(`microphone refused (${(err as DOMException)?.name ?? "Error"}): ${(err as Error)?.message ?? String(err)}; choose "Browser tab" to capture the tab alone`);
    }
  }
  const context = new AudioContext();
  try {
    await prepareCaptureContext(context);
  } catch (err) {
    stopTracks();
    await context.close().catch(() => undefined);
    throw err;
  }
  const tabSource = context.createMediaStreamSource(new MediaStream([tabTrack]));
  let input: AudioNode = tabSource;
  const channels = mic ? 2 : 1;
  if (mic) {
    const merger = context.createChannelMerger(2); // each input is downmixed to one channel
    tabSource.connect(merger, 0, 0);
    context.createMediaStreamSource(mic).connect(merger, 0, 1);
    input = merger;
  }
  const worklet = startCaptureWorklet(context, input, channels, options);
  tabTrack.addEventListener("ended", () => options.onEnded?.());
  mic?.getAudioTracks()[0]?.addEventListener("ended", () => options.onEnded?.());

  let stopping: Promise<number> | undefined;
  return {
    inputRate: context.sampleRate,
    label: [tabTrack.label || "browser tab", mic?.getAudioTracks()[0]?.label].filter(Boolean).join(" + "),
    channels,
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
