/**
 * Messages between the Whisper engine (main thread) and its worker threads. Internal: both sides are
 * built from this file, and public inputs are validated (ajv, `options.ts`) before anything is posted.
 */
import type { DecodedWords } from "./words.js";

/** `workerData` of every worker. */
export interface WorkerConfig {
  /** Model file, already checked by `inspectGgmlModel`. */
  modelPath: string;
  /** End-of-text token id of the model's vocabulary (special tokens are ≥ this). */
  eotId: number;
}

/** What one decode should do. */
export interface DecodeParams {
  /** ISO 639-1 code, or `auto` to detect (multilingual models only). */
  language: string;
  /** Decoding prompt (keyterms, earlier text); empty for none. */
  prompt: string;
  /** Encoder context; 0 = full 30 s window. */
  audioCtx: number;
  /** Beam size; 1 = greedy. */
  beamSize: number;
  /** CPU threads for this decode. */
  threads: number;
  /** Seconds to add to every time (where the buffer starts in the stream). */
  offsetSec: number;
}

/** A decode's result: words (times from stream start) and timing. */
export interface DecodeResult extends DecodedWords {
  /** Wall time of `whisper_full` in the worker, ms. */
  computeMs: number;
}

/** Main thread → worker. Each request gets exactly one `reply`. */
export type ToWorker =
  | { op: "decode"; reqId: number; pcm: Float32Array; params: DecodeParams }
  | { op: "shutdown"; reqId: number };

/** Worker → main thread. */
export type FromWorker =
  | { type: "ready"; loadMs: number }
  | { type: "initError"; message: string }
  | { type: "reply"; reqId: number; ok: true; result?: DecodeResult }
  | { type: "reply"; reqId: number; ok: false; message: string };
