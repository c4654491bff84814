/**
 * Twilio Media Streams pieces on their own: message schemas (`messages.ts`), `X-Twilio-Signature`
 * (`signature.ts`, checked against the worked example of Twilio's "Webhooks security" page and
 * against the test client's independent signer), and what a `start` message tells of the call
 * (`metadata.ts`).
 */
import { describe, expect, it } from "vitest";
import { parseTwilioMessage, type StartMessage } from "../../src/server/telephony/twilio/messages";
import { metadataFromStart } from "../../src/server/telephony/twilio/metadata";
import { twilioSignature, urlSpellings, verifyTwilioSignature } from "../../src/server/telephony/twilio/signature";
import { signTwilioUrl } from "../support/twilio-media-client";

const start = (over: Partial<StartMessage["start"]> = {}): StartMessage => ({
  event: "start",
  sequenceNumber: "1",
  streamSid: "MZ" + "1".repeat(32),
  start: {
    accountSid: "AC" + "2".repeat(32),
    callSid: "CA" + "3".repeat(32),
    streamSid: "MZ" + "1".repeat(32),
    tracks: ["inbound", "outbound"],
    customParameters: {},
    mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
    ...over,
  },
});

describe("Twilio message schemas", () => {
  it("accepts the spec's messages, with extra fields Twilio may add", () => {
    for (const m of [
      { event: "connected", protocol: "Call", version: "1.0.0" },
      start(),
      { event: "media", sequenceNumber: "3", streamSid: "MZ1", media: { track: "outbound", chunk: "1", timestamp: "5", payload: "/w==" }, future: 1 },
      { event: "dtmf", streamSid: "MZ1", sequenceNumber: "5", dtmf: { track: "inbound_track", digit: "#" } },
      { event: "mark", sequenceNumber: "4", streamSid: "MZ1", mark: { name: "my label" } },
      { event: "stop", sequenceNumber: "5", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } },
    ]) {
      const r = parseTwilioMessage(JSON.stringify(m));
      expect(r, JSON.stringify(m)).toMatchObject({ ok: true });
    }
  });

  it.each([
    ["not JSON", "{nope", /not JSON/],
    ["an array", "[1]", /not a JSON object/],
    ["no event", JSON.stringify({ media: {} }), /no event/],
    ["an unknown event", JSON.stringify({ event: "clear" }), /unknown event "clear": expected one of connected, start, media, dtmf, mark, stop/],
    ["another encoding", JSON.stringify({ ...start(), start: { ...start().start, mediaFormat: { encoding: "audio/l16", sampleRate: 8000, channels: 1 } } }), /start message: start\.mediaFormat\.encoding/],
    ["an unknown track", JSON.stringify({ ...start(), start: { ...start().start, tracks: ["both"] } }), /start message: start\.tracks\.0/],
    ["a numeric timestamp", JSON.stringify({ event: "media", media: { track: "inbound", timestamp: 20, payload: "" } }), /media message: media\.timestamp must be string/],
    ["media without payload", JSON.stringify({ event: "media", media: { track: "inbound", timestamp: "20" } }), /media message: media\.payload is required/],
    ["too many custom parameters", JSON.stringify(start({ customParameters: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) })), /customParameters must NOT have more than 32/],
  ])("refuses %s with a clear error", (_name, text, error) => {
    const r = parseTwilioMessage(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(error);
  });
});

describe("X-Twilio-Signature", () => {
  it("matches the worked example of Twilio's webhooks-security page (URL + sorted POST params)", () => {
    const params = { CallSid: "CA1234567890ABCDE", Caller: "+12349013030", Digits: "1234", From: "+12349013030", To: "+18005551212" };
    const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    expect(twilioSignature("12345", url, params)).toBe("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    expect(verifyTwilioSignature("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", [url], params)).toBe(true);
    expect(verifyTwilioSignature("12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", [url], { ...params, Digits: "9" })).toBe(false);
  });

  it("a WebSocket upgrade is signed over the wss URL alone, as the test client signs it", () => {
    const url = "wss://calls.example.com/v1/twilio/media";
    expect(twilioSignature("tok", url)).toBe(signTwilioUrl("tok", url));
    expect(verifyTwilioSignature("tok", signTwilioUrl("tok", url), [url])).toBe(true);
    expect(verifyTwilioSignature("other", signTwilioUrl("tok", url), [url])).toBe(false);
    expect(verifyTwilioSignature("tok", signTwilioUrl("tok", url + "x"), [url])).toBe(false);
    expect(verifyTwilioSignature("tok", undefined, [url])).toBe(false);
    expect(verifyTwilioSignature("tok", "", [url])).toBe(false);
  });

  it("accepts the URL with and without the scheme's default port, never another port", () => {
    expect(urlSpellings("wss://h.example/p")).toEqual(["wss://h.example/p", "wss://h.example:443/p"]);
    expect(urlSpellings("wss://h.example:443/p?q=1")).toEqual(["wss://h.example:443/p?q=1", "wss://h.example/p?q=1"]);
    expect(urlSpellings("ws://h.example:8080/p")).toEqual(["ws://h.example:8080/p"]);
    expect(verifyTwilioSignature("tok", signTwilioUrl("tok", "wss://h.example:443/p"), ["wss://h.example/p"])).toBe(true);
    expect(verifyTwilioSignature("tok", signTwilioUrl("tok", "wss://h.example:8443/p"), ["wss://h.example/p"])).toBe(false);
  });
});

describe("metadataFromStart", () => {
  const at = new Date("2026-12-02T10:00:00Z");

  it("call id from customParameters.callId, parties named with roles, numbers from from/to", () => {
    const r = metadataFromStart(start({ customParameters: { callId: "call-42", agentName: "Alice Agent", customerName: "Bob Customer", from: "+15551230000", to: "+15559870000" } }), at);
    expect(r).toEqual({
      ok: true,
      callId: "call-42",
      metadata: {
        call_id: "call-42",
        participants: [
          { role: "agent", name: "Alice Agent" },
          { role: "customer", name: "Bob Customer", phone: "+15551230000" },
        ],
        start_time: "2026-12-02T10:00:00.000Z",
        agent: { name: "Alice Agent" },
        phone_number: "+15551230000",
        dialled_number: "+15559870000",
      },
    });
  });

  it("without callId the callSid is the call id; an outbound call's customer is `to`; odd numbers are left out", () => {
    const r = metadataFromStart(start({ customParameters: { direction: "outbound", from: "client:alice", To: "+15559870000" } }), at);
    expect(r.ok && r.callId).toBe("CA" + "3".repeat(32));
    expect(r.ok && r.metadata).toMatchObject({ direction: "outbound", phone_number: "+15559870000", participants: [{ role: "agent" }, { role: "customer", phone: "+15559870000" }] });
  });

  it("refuses a callId that is not a call id", () => {
    const r = metadataFromStart(start({ customParameters: { callId: "../etc/passwd" } }), at);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^start\.customParameters\.callId is not a valid call id/) });
  });
});
