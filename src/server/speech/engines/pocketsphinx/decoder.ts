/**
 * One PocketSphinx decoder driven as a live recogniser: feed PCM, get `speechStarted`, `partial` and
 * `final` events with word times in seconds from the start of the stream. Synchronous and blocking:
 * run it in a worker thread (see `worker.ts`).
 *
 * Utterances follow the decoder's voice-activity detector (DESIGN.md §5): an utterance ends when
 * `ps_get_in_speech` falls from 1 to 0 (then a `final` with reason `endpoint`), because one long
 * utterance shifts word times under `-remove_silence yes`.
 */
import type { EngineHypothesis, EngineWord } from "../engine.js";
import type { CPointer, PocketSphinxLib } from "./ffi.js";

/** Samples per second the decoder is configured for (`-samprate` default, 16 kHz). */
const SAMPLE_RATE = 16_000;
/** PocketSphinx frame rate (`-frate` default): 100 frames per second, so one frame is 10 ms. */
const FRAMES_PER_SECOND = 100;
/** Samples per frame at 16 kHz. */
const SAMPLES_PER_FRAME = SAMPLE_RATE / FRAMES_PER_SECOND;
/** `ps_process_raw` is fed at most 100 ms at a time, so VAD transitions are seen within 100 ms. */
const CHUNK_SAMPLES = SAMPLE_RATE / 10;

/** Something the decoder reports while processing audio. Times in seconds from stream start. */
export type DecoderEvent =
  | { type: "speechStarted"; timestamp: number }
  | { type: "partial"; hypothesis: EngineHypothesis }
  | { type: "final"; hypothesis: EngineHypothesis; reason: "endpoint" | "finalize" };

/** Tuning of the live behaviour. */
export interface DecoderTuning {
  /** Minimum audio between two partial-hypothesis checks, in seconds (0.2 = at most five partials per second of audio). */
  partialIntervalSec: number;
}

/** Fillers and sentence markers of the en-us noise dictionary: `<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`, `++UM++`. */
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;
/** Pronunciation-variant suffix of dictionary words, e.g. `was(2)`. */
const VARIANT = /\(\d+\)$/;

/**
 * Build the `ps_init` argument list for a model directory laid out like Debian's `pocketsphinx-en-us`
 * (`<modelDir>/en-us` acoustic model, `en-us.lm.bin`, `cmudict-en-us.dict`).
 */
export function decoderArgs(modelDir: string): string[] {
  return [
    "-hmm", `${modelDir}/en-us`,
    "-lm", `${modelDir}/en-us.lm.bin`,
    "-dict", `${modelDir}/cmudict-en-us.dict`,
  ];
}

/** A PocketSphinx decoder that can serve one stream (or one `transcribe`) at a time, and be reused. */
export class PocketSphinxDecoder {
  private readonly logmath: CPointer;
  /** Samples fed since `ps_init`: the library counts frames from decoder creation, across utterances. */
  private samplesSinceInit = 0;
  /** Samples written but short of a whole 100 ms chunk, decoded with the next write or flush. */
  private carry = new Int16Array(0);
  /** `samplesSinceInit` when the current stream began: stream time zero. */
  private streamOriginSamples = 0;
  private inStream = false;
  private inSpeech = false;
  /** The VAD saw speech during the current utterance, so ending it yields a `final`. */
  private utteranceHasSpeech = false;
  private lastPartialText = "";
  private samplesSincePartialCheck = 0;
  private freed = false;

  private constructor(
    private readonly lib: PocketSphinxLib,
    private readonly handle: CPointer,
    private readonly tuning: DecoderTuning,
  ) {
    this.logmath = lib.getLogmath(handle);
  }

