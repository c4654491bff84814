/**
 * Issue 7 item 14 (second half): what identifies people — participants' names, phone numbers,
 * e-mail addresses, the agent, the recording URL — is encrypted at rest like transcripts. Real
 * PGlite and pg-boss: the raw rows (calls, pgboss.job) hold none of it in clear; the calls API
 * still returns it to a caller with the key; call_id idempotency still works; migration 3
 * encrypts rows written before it.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { JobQueue } from "../../src/server/pipeline/queue";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";
import type { RecordingReady } from "../../src/server/store/model";

const API_KEY = "metadata-test-key";
const cipher = createAtRestCipher(randomBytes(32));
let dir: string;
let db: Database;
let queue: JobQueue;

const PERSONAL = ["Grace Hopper", "+44 20 7946 0958", "grace@example.com", "Ada Lovelace", "ada@callcenter.example", "recordings.example.com/secret-path-42"];
const recording = (id: string): RecordingReady => ({
  call_id: id,
  recording_url: `https://recordings.example.com/secret-path-42/${id}.wav`,
  participants: [
    { name: "Grace Hopper", phone: "+44 20 7946 0958", email: "grace@example.com", role: "customer" },
    { name: "Ada Lovelace", role: "agent" },
  ],
  agent: { name: "Ada Lovelace", email: "ada@callcenter.example", id: "agent-7" },
  direction: "inbound",
  start_time: "2026-12-01T10:00:00Z",
});

/** Every stored row of `sql` as text, for a search for plaintext. */
async function rawText(sql: string): Promise<string> {
  const { rows } = await db.query(sql);
  return JSON.stringify(rows, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-meta-"));
  db = await openPgliteDatabase(join(dir, "pglite"));
  queue = await JobQueue.start(db, cipher);
}, 60_000);
afterAll(async () => {
  await queue?.stop();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("call metadata encrypted at rest", () => {
  it("stores no name, phone, e-mail or recording URL in clear, in the calls table or the job; the API returns them", async () => {
    expect((await queue.enqueueRecording(recording("meta-1"), "msg_meta_1")).created).toBe(true);
    // Idempotency on call_id (and webhook id) still holds.
    expect((await queue.enqueueRecording(recording("meta-1"), "msg_meta_1b")).created).toBe(false);
    expect((await queue.enqueueRecording(recording("meta-other"), "msg_meta_1")).created).toBe(false);

    const calls = await rawText("SELECT * FROM calls");
    const jobs = await rawText("SELECT * FROM pgboss.job");
    for (const text of PERSONAL) {
      expect(calls, `calls row holds "${text}"`).not.toContain(text);
      expect(jobs, `job row holds "${text}"`).not.toContain(text);
    }
    // What identifies nobody stays readable (and call_id keeps dedup working).
    const { rows } = await db.query<{ metadata: unknown }>("SELECT metadata FROM calls WHERE call_id = 'meta-1'");
    expect(rows[0].metadata).toEqual({ call_id: "meta-1", direction: "inbound", start_time: "2026-12-01T10:00:00Z" });

    const app = Fastify();
    await app.register(callsApiPlugin, { getCall: (id) => queue.calls.getCall(id), listCalls: (q) => queue.calls.listCalls(q), apiKey: API_KEY });
    const one = await app.inject({ url: "/v1/calls/meta-1", headers: { authorization: `Token ${API_KEY}` } });
    expect(one.statusCode).toBe(200);
    expect(one.json().metadata).toEqual(recording("meta-1"));
    const list = await app.inject({ url: "/v1/calls", headers: { authorization: `Token ${API_KEY}` } });
    expect(list.json().calls[0].metadata).toEqual(recording("meta-1"));
    expect((await app.inject({ url: "/v1/calls" })).statusCode).toBe(401);
    await app.close();
    // The worker reads the same (decrypted) metadata.
    expect((await queue.calls.getRunState("meta-1"))!.metadata).toEqual(recording("meta-1"));
  });

  it("migration 3 encrypts rows stored before it and removes the body from old jobs", async () => {
    // A row and a job as the code before migration 3 wrote them: the whole body in clear.
    const old = recording("meta-old");
    await db.query("INSERT INTO calls (call_id, job_id, metadata, stages) VALUES ($1, gen_random_uuid(), $2, '{}'::jsonb)", [old.call_id, JSON.stringify(old)]);
    await queue.boss.send("recording-ready", { call_id: old.call_id, recording: old }, { startAfter: 3600 });
    expect(await rawText("SELECT * FROM calls")).toContain("Grace Hopper");
    await db.query("DELETE FROM callscribe_migrations WHERE version = 3");
    await db.query("ALTER TABLE calls DROP COLUMN metadata_sealed");
    await expect(migrate(db)).rejects.toThrow(/needs the encryption key/); // never left half-done without the key
    await migrate(db, cipher);

    const calls = await rawText("SELECT * FROM calls");
    const jobs = await rawText("SELECT * FROM pgboss.job");
    for (const text of PERSONAL) {
      expect(calls).not.toContain(text);
      expect(jobs).not.toContain(text);
    }
    expect((await queue.calls.getCall("meta-old"))!.metadata).toEqual(old);
  });
});
