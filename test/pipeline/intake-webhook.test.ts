/**
 * `POST /v1/webhooks/recording-ready` with the real Standard Webhooks signing (`webhooks/signing.ts`)
 * and the real durable enqueue (JobQueue: pg-boss 10 on embedded PGlite).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWebhookSecret, signWebhook } from "../../src/server/webhooks/signing";
import { PipelineMetrics } from "../../src/server/observability/metrics";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { intakePlugin, RECORDING_READY_PATH } from "../../src/server/pipeline/intake";
import { JobQueue } from "../../src/server/pipeline/queue";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";

const secret = generateWebhookSecret();
let dir: string;
let db: Database;
let queue: JobQueue;
let app: FastifyInstance;
let metrics: PipelineMetrics;

const now = () => Math.floor(Date.now() / 1000);

/** Headers and body of a webhook signed with `key` (default: the server's secret). */
function signed(body: unknown, opts: { id?: string; timestamp?: number; key?: string; raw?: string } = {}) {
  const payload = opts.raw ?? JSON.stringify(body);
  const id = opts.id ?? `msg_${randomUUID()}`;
  const headers = signWebhook(opts.key ?? secret, id, opts.timestamp ?? now(), payload);
  return { headers: { ...headers, "content-type": "application/json" }, payload, id };
}

async function post(s: { headers: Record<string, string>; payload: string }) {
  return app.inject({ method: "POST", url: RECORDING_READY_PATH, headers: s.headers, payload: s.payload });
}

const jobCount = async () => {
  const d = await queue.depth();
  return d.created + d.active + d.retry + d.completed + d.failed;
};
const callCount = async () => (await queue.calls.listCalls({ limit: 500 })).total;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-intake-"));
  db = await openPgliteDatabase(join(dir, "pglite"));
  queue = await JobQueue.start(db, createAtRestCipher(randomBytes(32)), { maintenanceIntervalSec: 3600 });
  metrics = new PipelineMetrics();
  app = Fastify();
  await app.register(intakePlugin, { webhookSecret: secret, enqueue: (r, id) => queue.enqueueRecording(r, id), metrics });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await queue?.stop(1000);
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const body = {
  call_id: "call-0001",
  recording_url: "https://recorder.example.com/rec/call-0001.wav",
  participants: [{ name: "Dana Agent", email: "dana@example.com", role: "agent" }, { name: "Chris", phone: "+1 555 0100", role: "customer" }],
  direction: "inbound",
  start_time: "2024-06-01T09:30:00Z",
  agent: { name: "Dana Agent", email: "dana@example.com", id: "agent-7" },
};

