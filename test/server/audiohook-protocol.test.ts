/**
 * AudioHook protocol v2 at `GET /v1/audiohook` on the real server (`buildServer`, real
 * PocketSphinx engine, the live-call hub), driven by the spec-written test client
 * (`test/support/audiohook-client.ts`): open/opened with channel selection, ping/pong, server
 * pause/resume, update, discarded, client error, close/closed, sequence numbers and positions,
 * the connection probe; authentication (API key, signatures good/bad/missing/stale/replayed,
 * route off); bad input (unknown types, audio before opened, oversized and odd-length frames, a
 * second stream for a call id, a stream that stops without close), after each of which the
 * server keeps serving.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AudiohookSession } from "../../src/server/telephony/audiohook/session";
import { AudiohookTestClient, pcmu, secondsOf, UpgradeRefused, type AudiohookClientOptions } from "../support/audiohook-client";
import { startTestCalls, type TestCalls } from "../support/audiohook-calls";
import type { BuildServerOptions } from "../../src/server/app";
import type { AudiohookRouteOptions } from "../../src/server/telephony/audiohook/route";
import { startServer, type RunningServer } from "./helpers";

const API_KEY = "audiohook-test-key";
const SECRET = Buffer.from("a client secret of thirty-two by");

let server: RunningServer;
let signed: RunningServer;
let off: RunningServer;
let calls: TestCalls;
let signedCalls: TestCalls;
const LIMITS = { idleTimeoutMs: 1500, closeGraceMs: 1000, endTimeoutMs: 20_000 };

/** A server whose AudioHook calls go through a spy (`audiohook-calls.ts`) to its own real hub. */
async function startAudiohookServer(o: Partial<BuildServerOptions> & { engine?: RunningServer["engine"] } = {}, audiohook: Partial<AudiohookRouteOptions> = {}): Promise<{ s: RunningServer; calls: TestCalls }> {
  let s: RunningServer | undefined;
  const spy = startTestCalls((start) => s!.app.liveCalls.openCall(start));
  s = await startServer({ maxLiveChannels: 16, ...o, audiohook: { apiKey: API_KEY, limits: LIMITS, openCall: spy.openCall, ...audiohook } });
  return { s, calls: spy };
}

beforeAll(async () => {
  ({ s: server, calls } = await startAudiohookServer());
  ({ s: signed, calls: signedCalls } = await startAudiohookServer({ engine: server.engine }, { clientSecret: SECRET }));
  off = await startServer({ engine: server.engine });
}, 60_000);

afterAll(async () => {
  await off?.app.close();
  await signed?.app.close();
  await server?.close();
});

const wsUrl = (s: RunningServer) => `ws://127.0.0.1:${s.port}/v1/audiohook`;
const connect = (o: Partial<AudiohookClientOptions> = {}, s = server) => AudiohookTestClient.connect({ url: wsUrl(s), apiKey: API_KEY, ...o });
const refused = async (p: Promise<unknown>): Promise<UpgradeRefused> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpgradeRefused);
  return err as UpgradeRefused;
};
/** μ-law of a 440 Hz tone on one channel, silence on the other: `seconds` of stereo frames. */
const stereo = (seconds: number) => new Uint8Array(Math.round(seconds * 8000) * 2).fill(0xff);
const sessionOf = (s: RunningServer, conversationId: string): AudiohookSession | undefined => [...s.app.audiohookSessions].find((x) => x.conversationId === conversationId);

/** A fresh session still serves: open, audio, close. */
async function stillServes(s = server): Promise<void> {
  const c = await connect({}, s);
  const opened = await c.open({ conversationId: randomUUID() });
  expect(opened.type).toBe("opened");
  c.sendAudio(stereo(0.2));
  expect((await c.close()).type).toBe("closed");
  await c.hangUp();
}

