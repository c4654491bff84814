/**
 * A recording transcribed by Whisper while it is fed chunk by chunk (`RecordingTranscription`,
 * issue 7 item 8), with the same results as `WhisperEngine.transcribe` on the joined audio.
 *
 * `transcribe` runs the VAD over the whole recording, packs the speech regions greedily, in order,
 * into buffers of at most ~28 s (`ChunkPacker`) and decodes each buffer. Every step of that is
 * incremental: the VAD decides 20 ms frames from the start of the audio, a region is known once the
 * segmenter ends it, and a buffer is complete once the next region does not fit. So this class runs
 * the same VAD and segmenter on the frames as they come, copies each region's samples out when it
 * ends, and sends each complete buffer to the worker pool: the same buffers, the same decodes.
 *
 * Memory (per recording, whatever its duration), at 32 KB per second of 16 kHz PCM16:
 * - the audio not yet past the VAD's reach: the utterance in progress (at most `maxUtteranceSec`,
 *   default 20 s) or, outside speech, the start window and pre-roll (under 1 s), plus the last chunk
 *   written;
 * - the buffer being packed (at most ~28 s of speech, as PCM16);
 * - buffers queued or decoding: at most `lanes` (the pool's size), 28 s as Float32 each; `write`
 *   waits (backpressure) while that many are in flight;
 * - the utterances found so far (text and word times).
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { EngineHypothesis, RecordingTranscription } from "../engine.js";
import { chunkAudioFrom, ChunkPacker, chunkHypotheses, type Chunk, type SpeechRegion } from "./batch.js";
import { shouldDecode, type GuardOptions } from "./guards.js";
import type { DecodeJob, JobPriority } from "./pool.js";
import type { DecodeParams } from "./protocol.js";
import { FRAME_SAMPLES, type FrameVad, VadSegmenter, type VadOptions } from "./vad.js";

/** What a {@link WhisperRecording} needs of the engine. */
export interface WhisperRecordingDeps {
  /** Queues a decode (the pool's `decode`). */
  decode(pcm: Float32Array, params: DecodeParams, priority: JobPriority): DecodeJob;
  /** The recording's own detector (freed by the recording). */
  vad: FrameVad;
  vadOptions: VadOptions;
  guards: GuardOptions;
  /** Decode parameters, as `transcribe` uses them. */
  params: DecodeParams;
  /** Longest packed buffer, seconds (as `transcribe` packs). */
  maxChunkSec: number;
  /** Buffers decoded at once (the pool's size, ≥ 1). */
  lanes: number;
}

/** Frames between yields to the event loop (10 s of audio), as `findSpeechRegions` does. */
const FRAMES_PER_SLICE = 500;

/** One packed buffer's decode: the region samples are gone by then, only the layout is kept. */
interface InFlight {
  chunk: Chunk;
  job: DecodeJob;
  hypotheses?: EngineHypothesis[];
}

/** Audio kept for regions still to end: pieces of PCM16 with the absolute sample where each starts. */
class AudioHistory {
  private pieces: { start: number; pcm: Int16Array }[] = [];
  /** Samples kept, for tests and the memory bound. */
  kept = 0;

  push(start: number, pcm: Int16Array): void {
    this.pieces.push({ start, pcm });
    this.kept += pcm.length;
  }

  /** Forget every piece that ends at or before `sample`. */
  dropBefore(sample: number): void {
    while (this.pieces.length > 0 && this.pieces[0]!.start + this.pieces[0]!.pcm.length <= sample) this.kept -= this.pieces.shift()!.pcm.length;
  }

  /** A copy of samples [start, end) (those still held). */
  copy(start: number, end: number): Int16Array {
    const out = new Int16Array(Math.max(0, end - start));
    for (const p of this.pieces) {
      const from = Math.max(start, p.start);
      const to = Math.min(end, p.start + p.pcm.length);
      if (to > from) out.set(p.pcm.subarray(from - p.start, to - p.start), from - start);
    }
    return out;
  }
}

/** Whisper's chunked recording path (see the module doc). Use through `WhisperEngine.openRecording`. */
export class WhisperRecording implements RecordingTranscription {
  private readonly segmenter: VadSegmenter;
  private readonly packer: ChunkPacker;
  private readonly history = new AudioHistory();
  /** Samples of each region in the buffer being packed, by region. */
  private readonly regionAudio = new Map<SpeechRegion, Int16Array>();
  private readonly inFlight: InFlight[] = [];
  private readonly done: EngineHypothesis[] = [];
  /** The partial frame carried between writes. */
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private frameFill = 0;
  /** Samples written so far (the absolute index of the next one). */
  private written = 0;
  private openStart: number | undefined;
  private failure: Error | undefined;
  private closed = false;
  /** How far back a region still to start may reach, frames (start window + pre-roll + one spare second). */
  private readonly reach: number;

  constructor(private readonly deps: WhisperRecordingDeps) {
    this.segmenter = new VadSegmenter(deps.vadOptions);
    this.packer = new ChunkPacker(deps.maxChunkSec);
    this.reach = deps.vadOptions.startWindowFrames + Math.round(deps.vadOptions.preRollSec / 0.02) + 50;
  }