  /**
   * Create a decoder (`ps_init`, ~0.3 s and ~92 MB).
   * @throws Error when the arguments are rejected or `ps_init` returns NULL (unreadable or corrupt model).
   */
  static create(lib: PocketSphinxLib, args: string[], tuning: DecoderTuning): PocketSphinxDecoder {
    const config = lib.parseConfig(args);
    if (!config) throw new Error(`PocketSphinx rejected the decoder arguments: ${args.join(" ")}`);
    try {
      const handle = lib.init(config);
      if (!handle) {
        throw new Error(`PocketSphinx could not load its model (ps_init returned NULL) with: ${args.join(" ")}`);
      }
      return new PocketSphinxDecoder(lib, handle, tuning);
    } finally {
      lib.freeConfig(config);
    }
  }

  /** Seconds of audio fed in the current stream. */
  get streamPosition(): number {
    return (this.samplesSinceInit - this.streamOriginSamples) / SAMPLE_RATE;
  }

  /** Start a new stream: times restart at zero. @throws Error if the decoder is in use or freed. */
  begin(): void {
    if (this.freed) throw new Error("PocketSphinx decoder already freed");
    if (this.inStream) throw new Error("PocketSphinx decoder is already serving a stream");
    this.streamOriginSamples = this.samplesSinceInit;
    this.inStream = true;
    this.carry = new Int16Array(0);
    this.startUtterance();
  }

  /**
   * Decode `pcm` (mono 16 kHz PCM16, any length) in chunks of at most 100 ms.
   * @returns the events it caused, in order.
   * @throws Error when `ps_process_raw` fails.
   */
  process(pcm: Int16Array): DecoderEvent[] {
    this.assertInStream();
    // Chunks are cut at fixed 100 ms boundaries of the stream, whatever the sizes of the writes: the
    // VAD's endpoint is checked per chunk, so the same audio written in other pieces (live frames vs
    // a whole recording) must give the same utterances. Samples short of a chunk wait for the next write.
    let input = pcm;
    if (this.carry.length > 0) {
      input = new Int16Array(this.carry.length + pcm.length);
      input.set(this.carry, 0);
      input.set(pcm, this.carry.length);
    }
    const whole = input.length - (input.length % CHUNK_SAMPLES);
    this.carry = input.slice(whole);
    return this.processChunks(input.subarray(0, whole));
  }

  /** Decode whole chunks (the last may be short: flush). */
  private processChunks(pcm: Int16Array): DecoderEvent[] {
    const events: DecoderEvent[] = [];
    for (let offset = 0; offset < pcm.length; offset += CHUNK_SAMPLES) {
      const chunk = pcm.subarray(offset, Math.min(offset + CHUNK_SAMPLES, pcm.length));
      if (this.lib.processRaw(this.handle, chunk, chunk.length) < 0) {
        throw new Error("PocketSphinx ps_process_raw failed");
      }
      this.samplesSinceInit += chunk.length;
      this.samplesSincePartialCheck += chunk.length;
      const inSpeech = this.lib.getInSpeech(this.handle) === 1;
      if (inSpeech && !this.inSpeech) {
        this.utteranceHasSpeech = true;
        // The utterance's frames so far (the VAD's pre-speech padding plus speech) end at the current
        // position, so this is where the decoder places the start of the utterance.
        const frames = this.lib.getNFrames(this.handle);
        events.push({ type: "speechStarted", timestamp: round(Math.max(0, this.streamPosition - frames / FRAMES_PER_SECOND)) });
      }
      if (!inSpeech && this.inSpeech) {
        this.inSpeech = false;
        events.push(this.endUtterance("endpoint"));
        this.startUtterance();
        continue;
      }
      this.inSpeech = inSpeech;
      if (this.utteranceHasSpeech && this.samplesSincePartialCheck >= this.tuning.partialIntervalSec * SAMPLE_RATE) {
        this.samplesSincePartialCheck = 0;
        const partial = this.partial();
        if (partial) events.push(partial);
      }
    }
    return events;
  }

