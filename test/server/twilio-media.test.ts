/**
 * `GET /v1/twilio/media` on the real server (real PocketSphinx engine behind the live-call hub),
 * driven by the Twilio Media Streams test client (`test/support/twilio-media-client.ts`, written
 * from Twilio's docs): the route off without CALLSCRIBE_TWILIO_AUTH_TOKEN, signatures (good, bad,
 * missing, another URL, behind a proxy with CALLSCRIBE_PUBLIC_URL), the API key not needed, and
 * bad input: unknown events, media before start, oversized frames and payloads, bad base64, binary
 * frames, a second stream for a call id that streams, a stream that stops without `stop` (idle
 * timeout, dropped socket): each closes with a clear reason, an open call is kept (CallEnded
 * failed with the reason and a transcript), and the server keeps serving.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LiveCallEvent } from "../../src/server/live-calls/types";
import type { RunningServer } from "./helpers";
import { startServer } from "./helpers";
import { signTwilioUrl, TwilioMediaClient, type UpgradeRefusal } from "../support/twilio-media-client";

const TOKEN = "twilio-test-auth-token-0123456789";
const SILENCE = new Uint8Array(160).fill(0xff);

type CallEnded = Extract<LiveCallEvent, { type: "CallEnded" }>;

let server: RunningServer;
let mediaUrl: string;

function isRefusal(x: TwilioMediaClient | UpgradeRefusal): x is UpgradeRefusal {
  return !(x instanceof TwilioMediaClient);
}

async function open(url = mediaUrl, o: { authToken?: string; signedUrl?: string; signature?: string; headers?: Record<string, string> } = { authToken: TOKEN }): Promise<TwilioMediaClient> {
  const c = await TwilioMediaClient.connect({ url, ...o });
  if (isRefusal(c)) throw new Error(`upgrade refused: ${c.status} ${c.body}`);
  return c;
}

async function refusal(url: string, o: { authToken?: string; signedUrl?: string; signature?: string; headers?: Record<string, string> }): Promise<UpgradeRefusal> {
  const c = await TwilioMediaClient.connect({ url, ...o });
  if (!isRefusal(c)) {
    c.drop();
    throw new Error("upgrade was accepted");
  }
  return c;
}

/** The call's CallEnded event (subscribing once the hub knows the call; the bus replays). */
async function callEnded(s: RunningServer, callId: string, timeoutMs = 60_000): Promise<CallEnded> {
  const deadline = Date.now() + timeoutMs;
  while (!(await s.app.liveCalls.knows(callId))) {
    if (Date.now() > deadline) throw new Error(`call ${callId} never started`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`call ${callId} did not end`)), Math.max(1, deadline - Date.now()));
    void s.app.liveCalls.subscribe(callId, 0, ({ event }) => {
      if (event.type === "CallEnded") {
        clearTimeout(timer);
        resolve(event);
      }
    });
  });
}

/** Send `ms` of silence on both tracks from `fromMs`. */
function silence(c: TwilioMediaClient, fromMs: number, ms: number): void {
  for (let t = fromMs; t < fromMs + ms; t += 20) {
    c.media("outbound", t, SILENCE);
    c.media("inbound", t, SILENCE);
  }
}

async function stillServing(s: RunningServer): Promise<void> {
  const res = await fetch(`${s.baseUrl}/healthz`);
  expect(res.status).toBe(200);
}

let callN = 0;
const nextCallId = () => `twilio-test-${process.pid}-${++callN}`;

beforeAll(async () => {
  server = await startServer({ apiKey: "server-api-key-123", twilio: { authToken: TOKEN, limits: { idleTimeoutMs: 2000 } } });
  mediaUrl = `ws://127.0.0.1:${server.port}/v1/twilio/media`;
}, 60_000);

afterAll(async () => {
  await server?.close();
});

afterEach(async () => {
  await stillServing(server);
});

describe("the route is off without CALLSCRIBE_TWILIO_AUTH_TOKEN", () => {
  it("answers 503 TWILIO_DISABLED, upgrade or not", async () => {
    const off = await startServer({ engine: server.engine });
    try {
      const url = `ws://127.0.0.1:${off.port}/v1/twilio/media`;
      const r = await refusal(url, { authToken: TOKEN });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ err_code: "TWILIO_DISABLED", err_msg: expect.stringContaining("CALLSCRIBE_TWILIO_AUTH_TOKEN") });
      const plain = await fetch(`${off.baseUrl}/v1/twilio/media`);
      expect(plain.status).toBe(503);
    } finally {
      await off.app.close(); // the engine is the shared one
    }
  });
});

