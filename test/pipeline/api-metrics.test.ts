import Fastify from "fastify";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { PipelineMetrics, metricsPlugin } from "../../src/server/observability/metrics";

describe("metrics plugin", () => {
  it("serves parseable Prometheus text with queue depth, stage durations, failures and webhooks", async () => {
    const metrics = new PipelineMetrics();
    let depth: Record<string, number> = { queued: 3, active: 1, deadLetters: 2 };
    const app = Fastify();
    await app.register(metricsPlugin, { metrics, queueDepth: async () => depth });
    metrics.observeStage("transcribe", 2.4);
    metrics.observeStage("transcribe", 0.3);
    metrics.observeStage("not-a-stage", 1);
    metrics.countFailure("download", "HTTP 5xx!");
    metrics.countFailure("download", "HTTP 5xx!");
    metrics.countWebhook("accepted");
    metrics.countWebhook("rejected", "bad_signature");

    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheusTextFormat(res.body).map((f) => [f.name, f]));

    const queue = families.get("callscribe_queue_depth")!;
    expect(queue.type).toBe("GAUGE");
    expect(Object.fromEntries(queue.metrics.map((m) => [m.labels!.state, Number(m.value)]))).toEqual({ queued: 3, active: 1, dead_letters: 2 });

    const stages = families.get("callscribe_stage_duration_seconds")!;
    expect(stages.type).toBe("HISTOGRAM");
    // The parser folds labelled histograms into one series, so read the samples from the text itself.
    const sample = (line: string) => Number(new RegExp(`^${line.replace(/[{}"+.]/g, "\\$&")} (\\S+)$`, "m").exec(res.body)?.[1]);
    expect(sample('callscribe_stage_duration_seconds_count{stage="transcribe"}')).toBe(2);
    expect(sample('callscribe_stage_duration_seconds_sum{stage="transcribe"}')).toBeCloseTo(2.7, 6);
    expect(sample('callscribe_stage_duration_seconds_bucket{le="0.5",stage="transcribe"}')).toBe(1);
    expect(sample('callscribe_stage_duration_seconds_bucket{le="2.5",stage="transcribe"}')).toBe(2);
    expect(sample('callscribe_stage_duration_seconds_count{stage="other"}')).toBe(1);
    expect(sample('callscribe_stage_duration_seconds_count{stage="decode"}')).toBeNaN();

    const failures = families.get("callscribe_stage_failures_total")!;
    expect(failures.metrics).toEqual([{ labels: { stage: "download", kind: "http_5xx_" }, value: "2" }]);

    const hooks = families.get("callscribe_webhooks_total")!;
    const byOutcome = Object.fromEntries(hooks.metrics.map((m) => [`${m.labels!.outcome}/${m.labels!.reason}`, Number(m.value)]));
    expect(byOutcome).toEqual({ "accepted/ok": 1, "rejected/bad_signature": 1 });

    // The gauge is read at scrape time, and a failing source does not break the scrape.
    depth = { queued: 0 };
    const again = parsePrometheusTextFormat((await app.inject({ url: "/metrics" })).body);
    expect(again.find((f) => f.name === "callscribe_queue_depth")!.metrics).toEqual([{ labels: { state: "queued" }, value: "0" }]);
    metrics.setQueueDepthSource(() => {
      throw new Error("database unreachable");
    });
    const broken = await app.inject({ url: "/metrics" });
    expect(broken.statusCode).toBe(200);
    const brokenFamilies = parsePrometheusTextFormat(broken.body);
    expect(brokenFamilies.find((f) => f.name === "callscribe_metrics_collect_errors_total")!.metrics[0].value).toBe("1");
    await app.close();
  });
});
