/**
 * The pool of PocketSphinx worker threads, on the main thread.
 *
 * Why a small pool (default: one worker per core) hosting many decoders each, rather than one worker
 * per stream: decoding is CPU-bound, so threads beyond the core count add no throughput, and each
 * worker costs a V8 isolate (~10 MB) on top of its decoders. A new stream goes to the least-loaded
 * worker, where load counts its decoders and the audio queued for them (see `loadOf`): a worker busy
 * with one client's backlog is not picked over one hosting a few idle streams. The cost: streams on one
 * worker queue behind each other's chunks (a `ps_end_utt` can take up to ~1 s), so raise `poolSize`
 * when latency matters more than memory.
 *
 * A worker that exits (uncaught exception, `terminate()`) fails only its own streams and requests, and
 * is replaced. A crash inside native code (SIGSEGV) would still end the whole process: threads share it.
 */
import type { Worker } from "node:worker_threads";
import { WorkerSupervisor } from "../worker-pool";
import { startEngineWorker } from "../worker-thread";
import type { EngineHypothesis } from "../engine.js";
import type { DecoderEvent } from "./decoder.js";
import { STREAM_SLOTS, StreamSlot, type FromWorker, type ToWorker, type WorkerConfig } from "./protocol.js";

/** Receives what the worker says about one stream. */
export interface StreamSink {
  onEvents(events: DecoderEvent[]): void;
  /** The stream is dead: its decoder failed or its worker exited. */
  onError(err: Error): void;
}

/** A stream's place in the pool: which worker hosts it, and the state it shares with that worker. */
export interface StreamLease {
  readonly worker: PoolWorker;
  readonly id: number;
  /** `StreamSlot` values, shared with the worker thread. */
  readonly state: Int32Array;
}

/** Queued audio that weighs as much as one more decoder when placing a stream, seconds. */
const QUEUED_SECONDS_PER_LOAD_UNIT = 5;

type Pending = { resolve: (v: EngineHypothesis[] | undefined) => void; reject: (e: Error) => void };

/** One worker thread and the streams and requests it holds. */
export class PoolWorker {
  readonly streams = new Map<number, StreamSink>();
  /** Shared state of each open stream (its queued samples count towards the worker's load). */
  readonly states = new Map<number, Int32Array>();
  readonly pending = new Map<number, Pending>();
  /** Decoders in use (streams plus running transcriptions): the load used to pick a worker. */
  load = 0;
  alive = true;

  constructor(readonly worker: Worker) {}

  /** Node's id of the thread. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Audio posted to this worker's streams and not yet decoded, seconds (16 kHz). */
  get queuedSeconds(): number {
    let samples = 0;
    for (const state of this.states.values()) samples += Atomics.load(state, StreamSlot.queuedSamples);
    return samples / 16_000;
  }
}

/** Placement load of a worker: decoders in use plus one per `QUEUED_SECONDS_PER_LOAD_UNIT` of queued audio. */
function loadOf(worker: PoolWorker): number {
  return worker.load + worker.queuedSeconds / QUEUED_SECONDS_PER_LOAD_UNIT;
}

/** A pool of worker threads hosting PocketSphinx decoders. */
export class WorkerPool {
  private readonly supervisor: WorkerSupervisor<PoolWorker, FromWorker>;
  private nextId = 1;

  constructor(
    config: WorkerConfig,
    private readonly size: number,
    /** Where to report failures nobody awaits (a replacement worker that cannot start). */
    log: (message: string) => void = (m) => console.error(m),
  ) {
    this.supervisor = new WorkerSupervisor<PoolWorker, FromWorker>({
      engine: "PocketSphinx",
      create: () => new PoolWorker(startEngineWorker(import.meta.url, config)),
      onMessage: (worker, msg) => this.dispatch(worker, msg as Exclude<FromWorker, { type: "ready" | "initError" }>),
      onStopped: (worker, err) => this.failAll(worker, new Error(`PocketSphinx worker thread stopped (${err.message}); the stream was lost`)),
      log,
    });
  }

  private get workers(): Set<PoolWorker> {
    return this.supervisor.workers;
  }

  private get closed(): boolean {
    return this.supervisor.isClosed;
  }

