/**
 * Deepgram's `/v1/listen` wire protocol: the messages our server sends and receives, as TypeScript
 * types and as JSON Schemas (ajv) that tests and clients validate against.
 *
 * Source: Deepgram API reference "Live Audio" / "Pre-recorded Audio" and the types shipped in
 * `@deepgram/sdk` 5.13 (`ListenV1Results`, `ListenV1Metadata`, `ListenV1UtteranceEnd`,
 * `ListenV1SpeechStarted`, `ListenV1Response`). All times are seconds from the start of the
 * stream's (or file's) audio.
 */

/** Engine identity as Deepgram reports it in `model_info`. */
export interface ModelInfo {
  name: string;
  version: string;
  arch: string;
}

/** One recognised word. `start`/`end` in seconds; `confidence` in [0, 1]. */
export interface ResultWord {
  word: string;
  start: number;
  end: number;
  confidence: number;
  /** The word as it would be printed (capitalised, with punctuation) when `punctuate`/`smart_format` is on. */
  punctuated_word?: string;
  /** Speaker index when `diarize=true` (we label by channel: no diarizer). */
  speaker?: number;
}

/** One transcript alternative (we produce exactly one). */
export interface Alternative {
  transcript: string;
  confidence: number;
  words: ResultWord[];
}

/** Live `Results` message: an interim (`is_final: false`) or final transcript of one span of one channel. */
export interface ResultsMessage {
  type: "Results";
  /** `[channel, channelCount]` */
  channel_index: [number, number];
  /** Start of the span, seconds from stream start. */
  start: number;
  /** Length of the span, seconds. */
  duration: number;
  is_final: boolean;
  /** True when endpointing detected the end of speech (silence of at least `endpointing` ms). */
  speech_final: boolean;
  /** True when the result was forced by a `Finalize` message. */
  from_finalize: boolean;
  channel: { alternatives: Alternative[] };
  metadata: { request_id: string; model_info: ModelInfo; model_uuid: string };
}

/** Live `UtteranceEnd`: a gap of at least `utterance_end_ms` followed the last finalized word. */
export interface UtteranceEndMessage {
  type: "UtteranceEnd";
  /** `[channel, channelCount]` */
  channel: [number, number];
  /** End time of the last word, seconds. */
  last_word_end: number;
}

/** Live `SpeechStarted` (with `vad_events=true`): the voice-activity detector heard speech begin. */
export interface SpeechStartedMessage {
  type: "SpeechStarted";
  /** `[channel, channelCount]` */
  channel: [number, number];
  /** Seconds from stream start. */
  timestamp: number;
}

/** Live `Metadata`, sent once after `CloseStream`, before the close frame (1000). */
export interface MetadataMessage {
  type: "Metadata";
  transaction_key: string;
  request_id: string;
  /** SHA-256 (hex) of all audio bytes received. */
  sha256: string;
  /** ISO 8601 time the stream opened. */
  created: string;
  /** Seconds of audio received. */
  duration: number;
  channels: number;
  models: string[];
  model_info: Record<string, ModelInfo>;
  /** The request's `extra=key:value` parameters, when given (Deepgram echoes them). */
  extra?: Record<string, string>;
}

/** Any message the server sends on a live stream. */
export type ServerMessage = ResultsMessage | UtteranceEndMessage | SpeechStartedMessage | MetadataMessage;

/** Control messages a client may send as text frames. */
export type ClientControlMessage = { type: "KeepAlive" } | { type: "Finalize" } | { type: "CloseStream" };

/** Deepgram-style error body of a refused HTTP request. */
export interface ErrorBody {
  err_code: string;
  err_msg: string;
  request_id: string;
  /** The query parameter at fault, when one is. */
  parameter?: string;
}

/** An utterance of the pre-recorded response (with `utterances=true`). */
export interface Utterance {
  id: string;
  channel: number;
  start: number;
  end: number;
  confidence: number;
  transcript: string;
  words: ResultWord[];
  speaker?: number;
}

/** Response of `POST /v1/listen`. */
export interface PrerecordedResponse {
  metadata: Omit<MetadataMessage, "type">;
  results: {
    channels: { alternatives: Alternative[]; detected_language?: string }[];
    utterances?: Utterance[];
  };
}

// -------------------------------------------------------------------------------------------
// JSON Schemas
// -------------------------------------------------------------------------------------------

const seconds = { type: "number", minimum: 0 } as const;
const unit = { type: "number", minimum: 0, maximum: 1 } as const;
const channelPair = {
  type: "array",
  items: { type: "integer", minimum: 0 },
  minItems: 2,
  maxItems: 2,
} as const;
const modelInfo = {
  type: "object",
  required: ["name", "version", "arch"],
  properties: { name: { type: "string", minLength: 1 }, version: { type: "string" }, arch: { type: "string" } },
} as const;

/** Schema of {@link ResultWord}. `end >= start` is checked by tests, not expressible here. */
export const WORD_SCHEMA = {
  $id: "callscribe:deepgram/word",
  type: "object",
  required: ["word", "start", "end", "confidence"],
  properties: {
    word: { type: "string", minLength: 1 },
    start: seconds,
    end: seconds,
    confidence: unit,
    punctuated_word: { type: "string", minLength: 1 },
    speaker: { type: "integer", minimum: 0 },
  },
} as const;

