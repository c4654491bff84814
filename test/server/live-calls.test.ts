/**
 * Live calls through the softphone path (issue 8 §1): a multichannel `/v1/listen` stream with
 * `extra=call_id:<id>` becomes a live call on the server — real PocketSphinx engine, a two-party
 * call built from two real corpus recordings (test/support/two-party-call.ts), a real PGlite store.
 * Checked: a subscriber on `GET /v1/calls/:id/live` (server-sent events) gets CallStarted with the
 * parties' names, Results on both channels, CallEnded with the stored transcript (both channels'
 * segments, named); the call is in `GET /v1/calls` as a live call and its transcript is stored
 * encrypted; a second stream for the same call id is refused; a late subscriber gets the ended
 * call; an unknown call answers 404 after `wait`; a stream that drops is kept as failed with its words.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { validateContext, type Transcript } from "../../src/contracts";
import { wordErrorRate } from "../../src/eval/wer";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { CallRepository } from "../../src/server/store/calls";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";
import type { LiveCallEvent } from "../../src/server/live-calls/types";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx";
import { sleep, type RunningServer } from "./helpers";
import { buildTwoPartyCall, parseSse, type TwoPartyCall } from "../support/two-party-call";

let server: RunningServer;
let call: TwoPartyCall;
let db: Database;
let repo: CallRepository;
let dir: string;

const listenUrl = (base: string, callId: string, extra: string[] = []) =>
  `${base.replace("http", "ws")}/v1/listen?encoding=mulaw&sample_rate=8000&channels=2&multichannel=true&interim_results=true&punctuate=true` +
  [`call_id:${callId}`, ...extra].map((e) => `&extra=${encodeURIComponent(e)}`).join("");

/** Stream the call's audio in 100 ms frames, `speed` × real time; then CloseStream (or drop the socket). */
async function streamCall(url: string, audio: Uint8Array, opts: { speed?: number; drop?: boolean; seconds?: number } = {}): Promise<{ code: number; reason: string; messages: unknown[] }> {
  const ws = new WebSocket(url);
  const messages: unknown[] = [];
  ws.on("message", (d) => messages.push(JSON.parse(String(d))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("close", () => resolve());
  });
  const frame = 1600; // 100 ms of 8 kHz stereo μ-law
  const end = opts.seconds ? Math.min(audio.length, Math.round(opts.seconds * 16000)) : audio.length;
  for (let i = 0; i < end && ws.readyState === ws.OPEN; i += frame) {
    ws.send(audio.subarray(i, Math.min(end, i + frame)));
    await sleep(100 / (opts.speed ?? 10));
  }
  if (opts.drop) ws.terminate();
  else if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));
  return { ...(await closed), messages };
}

/** Read a live-call SSE stream to its end. */
async function subscribe(callId: string, query = "wait=20", headers: Record<string, string> = {}): Promise<{ status: number; events: { id?: string; event: string; body: LiveCallEvent }[] }> {
  const res = await fetch(`${server.baseUrl}/v1/calls/${callId}/live?${query}`, { headers });
  if (res.status !== 200) return { status: res.status, events: [] };
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const text = await res.text();
  return { status: 200, events: parseSse(text).map((e) => ({ id: e.id, event: e.event, body: JSON.parse(e.data) as LiveCallEvent })) };
}

const wordsOf = (t: Transcript, channel: number) =>
  (t.segments ?? [])
    .filter((s) => s.channel === channel)
    .map((s) => s.text)
    .join(" ");

