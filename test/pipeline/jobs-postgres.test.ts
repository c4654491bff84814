/**
 * Scale-out on a real PostgreSQL 15 (Debian, started here on 127.0.0.1): the server process only
 * enqueues; two `worker-main.ts` processes (what `npm run worker` runs) share the queue. Every
 * call is processed by exactly one worker and delivered once; a worker killed with SIGKILL in the
 * middle of a job leaves it to the other, which finishes it within a minute (its heartbeat
 * stops; issue 7 item 15), not after the job timeout.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { crmRegistryFromConfig } from "../../src/server/crm/index";
import { RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { startTestPostgres, type TestPostgres } from "../support/postgres";
import { newSecret, readCorpus, RECORDINGS, REPO_ROOT, spawnTs, startCrmServer, startRecordingServer, waitFor, wordRecall } from "./jobs-support";

const dir = mkdtempSync(join(tmpdir(), "callscribe-scale-"));
const secret = newSecret();
let pg: TestPostgres;
let recordings: Awaited<ReturnType<typeof startRecordingServer>>;
let crm: Awaited<ReturnType<typeof startCrmServer>>;
let server: Pipeline;
let env: NodeJS.ProcessEnv;
const workers: ReturnType<typeof spawnTs>[] = [];

beforeAll(async () => {
  pg = await startTestPostgres();
  recordings = await startRecordingServer({ "short.wav": readCorpus(RECORDINGS.short.file), "long.wav": readCorpus(RECORDINGS.long.file) });
  crm = await startCrmServer(secret);
  env = {
    DATABASE_URL: await pg.createDatabase("callscribe_scale"),
    CALLSCRIBE_DATA_DIR: dir,
    CALLSCRIBE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    CALLSCRIBE_ALLOWED_HOSTS: recordings.host,
    CALLSCRIBE_CRM_URL: crm.url,
    CALLSCRIBE_WEBHOOK_SECRET: secret,
    CALLSCRIBE_WORKERS: "1",
    // The default job timeout (30 minutes): a dead worker's job is found by its missing heartbeat.
    CALLSCRIBE_JOB_TIMEOUT_SEC: "1800",
    CALLSCRIBE_WORKER_HEARTBEAT_SEC: "1",
    CALLSCRIBE_WORKER_STALE_SEC: "5",
    CALLSCRIBE_JOB_RETRY_DELAY_SEC: "1",
    CALLSCRIBE_QUEUE_POLL_SEC: "0.5",
    CALLSCRIBE_QUEUE_MAINTENANCE_SEC: "1",
  };
  // The server role with DATABASE_URL runs no workers: it only takes webhooks.
  const all = loadConfig(env, { role: "server" });
  const config = prepareDataDir(all.pipeline);
  server = await startPipeline({ config, crm: crmRegistryFromConfig(config), role: "server", queueOptions: all.queue });
  for (let i = 0; i < 2; i++) workers.push(spawnTs(join(REPO_ROOT, "src/server/pipeline/worker-main.ts"), env));
  await waitFor(() => workers.every((w) => w.lines.some((l) => l.msg === "worker ready")), 90_000, "two workers to be ready");
}, 180_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.exited));
  await server?.stop();
  await Promise.all([recordings?.close(), crm?.close()]);
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const startsOf = (callId: string) => workers.flatMap((w) => w.lines.filter((l) => l.msg === "call started" && l.call_id === callId).map((l) => l.pid as number));
const finished = (callId: string) => async () => {
  const c = await server.calls.getCall(callId);
  return c && (c.status === "done" || c.status === "failed") ? c : undefined;
};

describe("two worker processes on PostgreSQL", () => {
  it("share the queue with no duplicates: each call runs once and reaches the CRM once", async () => {
    expect(server.workers).toBe(0);
    const ids = ["pg-1", "pg-2", "pg-3", "pg-4"];
    for (const id of ids) expect((await server.enqueueRecording({ call_id: id, recording_url: recordings.url("short.wav") }, `msg_${id}`)).created).toBe(true);
    // A replayed webhook while the jobs run changes nothing.
    expect((await server.enqueueRecording({ call_id: "pg-1", recording_url: recordings.url("short.wav") }, "msg_pg-1")).created).toBe(false);
    const calls = await Promise.all(ids.map((id) => waitFor(finished(id), 120_000, `call ${id}`)));
    for (const c of calls) {
      expect(c.reason).toBeUndefined();
      expect(c.status).toBe("done");
      expect(Object.values(c.stages).map((s) => s.attempts)).toEqual([1, 1, 1, 1, 1]);
      expect(crm.accepted(c.call_id)).toBe(1);
      expect(startsOf(c.call_id)).toHaveLength(1);
      expect(wordRecall(c.transcript!.text, RECORDINGS.short.reference)).toBeGreaterThanOrEqual(0.5);
    }
    expect(crm.hits).toHaveLength(4);
    // Both processes took work.
    const pids = new Set(ids.flatMap(startsOf));
    expect(pids.size).toBe(2);
  }, 180_000);

  it("a worker killed with SIGKILL mid-job: the other worker finishes the call, delivered once", async () => {
    await server.enqueueRecording({ call_id: "pg-kill", recording_url: recordings.url("long.wav") }, "msg_pg-kill");
    const victim = await waitFor(
      () => workers.find((w) => w.lines.some((l) => l.msg === "stage started" && l.stage === "transcribe" && l.call_id === "pg-kill")),
      60_000,
      "a worker to start transcribing",
    );
    victim.child.kill("SIGKILL");
    const killedAt = Date.now();
    expect(await victim.exited).toBe(-1);
    const survivor = workers.find((w) => w !== victim)!;

    const call = await waitFor(finished("pg-kill"), 120_000, "the call to finish");
    // Retried once the victim's heartbeat was 5 s old, far inside the 1800 s job timeout.
    expect(Date.parse(call.stages.transcribe.startedAt!) - killedAt).toBeLessThan(60_000);
    expect(call.reason).toBeUndefined();
    expect(call.status).toBe("done");
    expect(call.stages.transcribe).toMatchObject({ status: "done", attempts: 2 });
    expect(call.stages.deliver).toMatchObject({ status: "done", attempts: 1 });
    // The call's row says done before the survivor's "call done" log line has come through its stdout pipe.
    expect(await waitFor(() => survivor.lines.some((l) => l.msg === "call done" && l.call_id === "pg-kill"), 15_000, "the survivor to log call done").catch(() => false)).toBe(true);
    expect(victim.lines.some((l) => l.msg === "call done" && l.call_id === "pg-kill")).toBe(false);
    expect(crm.hits.filter((h) => h.callId === "pg-kill").map((h) => h.accepted)).toEqual([true]);
    expect(wordRecall(call.transcript!.text, RECORDINGS.long.reference)).toBeGreaterThanOrEqual(0.5);
    // The worker records the call as done, then completes its pg-boss job: wait for the second step.
    const jobRows = async () =>
      (
        await server.db.query<{ state: string; retry_count: number }>(
          "SELECT state::text AS state, retry_count FROM pgboss.job WHERE name = $1 AND data->>'call_id' = 'pg-kill'",
          [RECORDING_QUEUE],
        )
      ).rows;
    const rows = await waitFor(async () => {
      const r = await jobRows();
      return r.every((j) => j.state === "completed") ? r : undefined;
    }, 15_000, "the pg-boss job to complete").catch(async () => jobRows());
    expect(rows).toEqual([{ state: "completed", retry_count: 1 }]);
  }, 180_000);
});