describe("X-Twilio-Signature", () => {
  it("a good signature over the URL Twilio requested opens the stream, without the server's API key", async () => {
    const c = await open();
    c.connected();
    c.drop();
  });

  it("behind a TLS proxy: the signature over wss://<Host>/… is accepted", async () => {
    const c = await open(mediaUrl, { authToken: TOKEN, signedUrl: `wss://127.0.0.1:${server.port}/v1/twilio/media` });
    c.drop();
  });

  it.each([
    ["missing", {}, /missing/],
    ["made with another token", { authToken: "another-token-0123456789" }, /does not match/],
    ["over another path", { authToken: TOKEN, signedUrl: "ws://127.0.0.1/v1/twilio/other" }, /does not match/],
    ["garbage", { signature: "not-a-signature" }, /does not match/],
  ])("X-Twilio-Signature %s: 403 before the upgrade", async (_name, o, message) => {
    const r = await refusal(mediaUrl, o as { authToken?: string });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ err_code: "INVALID_TWILIO_SIGNATURE", err_msg: expect.stringMatching(message) });
  });

  it("the same URL with a query string is another URL", async () => {
    const r = await refusal(`${mediaUrl}?x=1`, { authToken: TOKEN, signedUrl: mediaUrl });
    expect(r.status).toBe(403);
  });

  it("with CALLSCRIBE_PUBLIC_URL only the public URL's signature counts (Host is not trusted)", async () => {
    const behind = await startServer({ engine: server.engine, serverNames: ["calls.example.com"], twilio: { authToken: TOKEN, publicUrl: "wss://calls.example.com/callscribe" } });
    try {
      const url = `ws://127.0.0.1:${behind.port}/v1/twilio/media`;
      const c = await TwilioMediaClient.connect({ url, authToken: TOKEN, signedUrl: "wss://calls.example.com/callscribe/v1/twilio/media" });
      expect(isRefusal(c)).toBe(false);
      if (!isRefusal(c)) c.drop();
      const r = await refusal(url, { authToken: TOKEN });
      expect(r.status).toBe(403);
    } finally {
      await behind.app.close();
    }
  });

  it("a plain GET with a good signature is told to upgrade (426)", async () => {
    const res = await fetch(`${server.baseUrl}/v1/twilio/media`, { headers: { "x-twilio-signature": signTwilioUrl(TOKEN, `ws://127.0.0.1:${server.port}/v1/twilio/media`) } });
    expect(res.status).toBe(426);
  });
});

describe("a stream", () => {
  it("connected → start → media (both tracks) → dtmf, mark → stop: the call ends done and the socket closes 1000", async () => {
    const callId = nextCallId();
    const c = await open();
    c.connected();
    const callSid = c.start({ customParameters: { callId, agentName: "Alice Agent", customerName: "Bob Customer", from: "+15551230000" } });
    silence(c, 0, 1000);
    c.dtmf("5");
    c.mark("ignored");
    silence(c, 1000, 1000);
    c.stop(callSid);
    const [ended, closed] = await Promise.all([callEnded(server, callId), c.closed]);
    expect(closed.code).toBe(1000);
    expect(ended.status).toBe("done");
    expect(ended.transcript?.duration).toBeCloseTo(2, 1);
    expect(ended.transcript?.participants).toBeDefined();
  }, 60_000);

  it("a one-track stream (tracks: [inbound]) still flows: the call holds its audio", async () => {
    const callId = nextCallId();
    const c = await open();
    const callSid = c.start({ tracks: ["inbound"], customParameters: { callId } });
    for (let t = 0; t < 1500; t += 20) c.media("inbound", t, SILENCE);
    c.stop(callSid);
    const ended = await callEnded(server, callId);
    expect(ended.status).toBe("done");
    expect(ended.transcript?.duration).toBeCloseTo(1.5, 1);
  }, 60_000);

  it("without customParameters.callId the callSid is the call id", async () => {
    const c = await open();
    const callSid = c.start();
    silence(c, 0, 200);
    c.stop(callSid);
    expect((await callEnded(server, callSid)).status).toBe("done");
  }, 60_000);
});

