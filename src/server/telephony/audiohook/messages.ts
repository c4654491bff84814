/**
 * Genesys Cloud AudioHook protocol, version 2: message shapes and their ajv JSON Schemas.
 * Source: the public "AudioHook protocol" specification on developer.genesys.cloud
 * (devapps/audiohook) and the message types of Genesys's open-source reference implementation
 * (purecloudlabs/audiohook-reference-implementation, `protocol/message.ts`); our own code.
 *
 * Every text frame is one JSON object: `{version: "2", id, type, seq, parameters}` plus, from the
 * client, `serverseq` (the last server `seq` it saw) and `position` (its stream position, a
 * {@link DURATION_PATTERN} duration), and from the server `clientseq` (the last client `seq`
 * processed). Binary frames carry audio in the media the server selected in `opened`.
 *
 * Client messages: open, close, ping, paused, resumed, discarded, update, error.
 * Server messages: opened, closed, pong, pause, resume, event, disconnect.
 */
import Ajv, { type ValidateFunction } from "ajv";
import { DURATION_PATTERN } from "./duration";

/** A UUID as the spec writes it (RFC 4122 text form, any case). */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** The null UUID: `conversationId` of a connection probe (Genesys testing the integration). */
export const NULL_UUID = "00000000-0000-0000-0000-000000000000";

/** `external` = the customer's side of the call, `internal` = the agent's (Genesys's terms). */
export type MediaChannel = "external" | "internal";

/** One media offer (`open.parameters.media[]`) or the selected media (`opened.parameters.media[0]`). */
export interface MediaParameter {
  type: "audio";
  /** `PCMU` (G.711 μ-law, 1 byte per sample) or `L16` (16-bit linear). */
  format: "PCMU" | "L16" | string;
  /** Interleaving order of the binary frames, e.g. `["external", "internal"]`. */
  channels: MediaChannel[];
  /** Hz; 8000 in practice. */
  rate: number;
}

/** `open.parameters.participant`: the remote party (the customer, for an inbound call). */
export interface Participant {
  id?: string;
  /** The remote party's number (E.164 or a SIP URI part). */
  ani?: string;
  /** The remote party's name, when known. */
  aniName?: string;
  /** The number that was dialled. */
  dnis?: string;
}

interface ClientBase<T extends string, P> {
  version: "2";
  /** Session id (the `Audiohook-Session-Id` header). */
  id: string;
  type: T;
  /** 1, 2, 3, … per client message. */
  seq: number;
  /** The `seq` of the last server message the client received (0 before any). */
  serverseq: number;
  /** The client's stream position (`PT<seconds>S`). */
  position: string;
  parameters: P;
}

export type OpenMessage = ClientBase<
  "open",
  {
    organizationId: string;
    conversationId: string;
    participant: Participant;
    media: MediaParameter[];
    language?: string;
    supportedLanguages?: boolean;
    customConfig?: Record<string, unknown>;
    continuedSessions?: unknown[];
  }
>;
export type CloseMessage = ClientBase<"close", { reason: "end" | "error" | "disconnect" | "reconnect" | string }>;
export type PingMessage = ClientBase<"ping", { rtt?: string }>;
export type PausedMessage = ClientBase<"paused", Record<string, never>>;
export type ResumedMessage = ClientBase<"resumed", { start: string; discarded: string }>;
export type DiscardedMessage = ClientBase<"discarded", { start: string; discarded: string }>;
export type UpdateMessage = ClientBase<"update", { language?: string; participant?: Participant }>;
export type ErrorMessage = ClientBase<"error", { code: number; message: string; retryAfter?: string }>;

/** Any message a client (Genesys Cloud) sends. */
export type ClientMessage = OpenMessage | CloseMessage | PingMessage | PausedMessage | ResumedMessage | DiscardedMessage | UpdateMessage | ErrorMessage;
export type ClientMessageType = ClientMessage["type"];

/** Reasons of a server `disconnect`. */
export type DisconnectReason = "completed" | "unauthorized" | "error";

/** A transcript token (`tokens[]`): one word. Times on the client's stream timeline. */
export interface TranscriptToken {
  type: "word";
  value: string;
  confidence: number;
  offset: string;
  duration: string;
  language?: string;
}

/**
 * The `transcript` event entity's data (Transcription Connector; reference implementation
 * `entities-transcript.ts`): `channelId` is the index of the channel in the selected media's
 * `channels`; `offset`/`duration` place the utterance on the client's stream timeline.
 */
export interface TranscriptEntityData {
  id: string;
  channelId: number;
  isFinal: boolean;
  offset: string;
  duration: string;
  alternatives: {
    confidence: number;
    languages?: string[];
    interpretations: { type: "display"; transcript: string; tokens?: TranscriptToken[] }[];
  }[];
}

/** An event entity; only `transcript` is sent by this server. */
export type EventEntity = { type: "transcript"; data: TranscriptEntityData };

/** Parameters of each server message type. */
export interface ServerParameters {
  opened: { media: MediaParameter[]; startPaused?: boolean; discardTo?: string; supportedLanguages?: string[] };
  closed: Record<string, never>;
  pong: Record<string, never>;
  pause: Record<string, never>;
  resume: Record<string, never>;
  event: { entities: EventEntity[] };
  disconnect: { reason: DisconnectReason; info?: string };
}
export type ServerMessageType = keyof ServerParameters;

