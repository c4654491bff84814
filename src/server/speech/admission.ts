/**
 * Admission of live `/v1/listen` channels: every transcribed channel holds one engine decoder, so
 * the server admits channels (not sockets) up to a limit and refuses the rest before the WebSocket
 * handshake (HTTP 503 with `Retry-After`), instead of letting every admitted session fall behind.
 *
 * Default limit (`defaultMaxLiveChannels`), the smaller of:
 * - CPU: `CHANNELS_PER_CORE` × cores. A PocketSphinx stream needs 0.2–0.3 s of CPU per second of
 *   audio on one core (DESIGN.md §5); two per core leave room for the main thread, resampling and
 *   partial hypotheses, so admitted sessions keep real time.
 * - memory: half the machine's memory divided by `DECODER_MEMORY_BYTES` (~100 MB per PocketSphinx
 *   decoder, ~92 MB measured plus its share of buffers).
 * On the 2-core, 24 GiB development box that is min(4, 122) = 4 channels.
 */
import os from "node:os";

/** Live channels admitted per core by default (PocketSphinx RTF 0.2–0.3 per stream). */
export const CHANNELS_PER_CORE = 2;
/** Memory one live channel's decoder costs, bytes (PocketSphinx: ~92 MB measured). */
export const DECODER_MEMORY_BYTES = 100 * 1024 * 1024;
/** Share of the machine's memory live decoders may take by default. */
const MEMORY_SHARE = 0.5;

/**
 * The default live-channel limit for a machine.
 * @param machine cores and total memory (bytes); default: this machine (`os.availableParallelism()`, `os.totalmem()`)
 * @returns at least 1
 */
export function defaultMaxLiveChannels(machine: { cores: number; totalMemBytes: number } = { cores: os.availableParallelism(), totalMemBytes: os.totalmem() }): number {
  const byCpu = machine.cores * CHANNELS_PER_CORE;
  const byMemory = Math.floor((machine.totalMemBytes * MEMORY_SHARE) / DECODER_MEMORY_BYTES);
  return Math.max(1, Math.min(byCpu, byMemory));
}

/** Channels held by one session; release it when the session's decoders are gone. */
export interface ChannelLease {
  /** Channels held now. */
  readonly channels: number;
  /** Take `more` channels too (a WAV header said more than the query). @returns false (nothing taken) when over the limit */
  grow(more: number): boolean;
  /** Give every channel back. Idempotent. */
  release(): void;
}

/** Counts live channels against a limit. */
export class ChannelAdmission {
  private used = 0;

  /** @param limit channels admitted at once (≥ 1) */
  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`live channel limit must be a positive integer, got ${limit}`);
  }

  /** Channels held by sessions now. */
  get inUse(): number {
    return this.used;
  }

  /**
   * Admit a session of `channels` channels.
   * @returns its lease, or undefined when that would pass the limit (nothing is taken then)
   */
  tryAdmit(channels: number): ChannelLease | undefined {
    if (this.used + channels > this.limit) return undefined;
    this.used += channels;
    let held = channels;
    let released = false;
    return {
      get channels() {
        return held;
      },
      grow: (more: number) => {
        if (released || this.used + more > this.limit) return false;
        this.used += more;
        held += more;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= held;
      },
    };
  }
}
