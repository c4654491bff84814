/**
 * A live PocketSphinx recognition stream on the main thread: a `RecognizerStream` whose decoder lives
 * in a pool worker. See `../engine.ts` for the event contract.
 */
import { EventEmitter } from "node:events";
import type { RecognizerStream } from "../engine.js";
import type { DecoderEvent } from "./decoder.js";
import type { StreamLease, StreamSink, WorkerPool } from "./pool.js";

/** A live stream. Create it with `PocketSphinxEngine.createStream()`. */
export class PocketSphinxStream extends EventEmitter implements RecognizerStream, StreamSink {
  private lease?: StreamLease;
  private failure?: Error;
  private closing?: Promise<void>;

  /** @internal Use `PocketSphinxEngine.createStream()`. */
  constructor(private readonly pool: WorkerPool) {
    super();
  }

  /**
   * @internal Bind to a decoder in the pool.
   * @param signal aborted: no decoder is created (rejects with its reason)
   * @throws Error if no decoder can be created.
   */
  async open(signal?: AbortSignal): Promise<this> {
    this.lease = await this.pool.openStream(this, signal);
    return this;
  }

  /** Audio written and not yet decoded by the worker, seconds. */
  get queuedSeconds(): number {
    return this.lease ? this.pool.queuedSeconds(this.lease) : 0;
  }

  /** Feed mono 16 kHz PCM16. Ignored after `close()` or an `error`; a wrong type gives `error`. Never throws. */
  write(pcm: Int16Array): void {
    if (this.closing || this.failure || !this.lease) return;
    if (!(pcm instanceof Int16Array)) {
      this.fail(new TypeError("write() expects an Int16Array of mono 16 kHz PCM16 samples"));
      return;
    }
    if (pcm.length === 0) return;
    this.pool.write(this.lease, pcm.slice()); // a copy: the buffer is transferred to the worker
  }

  /**
   * End the utterance in progress; resolves after its `final` (reason `finalize`) was emitted, or at
   * once when nothing was pending or the stream is closed.
   * @throws Error (rejects) when the stream has failed.
   */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closing || !this.lease) return;
    try {
      await this.pool.flush(this.lease);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
  }

  /** Free the decoder; audio not yet flushed is discarded and no more events are emitted. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.lease ? this.pool.closeStream(this.lease) : Promise.resolve();
    return this.closing;
  }

  /** @internal From the pool: decoder events, in order. */
  onEvents(events: DecoderEvent[]): void {
    if (this.closing || this.failure) return;
    for (const e of events) {
      if (e.type === "speechStarted") this.emit("speechStarted", e.timestamp);
      else if (e.type === "partial") this.emit("partial", e.hypothesis);
      else this.emit("final", e.hypothesis, { reason: e.reason });
    }
  }

  /** @internal From the pool: the decoder or its worker failed. */
  onError(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.failure || this.closing) return;
    this.failure = err;
    if (this.lease) void this.pool.closeStream(this.lease);
    // An 'error' event without a listener would throw and take the server down: report it instead.
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else console.error(`PocketSphinx stream failed with no 'error' listener: ${err.message}`);
  }
}
