/**
 * Messages between the engine (main thread) and its worker threads. Internal to the PocketSphinx
 * engine; both sides are built from this file, so no runtime validation happens at this boundary
 * (the public inputs are validated in `options.ts` / `index.ts` before anything is posted).
 */
import type { EngineHypothesis } from "../engine.js";
import type { DecoderEvent, DecoderTuning } from "./decoder.js";

/** `workerData` of every worker: what it needs to create decoders. */
export interface WorkerConfig {
  /** Directory holding `libpocketsphinx.so.3` and `libsphinxbase.so.3`. */
  libDir: string;
  /** `ps_init` arguments (`-hmm`, `-lm`, `-dict`). */
  decoderArgs: string[];
  tuning: DecoderTuning;
  /** Fresh decoders the worker keeps ready so a new stream does not wait ~0.3 s for `ps_init`. */
  spareDecoders: number;
}

/**
 * Slots of a stream's shared state (`Int32Array` over a `SharedArrayBuffer`, shared by the pool and
 * the worker): the worker reads them between messages, so a close takes effect before the stream's
 * backlog of `write` messages is decoded.
 */
export const StreamSlot = {
  /** 1 once the main thread has closed the stream: the worker skips its queued audio. */
  closed: 0,
  /** Samples posted and not yet decoded (or skipped): the pool adds on `write`, the worker subtracts. */
  queuedSamples: 1,
} as const;

/** Int32 slots in a stream's shared state. */
export const STREAM_SLOTS = 2;

/** Main thread → worker. `reqId` requests are answered by exactly one `reply`. */
export type ToWorker =
  | { op: "open"; reqId: number; id: number; state: Int32Array }
  | { op: "write"; id: number; pcm: Int16Array }
  | { op: "flush"; reqId: number; id: number }
  | { op: "close"; reqId: number; id: number }
  | { op: "transcribe"; reqId: number; pcm: Int16Array }
  | { op: "shutdown"; reqId: number };

/** Worker → main thread. Events of a stream are posted before the reply of a later request on it. */
export type FromWorker =
  | { type: "ready" }
  | { type: "initError"; message: string }
  | { type: "events"; id: number; events: DecoderEvent[] }
  | { type: "streamError"; id: number; message: string }
  | { type: "reply"; reqId: number; ok: true; result?: EngineHypothesis[] }
  | { type: "reply"; reqId: number; ok: false; message: string };