beforeAll(async () => {
  call = await buildTwoPartyCall();
  dir = mkdtempSync(join(tmpdir(), "callscribe-live-"));
  db = await openPgliteDatabase(join(dir, "pglite"));
  const cipher = createAtRestCipher(randomBytes(32));
  await migrate(db, cipher);
  repo = new CallRepository(db, cipher);
  const engine = createPocketSphinxEngine();
  const app = buildServer({ engine, liveCalls: { store: repo } });
  app.register(callsApiPlugin, { getCall: (id) => repo.getCall(id), listCalls: (q) => repo.listCalls(q) });
  await app.listen({ port: 0, host: "127.0.0.1" });
  await engine.ready();
  const port = (app.server.address() as { port: number }).port;
  server = { app, engine, port, baseUrl: `http://127.0.0.1:${port}`, close: async () => (await app.close(), await engine.close()) };
}, 120_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a softphone's multichannel /v1/listen stream with extra=call_id", () => {
  let events: { id?: string; event: string; body: LiveCallEvent }[];
  let streamed: Awaited<ReturnType<typeof streamCall>>;

  it("is published live to a subscriber, both parties on their channels, named, and stored", async () => {
    const sub = subscribe("call-live-1"); // before the stream starts: waits for it
    await sleep(300);
    streamed = await streamCall(listenUrl(server.baseUrl, "call-live-1", ["agent_name:Alice Agent", "customer_name:Bob Customer", "phone_number:+14155550100"]), call.stereoMulaw);
    expect(streamed.code).toBe(1000);
    const got = await sub;
    expect(got.status).toBe(200);
    events = got.events;
    const types = events.map((e) => e.event);
    expect(types[0]).toBe("CallStarted");
    expect(types[types.length - 1]).toBe("CallEnded");
    const started = events[0].body as Extract<LiveCallEvent, { type: "CallStarted" }>;
    expect(started.call.speakers).toEqual(["Alice Agent", "Bob Customer"]);
    expect(started.call.roles).toEqual(["agent", "customer"]);
    expect(started.call.source).toBe("listen");
    // ids are the events' seq: increasing
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const results = events.filter((e) => e.event === "Results").map((e) => e.body as Extract<LiveCallEvent, { type: "Results" }>);
    expect(results.some((r) => !r.is_final)).toBe(true);
    for (const ch of [0, 1]) expect(results.some((r) => r.is_final && r.channel_index[0] === ch && r.channel.alternatives[0].words.length > 0)).toBe(true);
    // The subscriber sees what the streaming client sees.
    const clientFinals = streamed.messages.filter((m) => (m as { type: string; is_final?: boolean }).type === "Results" && (m as { is_final: boolean }).is_final);
    expect(results.filter((r) => r.is_final).length).toBe(clientFinals.length);
    // extra is echoed in Metadata, as Deepgram does.
    const meta = streamed.messages.find((m) => (m as { type: string }).type === "Metadata") as { extra?: Record<string, string> };
    expect(meta.extra?.call_id).toBe("call-live-1");
  }, 180_000);

  it("ends with the final transcript: both channels' segments, speakers named, words within the speaker's turns, as POST /v1/listen hears them", async () => {
    const ended = events[events.length - 1].body as Extract<LiveCallEvent, { type: "CallEnded" }>;
    expect(ended.status).toBe("done");
    const t = ended.transcript!;
    expect(validateContext(t).valid).toBe(true);
    expect(t.source).toBe("call");
    expect(t.id.callId).toBe("call-live-1");
    for (const s of t.segments ?? []) {
      expect(s.speaker).toBe(s.channel === 0 ? "Alice Agent" : "Bob Customer");
      // Each segment lies inside a turn of its own channel's speaker (0.35 s edge tolerance).
      const inTurn = call.turns.some((turn) => turn.channel === s.channel && s.start >= turn.start - 0.35 && s.end <= turn.end + 0.35);
      expect(inTurn, `segment ${s.start}-${s.end} on channel ${s.channel}`).toBe(true);
    }
    // Each channel's words are its own speaker's, and (within 10% of words) what POST /v1/listen gives for the same audio.
    const post = await fetch(`${server.baseUrl}/v1/listen?encoding=mulaw&sample_rate=8000&channels=2&multichannel=true&punctuate=true`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from(call.stereoMulaw),
    });
    const batch = (await post.json()) as { results: { channels: { alternatives: { transcript: string }[] }[] } };
    for (const ch of [0, 1] as const) {
      const own = wordErrorRate(call.references[ch], wordsOf(t, ch)).wer;
      const other = wordErrorRate(call.references[1 - ch], wordsOf(t, ch)).wer;
      expect(own).toBeLessThan(other);
      const vsBatch = wordErrorRate(batch.results.channels[ch].alternatives[0].transcript, wordsOf(t, ch)).wer;
      console.log(`channel ${ch}: WER vs reference ${own.toFixed(3)}, vs POST /v1/listen ${vsBatch.toFixed(3)}`);
      expect(vsBatch).toBeLessThanOrEqual(0.1);
    }
    // Analysis ran (recorded-call analysis): a summary and sentiment.
    expect(typeof t.summary).toBe("string");
    expect(t.sentiment).toBeDefined();
  }, 120_000);

  it("is stored: a live call in GET /v1/calls, its transcript encrypted at rest", async () => {
    const list = await server.app.inject({ url: "/v1/calls?source=live" });
    expect(list.statusCode).toBe(200);
    const item = list.json().calls.find((c: { call_id: string }) => c.call_id === "call-live-1");
    expect(item).toMatchObject({ source: "live", live_source: "listen", status: "done" });
    const one = await server.app.inject({ url: "/v1/calls/call-live-1" });
    expect(one.json().transcript.segments.length).toBeGreaterThan(0);
    const raw = await db.query<{ transcript: Uint8Array }>("SELECT transcript FROM calls WHERE call_id = $1", ["call-live-1"]);
    const bytes = Buffer.from(raw.rows[0].transcript);
    const firstWord = one.json().transcript.segments[0].words[0].word as string;
    expect(bytes.includes(Buffer.from(firstWord))).toBe(false);
    expect(bytes.includes(Buffer.from("Alice Agent"))).toBe(false);
  });

  it("a late subscriber gets the ended call at once", async () => {
    const late = await subscribe("call-live-1", "wait=0");
    expect(late.status).toBe(200);
    expect(late.events[0].event).toBe("CallStarted");
    expect(late.events.at(-1)!.event).toBe("CallEnded");
    expect((late.events.at(-1)!.body as { transcript?: Transcript }).transcript?.segments?.length).toBeGreaterThan(0);
    // Resuming after the last event sees nothing more but the end.
    const lastId = Number(events.at(-1)!.id);
    const resumed = await subscribe("call-live-1", "wait=0", { "last-event-id": String(lastId - 1) });
    expect(resumed.events.map((e) => e.event)).toEqual(["CallEnded"]);
  });
});

