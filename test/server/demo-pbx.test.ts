/**
 * The demo PBX (issue 8 §4) on the real server: `buildServer` with the real AudioHook route
 * (`/v1/audiohook`, API key and HTTP message signature required) and the demo PBX's routes, the
 * PBX streaming over a real WebSocket to the server's own port, into the live-call hub with the
 * real PocketSphinx engine. The AudioHook route's calls are recorded on their way to the hub
 * (`startTestCalls`, a spy: every call goes to the hub), to check the PBX's side of the protocol,
 * pacing, hang-up and the routes' bounds and errors. What the engines make of the call is in
 * `demo-pbx-live.test.ts`.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { buildDemoCallAudio, reorderChannels, type DemoCallAudio, type DemoTurn } from "../../src/server/telephony/demo-pbx/call-audio";
import { registerDemoPbx, type DemoPbx } from "../../src/server/telephony/demo-pbx/index";
import { startTestCalls, type TestCalls } from "../support/audiohook-calls";

const API_KEY = "server-api-key-0123";
const DESKTOP_SECRET = "desktop-secret-0123456789";
const AH_KEY = "demo-audiohook-key";
const SECRET = Buffer.alloc(32, 3);
const SHORT: DemoTurn[] = [
  { party: "agent", set: "read_en", file: "ljspeech/LJ001-0008.wav" },
  { party: "customer", set: "read_en", file: "librispeech/1272-128104-0000.wav" },
];
const JANE = { name: "Jane Doe", phoneNumber: "+14155550100", email: "jane.doe@example.com" };

interface PbxServer {
  app: FastifyInstance;
  pbx: DemoPbx;
  calls: TestCalls;
  base: string;
}

let engine: SpeechEngine;
const servers: PbxServer[] = [];
const noCorpus = mkdtempSync(join(tmpdir(), "callscribe-no-corpus-"));

/** A server with the AudioHook route (recorded calls) and the demo PBX, listening on a free port. */
async function start(pbx: { apiKey?: string; corpusRoot?: string; turns?: DemoTurn[]; maxCalls?: number } = {}): Promise<PbxServer> {
  const calls = startTestCalls((start) => app.liveCalls.openCall(start));
  const app: FastifyInstance = buildServer({ engine, maxLiveChannels: 8, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET, audiohook: { apiKey: AH_KEY, clientSecret: SECRET, openCall: calls.openCall } });
  const demo = registerDemoPbx(app, { apiKey: pbx.apiKey ?? AH_KEY, clientSecret: SECRET, corpusRoot: pbx.corpusRoot ?? corpusDir(), turns: pbx.turns ?? SHORT, maxCalls: pbx.maxCalls ?? 2 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const s = { app, pbx: demo, calls, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
  servers.push(s);
  return s;
}

/** A `listen` token as the desktop host gets one (the softphone's credential). */
async function listenToken(s: PbxServer): Promise<string> {
  const res = await fetch(`${s.base}/v1/auth/token`, { method: "POST", headers: { authorization: `Token ${DESKTOP_SECRET}`, "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function post(s: PbxServer, body: unknown, token?: string) {
  const res = await fetch(`${s.base}/v1/demo/pbx/calls`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Token ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function hangUp(s: PbxServer, callId: string, token: string) {
  const res = await fetch(`${s.base}/v1/demo/pbx/calls/${callId}`, { method: "DELETE", headers: { authorization: `Token ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const until = async (what: string, ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const written = (s: PbxServer, callId: string) => s.calls.opened(callId).then((c) => Buffer.concat(c.writes));

let main: PbxServer;
let token: string;
let audio: DemoCallAudio;

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  main = await start();
  token = await listenToken(main);
  audio = await buildDemoCallAudio({ corpusRoot: corpusDir(), turns: SHORT });
}, 60_000);

afterAll(async () => {
  for (const s of servers) {
    await s.pbx.close();
    await s.app.close();
  }
  await engine?.close();
  rmSync(noCorpus, { recursive: true, force: true });
});

describe("the demo PBX streams a connected call over AudioHook into its own server", () => {
  it("opens the session under the call's id with the customer as participant, streams in real time, and closes on hang-up", async () => {
    const callId = randomUUID();
    const started = Date.now();
    const res = await post(main, { callId, contact: JANE }, token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      call_id: callId,
      state: "streaming",
      parties: [
        { role: "customer", channel: "external", name: "Jane Doe" },
        { role: "agent", channel: "internal" },
      ],
    });
    expect(res.body.duration_s).toBeCloseTo(audio.durationS, 3);
    // The live call was opened (with the signed, keyed upgrade) before the softphone got its answer.
    const call = await main.calls.opened(callId);
    expect(call.start).toMatchObject({
      callId,
      source: "audiohook",
      format: { encoding: "mulaw", sampleRate: 8000, channels: 2 },
      metadata: { call_id: callId, phone_number: "+14155550100", participants: [{ role: "agent" }, { role: "customer", name: "Jane Doe", phone: "+14155550100" }] },
    });

    // Real-time pace: after about 2 s, about 2 s of stereo audio (16 000 bytes a second), never much more.
    await new Promise((r) => setTimeout(r, 2_000));
    const elapsed = (Date.now() - started) / 1000;
    const sent = (await written(main, callId)).length / 16_000;
    expect(sent).toBeGreaterThan(1.2);
    expect(sent).toBeLessThanOrEqual(elapsed + 0.2);
    // What arrived is the call audio, in the hub's channel order (agent, customer), byte for byte.
    const agentFirst = reorderChannels(audio, ["internal", "external"]);
    const got = await written(main, callId);
    expect(Buffer.compare(got, Buffer.from(agentFirst.subarray(0, got.length)))).toBe(0);
    expect(main.pbx.activeCalls).toBe(1);
    const live = await fetch(`${main.base}/v1/demo/pbx/calls/${callId}`, { headers: { authorization: `Token ${token}` } });
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ call_id: callId, state: "streaming" });

    // One stream per call id.
    const again = await post(main, { callId, contact: JANE }, token);
    expect(again.status).toBe(409);
    expect(again.body.err_code).toBe("CALL_ALREADY_STREAMING");

    // Hang-up: AudioHook's close transaction at once (the call ends, not interrupted); the server
    // answers `closed` once the hub has ended the live call.
    const t = Date.now();
    const down = await hangUp(main, callId, token);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ call_id: callId, state: "closing", reason: "hung up" });
    const sentAtHangUp = (await written(main, callId)).length;
    await until("call end recorded", () => call.ended !== undefined);
    expect(call.ended).toBe("end");
    expect(Date.now() - t).toBeLessThan(3_000);
    await until("the PBX's call to close", () => main.pbx.activeCalls === 0, 40_000);
    // Nothing was sent after the hang-up.
    expect((await written(main, callId)).length).toBe(sentAtHangUp);
    await until("CallEnded", () => call.events.some((e) => e.type === "CallEnded"), 40_000);
    expect(call.events.find((e) => e.type === "CallEnded")).toMatchObject({ status: "done" });
    expect((await hangUp(main, callId, token)).status).toBe(404);
    expect((await fetch(`${main.base}/v1/demo/pbx/calls/${callId}`, { headers: { authorization: `Token ${token}` } })).status).toBe(404);
  }, 30_000);

  it("plays a call to its end and then closes by itself", async () => {
    const callId = randomUUID();
    expect((await post(main, { callId, contact: JANE }, token)).status).toBe(201);
    const call = await main.calls.opened(callId);
    await until("the call to end by itself", () => call.ended !== undefined, (audio.durationS + 5) * 1000);
    expect(call.ended).toBe("end");
    expect((await written(main, callId)).length).toBe(audio.bytes.length);
    await until("the PBX's call to close", () => main.pbx.activeCalls === 0, 40_000);
  }, 60_000);
});

describe("the demo PBX routes: bounds and errors", () => {
  it("refuses a bad body with the field at fault, and requests without a credential", async () => {
    const bad = await post(main, { callId: "not-a-uuid", contact: JANE }, token);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ err_code: "INVALID_REQUEST", field: "callId" });
    expect(String(bad.body.err_msg)).toContain("callId must be a UUID");
    const noName = await post(main, { callId: randomUUID(), contact: { phoneNumber: "+1415555" } }, token);
    expect(noName.status).toBe(400);
    expect(noName.body.field).toBe("contact.name");
    const extra = await post(main, { callId: randomUUID(), contact: JANE, volume: 11 }, token);
    expect(extra.status).toBe(400);
    expect(extra.body.field).toBe("volume");
    expect((await post(main, { callId: randomUUID(), contact: JANE })).status).toBe(401);
    expect(main.pbx.activeCalls).toBe(0);
    // The status route says there is audio, and the limits.
    const status = await fetch(`${main.base}/v1/demo/pbx`, { headers: { authorization: `Token ${token}` } });
    expect(await status.json()).toMatchObject({ available: true, max_calls: 2, active_calls: 0 });
  });

  it("streams at most max_calls calls at once", async () => {
    const ids = [randomUUID(), randomUUID()];
    for (const callId of ids) expect((await post(main, { callId, contact: JANE }, token)).status).toBe(201);
    const third = await post(main, { callId: randomUUID(), contact: JANE }, token);
    expect(third.status).toBe(503);
    expect(third.body.err_code).toBe("TOO_MANY_DEMO_CALLS");
    for (const callId of ids) expect((await hangUp(main, callId, token)).status).toBe(200);
    await until("the PBX's calls to close", () => main.pbx.activeCalls === 0, 40_000);
  }, 60_000);

  it("says so when the server's AudioHook route refuses the PBX (a key that does not match)", async () => {
    const wrong = await start({ apiKey: "not-the-audiohook-key" });
    const res = await post(wrong, { callId: randomUUID(), contact: JANE }, await listenToken(wrong));
    expect(res.status).toBe(502);
    expect(res.body.err_code).toBe("AUDIOHOOK_REFUSED");
    expect(String(res.body.err_msg)).toMatch(/HTTP 401.*X-API-KEY/);
    expect(wrong.pbx.activeCalls).toBe(0);
    expect(wrong.calls.count()).toBe(0);
  });

  it("without a corpus: no demo audio, the transcriber will use the microphone", async () => {
    const bare = await start({ corpusRoot: noCorpus });
    const t = await listenToken(bare);
    const res = await post(bare, { callId: randomUUID(), contact: JANE }, t);
    expect(res.status).toBe(503);
    expect(res.body.err_code).toBe("NO_DEMO_AUDIO");
    expect(String(res.body.err_msg)).toMatch(/^No demo audio: no speech corpus at .*CALLSCRIBE_CORPUS_DIR\. The transcriber will use the microphone\.$/);
    const status = await (await fetch(`${bare.base}/v1/demo/pbx`, { headers: { authorization: `Token ${t}` } })).json();
    expect(status).toMatchObject({ available: false, reason: expect.stringContaining(noCorpus) });
    expect(bare.calls.count()).toBe(0);
  });
});