/** Schema of {@link Alternative}. */
export const ALTERNATIVE_SCHEMA = {
  $id: "callscribe:deepgram/alternative",
  type: "object",
  required: ["transcript", "confidence", "words"],
  properties: {
    transcript: { type: "string" },
    confidence: unit,
    words: { type: "array", items: { $ref: "callscribe:deepgram/word" } },
  },
} as const;

/** Schema of {@link ResultsMessage}. */
export const RESULTS_SCHEMA = {
  $id: "callscribe:deepgram/results",
  type: "object",
  required: ["type", "channel_index", "start", "duration", "is_final", "speech_final", "channel", "metadata"],
  properties: {
    type: { const: "Results" },
    channel_index: channelPair,
    start: seconds,
    duration: seconds,
    is_final: { type: "boolean" },
    speech_final: { type: "boolean" },
    from_finalize: { type: "boolean" },
    channel: {
      type: "object",
      required: ["alternatives"],
      properties: {
        alternatives: { type: "array", minItems: 1, items: { $ref: "callscribe:deepgram/alternative" } },
      },
    },
    metadata: {
      type: "object",
      required: ["request_id", "model_info"],
      properties: { request_id: { type: "string", minLength: 1 }, model_info: modelInfo, model_uuid: { type: "string" } },
    },
  },
} as const;

/** Schema of {@link UtteranceEndMessage}. */
export const UTTERANCE_END_SCHEMA = {
  $id: "callscribe:deepgram/utterance-end",
  type: "object",
  required: ["type", "channel", "last_word_end"],
  properties: { type: { const: "UtteranceEnd" }, channel: channelPair, last_word_end: seconds },
} as const;

/** Schema of {@link SpeechStartedMessage}. */
export const SPEECH_STARTED_SCHEMA = {
  $id: "callscribe:deepgram/speech-started",
  type: "object",
  required: ["type", "channel", "timestamp"],
  properties: { type: { const: "SpeechStarted" }, channel: channelPair, timestamp: seconds },
} as const;

const metadataProperties = {
  transaction_key: { type: "string" },
  request_id: { type: "string", minLength: 1 },
  sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
  created: { type: "string", format: "date-time" },
  duration: seconds,
  channels: { type: "integer", minimum: 1 },
  models: { type: "array", items: { type: "string" } },
  model_info: { type: "object", additionalProperties: modelInfo },
  extra: { type: "object", additionalProperties: { type: "string" } },
} as const;

/** Schema of {@link MetadataMessage}. */
export const METADATA_SCHEMA = {
  $id: "callscribe:deepgram/metadata",
  type: "object",
  required: ["type", "request_id", "sha256", "created", "duration", "channels", "models", "model_info"],
  properties: { type: { const: "Metadata" }, ...metadataProperties },
} as const;

/** Schema of the text frames a client may send. */
export const CLIENT_CONTROL_SCHEMA = {
  $id: "callscribe:deepgram/client-control",
  type: "object",
  required: ["type"],
  properties: { type: { enum: ["KeepAlive", "Finalize", "CloseStream"] } },
} as const;

/** Schema of {@link PrerecordedResponse}. */
export const PRERECORDED_RESPONSE_SCHEMA = {
  $id: "callscribe:deepgram/prerecorded-response",
  type: "object",
  required: ["metadata", "results"],
  properties: {
    metadata: {
      type: "object",
      required: ["request_id", "sha256", "created", "duration", "channels", "models", "model_info"],
      properties: metadataProperties,
    },
    results: {
      type: "object",
      required: ["channels"],
      properties: {
        channels: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["alternatives"],
            properties: { alternatives: { type: "array", minItems: 1, items: { $ref: "callscribe:deepgram/alternative" } } },
          },
        },
        utterances: {
          type: "array",
          items: {
            type: "object",
            required: ["id", "channel", "start", "end", "confidence", "transcript", "words"],
            properties: {
              id: { type: "string" },
              channel: { type: "integer", minimum: 0 },
              start: seconds,
              end: seconds,
              confidence: unit,
              transcript: { type: "string" },
              words: { type: "array", items: { $ref: "callscribe:deepgram/word" } },
              speaker: { type: "integer", minimum: 0 },
            },
          },
        },
      },
    },
  },
} as const;

/** Schema of {@link ErrorBody}. */
export const ERROR_BODY_SCHEMA = {
  $id: "callscribe:deepgram/error",
  type: "object",
  required: ["err_code", "err_msg", "request_id"],
  properties: {
    err_code: { type: "string", minLength: 1 },
    err_msg: { type: "string", minLength: 1 },
    request_id: { type: "string" },
    parameter: { type: "string" },
  },
} as const;

/** Every schema above, for `ajv.addSchema` (they reference each other by `$id`). */
export const PROTOCOL_SCHEMAS = [
  WORD_SCHEMA,
  ALTERNATIVE_SCHEMA,
  RESULTS_SCHEMA,
  UTTERANCE_END_SCHEMA,
  SPEECH_STARTED_SCHEMA,
  METADATA_SCHEMA,
  CLIENT_CONTROL_SCHEMA,
  PRERECORDED_RESPONSE_SCHEMA,
  ERROR_BODY_SCHEMA,
] as const;
