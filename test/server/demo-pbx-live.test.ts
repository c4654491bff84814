/**
 * The demo PBX's whole path on real parts (issue 8 §4, §6): the real server (`buildServer`) with
 * the live-call hub and the real PocketSphinx engine, the real AudioHook route, and the demo PBX
 * streaming the default two-party corpus call (an LJ Speech reader as the agent, LibriSpeech
 * readers as the customer, alternating turns, 8 kHz PCMU) in real time under the softphone's call
 * id, started the way the softphone starts it (`POST /v1/demo/pbx/calls` with a `listen` token).
 * The live call's events (a hub subscriber, as `GET /v1/calls/:id/live` serves them) show words on
 * both channels, each within its party's turns, the customer named, and a final transcript with
 * both parties' segments.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import type { LiveCallEvent, LiveCallSummary } from "../../src/server/live-calls/types";
import type { ResultsMessage } from "../../src/server/speech/protocol";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { buildDemoCallAudio, type DemoCallAudio } from "../../src/server/telephony/demo-pbx/call-audio";
import { registerDemoPbx, type DemoPbx } from "../../src/server/telephony/demo-pbx/index";

const API_KEY = "server-api-key-0123";
const DESKTOP_SECRET = "desktop-secret-0123456789";
const AH_KEY = "demo-audiohook-key";
const SECRET = Buffer.alloc(32, 4);

let engine: PocketSphinxEngine;
let app: FastifyInstance;
let pbx: DemoPbx;
let base: string;
let audio: DemoCallAudio;

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  app = buildServer({ engine, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET, audiohook: { apiKey: AH_KEY, clientSecret: SECRET, openCall: (start) => app.liveCalls.openCall(start) } });
  pbx = registerDemoPbx(app, { apiKey: AH_KEY, clientSecret: SECRET, corpusRoot: corpusDir() });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  await engine.ready();
  audio = await buildDemoCallAudio({ corpusRoot: corpusDir() });
}, 60_000);

afterAll(async () => {
  await pbx?.close();
  await app?.close();
  await engine?.close();
});

/** Words of a text, lower case, letters only. */
const words = (t: string) => t.toLowerCase().replace(/[^a-z' ]/g, " ").split(/\s+/).filter(Boolean);

describe("a demo PBX call through the hub, transcribed by PocketSphinx", () => {
  it("gives words on both channels, within each party's turns, the customer named, and both parties' segments at the end", async () => {
    const token = await fetch(`${base}/v1/auth/token`, { method: "POST", headers: { authorization: `Token ${DESKTOP_SECRET}`, "content-type": "application/json" }, body: "{}" })
      .then((r) => r.json())
      .then((b: { access_token: string }) => b.access_token);
    const callId = randomUUID();
    const events: LiveCallEvent[] = [];
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    // Subscribed before the call starts, as a transcriber that raced the PBX would be (`?wait`).
    const unsubscribe = await app.liveCalls.subscribe(callId, 0, ({ event }) => {
      events.push(event);
      if (event.type === "CallEnded") ended();
    });
    const res = await fetch(`${base}/v1/demo/pbx/calls`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Token ${token}` },
      body: JSON.stringify({ callId, contact: { name: "Jane Doe", phoneNumber: "+14155550100" } }),
    });
    expect(res.status).toBe(201);
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`no CallEnded; events: ${events.map((e) => e.type).join(",")}`)), (audio.durationS + 60) * 1000))]);
    unsubscribe();

    const started = events.find((e): e is { type: "CallStarted"; call: LiveCallSummary } => e.type === "CallStarted");
    expect(started?.call).toMatchObject({ call_id: callId, source: "audiohook", roles: ["agent", "customer"] });
    expect(started!.call.speakers[1]).toBe("Jane Doe");
    expect(started!.call.metadata.phone_number).toBe("+14155550100");

    const finals = events.filter((e): e is ResultsMessage => e.type === "Results" && e.is_final);
    const byChannel = [0, 1].map((c) => finals.filter((r) => r.channel_index[0] === c).flatMap((r) => r.channel.alternatives[0]?.words ?? []));
    console.log(`demo PBX call: agent "${byChannel[0]!.map((w) => w.word).join(" ")}" | customer "${byChannel[1]!.map((w) => w.word).join(" ")}"`);
    for (const c of [0, 1]) {
      const party = c === 0 ? "agent" : "customer";
      const turns = audio.turns.filter((t) => t.party === party);
      const got = byChannel[c]!;
      expect(got.length, `${party} words`).toBeGreaterThan(5);
      // Every word lies within one of its party's turns (with the recognizer's slack at the edges).
      for (const w of got) expect(turns.some((t) => w.start >= t.startS - 0.5 && w.end <= t.endS + 1.0), `${party} word "${w.word}" at ${w.start}-${w.end}`).toBe(true);
      // Real speech, real recognizer: a fair share of the reference's words comes out (a channel
      // mix-up or broken audio gives next to none).
      const reference = new Set(turns.flatMap((t) => words(t.reference)));
      const hits = got.filter((w) => reference.has(w.word.toLowerCase())).length;
      expect(hits / got.length, `${party}: share of recognised words in the reference`).toBeGreaterThan(0.4);
    }

    const end = events.at(-1);
    expect(end).toMatchObject({ type: "CallEnded", status: "done" });
    const transcript = (end as { transcript?: { segments: Array<{ speaker: string; channel?: number; text: string }> } }).transcript!;
    const channels = new Set(transcript.segments.map((s) => s.channel));
    expect([...channels].sort()).toEqual([0, 1]);
    expect(transcript.segments.filter((s) => s.channel === 1).every((s) => s.speaker === "Jane Doe")).toBe(true);
    expect(transcript.segments.filter((s) => s.channel === 0).every((s) => s.speaker.length > 0 && s.speaker !== "Jane Doe")).toBe(true);
    // The server answers `closed` once the call has ended; then the PBX lets the call go.
    for (let i = 0; i < 200 && pbx.activeCalls > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pbx.activeCalls).toBe(0);
  }, 150_000);
});
