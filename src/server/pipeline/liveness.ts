/**
 * A job whose worker died is retried within a minute, not after the job timeout (pg-boss 10 has
 * no heartbeat of its own; issue 7 item 15).
 *
 * - Embedded server (PGlite): the database belongs to this one process, so a `recording-ready`
 *   job that is `active` at boot was left by a process that died; {@link recoverEmbeddedJobs}
 *   fails it into `retry` (or the dead-letter queue when no attempt is left) before the workers
 *   start.
 * - Scale-out (PostgreSQL, any number of processes): every process that runs jobs writes a
 *   heartbeat row (`worker_heartbeats`) every `heartbeatSec` and a lease row (`job_leases`) for
 *   each job it runs. {@link WorkerLiveness.sweep}, run by every process on the same timer, fails
 *   the active jobs whose worker's heartbeat is older than `staleSec` (or that have no lease
 *   `staleSec` after they started: the worker died between fetch and lease). Rows are selected
 *   `FOR UPDATE SKIP LOCKED`, so two sweeping processes never fail one job twice.
 *
 * Failing goes through pg-boss's own `fail` (retry with its backoff, dead letter at the end); the
 * `pgboss.job` columns read here are fixed by the exact version pin (10.4.2), as in `failNow`.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type PgBoss from "pg-boss";
import type { PipelineLogger } from "./run-call";
import { RECORDING_QUEUE, type JobQueue } from "./queue";

/** Timing of the liveness check, seconds. */
export interface LivenessOptions {
  /** How often this process writes its heartbeat and sweeps. */
  heartbeatSec: number;
  /** A worker whose heartbeat is older than this is dead; its jobs are retried. Must exceed `heartbeatSec` by a wide margin. */
  staleSec: number;
}

/**
 * Fail the `active` jobs of the embedded store at boot: no other process uses it, so their worker
 * died (kill -9, power loss). pg-boss retries them with its backoff.
 * @returns the ids of the jobs failed
 */
export async function recoverEmbeddedJobs(queue: JobQueue): Promise<string[]> {
  const { rows } = await queue.db.query<{ id: string }>("SELECT id FROM pgboss.job WHERE name = $1 AND state = 'active'", [RECORDING_QUEUE]);
  const ids = rows.map((r) => r.id);
  if (ids.length) {
    for (const id of ids) await queue.boss.fail(RECORDING_QUEUE, id, { message: "the server stopped while this job ran (found active at boot); retried" });
    await queue.db.query("DELETE FROM job_leases WHERE job_id = ANY($1::uuid[])", [ids]);
  }
  return ids;
}

/** Heartbeat, leases and the sweep of one process. */
export class WorkerLiveness {
  /** This process's worker id (one per process, whatever its number of job loops). */
  readonly workerId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly options: LivenessOptions,
    private readonly logger?: PipelineLogger,
  ) {}

  /** Write the first heartbeat and start the timer (heartbeat, then sweep). */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.options.heartbeatSec * 1000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
      const ids = await this.sweep();
      if (ids.length) this.logger?.warn({ jobs: ids.length, staleSec: this.options.staleSec }, "retrying jobs whose worker stopped sending heartbeats");
    } catch (err) {
      this.logger?.error({ err: (err as Error).message }, "liveness check failed");
    }
  }

  private async beat(): Promise<void> {
    await this.queue.db.query(
      `INSERT INTO worker_heartbeats (worker_id, host, pid, beat_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (worker_id) DO UPDATE SET beat_at = now()`,
      [this.workerId, hostname(), process.pid],
    );
  }

  /** Record that this process runs `jobId` (a job re-delivered to it takes the lease over). */
  async claim(jobId: string): Promise<void> {
    await this.queue.db.query(
      `INSERT INTO job_leases (job_id, worker_id, started_at) VALUES ($1, $2, now())
       ON CONFLICT (job_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, started_at = now()`,
      [jobId, this.workerId],
    );
  }

  /** The job ended here (done or failed): drop its lease. */
  async release(jobId: string): Promise<void> {
    await this.queue.db.query("DELETE FROM job_leases WHERE job_id = $1 AND worker_id = $2", [jobId, this.workerId]);
  }

  /**
   * Fail (into retry) the active jobs of dead workers: a lease whose worker's heartbeat is older
   * than `staleSec`, or no lease `staleSec` after the job started.
   * @returns the ids of the jobs failed
   */
  async sweep(): Promise<string[]> {
    const { staleSec } = this.options;
    const ids = await this.queue.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `SELECT j.id FROM pgboss.job j
           LEFT JOIN job_leases l ON l.job_id = j.id
           LEFT JOIN worker_heartbeats h ON h.worker_id = l.worker_id
          WHERE j.name = $1 AND j.state = 'active'
            AND CASE WHEN l.job_id IS NULL THEN j.started_on < now() - make_interval(secs => $2)
                     ELSE h.worker_id IS NULL OR h.beat_at < now() - make_interval(secs => $2) END
          FOR UPDATE OF j SKIP LOCKED`,
        [RECORDING_QUEUE, staleSec],
      );
      const found = rows.map((r) => r.id);
      if (found.length) {
        const db = this.queue.db.pgBossDb(tx) as PgBoss.ConnectionOptions["db"];
        for (const id of found) await this.queue.boss.fail(RECORDING_QUEUE, id, { message: `its worker stopped sending heartbeats for over ${staleSec} s; retried` }, { db });
        await tx.query("DELETE FROM job_leases WHERE job_id = ANY($1::uuid[])", [found]);
      }
      return found;
    });
    // Heartbeats of processes gone for a day are of no use any more.
    await this.queue.db.query("DELETE FROM worker_heartbeats WHERE beat_at < now() - interval '1 day'");
    return ids;
  }

  /** Stop the timer and remove this process's heartbeat (its jobs were finished or handed back by pg-boss's stop). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.queue.db.query("DELETE FROM worker_heartbeats WHERE worker_id = $1", [this.workerId]);
  }
}
