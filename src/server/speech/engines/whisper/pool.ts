/**
 * The pool of Whisper worker threads, on the main thread. Each worker holds one whisper.cpp context
 * (model loaded once) and runs one decode at a time; the queue lives here so that it can order work:
 *
 * - priority: `final` decodes (end of a live utterance) before `batch` ones (`transcribe()` chunks)
 *   before `partial` ones (interim re-decodes), FIFO within a priority;
 * - a queued job can be cancelled (a closed stream's partial) before it starts;
 * - the next job goes to any idle worker.
 *
 * A worker that exits fails its running job and is replaced. A crash inside native code would still end
 * the process (threads share it): that is why model files are checked before whisper.cpp sees them.
 *
 * Threads: whisper_full runs on libuv's thread pool (4 threads unless `UV_THREADPOOL_SIZE` says
 * otherwise, shared with fs and crypto work of the whole process), plus `threads − 1` threads of its
 * own. Keep `poolSize` below the libuv pool size.
 */
import type { Worker } from "node:worker_threads";
import { WorkerSupervisor } from "../worker-pool";
import { startEngineWorker } from "../worker-thread";
import type { DecodeParams, DecodeResult, FromWorker, ToWorker, WorkerConfig } from "./protocol.js";

/** Job priorities, most urgent first. */
export type JobPriority = "final" | "batch" | "partial";
const PRIORITY_ORDER: Record<JobPriority, number> = { final: 0, batch: 1, partial: 2 };

/** A queued or running decode. */
export interface DecodeJob {
  readonly priority: JobPriority;
  readonly result: Promise<DecodeResult>;
  /** Drop the job if it has not started; its promise rejects with `JobCancelledError`. Returns true when dropped. */
  cancel(): boolean;
}

/** The job was cancelled before it started. */
export class JobCancelledError extends Error {
  constructor() {
    super("decode cancelled");
    this.name = "JobCancelledError";
  }
}

interface QueuedJob {
  priority: JobPriority;
  audioSec: number;
  seq: number;
  pcm: Float32Array;
  params: DecodeParams;
  resolve: (r: DecodeResult) => void;
  reject: (e: Error) => void;
  cancelled: boolean;
}

interface PoolWorker {
  worker: Worker;
  /** The request in flight: a decode job, or shutdown (`onReply`). */
  busy?: { reqId: number; job?: QueuedJob; onReply?: () => void };
  /** Called when the worker next becomes idle (or dies). */
  idleWaiters: (() => void)[];
  alive: boolean;
}

/** Worker threads hosting whisper.cpp contexts, with a prioritized decode queue. */
export class WhisperPool {
  private readonly supervisor: WorkerSupervisor<PoolWorker, FromWorker>;
  private readonly queue: QueuedJob[] = [];
  private nextReqId = 1;
  private nextSeq = 1;
  /** Model load time of the first worker, ms. */
  loadMs = 0;
  /** Decodes finished, by priority, and their summed compute time (ms). */
  readonly stats = { final: 0, batch: 0, partial: 0, computeMs: 0 };
  /** The last decodes (newest last, at most 50): priority, parameters, audio length (s), compute time (ms). */
  readonly recent: { priority: JobPriority; params: DecodeParams; audioSec: number; computeMs: number }[] = [];

  constructor(
    config: WorkerConfig,
    private readonly size: number,
    log: (message: string) => void = (m) => console.error(m),
  ) {
    this.supervisor = new WorkerSupervisor<PoolWorker, FromWorker>({
      engine: "Whisper",
      create: () => ({ worker: startEngineWorker(import.meta.url, config), alive: true, idleWaiters: [] }),
      onReady: (_w, msg) => {
        if (msg.type === "ready") this.loadMs ||= msg.loadMs;
      },
      onStarted: () => this.dispatch(),
      onMessage: (w, msg) => this.settle(w, msg as Extract<FromWorker, { type: "reply" }>),
      onStopped: (w, err) => this.stopped(w, err),
      initErrorMessage: (message) => `Whisper worker failed to start: ${message}`,
      log,
    });
  }

  private get workers(): Set<PoolWorker> {
    return this.supervisor.workers;
  }

  private get closed(): boolean {
    return this.supervisor.isClosed;
  }

