/**
 * `npm run worker` chooses its engine as the server does (issue 7 item 25): CALLSCRIBE_DEFAULT_MODEL
 * over the models in CALLSCRIBE_MODELS_DIR (and Deepgram with DEEPGRAM_API_KEY), not a fixed
 * PocketSphinx. A real PostgreSQL 15, a real `worker-main.ts` process, a real corpus recording
 * downloaded and transcribed by whisper.cpp with its test model (`../shared/models/whisper-for-tests`:
 * no weights, so the transcript is empty; its `provider` says which engine ran). A model that is not
 * available stops the worker at boot with exit 2 and the list of available models.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { startTestPostgres, type TestPostgres } from "../support/postgres";
import { newSecret, readCorpus, RECORDINGS, REPO_ROOT, spawnTs, startCrmServer, startRecordingServer, waitFor } from "./jobs-support";

const TEST_MODELS = resolve(corpusDir(), "..", "models", "whisper-for-tests");
const WORKER = join(REPO_ROOT, "src/server/pipeline/worker-main.ts");
const dir = mkdtempSync(join(tmpdir(), "callscribe-worker-engine-"));
const secret = newSecret();
let pg: TestPostgres;
let recordings: Awaited<ReturnType<typeof startRecordingServer>>;
let crm: Awaited<ReturnType<typeof startCrmServer>>;
let server: Pipeline;
let env: NodeJS.ProcessEnv;
const workers: ReturnType<typeof spawnTs>[] = [];

beforeAll(async () => {
  pg = await startTestPostgres();
  recordings = await startRecordingServer({ "short.wav": readCorpus(RECORDINGS.short.file) });
  crm = await startCrmServer(secret);
  env = {
    DATABASE_URL: await pg.createDatabase("callscribe_worker_engine"),
    CALLSCRIBE_DATA_DIR: dir,
    CALLSCRIBE_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"),
    CALLSCRIBE_ALLOWED_HOSTS: recordings.host,
    CALLSCRIBE_CRM_URL: crm.url,
    CALLSCRIBE_WEBHOOK_SECRET: secret,
    CALLSCRIBE_WORKERS: "1",
    CALLSCRIBE_JOB_RETRY_DELAY_SEC: "1",
    CALLSCRIBE_QUEUE_POLL_SEC: "0.5",
    CALLSCRIBE_QUEUE_MAINTENANCE_SEC: "1",
    // The engine variables, all set here so the runner's own environment cannot choose.
    CALLSCRIBE_MODELS_DIR: TEST_MODELS,
    CALLSCRIBE_DEFAULT_MODEL: "",
    DEEPGRAM_API_KEY: "",
  };
  const all = loadConfig(env, { role: "server" });
  server = await startPipeline({ config: prepareDataDir(all.pipeline), role: "server", queueOptions: all.queue });
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.exited));
  await server?.stop();
  await Promise.all([recordings?.close(), crm?.close()]);
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("npm run worker: engine choice", () => {
  it("CALLSCRIBE_DEFAULT_MODEL=whisper-tiny.en: the worker says so at boot and its calls are transcribed by Whisper", async () => {
    const w = spawnTs(WORKER, { ...env, CALLSCRIBE_DEFAULT_MODEL: "whisper-tiny.en" });
    workers.push(w);
    await waitFor(() => w.lines.some((l) => l.msg === "worker ready") || w.child.exitCode !== null, 90_000, "the worker to be ready");
    expect(w.child.exitCode, w.stderr()).toBeNull();
    expect(w.lines.find((l) => l.msg === "speech engine")).toMatchObject({ model: "whisper-tiny.en", provider: "whisper" });

    await server.enqueueRecording({ call_id: "whisper-1", recording_url: recordings.url("short.wav") }, "msg_whisper-1");
    const call = await waitFor(async () => {
      const c = await server.calls.getCall("whisper-1");
      return c && (c.status === "done" || c.status === "failed") ? c : undefined;
    }, 120_000, "the call to finish");
    expect(call.reason).toBeUndefined();
    expect(call.status).toBe("done");
    expect(call.transcript?.provider).toEqual({ name: "whisper", model: "whisper-tiny.en" });
    expect(crm.hits.find((h) => h.callId === "whisper-1")?.payload.transcript.provider).toEqual({ name: "whisper", model: "whisper-tiny.en" });
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  }, 240_000);

  it("a model that is not available stops the worker at boot: exit 2, the variable and the available models", async () => {
    const w = spawnTs(WORKER, { ...env, CALLSCRIBE_DEFAULT_MODEL: "whisper-large-v9" });
    workers.push(w);
    // The old worker ignored the variable and started: bound the wait instead of hanging.
    const outcome = await Promise.race([w.exited, waitFor(() => w.lines.some((l) => l.msg === "worker ready"), 90_000, "exit or ready").then(() => "started")]);
    expect(outcome, w.stderr()).toBe(2);
    expect(w.stderr()).toContain('Invalid environment variable CALLSCRIBE_DEFAULT_MODEL="whisper-large-v9"');
    expect(w.stderr()).toMatch(/available: .*whisper-tiny\.en/);
    expect(w.stderr()).toContain("pocketsphinx-en-us");
    expect(w.lines.some((l) => l.msg === "speech engine")).toBe(false);
  }, 120_000);
});
