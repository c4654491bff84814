/**
 * Twilio Media Streams messages (Twilio → our server), as the public spec "Media Streams -
 * WebSocket Messages" (twilio.com/docs/voice/media-streams/websocket-messages) describes them,
 * with one ajv JSON Schema per message and {@link parseTwilioMessage}, which turns a text frame
 * into a typed message or a clear error.
 *
 * Shapes (numbers on the wire are strings, as Twilio sends them):
 * - `connected {event, protocol: "Call", version: "1.0.0"}` — first message;
 * - `start {event, sequenceNumber, streamSid, start: {streamSid, accountSid, callSid, tracks:
 *   ("inbound"|"outbound")[], customParameters: {[k]: string}, mediaFormat: {encoding:
 *   "audio/x-mulaw", sampleRate: 8000, channels: 1}}}`;
 * - `media {event, sequenceNumber, streamSid, media: {track, chunk, timestamp (ms since the stream
 *   started), payload (base64 μ-law)}}` — one message per track per 20 ms chunk;
 * - `dtmf {event, sequenceNumber, streamSid, dtmf: {track: "inbound_track", digit}}`;
 * - `mark {event, sequenceNumber, streamSid, mark: {name}}` — only answers marks the server sent;
 * - `stop {event, sequenceNumber, streamSid, stop: {accountSid, callSid}}` — last message.
 *
 * Unknown properties are allowed (Twilio adds fields over time); the fields we use are checked.
 * Sizes are bounded here (string lengths, up to 32 custom parameters); the payload's decoded size
 * is bounded by the session.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";

/** The tracks of a call as Twilio names them: `inbound` = what the caller (customer) says, `outbound` = what Twilio plays/the agent says. */
export type TwilioTrack = "inbound" | "outbound";

export interface ConnectedMessage {
  event: "connected";
  protocol: string;
  version: string;
}

export interface StartMessage {
  event: "start";
  sequenceNumber?: string;
  streamSid: string;
  start: {
    streamSid?: string;
    accountSid: string;
    callSid: string;
    tracks: TwilioTrack[];
    customParameters?: Record<string, string>;
    mediaFormat: { encoding: "audio/x-mulaw"; sampleRate: 8000; channels: 1 };
  };
}

export interface MediaMessage {
  event: "media";
  sequenceNumber?: string;
  streamSid?: string;
  media: { track: TwilioTrack; chunk?: string; timestamp: string; payload: string };
}

export interface DtmfMessage {
  event: "dtmf";
  sequenceNumber?: string;
  streamSid?: string;
  dtmf: { track?: string; digit: string };
}

export interface MarkMessage {
  event: "mark";
  sequenceNumber?: string;
  streamSid?: string;
  mark: { name: string };
}

export interface StopMessage {
  event: "stop";
  sequenceNumber?: string;
  streamSid?: string;
  stop?: { accountSid?: string; callSid?: string };
}

/** Any message Twilio sends on a Media Stream. */
export type TwilioMessage = ConnectedMessage | StartMessage | MediaMessage | DtmfMessage | MarkMessage | StopMessage;

/** The event names we accept, in protocol order. */
export const TWILIO_EVENTS = ["connected", "start", "media", "dtmf", "mark", "stop"] as const;

/** Longest text frame accepted, bytes (a 20 ms media message is about 300 bytes). */
export const MAX_TWILIO_MESSAGE_BYTES = 64 * 1024;