describe("open, opened and the session's messages", () => {
  it("selects the stereo PCMU offer, echoes it in opened, answers pings, numbers its messages and ends the call on close", async () => {
    const conversationId = randomUUID();
    const c = await connect();
    const opened = await c.open({
      conversationId,
      media: [pcmu(["external"]), pcmu(["external", "internal"]), pcmu(["internal"])],
      supportedLanguages: true,
    });
    expect(opened).toMatchObject({ version: "2", id: c.sessionId, type: "opened", seq: 1, clientseq: 1 });
    expect(opened.parameters.media).toEqual([pcmu(["external", "internal"])]);
    expect(opened.parameters.supportedLanguages).toEqual(["en-US"]);
    const call = await calls.opened(conversationId);
    expect(call.start.metadata).toMatchObject({
      call_id: conversationId,
      phone_number: "+14155550100",
      dialled_number: "+18005550199",
      participants: [{ role: "agent" }, { role: "customer", name: "Bob Customer", phone: "+14155550100" }],
    });
    expect(call.start.format).toEqual({ encoding: "mulaw", sampleRate: 8000, channels: 2 });
    // The hub names the parties by channel: 0 = agent, 1 = the customer from participant.aniName.
    expect(server.app.liveCalls.local(conversationId)!.summary).toMatchObject({ call_id: conversationId, source: "audiohook", roles: ["agent", "customer"], speakers: [expect.any(String), "Bob Customer"] });

    // external, internal on the wire → agent (internal) first in the call's audio.
    c.sendAudio(Uint8Array.from([0x11, 0x22, 0x33, 0x44]));
    c.send("ping", { rtt: "PT0.02S" });
    const pong = await c.next("pong");
    expect(pong).toMatchObject({ seq: 2, clientseq: 2, parameters: {} }); // audio frames carry no seq
    c.send("ping", {});
    expect(await c.next("pong", 5000, 2)).toMatchObject({ seq: 3, clientseq: 3 });
    expect(Buffer.concat(call.writes)).toEqual(Buffer.from([0x22, 0x11, 0x44, 0x33]));

    const closed = await c.close();
    expect(closed).toMatchObject({ type: "closed", seq: 4, clientseq: 4, parameters: {} });
    expect(call.ended).toBe("end");
    await c.hangUp();
  });

  it("takes a mono offer when no stereo one is offered, padding the agent channel with μ-law silence", async () => {
    const conversationId = randomUUID();
    const c = await connect();
    const opened = await c.open({ conversationId, media: [pcmu(["external"])] });
    expect(opened.parameters.media).toEqual([pcmu(["external"])]);
    c.sendAudio(Uint8Array.from([1, 2, 3]), 1);
    await c.close();
    const call = await calls.opened(conversationId);
    expect([...Buffer.concat(call.writes)]).toEqual([0xff, 1, 0xff, 2, 0xff, 3]);
    await c.hangUp();
  });

  it("server pause and resume: pause → paused, no audio while paused, resume → resumed", async () => {
    const conversationId = randomUUID();
    const c = await connect();
    await c.open({ conversationId });
    const session = sessionOf(server, conversationId)!;
    expect(session.pause()).toBe(true);
    await c.next("pause");
    await expect.poll(() => session.state).toBe("paused");
    expect(session.resume()).toBe(true);
    await c.next("resume");
    await expect.poll(() => session.state).toBe("active");
    c.sendAudio(stereo(0.1));
    expect((await c.close()).type).toBe("closed");
    expect(c.of("disconnect")).toEqual([]);
    await c.hangUp();
  });

  it("update, discarded and a client error keep the session; the participant update reaches the call", async () => {
    const conversationId = randomUUID();
    const c = await connect();
    await c.open({ conversationId });
    c.sendAudio(stereo(0.5));
    c.send("discarded", { start: "PT0.5S", discarded: "PT2S" });
    c.position += 2;
    c.send("update", { language: "en-US", participant: { ani: "+442071234567", aniName: "Carol Caller", dnis: "+18005550199" } });
    c.send("error", { code: 429, message: "Too many events", retryAfter: "PT0.5S" });
    c.send("ping", {});
    await c.next("pong");
    const session = sessionOf(server, conversationId)!;
    expect(session.position).toBe("PT2.5S");
    expect(secondsOf(session.position)).toBe(c.position);
    const call = await calls.opened(conversationId);
    expect(call.updates.at(-1)).toMatchObject({ phone_number: "+442071234567", participants: [{ role: "agent" }, { role: "customer", name: "Carol Caller" }] });
    expect((await call.event("CallUpdated")).call.speakers[1]).toBe("Carol Caller");
    expect((await c.close()).type).toBe("closed");
    expect(c.of("disconnect")).toEqual([]);
    await c.hangUp();
  });

  it("a connection probe (null conversationId) is opened and closed without a call", async () => {
    const before = calls.count();
    const c = await connect();
    const opened = await c.open({ conversationId: "00000000-0000-0000-0000-000000000000" });
    expect(opened.type).toBe("opened");
    expect((await c.close()).type).toBe("closed");
    expect(calls.count()).toBe(before);
    await c.hangUp();
  });
});

