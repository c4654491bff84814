/**
 * Pre-recorded transcription with Whisper: find the speech with the VAD, pack the speech regions into
 * buffers of at most ~28 s with the silence between them cut out (0.3 s of silence kept between two
 * regions), decode each buffer once, and map the words back to recording time. The same idea as
 * faster-whisper's `vad_filter`: Whisper never sees long silences (where it hallucinates), and a
 * recording costs one 30 s encoder window per ~28 s of speech rather than one per utterance.
 * Each speech region becomes one utterance (`EngineHypothesis`).
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { EngineHypothesis } from "../engine.js";
import { checkHypothesis, type AudioStats, type GuardOptions } from "./guards.js";
import { toHypothesis } from "./hypothesis.js";
import type { DecodeResult } from "./protocol.js";
import { FRAME_SAMPLES, FRAME_SEC, FrameVad, VadSegmenter, type VadOptions } from "./vad.js";
import type { WhisperWord } from "./words.js";

/** Sample rate, Hz. */
const RATE = 16_000;

/** A stretch of speech (with pre- and post-roll). Frames of 20 ms from the recording start. */
export interface SpeechRegion {
  startFrame: number;
  endFrame: number;
  stats: AudioStats;
}

/** One region's place in a packed buffer, in samples. */
export interface ChunkPiece {
  region: SpeechRegion;
  /** First sample of the region in the recording. */
  sourceStart: number;
  length: number;
  /** First sample of the region in the buffer. */
  bufferStart: number;
}

/** Speech regions packed into one decode buffer. */
export interface Chunk {
  pieces: ChunkPiece[];
  /** Buffer length, samples (pieces plus the silences between them). */
  samples: number;
}

/** Frames between yields to the event loop while running the VAD over a recording (10 s of audio). */
const VAD_FRAMES_PER_SLICE = 500;

/**
 * Run the VAD over a whole recording (mono 16 kHz PCM16), yielding to the event loop every 10 s of
 * audio. A trailing part shorter than one frame is ignored.
 */
export async function findSpeechRegions(pcm: Int16Array, options: VadOptions): Promise<SpeechRegion[]> {
  const vad = await FrameVad.create(options);
  const segmenter = new VadSegmenter(options);
  const regions: SpeechRegion[] = [];
  let open: number | undefined;
  const take = (events: ReturnType<VadSegmenter["push"]>) => {
    for (const e of events) {
      if (e.type === "start") open = e.audioStartFrame;
      else if (open !== undefined) {
        regions.push({ startFrame: open, endFrame: e.audioEndFrame, stats: e.stats });
        open = undefined;
      }
    }
  };
  try {
    const frames = Math.floor(pcm.length / FRAME_SAMPLES);
    for (let f = 0; f < frames; f++) {
      const { voiced, dbfs } = vad.classify(pcm.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES));
      take(segmenter.push(voiced, dbfs));
      if ((f + 1) % VAD_FRAMES_PER_SLICE === 0) await yieldToLoop();
    }
    take(segmenter.flush());
  } finally {
    vad.free();
  }
  return regions;
}

/**
 * Packs regions, in order, into buffers of at most `maxChunkSec`, with `gapSec` of silence between
 * two regions of a buffer, one region at a time: a buffer is complete (returned by `add`) as soon as
 * the next region does not fit, so a recording fed in chunks (`recording.ts`) gets exactly the
 * buffers {@link packChunks} makes for the whole recording. A region longer than `maxChunkSec` gets
 * a buffer of its own (the VAD cuts utterances at `maxUtteranceSec` < 30 s, so this does not happen
 * with valid options).
 */
export class ChunkPacker {
  private readonly max: number;
  private readonly gap: number;
  private current: Chunk | undefined;

  constructor(maxChunkSec = 28, gapSec = 0.3) {
    this.max = Math.round(maxChunkSec * RATE);
    this.gap = Math.round(gapSec * RATE);
  }

  /** Add the next region. @returns the buffer it closed (the region did not fit in it), if any */
  add(region: SpeechRegion): Chunk | undefined {
    const length = (region.endFrame - region.startFrame) * FRAME_SAMPLES;
    if (length <= 0) return undefined;
    let closed: Chunk | undefined;
    if (this.current && this.current.samples + this.gap + length > this.max) {
      closed = this.current;
      this.current = undefined;
    }
    this.current ??= { pieces: [], samples: 0 };
    const chunk = this.current;
    const bufferStart = chunk.pieces.length ? chunk.samples + this.gap : 0;
    chunk.pieces.push({ region, sourceStart: region.startFrame * FRAME_SAMPLES, length, bufferStart });
    chunk.samples = bufferStart + length;
    return closed;
  }

