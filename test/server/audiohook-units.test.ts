/**
 * AudioHook building blocks without a socket: durations, the client-message schemas, media
 * selection and channel reordering, structured fields, and the HTTP Message Signature check
 * against signatures made by the test client's independent signer (`test/support/audiohook-client.ts`).
 */
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/server/telephony/audiohook/duration";
import { FrameConverter, selectMedia } from "../../src/server/telephony/audiohook/media";
import { parseClientMessage } from "../../src/server/telephony/audiohook/messages";
import { NonceCache, verifyAudiohookSignature } from "../../src/server/telephony/audiohook/signature";
import { parseDictionary, serializeInnerList, isInnerList } from "../../src/server/telephony/audiohook/structured-fields";
import { pcmu, signatureHeaders } from "../support/audiohook-client";

const ID = "8a1c8a7e-5b6f-4a3e-9d2c-1f0e2d3c4b5a";
const env = (type: string, parameters: object, extra: object = {}) => JSON.stringify({ version: "2", id: ID, type, seq: 1, serverseq: 0, position: "PT0S", parameters, ...extra });

describe("durations (PT<seconds>S)", () => {
  it("parses and formats seconds", () => {
    expect(parseDuration("PT1.5S")).toBe(1.5);
    expect(parseDuration("PT0S")).toBe(0);
    expect(parseDuration("PT.25S")).toBe(0.25);
    expect(formatDuration(1.5)).toBe("PT1.5S");
    expect(formatDuration(0)).toBe("PT0S");
    expect(formatDuration(12.3456)).toBe("PT12.346S");
    for (const bad of ["1.5", "PT-1S", "P1D", "PT1M", "PTS", "PT1.5"]) expect(() => parseDuration(bad), bad).toThrow(/not an AudioHook duration/);
  });
});

describe("client message schemas", () => {
  it("accepts each client message type", () => {
    const ok = [
      env("open", { organizationId: ID, conversationId: ID, participant: { id: ID, ani: "+1", aniName: "A", dnis: "+2" }, media: [pcmu(["external", "internal"])] }),
      env("ping", { rtt: "PT0.05S" }),
      env("paused", {}),
      env("resumed", { start: "PT1S", discarded: "PT2S" }),
      env("discarded", { start: "PT1S", discarded: "PT0.5S" }),
      env("update", { language: "en-US" }),
      env("error", { code: 429, message: "slow down", retryAfter: "PT2S" }),
      env("close", { reason: "end" }),
    ];
    for (const text of ok) expect(parseClientMessage(text), text).toMatchObject({ ok: true });
  });

  it("names what is wrong: unknown type, bad JSON, bad envelope, bad parameters", () => {
    expect(parseClientMessage(env("hello", {}))).toEqual({ ok: false, error: expect.stringMatching(/unknown message type "hello": a client sends open, close, ping/) });
    expect(parseClientMessage("{nope")).toEqual({ ok: false, error: "text message is not valid JSON" });
    expect(parseClientMessage(env("ping", {}, { version: "1" }))).toEqual({ ok: false, error: expect.stringMatching(/message\.version must be equal to constant/) });
    expect(parseClientMessage(env("ping", {}, { position: "1.5" }))).toEqual({ ok: false, error: expect.stringMatching(/message\.position must match pattern/) });
    expect(parseClientMessage(env("ping", {}, { seq: 0 }))).toEqual({ ok: false, error: expect.stringMatching(/message\.seq must be >= 1/) });
    expect(parseClientMessage(env("close", {}))).toEqual({ ok: false, error: expect.stringMatching(/invalid close message: parameters must have required property 'reason'/) });
    expect(parseClientMessage(env("open", { organizationId: "x", conversationId: ID, participant: {}, media: [] }))).toEqual({
      ok: false,
      error: expect.stringMatching(/invalid open message: parameters\.organizationId must match pattern/),
    });
  });
});

