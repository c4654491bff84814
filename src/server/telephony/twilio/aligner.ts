/**
 * Track aligner for Twilio Media Streams: Twilio sends each track's audio (`inbound`, `outbound`)
 * as separate `media` messages, each a chunk of μ-law 8 kHz (20 ms, 160 bytes) stamped with
 * `media.timestamp`, milliseconds since the stream started. The live-call hub takes one
 * interleaved stereo stream (channel 0 = agent = `outbound`, channel 1 = customer = `inbound`).
 *
 * The aligner places every chunk at its timestamp on its own track and emits interleaved stereo
 * (`A C A C …`, one byte per sample) up to the point both tracks cover:
 * - a chunk within `snapMs` of where its track left off continues it seamlessly (timestamps are
 *   whole milliseconds and jitter; they must not open 1-sample gaps or overlaps);
 * - a chunk further ahead leaves a gap, padded with μ-law silence (0xFF); a chunk that arrives late
 *   (reordered) fills its place if that place has not been emitted yet, else its late part is
 *   dropped and counted ({@link AlignerStats.lateSamples});
 * - a track that was not requested (`tracks: ["inbound"]`), or one that falls more than `leadMs`
 *   behind the other, is padded with silence, so a one-track stream still flows;
 * - a timestamp more than `maxGapMs` past its track's end is refused ({@link AlignerError}).
 *
 * Memory is bounded: each track holds at most `leadMs + maxGapMs + maxChunkMs` of audio not yet
 * emitted (the leading track never runs more than `leadMs` ahead of the emitted point).
 */

/** μ-law's silence code (the encoding of 0 with the sign bit set, as G.711 codecs emit it). */
export const MULAW_SILENCE = 0xff;

/** Samples per millisecond at 8 kHz. */
const PER_MS = 8;

/** Aligner settings, milliseconds. */
export interface AlignerOptions {
  /** Which tracks the stream carries (`start.tracks`); a missing track is silence. */
  tracks: readonly ("inbound" | "outbound")[];
  /** How far one track may run ahead of the other before the lagging one is padded. Default 500. */
  leadMs?: number;
  /** A chunk this close to its track's end continues it. Default 10. */
  snapMs?: number;
  /** Longest gap in one track padded with silence; more is refused. Default 10 000. */
  maxGapMs?: number;
  /** Longest chunk accepted. Default 1000. */
  maxChunkMs?: number;
}

/** Counters of what the aligner did, in samples (per track, 8000 per second). */
export interface AlignerStats {
  /** Samples of audio placed. */
  placedSamples: number;
  /** Samples of chunks that came after their place was emitted (dropped). */
  lateSamples: number;
  /** Samples of silence emitted in place of missing audio (gaps, a missing or lagging track). */
  paddedSamples: number;
  /** Stereo frames emitted. */
  emittedFrames: number;
}

/** A chunk the aligner refuses: its timestamp jumps too far ahead, or it is too long. */
export class AlignerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlignerError";
  }
}

/** Channel index of a track: outbound (agent) 0, inbound (customer) 1. */
export function channelOfTrack(track: "inbound" | "outbound"): 0 | 1 {
  return track === "outbound" ? 0 : 1;
}

class Track {
  /** Audio from absolute sample `origin` on; 0xFF where nothing was placed. */
  buf: Uint8Array;
  /** Absolute sample just after the last sample placed (the track's end). */
  end = 0;
  /** Samples placed at or after the emitted point (per buffer position), to count padding. */
  covered: Uint8Array;

  constructor(
    readonly expected: boolean,
    capacity: number,
  ) {
    this.buf = new Uint8Array(capacity).fill(MULAW_SILENCE);
    this.covered = new Uint8Array(capacity);
  }
}

/** Interleaves Twilio's per-track chunks into stereo μ-law by timestamp. See the module comment. */
export class TrackAligner {
  private readonly tracks: [Track, Track];
  private readonly leadSamples: number;
  private readonly snapSamples: number;
  private readonly maxGapSamples: number;
  private readonly maxChunkSamples: number;
  private readonly capacity: number;
  /** Absolute sample up to which stereo has been emitted. */
  private emitted = 0;
  readonly stats: AlignerStats = { placedSamples: 0, lateSamples: 0, paddedSamples: 0, emittedFrames: 0 };