  /** PCM16 samples held for regions not yet ended (for tests of the memory bound). */
  get heldSamples(): number {
    let packed = 0;
    for (const a of this.regionAudio.values()) packed += a.length;
    return this.history.kept + packed + this.frameFill;
  }

  /**
   * Feed the next chunk (mono 16 kHz PCM16, any length). Resolves once fewer than `lanes` buffers
   * are in flight. @throws Error (rejects) when a decode failed or the recording is closed.
   */
  async write(pcm: Int16Array): Promise<void> {
    this.check();
    if (pcm.length === 0) return;
    this.history.push(this.written, pcm.slice());
    let at = 0;
    let frames = 0;
    if (this.frameFill > 0) {
      const n = Math.min(FRAME_SAMPLES - this.frameFill, pcm.length);
      this.frame.set(pcm.subarray(0, n), this.frameFill);
      this.frameFill += n;
      at = n;
      if (this.frameFill === FRAME_SAMPLES) {
        this.pushFrame(this.frame);
        this.frameFill = 0;
        frames++;
      }
    }
    for (; at + FRAME_SAMPLES <= pcm.length; at += FRAME_SAMPLES) {
      this.pushFrame(pcm.subarray(at, at + FRAME_SAMPLES));
      if (++frames % FRAMES_PER_SLICE === 0) await yieldToLoop();
      this.check();
    }
    if (at < pcm.length) {
      this.frame.set(pcm.subarray(at), 0);
      this.frameFill = pcm.length - at;
    }
    this.written += pcm.length;
    this.forget();
    while (this.inFlight.filter((f) => !f.hypotheses).length >= this.deps.lanes) await this.settleOldest();
    this.check();
  }

  /** The audio is over (a trailing part shorter than one 20 ms frame is ignored, as `transcribe` does). @returns the utterances in order */
  async finish(): Promise<EngineHypothesis[]> {
    try {
      this.check();
      this.take(this.segmenter.flush());
      const last = this.packer.finish();
      if (last) this.send(last);
      while (this.inFlight.some((f) => !f.hypotheses)) await this.settleOldest();
      this.check();
      for (const f of this.inFlight.splice(0)) this.done.push(...f.hypotheses!);
      return this.done.splice(0);
    } finally {
      await this.close();
    }
  }

  /** Free the detector and drop what is queued (a decode already running finishes in its worker). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.inFlight.splice(0)) f.job.cancel();
    this.regionAudio.clear();
    this.history.dropBefore(Number.POSITIVE_INFINITY);
    this.deps.vad.free();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error("the Whisper recording is closed");
  }

  private pushFrame(frame: Int16Array): void {
    const { voiced, dbfs } = this.deps.vad.classify(frame);
    this.take(this.segmenter.push(voiced, dbfs));
  }

  private take(events: ReturnType<VadSegmenter["push"]>): void {
    for (const e of events) {
      if (e.type === "start") this.openStart = e.audioStartFrame;
      else if (this.openStart !== undefined) {
        const region: SpeechRegion = { startFrame: this.openStart, endFrame: e.audioEndFrame, stats: e.stats };
        this.openStart = undefined;
        this.addRegion(region);
      }
    }
  }

  private addRegion(region: SpeechRegion): void {
    if (!shouldDecode(region.stats, this.deps.guards)) return;
    const closed = this.packer.add(region);
    if (closed) this.send(closed);
    if (region.endFrame > region.startFrame) {
      this.regionAudio.set(region, this.history.copy(region.startFrame * FRAME_SAMPLES, region.endFrame * FRAME_SAMPLES));
    }
  }

  /** Drop audio no region can reach any more. */
  private forget(): void {
    const frames = this.segmenter.frames;
    const from = this.segmenter.inSpeech ? this.segmenter.utteranceStartFrame : Math.max(0, frames - this.reach);
    this.history.dropBefore(from * FRAME_SAMPLES);
  }

  private send(chunk: Chunk): void {
    const pcm = chunkAudioFrom(chunk, (p) => this.regionAudio.get(p.region) ?? new Int16Array(0));
    for (const p of chunk.pieces) this.regionAudio.delete(p.region);
    const job = this.deps.decode(pcm, this.deps.params, "batch");
    const entry: InFlight = { chunk, job };
    job.result.then(
      (result) => (entry.hypotheses = chunkHypotheses(chunk, result, this.deps.guards)),
      (err: Error) => (this.failure ??= err instanceof Error ? err : new Error(String(err))),
    );
    this.inFlight.push(entry);
  }

  /** Wait for the oldest unfinished decode, then move the finished ones at the front to `done`. */
  private async settleOldest(): Promise<void> {
    const pending = this.inFlight.find((f) => !f.hypotheses);
    if (pending) await pending.job.result.catch(() => undefined);
    // Let the `then` handlers of settled decodes run (they were attached before ours).
    await Promise.resolve();
    this.check();
    while (this.inFlight.length > 0 && this.inFlight[0]!.hypotheses) this.done.push(...this.inFlight.shift()!.hypotheses!);
  }
}
