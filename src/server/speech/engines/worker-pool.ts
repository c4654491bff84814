/**
 * The supervisor both engine pools (PocketSphinx, Whisper) share: start a set of worker threads and
 * wait for each to load its model, keep the running set, and when one stops (uncaught exception,
 * `terminate()`, exit) let the pool fail what it held and start a replacement, retrying every
 * `RESPAWN_RETRY_MS` while replacements fail. What the workers do, and how the pool closes them,
 * stays in each pool.
 *
 * Worker protocol it relies on: the thread posts `{ type: "ready" }` once loaded or
 * `{ type: "initError", message }` when it cannot load; every other message goes to the pool.
 */
import type { Worker } from "node:worker_threads";

/** Delay before retrying to replace a worker whose replacement failed to start, ms. */
export const RESPAWN_RETRY_MS = 2_000;

/** What the supervisor needs of a pool's worker record. */
export interface SupervisedWorker {
  readonly worker: Worker;
  /** False once the thread stopped or failed to start. */
  alive: boolean;
}

/** A message from a worker thread: at least its `type`. */
export interface WorkerMessage {
  type: string;
}

/** How a pool plugs into the supervisor. */
export interface WorkerSupervisorOptions<W extends SupervisedWorker, M extends WorkerMessage> {
  /** Engine name for errors and logs, e.g. `PocketSphinx`. */
  engine: string;
  /** Start one thread (`startEngineWorker`) and wrap it in the pool's record. */
  create: () => W;
  /** Every message other than `ready` / `initError`, from a running worker. */
  onMessage: (worker: W, message: M) => void;
  /** The worker's `ready` message, before it joins the running set (e.g. to read its load time). */
  onReady?: (worker: W, message: M) => void;
  /** The worker joined the running set (e.g. to hand it queued work). */
  onStarted?: (worker: W) => void;
  /** A running worker stopped: fail its streams and requests. Called before its replacement starts. */
  onStopped: (worker: W, err: Error) => void;
  /** Error text for a worker that could not load; default: the worker's message. */
  initErrorMessage?: (message: string) => string;
  /** Where failures nobody awaits go (a replacement that cannot start). */
  log: (message: string) => void;
}

/** Starts, tracks and respawns a pool's worker threads. */
export class WorkerSupervisor<W extends SupervisedWorker, M extends WorkerMessage> {
  /** Workers that have loaded and not stopped. */
  readonly workers = new Set<W>();
  private closed = false;

  constructor(private readonly options: WorkerSupervisorOptions<W, M>) {}

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Start `size` workers; resolves when every one has loaded.
   * @throws Error with the first worker's failure (the others keep running: the pool closes them)
   */
  async start(size: number): Promise<void> {
    const started = await Promise.allSettled(Array.from({ length: size }, () => this.spawn()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason as Error;
  }

  /** Stop supervising: no more replacements; returns the running workers (now removed) for the pool to shut down. */
  close(): W[] {
    this.closed = true;
    const workers = [...this.workers];
    this.workers.clear();
    return workers;
  }

  /** Start one worker; resolves once it has loaded and joined the running set. */
  spawn(): Promise<W> {
    const { engine } = this.options;
    const w = this.options.create();
    return new Promise((resolve, reject) => {
      let ready = false;
      w.worker.on("message", (message: M) => {
        if (message.type === "ready") {
          ready = true;
          this.options.onReady?.(w, message);
          if (this.closed) {
            void w.worker.terminate();
            reject(new Error(`${engine} engine is closed`));
            return;
          }
          this.workers.add(w);
          resolve(w);
          this.options.onStarted?.(w);
        } else if (message.type === "initError") {
          w.alive = false;
          void w.worker.terminate();
          const text = (message as M & { message: string }).message;
          reject(new Error(this.options.initErrorMessage ? this.options.initErrorMessage(text) : text));
        } else {
          this.options.onMessage(w, message);
        }
      });
      w.worker.on("error", (err) => this.stopped(w, err, ready ? undefined : reject));
      w.worker.on("exit", (code) => this.stopped(w, new Error(`${engine} worker thread exited with code ${code}`), ready ? undefined : reject));
    });
  }

  /** A worker stopped: reject its start if it was starting; else let the pool fail its work and replace it. */
  private stopped(w: W, err: Error, rejectStart?: (e: Error) => void): void {
    const wasAlive = w.alive;
    w.alive = false;
    rejectStart?.(err);
    if (!this.workers.delete(w) || !wasAlive) return;
    this.options.onStopped(w, err);
    if (!this.closed) this.replace();
  }

  private replace(): void {
    this.spawn().catch((err: Error) => {
      if (this.closed) return;
      this.options.log(`${this.options.engine}: replacement worker failed to start (${err.message}); retrying in ${RESPAWN_RETRY_MS} ms`);
      setTimeout(() => !this.closed && this.replace(), RESPAWN_RETRY_MS).unref();
    });
  }
}
