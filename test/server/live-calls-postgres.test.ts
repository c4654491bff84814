/**
 * Live calls across server processes (issue 8 §5): two real `src/server/main.ts` processes on one
 * real PostgreSQL 15 (`DATABASE_URL`), the real PocketSphinx engine. A two-party call made of two
 * real corpus recordings streams into process A over Genesys AudioHook (the spec-written test
 * client); a subscriber on process B (`GET /v1/calls/:id/live`) gets the call's events through
 * PostgreSQL (LISTEN/NOTIFY and the `live_call_events` rows), in order and complete, with the same
 * final results A sent back to the platform, and both processes serve the stored call afterwards.
 * A second stream for the same call id on process B (a softphone's `/v1/listen` with
 * `extra=call_id`) is refused while A streams.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "../../src/eval/free-port";
import type { LiveCallEvent } from "../../src/server/live-calls/types";
import { postgresInstalled, startTestPostgres, type TestPostgres } from "../support/postgres";
import { buildTwoPartyCall, customerFirst, parseSse, type TwoPartyCall } from "../support/two-party-call";
import { AudiohookTestClient } from "../support/audiohook-client";

const API_KEY = "live-pg-test-key";
const AUDIOHOOK_KEY = "live-pg-audiohook-key";
const auth = { authorization: `Token ${API_KEY}` };

interface ServerProcess {
  baseUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startMain(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1", CALLSCRIBE_LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const h = (await (await fetch(`${baseUrl}/healthz`)).json()) as { status: string };
      if (h.status === "ready") break;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error("server not ready in 90 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}

const pgAvailable = postgresInstalled();
let pgServer: TestPostgres;
let a: ServerProcess;
let b: ServerProcess;
let call: TwoPartyCall;
const dirs: string[] = [];

beforeAll(async () => {
  if (!pgAvailable) return;
  call = await buildTwoPartyCall();
  pgServer = await startTestPostgres();
  const url = await pgServer.createDatabase("live_calls");
  const common = { DATABASE_URL: url, CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex"), CALLSCRIBE_API_KEY: API_KEY, CALLSCRIBE_AUDIOHOOK_API_KEY: AUDIOHOOK_KEY, CALLSCRIBE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}` };
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "callscribe-livepg-"));
    dirs.push(d);
    return d;
  };
  a = await startMain({ ...common, CALLSCRIBE_DATA_DIR: dir() });
  b = await startMain({ ...common, CALLSCRIBE_DATA_DIR: dir() });
}, 240_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await pgServer?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function openStream(base: string, callId: string): { ws: WebSocket; closed: Promise<{ code: number; reason: string }>; opened: Promise<void> } {
  const ws = new WebSocket(
    `${base.replace("http", "ws")}/v1/listen?encoding=mulaw&sample_rate=8000&channels=2&multichannel=true&interim_results=true&extra=call_id:${callId}&extra=${encodeURIComponent("agent_name:Ann Agent")}&extra=${encodeURIComponent("customer_name:Carl Customer")}`,
    { headers: auth },
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, closed, opened };
}

describe.skipIf(!pgAvailable)("a live call streamed into one server process, subscribed on another, through one PostgreSQL", () => {
  it("delivers every event in order to the other process, refuses a second stream there, and stores the call for both", async () => {
    const callId = randomUUID(); // AudioHook conversation ids are UUIDs
    const sub = fetch(`${b.baseUrl}/v1/calls/${callId}/live?wait=20`, { headers: auth });
    await new Promise((r) => setTimeout(r, 500));
    const client = await AudiohookTestClient.connect({ url: `${a.baseUrl.replace("http", "ws")}/v1/audiohook`, apiKey: AUDIOHOOK_KEY });
    const opened = await client.open({ conversationId: callId, participant: { id: randomUUID(), ani: "+14155550123", aniName: "Carl Customer", dnis: "+18005550100" } });
    expect(opened.type).toBe("opened");
    // The client offers external (customer) first, internal (agent) second: swap our agent-first audio.
    const wire = customerFirst(call.stereoMulaw);
    const streaming = client.streamAudio(wire, { speed: 5 });
    // While A streams, B refuses the same call id.
    await new Promise((r) => setTimeout(r, 2000));
    const dup = openStream(b.baseUrl, callId);
    const refused = await dup.closed;
    await streaming;
    await client.close("end", 120_000);
    await client.hangUp();
    expect(refused.code).toBe(1008);
    expect(refused.reason).toMatch(/already streaming/);
    // What A sent back to the platform: final transcript entities.
    const platformFinals = client
      .of("event")
      .flatMap((m) => (m.parameters.entities ?? []) as { type: string; data: { isFinal?: boolean; alternatives?: { interpretations?: { transcript: string }[] }[] } }[])
      .filter((e) => e.type === "transcript" && e.data.isFinal !== false)
      .map((e) => e.data.alternatives?.[0]?.interpretations?.[0]?.transcript ?? "");
    const res = await sub;
    expect(res.status).toBe(200);
    const events = parseSse(await res.text()).map((e) => ({ id: Number(e.id), body: JSON.parse(e.data) as LiveCallEvent }));
    expect(events[0].body.type).toBe("CallStarted");
    expect((events[0].body as Extract<LiveCallEvent, { type: "CallStarted" }>).call.speakers).toEqual(["agent", "Carl Customer"]); // AudioHook names only the customer (participant.aniName)
    const last = events[events.length - 1].body as Extract<LiveCallEvent, { type: "CallEnded" }>;
    expect(last.type).toBe("CallEnded");
    expect(last.status).toBe("done");
    // In order, no gaps among what was delivered, and every final result the client saw.
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
    const finals = events
      .filter((e) => e.body.type === "Results" && (e.body as { is_final: boolean }).is_final)
      .map((e) => (e.body as { channel: { alternatives: { transcript: string }[] } }).channel.alternatives[0].transcript)
      .filter((t) => t.length > 0);
    expect(finals.length).toBeGreaterThan(0);
    expect(platformFinals.filter((t) => t.length > 0)).toEqual(finals);
    const segs = last.transcript?.segments ?? [];
    expect(new Set(segs.map((x) => x.speaker))).toEqual(new Set(["agent", "Carl Customer"]));

    // Both processes serve the stored call.
    for (const p of [a, b]) {
      const one = (await (await fetch(`${p.baseUrl}/v1/calls/${callId}`, { headers: auth })).json()) as { status: string; source: string; transcript?: { segments: unknown[] } };
      expect(one).toMatchObject({ status: "done", source: "live" });
      expect(one.transcript?.segments.length).toBe(segs.length);
    }
    // A late subscriber on B gets the ended call.
    const late = parseSse(await (await fetch(`${b.baseUrl}/v1/calls/${callId}/live?wait=0`, { headers: auth })).text());
    expect(late.at(-1)?.event).toBe("CallEnded");
  }, 240_000);
});
