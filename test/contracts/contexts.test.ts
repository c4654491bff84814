import { describe, expect, it } from "vitest";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import callSchema from "../../contexts/call.schema.json" with { type: "json" };
import transcriptSchema from "../../contexts/transcript.schema.json" with { type: "json" };
import { assertContext, ContextValidationError, validateContext } from "../../src/contracts";

const own = { "fdc3.call": callSchema, "fdc3.transcript": transcriptSchema };

describe("our context schemas", () => {
  it.each(Object.entries(own))("%s is a valid draft-07 schema", (_type, schema) => {
    const ajv = new Ajv();
    addFormats(ajv);
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
  });

  for (const [type, schema] of Object.entries(own)) {
    it(`every example of ${type} validates and has that type`, () => {
      expect(schema.examples.length).toBeGreaterThan(0);
      for (const example of schema.examples) {
        const result = validateContext(example);
        expect(result, JSON.stringify(result)).toMatchObject({ valid: true });
        expect(example.type).toBe(type);
      }
    });
  }
});

describe("validateContext", () => {
  const transcript = transcriptSchema.examples[0];

  it("refuses a transcript whose segment time is not a number, naming the field", () => {
    const bad = structuredClone(transcript) as any;
    bad.segments[0].start = "zero";
    const result = validateContext(bad);
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.error).toMatch(/fdc3\.transcript.*\/segments\/0\/start/);
  });

  it("refuses a transcript without text and a call with an unknown state", () => {
    const { text: _text, ...noText } = transcript as any;
    expect(validateContext(noText).valid).toBe(false);
    const call = { ...callSchema.examples[0], state: "exploded" };
    const result = validateContext(call);
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.error).toMatch(/state.*ringing, connected, held, ended/);
  });

  it("refuses non-objects, missing and unknown types with a clear message", () => {
    expect(validateContext(null)).toEqual({ valid: false, error: expect.stringMatching(/object/) });
    expect(validateContext({ id: {} })).toEqual({ valid: false, error: expect.stringMatching(/type/) });
    expect(validateContext({ type: "fdc3.order", id: {} })).toEqual({ valid: false, error: expect.stringMatching(/unsupported context type fdc3\.order/) });
  });

  it("accepts standard contexts a softphone may send, including the schema cases FDC3 2.2 gets wrong", () => {
    expect(validateContext({ type: "fdc3.nothing" }).valid).toBe(true);
    expect(validateContext({ type: "fdc3.contact", name: "Jane Doe", id: { email: "jane@example.com" } }).valid).toBe(true);
    // interactionType "Call" and a closed timeRange both fail the standard's overlapping oneOf.
    const interaction = {
      type: "fdc3.interaction",
      interactionType: "Call",
      description: "Call with Jane",
      participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", id: { email: "jane@example.com" } }] },
      timeRange: { type: "fdc3.timeRange", startTime: "2026-11-21T09:30:00Z", endTime: "2026-11-21T09:40:00Z" },
    };
    expect(validateContext(interaction)).toMatchObject({ valid: true });
    expect(validateContext({ ...interaction, participants: undefined }).valid).toBe(false);
  });

  it("accepts an fdc3.transactionResult with status Created and refuses an unknown status", () => {
    const ok = { type: "fdc3.transactionResult", status: "Created", context: transcript, message: "saved" };
    expect(validateContext(ok).valid).toBe(true);
    expect(validateContext({ ...ok, status: "Saved" }).valid).toBe(false);
  });
});

describe("assertContext", () => {
  it("returns an allowed valid context and throws ContextValidationError otherwise", () => {
    const call = callSchema.examples[0];
    expect(assertContext(call, ["fdc3.call", "fdc3.nothing"])).toBe(call);
    expect(() => assertContext(call, ["fdc3.transcript"])).toThrow(ContextValidationError);
    expect(() => assertContext(call, ["fdc3.transcript"])).toThrow(/fdc3\.call is not accepted here; expected fdc3\.transcript/);
    expect(() => assertContext({ type: "fdc3.call", id: {} }, ["fdc3.call"])).toThrow(/invalid fdc3\.call/);
  });
});
