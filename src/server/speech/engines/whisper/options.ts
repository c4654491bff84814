/**
 * Options of the Whisper engine and of each request: JSON-Schema validation (ajv), defaults, the
 * language rules and the decoding prompt.
 */
import os from "node:os";
import { Ajv } from "ajv";
import type { RecognizeOptions } from "../engine.js";
import { DEFAULT_GUARDS, type GuardOptions } from "./guards.js";
import { defaultModelsDir, MODEL_PREFIX, whisperModelName } from "./models.js";
import { DEFAULT_VAD, type VadOptions } from "./vad.js";

/** Options of `createWhisperEngine`. */
export interface WhisperEngineOptions {
  /** Model as requested with `model=`: `whisper-<name>` (or the bare `<name>`), e.g. `whisper-base.en`. */
  model: string;
  /** Folder of the model files. Default `CALLSCRIBE_MODELS_DIR`, else `models/` in the repository. */
  modelsDir?: string;
  /** CPU threads per decode (1–64). Default min(4, available cores). */
  threads?: number;
  /** Worker threads, each with its own copy of the model (1–16). Default 1. */
  poolSize?: number;
  /** Live streams: new audio between interim re-decodes of the utterance, seconds (0.2–10). Default 1. */
  partialIntervalSec?: number;
  /** Beam size of final decodes and `transcribe()` (1 = greedy, up to 8). Interim decodes are greedy. Default 5. */
  finalBeamSize?: number;
  /**
   * Interim decodes encode only the utterance's length (whisper.cpp `audio_ctx`) instead of Whisper's
   * fixed 30 s window: ~8x less compute for a 3 s utterance, at some cost in accuracy. Finals always use
   * the full window. Default true.
   */
  reducedInterimContext?: boolean;
  /** Voice-activity detection tuning. */
  vad?: Partial<VadOptions>;
  /** Hallucination guards' thresholds. */
  guards?: Partial<GuardOptions>;
}

/** Options with every default filled in. */
export interface ResolvedWhisperOptions {
  /** Engine model name: `whisper-<name>`. */
  model: string;
  /** whisper.cpp model name: `<name>`. */
  name: string;
  modelsDir: string;
  threads: number;
  poolSize: number;
  partialIntervalSec: number;
  finalBeamSize: number;
  reducedInterimContext: boolean;
  vad: VadOptions;
  guards: GuardOptions;
}

/** Request options the Whisper engine understands: the port's (`detectLanguage` needs a multilingual model). */
export type WhisperRecognizeOptions = RecognizeOptions;

/** Whisper's languages (ISO 639-1 codes, `haw` and `yue` have no two-letter code), as whisper.cpp lists them. */
export const WHISPER_LANGUAGES: readonly string[] = [
  "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
  "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
  "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
  "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
  "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
];

const ajv = new Ajv({ allErrors: true });

const number = (minimum: number, maximum: number) => ({ type: "number", minimum, maximum });
const integer = (minimum: number, maximum: number) => ({ type: "integer", minimum, maximum });

const validateEngineOptions = ajv.compile<WhisperEngineOptions>({
  type: "object",
  additionalProperties: false,
  required: ["model"],
  properties: {
    model: { type: "string", minLength: 1, maxLength: 80 },
    modelsDir: { type: "string", minLength: 1 },
    threads: integer(1, 64),
    poolSize: integer(1, 16),
    partialIntervalSec: number(0.2, 10),
    finalBeamSize: integer(1, 8),
    reducedInterimContext: { type: "boolean" },
    vad: {
      type: "object",
      additionalProperties: false,
      properties: {
        mode: integer(0, 3),
        minSpeechDbfs: number(-120, 0),
        startVoicedFrames: integer(1, 50),
        startWindowFrames: integer(1, 50),
        endSilenceSec: number(0.1, 10),
        preRollSec: number(0, 2),
        postRollSec: number(0, 2),
        maxUtteranceSec: number(2, 29),
      },
    },
    guards: {
      type: "object",
      additionalProperties: false,
      properties: {
        minVoicedSec: number(0, 10),
        maxMeanLogProb: number(-20, 0),
        quietDbfs: number(-120, 0),
        minVoicedRatio: number(0, 1),
        maxCompressionRatio: number(1, 100),
        minCompressionBytes: integer(0, 100_000),
        maxNgramRepeats: integer(1, 100),
      },
    },
  },
});

