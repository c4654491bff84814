/**
 * Context validation with ajv against the JSON Schemas in `contexts/` and the FDC3 2.2 standard
 * schemas. Used at every boundary where a context arrives: intent handlers, context listeners, the
 * CRMs, and the server when it builds transcripts.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { BASE_CONTEXT_SCHEMA, OWN_CONTEXT_SCHEMAS, STANDARD_CONTEXT_SCHEMAS } from "./schemas";

/** A context type this module can validate, e.g. `fdc3.transcript`. */
export type KnownContextType = keyof typeof OWN_CONTEXT_SCHEMAS | keyof typeof STANDARD_CONTEXT_SCHEMAS;

/** Outcome of {@link validateContext}: the context when valid, else one readable error line. */
export type ValidationResult =
  | { valid: true; context: { type: KnownContextType; [key: string]: unknown } }
  | { valid: false; error: string };

/** Thrown by {@link assertContext}. `message` says which type and which field failed. */
export class ContextValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContextValidationError";
  }
}

/**
 * Two FDC3 2.2.1-beta.2 standard schemas use `oneOf` where their alternatives overlap, so valid
 * contexts fail: `fdc3.timeRange` with both `startTime` and `endTime` matches all three `required`
 * branches, and `fdc3.interaction` with `interactionType: "Call"` matches both the enum and the
 * plain-string branch. `anyOf` is what they mean (later FDC3 releases say the same), so the
 * copies we compile use `anyOf` there. The originals in node_modules are untouched.
 */
function withOverlappingOneOfFixed<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replaceAll('"oneOf":', '"anyOf":')) as T;
}

const SCHEMA_FIXES = new Set(["fdc3.timeRange", "fdc3.interaction"]);

function compileAll(allErrors: boolean): Map<string, ValidateFunction> {
  // strict: false because the standard schemas use keywords (title, examples alongside $ref) that
  // ajv's strict mode rejects; test/contracts meta-validates our own schemas.
  const ajv = new Ajv({ allErrors, strict: false });
  addFormats(ajv);
  ajv.addSchema(BASE_CONTEXT_SCHEMA);
  for (const [type, schema] of Object.entries(STANDARD_CONTEXT_SCHEMAS)) {
    ajv.addSchema(SCHEMA_FIXES.has(type) ? withOverlappingOneOfFixed(schema) : schema);
  }
  for (const schema of Object.values(OWN_CONTEXT_SCHEMAS)) ajv.addSchema(schema);
  const all = { ...STANDARD_CONTEXT_SCHEMAS, ...OWN_CONTEXT_SCHEMAS };
  const validators = new Map<string, ValidateFunction>();
  for (const [type, schema] of Object.entries(all)) {
    validators.set(type, ajv.getSchema(schema.$id)!);
  }
  return validators;
}

/** Validators that stop at the first error (they decide), and that collect all (they describe). */
let validators: Map<string, ValidateFunction> | undefined;
let describers: Map<string, ValidateFunction> | undefined;

/**
 * Most values (objects, arrays and scalars, counted through the tree) in an invalid context that is
 * described with all its errors; a larger one is described by its first error. ajv's allErrors
 * mode appends each `$ref`'d array item's errors with `concat`, copying all the errors before:
 * quadratic, so a 1 MiB body of 40 000 bad segments took ~35 s of CPU (measured; 2 000 values
 * take a few ms). Valid contexts never take this path.
 */
export const DESCRIBE_ALL_ERRORS_MAX_VALUES = 2_000;

/** Whether `value` holds at most `max` values, counted without walking more than `max + 1`. */
function atMostValues(value: unknown, max: number): boolean {
  let seen = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++seen > max) return false;
    if (v !== null && typeof v === "object") {
      for (const key in v as object) {
        stack.push((v as Record<string, unknown>)[key]);
        if (seen + stack.length > max) return false;
      }
    }
  }
  return true;
}

/** Context types {@link validateContext} knows. */
export function knownContextTypes(): string[] {
  return [...Object.keys(STANDARD_CONTEXT_SCHEMAS), ...Object.keys(OWN_CONTEXT_SCHEMAS)];
}

function describe(type: string, errors: ErrorObject[] | null | undefined): string {
  // allOf/anyOf wrappers repeat the leaf errors; keep the leaves, which name the field.
  const leaves = (errors ?? []).filter((e) => !["allOf", "anyOf", "oneOf", "if"].includes(e.keyword));
  const lines = leaves.slice(0, 5).map((e) => {
    const where = e.instancePath || "(root)";
    const extra = e.keyword === "enum" ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")})` : "";
    return `${where} ${e.message}${extra}`;
  });
  return `invalid ${type}: ${lines.join("; ") || "does not match its schema"}`;
}

/**
 * Validate a context against the schema for its `type`.
 * @param value anything received from a desktop agent, a peer app or an HTTP body
 * @returns `{valid: true, context}` or `{valid: false, error}` where `error` is one line such as
 *   `invalid fdc3.transcript: /segments/0/start must be number` (up to five errors; only the first
 *   for a context of more than {@link DESCRIBE_ALL_ERRORS_MAX_VALUES} values). Never throws.
 */
export function validateContext(value: unknown): ValidationResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { valid: false, error: "invalid context: expected an object with a string `type`" };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string" || type.length === 0) {
    return { valid: false, error: "invalid context: missing string `type`" };
  }
  validators ??= compileAll(false);
  const validate = validators.get(type);
  if (!validate) {
    return { valid: false, error: `unsupported context type ${type}; expected one of ${knownContextTypes().join(", ")}` };
  }
  if (validate(value)) return { valid: true, context: value as { type: KnownContextType } };
  if (!atMostValues(value, DESCRIBE_ALL_ERRORS_MAX_VALUES)) return { valid: false, error: describe(type, validate.errors) };
  describers ??= compileAll(true);
  const all = describers.get(type)!;
  return { valid: false, error: describe(type, all(value) ? validate.errors : all.errors) };
}

/**
 * Validate a context and check that its type is one the caller accepts.
 * @param value the received context
 * @param allowedTypes e.g. `["fdc3.call", "fdc3.nothing"]`
 * @returns the same value, typed `T`
 * @throws ContextValidationError when the type is not allowed or the context is invalid
 */
export function assertContext<T = { type: string; [key: string]: unknown }>(value: unknown, allowedTypes: readonly string[]): T {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === "string" && !allowedTypes.includes(type)) {
    throw new ContextValidationError(`context type ${type} is not accepted here; expected ${allowedTypes.join(" or ")}`);
  }
  const result = validateContext(value);
  if (!result.valid) throw new ContextValidationError(result.error);
  return value as T;
}