describe("media", () => {
  it("prefers a stereo PCMU offer in either order, else mono; refuses others", () => {
    expect(selectMedia([pcmu(["external"]), pcmu(["internal", "external"])])).toEqual(pcmu(["internal", "external"]));
    expect(selectMedia([{ ...pcmu(["external", "internal"]), format: "L16" }, pcmu(["internal"])])).toEqual(pcmu(["internal"]));
    expect(selectMedia([{ ...pcmu(["external", "internal"]), rate: 16000 }])).toBeUndefined();
    expect(selectMedia([pcmu(["external", "external"])])).toBeUndefined();
  });

  it("reorders to (agent = internal, customer = external) and pads mono with μ-law silence", () => {
    const ei = new FrameConverter(pcmu(["external", "internal"]));
    expect([...ei.convert(Uint8Array.from([1, 2, 3, 4]))]).toEqual([2, 1, 4, 3]);
    expect(ei.channelIdOf(0)).toBe(1);
    expect(ei.channelIdOf(1)).toBe(0);
    const ie = new FrameConverter(pcmu(["internal", "external"]));
    const frame = Uint8Array.from([1, 2]);
    expect(ie.convert(frame)).toBe(frame);
    const ext = new FrameConverter(pcmu(["external"]));
    expect([...ext.convert(Uint8Array.from([5, 6]))]).toEqual([0xff, 5, 0xff, 6]);
    expect(ext.channelIdOf(0)).toBeUndefined();
    expect(ext.seconds(8000)).toBe(1);
    expect(ei.seconds(8000)).toBe(0.5);
  });
});

describe("structured fields", () => {
  it("parses a signature-input dictionary and serializes its inner list back", () => {
    const text = 'sig1=("@request-target" "x-api-key");keyid="k";nonce="n";alg="hmac-sha256";created=1700000000;expires=1700000030, sig2=:AAEC:';
    const d = parseDictionary(text);
    const m = d.get("sig1")!;
    expect(isInnerList(m)).toBe(true);
    if (isInnerList(m)) expect(serializeInnerList(m)).toBe('("@request-target" "x-api-key");keyid="k";nonce="n";alg="hmac-sha256";created=1700000000;expires=1700000030');
    expect([...(d.get("sig2") as { value: Uint8Array }).value]).toEqual([0, 1, 2]);
    expect(() => parseDictionary('sig1=("a" "b"')).toThrow();
    expect(() => parseDictionary("sig1=:%%%:")).toThrow();
  });
});

