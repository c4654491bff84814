/**
 * Worker thread hosting one whisper.cpp context (the model is loaded once per worker). It runs one
 * decode at a time, in the order the pool sends them; `whisper_full` itself runs on libuv's thread
 * pool with `threads` CPU threads, so neither this thread nor the main thread blocks on it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadAddon, type NativeWhisperModel, type WhisperAddon } from "./addon.js";
import { nativeParams } from "./native-params.js";
import type { DecodeParams, DecodeResult, FromWorker, ToWorker, WorkerConfig } from "./protocol.js";
import { segmentsToWords, type WhisperSegment } from "./words.js";

if (!parentPort) throw new Error("whisper/worker.ts must run in a worker thread");
const port = parentPort;
const config = workerData as WorkerConfig;
const post = (msg: FromWorker) => port.postMessage(msg);

let addon: WhisperAddon;
let model: NativeWhisperModel;

/**
 * whisper.cpp skips input shorter than 1 s of mel frames ("input is too short", whisper_full_with_state)
 * and a short utterance ("yes": ~0.4 s of speech plus the VAD's rolls) would vanish: pad with silence.
 */
const MIN_SAMPLES = Math.round(1.2 * 16_000);

function decode(input: Float32Array, p: DecodeParams): Promise<DecodeResult> {
  const handle = model.handle;
  if (!handle) return Promise.reject(new Error("the Whisper model was freed"));
  const durationSec = input.length / 16_000;
  let pcm = input;
  if (pcm.length < MIN_SAMPLES) {
    pcm = new Float32Array(MIN_SAMPLES);
    pcm.set(input);
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    addon.transcribe(
      handle,
      pcm,
      nativeParams(p),
      (result) => {
        if (result instanceof Error) {
          reject(new Error(`whisper_full failed: ${result.message}`));
          return;
        }
        const computeMs = performance.now() - started;
        resolve({ ...segmentsToWords(result as WhisperSegment[], p.offsetSec, durationSec, config.eotId), computeMs });
      },
      () => undefined,
    );
  });
}

let queue: Promise<void> = Promise.resolve();

function handle(msg: ToWorker): void {
  // One decode at a time: whisper.cpp threads are sized for one decode per worker.
  queue = queue.then(async () => {
    try {
      if (msg.op === "decode") {
        const result = await decode(msg.pcm, msg.params);
        post({ type: "reply", reqId: msg.reqId, ok: true, result });
      } else {
        if (!model.freed) await model.free();
        post({ type: "reply", reqId: msg.reqId, ok: true });
      }
    } catch (err) {
      post({ type: "reply", reqId: msg.reqId, ok: false, message: (err as Error).message });
    }
  });
}

(async () => {
  const started = performance.now();
  addon = loadAddon();
  model = await addon.WhisperModel.load(config.modelPath, false);
  port.on("message", handle);
  post({ type: "ready", loadMs: performance.now() - started });
})().catch((err: unknown) => post({ type: "initError", message: (err as Error).message }));
