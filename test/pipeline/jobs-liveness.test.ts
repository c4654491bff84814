/**
 * Issue 7 item 15, the liveness check on its own (real pg-boss on PGlite): the sweep retries the
 * active jobs of a worker whose heartbeat is stale, and of a job with no lease long after it
 * started, and leaves a live worker's job alone; at boot the embedded store's active jobs are
 * retried. (The end-to-end kill -9 tests are jobs-crash.test.ts and jobs-postgres.test.ts.)
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverEmbeddedJobs, WorkerLiveness } from "../../src/server/pipeline/liveness";
import { JobQueue, RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";

let dir: string;
let db: Database;
let queue: JobQueue;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-liveness-"));
  db = await openPgliteDatabase(join(dir, "pglite"));
  queue = await JobQueue.start(db, createAtRestCipher(randomBytes(32)), { retryDelaySec: 1 });
}, 60_000);
afterAll(async () => {
  await queue?.stop();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Enqueue a call and make its job active, as a worker's fetch does. */
async function activeJob(callId: string): Promise<string> {
  const { jobId } = await queue.enqueueRecording({ call_id: callId, recording_url: "http://127.0.0.1:9/a.wav" });
  await db.query("UPDATE pgboss.job SET state = 'active', started_on = now(), retry_count = retry_count + 1 WHERE id = $1", [jobId]);
  return jobId;
}
const stateOf = async (id: string) => (await db.query<{ state: string }>("SELECT state::text AS state FROM pgboss.job WHERE id = $1", [id])).rows[0]?.state;
const heartbeat = (worker: string, ageSec: number) =>
  db.query("INSERT INTO worker_heartbeats (worker_id, host, pid, beat_at) VALUES ($1, 'h', 1, now() - make_interval(secs => $2))", [worker, ageSec]);
const lease = (job: string, worker: string) => db.query("INSERT INTO job_leases (job_id, worker_id) VALUES ($1, $2)", [job, worker]);

describe("worker liveness", () => {
  it("retries the jobs of a silent worker and of a job left without a lease; a live worker's job stays", async () => {
    const dead = await activeJob("live-dead");
    const alive = await activeJob("live-alive");
    const orphan = await activeJob("live-orphan");
    const fresh = await activeJob("live-fresh-orphan");
    await heartbeat("worker-dead", 120);
    await heartbeat("worker-alive", 0);
    await lease(dead, "worker-dead");
    await lease(alive, "worker-alive");
    await db.query("UPDATE pgboss.job SET started_on = now() - interval '2 minutes' WHERE id = $1", [orphan]);

    const liveness = new WorkerLiveness(queue, { heartbeatSec: 1, staleSec: 5 });
    expect((await liveness.sweep()).sort()).toEqual([dead, orphan].sort());
    expect(await stateOf(dead)).toBe("retry");
    expect(await stateOf(orphan)).toBe("retry");
    expect(await stateOf(alive)).toBe("active");
    expect(await stateOf(fresh)).toBe("active"); // just fetched: its worker is about to write the lease
    expect((await db.query("SELECT job_id FROM job_leases WHERE job_id = $1", [dead])).rows).toEqual([]);
    // Swept once: a second sweep finds nothing more.
    expect(await liveness.sweep()).toEqual([]);
    const { rows } = await db.query<{ output: { message?: string } }>("SELECT output FROM pgboss.job WHERE id = $1", [dead]);
    expect(rows[0].output.message).toMatch(/stopped sending heartbeats/);
  });

  it("a process's own heartbeat keeps its leased job alive", async () => {
    const liveness = new WorkerLiveness(queue, { heartbeatSec: 1, staleSec: 5 });
    await liveness.start();
    const job = await activeJob("live-own");
    await liveness.claim(job);
    await db.query("UPDATE pgboss.job SET started_on = now() - interval '2 minutes' WHERE id = $1", [job]);
    expect(await liveness.sweep()).not.toContain(job);
    expect(await stateOf(job)).toBe("active");
    await liveness.release(job);
    await liveness.stop();
    // Once stopped (its heartbeat gone), an unfinished leased job would be retried.
    await liveness.claim(job);
    expect(await new WorkerLiveness(queue, { heartbeatSec: 1, staleSec: 5 }).sweep()).toContain(job);
  });

  it("at boot, the embedded store's active jobs are retried at once", async () => {
    const job = await activeJob("live-boot");
    expect(await recoverEmbeddedJobs(queue)).toContain(job); // with the earlier tests' jobs still active
    expect(await stateOf(job)).toBe("retry");
    const { rows } = await db.query<{ n: number | string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state = 'active'", [RECORDING_QUEUE]);
    expect(Number(rows[0].n)).toBe(0);
  });
});
