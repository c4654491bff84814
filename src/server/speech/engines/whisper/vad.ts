/**
 * Voice-activity detection for the Whisper engine: which 20 ms frames hold speech, and where
 * utterances start and end.
 *
 * - `FrameVad`: the WebRTC VAD (libfvad through `@echogarden/fvad-wasm`: a GMM over sub-band energies,
 *   no model weights to download) on 20 ms frames of 16 kHz PCM16, plus an energy floor: frames quieter
 *   than `minSpeechDbfs` are never speech (the WebRTC VAD adapts to the noise level and can call very
 *   quiet hiss voice).
 * - `VadSegmenter`: pure state machine over frame decisions. Speech starts when `startVoicedFrames` of
 *   the last `startWindowFrames` frames are voiced (the onset is the first voiced frame of that window);
 *   it ends after `endSilenceSec` of unvoiced frames (the hangover), keeping `postRollSec` after the last
 *   voiced frame; each utterance keeps `preRollSec` of audio before its onset (Whisper needs the word
 *   onsets). An utterance longer than `maxUtteranceSec` is cut (Whisper sees at most 30 s at once) and
 *   the next one continues at once.
 * Frame indices count from the start of the stream; seconds = index × 0.02.
 */
import createFvadModule, { type FvadModule } from "@echogarden/fvad-wasm";
import type { AudioStats } from "./guards.js";

/** Sample rate the VAD works at, Hz. */
export const VAD_SAMPLE_RATE = 16_000;
/** Frame length, samples (20 ms at 16 kHz; libfvad accepts 10, 20 or 30 ms). */
export const FRAME_SAMPLES = 320;
/** Frame length, seconds. */
export const FRAME_SEC = FRAME_SAMPLES / VAD_SAMPLE_RATE;

/** Tuning of the voice-activity detection. */
export interface VadOptions {
  /** WebRTC VAD aggressiveness 0–3 (3 calls the least noise speech). Default 2. */
  mode: number;
  /** Frames quieter than this are never speech, dBFS. Default −55. */
  minSpeechDbfs: number;
  /** Voiced frames needed within the start window to start speech. Default 6 (120 ms). */
  startVoicedFrames: number;
  /** Frames in the start window. Default 10 (200 ms). */
  startWindowFrames: number;
  /** Unvoiced time that ends an utterance (endpointing), seconds. Default 0.5. */
  endSilenceSec: number;
  /** Audio kept before the onset, seconds. Default 0.3. */
  preRollSec: number;
  /** Audio kept after the last voiced frame, seconds. Default 0.2. */
  postRollSec: number;
  /** Longest utterance, seconds (≤ 29: Whisper's window is 30 s). Default 20. */
  maxUtteranceSec: number;
}

/** Default VAD tuning (see `VadOptions`). */
export const DEFAULT_VAD: VadOptions = {
  mode: 2,
  minSpeechDbfs: -55,
  startVoicedFrames: 6,
  startWindowFrames: 10,
  endSilenceSec: 0.5,
  preRollSec: 0.3,
  postRollSec: 0.2,
  maxUtteranceSec: 20,
};

let fvadModule: Promise<FvadModule> | undefined;

/** RMS level of PCM16 samples, dBFS (−∞ for digital silence). */
export function rmsDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return 10 * Math.log10(sum / samples.length / (32768 * 32768));
}

/** Per-frame decisions: libfvad AND an energy floor. One instance per stream (libfvad keeps noise estimates). */
export class FrameVad {
  private freed = false;

  private constructor(
    private readonly mod: FvadModule,
    private readonly inst: number,
    private readonly buffer: number,
    private readonly minSpeechDbfs: number,
  ) {}

