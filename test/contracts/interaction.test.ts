import { describe, expect, it } from "vitest";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import contextSchema from "@finos/fdc3-context/dist/schemas/context/context.schema.json" with { type: "json" };
import contactSchema from "@finos/fdc3-context/dist/schemas/context/contact.schema.json" with { type: "json" };
import contactListSchema from "@finos/fdc3-context/dist/schemas/context/contactList.schema.json" with { type: "json" };
import interactionSchema from "@finos/fdc3-context/dist/schemas/context/interaction.schema.json" with { type: "json" };
import timeRangeSchema from "@finos/fdc3-context/dist/schemas/context/timeRange.schema.json" with { type: "json" };
import { INTERACTION_DESCRIPTION_MAX_BYTES, interactionFromTranscript, truncateUtf8AtWord, type Transcript } from "../../src/contracts";

/** The standard schema compiled here on its own (not through validate.ts), with the documented oneOf→anyOf fix only. */
const fix = <T>(s: T): T => JSON.parse(JSON.stringify(s).replaceAll('"oneOf":', '"anyOf":')) as T;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
for (const s of [contextSchema, contactSchema, contactListSchema, fix(timeRangeSchema)]) ajv.addSchema(s);
const validateInteraction = ajv.compile(fix(interactionSchema));

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

const call: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "t-42", callId: "c-7" },
  source: "call",
  participants: {
    type: "fdc3.contactList",
    contacts: [
      { type: "fdc3.contact", name: "Jane Doe", id: { email: "jane@example.com" } },
      { type: "fdc3.contact", name: "Alice Agent", id: { email: "alice@example.com" } },
    ],
  },
  timeRange: { type: "fdc3.timeRange", startTime: "2026-12-02T10:00:00.000Z", endTime: "2026-12-02T10:05:00.000Z" },
  language: "en",
  text: "hello I would like to change my billing address",
  summary: "Customer asks to change the billing address.",
  segments: [],
  duration: 300,
};

describe("interactionFromTranscript", () => {
  it("maps a call to a valid standard fdc3.interaction", () => {
    const i = interactionFromTranscript(call, { initiator: call.participants!.contacts[0] as never });
    expect(validateInteraction(i), JSON.stringify(validateInteraction.errors)).toBe(true);
    expect(i).toMatchObject({
      type: "fdc3.interaction",
      interactionType: "Call",
      id: { Callscribe: "t-42" },
      participants: { type: "fdc3.contactList", contacts: call.participants!.contacts },
      timeRange: { type: "fdc3.timeRange", startTime: call.timeRange!.startTime, endTime: call.timeRange!.endTime },
      initiator: { name: "Jane Doe" },
      origin: "Callscribe",
    });
    expect(i.description).toBe(`Summary: ${call.summary}\n\nTranscript:\n${call.text}`);
  });

  it("derives the time range from the duration when the transcript has none, and leaves out an unknown initiator", () => {
    const { timeRange: _t, participants: _p, summary: _s, ...bare } = call;
    const i = interactionFromTranscript({ ...bare, source: "dictation", duration: 12.5 }, { now: () => new Date("2026-12-02T12:00:00.000Z") });
    expect(validateInteraction(i), JSON.stringify(validateInteraction.errors)).toBe(true);
    expect(i.timeRange).toEqual({ type: "fdc3.timeRange", startTime: "2026-12-02T11:59:47.500Z", endTime: "2026-12-02T12:00:00.000Z" });
    expect(i.participants.contacts).toEqual([]);
    expect(i).not.toHaveProperty("initiator");
    expect(i.description).toBe(`Transcript:\n${call.text}`);
  });

  it("keeps the description within 32 KiB of UTF-8, cut on a word boundary with a marker", () => {
    // Multi-byte words (é = 2 bytes, 🙂 = 4 bytes) so a character count would overshoot.
    const word = "décision🙂";
    const text = Array.from({ length: 5000 }, (_, k) => `${word}${k}`).join(" ");
    const i = interactionFromTranscript({ ...call, text });
    expect(utf8Bytes(text)).toBeGreaterThan(INTERACTION_DESCRIPTION_MAX_BYTES);
    expect(utf8Bytes(i.description)).toBeLessThanOrEqual(INTERACTION_DESCRIPTION_MAX_BYTES);
    expect(utf8Bytes(i.description)).toBeGreaterThan(INTERACTION_DESCRIPTION_MAX_BYTES - 200);
    expect(i.description.startsWith(`Summary: ${call.summary}`)).toBe(true);
    expect(i.description).toMatch(/ … \[truncated to 32768 bytes; full transcript: Callscribe t-42\]$/);
    const kept = i.description.slice(i.description.indexOf("Transcript:\n") + 12, i.description.indexOf(" … [truncated"));
    // Every kept word is a whole word of the original, in order.
    const original = text.split(" ");
    expect(kept.split(" ")).toEqual(original.slice(0, kept.split(" ").length));
    expect(validateInteraction(i)).toBe(true);
  });
});

describe("truncateUtf8AtWord", () => {
  it("returns text that fits unchanged", () => expect(truncateUtf8AtWord("a b c", 5, "…")).toBe("a b c"));
  it("cuts at the last whitespace within the limit", () => expect(truncateUtf8AtWord("alpha beta gamma", 13, "…")).toBe("alpha beta…"));
  it("cuts a single over-long word at a code point, never inside one", () => {
    const out = truncateUtf8AtWord("🙂🙂🙂🙂", 10, "…"); // … is 3 bytes: room for one 4-byte emoji
    expect(out).toBe("🙂…");
    expect(utf8Bytes(out)).toBeLessThanOrEqual(10);
  });
});
