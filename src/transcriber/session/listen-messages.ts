/**
 * The server frames of Deepgram's live API (`/v1/listen`) that the transcriber uses, and their
 * validation with ajv: the speech server is a boundary, so a malformed frame is reported and
 * skipped instead of corrupting the transcript. Shapes follow Deepgram's documented protocol
 * (DESIGN §4; @deepgram/sdk 5.13 `ListenV1Results`, `ListenV1Metadata`, `ListenV1UtteranceEnd`,
 * `ListenV1SpeechStarted`). Times are seconds from the start of the stream's audio.
 */
import Ajv, { type ValidateFunction } from "ajv";

/** One word of an alternative. */
export interface ListenWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  punctuated_word?: string;
  /** Speaker index, when `diarize=true`. */
  speaker?: number;
}

/** A `Results` frame: interim (`is_final: false`) or final for the span [start, start + duration]. */
export interface ListenResults {
  type: "Results";
  /** `[channel, channelCount]`. */
  channel_index: number[];
  start: number;
  duration: number;
  is_final?: boolean;
  /** The endpointer saw the speaker stop: the utterance is complete. */
  speech_final?: boolean;
  /** This final answers a client `Finalize`. */
  from_finalize?: boolean;
  channel: { alternatives: { transcript: string; confidence: number; words: ListenWord[] }[] };
  metadata?: { request_id?: string; model_info?: { name?: string; version?: string; arch?: string } };
}

/** `Metadata`: sent once, after `CloseStream`, before the server closes with 1000. */
export interface ListenMetadata {
  type: "Metadata";
  request_id?: string;
  created?: string;
  /** Seconds of audio received. */
  duration?: number;
  channels?: number;
}

/** `UtteranceEnd`: a gap of `utterance_end_ms` after the last word. */
export interface ListenUtteranceEnd {
  type: "UtteranceEnd";
  channel?: number[];
  last_word_end?: number;
}

/** `SpeechStarted`: voice activity began (with `vad_events=true`). */
export interface ListenSpeechStarted {
  type: "SpeechStarted";
  channel?: number[];
  timestamp?: number;
}

/** Any server frame the transcriber understands. */
export type ListenMessage = ListenResults | ListenMetadata | ListenUtteranceEnd | ListenSpeechStarted;

const seconds = { type: "number", minimum: 0 } as const;
const word = {
  type: "object",
  required: ["word", "start", "end", "confidence"],
  properties: {
    word: { type: "string" },
    start: seconds,
    end: seconds,
    confidence: { type: "number" },
    punctuated_word: { type: "string" },
    speaker: { type: "integer", minimum: 0 },
  },
} as const;

const SCHEMAS = {
  Results: {
    type: "object",
    required: ["type", "channel_index", "start", "duration", "channel"],
    properties: {
      type: { const: "Results" },
      channel_index: { type: "array", items: { type: "integer", minimum: 0 }, minItems: 1 },
      start: seconds,
      duration: seconds,
      is_final: { type: "boolean" },
      speech_final: { type: "boolean" },
      from_finalize: { type: "boolean" },
      channel: {
        type: "object",
        required: ["alternatives"],
        properties: {
          alternatives: {
            type: "array",
            items: {
              type: "object",
              required: ["transcript", "confidence"],
              properties: { transcript: { type: "string" }, confidence: { type: "number" }, words: { type: "array", items: word } },
            },
          },
        },
      },
      metadata: {
        type: "object",
        properties: {
          request_id: { type: "string" },
          model_info: { type: "object", properties: { name: { type: "string" }, version: { type: "string" }, arch: { type: "string" } } },
        },
      },
    },
  },
  Metadata: {
    type: "object",
    required: ["type"],
    properties: { type: { const: "Metadata" }, request_id: { type: "string" }, duration: seconds, channels: { type: "integer", minimum: 1 } },
  },
  UtteranceEnd: {
    type: "object",
    required: ["type"],
    properties: { type: { const: "UtteranceEnd" }, last_word_end: seconds, channel: { type: "array", items: { type: "integer" } } },
  },
  SpeechStarted: {
    type: "object",
    required: ["type"],
    properties: { type: { const: "SpeechStarted" }, timestamp: seconds, channel: { type: "array", items: { type: "integer" } } },
  },
} as const;

let validators: Map<string, ValidateFunction> | undefined;

function compile(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors: false, strict: true });
  return new Map(Object.entries(SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]));
}

/** Result of {@link parseListenMessage}. `ignored` is a frame type we do not use (not an error). */
export type ParsedListenMessage =
  | { ok: true; message: ListenMessage }
  | { ok: false; ignored: true; type: string }
  | { ok: false; ignored: false; error: string };

/**
 * Validate a frame from the speech server. Accepts the SDK's parsed object or raw JSON text.
 * Never throws: a malformed frame gives `{ok: false, ignored: false, error}` with the field at fault.
 */
export function parseListenMessage(raw: unknown): ParsedListenMessage {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, ignored: false, error: "speech server sent text that is not JSON" };
    }
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== "string") return { ok: false, ignored: false, error: "speech server sent a frame without a string `type`" };
  validators ??= compile();
  const validate = validators.get(type);
  if (!validate) return { ok: false, ignored: true, type };
  if (!validate(value)) {
    const e = validate.errors?.[0];
    return { ok: false, ignored: false, error: `invalid ${type} frame: ${e?.instancePath || "(root)"} ${e?.message ?? "does not match"}` };
  }
  return { ok: true, message: value as ListenMessage };
}
