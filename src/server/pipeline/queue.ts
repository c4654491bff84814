/**
 * Durable jobs (DESIGN §6, §9) with pg-boss 10.4.2 on either store adapter.
 *
 * - Queue `recording-ready`: one job per call; job id = {@link jobIdForCall}(call_id), so a repeated
 *   webhook can never create a second job. The call row and its job are written in ONE transaction
 *   (pg-boss `send(…, { db })` with the transaction's connection), so a crash between them loses
 *   nothing and leaves no call without a job.
 * - Retries: `retryLimit`, `retryDelay` seconds, `retryBackoff: true`. pg-boss 10 computes the next
 *   start itself with exponential backoff AND jitter ("equal jitter"): after the n-th failure
 *   (n = 0, 1, …) the job waits `retryDelay · 2^n · (1 + random())` seconds, i.e. a random time in
 *   `[retryDelay·2^n, retryDelay·2^(n+1))`, capped at exponent 16 (pg-boss `plans.js`, `failJobs`).
 *   So no jitter of our own is added.
 * - Dead-letter queue `recording-ready-dead`: when a job fails for good pg-boss copies it there with
 *   the job's data and, in `output`, the serialised error (`message` = the reason, `stage`,
 *   `retryable`). Permanent errors go there at once ({@link JobQueue.failNow}).
 * - A worker killed mid-job (`kill -9`) leaves its job `active`. `liveness.ts` retries it within
 *   a minute: at boot for the embedded server, by heartbeats for scaled-out workers. Failing that,
 *   once `expireInSeconds` have passed pg-boss's maintenance fails it into `retry`.
 */
import PgBoss from "pg-boss";
import { DEFAULT_QUEUE_OPTIONS, type QueueOptions } from "../config";
import type { AtRestCipher } from "../store/crypto";
import type { RecordingReady } from "../store/model";
import type { Database } from "../store/database";
import { CallRepository } from "../store/calls";
import { migrate } from "../store/migrations";

/** pg-boss queue of `recording-ready` jobs (one per call). */
export const RECORDING_QUEUE = "recording-ready";
/** pg-boss queue that receives `recording-ready` jobs after their last retry failed. */
export const DEAD_LETTER_QUEUE = "recording-ready-dead";

/**
 * Data of a `recording-ready` job: the call id only. The webhook body, which names people, stays
 * encrypted in the call row, where the worker reads it; pg-boss's job data is stored in clear.
 */
export interface RecordingJobData {
  call_id: string;
}

// Queue tuning is read with the rest of the configuration (`config/`: CALLSCRIBE_JOB_*, CALLSCRIBE_QUEUE_*, CALLSCRIBE_WORKER_*).
export { DEFAULT_QUEUE_OPTIONS, type QueueOptions } from "../config";

/**
 * Durably accept a recording: the webhook intake's entry point ({@link JobQueue.enqueueRecording}
 * on `queue`). Inserts the call (status `queued`) and its job in one transaction; idempotent on
 * `call_id` and `webhookId` (a repeat returns `created: false` and the stored call's id).
 * @returns `{ created, callId, jobId }`
 * @throws the database error when the store is unreachable (then nothing was stored)
 */
export function enqueueRecording(queue: JobQueue, recording: RecordingReady, webhookId?: string): Promise<{ created: boolean; callId: string; jobId: string }> {
  return queue.enqueueRecording(recording, webhookId);
}

/** A job in the dead-letter queue. */
export interface DeadLetter {
  /** Id of the dead-letter job (not the original job). */
  id: string;
  call_id: string;
  /** Why the job failed for good (the error message of its last attempt). */
  reason: string;
  stage?: string;
  createdOn: string;
}

/** Jobs per state in the `recording-ready` queue, and the number of dead letters not yet handled. */
export interface QueueDepth {
  created: number;
  retry: number;
  active: number;
  failed: number;
  completed: number;
  deadLetters: number;
}

/** pg-boss on a {@link Database}, plus the call repository, set up and migrated. */
export class JobQueue {
  private constructor(
    readonly boss: PgBoss,
    readonly db: Database,
    readonly calls: CallRepository,
    readonly options: QueueOptions,
  ) {}