describe("authentication", () => {
  it("refuses a missing or wrong X-API-KEY with 401 before the upgrade", async () => {
    expect((await refused(connect({ apiKey: undefined }))).status).toBe(401);
    const e = await refused(connect({ apiKey: "wrong-key-1234" }));
    expect(e.status).toBe(401);
    expect(JSON.parse(e.body)).toMatchObject({ err_code: "INVALID_AUTH" });
  });

  it("authenticates itself when the server's own API key is set too (AudioHook sends X-API-KEY and no Origin)", async () => {
    const { s } = await startAudiohookServer({ engine: server.engine, apiKey: "server-wide-key-1" });
    try {
      const c = await connect({}, s);
      expect((await c.open({ conversationId: randomUUID() })).type).toBe("opened");
      await c.close();
      await c.hangUp();
      expect((await refused(connect({ apiKey: "server-wide-key-1" }, s))).status).toBe(401);
    } finally {
      await s.app.close();
    }
  });

  it("answers 503 when CALLSCRIBE_AUDIOHOOK_API_KEY is unset", async () => {
    const e = await refused(connect({}, off));
    expect(e.status).toBe(503);
    expect(JSON.parse(e.body)).toMatchObject({ err_code: "AUDIOHOOK_DISABLED", err_msg: expect.stringMatching(/CALLSCRIBE_AUDIOHOOK_API_KEY/) });
  });

  it("with a client secret: a good signature opens; bad, missing, stale and replayed ones get 401", async () => {
    const good = await connect({ clientSecret: SECRET }, signed);
    expect((await good.open({ conversationId: randomUUID() })).type).toBe("opened");
    await good.close();
    await good.hangUp();

    const bad = await refused(connect({ clientSecret: SECRET, sign: { wrongSecret: Buffer.from("not the secret at all, 32 bytes.") } }, signed));
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body)).toMatchObject({ err_code: "INVALID_SIGNATURE", err_msg: expect.stringMatching(/signature does not match/) });
    const missing = await refused(connect({}, signed));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body).err_msg).toMatch(/not signed/);
    const stale = await refused(connect({ clientSecret: SECRET, sign: { created: Math.floor(Date.now() / 1000) - 120 } }, signed));
    expect(JSON.parse(stale.body).err_msg).toMatch(/too old/);

    const nonce = "replayed-nonce-0123456789";
    const sessionId = randomUUID();
    const correlationId = randomUUID();
    const first = await connect({ clientSecret: SECRET, sign: { nonce }, sessionId, correlationId }, signed);
    await first.hangUp();
    const replay = await refused(connect({ clientSecret: SECRET, sign: { nonce }, sessionId, correlationId }, signed));
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).err_msg).toMatch(/nonce was already used/);
    const again = await connect({ clientSecret: SECRET }, signed);
    expect((await again.open({ conversationId: randomUUID() })).type).toBe("opened");
    await again.close();
    await again.hangUp();
  });

  it("an organizationId that differs from the Audiohook-Organization-Id header is disconnected as unauthorized", async () => {
    const c = await connect({ organizationId: randomUUID() });
    const answer = await c.open({ conversationId: randomUUID() });
    expect(answer).toMatchObject({ type: "disconnect", parameters: { reason: "unauthorized" } });
    await c.closed;
  });
});

