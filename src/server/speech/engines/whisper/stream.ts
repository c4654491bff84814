/**
 * A live Whisper recognition stream: a `RecognizerStream` (see `../engine.ts` for the event contract).
 *
 * Whisper is not a streaming model, so (as whisper_streaming does) the stream:
 * 1. cuts the audio into utterances with the VAD (`vad.ts`): `speechStarted` at each onset;
 * 2. re-decodes the growing utterance every `partialIntervalSec` of new audio (greedy, and by default
 *    with the encoder context cut to the utterance's length) and feeds each hypothesis to
 *    LocalAgreement-2 (`local-agreement.ts`): `partial` = committed words + the newest tentative ones,
 *    emitted when the text changes;
 * 3. at the endpoint (or `flush()`, or `maxUtteranceSec`) decodes the whole utterance once more with the
 *    full 30 s window and beam search: that decode is the `final` (it may revise words shown as partial).
 *
 * Guards (`guards.ts`) run on every hypothesis: utterances with too little voiced audio are never
 * decoded, and hypotheses that look like hallucinations are dropped (a final then carries no words when
 * partials had been shown, so clients clear them). Decodes of one stream run one after another, in
 * order, so events arrive in order; a stream has at most one interim decode waiting, so a busy machine
 * shows fewer partials rather than falling behind. The VAD runs on this thread (libfvad in WASM, a few µs
 * per 20 ms frame); decodes run in the pool's worker threads.
 */
import { EventEmitter } from "node:events";
import type { EngineHypothesis, RecognizerStream } from "../engine.js";
import { int16ToFloat32 } from "../../audio/pcm.js";
import { checkHypothesis, shouldDecode, type AudioStats } from "./guards.js";
import { toHypothesis } from "./hypothesis.js";
import { LocalAgreement } from "./local-agreement.js";
import { buildPrompt, type ResolvedWhisperOptions } from "./options.js";
import { JobCancelledError, type DecodeJob, type WhisperPool } from "./pool.js";
import type { DecodeParams } from "./protocol.js";
import { FRAME_SAMPLES, FRAME_SEC, FrameVad, VadSegmenter, type SegmenterEvent } from "./vad.js";
import type { WhisperWord } from "./words.js";

/** Whisper's encoder positions per second of audio (1500 per 30 s). */
const AUDIO_CTX_PER_SEC = 50;
/** Extra encoder positions beyond the audio for reduced-context decodes (0.5 s). */
const AUDIO_CTX_MARGIN = 25;

/** What a stream needs from its engine. */
export interface StreamContext {
  pool: WhisperPool;
  options: ResolvedWhisperOptions;
  /** Decoding language: a code, or `auto`. */
  language: string;
  keyterms: string[];
}

/** Encoder context for a reduced-context decode of `samples` samples (0 = full window). */
export function reducedAudioCtx(samples: number): number {
  // The worker pads buffers shorter than 1.2 s to 1.2 s (see worker.ts): cover the padding too.
  const ctx = Math.ceil((Math.max(samples, 19_200) / 16_000) * AUDIO_CTX_PER_SEC) + AUDIO_CTX_MARGIN;
  return ctx >= 1500 ? 0 : ctx;
}

interface Utterance {
  startFrame: number;
  frames: Int16Array[];
  agreement: LocalAgreement<WhisperWord>;
  /** Frames the last interim decode saw. */
  decodedFrames: number;
  partialShown: boolean;
  lastPartialText: string;
  ended: boolean;
}

/** A live stream. Create it with `WhisperEngine.createStream()`. */
export class WhisperStream extends EventEmitter implements RecognizerStream {
  private readonly segmenter: VadSegmenter;
  /** Recent frames (for the pre-roll when speech starts), with their frame index. */
  private readonly history: { index: number; frame: Int16Array }[] = [];
  private readonly historyFrames: number;
  private leftover = new Int16Array(0);
  private utterance?: Utterance;
  private chain: Promise<void> = Promise.resolve();
  private interimQueued = false;
  private runningJob?: DecodeJob;
  /** Text of the finals so far, for the decoding prompt. */
  private transcriptTail = "";
  private failure?: Error;
  private closed = false;