describe("bad input on the live-call paths", () => {
  it("refuses a second stream for a call id that already streams, and keeps the first", async () => {
    const first = streamCall(listenUrl(server.baseUrl, "call-dup"), call.stereoMulaw, { speed: 4, seconds: 6 });
    await sleep(800);
    const second = await streamCall(listenUrl(server.baseUrl, "call-dup"), call.stereoMulaw, { seconds: 1 });
    expect(second.code).toBe(1008);
    expect(second.reason).toMatch(/already streaming/);
    const done = await first;
    expect(done.code).toBe(1000);
    const stored = await repo.getCall("call-dup");
    expect(stored?.status).toBe("done");
  }, 60_000);

  it("refuses a stream for an id that already has a transcript", async () => {
    const again = await streamCall(listenUrl(server.baseUrl, "call-live-1"), call.stereoMulaw, { seconds: 1 });
    expect(again.code).toBe(1008);
    expect(again.reason).toMatch(/already exists/);
  });

  it("refuses a bad call id in extra with the parameter named", async () => {
    const bad = await streamCall(listenUrl(server.baseUrl, "../etc"), call.stereoMulaw, { seconds: 0.2 });
    expect(bad.code).toBe(1008);
    expect(bad.reason).toMatch(/extra=call_id/);
  });

  it("answers 404 NO_LIVE_CALL for a call that does not stream, after wait", async () => {
    const t0 = Date.now();
    const res = await fetch(`${server.baseUrl}/v1/calls/call-nobody/live?wait=1`);
    expect(res.status).toBe(404);
    expect((await res.json()).err_code).toBe("NO_LIVE_CALL");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect((await fetch(`${server.baseUrl}/v1/calls/call-nobody/live?wait=99`)).status).toBe(400);
  });

  it("keeps a call whose stream dropped without CloseStream: failed with the reason, words kept", async () => {
    const sub = subscribe("call-drop");
    await sleep(200);
    const dropped = await streamCall(listenUrl(server.baseUrl, "call-drop"), call.stereoMulaw, { seconds: 9, drop: true });
    expect(dropped.code).toBe(1006);
    const got = await sub;
    const types = got.events.map((e) => e.event);
    expect(types).toContain("StreamInterrupted");
    const ended = got.events.at(-1)!.body as Extract<LiveCallEvent, { type: "CallEnded" }>;
    expect(ended.status).toBe("failed");
    expect(ended.reason).toMatch(/without CloseStream/);
    const stored = await repo.getCall("call-drop");
    expect(stored?.status).toBe("failed");
    expect(stored?.transcript).toBeDefined();
    // The server still serves.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe("LiveCallHub.openCall (the telephony ingress port)", () => {
  it("transcribes interleaved agent/customer μ-law per channel, publishes to the ingress and subscribers, and ends with the stored transcript", async () => {
    const hub = server.app.liveCalls;
    const sub = subscribe("call-ingress-1");
    await sleep(200);
    const tx = await hub.openCall({
      callId: "call-ingress-1",
      source: "audiohook",
      metadata: { call_id: "call-ingress-1", participants: [{ name: "Dana Customer", role: "customer", phone: "+15550001111" }] },
      format: { encoding: "mulaw", sampleRate: 8000, channels: 2 },
    });
    const seen: LiveCallEvent[] = [];
    tx.onEvent((e) => seen.push(e));
    await expect(
      hub.openCall({ callId: "call-ingress-1", source: "twilio", metadata: { call_id: "call-ingress-1" }, format: { encoding: "mulaw", sampleRate: 8000, channels: 2 } }),
    ).rejects.toThrow(/already streaming/);
    for (let i = 0; i < call.stereoMulaw.length; i += 1600) {
      tx.write(call.stereoMulaw.subarray(i, i + 1600));
      if (i % 16000 === 0) await sleep(5);
    }
    tx.updateMetadata({ participants: [{ name: "Dana Customer", role: "customer" }, { name: "Eve Agent", role: "agent" }] });
    await tx.end();
    const ended = seen.at(-1) as Extract<LiveCallEvent, { type: "CallEnded" }>;
    expect(ended.type).toBe("CallEnded");
    expect(ended.status).toBe("done");
    expect(seen.some((e) => e.type === "CallUpdated")).toBe(true);
    const segs = ended.transcript!.segments ?? [];
    expect(segs.some((x) => x.channel === 0 && x.speaker === "Eve Agent")).toBe(true);
    expect(segs.some((x) => x.channel === 1 && x.speaker === "Dana Customer")).toBe(true);
    const got = await sub;
    expect(got.events.filter((e) => e.event === "Results" && (e.body as { is_final: boolean }).is_final).length).toBe(seen.filter((e) => e.type === "Results" && e.is_final).length);
    expect((await repo.getCall("call-ingress-1"))).toMatchObject({ status: "done", source: "live", live_source: "audiohook" });
    // The channels were given back.
    expect(server.app.liveAdmission.inUse).toBe(0);
  }, 120_000);

  it("refuses a call past the live-channel limit with LiveCallCapacityError, and an interrupted call is kept as failed", async () => {
    const hub = server.app.liveCalls;
    const limit = server.app.liveAdmission.limit;
    const held = server.app.liveAdmission.tryAdmit(limit - 1)!;
    await expect(
      hub.openCall({ callId: "call-full", source: "twilio", metadata: { call_id: "call-full" }, format: { encoding: "mulaw", sampleRate: 8000, channels: 2 } }),
    ).rejects.toThrow(/capacity/);
    held.release();
    const tx = await hub.openCall({ callId: "call-cut", source: "twilio", metadata: { call_id: "call-cut" }, format: { encoding: "mulaw", sampleRate: 8000, channels: 2 } });
    tx.write(call.stereoMulaw.subarray(0, 16000 * 6));
    await tx.interrupt("no media for 10 s");
    const stored = await repo.getCall("call-cut");
    expect(stored).toMatchObject({ status: "failed", reason: "no media for 10 s" });
    expect(stored?.transcript?.segments?.length).toBeGreaterThan(0);
  }, 60_000);
});

describe("GET /v1/calls/:id/live bounds its subscribers", () => {
  it("refuses streams past maxSubscribers with 503 and a reason, and frees a slot when a stream ends", async () => {
    const engine = createPocketSphinxEngine();
    const app = buildServer({ engine, liveCalls: { maxSubscribers: 3 } });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const waiting = Array.from({ length: 3 }, (_, i) => fetch(`${base}/v1/calls/nobody-${i}/live?wait=2`));
      await sleep(300);
      const refused = await fetch(`${base}/v1/calls/nobody-x/live?wait=0`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect((await refused.json()).err_code).toBe("TOO_MANY_SUBSCRIBERS");
      // The three waits end (no such call), and their slots come back.
      expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([404, 404, 404]);
      expect((await fetch(`${base}/v1/calls/nobody-y/live?wait=0`)).status).toBe(404);
    } finally {
      await app.close();
      await engine.close();
    }
  }, 30_000);
});

