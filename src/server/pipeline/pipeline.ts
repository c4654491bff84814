/**
 * Starts the recorded-call pipeline for a composition root (DESIGN §6):
 * - embedded default (no DATABASE_URL): the server process opens PGlite in the data dir and runs
 *   the workers itself;
 * - scale-out (DATABASE_URL): the server only enqueues (`workers` 0 unless given), and any number
 *   of `npm run worker` processes (role `worker`) run the jobs.
 */
import type { SpeechEngine } from "../speech/engines/engine";
import type { CrmRegistry } from "../crm/index";
import { openDatabase, type Database } from "../store/database";
import { dataDirFullError, isDiskFull } from "../store/disk-full";
import type { CallRepository } from "../store/calls";
import type { PipelineConfig } from "../config";
import { createAtRestCipher } from "../store/crypto";
import { recoverEmbeddedJobs, WorkerLiveness } from "./liveness";
import { JobQueue, RECORDING_QUEUE, type QueueOptions, type RecordingJobData } from "./queue";
import { scheduleRetention } from "./retention";
import { loadDefaultStages, runCall, type PipelineLogger, type PipelineObserver, type PipelineStages, type RecordingJob } from "./run-call";
import type { RecordingReady } from "../store/model";

/** Options of {@link startPipeline}. */
export interface StartPipelineOptions {
  /** An open store; default: opened from `config` (PGlite in the data dir, or DATABASE_URL). Closed by `stop()` only when opened here. */
  db?: Database;
  /** Needed when workers run. */
  engine?: SpeechEngine;
  config: PipelineConfig;
  role: "server" | "worker";
  /** Concurrent jobs in this process. Default: `config.workers` for a worker or an embedded server, 0 for a server with DATABASE_URL. */
  workers?: number;
  queueOptions?: Partial<QueueOptions>;
  /** Stage functions; default: the real modules. */
  stages?: PipelineStages;
  /**
   * CRM connectors by name and the default one, built by the entry point (`crmRegistryFromConfig`
   * in `crm/index.ts` for `CALLSCRIBE_CRM_URL`). Unset: calls are not delivered to a CRM.
   */
  crm?: CrmRegistry;
  logger?: PipelineLogger;
  observer?: PipelineObserver;
}

