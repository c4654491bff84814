/**
 * The calls API over the real call store (CallRepository on embedded PGlite, AES-256-GCM at rest).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { fetchFinishedRecordings, fetchRecordingTranscript } from "../../src/transcriber/recordings/client";
import { createAtRestCipher } from "../../src/server/store/crypto";
import type { Analysis } from "../../src/server/store/model";
import { CallRepository } from "../../src/server/store/calls";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";

const API_KEY = "test-api-key-123";
const auth = { authorization: `Token ${API_KEY}` };

let dir: string;
let db: Database;
let repo: CallRepository;
let app: FastifyInstance;

const transcript: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "rec-api-test", callId: "call-done" },
  source: "recording",
  text: "hello I would like to upgrade my plan",
  segments: [{ speaker: "mixed", start: 0.2, end: 2.9, text: "hello I would like to upgrade my plan", confidence: 0.81 }],
  provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
  duration: 3.1,
};
const analysis: Analysis = {
  summary: "The caller wants to upgrade the plan.",
  topic: "Sales Inquiry",
  sentiment: { label: "positive", score: 0.4, perTurn: [{ segment: 0, label: "positive", score: 0.4 }] },
  keyPhrases: ["upgrade", "plan"],
  actionItems: ["Upgrade the caller's plan"],
  talkTime: { mixed: 2.7 },
  silenceSec: 0.4,
};

beforeAll(async () => {
  expect(validateContext(transcript).valid).toBe(true);
  dir = mkdtempSync(join(tmpdir(), "callscribe-api-"));
  db = await openPgliteDatabase(join(dir, "pglite"));
  await migrate(db);
  repo = new CallRepository(db, createAtRestCipher(randomBytes(32)));
  app = Fastify();
  await app.register(callsApiPlugin, { getCall: (id) => repo.getCall(id), listCalls: (q) => repo.listCalls(q), apiKey: API_KEY });

  await repo.createCall({ call_id: "call-queued", recording_url: "https://rec.example.com/1.wav" }, "msg_1");
  await repo.createCall({ call_id: "call-failed", recording_url: "https://rec.example.com/2.wav" }, "msg_2");
  await repo.updateStage("call-failed", "download", { status: "failed", attempts: 1, error: "host evil.example is not allowed" });
  await repo.setStatus("call-failed", "failed", "download: host evil.example is not allowed");
  await repo.createCall({ call_id: "call-done", recording_url: "https://rec.example.com/3.wav", direction: "inbound" }, "msg_3");
  for (const stage of ["download", "decode", "transcribe", "analyze", "deliver"] as const) {
    await repo.updateStage("call-done", stage, { status: "done", attempts: 1, startedAt: "2024-06-01T09:30:00.000Z", finishedAt: "2024-06-01T09:30:01.500Z", durationSec: 1.5 });
  }
  await repo.saveTranscript("call-done", transcript);
  await repo.saveAnalysis("call-done", analysis);
  await repo.setStatus("call-done", "done");
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /v1/calls/:id", () => {
  it("returns the stages and, when done, the fdc3.transcript with the analysis", async () => {
    const res = await app.inject({ url: "/v1/calls/call-done", headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe("done");
    expect(body.metadata).toMatchObject({ call_id: "call-done", direction: "inbound" });
    expect(Object.keys(body.stages)).toEqual(["download", "decode", "transcribe", "analyze", "deliver"]);
    expect(body.stages.transcribe).toMatchObject({ status: "done", durationSec: 1.5 });
    expect(body.transcript.text).toBe(transcript.text);
    expect(body.transcript.summary).toBe(analysis.summary);
    expect(body.transcript.topics).toEqual(["Sales Inquiry"]);
    expect(validateContext(body.transcript).valid).toBe(true);
  });

  it("returns the reason of a failed call and no transcript while queued", async () => {
    const failed = (await app.inject({ url: "/v1/calls/call-failed", headers: auth })).json();
    expect(failed).toMatchObject({ status: "failed", reason: expect.stringContaining("not allowed") });
    expect(failed.stages.download).toMatchObject({ status: "failed", error: expect.stringContaining("evil.example") });
    const queued = (await app.inject({ url: "/v1/calls/call-queued", headers: auth })).json();
    expect(queued.status).toBe("queued");
    expect(queued.transcript).toBeUndefined();
    expect(queued.stages.download).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("answers 404 for an unknown id, 400 for a malformed one, 401 without the key", async () => {
    expect((await app.inject({ url: "/v1/calls/nope", headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ url: "/v1/calls/%2F..%2Fetc", headers: auth })).statusCode).toBe(400);
    const noKey = await app.inject({ url: "/v1/calls/call-done" });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.body).not.toContain("upgrade");
    expect((await app.inject({ url: "/v1/calls/call-done", headers: { authorization: "Token wrong-key-0000" } })).statusCode).toBe(401);
  });
});

describe("GET /v1/calls", () => {
  it("lists calls newest first without transcripts, with paging and a status filter", async () => {
    const all = (await app.inject({ url: "/v1/calls", headers: auth })).json();
    expect(all.total).toBe(3);
    expect(all.calls.map((c: { call_id: string }) => c.call_id)).toEqual(["call-done", "call-failed", "call-queued"]);
    expect(all.calls.every((c: { transcript?: unknown }) => c.transcript === undefined)).toBe(true);
    expect(JSON.stringify(all)).not.toContain("upgrade my plan");

    const page = (await app.inject({ url: "/v1/calls?limit=1&offset=1", headers: auth })).json();
    expect(page).toMatchObject({ limit: 1, offset: 1, total: 3 });
    expect(page.calls.map((c: { call_id: string }) => c.call_id)).toEqual(["call-failed"]);

    const done = (await app.inject({ url: "/v1/calls?status=done", headers: auth })).json();
    expect(done.calls.map((c: { call_id: string }) => c.call_id)).toEqual(["call-done"]);
    expect(done.total).toBe(1);
  });

  it("refuses bad query values with 400", async () => {
    for (const q of ["limit=0", "limit=101", "offset=-1", "status=lost", "limit=ten"]) {
      const res = await app.inject({ url: `/v1/calls?${q}`, headers: auth });
      expect(res.statusCode, q).toBe(400);
      expect(res.json()).toMatchObject({ err_code: "INVALID_QUERY_PARAMETER", request_id: expect.any(String) });
    }
  });
});

describe("the transcriber's Recordings client over HTTP", () => {
  it("lists finished recordings and fetches a transcript that SaveTranscript can carry", async () => {
    const baseUrl = await app.listen({ port: 0, host: "127.0.0.1" });
    const list = await fetchFinishedRecordings({ baseUrl, apiKey: API_KEY });
    expect(list).toEqual([{ callId: "call-done", when: expect.any(String), direction: "inbound", participants: [], status: "done" }]);
    const t = await fetchRecordingTranscript({ baseUrl, apiKey: API_KEY }, "call-done");
    expect(validateContext(t).valid).toBe(true);
    expect(t.id.callId).toBe("call-done");
    expect(t.summary).toBe(analysis.summary);
    await expect(fetchRecordingTranscript({ baseUrl, apiKey: API_KEY }, "call-queued")).rejects.toThrow(/no finished transcript \(status queued\)/);
    await expect(fetchRecordingTranscript({ baseUrl, apiKey: API_KEY }, "call-failed")).rejects.toThrow(/not allowed/);
    await expect(fetchFinishedRecordings({ baseUrl })).rejects.toThrow(/may transcribe but not read recorded calls: the server keeps them behind its API key/);
    await expect(fetchFinishedRecordings({ baseUrl, apiKey: "wrong-key-0123456789" })).rejects.toThrow(/not authorised to list recordings/);
  });
});
