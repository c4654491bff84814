/**
 * Issue 7 item 13: the queue drains as fast as the jobs run, not one job per polling interval.
 * Real pg-boss on real PGlite; the stages are fakes (named so) that fail at once with a permanent
 * error, so each job takes milliseconds and what is measured is the queue alone. With pg-boss's
 * loop as it was (one job per `pollIntervalSec` = 2 s per worker) 200 jobs on one worker take
 * ~400 s; the bound below (60 s, > 3 jobs/s) leaves a wide margin for a loaded machine.
 * Also: the backlog against CALLSCRIBE_QUEUE_ALERT_DEPTH shows in /metrics and in the intake's 202.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, describe, expect, it } from "vitest";
import { metricsPlugin, PipelineMetrics } from "../../src/server/observability/metrics";
import { intakePlugin } from "../../src/server/pipeline/intake";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import type { PipelineStages } from "../../src/server/pipeline/run-call";
import { StageError } from "../../src/server/pipeline/stages/errors";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { signWebhook } from "../../src/server/webhooks/signing";
import { newSecret, testConfig, waitFor } from "./jobs-support";

const dirs: string[] = [];
let pipeline: Pipeline | undefined;

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Fake stages: every download fails at once, permanently (the job goes to the dead-letter queue). */
const failingStages = {
  downloadRecording: async () => {
    throw new StageError("fake stage: refused at once", { retryable: false, stage: "download" });
  },
} as unknown as PipelineStages;
/** Never called: the fake download fails first. */
const unusedEngine = {} as SpeechEngine;

describe("queue throughput (real pg-boss on PGlite)", () => {
  it("200 jobs that fail fast drain at far more than one per polling interval, on one worker", async () => {
    const dir = mkdtempSync(join(tmpdir(), "callscribe-drain-"));
    dirs.push(dir);
    const N = 200;
    // Enqueue everything first (no workers), then measure the drain alone.
    const config = testConfig({ dataDir: dir, allowedHosts: ["127.0.0.1"] });
    const producer = await startPipeline({ config, role: "server", workers: 0, queueOptions: { pollIntervalSec: 2 } });
    for (let i = 0; i < N; i++) await producer.enqueueRecording({ call_id: `drain-${i}`, recording_url: `http://127.0.0.1:9/${i}.wav` }, `msg_drain_${i}`);
    expect((await producer.backlog()).waiting).toBe(N);
    await producer.stop();

    const started = Date.now();
    // The pg-boss default polling interval (2 s) on purpose: throughput must not depend on it.
    pipeline = await startPipeline({ config, role: "server", workers: 1, engine: unusedEngine, stages: failingStages, queueOptions: { pollIntervalSec: 2, retryLimit: 0 } });
    const p = pipeline;
    await waitFor(async () => (await p.calls.countByStatus()).failed === N, 90_000, `${N} calls to fail`);
    const seconds = (Date.now() - started) / 1000;
    console.log(`drained ${N} fast-failing jobs on 1 worker in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(1)} jobs/s)`);
    expect(seconds).toBeLessThan(60);
    expect((await p.queue.depth()).deadLetters).toBe(N);
  }, 180_000);

  it("a new job is taken at once by an idle worker, not at the next poll", async () => {
    const dir = mkdtempSync(join(tmpdir(), "callscribe-wake-"));
    dirs.push(dir);
    pipeline = await startPipeline({ config: testConfig({ dataDir: dir }), role: "server", workers: 1, engine: unusedEngine, stages: failingStages, queueOptions: { pollIntervalSec: 30, retryLimit: 0 } });
    const p = pipeline;
    // Let the loop's first (empty) fetch pass, so it sits in its 30 s wait.
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    await p.enqueueRecording({ call_id: "wake-1", recording_url: "http://127.0.0.1:9/x.wav" }, "msg_wake_1");
    await waitFor(async () => (await p.calls.getCall("wake-1"))?.status === "failed", 20_000, "the job to run");
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);

  it("says when the queue is far behind: callscribe_queue_behind in /metrics and behind: true in the intake's 202", async () => {
    const dir = mkdtempSync(join(tmpdir(), "callscribe-behind-"));
    dirs.push(dir);
    const secret = newSecret();
    pipeline = await startPipeline({ config: testConfig({ dataDir: dir, queueAlertDepth: 3, webhookSecret: secret }), role: "server", workers: 0 });
    const p = pipeline;
    const metrics = new PipelineMetrics();
    const app = Fastify();
    await app.register(intakePlugin, { webhookSecret: secret, enqueue: (r, id) => p.enqueueRecording(r, id), backlog: () => p.backlog(), metrics });
    await app.register(metricsPlugin, { metrics, queueDepth: () => p.queue.depth(), backlog: () => p.backlog() });
    const behindGauge = async () => {
      const families = parsePrometheusTextFormat((await app.inject({ url: "/metrics" })).body);
      const value = (name: string) => Number(families.find((f) => f.name === name)!.metrics[0].value);
      return { behind: value("callscribe_queue_behind"), alertDepth: value("callscribe_queue_alert_depth") };
    };
    const post = (i: number) => {
      const body = JSON.stringify({ call_id: `behind-${i}`, recording_url: `http://127.0.0.1:9/${i}.wav` });
      return app.inject({ method: "POST", url: "/v1/webhooks/recording-ready", headers: { "content-type": "application/json", ...signWebhook(secret, `msg_behind_${i}`, new Date(), body) }, payload: body });
    };
    expect(await behindGauge()).toEqual({ behind: 0, alertDepth: 3 });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push((await post(i)).json());
      await new Promise((r) => setTimeout(r, 1100)); // past the backlog's one-second cache
    }
    expect(answers[0]).toEqual({ call_id: "behind-0", status: "queued" });
    expect(answers[3]).toEqual({ call_id: "behind-3", status: "queued", behind: true, waiting: 4 });
    expect(await behindGauge()).toEqual({ behind: 1, alertDepth: 3 });
    await app.close();
  }, 60_000);
});