/** A server message as sent. */
export interface ServerMessage<T extends ServerMessageType = ServerMessageType> {
  version: "2";
  id: string;
  type: T;
  seq: number;
  clientseq: number;
  parameters: ServerParameters[T];
}

// ---------------------------------------------------------------------------------------------
// JSON Schemas of the client messages. Unknown extra properties are allowed (the protocol grows
// by adding fields); the fields we use are checked.

const seqSchema = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const durationSchema = { type: "string", pattern: DURATION_PATTERN, maxLength: 32 };
const shortString = (max: number) => ({ type: "string", maxLength: max });
const emptyParams = { type: "object", maxProperties: 16 };

const participantSchema = {
  type: "object",
  properties: { id: shortString(128), ani: shortString(256), aniName: shortString(256), dnis: shortString(256) },
};

const mediaSchema = {
  type: "object",
  required: ["type", "format", "channels", "rate"],
  properties: {
    type: { type: "string", maxLength: 32 },
    format: { type: "string", maxLength: 32 },
    channels: { type: "array", minItems: 1, maxItems: 8, items: { type: "string", maxLength: 32 } },
    rate: { type: "integer", minimum: 1, maximum: 384000 },
  },
};

/** The envelope every client message shares. */
const envelopeSchema = {
  type: "object",
  required: ["version", "id", "type", "seq", "serverseq", "position", "parameters"],
  properties: {
    version: { const: "2" },
    id: { type: "string", pattern: UUID_PATTERN },
    type: { type: "string", maxLength: 64 },
    seq: { ...seqSchema, minimum: 1 },
    serverseq: seqSchema,
    position: durationSchema,
    parameters: { type: "object" },
  },
};

/** `parameters` schema per client message type. */
const PARAMETER_SCHEMAS: Record<ClientMessageType, object> = {
  open: {
    type: "object",
    required: ["organizationId", "conversationId", "participant", "media"],
    properties: {
      organizationId: { type: "string", pattern: UUID_PATTERN },
      conversationId: { type: "string", pattern: UUID_PATTERN },
      participant: participantSchema,
      media: { type: "array", maxItems: 16, items: mediaSchema },
      language: shortString(35),
      supportedLanguages: { type: "boolean" },
      customConfig: { type: "object" },
      continuedSessions: { type: "array", maxItems: 16 },
    },
  },
  close: { type: "object", required: ["reason"], properties: { reason: shortString(64) } },
  ping: { type: "object", properties: { rtt: durationSchema } },
  paused: emptyParams,
  resumed: { type: "object", required: ["start", "discarded"], properties: { start: durationSchema, discarded: durationSchema } },
  discarded: { type: "object", required: ["start", "discarded"], properties: { start: durationSchema, discarded: durationSchema } },
  update: { type: "object", properties: { language: shortString(35), participant: participantSchema } },
  error: {
    type: "object",
    required: ["code", "message"],
    properties: { code: { type: "integer", minimum: 100, maximum: 599 }, message: shortString(4096), retryAfter: durationSchema },
  },
};

/** Client message types, as the spec names them. */
export const CLIENT_MESSAGE_TYPES = Object.keys(PARAMETER_SCHEMAS) as ClientMessageType[];

const ajv = new Ajv({ allErrors: false, strict: true });
const validateEnvelope = ajv.compile(envelopeSchema);
const validateParameters = Object.fromEntries(Object.entries(PARAMETER_SCHEMAS).map(([t, s]) => [t, ajv.compile(s)])) as Record<ClientMessageType, ValidateFunction>;

/** Outcome of {@link parseClientMessage}. */
export type ParsedClientMessage = { ok: true; message: ClientMessage } | { ok: false; error: string };

function firstError(v: ValidateFunction, where: string): string {
  const e = v.errors?.[0];
  if (!e) return `${where} is invalid`;
  const path = e.instancePath ? `${where}${e.instancePath.replace(/\//g, ".")}` : where;
  return `${path} ${e.message ?? "is invalid"}`;
}

/**
 * Parse and validate one client text frame.
 * @returns the message, or a one-line error naming the field at fault (unknown `type`s name the
 *   known ones); never throws
 */
export function parseClientMessage(text: string): ParsedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: "text message is not valid JSON" };
  }
  if (!validateEnvelope(value)) return { ok: false, error: `invalid message: ${firstError(validateEnvelope, "message")}` };
  const m = value as { type: string; parameters: unknown };
  if (!(CLIENT_MESSAGE_TYPES as string[]).includes(m.type)) {
    return { ok: false, error: `unknown message type ${JSON.stringify(m.type)}: a client sends ${CLIENT_MESSAGE_TYPES.join(", ")}` };
  }
  const v = validateParameters[m.type as ClientMessageType];
  if (!v(m.parameters)) return { ok: false, error: `invalid ${m.type} message: ${firstError(v, "parameters")}` };
  return { ok: true, message: value as unknown as ClientMessage };
}