describe("HTTP Message Signature check", () => {
  const secret = Buffer.from("0123456789abcdef0123456789abcdef");
  const apiKey = "ah-test-key-1";
  const url = new URL("ws://127.0.0.1:8787/v1/audiohook?x=1");
  const base = {
    host: "127.0.0.1:8787",
    "Audiohook-Organization-Id": ID,
    "Audiohook-Session-Id": "0b3c1a64-2d6e-4f5a-8b9c-7d6e5f4a3b2c",
    "Audiohook-Correlation-Id": "2f1e0d9c-8b7a-4c5d-9e6f-1a2b3c4d5e6f",
    "X-API-KEY": apiKey,
  };
  const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  const check = (extra: Record<string, string>, o: { nonces?: NonceCache; now?: number } = {}) =>
    verifyAudiohookSignature({ headers: lower({ ...base, ...extra }), target: "/v1/audiohook?x=1", method: "GET", secret, apiKey, nonces: o.nonces ?? new NonceCache(), nowSeconds: o.now });

  it("accepts a good signature once, refuses its replay", () => {
    const nonces = new NonceCache();
    const sig = signatureHeaders(url, base, apiKey, secret);
    expect(check(sig, { nonces })).toEqual({ ok: true });
    expect(check(sig, { nonces })).toEqual({ ok: false, status: 401, reason: expect.stringMatching(/nonce was already used/) });
  });

  it("refuses a wrong secret, a stale or future created time, missing components, a wrong keyid, no signature", () => {
    expect(check(signatureHeaders(url, base, apiKey, secret, { wrongSecret: Buffer.from("another secret of 32 bytes......") }))).toMatchObject({ ok: false, reason: "signature does not match" });
    const now = Date.now() / 1000;
    expect(check(signatureHeaders(url, base, apiKey, secret, { created: Math.floor(now) - 300 }))).toMatchObject({ ok: false, reason: expect.stringMatching(/too old/) });
    expect(check(signatureHeaders(url, base, apiKey, secret, { created: Math.floor(now) + 300 }))).toMatchObject({ ok: false, reason: expect.stringMatching(/in the future/) });
    expect(check(signatureHeaders(url, base, apiKey, secret, { omit: ["audiohook-session-id"] }))).toMatchObject({ ok: false, reason: "signature does not cover audiohook-session-id" });
    expect(check(signatureHeaders(url, { ...base, "X-API-KEY": "other" }, "other", secret))).toMatchObject({ ok: false, reason: expect.stringMatching(/keyid does not match/) });
    expect(check({})).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed/) });
    expect(check({ "signature-input": "garbage((", signature: "sig1=:AA==:" })).toMatchObject({ ok: false, reason: expect.stringMatching(/do not parse/) });
    // A header changed after signing.
    expect(check({ ...signatureHeaders(url, base, apiKey, secret), "Audiohook-Session-Id": "11111111-2222-4333-8444-555555555555" })).toMatchObject({ ok: false, reason: "signature does not match" });
  });

  it("the nonce cache is bounded: expired nonces make room, live ones fill it", () => {
    let t = 0;
    const cache = new NonceCache(2, () => t);
    expect(cache.use("a", 100)).toBe("fresh");
    expect(cache.use("b", 100)).toBe("fresh");
    expect(cache.use("c", 100)).toBe("full");
    t = 150;
    expect(cache.use("c", 300)).toBe("fresh");
    expect(cache.size).toBe(1);
  });
});

describe("transcript entities", () => {
  it("turn a final Results into a transcript entity on the client's timeline (discarded audio shifts later times)", async () => {
    const { StreamTimeline, transcriptEntity } = await import("../../src/server/telephony/audiohook/transcript-entities");
    const timeline = new StreamTimeline();
    timeline.addGap(1, 2); // after 1 s of audio the client discarded 2 s
    const result = {
      type: "Results" as const,
      channel_index: [0, 2] as [number, number],
      start: 1.5,
      duration: 1,
      is_final: true,
      speech_final: true,
      from_finalize: false,
      channel: { alternatives: [{ transcript: "hello there", confidence: 0.9, words: [{ word: "hello", start: 1.5, end: 1.9, confidence: 0.8 }, { word: "there", start: 2, end: 2.5, confidence: 1.2, punctuated_word: "there." }] }] },
      metadata: { request_id: "r", model_info: { name: "m", version: "1", arch: "a" }, model_uuid: "u" },
    };
    const e = transcriptEntity(result, { channelId: 1, timeline, language: "en-US" })!;
    expect(e).toMatchObject({
      type: "transcript",
      data: {
        channelId: 1,
        isFinal: true,
        offset: "PT3.5S",
        duration: "PT1S",
        alternatives: [
          {
            confidence: 0.9,
            languages: ["en-US"],
            interpretations: [
              {
                type: "display",
                transcript: "hello there",
                tokens: [
                  { type: "word", value: "hello", confidence: 0.8, offset: "PT3.5S", duration: "PT0.4S", language: "en-US" },
                  { type: "word", value: "there.", confidence: 1, offset: "PT4S", duration: "PT0.5S" },
                ],
              },
            ],
          },
        ],
      },
    });
    expect(e.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(timeline.positionOf(0.5)).toBe(0.5);
    expect(transcriptEntity({ ...result, channel: { alternatives: [{ transcript: " ", confidence: 0, words: [] }] } }, { channelId: 1, timeline, language: "en-US" })).toBeUndefined();
    expect(transcriptEntity(result, { channelId: undefined, timeline, language: "en-US" })).toBeUndefined();
  });
});
