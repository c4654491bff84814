/**
 * One valid and (where the type can be invalid) one invalid context for each context type our
 * records declare, for the FDC3 hygiene test and `npm run bench:fdc3`. Every valid one passes
 * `validateContext`; every invalid one fails it (checked by the hygiene test).
 */
import { interactionFromTranscript, type Transcript } from "../../../src/contracts";

const jane = { type: "fdc3.contact", name: "Jane Doe", id: { email: "jane.doe@example.com" } };

/** A small finished transcript, `transcriptId` `hygiene-<n>`. */
export function sampleTranscript(n = 1): Transcript {
  return {
    type: "fdc3.transcript",
    id: { transcriptId: `hygiene-${n}`, callId: `hygiene-call-${n}` },
    source: "call",
    participants: { type: "fdc3.contactList", contacts: [jane as never] },
    timeRange: { type: "fdc3.timeRange", startTime: "2026-12-02T10:00:00.000Z", endTime: "2026-12-02T10:00:04.000Z" },
    language: "en",
    text: "please send the invoice again",
    segments: [{ speaker: "Jane Doe", channel: 1, start: 0.2, end: 3.1, text: "please send the invoice again", confidence: 0.9 }],
    duration: 4,
  };
}

/** A connected call `callId`. */
export function sampleCall(callId: string, state: "connected" | "ended" = "connected") {
  return { type: "fdc3.call", id: { callId }, direction: "outbound", state, participants: { type: "fdc3.contactList", contacts: [jane] }, startTime: "2026-12-02T10:00:00.000Z" };
}

/** Valid sample per context type (`n` varies ids, so repeated saves are new records). */
export function validSample(type: string, n = 1): Record<string, unknown> {
  switch (type) {
    case "fdc3.transcript":
      return sampleTranscript(n) as unknown as Record<string, unknown>;
    case "fdc3.interaction":
      return interactionFromTranscript(sampleTranscript(n)) as unknown as Record<string, unknown>;
    case "fdc3.call":
      return sampleCall(`hygiene-call-${n}`);
    case "fdc3.contact":
      return jane;
    case "fdc3.nothing":
      return { type: "fdc3.nothing" };
    default:
      throw new Error(`no sample for ${type}`);
  }
}

/** An invalid context of `type` (its required fields missing or wrong), or undefined where none exists (`fdc3.nothing`). */
export function invalidSample(type: string): Record<string, unknown> | undefined {
  switch (type) {
    case "fdc3.transcript":
      return { type, id: { transcriptId: "" }, source: "voicemail", text: 7 };
    case "fdc3.interaction":
      return { type, interactionType: "Call", participants: { type: "fdc3.contactList", contacts: [] } }; // no timeRange, no description
    case "fdc3.call":
      return { type, id: {}, state: "exploded" };
    case "fdc3.contact":
      return { type, id: "not-an-object" };
    default:
      return undefined;
  }
}