  /** Start all workers; resolves when every one has loaded the model. @throws Error with the first worker's failure. */
  async start(): Promise<void> {
    try {
      await this.supervisor.start(this.size);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Workers and their load, for metrics and tests: decoders in use and audio queued for them (seconds). */
  get snapshot(): { threadId: number; decoders: number; queuedSeconds: number }[] {
    return [...this.workers].map((w) => ({ threadId: w.threadId, decoders: w.load, queuedSeconds: w.queuedSeconds }));
  }

  /**
   * Open a stream on the least-loaded worker; resolves once its decoder exists.
   * @param signal aborting it before the worker gets to the request means no decoder is created
   * @throws Error if no worker is running, the decoder cannot be created, or `signal` was aborted.
   */
  async openStream(sink: StreamSink, signal?: AbortSignal): Promise<StreamLease> {
    signal?.throwIfAborted();
    const worker = this.pick();
    const id = this.nextId++;
    const state = new Int32Array(new SharedArrayBuffer(STREAM_SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const abort = () => Atomics.store(state, StreamSlot.closed, 1);
    signal?.addEventListener("abort", abort, { once: true });
    worker.streams.set(id, sink);
    worker.states.set(id, state);
    worker.load++;
    try {
      await this.request(worker, { op: "open", reqId: this.nextId++, id, state });
    } catch (err) {
      worker.states.delete(id);
      if (worker.streams.delete(id)) worker.load--;
      throw signal?.aborted ? (signal.reason ?? err) : err;
    } finally {
      signal?.removeEventListener("abort", abort);
    }
    return { worker, id, state };
  }

  /** Post audio to a stream; the buffer is transferred, so pass a copy the caller no longer needs. */
  write(lease: StreamLease, pcm: Int16Array): void {
    if (!lease.worker.alive || !lease.worker.streams.has(lease.id)) return;
    Atomics.add(lease.state, StreamSlot.queuedSamples, pcm.length);
    const msg: ToWorker = { op: "write", id: lease.id, pcm };
    lease.worker.worker.postMessage(msg, [pcm.buffer as ArrayBuffer]);
  }

  /** Audio written to the stream that its worker has not decoded yet, seconds. */
  queuedSeconds(lease: StreamLease): number {
    return Atomics.load(lease.state, StreamSlot.queuedSamples) / 16_000;
  }

  /** End the stream's utterance; its `final` (if any) reaches the sink before this resolves. */
  async flush(lease: StreamLease): Promise<void> {
    await this.request(lease.worker, { op: "flush", reqId: this.nextId++, id: lease.id });
  }

  /** Free the stream's decoder; its queued audio is skipped, not decoded. Never rejects: a dead worker has freed it already. */
  async closeStream(lease: StreamLease): Promise<void> {
    const { worker, id } = lease;
    Atomics.store(lease.state, StreamSlot.closed, 1);
    worker.states.delete(id);
    if (!worker.streams.delete(id)) return;
    worker.load--;
    if (!worker.alive) return;
    await this.request(worker, { op: "close", reqId: this.nextId++, id }).catch(() => undefined);
  }

  /** Transcribe a whole recording on the least-loaded worker (the buffer is transferred). */
  async transcribe(pcm: Int16Array): Promise<EngineHypothesis[]> {
    const worker = this.pick();
    worker.load++;
    try {
      const result = await this.request(worker, { op: "transcribe", reqId: this.nextId++, pcm }, [pcm.buffer as ArrayBuffer]);
      return result ?? [];
    } finally {
      worker.load--;
    }
  }

  /** Stop one worker as if it had crashed (its streams get `error`; the pool replaces it). For tests and operations. */
  async terminateWorker(threadId: number): Promise<void> {
    const worker = [...this.workers].find((w) => w.threadId === threadId);
    if (!worker) throw new Error(`no PocketSphinx worker with thread id ${threadId}`);
    await worker.worker.terminate();
  }

  /** Free every decoder and stop the workers. Idempotent. */
  async close(): Promise<void> {
    const workers = this.supervisor.close();
    await Promise.all(
      workers.map(async (w) => {
        if (w.alive) {
          // Let the worker free its decoders (≈92 MB each) cleanly, but do not wait for ever.
          const shutdown = this.request(w, { op: "shutdown", reqId: this.nextId++ }).catch(() => undefined);
          await Promise.race([shutdown, new Promise((r) => setTimeout(r, 2_000).unref())]);
        }
        w.alive = false;
        this.failAll(w, new Error("PocketSphinx engine closed"));
        await w.worker.terminate();
      }),
    );
  }

  private pick(): PoolWorker {
    if (this.closed) throw new Error("PocketSphinx engine is closed");
    let best: PoolWorker | undefined;
    let bestLoad = Infinity;
    for (const w of this.workers) {
      if (!w.alive) continue;
      const load = loadOf(w);
      if (load < bestLoad) [best, bestLoad] = [w, load];
    }
    if (!best) throw new Error("No PocketSphinx worker thread is running (all failed to start; see earlier errors)");
    return best;
  }

  private request(
    worker: PoolWorker,
    msg: Extract<ToWorker, { reqId: number }>,
    transfer: ArrayBuffer[] = [],
  ): Promise<EngineHypothesis[] | undefined> {
    if (!worker.alive) return Promise.reject(new Error("PocketSphinx worker thread is not running"));
    return new Promise((resolve, reject) => {
      worker.pending.set(msg.reqId, { resolve, reject });
      worker.worker.postMessage(msg, transfer);
    });
  }

  private dispatch(worker: PoolWorker, msg: Exclude<FromWorker, { type: "ready" | "initError" }>): void {
    switch (msg.type) {
      case "events":
        worker.streams.get(msg.id)?.onEvents(msg.events);
        return;
      case "streamError": {
        const sink = worker.streams.get(msg.id);
        worker.states.delete(msg.id);
        if (worker.streams.delete(msg.id)) worker.load--;
        sink?.onError(new Error(`PocketSphinx decoder failed: ${msg.message}`));
        return;
      }
      case "reply": {
        const pending = worker.pending.get(msg.reqId);
        worker.pending.delete(msg.reqId);
        if (!pending) return;
        if (msg.ok) pending.resolve(msg.result);
        else pending.reject(new Error(msg.message));
        return;
      }
    }
  }

  private failAll(worker: PoolWorker, err: Error): void {
    for (const pending of worker.pending.values()) pending.reject(err);
    worker.pending.clear();
    const sinks = [...worker.streams.values()];
    worker.streams.clear();
    worker.states.clear();
    worker.load = 0;
    for (const sink of sinks) sink.onError(err);
  }
}