  /** The last, open buffer (none when no region was added since the last one closed). */
  finish(): Chunk | undefined {
    const last = this.current;
    this.current = undefined;
    return last;
  }
}

/** Pack all regions at once (see {@link ChunkPacker}). Pure. */
export function packChunks(regions: readonly SpeechRegion[], maxChunkSec = 28, gapSec = 0.3): Chunk[] {
  const packer = new ChunkPacker(maxChunkSec, gapSec);
  const chunks: Chunk[] = [];
  for (const region of regions) {
    const closed = packer.add(region);
    if (closed) chunks.push(closed);
  }
  const last = packer.finish();
  if (last) chunks.push(last);
  return chunks;
}

/** The chunk's audio as floats in [−1, 1] (silence between pieces), read from the whole recording. */
export function chunkAudio(pcm: Int16Array, chunk: Chunk): Float32Array {
  return chunkAudioFrom(chunk, (p) => pcm.subarray(p.sourceStart, Math.min(pcm.length, p.sourceStart + p.length)));
}

/**
 * The chunk's audio as floats in [−1, 1] (silence between pieces), each piece's samples from `read`
 * (PCM16, at most `piece.length`; fewer leave silence).
 */
export function chunkAudioFrom(chunk: Chunk, read: (piece: ChunkPiece) => Int16Array): Float32Array {
  const out = new Float32Array(chunk.samples);
  for (const p of chunk.pieces) {
    const samples = read(p);
    const n = Math.min(samples.length, p.length);
    for (let i = 0; i < n; i++) {
      const v = samples[i]!;
      out[p.bufferStart + i] = v > 0 ? v / 32767 : v / 32768;
    }
  }
  return out;
}

/** Index of the piece holding buffer time `sec` (a time in a gap belongs to the piece before it). */
function pieceAt(chunk: Chunk, sec: number): number {
  const sample = sec * RATE;
  let found = 0;
  chunk.pieces.forEach((p, i) => {
    if (sample >= p.bufferStart) found = i;
  });
  return found;
}

/** Map a buffer time (seconds) to recording time (seconds), clamped into its piece. */
export function toRecordingTime(chunk: Chunk, sec: number, pieceIndex = pieceAt(chunk, sec)): number {
  const p = chunk.pieces[pieceIndex]!;
  const offset = Math.min(p.length, Math.max(0, sec * RATE - p.bufferStart));
  return (p.sourceStart + offset) / RATE;
}

/**
 * Split a buffer's words (buffer times) by region and convert their times to recording time. A word
 * belongs to the piece that holds its midpoint; its start and end are clamped into that piece.
 * @returns one word list per piece, in piece order
 */
export function splitWordsByRegion(chunk: Chunk, words: readonly WhisperWord[]): WhisperWord[][] {
  const out: WhisperWord[][] = chunk.pieces.map(() => []);
  for (const w of words) {
    const i = pieceAt(chunk, (w.start + w.end) / 2);
    out[i]!.push({ ...w, start: toRecordingTime(chunk, w.start, i), end: toRecordingTime(chunk, w.end, i) });
  }
  return out;
}

/** Statistics of a chunk: its regions' together. */
export function chunkStats(chunk: Chunk): AudioStats {
  let duration = 0;
  let voiced = 0;
  let power = 0;
  for (const { region } of chunk.pieces) {
    duration += region.stats.durationSec;
    voiced += region.stats.voicedSec;
    if (Number.isFinite(region.stats.rmsDbfs)) power += 10 ** (region.stats.rmsDbfs / 10) * region.stats.durationSec;
  }
  return { durationSec: duration, voicedSec: voiced, rmsDbfs: duration > 0 && power > 0 ? 10 * Math.log10(power / duration) : -Infinity };
}

/**
 * The utterances of one decoded buffer: the buffer's words checked by the hallucination guards
 * against the buffer's statistics, split by region, each region checked again and made one
 * hypothesis (recording times); regions left without words are dropped.
 */
export function chunkHypotheses(chunk: Chunk, result: DecodeResult, guards: GuardOptions): EngineHypothesis[] {
  const out: EngineHypothesis[] = [];
  const verdict = checkHypothesis(result, chunkStats(chunk), guards);
  if (!verdict.keep) return out;
  splitWordsByRegion(chunk, verdict.words).forEach((words, i) => {
    const region = chunk.pieces[i]!.region;
    const kept = checkHypothesis({ text: words.map((w) => w.word).join(" "), words }, region.stats, guards);
    if (!kept.keep) return;
    out.push(toHypothesis(kept.words, region.startFrame * FRAME_SEC, region.endFrame * FRAME_SEC, result.language));
  });
  return out;
}

export { FRAME_SEC };
