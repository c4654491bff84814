/**
 * Prometheus metrics of the recorded-call pipeline (DESIGN §9), with `prom-client`, served as
 * text exposition format 0.0.4 at `GET /metrics` by {@link metricsPlugin}.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `callscribe_queue_depth` | gauge, read from a callback at scrape time | `state` (e.g. queued, active, retry, failed) |
 * | `callscribe_stage_duration_seconds` | histogram | `stage` (download, decode, transcribe, analyze, deliver) |
 * | `callscribe_stage_failures_total` | counter | `stage`, `kind` (a reason class such as timeout, http_4xx, decode) |
 * | `callscribe_queue_behind` | gauge: 1 when the waiting jobs reach the alert depth (CALLSCRIBE_QUEUE_ALERT_DEPTH), else 0 | |
| `callscribe_queue_alert_depth` | gauge: that threshold, in jobs | |
| `callscribe_webhooks_total` | counter | `outcome` (accepted, duplicate, rejected), `reason` |
 * | `callscribe_calls_finished_total` | counter | `outcome` (done, failed) |
 * | `callscribe_process_*`, `callscribe_nodejs_*` | prom-client's default process metrics | |
 *
 * The job runner feeds them through {@link metricsObserver} (its `PipelineObserver`), or calls
 * {@link observeStage} and {@link countFailure} (module-level, on the process-wide {@link pipelineMetrics}). Label values are bounded (unknown stages become `other`,
 * kinds are reduced to `[a-z0-9_]`) so a bad caller cannot explode the series count.
 * Metrics are per process: a separate `npm run worker` process counts its own stages.
 */
import type { FastifyPluginAsync } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { STAGES } from "../store/model";

/** Jobs per state (an object of counts, e.g. `JobQueue.depth()`), or one total (reported as state `queued`). */
export type QueueDepth = number | object;
/** Reads the queue depth at scrape time (e.g. pg-boss `getQueueSize`). */
export type QueueDepthSource = () => QueueDepth | Promise<QueueDepth>;

/** Waiting jobs against the alert threshold (the pipeline's `backlog()`). */
export interface QueueBacklogReading {
  waiting: number;
  alertDepth: number;
  behind: boolean;
}
/** Reads the backlog at scrape time. */
export type QueueBacklogSource = () => QueueBacklogReading | Promise<QueueBacklogReading>;

/** Outcome of one webhook request. */
export type WebhookOutcome = "accepted" | "duplicate" | "rejected";

/** Stage-duration buckets, seconds: downloads and analysis take tenths, transcription of long calls minutes. */
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

const stageLabel = (stage: string): string => ((STAGES as readonly string[]).includes(stage) ? stage : "other");
const classLabel = (kind: string): string => {
  const k = String(kind)
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .slice(0, 32);
  return /^[a-z0-9_]+$/.test(k) ? k : "other";
};

/** One set of pipeline metrics on its own registry (tests make their own; the server uses {@link pipelineMetrics}). */
export class PipelineMetrics {
  /** The registry to expose; `registry.metrics()` renders the text format. */
  readonly registry = new Registry();
  private queueDepthSource: QueueDepthSource | undefined;
  private backlogSource: QueueBacklogSource | undefined;
  private readonly stageDuration: Histogram<"stage">;
  private readonly failures: Counter<"stage" | "kind">;
  private readonly webhooks: Counter<"outcome" | "reason">;
  private readonly collectErrors: Counter<"metric">;
  private readonly callsFinished: Counter<"outcome">;