/** A running pipeline. */
export interface Pipeline {
  db: Database;
  queue: JobQueue;
  calls: CallRepository;
  /** Number of concurrent job loops in this process. */
  workers: number;
  /**
   * See {@link JobQueue.enqueueRecording}: the call row and its job in one transaction, idempotent
   * on call_id and webhook id. A new job wakes this process's idle job loops at once.
   */
  enqueueRecording(recording: RecordingReady, webhookId?: string): Promise<{ created: boolean; callId: string; jobId: string }>;
  /** How far behind the queue is (read at most once a second; see {@link QueueBacklog}). */
  backlog(): Promise<QueueBacklog>;
  /** Stop taking jobs, wait up to `timeoutMs` for running ones, stop pg-boss, close the store if opened here. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Waiting jobs against the alert threshold (`CALLSCRIBE_QUEUE_ALERT_DEPTH`). */
export interface QueueBacklog {
  /** Jobs queued or waiting for a retry, not yet taken by a worker. */
  waiting: number;
  alertDepth: number;
  /** `waiting >= alertDepth`: the queue is far behind. */
  behind: boolean;
}

/**
 * Start the pipeline: migrate, start pg-boss, create queues, schedule retention, and start
 * `workers` job loops (each takes one job at a time). A loop asks for its next job as soon as one
 * finishes: pg-boss 10 would otherwise wait a whole polling interval after every job, so throughput
 * would be bound by polling (one job per 2 s) instead of by the engine.
 * @throws when the store cannot be opened, or workers are asked for without an engine
 */
export async function startPipeline(opts: StartPipelineOptions): Promise<Pipeline> {
  const { config, role, logger } = opts;
  const workers = opts.workers ?? (role === "worker" || !config.databaseUrl ? config.workers : 0);
  if (workers > 0 && !opts.engine) throw new Error("startPipeline: workers need a speech engine");
  const ownsDb = !opts.db;
  const db = opts.db ?? (await openDatabase(config));
  const cipher = createAtRestCipher(config.encryptionKey);
  let queue: JobQueue;
  try {
    queue = await JobQueue.start(db, cipher, opts.queueOptions, (err) => logger?.error({ err: err.message }, "queue error"));
  } catch (err) {
    if (ownsDb) await db.close();
    // Migrations write to the embedded store's folder: a full disk shows here too.
    if (db.kind === "pglite" && isDiskFull(err)) throw dataDirFullError(config.dataDir);
    throw err;
  }

  const connectors = new Map(opts.crm?.connectors ?? []);
  const defaultConnector = opts.crm?.defaultName;

  // The embedded store belongs to this process: a job active now was left by one that died.
  if (db.kind === "pglite" && workers > 0) {
    const recovered = await recoverEmbeddedJobs(queue);
    if (recovered.length) logger?.warn({ jobs: recovered.length }, "retrying jobs that were running when the server stopped");
  }
  const liveness = new WorkerLiveness(queue, { heartbeatSec: queue.options.heartbeatSec, staleSec: queue.options.workerStaleSec }, logger);
  await liveness.start();

  const reconcile = async () => {
    const ids = await queue.reconcileFailedJobs();
    if (ids.length) logger?.warn({ calls: ids.length }, "marked calls failed whose job had failed for good");
  };
  await reconcile();
  await scheduleRetention(
    queue.boss,
    queue.calls,
    config.audioRetentionDays,
    workers > 0,
    (ids) => {
      if (ids.length) logger?.info({ calls: ids.length }, "retention deleted audio");
    },
    reconcile,
  );

  const workerIds: string[] = [];
  if (workers > 0) {
    const stages = opts.stages ?? (await loadDefaultStages());
    const deps = { queue, cipher, engine: opts.engine!, config, stages, connectors, defaultConnector, logger, observer: opts.observer };
    for (let i = 0; i < workers; i++) {
      let workerId = "";
      workerId = await queue.boss.work<RecordingJobData>(RECORDING_QUEUE, { includeMetadata: true, batchSize: 1 }, async ([job]) => {
        // pg-boss gives up on a handler after expireIn; stop the download then too, so a retry
        // never overlaps with a still-running attempt for long.
        const signal = AbortSignal.timeout(Math.max(1, queue.options.jobTimeoutSec - 1) * 1000);
        try {
          await liveness.claim(job.id);
          return await runCall(deps, job as RecordingJob, signal);
        } finally {
          await liveness.release(job.id).catch((err: Error) => logger?.warn({ err: err.message }, "cannot release a job lease"));
          // Fetch the next job right after this one instead of after the polling interval; a
          // fetch that finds none waits the interval as usual, so an empty queue is not hammered.
          queue.boss.notifyWorker(workerId);
        }
      });
      workerIds.push(workerId);
    }
  }
  const alertDepth = config.queueAlertDepth;
  let backlogCache: { at: number; value: Promise<QueueBacklog> } | undefined;
  const backlog = (): Promise<QueueBacklog> => {
    if (!backlogCache || Date.now() - backlogCache.at > 1000) {
      const value = queue.waiting().then((waiting) => ({ waiting, alertDepth, behind: waiting >= alertDepth }));
      value.catch(() => (backlogCache = undefined));
      backlogCache = { at: Date.now(), value };
    }
    return backlogCache.value;
  };
  logger?.info({ role, workers, store: db.kind }, "pipeline started");

  let stopped = false;
  return {
    db,
    queue,
    calls: queue.calls,
    workers,
    async enqueueRecording(recording, webhookId) {
      const res = await queue.enqueueRecording(recording, webhookId);
      if (res.created) for (const id of workerIds) queue.boss.notifyWorker(id);
      return res;
    },
    backlog,
    async stop(timeoutMs = 10_000) {
      if (stopped) return;
      stopped = true;
      await queue.stop(timeoutMs);
      await liveness.stop().catch((err: Error) => logger?.warn({ err: err.message }, "cannot remove the worker heartbeat"));
      if (ownsDb) await db.close();
    },
  };
}