const DIGITS = { type: "string", pattern: "^[0-9]{1,15}$" } as const;
const SID = { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" } as const;
const TRACK = { enum: ["inbound", "outbound"] } as const;

/** JSON Schemas of every message, by event. */
export const TWILIO_MESSAGE_SCHEMAS = {
  connected: {
    type: "object",
    required: ["event", "protocol"],
    properties: { event: { const: "connected" }, protocol: { type: "string", maxLength: 64 }, version: { type: "string", maxLength: 32 } },
  },
  start: {
    type: "object",
    required: ["event", "streamSid", "start"],
    properties: {
      event: { const: "start" },
      sequenceNumber: DIGITS,
      streamSid: SID,
      start: {
        type: "object",
        required: ["accountSid", "callSid", "tracks", "mediaFormat"],
        properties: {
          streamSid: SID,
          accountSid: SID,
          callSid: SID,
          tracks: { type: "array", minItems: 1, maxItems: 2, uniqueItems: true, items: TRACK },
          customParameters: {
            type: "object",
            maxProperties: 32,
            propertyNames: { maxLength: 64 },
            additionalProperties: { type: "string", maxLength: 500 },
          },
          mediaFormat: {
            type: "object",
            required: ["encoding", "sampleRate", "channels"],
            properties: {
              encoding: { const: "audio/x-mulaw" },
              sampleRate: { const: 8000 },
              channels: { const: 1 },
            },
          },
        },
      },
    },
  },
  media: {
    type: "object",
    required: ["event", "media"],
    properties: {
      event: { const: "media" },
      sequenceNumber: DIGITS,
      streamSid: SID,
      media: {
        type: "object",
        required: ["track", "timestamp", "payload"],
        properties: {
          track: TRACK,
          chunk: DIGITS,
          timestamp: DIGITS,
          // base64 of at most 48 KiB; the session bounds the decoded size further.
          payload: { type: "string", maxLength: 65_536 },
        },
      },
    },
  },
  dtmf: {
    type: "object",
    required: ["event", "dtmf"],
    properties: {
      event: { const: "dtmf" },
      sequenceNumber: DIGITS,
      streamSid: SID,
      dtmf: {
        type: "object",
        required: ["digit"],
        properties: { track: { type: "string", maxLength: 32 }, digit: { type: "string", pattern: "^[0-9*#A-Da-dw]$" } },
      },
    },
  },
  mark: {
    type: "object",
    required: ["event", "mark"],
    properties: {
      event: { const: "mark" },
      sequenceNumber: DIGITS,
      streamSid: SID,
      mark: { type: "object", required: ["name"], properties: { name: { type: "string", maxLength: 256 } } },
    },
  },
  stop: {
    type: "object",
    required: ["event"],
    properties: {
      event: { const: "stop" },
      sequenceNumber: DIGITS,
      streamSid: SID,
      stop: { type: "object", properties: { accountSid: SID, callSid: SID } },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = Object.fromEntries(Object.entries(TWILIO_MESSAGE_SCHEMAS).map(([event, schema]) => [event, ajv.compile(schema)])) as Record<
  (typeof TWILIO_EVENTS)[number],
  ValidateFunction
>;

/** Result of {@link parseTwilioMessage}. */
export type TwilioParse = { ok: true; message: TwilioMessage } | { ok: false; error: string };

function describe(event: string, err: ErrorObject): string {
  const path = err.instancePath.replace(/^\//, "").replace(/\//g, ".");
  if (err.keyword === "required") {
    const missing = String((err.params as { missingProperty: string }).missingProperty);
    return `${event} message: ${path ? `${path}.` : ""}${missing} is required`;
  }
  return `${event} message: ${path || "(message)"} ${err.message ?? "is invalid"}`;
}

/**
 * Parse and validate one text frame.
 * @param text the frame as UTF-8 text (the caller bounds its size: {@link MAX_TWILIO_MESSAGE_BYTES})
 * @returns the typed message, or the reason it is refused: not JSON, no `event`, an unknown event
 *   (naming the accepted ones), or the first schema error with its field
 */
export function parseTwilioMessage(text: string): TwilioParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: "message is not JSON: Twilio Media Streams sends JSON text frames" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, error: "message is not a JSON object" };
  const event = (value as { event?: unknown }).event;
  if (typeof event !== "string") return { ok: false, error: "message has no event" };
  if (!(TWILIO_EVENTS as readonly string[]).includes(event)) {
    return { ok: false, error: `unknown event "${event.slice(0, 40)}": expected one of ${TWILIO_EVENTS.join(", ")}` };
  }
  const validate = validators[event as (typeof TWILIO_EVENTS)[number]];
  if (!validate(value)) return { ok: false, error: describe(event, validate.errors![0]!) };
  return { ok: true, message: value as TwilioMessage };
}
