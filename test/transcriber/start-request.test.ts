import { describe, expect, it } from "vitest";
import type { Call } from "../../src/contracts";
import {
  UnsupportedStartContextError,
  callEndsSession,
  contextMatchesSession,
  mergeContacts,
  startRequestFromContext,
} from "../../src/transcriber/session/start-request";

const jane = { type: "fdc3.contact" as const, name: "Jane Doe", id: { email: "jane@example.com" } };
const call: Call = {
  type: "fdc3.call",
  id: { callId: "c-1" },
  state: "connected",
  direction: "inbound",
  participants: { type: "fdc3.contactList", contacts: [jane] },
  startTime: "2026-11-21T09:30:00.000Z",
};

describe("startRequestFromContext", () => {
  it("makes a call session from fdc3.call with its id, participants and start time", () => {
    expect(startRequestFromContext(call)).toEqual({ source: "call", callId: "c-1", participants: [jane], callStartTime: "2026-11-21T09:30:00.000Z" });
  });

  it("accepts a Call interaction and refuses other interaction types", () => {
    const interaction = {
      type: "fdc3.interaction",
      id: { URI: "tel-session-9" },
      interactionType: "Call",
      participants: { type: "fdc3.contactList", contacts: [jane] },
      timeRange: { type: "fdc3.timeRange", startTime: "2026-11-21T09:30:00.000Z" },
      description: "call",
    };
    expect(startRequestFromContext(interaction)).toMatchObject({ source: "call", callId: "tel-session-9", participants: [jane] });
    expect(() => startRequestFromContext({ ...interaction, interactionType: "Email" })).toThrow(UnsupportedStartContextError);
  });

  it("dictates for fdc3.contact (about that contact) and fdc3.nothing", () => {
    expect(startRequestFromContext(jane)).toEqual({ source: "dictation", participants: [jane] });
    expect(startRequestFromContext({ type: "fdc3.nothing" })).toEqual({ source: "dictation", participants: [] });
  });

  it("refuses a call that has already ended", () => {
    expect(() => startRequestFromContext({ ...call, state: "ended" })).toThrow(/already ended/);
  });
});

describe("matching stop and call-ended contexts to the session", () => {
  it("stops on fdc3.nothing, the same call, or any call when the session has no call id", () => {
    expect(contextMatchesSession({ type: "fdc3.nothing" }, "c-1")).toBe(true);
    expect(contextMatchesSession(call, "c-1")).toBe(true);
    expect(contextMatchesSession({ ...call, id: { callId: "c-2" } }, "c-1")).toBe(false);
    expect(contextMatchesSession(call, undefined)).toBe(true);
    expect(contextMatchesSession(jane, "c-1")).toBe(false);
  });

  it("ends the session only for an ended call with a matching id", () => {
    expect(callEndsSession({ ...call, state: "ended" }, "c-1")).toBe(true);
    expect(callEndsSession({ ...call, state: "held" }, "c-1")).toBe(false);
    expect(callEndsSession({ ...call, state: "ended", id: { callId: "other" } }, "c-1")).toBe(false);
    expect(callEndsSession({ ...call, state: "ended", id: { callId: "other" } }, undefined)).toBe(true);
  });
});

describe("mergeContacts", () => {
  it("drops duplicates by email, then FDS_ID, then name", () => {
    const merged = mergeContacts(
      [jane, { type: "fdc3.contact", name: "Bob", id: {} }],
      [{ type: "fdc3.contact", name: "J. Doe", id: { email: "JANE@example.com" } }, { type: "fdc3.contact", name: "bob", id: {} }, { type: "fdc3.contact", name: "Ann", id: { FDS_ID: "A1" } }],
    );
    expect(merged.map((c) => c.name)).toEqual(["Jane Doe", "Bob", "Ann"]);
  });
});
