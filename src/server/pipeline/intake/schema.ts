/**
 * The compiled ajv validator of the `recording-ready` webhook body (`recording-ready.schema.json`),
 * and a readable first error for 400 answers.
 */
import Ajv, { type ErrorObject } from "ajv";
import addFormats from "ajv-formats";
import type { RecordingReady } from "../../store/model";
import schema from "./recording-ready.schema.json" with { type: "json" };

const ajv = new Ajv({ allErrors: false, strict: true });
addFormats(ajv);
const validate = ajv.compile<RecordingReady>(schema);

/** The JSON Schema of the body, for documentation and tests. */
export const RECORDING_READY_SCHEMA = schema;

/** Result of {@link validateRecordingReady}: the body, or the offending field and why. */
export type RecordingReadyCheck = { valid: true; value: RecordingReady } | { valid: false; field: string; error: string };

function describe(err: ErrorObject): { field: string; error: string } {
  const path = err.instancePath.replace(/^\//, "").replace(/\//g, ".");
  if (err.keyword === "required") {
    const missing = String((err.params as { missingProperty: string }).missingProperty);
    return { field: path ? `${path}.${missing}` : missing, error: `${path ? `${path}.` : ""}${missing} is required` };
  }
  if (err.keyword === "additionalProperties") {
    const extra = String((err.params as { additionalProperty: string }).additionalProperty);
    return { field: path ? `${path}.${extra}` : extra, error: `${path ? `${path}.` : ""}${extra} is not an allowed field` };
  }
  const field = path || "(body)";
  return { field, error: `${field} ${err.message ?? "is invalid"}` };
}

/**
 * Validate a parsed webhook body against `recording-ready.schema.json`.
 * @returns the typed body, or the first error with its field (dotted path, e.g. `agent.email`)
 */
export function validateRecordingReady(body: unknown): RecordingReadyCheck {
  if (validate(body)) return { valid: true, value: body };
  return { valid: false, ...describe(validate.errors![0]) };
}
