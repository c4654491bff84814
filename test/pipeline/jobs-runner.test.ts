/**
 * The job runner on real PGlite with the real stages, the real PocketSphinx engine and real corpus
 * recordings served over local HTTP: retries with backoff (CRM fails twice), permanent errors
 * straight to the dead-letter queue with the reason (corrupt audio, a host not allowed), and
 * retries running out.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenericJsonConnector } from "../../src/server/crm/generic-json";
import { readEncryptedFile, createAtRestCipher } from "../../src/server/store/crypto";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { crmRegistryFromConfig } from "../../src/server/crm/index";
import { RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { audioAad } from "../../src/server/pipeline/run-call";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { newSecret, readCorpus, RECORDINGS, startCrmServer, startRecordingServer, testConfig, waitFor, wordRecall } from "./jobs-support";

const dir = mkdtempSync(join(tmpdir(), "callscribe-jobs-"));
const secret = newSecret();
const engine = createPocketSphinxEngine({ poolSize: 1 });
let recordings: Awaited<ReturnType<typeof startRecordingServer>>;
let crm: Awaited<ReturnType<typeof startCrmServer>>;
let downCrm: Awaited<ReturnType<typeof startCrmServer>>;
let pipeline: Pipeline;
const config = testConfig({ dataDir: dir });

beforeAll(async () => {
  recordings = await startRecordingServer({
    "short.wav": readCorpus(RECORDINGS.short.file),
    // Random bytes behind a .wav name: no decoder can read them.
    "corrupt.wav": randomBytes(48_000),
  });
  crm = await startCrmServer(secret, { failFirst: 2 });
  downCrm = await startCrmServer(secret, { failAlways: true });
  Object.assign(config, { allowedHosts: [recordings.host], crmUrl: crm.url, webhookSecret: secret });
  pipeline = await startPipeline({
    engine,
    config,
    role: "server",
    workers: 2,
    queueOptions: { retryLimit: 2, retryDelaySec: 1, pollIntervalSec: 0.5, maintenanceIntervalSec: 5, jobTimeoutSec: 120 },
    crm: { connectors: new Map([...crmRegistryFromConfig(config)!.connectors, ["down", new GenericJsonConnector({ url: downCrm.url, secret, name: "down" })]]), defaultName: "generic-json" },
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await engine.close();
  await Promise.all([recordings?.close(), crm?.close(), downCrm?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const jobRow = async (callId: string) =>
  (await pipeline.db.query<{ state: string; retry_count: number; output: { message?: string } | null }>(
    "SELECT state::text AS state, retry_count, output FROM pgboss.job WHERE name = $1 AND data->>'call_id' = $2",
    [RECORDING_QUEUE, callId],
  )).rows[0];
const finished = (callId: string) => async () => {
  const c = await pipeline.calls.getCall(callId);
  return c && (c.status === "done" || c.status === "failed") ? c : undefined;
};

describe("job runner (PGlite, real stages and engine)", () => {
  it("runs every stage, encrypts the recording, and retries the CRM with exponential backoff until it accepts", async () => {
    const res = await pipeline.enqueueRecording({ call_id: "ok-1", recording_url: recordings.url("short.wav"), direction: "inbound" }, "msg_ok1");
    expect(res.created).toBe(true);
    const call = await waitFor(finished("ok-1"), 90_000, "call ok-1 to finish");
    expect(call.reason).toBeUndefined();
    expect(call.status).toBe("done");

    // Each stage ran once, except delivery: two 503s, then 200.
    expect(Object.fromEntries(Object.entries(call.stages).map(([k, v]) => [k, [v.status, v.attempts]]))).toEqual({
      download: ["done", 1],
      decode: ["done", 1],
      transcribe: ["done", 1],
      analyze: ["done", 1],
      deliver: ["done", 3],
    });
    for (const s of Object.values(call.stages)) {
      expect(s.durationSec).toBeGreaterThanOrEqual(0);
      expect(Date.parse(s.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt!));
    }
    const hits = crm.hits.filter((h) => h.callId === "ok-1");
    expect(hits.map((h) => h.accepted)).toEqual([false, false, true]);
    // pg-boss backoff with retryDelay 1 s: the n-th retry waits in [2^n, 2^(n+1)) s (n = 0, 1).
    expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(1000);
    expect(hits[2].at - hits[1].at).toBeGreaterThanOrEqual(2000);
    expect((await jobRow("ok-1")).state).toBe("completed");

    // The transcript is real speech recognition of the corpus file, returned with the analysis.
    expect(call.transcript?.type).toBe("fdc3.transcript");
    expect(call.transcript?.source).toBe("recording");
    expect(wordRecall(call.transcript!.text, RECORDINGS.short.reference)).toBeGreaterThanOrEqual(0.5);
    expect(typeof call.transcript!.summary).toBe("string");
    expect(config.topics).toContain(call.transcript!.topics![0]);
    expect(hits[2].payload.transcript.text).toBe(call.transcript!.text);

    // At rest: only the encrypted recording is left, and it opens with the key.
    const files = readdirSync(join(dir, "recordings"));
    expect(files).toEqual([`${res.jobId}.enc`]);
    const enc = readFileSync(join(dir, "recordings", files[0]));
    expect(enc.subarray(0, 4).toString("latin1")).not.toBe("RIFF");
    const plain = await readEncryptedFile(createAtRestCipher(config.encryptionKey), join(dir, "recordings", files[0]), audioAad("ok-1"));
    expect(plain.equals(readCorpus(RECORDINGS.short.file))).toBe(true);
  }, 120_000);

  it("corrupt audio fails at once (no retry) and lands in the dead-letter queue with the reason", async () => {
    await pipeline.enqueueRecording({ call_id: "corrupt-1", recording_url: recordings.url("corrupt.wav") }, "msg_c1");
    const call = await waitFor(finished("corrupt-1"), 30_000, "call corrupt-1 to finish");
    expect(call.status).toBe("failed");
    expect(call.reason).toMatch(/^decode: /);
    expect(call.stages.download.status).toBe("done");
    expect(call.stages.decode).toMatchObject({ status: "failed", attempts: 1 });
    expect(call.stages.transcribe.status).toBe("pending");
    const job = await jobRow("corrupt-1");
    expect(job).toMatchObject({ state: "failed", retry_count: 0 });
    const dead = await waitFor(async () => (await pipeline.queue.deadLetters()).find((d) => d.call_id === "corrupt-1"), 10_000, "dead letter");
    expect(`decode: ${dead.reason}`).toBe(call.reason);
    expect(dead.stage).toBe("decode");
  }, 120_000);

  it("a recording on a host that is not allowed is refused without a request, straight to the dead-letter queue", async () => {
    const before = recordings.requests.length;
    await pipeline.enqueueRecording({ call_id: "ssrf-1", recording_url: "http://169.254.169.254/latest/meta-data" }, "msg_s1");
    const call = await waitFor(finished("ssrf-1"), 30_000, "call ssrf-1 to finish");
    expect(call).toMatchObject({ status: "failed", stages: { download: { status: "failed", attempts: 1 } } });
    expect(call.reason).toMatch(/^download: .*(not allowed|allow)/i);
    expect(recordings.requests.length).toBe(before);
    expect(await jobRow("ssrf-1")).toMatchObject({ state: "failed", retry_count: 0 });
    expect((await pipeline.queue.deadLetters()).some((d) => d.call_id === "ssrf-1" && /allow/i.test(d.reason))).toBe(true);
  }, 120_000);

  it("when the retries run out the call fails with the reason and the job is dead-lettered; earlier stages are not redone", async () => {
    await pipeline.enqueueRecording({ call_id: "down-1", recording_url: recordings.url("short.wav"), crm: "down" }, "msg_d1");
    const call = await waitFor(finished("down-1"), 90_000, "call down-1 to finish");
    expect(call.status).toBe("failed");
    expect(call.reason).toMatch(/^deliver: .*503/);
    expect(call.stages.transcribe).toMatchObject({ status: "done", attempts: 1 });
    expect(call.stages.deliver).toMatchObject({ status: "failed", attempts: 3 });
    expect(downCrm.hits.filter((h) => h.callId === "down-1")).toHaveLength(3);
    expect(await jobRow("down-1")).toMatchObject({ state: "failed", retry_count: 2 });
    const dead = await waitFor(async () => (await pipeline.queue.deadLetters()).find((d) => d.call_id === "down-1"), 10_000, "dead letter");
    expect(dead.reason).toMatch(/503/);
  }, 120_000);

  it("no plaintext download is left behind", () => {
    expect(readdirSync(join(dir, "recordings")).filter((f) => !f.endsWith(".enc"))).toEqual([]);
    expect(existsSync(join(dir, "pglite"))).toBe(true);
  });
});