  constructor(options: AlignerOptions) {
    this.leadSamples = Math.round((options.leadMs ?? 500) * PER_MS);
    this.snapSamples = Math.round((options.snapMs ?? 10) * PER_MS);
    this.maxGapSamples = Math.round((options.maxGapMs ?? 10_000) * PER_MS);
    this.maxChunkSamples = Math.round((options.maxChunkMs ?? 1000) * PER_MS);
    this.capacity = this.leadSamples + this.maxGapSamples + this.maxChunkSamples + this.snapSamples;
    this.tracks = [new Track(options.tracks.includes("outbound"), this.capacity), new Track(options.tracks.includes("inbound"), this.capacity)];
  }

  /** Samples held per track at most (the buffer size), for limits and tests. */
  get capacitySamples(): number {
    return this.capacity;
  }

  /** Samples per track not yet emitted, the larger of the two. */
  get bufferedSamples(): number {
    return Math.max(0, Math.max(this.tracks[0].end, this.tracks[1].end) - this.emitted);
  }

  /**
   * Place one chunk.
   * @param track the chunk's track
   * @param timestampMs `media.timestamp`, ms since the stream started
   * @param mulaw the chunk's μ-law bytes (one per sample)
   * @returns interleaved stereo μ-law now ready (possibly empty)
   * @throws AlignerError when the chunk is longer than `maxChunkMs`, or lies more than `maxGapMs`
   *   past its track's end
   */
  push(track: "inbound" | "outbound", timestampMs: number, mulaw: Uint8Array): Uint8Array {
    const t = this.tracks[channelOfTrack(track)];
    if (mulaw.length > this.maxChunkSamples) {
      throw new AlignerError(`media chunk of ${mulaw.length} bytes is longer than ${this.maxChunkSamples / PER_MS} ms of 8 kHz μ-law`);
    }
    let at = Math.round(timestampMs * PER_MS);
    if (Math.abs(at - t.end) <= this.snapSamples) at = t.end;
    if (at - t.end > this.maxGapSamples) {
      throw new AlignerError(`media.timestamp ${timestampMs} ms on track ${track} jumps ${((at - t.end) / PER_MS).toFixed(0)} ms past the track's end (at most ${this.maxGapSamples / PER_MS} ms)`);
    }
    let bytes = mulaw;
    if (at < this.emitted) {
      const late = Math.min(bytes.length, this.emitted - at);
      this.stats.lateSamples += late;
      bytes = bytes.subarray(late);
      at += late;
    }
    if (bytes.length > 0) {
      const offset = at - this.emitted;
      t.buf.set(bytes, offset);
      t.covered.fill(1, offset, offset + bytes.length);
      this.stats.placedSamples += bytes.length;
      t.end = Math.max(t.end, at + bytes.length);
    }
    return this.drain(false);
  }

  /** Emit everything placed so far (the stream's end), padding the shorter track. */
  flush(): Uint8Array {
    return this.drain(true);
  }

  private drain(all: boolean): Uint8Array {
    const [a, c] = this.tracks;
    const lead = Math.max(a.end, c.end);
    let upTo: number;
    if (all) upTo = lead;
    else {
      // Both expected tracks covered, or the leader too far ahead of a lagging/absent track.
      const expectedEnds = this.tracks.filter((t) => t.expected).map((t) => t.end);
      const covered = expectedEnds.length > 0 ? Math.min(...expectedEnds) : lead;
      upTo = Math.max(covered, lead - this.leadSamples);
    }
    const n = upTo - this.emitted;
    if (n <= 0) return new Uint8Array(0);
    const out = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) {
      out[2 * i] = a.buf[i]!;
      out[2 * i + 1] = c.buf[i]!;
    }
    for (const t of this.tracks) {
      let placed = 0;
      for (let i = 0; i < n; i++) placed += t.covered[i]!;
      this.stats.paddedSamples += n - placed;
      // Shift what is left to the front; the freed tail is silence again.
      const used = Math.max(0, t.end - this.emitted);
      t.buf.copyWithin(0, n, Math.max(n, used));
      t.covered.copyWithin(0, n, Math.max(n, used));
      const from = Math.max(0, used - n);
      t.buf.fill(MULAW_SILENCE, from, Math.max(from, used));
      t.covered.fill(0, from, Math.max(from, used));
      if (t.end < upTo) t.end = upTo; // a padded track continues after the padding
    }
    // Note: a track whose end was moved up to `upTo` was padded; its next chunk snaps or gaps from there.
    this.emitted = upTo;
    this.stats.emittedFrames += n;
    return out;
  }
}