  /** @param options.defaultMetrics also register prom-client's process metrics (CPU, memory, event loop) */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: "callscribe_queue_depth",
      help: "Pipeline jobs in the durable queue, by state, read at scrape time.",
      labelNames: ["state"],
      registers,
      async collect() {
        this.reset();
        if (!self.queueDepthSource) return;
        try {
          const depth = await self.queueDepthSource();
          if (typeof depth === "number") this.set({ state: "queued" }, depth);
          else
            for (const [state, n] of Object.entries(depth)) {
              if (typeof n === "number" && Number.isFinite(n)) this.set({ state: classLabel(state.replace(/([a-z])([A-Z])/g, "$1_$2")) }, n);
            }
        } catch {
          // A scrape must not fail because the database is briefly unreachable; the gap shows as absent series.
          self.collectErrors.inc({ metric: "callscribe_queue_depth" });
        }
      },
    });
    const readBacklog = async (gauge: Gauge, pick: (b: QueueBacklogReading) => number) => {
      gauge.reset();
      if (!self.backlogSource) return;
      try {
        gauge.set(pick(await self.backlogSource()));
      } catch {
        self.collectErrors.inc({ metric: "callscribe_queue_behind" });
      }
    };
    new Gauge({
      name: "callscribe_queue_behind",
      help: "1 when the jobs waiting in the queue reach the alert depth (CALLSCRIBE_QUEUE_ALERT_DEPTH), else 0.",
      registers,
      async collect() {
        await readBacklog(this, (b) => (b.behind ? 1 : 0));
      },
    });
    new Gauge({
      name: "callscribe_queue_alert_depth",
      help: "Waiting jobs at which the queue counts as far behind (CALLSCRIBE_QUEUE_ALERT_DEPTH).",
      registers,
      async collect() {
        await readBacklog(this, (b) => b.alertDepth);
      },
    });
    this.stageDuration = new Histogram({
      name: "callscribe_stage_duration_seconds",
      help: "Time one pipeline stage took for one recording, seconds.",
      labelNames: ["stage"],
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.failures = new Counter({
      name: "callscribe_stage_failures_total",
      help: "Failed stage attempts, by stage and reason class.",
      labelNames: ["stage", "kind"],
      registers,
    });
    this.webhooks = new Counter({
      name: "callscribe_webhooks_total",
      help: "recording-ready webhooks by outcome (accepted, duplicate, rejected) and reason.",
      labelNames: ["outcome", "reason"],
      registers,
    });
    this.collectErrors = new Counter({
      name: "callscribe_metrics_collect_errors_total",
      help: "Scrapes where a metric's source could not be read.",
      labelNames: ["metric"],
      registers,
    });
    this.callsFinished = new Counter({
      name: "callscribe_calls_finished_total",
      help: "Recorded calls that reached done or failed (for good) in this process.",
      labelNames: ["outcome"],
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "callscribe_" });
  }

  /** Where `callscribe_queue_depth` reads from; replaces any earlier source. */
  setQueueDepthSource(source: QueueDepthSource | undefined): void {
    this.queueDepthSource = source;
  }

  /** Where `callscribe_queue_behind` and `callscribe_queue_alert_depth` read from. */
  setBacklogSource(source: QueueBacklogSource | undefined): void {
    this.backlogSource = source;
  }

  /** Record one stage run. @param seconds wall time of the stage */
  observeStage(stage: string, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.stageDuration.observe({ stage: stageLabel(stage) }, seconds);
  }

  /** Count one failed stage attempt. @param kind reason class, e.g. `timeout`, `http_5xx`, `decode`, `permanent` */
  countFailure(stage: string, kind: string): void {
    this.failures.inc({ stage: stageLabel(stage), kind: classLabel(kind) });
  }

  /** Count one webhook request. @param reason short class such as `bad_signature`, `stale`, `invalid_body` */
  countWebhook(outcome: WebhookOutcome, reason = "ok"): void {
    this.webhooks.inc({ outcome, reason: classLabel(reason) });
  }

  /** Count one call that finished. */
  countCallFinished(outcome: "done" | "failed"): void {
    this.callsFinished.inc({ outcome });
  }

  /** The text exposition (Prometheus 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The process-wide metrics that `/metrics` serves by default and the module functions below feed. */
export const pipelineMetrics = new PipelineMetrics({ defaultMetrics: true });

/** Record one stage run on {@link pipelineMetrics}. @param seconds wall time of the stage */
export function observeStage(stage: string, seconds: number): void {
  pipelineMetrics.observeStage(stage, seconds);
}

/** Count one failed stage attempt on {@link pipelineMetrics}. @param kind reason class (bounded to `[a-z0-9_]`, 32 chars) */
export function countFailure(stage: string, kind: string): void {
  pipelineMetrics.countFailure(stage, kind);
}

/** What a failed stage attempt was, when the runner tells: a reason class, or at least whether it will be retried. */
export interface StageFailureInfo {
  kind?: string;
  retryable?: boolean;
}

/**
 * The job runner's observer (`PipelineObserver` of `pipeline/run-call.ts`: `startPipeline({observer})`)
 * feeding these metrics: a finished stage's duration, a failed attempt's count (kind from the
 * optional 4th argument, else `retryable`/`permanent`/`failed`), and finished calls.
 * Durations are recorded for successful stages only, so timeouts do not skew the histogram.
 */
export function metricsObserver(metrics: PipelineMetrics = pipelineMetrics) {
  return {
    stageFinished(stage: string, outcome: "done" | "failed", durationSec: number, failure?: StageFailureInfo): void {
      if (outcome === "done") metrics.observeStage(stage, durationSec);
      else metrics.countFailure(stage, failure?.kind ?? (failure?.retryable === undefined ? "failed" : failure.retryable ? "retryable" : "permanent"));
    },
    callFinished(outcome: "done" | "failed"): void {
      metrics.countCallFinished(outcome);
    },
  };
}

/** Options of {@link metricsPlugin}. */
export interface MetricsPluginOptions {
  /** Default {@link pipelineMetrics}. */
  metrics?: PipelineMetrics;
  /** Queue depth at scrape time; sets the metrics' source when given. */
  queueDepth?: QueueDepthSource;
  /** Backlog against the alert threshold at scrape time (the pipeline's `backlog`). */
  backlog?: QueueBacklogSource;
}

/**
 * `GET /metrics`: Prometheus text format. Register with `app.register(metricsPlugin, {queueDepth})`.
 * Not under `/v1/`, so the API key does not apply; keep the port off the public network or put
 * the scrape behind the reverse proxy's auth.
 */
export const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, options) => {
  const metrics = options.metrics ?? pipelineMetrics;
  if (options.queueDepth) metrics.setQueueDepthSource(options.queueDepth);
  if (options.backlog) metrics.setBacklogSource(options.backlog);
  app.get("/metrics", async (_request, reply) => {
    const body = await metrics.render();
    return reply.header("content-type", metrics.registry.contentType).send(body);
  });
};
