/**
 * AudioHook media: choosing among the client's offers, and turning its binary frames into the
 * live call's audio (PCMU 8000 Hz, 2 channels interleaved, channel 0 = agent = `internal`,
 * channel 1 = customer = `external`; see `live-calls/types.ts`).
 */
import type { MediaChannel, MediaParameter } from "./messages";

/** μ-law silence (0xFF encodes +0). */
export const MULAW_SILENCE = 0xff;

/** Our channel index of an AudioHook channel: `internal` = agent = 0, `external` = customer = 1. */
export function callChannelOf(channel: MediaChannel): 0 | 1 {
  return channel === "internal" ? 0 : 1;
}

const isPcmu8k = (m: MediaParameter) => m.type === "audio" && m.format === "PCMU" && m.rate === 8000;
const known = (c: string): c is MediaChannel => c === "external" || c === "internal";

/**
 * The offer to select: the first PCMU 8000 Hz offer with both `external` and `internal`
 * (either order), else the first PCMU 8000 Hz mono offer of either channel.
 * @returns the offer as given (echoed in `opened`), or undefined when none can be taken
 */
export function selectMedia(offers: readonly MediaParameter[]): MediaParameter | undefined {
  const pcmu = offers.filter(isPcmu8k);
  const stereo = pcmu.find((m) => m.channels.length === 2 && m.channels.every(known) && m.channels[0] !== m.channels[1]);
  return stereo ?? pcmu.find((m) => m.channels.length === 1 && known(m.channels[0]!));
}

/** A short description of what this server accepts, for a refusal. */
export const SUPPORTED_MEDIA = 'PCMU at 8000 Hz with channels ["external","internal"] (either order) or one of them';

/**
 * Converts frames of the selected media into the call's interleaved stereo (agent, customer).
 * Stereo in our order passes through; the other order swaps each byte pair; mono fills the other
 * channel with μ-law silence.
 */
export class FrameConverter {
  /** Channels per sample frame on the wire (1 or 2). */
  readonly wireChannels: number;
  private readonly mode: "pass" | "swap" | "mono-agent" | "mono-customer";

  constructor(readonly media: MediaParameter) {
    const ch = media.channels as MediaChannel[];
    this.wireChannels = ch.length;
    if (ch.length === 2) this.mode = callChannelOf(ch[0]!) === 0 ? "pass" : "swap";
    else this.mode = callChannelOf(ch[0]!) === 0 ? "mono-agent" : "mono-customer";
  }

  /** Seconds of audio in a wire frame of `bytes` bytes. */
  seconds(bytes: number): number {
    return bytes / this.wireChannels / this.media.rate;
  }

  /** A wire frame (length a multiple of {@link wireChannels}) as (agent, customer) interleaved bytes. */
  convert(frame: Uint8Array): Uint8Array {
    if (this.mode === "pass") return frame;
    if (this.mode === "swap") {
      const out = new Uint8Array(frame.length);
      for (let i = 0; i + 1 < frame.length; i += 2) {
        out[i] = frame[i + 1]!;
        out[i + 1] = frame[i]!;
      }
      return out;
    }
    const out = new Uint8Array(frame.length * 2).fill(MULAW_SILENCE);
    const at = this.mode === "mono-agent" ? 0 : 1;
    for (let i = 0; i < frame.length; i++) out[2 * i + at] = frame[i]!;
    return out;
  }

  /** The selected media's `channelId` (index in `channels`) of our call channel, or undefined if not streamed. */
  channelIdOf(callChannel: number): number | undefined {
    const i = (this.media.channels as MediaChannel[]).findIndex((c) => callChannelOf(c) === callChannel);
    return i >= 0 ? i : undefined;
  }
}