  /** Start all workers; resolves once each has loaded the model. @throws Error with the first failure. */
  async start(): Promise<void> {
    try {
      await this.supervisor.start(this.size);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Jobs waiting (not running), for metrics and tests. */
  get queued(): number {
    return this.queue.length;
  }

  /** Worker threads and whether each is decoding. */
  get snapshot(): { threadId: number; busy: boolean }[] {
    return [...this.workers].map((w) => ({ threadId: w.worker.threadId, busy: Boolean(w.busy) }));
  }

  /**
   * Queue a decode of mono 16 kHz float PCM (the buffer is transferred: pass one the caller no longer needs).
   * @throws Error (synchronously) when the pool is closed.
   */
  decode(pcm: Float32Array, params: DecodeParams, priority: JobPriority): DecodeJob {
    if (this.closed) throw new Error("Whisper engine is closed");
    let job!: QueuedJob;
    const result = new Promise<DecodeResult>((resolve, reject) => {
      job = { priority, audioSec: pcm.length / 16_000, seq: this.nextSeq++, pcm, params, resolve, reject, cancelled: false };
    });
    result.catch(() => undefined); // callers that cancel may never await it
    this.queue.push(job);
    this.queue.sort((a, b) => PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] || a.seq - b.seq);
    this.dispatch();
    return {
      priority,
      result,
      cancel: () => {
        const i = this.queue.indexOf(job);
        if (i < 0) return false;
        this.queue.splice(i, 1);
        job.cancelled = true;
        job.reject(new JobCancelledError());
        return true;
      },
    };
  }

  /**
   * Reject queued jobs, let running decodes finish (whisper_full cannot be interrupted, and freeing a
   * context under a running decode would crash), free the models and stop the workers. Idempotent.
   */
  async close(): Promise<void> {
    const workers = this.supervisor.close();
    for (const job of this.queue.splice(0)) job.reject(new Error("Whisper engine closed"));
    const timeout = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
    await Promise.all(
      workers.map(async (w) => {
        if (w.alive && w.busy) await Promise.race([new Promise<void>((r) => w.idleWaiters.push(r)), timeout(60_000)]);
        if (w.alive && !w.busy) {
          const freed = new Promise<void>((onReply) => {
            const reqId = this.nextReqId++;
            w.busy = { reqId, onReply };
            w.worker.postMessage({ op: "shutdown", reqId } satisfies ToWorker);
          });
          await Promise.race([freed, timeout(5_000)]);
        }
        w.alive = false;
        await w.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (const w of this.workers) {
      if (this.queue.length === 0) return;
      if (!w.alive || w.busy) continue;
      const job = this.queue.shift()!;
      const reqId = this.nextReqId++;
      w.busy = { reqId, job };
      const msg: ToWorker = { op: "decode", reqId, pcm: job.pcm, params: job.params };
      w.worker.postMessage(msg, [job.pcm.buffer as ArrayBuffer]);
    }
  }

  private settle(w: PoolWorker, msg: Extract<FromWorker, { type: "reply" }>): void {
    const busy = w.busy;
    if (!busy || busy.reqId !== msg.reqId) return;
    w.busy = undefined;
    if (busy.onReply) busy.onReply();
    else if (busy.job) {
      if (msg.ok && msg.result) {
        this.stats[busy.job.priority]++;
        this.stats.computeMs += msg.result.computeMs;
        this.recent.push({ priority: busy.job.priority, params: busy.job.params, audioSec: busy.job.audioSec, computeMs: msg.result.computeMs });
        if (this.recent.length > 50) this.recent.shift();
        busy.job.resolve(msg.result);
      }
      else busy.job.reject(new Error(msg.ok ? "Whisper worker returned no result" : msg.message));
    }
    for (const wake of w.idleWaiters.splice(0)) wake();
    this.dispatch();
  }

  /** A running worker stopped (the supervisor replaces it): fail its job, wake who waits for it. */
  private stopped(w: PoolWorker, err: Error): void {
    w.busy?.job?.reject(new Error(`Whisper worker thread stopped (${err.message})`));
    w.busy?.onReply?.();
    w.busy = undefined;
    for (const wake of w.idleWaiters.splice(0)) wake();
  }
}