  /**
   * Migrate Callscribe's tables, start pg-boss on `db` (it migrates its own `pgboss` schema) and
   * create the queues. `supervise`: run pg-boss maintenance and cron in this process (default true).
   */
  static async start(db: Database, cipher: AtRestCipher, options: Partial<QueueOptions> = {}, onError?: (err: Error) => void): Promise<JobQueue> {
    const opts = { ...DEFAULT_QUEUE_OPTIONS, ...options };
    await migrate(db, cipher);
    const boss = new PgBoss({
      db: db.pgBossDb(),
      maintenanceIntervalSeconds: opts.maintenanceIntervalSec,
      monitorStateIntervalSeconds: Math.max(opts.maintenanceIntervalSec, 10),
      pollingIntervalSeconds: opts.pollIntervalSec,
    } as PgBoss.ConstructorOptions);
    boss.on("error", (err: Error) => (onError ? onError(err) : console.error(`pg-boss: ${err.message}`)));
    await boss.start();
    const queue = {
      retryLimit: opts.retryLimit,
      retryDelay: opts.retryDelaySec,
      retryBackoff: true,
      expireInSeconds: opts.jobTimeoutSec,
      // Keep jobs (and the dead letters) two weeks; the call row keeps the outcome for ever.
      retentionMinutes: 14 * 24 * 60,
    };
    await boss.createQueue(DEAD_LETTER_QUEUE, { name: DEAD_LETTER_QUEUE, retentionMinutes: 60 * 24 * 60 });
    await boss.createQueue(RECORDING_QUEUE, { name: RECORDING_QUEUE, ...queue, deadLetter: DEAD_LETTER_QUEUE });
    // createQueue keeps an existing queue as it was: apply the current settings.
    await boss.updateQueue(RECORDING_QUEUE, { name: RECORDING_QUEUE, ...queue, deadLetter: DEAD_LETTER_QUEUE });
    return new JobQueue(boss, db, new CallRepository(db, cipher), opts);
  }

  /**
   * Durably accept a recording (what the webhook intake calls). In one transaction: insert the call
   * (status `queued`, every stage pending) and its `recording-ready` job. Idempotent: a repeated
   * `call_id` or `webhookId` changes nothing and returns `created: false` with the stored call's id.
   * @returns `{ created, callId, jobId }`
   * @throws the database error when the store is unreachable (nothing was stored then)
   */
  async enqueueRecording(recording: RecordingReady, webhookId?: string): Promise<{ created: boolean; callId: string; jobId: string }> {
    return this.db.transaction(async (tx) => {
      const res = await this.calls.withTransaction(tx).createCall(recording, webhookId);
      if (res.created) {
        const data: RecordingJobData = { call_id: recording.call_id };
        await this.boss.send(RECORDING_QUEUE, data, { id: res.jobId, db: this.db.pgBossDb(tx) } as PgBoss.SendOptions);
      }
      return res;
    });
  }

  /**
   * Fail a job for good now, without the remaining retries: pg-boss moves it to the dead-letter
   * queue when the handler then throws. Sets the job's retry limit to the retries used so far; this
   * touches pg-boss's `pgboss.job` table, whose layout is fixed by the exact version pin (10.4.2).
   */
  async failNow(jobId: string): Promise<void> {
    await this.db.query("UPDATE pgboss.job SET retry_limit = retry_count WHERE name = $1 AND id = $2 AND state = 'active'", [RECORDING_QUEUE, jobId]);
  }

  /**
   * Mark `failed` the calls whose job pg-boss failed for good without the handler recording it
   * (a worker killed during the last attempt: the job expired with no attempt left). The reason is
   * the job's last error. Runs at start and with the hourly retention job.
   * @returns the ids of the calls changed
   */
  async reconcileFailedJobs(): Promise<string[]> {
    const { rows } = await this.db.query<{ call_id: string }>(
      `UPDATE calls c SET status = 'failed', reason = COALESCE(j.output->>'message', 'job failed'), updated_at = now()
         FROM pgboss.job j
        WHERE j.name = $1 AND j.id = c.job_id AND j.state = 'failed' AND c.status NOT IN ('done', 'failed')
        RETURNING c.call_id`,
      [RECORDING_QUEUE],
    );
    return rows.map((r) => r.call_id);
  }

  /** Dead letters, newest first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.db.query<{ id: string; data: RecordingJobData; output: { message?: string; stage?: string } | null; created_on: Date | string }>(
      "SELECT id, data, output, created_on FROM pgboss.job WHERE name = $1 ORDER BY created_on DESC LIMIT $2",
      [DEAD_LETTER_QUEUE, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      call_id: r.data?.call_id,
      reason: r.output?.message ?? "unknown",
      ...(r.output?.stage && { stage: r.output.stage }),
      createdOn: new Date(r.created_on).toISOString(),
    }));
  }

  /** Job counts for metrics. */
  async depth(): Promise<QueueDepth> {
    const { rows } = await this.db.query<{ name: string; state: string; n: string | number }>(
      "SELECT name, state::text AS state, count(*) AS n FROM pgboss.job WHERE name IN ($1, $2) GROUP BY name, state",
      [RECORDING_QUEUE, DEAD_LETTER_QUEUE],
    );
    const d: QueueDepth = { created: 0, retry: 0, active: 0, failed: 0, completed: 0, deadLetters: 0 };
    for (const r of rows) {
      if (r.name === DEAD_LETTER_QUEUE) {
        if (r.state === "created" || r.state === "retry") d.deadLetters += Number(r.n);
      } else if (r.state in d) d[r.state as keyof QueueDepth] += Number(r.n);
    }
    return d;
  }

  /** Jobs of the `recording-ready` queue not yet taken by a worker: queued, or waiting for a retry. */
  async waiting(): Promise<number> {
    const { rows } = await this.db.query<{ n: string | number }>("SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state IN ('created', 'retry')", [RECORDING_QUEUE]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Stop workers (waiting up to `timeoutMs` for running jobs) and pg-boss; the database stays open. */
  async stop(timeoutMs = 10_000): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs, close: false });
  }
}