  /** @internal Use `WhisperEngine.createStream()`. */
  constructor(
    private readonly ctx: StreamContext,
    private readonly vad: FrameVad,
  ) {
    super();
    const v = ctx.options.vad;
    this.segmenter = new VadSegmenter(v);
    this.historyFrames = Math.round(v.preRollSec / FRAME_SEC) + v.startWindowFrames + 1;
  }

  /** Feed mono 16 kHz PCM16. Ignored after `close()` or an `error`; a wrong type gives `error`. Never throws. */
  write(pcm: Int16Array): void {
    if (this.closed || this.failure) return;
    if (!(pcm instanceof Int16Array)) {
      this.fail(new TypeError("write() expects an Int16Array of mono 16 kHz PCM16 samples"));
      return;
    }
    try {
      let samples = pcm;
      if (this.leftover.length) {
        samples = new Int16Array(this.leftover.length + pcm.length);
        samples.set(this.leftover);
        samples.set(pcm, this.leftover.length);
      }
      let offset = 0;
      for (; offset + FRAME_SAMPLES <= samples.length; offset += FRAME_SAMPLES) {
        this.processFrame(samples.slice(offset, offset + FRAME_SAMPLES));
      }
      this.leftover = samples.slice(offset);
      this.maybeQueueInterim();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * End the utterance in progress; resolves after its `final` (reason `finalize`) was emitted, or once
   * the decodes already queued are done when nothing was pending. Audio shorter than one 20 ms frame
   * stays buffered for the next utterance.
   * @throws Error (rejects) when the stream has failed.
   */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) return;
    for (const event of this.segmenter.flush()) this.handleEvent(event, true);
    await this.chain;
    if (this.failure) throw this.failure;
  }