describe("bad input: a clear reason, the call kept, the server serving", () => {
  const expectDisconnect = async (c: AudiohookTestClient, info: RegExp) => {
    const d = await c.next("disconnect");
    expect(d.parameters).toEqual({ reason: "error", info: expect.stringMatching(info) });
    // The client answers with close (reason disconnect), the server with closed.
    await c.next("closed");
    return d;
  };

  it("an unknown message type", async () => {
    const c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("dance", {});
    await expectDisconnect(c, /unknown message type "dance"/);
    await stillServes();
  });

  it("not JSON, a wrong seq, and a wrong session id", async () => {
    let c = await connect();
    c.sendRaw("{not json");
    await expectDisconnect(c, /not valid JSON/);
    c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("ping", {}, { seq: 7 });
    await expectDisconnect(c, /invalid seq 7: expected 2/);
    c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("ping", {}, { id: randomUUID() });
    await expectDisconnect(c, /session id mismatch/);
    await stillServes();
  });

  it("audio before opened", async () => {
    const c = await connect();
    c.sendAudio(stereo(0.1));
    await expectDisconnect(c, /audio received before opened/);
    await stillServes();
  });

  it("audio while the client said it paused (a client-initiated pause, then resumed, then audio is fine)", async () => {
    let c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("paused", {});
    c.send("resumed", { start: "PT0S", discarded: "PT1S" });
    c.sendAudio(stereo(0.1));
    c.send("ping", {});
    await c.next("pong");
    expect(c.of("disconnect")).toEqual([]);
    await c.close();
    await c.hangUp();
    c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("paused", {});
    c.sendAudio(stereo(0.1));
    await expectDisconnect(c, /audio received while paused/);
    await stillServes();
  });

  it("an oversized frame and an odd-length stereo frame: the call is interrupted, its audio kept", async () => {
    let conversationId = randomUUID();
    let c = await connect();
    await c.open({ conversationId });
    c.sendAudio(stereo(0.2));
    c.sendAudio(stereo(1.5));
    await expectDisconnect(c, /audio frame of 24000 bytes is more than 1 s of audio \(at most 16000 bytes per frame\)/);
    let call = await calls.opened(conversationId);
    expect(call.ended).toMatch(/^interrupt: audio frame of 24000 bytes/);
    expect(Buffer.concat(call.writes).length).toBe(3200);

    conversationId = randomUUID();
    c = await connect();
    await c.open({ conversationId });
    c.sendRaw(new Uint8Array(801));
    await expectDisconnect(c, /odd length 801/);
    call = await calls.opened(conversationId);
    expect(call.ended).toMatch(/^interrupt: /);
    await stillServes();
  });

  it("text frames over 64 KiB", async () => {
    const c = await connect();
    await c.open({ conversationId: randomUUID() });
    c.send("ping", { padding: "x".repeat(70_000) });
    await expectDisconnect(c, /too large: at most 65536 bytes/);
    await stillServes();
  });

  it("a second stream for a call id that already streams is disconnected; the first keeps streaming", async () => {
    const conversationId = randomUUID();
    const first = await connect();
    await first.open({ conversationId });
    const second = await connect();
    const answer = await second.open({ conversationId });
    expect(answer).toMatchObject({ type: "disconnect", parameters: { reason: "error", info: expect.stringMatching(/already streaming/) } });
    await second.next("closed");
    first.sendAudio(stereo(0.1));
    first.send("ping", {});
    await first.next("pong");
    expect((await first.close()).type).toBe("closed");
    expect((await calls.opened(conversationId)).ended).toBe("end");
    await first.hangUp();
  });

  it("no room for a call's two channels: the upgrade is refused with 503 and Retry-After", async () => {
    const { s } = await startAudiohookServer({ engine: server.engine, maxLiveChannels: 1 });
    try {
      const e = await refused(connect({}, s));
      expect(e.status).toBe(503);
      expect(JSON.parse(e.body)).toMatchObject({ err_code: "TOO_MANY_LIVE_CHANNELS" });
    } finally {
      await s.app.close();
    }
    await stillServes();
  });

  it("capacity gone between the upgrade and open: the hub's refusal comes back as disconnect", async () => {
    const { s, calls: own } = await startAudiohookServer({ engine: server.engine, maxLiveChannels: 2 }, { hasCapacity: () => true });
    try {
      const first = await connect({}, s);
      await first.open({ conversationId: randomUUID() });
      const second = await connect({}, s);
      const answer = await second.open({ conversationId: randomUUID() });
      expect(answer).toMatchObject({ type: "disconnect", parameters: { reason: "error", info: expect.stringMatching(/at capacity: 2 of 2 live channels are in use/) } });
      expect(own.count()).toBe(1);
      expect((await first.close()).type).toBe("closed");
      await first.hangUp();
    } finally {
      await s.app.close();
    }
  });

  it("a stream that stops without close ends after the timeout; the call is kept (interrupted)", async () => {
    const conversationId = randomUUID();
    const c = await connect({ auto: false });
    await c.open({ conversationId });
    c.sendAudio(stereo(0.2));
    const d = await c.next("disconnect", 5000);
    expect(d.parameters).toEqual({ reason: "error", info: "no message or audio for 1.5 s: the stream timed out" });
    const call = await calls.opened(conversationId);
    expect(call.ended).toMatch(/^interrupt: no message or audio for 1\.5 s/);
    // The client never answers: the server closes the socket after its grace period.
    const closed = await c.closed!;
    expect(closed.code).toBe(1008);
    await stillServes();
  });

  it("server shutdown: every session gets disconnect (server shutting down), its call interrupted and kept", async () => {
    const { s, calls: own } = await startAudiohookServer({ engine: server.engine });
    const conversationId = randomUUID();
    const c = await connect({}, s);
    await c.open({ conversationId });
    c.sendAudio(stereo(0.2));
    await expect.poll(() => own.count()).toBe(1);
    await s.app.close();
    // The hub ends its calls on shutdown and the session says so; or the session does it first.
    expect((await c.next("disconnect")).parameters).toEqual({ reason: "error", info: expect.stringMatching(/server shutting down$/) });
    expect(await (await own.opened(conversationId)).event("CallEnded")).toMatchObject({ status: "failed", reason: "server shutting down" });
    expect((await c.closed!).code).toBe(1001);
  });

  it("a socket dropped mid-call interrupts the call", async () => {
    const conversationId = randomUUID();
    const c = await connect();
    await c.open({ conversationId });
    c.sendAudio(stereo(0.2));
    c.ws.terminate();
    const call = await calls.opened(conversationId);
    await expect.poll(() => call.ended).toMatch(/^interrupt: the AudioHook stream dropped without a close/);
    await stillServes();
  });
});
