/**
 * One recorded call end to end through the plugins as the server composes them — intake,
 * calls API, metrics — with the real pipeline (`startPipeline`: pg-boss on PGlite, the real
 * stages, PocketSphinx), a local recordings server (a stereo MP3 made from two real corpus
 * clips), and a local CRM endpoint. Every log line is captured: none may carry transcript text.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateContext } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { generateWebhookSecret, signWebhook } from "../../src/server/webhooks/signing";
import { PipelineMetrics, metricsObserver, metricsPlugin } from "../../src/server/observability/metrics";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { intakePlugin, RECORDING_READY_PATH } from "../../src/server/pipeline/intake";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { crmRegistryFromConfig } from "../../src/server/crm/index";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { encodeMp3 } from "../support/audio-encoders";
import { startCrmServer, type CrmServer } from "../support/crm-server";
import { buildStereoCall, loadCorpusWav, startRecordingsServer, type RecordingsServer } from "../support/recordings-server";

const API_KEY = "logs-test-api-key";
const secret = generateWebhookSecret();
const read = loadManifest("read_en");
const clip = (file: string) => read.find((e) => e.file === file)!;

const logLines: string[] = [];
let dir: string;
let app: FastifyInstance;
let pipeline: Pipeline;
let engine: SpeechEngine;
let recordings: RecordingsServer;
let crm: CrmServer;
let metrics: PipelineMetrics;
let finished: Record<string, any>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "callscribe-logs-"));
  recordings = await startRecordingsServer();
  const agent = await loadCorpusWav(clip("ljspeech/LJ001-0004.wav").path);
  const customer = await loadCorpusWav(clip("ljspeech/LJ001-0002.wav").path);
  const { audio } = buildStereoCall([
    { channel: 0, audio: agent },
    { channel: 1, audio: customer },
  ]);
  await recordings.addFile("call-logs.mp3", encodeMp3(audio));
  crm = await startCrmServer({ secret });

  const config = prepareDataDir(loadConfig({
    CALLSCRIBE_WEBHOOK_SECRET: secret,
    CALLSCRIBE_ALLOWED_HOSTS: recordings.host,
    CALLSCRIBE_DATA_DIR: dir,
    CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    CALLSCRIBE_CRM_URL: crm.url,
  }, { role: "server" }).pipeline);
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split("\n").filter((l) => l.length > 0));
      done();
    },
  });
  app = Fastify({ logger: { level: "debug", stream } });
  engine = createPocketSphinxEngine({ poolSize: 2 });
  metrics = new PipelineMetrics();
  pipeline = await startPipeline({
    config,
    role: "server",
    engine,
    crm: crmRegistryFromConfig(config),
    logger: app.log,
    observer: metricsObserver(metrics),
    queueOptions: { pollIntervalSec: 0.5, retryDelaySec: 1 },
  });
  await app.register(intakePlugin, { webhookSecret: config.webhookSecret, enqueue: (r, id) => pipeline.enqueueRecording(r, id), metrics });
  await app.register(callsApiPlugin, { getCall: (id) => pipeline.calls.getCall(id), listCalls: (q) => pipeline.calls.listCalls(q), apiKey: API_KEY });
  await app.register(metricsPlugin, { metrics, queueDepth: () => pipeline.queue.depth() });
  await app.ready();

  const body = JSON.stringify({
    call_id: "call-logs-1",
    recording_url: recordings.fileUrl("call-logs.mp3"),
    participants: [
      { name: "Dana Agent", role: "agent" },
      { name: "Chris Customer", role: "customer" },
    ],
    direction: "inbound",
  });
  const res = await app.inject({
    method: "POST",
    url: RECORDING_READY_PATH,
    headers: { ...signWebhook(secret, "msg_logs_1", new Date(), body), "content-type": "application/json" },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(202);

  const deadline = Date.now() + 150_000;
  for (;;) {
    const call = (await app.inject({ url: "/v1/calls/call-logs-1", headers: { authorization: `Token ${API_KEY}` } })).json();
    if (call.status === "done" || call.status === "failed") {
      finished = call;
      break;
    }
    if (Date.now() > deadline) throw new Error(`call not finished: ${JSON.stringify(call)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 200_000);

afterAll(async () => {
  await pipeline?.stop(5000);
  await app?.close();
  await engine?.close();
  await recordings?.close();
  await crm?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a recorded call through intake, pipeline and the calls API", () => {
  it("ends done with every stage timed, a valid transcript per channel, and a CRM delivery", () => {
    expect(finished.status, JSON.stringify(finished.stages)).toBe("done");
    for (const stage of ["download", "decode", "transcribe", "analyze", "deliver"]) {
      expect(finished.stages[stage]).toMatchObject({ status: "done", attempts: 1 });
      expect(finished.stages[stage].durationSec).toBeGreaterThanOrEqual(0);
    }
    expect(validateContext(finished.transcript).valid).toBe(true);
    expect(new Set(finished.transcript.segments.map((s: { channel: number }) => s.channel))).toEqual(new Set([0, 1]));
    expect(finished.transcript.summary.length).toBeGreaterThan(0);
    expect(crm.attempts.filter((a) => a.verified && a.status < 300)).toHaveLength(1);
  });

  it("never writes transcript text into the logs", () => {
    const text: string = finished.transcript.text;
    const spoken = new Set<string>(
      (finished.transcript.segments as { text: string }[]).flatMap((s) => s.text.toLowerCase().split(/\s+/)).filter((w) => w.length >= 5),
    );
    // The check must be able to fail: there are words to look for, and the logs saw the whole call.
    expect(spoken.size).toBeGreaterThanOrEqual(4);
    const logs = logLines.join("\n").toLowerCase();
    expect(logs).toContain("call-logs-1");
    expect(logLines.some((l) => l.includes('"msg":"call done"'))).toBe(true);
    expect(logLines.every((l) => typeof JSON.parse(l).level === "number")).toBe(true);
    const leaked = [...spoken].filter((w) => new RegExp(`\\b${w.replace(/[^a-z0-9']/g, "")}\\b`).test(logs));
    expect(leaked).toEqual([]);
    expect(logs).not.toContain(text.toLowerCase().slice(0, 30));
  });

  it("counts the stages, the finished call and the webhook in /metrics", async () => {
    const res = await app.inject({ url: "/metrics" });
    expect(res.body).toMatch(/^callscribe_stage_duration_seconds_count\{stage="transcribe"\} 1$/m);
    expect(res.body).toMatch(/^callscribe_calls_finished_total\{outcome="done"\} 1$/m);
    expect(res.body).toMatch(/^callscribe_webhooks_total\{outcome="accepted",reason="ok"\} 1$/m);
    expect(res.body).toMatch(/^callscribe_queue_depth\{state="completed"\} 1$/m);
  });
});
