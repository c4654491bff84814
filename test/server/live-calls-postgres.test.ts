/**
 * Live calls across server processes (issue 8 §5): two real `src/server/main.ts` processes on one
 * real PostgreSQL 15 (`DATABASE_URL`), the real PocketSphinx engine. A two-party call made of two
 * real corpus recordings streams into process A (multichannel `/v1/listen` with `extra=call_id`);
 * a subscriber on process B (`GET /v1/calls/:id/live`) gets the call's events through PostgreSQL
 * (LISTEN/NOTIFY and the `live_call_events` rows), in order and complete, and process B serves the
 * stored call afterwards. A second stream for the same call id on process B is refused while A streams.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "../../src/eval/free-port";
import type { LiveCallEvent } from "../../src/server/live-calls/types";
import { postgresInstalled, startTestPostgres, type TestPostgres } from "../support/postgres";
import { buildTwoPartyCall, parseSse, type TwoPartyCall } from "../support/two-party-call";

const API_KEY = "live-pg-test-key";
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
  const common = { DATABASE_URL: url, CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex"), CALLSCRIBE_API_KEY: API_KEY, CALLSCRIBE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}` };
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
    const callId = `pg-call-${Date.now()}`;
    const sub = fetch(`${b.baseUrl}/v1/calls/${callId}/live?wait=20`, { headers: auth });
    await new Promise((r) => setTimeout(r, 500));
    const s = openStream(a.baseUrl, callId);
    await s.opened;
    const clientResults: unknown[] = [];
    s.ws.on("message", (d) => {
      const m = JSON.parse(String(d)) as { type: string };
      if (m.type === "Results") clientResults.push(m);
    });
    // While A streams, B refuses the same call id.
    const frame = 1600; // 100 ms
    let refused: { code: number; reason: string } | undefined;
    for (let i = 0; i < call.stereoMulaw.length; i += frame) {
      s.ws.send(call.stereoMulaw.subarray(i, i + frame));
      await new Promise((r) => setTimeout(r, 20));
      if (i === frame * 30) {
        const dup = openStream(b.baseUrl, callId);
        refused = await dup.closed;
      }
    }
    s.ws.send(JSON.stringify({ type: "CloseStream" }));
    expect((await s.closed).code).toBe(1000);
    expect(refused?.code).toBe(1008);
    expect(refused?.reason).toMatch(/already streaming/);

    const res = await sub;
    expect(res.status).toBe(200);
    const events = parseSse(await res.text()).map((e) => ({ id: Number(e.id), body: JSON.parse(e.data) as LiveCallEvent }));
    expect(events[0].body.type).toBe("CallStarted");
    expect((events[0].body as Extract<LiveCallEvent, { type: "CallStarted" }>).call.speakers).toEqual(["Ann Agent", "Carl Customer"]);
    const last = events[events.length - 1].body as Extract<LiveCallEvent, { type: "CallEnded" }>;
    expect(last.type).toBe("CallEnded");
    expect(last.status).toBe("done");
    // In order, no gaps among what was delivered, and every final result the client saw.
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
    const finals = (rs: unknown[]) => rs.filter((r) => (r as { is_final: boolean }).is_final).map((r) => JSON.stringify((r as { channel: unknown }).channel));
    expect(finals(events.filter((e) => e.body.type === "Results").map((e) => e.body))).toEqual(finals(clientResults));
    const segs = last.transcript?.segments ?? [];
    expect(new Set(segs.map((x) => x.speaker))).toEqual(new Set(["Ann Agent", "Carl Customer"]));

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