  /** @throws Error when the WASM module cannot load or the mode is not 0–3. */
  static async create(options: Pick<VadOptions, "mode" | "minSpeechDbfs"> = DEFAULT_VAD): Promise<FrameVad> {
    fvadModule ??= createFvadModule();
    const mod = await fvadModule;
    const inst = mod._fvad_new();
    if (!inst) throw new Error("libfvad: out of memory");
    if (mod._fvad_set_mode(inst, options.mode) !== 0 || mod._fvad_set_sample_rate(inst, VAD_SAMPLE_RATE) !== 0) {
      mod._fvad_free(inst);
      throw new Error(`libfvad rejected mode ${options.mode} at ${VAD_SAMPLE_RATE} Hz`);
    }
    return new FrameVad(mod, inst, mod._malloc(FRAME_SAMPLES * 2), options.minSpeechDbfs);
  }

  /**
   * Classify one frame of `FRAME_SAMPLES` PCM16 samples.
   * @returns whether it is speech, and its level in dBFS.
   */
  classify(frame: Int16Array): { voiced: boolean; dbfs: number } {
    if (this.freed) throw new Error("FrameVad used after free()");
    if (frame.length !== FRAME_SAMPLES) throw new Error(`FrameVad expects ${FRAME_SAMPLES} samples, got ${frame.length}`);
    const dbfs = rmsDbfs(frame);
    if (dbfs < this.minSpeechDbfs) return { voiced: false, dbfs };
    this.mod.HEAP16.set(frame, this.buffer >> 1);
    const r = this.mod._fvad_process(this.inst, this.buffer, FRAME_SAMPLES);
    if (r < 0) throw new Error("libfvad: invalid frame");
    return { voiced: r === 1, dbfs };
  }

  /** Release the detector. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.mod._free(this.buffer);
    this.mod._fvad_free(this.inst);
  }
}

/** An event of the segmenter. Frames are indices from the stream start. */
export type SegmenterEvent =
  | {
      type: "start";
      /** First voiced frame of the onset. */
      onsetFrame: number;
      /** First frame of the utterance's audio (onset minus pre-roll, not before the previous utterance's end). */
      audioStartFrame: number;
      /** True when this utterance continues one cut at `maxUtteranceSec` (no new speech onset). */
      continued: boolean;
    }
  | {
      type: "end";
      /** One past the utterance's last frame of audio. */
      audioEndFrame: number;
      /** Loudness and voicing of the utterance. */
      stats: AudioStats;
      /** `endpoint` after the hangover, `max-length` when cut at `maxUtteranceSec`, `flush` from `flush()`. */
      cause: "endpoint" | "max-length" | "flush";
    };

/** Pure utterance segmentation over per-frame voice decisions. */
export class VadSegmenter {
  private frame = 0;
  private recent: { voiced: boolean; power: number }[] = [];
  private speaking = false;
  private audioStart = 0;
  private lastVoiced = -1;
  private firstVoiced = -1;
  private unvoicedRun = 0;
  private voicedFrames = 0;
  private voicedEnergy = 0;
  private allEnergy = 0;
  private allFrames = 0;
  private previousEnd = 0;
  private readonly preRoll: number;
  private readonly postRoll: number;
  private readonly endSilence: number;
  private readonly maxFrames: number;

  constructor(private readonly options: VadOptions = DEFAULT_VAD) {
    this.preRoll = Math.round(options.preRollSec / FRAME_SEC);
    this.postRoll = Math.round(options.postRollSec / FRAME_SEC);
    this.endSilence = Math.max(1, Math.round(options.endSilenceSec / FRAME_SEC));
    this.maxFrames = Math.round(options.maxUtteranceSec / FRAME_SEC);
  }

  /** Frames pushed so far (the next frame's index). */
  get frames(): number {
    return this.frame;
  }

  /** True while inside an utterance. */
  get inSpeech(): boolean {
    return this.speaking;
  }

  /** First frame of the current utterance's audio (meaningful while `inSpeech`). */
  get utteranceStartFrame(): number {
    return this.audioStart;
  }

  /** Voiced frames in the current utterance so far. */
  get utteranceVoicedFrames(): number {
    return this.voicedFrames;
  }