const validateRecognizeOptions = ajv.compile<WhisperRecognizeOptions>({
  type: "object",
  properties: {
    language: { type: "string", minLength: 1, maxLength: 64 },
    keyterms: { type: "array", maxItems: 500, items: { type: "string", maxLength: 200 } },
    detectLanguage: { type: "boolean" },
  },
});

function describeErrors(errors: typeof validateEngineOptions.errors): string {
  return (errors ?? []).map((e) => `${e.instancePath || "(options)"} ${e.message ?? "is invalid"}`).join("; ");
}

/**
 * Validate engine options and fill in defaults.
 * @throws Error listing each invalid field, or for a model name that is not `whisper-<name>`.
 */
export function resolveWhisperOptions(options: WhisperEngineOptions): ResolvedWhisperOptions {
  if (!validateEngineOptions(options)) {
    throw new Error(`Invalid Whisper engine options: ${describeErrors(validateEngineOptions.errors)}`);
  }
  const name = whisperModelName(options.model);
  const vad = { ...DEFAULT_VAD, ...options.vad };
  if (vad.startVoicedFrames > vad.startWindowFrames) throw new Error("Invalid Whisper engine options: vad.startVoicedFrames exceeds vad.startWindowFrames");
  return {
    model: `${MODEL_PREFIX}${name}`,
    name,
    modelsDir: options.modelsDir ?? defaultModelsDir(),
    threads: options.threads ?? Math.max(1, Math.min(4, os.availableParallelism())),
    poolSize: options.poolSize ?? 1,
    partialIntervalSec: options.partialIntervalSec ?? 1,
    finalBeamSize: options.finalBeamSize ?? 5,
    reducedInterimContext: options.reducedInterimContext ?? true,
    vad,
    guards: { ...DEFAULT_GUARDS, ...options.guards },
  };
}

/**
 * Validate request options and decide the decoding language.
 * - No `language`: English. `en-US` and the like use their primary subtag.
 * - English-only models (`*.en`) refuse every other language and `detectLanguage`.
 * - `detectLanguage` (multilingual models) lets Whisper detect it: returns `auto`.
 * @returns an ISO 639-1 code (or `haw`/`yue`), or `auto`
 * @throws Error naming the model and what it supports.
 */
export function resolveLanguage(options: WhisperRecognizeOptions, model: string, multilingual: boolean): string {
  if (!validateRecognizeOptions(options)) {
    throw new Error(`Invalid recognition options: ${describeErrors(validateRecognizeOptions.errors)}`);
  }
  if (options.detectLanguage) {
    if (!multilingual) {
      throw new Error(`Language detection needs a multilingual Whisper model: ${model} is English-only (use e.g. whisper-base or whisper-small).`);
    }
    return "auto";
  }
  if (options.language === undefined) return "en";
  const primary = options.language.split("-")[0]!.toLowerCase();
  if (!WHISPER_LANGUAGES.includes(primary)) {
    throw new Error(`Whisper does not support language "${options.language}" (supported: ${WHISPER_LANGUAGES.join(", ")}).`);
  }
  if (!multilingual && primary !== "en") {
    throw new Error(`${model} is English-only and cannot transcribe language "${options.language}": use a multilingual model such as whisper-base or whisper-small.`);
  }
  return primary;
}

/** Longest decoding prompt we build, characters (Whisper keeps at most 224 prompt tokens anyway). */
export const MAX_PROMPT_CHARS = 600;

/**
 * The decoding prompt (whisper.cpp `initial_prompt`): the keyterms, then the end of the text already
 * transcribed in this stream. Whisper conditions on the prompt as on preceding text, so listed terms
 * come out spelled that way (the usual way to bias Whisper's vocabulary; it has no per-word boosting).
 * Keyterms are trimmed, de-duplicated, and cut to fit `MAX_PROMPT_CHARS`; the earlier text gets the last
 * 200 characters (from a word boundary).
 */
export function buildPrompt(keyterms: readonly string[] = [], previousText = ""): string {
  const terms: string[] = [];
  let length = 0;
  for (const raw of keyterms) {
    const term = raw.trim().replace(/\s+/g, " ");
    if (!term || terms.includes(term)) continue;
    if (length + term.length + 2 > MAX_PROMPT_CHARS - 200) break;
    terms.push(term);
    length += term.length + 2;
  }
  let tail = previousText.trim();
  if (tail.length > 200) tail = tail.slice(tail.length - 200).replace(/^\S*\s+/, "");
  return [terms.length ? `${terms.join(", ")}.` : "", tail].filter(Boolean).join(" ");
}