  /**
   * End the utterance in progress. @returns a `final` (reason `finalize`) if the VAD heard speech in it,
   * else nothing. The stream continues with a new utterance.
   */
  flush(): DecoderEvent[] {
    this.assertInStream();
    const carried = this.carry;
    this.carry = new Int16Array(0);
    const events = this.processChunks(carried);
    if (!this.utteranceHasSpeech) return events;
    const final = this.endUtterance("finalize");
    this.startUtterance();
    return [...events, final];
  }

  /** End the stream, discarding the utterance in progress. The decoder can `begin()` again. Idempotent. */
  end(): void {
    if (!this.inStream || this.freed) return;
    this.lib.endUtt(this.handle);
    this.inStream = false;
  }

  /** Release the native decoder (`ps_free`). Idempotent. */
  free(): void {
    if (this.freed) return;
    this.end();
    this.lib.free(this.handle);
    this.freed = true;
  }

  private assertInStream(): void {
    if (this.freed || !this.inStream) throw new Error("PocketSphinx decoder has no open stream");
  }

  private startUtterance(): void {
    if (this.lib.startUtt(this.handle) < 0) throw new Error("PocketSphinx ps_start_utt failed");
    // After a restart the VAD state may still say speech (flush in mid-sentence); track what it says.
    this.inSpeech = this.lib.getInSpeech(this.handle) === 1;
    this.utteranceHasSpeech = this.inSpeech;
    this.lastPartialText = "";
    this.samplesSincePartialCheck = 0;
  }

  private endUtterance(reason: "endpoint" | "finalize"): DecoderEvent {
    if (this.lib.endUtt(this.handle) < 0) throw new Error("PocketSphinx ps_end_utt failed");
    this.utteranceHasSpeech = false;
    return { type: "final", hypothesis: this.hypothesis(true), reason };
  }

  private partial(): DecoderEvent | undefined {
    const text = (this.lib.getHyp(this.handle) ?? "").trim();
    if (text === "" || text === this.lastPartialText) return undefined;
    this.lastPartialText = text;
    return { type: "partial", hypothesis: this.hypothesis(false) };
  }

  /**
   * The current hypothesis with word times converted from decoder frames to seconds from stream start.
   * Word confidence is the lattice posterior, which PocketSphinx only computes in `ps_end_utt`
   * (`-bestpath yes`); mid-utterance `ps_seg_prob` returns log 0 = probability 1 for every word, which
   * would claim certainty, so partial hypotheses report confidence 0 ("not known yet") instead.
   */
  private hypothesis(final: boolean): EngineHypothesis {
    const originFrame = this.streamOriginSamples / SAMPLES_PER_FRAME;
    const toSeconds = (frame: number) => round(Math.max(0, (frame - originFrame) / FRAMES_PER_SECOND));
    const words: EngineWord[] = [];
    let spanStart: number | undefined;
    let spanEnd: number | undefined;
    for (let seg = this.lib.segIter(this.handle); seg; seg = this.lib.segNext(seg)) {
      const { startFrame, endFrame } = this.lib.segFrames(seg);
      const start = toSeconds(startFrame);
      const end = toSeconds(endFrame + 1); // endFrame is inclusive
      spanStart ??= start;
      spanEnd = end;
      const raw = this.lib.segWord(seg);
      if (FILLER.test(raw)) continue;
      const confidence = final ? clamp01(this.lib.logmathExp(this.logmath, this.lib.segProb(seg))) : 0;
      words.push({ word: raw.replace(VARIANT, ""), start, end, confidence: round(confidence) });
    }
    const position = round(this.streamPosition);
    const confidence = words.length ? words.reduce((sum, w) => sum + w.confidence, 0) / words.length : 0;
    return {
      text: words.map((w) => w.word).join(" "),
      words,
      confidence: round(confidence),
      start: spanStart ?? position,
      end: spanEnd ?? position,
    };
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Round to milliseconds: frames are 10 ms, so more digits are noise. */
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