describe("bad input: a clear close reason, the call kept, the server serving", () => {
  it("media before start: 1008, no call opened", async () => {
    const c = await open();
    c.connected();
    c.media("inbound", 0, SILENCE);
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1008, reason: "media message before start: the stream must begin with start" });
    expect(server.app.liveCalls.size).toBe(0);
  });

  it("an unknown event after start: 1008 naming it; the call ends failed with the reason, its transcript kept", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    silence(c, 0, 500);
    c.send({ event: "clear", streamSid: c.streamSid });
    const [closed, ended] = await Promise.all([c.closed, callEnded(server, callId)]);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^unknown event "clear": expected one of connected, start, media, dtmf, mark, stop/);
    expect(ended).toMatchObject({ status: "failed", reason: expect.stringMatching(/unknown event "clear"/) });
    expect(ended.transcript?.duration).toBeCloseTo(0.5, 1);
  }, 60_000);

  it("a frame over 64 KiB: 1009", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    c.send(JSON.stringify({ event: "media", pad: "x".repeat(70_000) }));
    const [closed, ended] = await Promise.all([c.closed, callEnded(server, callId)]);
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/larger than 65536 bytes/);
    expect(ended.status).toBe("failed");
  }, 60_000);

  it("a payload over 1 s of audio (within 64 KiB): 1008", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    c.media("inbound", 0, new Uint8Array(8001).fill(0xff));
    const [closed, ended] = await Promise.all([c.closed, callEnded(server, callId)]);
    expect(closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/media payload larger than 8000 bytes/) });
    expect(ended.status).toBe("failed");
  }, 60_000);

  it("a payload that is not base64: 1008", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    silence(c, 0, 100);
    c.media("inbound", 100, "!!not base64!!");
    const [closed, ended] = await Promise.all([c.closed, callEnded(server, callId)]);
    expect(closed).toEqual({ code: 1008, reason: "media.payload is not base64" });
    expect(ended).toMatchObject({ status: "failed", reason: "media.payload is not base64" });
  }, 60_000);

  it("a binary frame: 1003", async () => {
    const c = await open();
    c.ws.send(Buffer.from([1, 2, 3]));
    expect((await c.closed).code).toBe(1003);
  });

  it("a second stream for a call id that streams: 1008 already streaming; the first stream goes on and ends done", async () => {
    const callId = nextCallId();
    const first = await open();
    const sid1 = first.start({ customParameters: { callId } });
    silence(first, 0, 200);
    while (!server.app.liveCalls.local(callId)) await new Promise((r) => setTimeout(r, 20));
    const second = await open();
    second.start({ customParameters: { callId } });
    const closed = await second.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(new RegExp(`call ${callId} is already streaming`));
    silence(first, 200, 300);
    first.stop(sid1);
    const ended = await callEnded(server, callId);
    expect(ended.status).toBe("done");
    expect(ended.transcript?.duration).toBeCloseTo(0.5, 1);
  }, 60_000);

  it("a stream that goes silent without stop: closed 1008 after the idle timeout, the call ends failed and is kept", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    silence(c, 0, 600);
    const t0 = Date.now();
    const [closed, ended] = await Promise.all([c.closed, callEnded(server, callId)]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(closed).toEqual({ code: 1008, reason: "no audio from Twilio for 2 s: stream dropped" });
    expect(ended).toMatchObject({ status: "failed", reason: "no audio from Twilio for 2 s: stream dropped" });
    expect(ended.transcript?.duration).toBeCloseTo(0.6, 1);
  }, 60_000);

  it("a socket that drops without stop: the call ends failed, what was received kept", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    silence(c, 0, 400);
    await new Promise((r) => setTimeout(r, 300));
    c.drop();
    const ended = await callEnded(server, callId);
    expect(ended).toMatchObject({ status: "failed", reason: "socket closed without a stop message" });
    expect(ended.transcript?.duration).toBeCloseTo(0.4, 1);
  }, 60_000);

  it("an invalid callId in customParameters: 1008 naming the field, no call", async () => {
    const c = await open();
    c.start({ customParameters: { callId: "../../etc" } });
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^start\.customParameters\.callId is not a valid call id/);
  });

  it("a second start on one socket: 1008", async () => {
    const callId = nextCallId();
    const c = await open();
    c.start({ customParameters: { callId } });
    c.start({ customParameters: { callId: nextCallId() } });
    expect(await c.closed).toEqual({ code: 1008, reason: "second start message: one stream per connection" });
    expect((await callEnded(server, callId)).status).toBe("failed");
  }, 60_000);

  it("no room for 2 live channels: 503 with Retry-After before the upgrade", async () => {
    const small = await startServer({ engine: server.engine, maxLiveChannels: 1, twilio: { authToken: TOKEN } });
    try {
      const url = `ws://127.0.0.1:${small.port}/v1/twilio/media`;
      const r = await refusal(url, { authToken: TOKEN });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ err_code: "TOO_MANY_LIVE_CHANNELS" });
    } finally {
      await small.app.close();
    }
  });
});