  /** Stop: queued decodes are dropped, a running one is ignored, no more events. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runningJob?.cancel();
    this.vad.free();
    this.utterance = undefined;
  }

  private processFrame(frame: Int16Array): void {
    const index = this.segmenter.frames;
    this.history.push({ index, frame });
    if (this.history.length > this.historyFrames) this.history.shift();
    const { voiced, dbfs } = this.vad.classify(frame);
    const wasSpeaking = this.segmenter.inSpeech;
    const events = this.segmenter.push(voiced, dbfs);
    if (wasSpeaking && this.utterance) this.utterance.frames.push(frame);
    for (const event of events) this.handleEvent(event, false);
  }

  private handleEvent(event: SegmenterEvent, fromFlush: boolean): void {
    if (event.type === "start") {
      this.utterance = {
        startFrame: event.audioStartFrame,
        frames: this.history.filter((h) => h.index >= event.audioStartFrame).map((h) => h.frame),
        agreement: new LocalAgreement<WhisperWord>(event.audioStartFrame * FRAME_SEC),
        decodedFrames: 0,
        partialShown: false,
        lastPartialText: "",
        ended: false,
      };
      if (!event.continued) this.emit("speechStarted", event.onsetFrame * FRAME_SEC);
      return;
    }
    const utterance = this.utterance;
    this.utterance = undefined;
    if (!utterance) return;
    utterance.ended = true;
    utterance.frames.length = Math.max(0, Math.min(utterance.frames.length, event.audioEndFrame - utterance.startFrame));
    const reason = fromFlush ? "finalize" : "endpoint";
    this.enqueue(() => this.decodeFinal(utterance, event.stats, reason));
  }

  /** Queue an interim decode when enough new audio arrived and none is waiting. */
  private maybeQueueInterim(): void {
    const u = this.utterance;
    if (!u || this.interimQueued) return;
    const interval = Math.round(this.ctx.options.partialIntervalSec / FRAME_SEC);
    if (u.frames.length - u.decodedFrames < interval) return;
    if (!shouldDecode(this.segmenter.stats(), this.ctx.options.guards)) return;
    this.interimQueued = true;
    this.enqueue(() => {
      this.interimQueued = false;
      return this.decodeInterim(u);
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.closed || this.failure) return;
      try {
        await step();
      } catch (err) {
        if (!(err instanceof JobCancelledError) && !this.closed) this.fail(err as Error);
      }
    });
  }

  private params(samples: number, offsetSec: number, interim: boolean): DecodeParams {
    const o = this.ctx.options;
    return {
      language: this.ctx.language,
      prompt: buildPrompt(this.ctx.keyterms, this.transcriptTail),
      audioCtx: interim && o.reducedInterimContext ? reducedAudioCtx(samples) : 0,
      beamSize: interim ? 1 : o.finalBeamSize,
      threads: o.threads,
      offsetSec,
    };
  }

  private async run(pcm: Float32Array, params: DecodeParams, priority: "final" | "partial") {
    const job = this.ctx.pool.decode(pcm, params, priority);
    this.runningJob = job;
    try {
      return await job.result;
    } finally {
      if (this.runningJob === job) this.runningJob = undefined;
    }
  }

  private async decodeInterim(u: Utterance): Promise<void> {
    if (u.ended) return; // its final is queued right behind
    const frames = u.frames.length;
    const pcm = concatToFloat(u.frames, frames);
    const startSec = u.startFrame * FRAME_SEC;
    const result = await this.run(pcm, this.params(pcm.length, startSec, true), "partial");
    u.decodedFrames = frames;
    if (this.closed || u.ended) return;
    const verdict = checkHypothesis(result, this.segmenter.stats(), this.ctx.options.guards);
    if (!verdict.keep) return;
    u.agreement.insert(verdict.words);
    const words = u.agreement.current();
    const hypothesis = toHypothesis(words, startSec, startSec + frames * FRAME_SEC, result.language);
    if (!hypothesis.text || hypothesis.text === u.lastPartialText) return;
    u.lastPartialText = hypothesis.text;
    u.partialShown = true;
    this.emit("partial", hypothesis);
  }

  private async decodeFinal(u: Utterance, stats: AudioStats, reason: "endpoint" | "finalize"): Promise<void> {
    const startSec = u.startFrame * FRAME_SEC;
    const endSec = startSec + u.frames.length * FRAME_SEC;
    let hypothesis: EngineHypothesis | undefined;
    if (u.frames.length > 0 && shouldDecode(stats, this.ctx.options.guards)) {
      const pcm = concatToFloat(u.frames, u.frames.length);
      const result = await this.run(pcm, this.params(pcm.length, startSec, false), "final");
      if (this.closed) return;
      const verdict = checkHypothesis(result, stats, this.ctx.options.guards);
      if (verdict.keep) {
        hypothesis = toHypothesis(verdict.words, startSec, endSec, result.language);
        this.transcriptTail = `${this.transcriptTail} ${hypothesis.text}`.slice(-400);
      }
    }
    // A final without words only when partials were shown: it tells the client to clear them.
    if (!hypothesis && !u.partialShown) return;
    this.emit("final", hypothesis ?? toHypothesis([], startSec, endSec), { reason });
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    this.runningJob?.cancel();
    // An 'error' event without a listener would throw and take the server down: report it instead.
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else console.error(`Whisper stream failed with no 'error' listener: ${err.message}`);
  }
}

/** Join PCM16 frames into one float buffer (a fresh one: it is transferred to a worker). */
function concatToFloat(frames: Int16Array[], count: number): Float32Array {
  const pcm = new Int16Array(count * FRAME_SAMPLES);
  for (let i = 0; i < count; i++) pcm.set(frames[i]!, i * FRAME_SAMPLES);
  return int16ToFloat32(pcm);
}
