/**
 * The call repository and the durable enqueue on real PGlite (a folder on disk).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transcript } from "../../src/contracts";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { DEAD_LETTER_QUEUE, enqueueRecording, JobQueue, RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { deleteExpiredAudio } from "../../src/server/pipeline/retention";
import type { Analysis } from "../../src/server/store/model";
import { jobIdForCall } from "../../src/server/store/calls";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";

const dir = mkdtempSync(join(tmpdir(), "callscribe-store-"));
const cipher = createAtRestCipher(randomBytes(32));
let db: Database;
let queue: JobQueue;

beforeAll(async () => {
  db = await openPgliteDatabase(join(dir, "pglite"));
  queue = await JobQueue.start(db, cipher, { pollIntervalSec: 0.5 });
});
afterAll(async () => {
  await queue?.stop();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rr = (id: string) => ({ call_id: id, recording_url: `http://127.0.0.1:9/${id}.wav`, direction: "inbound" as const, agent: { name: "Ada" } });
const jobCount = async (callId: string) =>
  Number((await db.query<{ n: string | number }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'call_id' = $2", [RECORDING_QUEUE, callId])).rows[0].n);

describe("calls repository and durable enqueue (PGlite)", () => {
  it("migrations can run again without change", async () => {
    await migrate(db);
    const { rows } = await db.query<{ version: number }>("SELECT version FROM callscribe_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("creates the call and exactly one job; a repeated call_id or webhook-id adds nothing", async () => {
    const first = await enqueueRecording(queue, rr("call-a"), "msg_a1");
    expect(first).toEqual({ created: true, callId: "call-a", jobId: jobIdForCall("call-a") });
    expect(await enqueueRecording(queue, rr("call-a"), "msg_a2")).toMatchObject({ created: false, callId: "call-a" });
    // Same webhook id, different call id: a replay of the same delivery.
    expect(await enqueueRecording(queue, rr("call-other"), "msg_a1")).toMatchObject({ created: false, callId: "call-a" });
    expect(await jobCount("call-a")).toBe(1);
    expect(await queue.calls.getCall("call-other")).toBeUndefined();

    const view = await queue.calls.getCall("call-a");
    expect(view).toMatchObject({ call_id: "call-a", status: "queued", metadata: rr("call-a") });
    expect(Object.keys(view!.stages)).toEqual(["download", "decode", "transcribe", "analyze", "deliver"]);
    expect(view!.stages.download).toEqual({ status: "pending", attempts: 0 });
    expect(view!.transcript).toBeUndefined();
  });

  it("concurrent deliveries of one webhook create one call and one job", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => enqueueRecording(queue, rr("call-b"), `msg_b${i % 2}`)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await jobCount("call-b")).toBe(1);
  });

  it("a failed transaction stores neither the call nor the job", async () => {
    // A call_id that pg-boss's job insert cannot take: send() with a non-uuid id fails inside the transaction.
    await expect(
      db.transaction(async (tx) => {
        await queue.calls.withTransaction(tx).createCall(rr("call-rollback"), "msg_rb");
        await queue.boss.send(RECORDING_QUEUE, { call_id: "call-rollback" }, { id: "not-a-uuid", db: db.pgBossDb(tx) } as never);
      }),
    ).rejects.toThrow();
    expect(await queue.calls.getCall("call-rollback")).toBeUndefined();
    expect(await jobCount("call-rollback")).toBe(0);
  });

  it("updates stages and status; the transcript and analysis are encrypted in the table and returned when done", async () => {
    await enqueueRecording(queue, rr("call-c"), "msg_c");
    await queue.calls.updateStage("call-c", "download", { status: "done", attempts: 1, startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:02.000Z", durationSec: 2 });
    await queue.calls.setStatus("call-c", "transcribing");
    const transcript: Transcript = {
      type: "fdc3.transcript",
      id: { transcriptId: "t-c" },
      source: "recording",
      text: "please send me the refund form",
      segments: [{ speaker: "customer", start: 0, end: 2, text: "please send me the refund form", confidence: 0.9 }],
    } as Transcript;
    await queue.calls.saveTranscript("call-c", transcript);
    const analysis: Analysis = {
      summary: "Customer asks for a refund form.",
      topic: "Billing",
      sentiment: { label: "neutral", score: 0, perTurn: [] },
      keyPhrases: ["refund form"],
      actionItems: ["send the refund form"],
      talkTime: { customer: 2 },
      silenceSec: 0,
    };
    await queue.calls.saveAnalysis("call-c", analysis);

    const raw = (await db.query<{ transcript: Uint8Array; analysis: Uint8Array }>("SELECT transcript, analysis FROM calls WHERE call_id = 'call-c'")).rows[0];
    expect(Buffer.from(raw.transcript).includes(Buffer.from("refund"))).toBe(false);
    expect(Buffer.from(raw.analysis).includes(Buffer.from("refund"))).toBe(false);

    let view = await queue.calls.getCall("call-c");
    expect(view!.status).toBe("transcribing");
    expect(view!.stages.download).toMatchObject({ status: "done", attempts: 1, durationSec: 2 });
    expect(view!.transcript).toBeUndefined(); // only when done
    await queue.calls.setStatus("call-c", "done");
    view = await queue.calls.getCall("call-c");
    expect(view!.transcript).toMatchObject({ text: transcript.text, summary: analysis.summary, topics: ["Billing"], sentiment: { label: "neutral", score: 0 }, actionItems: analysis.actionItems });
    expect(await queue.calls.loadTranscript("call-c")).toEqual(transcript);

    // A transcript sealed for another call does not open here (AAD binds it to its row).
    await db.query("UPDATE calls SET transcript = (SELECT transcript FROM calls WHERE call_id = 'call-c') WHERE call_id = 'call-a'");
    await expect(queue.calls.loadTranscript("call-a")).rejects.toThrow(/authentication failed/);
  });

  it("lists calls newest first with paging, a status filter and a total", async () => {
    await queue.calls.setStatus("call-b", "failed", "download: recording server answered HTTP 404");
    const all = await queue.calls.listCalls({ limit: 2 });
    expect(all.total).toBe(3);
    expect(all.calls.map((c) => c.call_id)).toEqual(["call-c", "call-b"]);
    expect(all.calls.every((c) => c.transcript === undefined)).toBe(true);
    expect((await queue.calls.listCalls({ limit: 2, offset: 2 })).calls.map((c) => c.call_id)).toEqual(["call-a"]);
    const failed = await queue.calls.listCalls({ status: "failed" });
    expect(failed).toMatchObject({ total: 1, calls: [{ call_id: "call-b", reason: "download: recording server answered HTTP 404" }] });
    expect(await queue.calls.countByStatus()).toEqual({ queued: 1, failed: 1, done: 1 });
  });

  it("retention deletes audio older than the period and records audio_deleted_at", async () => {
    const oldPath = join(dir, "old.enc");
    const newPath = join(dir, "new.enc");
    writeFileSync(oldPath, "x");
    writeFileSync(newPath, "y");
    await queue.calls.setAudioPath("call-a", oldPath);
    await queue.calls.setAudioPath("call-c", newPath);
    await db.query("UPDATE calls SET created_at = now() - interval '31 days' WHERE call_id = 'call-a'");
    expect(await deleteExpiredAudio(queue.calls, 30)).toEqual(["call-a"]);
    expect(existsSync(oldPath)).toBe(false);
    expect(existsSync(newPath)).toBe(true);
    expect((await queue.calls.getCall("call-a"))!.audio_deleted_at).toMatch(/^\d{4}-/);
    expect((await queue.calls.getCall("call-c"))!.audio_deleted_at).toBeUndefined();
    expect(await deleteExpiredAudio(queue.calls, 30)).toEqual([]);
  });

  it("reports queue depth; the queue has a dead-letter queue and backoff", async () => {
    expect(await queue.depth()).toMatchObject({ created: 3, active: 0, deadLetters: 0 });
    const q = await queue.boss.getQueue(RECORDING_QUEUE);
    expect(q).toMatchObject({ deadLetter: DEAD_LETTER_QUEUE, retryBackoff: true, retryLimit: 5 });
  });

  it("a job that pg-boss failed for good unseen (killed on its last attempt) marks its call failed with the reason", async () => {
    await queue.boss.purgeQueue(RECORDING_QUEUE); // drop the earlier tests' queued jobs
    await enqueueRecording(queue, rr("call-d"), "msg_d");
    const [job] = await queue.boss.fetch(RECORDING_QUEUE);
    expect(job.data).toMatchObject({ call_id: "call-d" });
    await queue.failNow(job.id); // no retries left
    await queue.boss.fail(RECORDING_QUEUE, job.id, { message: "job failed by timeout in active state" });
    expect(await queue.reconcileFailedJobs()).toEqual(["call-d"]);
    expect(await queue.calls.getCall("call-d")).toMatchObject({ status: "failed", reason: "job failed by timeout in active state" });
    expect(await queue.reconcileFailedJobs()).toEqual([]);
    expect((await queue.deadLetters()).map((d) => [d.call_id, d.reason])).toEqual([["call-d", "job failed by timeout in active state"]]);
  });
});
