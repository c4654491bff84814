/**
 * Compiled ajv validators for the wire protocol (schemas in `protocol.ts`). One ajv instance holds
 * them all because the schemas reference each other by `$id`.
 */
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { PROTOCOL_SCHEMAS } from "./protocol";

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
for (const schema of PROTOCOL_SCHEMAS) ajv.addSchema(schema);

function validator(id: string) {
  const v = ajv.getSchema(id);
  if (!v) throw new Error(`schema ${id} not registered`);
  return v;
}

/** Validates a client text frame: `{"type": "KeepAlive" | "Finalize" | "CloseStream"}`. */
export const validateClientControl = validator("callscribe:deepgram/client-control");
/** Validates a live `Results` message. */
export const validateResults = validator("callscribe:deepgram/results");
/** Validates a live `Metadata` message. */
export const validateMetadata = validator("callscribe:deepgram/metadata");
/** Validates a live `UtteranceEnd` message. */
export const validateUtteranceEnd = validator("callscribe:deepgram/utterance-end");
/** Validates a live `SpeechStarted` message. */
export const validateSpeechStarted = validator("callscribe:deepgram/speech-started");
/** Validates a `POST /v1/listen` response body. */
export const validatePrerecordedResponse = validator("callscribe:deepgram/prerecorded-response");
/** Validates a Deepgram-style error body. */
export const validateErrorBody = validator("callscribe:deepgram/error");

/** ajv's errors of the last failed validation as one line, for test messages and logs. */
export function describeErrors(v: { errors?: unknown[] | null }): string {
  return ajv.errorsText(v.errors as never);
}