  /**
   * Push the decision for the next frame.
   * @param voiced the frame is speech
   * @param dbfs the frame's RMS level, dBFS (for the utterance statistics)
   */
  push(voiced: boolean, dbfs: number): SegmenterEvent[] {
    const index = this.frame++;
    const events: SegmenterEvent[] = [];
    const power = Number.isFinite(dbfs) ? 10 ** (dbfs / 10) : 0;
    if (!this.speaking) {
      this.recent.push({ voiced, power });
      if (this.recent.length > this.options.startWindowFrames) this.recent.shift();
      const count = this.recent.reduce((a, f) => a + (f.voiced ? 1 : 0), 0);
      if (count >= this.options.startVoicedFrames) {
        const windowStart = index - this.recent.length + 1;
        const firstInWindow = this.recent.findIndex((f) => f.voiced);
        const onset = windowStart + firstInWindow;
        this.begin(Math.max(this.previousEnd, onset - this.preRoll), false);
        // The window's frames from the onset on belong to the utterance's statistics.
        this.firstVoiced = onset;
        this.recent.slice(firstInWindow).forEach((f, i) => {
          this.allFrames++;
          this.allEnergy += f.power;
          if (f.voiced) {
            this.voicedFrames++;
            this.voicedEnergy += f.power;
            this.lastVoiced = onset + i;
          }
        });
        this.unvoicedRun = index - this.lastVoiced;
        events.push({ type: "start", onsetFrame: onset, audioStartFrame: this.audioStart, continued: false });
        this.recent = [];
      }
      return events;
    }
    this.allFrames++;
    this.allEnergy += power;
    if (voiced) {
      this.voicedFrames++;
      this.voicedEnergy += power;
      this.lastVoiced = index;
      if (this.firstVoiced < 0) this.firstVoiced = index;
      this.unvoicedRun = 0;
    } else {
      this.unvoicedRun++;
    }
    if (this.unvoicedRun >= this.endSilence) {
      events.push(this.end(Math.min(index + 1, this.lastVoiced + 1 + this.postRoll), "endpoint"));
    } else if (index + 1 - this.audioStart >= this.maxFrames) {
      events.push(this.end(index + 1, "max-length"));
      this.begin(index + 1, true);
      events.push({ type: "start", onsetFrame: index + 1, audioStartFrame: index + 1, continued: true });
    }
    return events;
  }

  /** End the utterance in progress now (from `flush()`); no event when not in speech. */
  flush(): SegmenterEvent[] {
    if (!this.speaking) return [];
    this.recent = [];
    return [this.end(Math.min(this.frame, this.lastVoiced + 1 + this.postRoll), "flush")];
  }

  private begin(audioStart: number, continued: boolean): void {
    this.speaking = true;
    this.audioStart = audioStart;
    this.voicedFrames = 0;
    this.voicedEnergy = 0;
    this.allEnergy = 0;
    this.allFrames = 0;
    this.unvoicedRun = 0;
    this.firstVoiced = -1;
    this.lastVoiced = audioStart - 1;
  }

  /** Loudness and voicing of the current utterance so far (or of the last one, right after it ended). */
  stats(audioEndFrame = this.frame): AudioStats {
    const voicedSpan = this.firstVoiced >= 0 && this.lastVoiced >= this.firstVoiced ? this.lastVoiced - this.firstVoiced + 1 : 0;
    const energy = this.voicedFrames > 0 ? this.voicedEnergy / this.voicedFrames : this.allFrames > 0 ? this.allEnergy / this.allFrames : 0;
    return {
      durationSec: (voicedSpan || Math.max(0, audioEndFrame - this.audioStart)) * FRAME_SEC,
      voicedSec: this.voicedFrames * FRAME_SEC,
      rmsDbfs: energy > 0 ? 10 * Math.log10(energy) : -Infinity,
    };
  }

  private end(audioEndFrame: number, cause: "endpoint" | "max-length" | "flush"): SegmenterEvent {
    this.speaking = false;
    this.previousEnd = audioEndFrame;
    const stats = this.stats(audioEndFrame);
    this.firstVoiced = -1;
    return { type: "end", audioEndFrame, stats, cause };
  }
}
