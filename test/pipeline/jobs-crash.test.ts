/**
 * `kill -9` of the embedded server (PGlite, workers in-process) in the middle of transcription:
 * after a restart on the same data dir the job is retried at once (it was active at boot, so its
 * worker died: issue 7 item 15), not after the 30-minute job timeout; the stages already done are
 * skipped, and the call ends `done`, delivered to the CRM once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { crmRegistryFromConfig } from "../../src/server/crm/index";
import { RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { newSecret, readCorpus, RECORDINGS, REPO_ROOT, spawnTs, startCrmServer, startRecordingServer, waitFor, wordRecall } from "./jobs-support";

const dir = mkdtempSync(join(tmpdir(), "callscribe-crash-"));
const secret = newSecret();
const engine = createPocketSphinxEngine({ poolSize: 1 });
let recordings: Awaited<ReturnType<typeof startRecordingServer>>;
let crm: Awaited<ReturnType<typeof startCrmServer>>;
let pipeline: Pipeline | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  recordings = await startRecordingServer({ "long.wav": readCorpus(RECORDINGS.long.file) });
  crm = await startCrmServer(secret);
  env = {
    CALLSCRIBE_DATA_DIR: dir,
    CALLSCRIBE_ENCRYPTION_KEY: "ab".repeat(32),
    CALLSCRIBE_ALLOWED_HOSTS: recordings.host,
    CALLSCRIBE_CRM_URL: crm.url,
    CALLSCRIBE_WEBHOOK_SECRET: secret,
    // The default job timeout (30 minutes): recovery must not wait for it.
    CALLSCRIBE_JOB_TIMEOUT_SEC: "1800",
    CALLSCRIBE_JOB_RETRY_DELAY_SEC: "1",
    CALLSCRIBE_QUEUE_POLL_SEC: "0.5",
    CALLSCRIBE_QUEUE_MAINTENANCE_SEC: "1",
  };
});

afterAll(async () => {
  await pipeline?.stop();
  await engine.close();
  await Promise.all([recordings?.close(), crm?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("kill -9 of the embedded server mid-job (PGlite)", () => {
  it("resumes after a restart: done once, finished stages not redone", async () => {
    const child = spawnTs(join(REPO_ROOT, "test/pipeline/jobs-embedded-child.ts"), { ...env, CHILD_CALL_ID: "crash-1", CHILD_RECORDING_URL: recordings.url("long.wav") });
    try {
      await waitFor(() => child.lines.some((l) => l.msg === "stage started" && l.stage === "transcribe"), 60_000, `the child to start transcribing (stderr: ${child.stderr()})`);
    } finally {
      child.child.kill("SIGKILL");
    }
    expect(await child.exited).toBe(-1);
    expect(crm.hits).toHaveLength(0);

    const killedAt = Date.now();
    const all = loadConfig(env, { role: "server" });
    const config = prepareDataDir(all.pipeline);
    pipeline = await startPipeline({ engine, config, crm: crmRegistryFromConfig(config), role: "server", queueOptions: all.queue });
    const atRestart = await pipeline.calls.getCall("crash-1");
    expect(atRestart).toMatchObject({ status: "transcribing", stages: { download: { status: "done" }, decode: { status: "done" }, transcribe: { status: "running", attempts: 1 } } });

    const call = await waitFor(async () => {
      const c = await pipeline!.calls.getCall("crash-1");
      return c?.status === "done" || c?.status === "failed" ? c : undefined;
    }, 150_000, "the call to finish after the restart");
    expect(call.reason).toBeUndefined();
    expect(call.status).toBe("done");
    // Retried within a minute of the kill, far inside the 1800 s job timeout.
    expect(Date.parse(call.stages.transcribe.startedAt!)).toBeGreaterThan(Date.parse(atRestart!.stages.transcribe.startedAt!));
    // The retry started within a minute of the kill (the whole call may take longer on a loaded machine).
    expect(Date.parse(call.stages.transcribe.startedAt!) - killedAt).toBeLessThan(60_000);
    expect(call.stages.download).toMatchObject({ status: "done", attempts: 1 });
    expect(call.stages.decode).toMatchObject({ status: "done", attempts: 1 });
    expect(call.stages.transcribe).toMatchObject({ status: "done", attempts: 2 });
    expect(call.stages.deliver).toMatchObject({ status: "done", attempts: 1 });
    expect(recordings.requests).toEqual(["long.wav"]); // the recording was not downloaded again
    expect(crm.hits.map((h) => [h.callId, h.accepted])).toEqual([["crash-1", true]]);
    expect(wordRecall(call.transcript!.text, RECORDINGS.long.reference)).toBeGreaterThanOrEqual(0.5);
    const job = (await pipeline.db.query<{ state: string; retry_count: number }>("SELECT state::text AS state, retry_count FROM pgboss.job WHERE name = $1", [RECORDING_QUEUE])).rows;
    expect(job).toEqual([{ state: "completed", retry_count: 1 }]);
  }, 240_000);
});