describe("recording-ready webhook", () => {
  it("queues a signed, valid recording once: replays and repeated call ids get 200 duplicate", async () => {
    const first = signed(body);
    const res = await post(first);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ call_id: "call-0001", status: "queued" });
    expect(await jobCount()).toBe(1);
    const stored = await queue.calls.getCall("call-0001");
    expect(stored).toMatchObject({ status: "queued", metadata: { call_id: "call-0001", direction: "inbound" } });

    // Replay: the very same request (same webhook-id, same signature).
    const replay = await post(first);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ call_id: "call-0001", duplicate: true });

    // The recorder retries the same call with a new webhook-id.
    const again = await post(signed(body));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ call_id: "call-0001", duplicate: true });

    // The same webhook-id with another call id is the same message: no second job either.
    const sameId = await post(signed({ ...body, call_id: "call-0001-b" }, { id: first.id }));
    expect(sameId.statusCode).toBe(200);
    expect(sameId.json()).toEqual({ call_id: "call-0001", duplicate: true });

    expect(await jobCount()).toBe(1);
    expect(await callCount()).toBe(1);
  });

  it.each([
    ["a bad signature (another secret)", () => signed({ ...body, call_id: "bad-1" }, { key: generateWebhookSecret() }), 401, /webhook-signature/],
    [
      "a body changed after signing",
      () => {
        const s = signed({ ...body, call_id: "bad-2" });
        return { ...s, payload: s.payload.replace("bad-2", "bad-3") };
      },
      401,
      /webhook-signature/,
    ],
    [
      "a missing webhook-signature header",
      () => {
        const s = signed({ ...body, call_id: "bad-4" });
        const { "webhook-signature": _omit, ...headers } = s.headers;
        return { ...s, headers };
      },
      401,
      /^missing webhook-signature header$/,
    ],
    ["a stale timestamp (6 minutes old)", () => signed({ ...body, call_id: "bad-5" }, { timestamp: now() - 360 }), 401, /^stale/],
    ["a timestamp 6 minutes in the future", () => signed({ ...body, call_id: "bad-6" }, { timestamp: now() + 360 }), 401, /^stale/],
    ["an oversized body", () => signed({ ...body, call_id: "bad-7", agent: { name: "x".repeat(70 * 1024) } }), 413, /larger than 65536 bytes/],
    ["a body that is not JSON", () => signed(undefined, { raw: '{"call_id": "bad-8", ' }), 400, /not valid JSON/],
    ["a missing recording_url", () => signed({ call_id: "bad-9" }), 400, /recording_url is required/],
    ["a malformed agent email", () => signed({ ...body, call_id: "bad-10", agent: { email: "not-an-email" } }), 400, /agent\.email/],
    ["an unknown field", () => signed({ ...body, call_id: "bad-11", recordingUrl: "x" }), 400, /recordingUrl is not an allowed field/],
    ["a call_id with a path in it", () => signed({ ...body, call_id: "../../etc/passwd" }), 400, /call_id/],
    ["a non-http recording URL", () => signed({ ...body, call_id: "bad-12", recording_url: "file:///etc/passwd" }), 400, /recording_url/],
  ])("refuses %s and queues nothing", async (_name, make, status, reason) => {
    const before = await jobCount();
    const res = await post(make());
    expect(res.statusCode).toBe(status);
    expect(res.json().err_msg).toMatch(reason);
    expect(await jobCount()).toBe(before);
    expect(await callCount()).toBe(1);
  });

  it("names the field of an invalid body", async () => {
    const res = await post(signed({ ...body, call_id: "bad-13", direction: "sideways" }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ err_code: "INVALID_BODY", field: "direction", request_id: expect.any(String) });
  });

  it("refuses other content types with 415", async () => {
    const s = signed({ ...body, call_id: "bad-14" });
    const res = await post({ ...s, headers: { ...s.headers, "content-type": "text/plain" } });
    expect(res.statusCode).toBe(415);
    expect(await callCount()).toBe(1);
  });

  it("counts accepted, duplicate and rejected webhooks", async () => {
    const text = await metrics.render();
    expect(text).toMatch(/^callscribe_webhooks_total\{outcome="accepted",reason="ok"\} 1$/m);
    expect(text).toMatch(/^callscribe_webhooks_total\{outcome="duplicate",reason="ok"\} 3$/m);
    expect(text).toMatch(/^callscribe_webhooks_total\{outcome="rejected",reason="stale"\} 2$/m);
    expect(text).toMatch(/^callscribe_webhooks_total\{outcome="rejected",reason="too_large"\} 1$/m);
  });
});

describe("recording-ready webhook without a secret", () => {
  it("answers 503 with the reason and queues nothing", async () => {
    // No store is needed: the route must answer before it would enqueue anything.
    const enqueued: unknown[] = [];
    const fakeEnqueue = async (r: { call_id: string }) => (enqueued.push(r), { created: true, callId: r.call_id });
    const bare = Fastify();
    await bare.register(intakePlugin, { enqueue: fakeEnqueue });
    const s = signed({ ...body, call_id: "no-secret" });
    const res = await bare.inject({ method: "POST", url: RECORDING_READY_PATH, headers: s.headers, payload: s.payload });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ err_code: "INTAKE_DISABLED", err_msg: expect.stringContaining("CALLSCRIBE_WEBHOOK_SECRET is not set") });
    expect(enqueued).toEqual([]);
    await bare.close();
  });
});

describe("the server-wide API-key hook", () => {
  it("sees apiKeyAuth: false on the webhook route, so it can let signed webhooks through", async () => {
    // The check app.ts's onRequest hook makes (see the wiring note in route.ts).
    const key = "server-api-key-1";
    const server = Fastify();
    server.addHook("onRequest", async (request, reply) => {
      if (!request.url.startsWith("/v1/") || request.routeOptions.config?.apiKeyAuth === false) return;
      if (request.headers.authorization !== `Token ${key}`) return reply.code(401).send({ error: "unauthorized" });
    });
    const received: string[] = [];
    const fakeEnqueue = async (r: { call_id: string }) => (received.push(r.call_id), { created: true, callId: r.call_id });
    await server.register(intakePlugin, { webhookSecret: secret, enqueue: fakeEnqueue });
    server.get("/v1/other", async () => ({ ok: true }));
    const s = signed({ ...body, call_id: "via-hook" });
    const res = await server.inject({ method: "POST", url: RECORDING_READY_PATH, headers: s.headers, payload: s.payload });
    expect(res.statusCode).toBe(202);
    expect(received).toEqual(["via-hook"]);
    expect((await server.inject({ url: "/v1/other" })).statusCode).toBe(401);
    await server.close();
  });
});
