/**
 * Worker-thread host for PocketSphinx decoders. Each worker loads the libraries once and hosts any
 * number of decoders: one per open stream and one per running `transcribe`, all driven from this
 * thread's message loop, so the blocking C calls never touch the main event loop.
 *
 * Every stream and every `transcribe` gets a freshly created decoder, never one another stream used:
 * PocketSphinx adapts its cepstral-mean prior (`CMN_PRIOR`) across utterances, so a reused decoder
 * would carry one caller's audio statistics into the next call and the same recording could give a
 * different transcript depending on history (seen here: "an illness those" vs "until this blows" for
 * the same clip). To hide `ps_init`'s ~0.3 s, the worker keeps `spareDecoders` fresh ones ready and
 * builds a replacement in the background whenever one is taken.
 *
 * Memory: after freeing a decoder the worker calls glibc's `malloc_trim(0)`, because a thread's malloc
 * arena otherwise keeps the ~90 MB a decoder used, and RSS would stay at its high-water mark.
 *
 * A closed stream's audio still queued as `write` messages is skipped, not decoded: the pool sets the
 * stream's shared `closed` slot before posting `close`, and the worker checks it for every `write`.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { EngineHypothesis } from "../engine.js";
import { PocketSphinxDecoder } from "./decoder.js";
import { loadPocketSphinxLib, type PocketSphinxLib } from "./ffi.js";
import { StreamSlot, type FromWorker, type ToWorker, type WorkerConfig } from "./protocol.js";

/** `transcribe` decodes this many samples (2 s, ~0.4 s of CPU) between yields, so live streams on this worker keep flowing. */
const TRANSCRIBE_SLICE_SAMPLES = 32_000;

if (!parentPort) throw new Error("pocketsphinx/worker.ts must run in a worker thread");
const port = parentPort;
const config = workerData as WorkerConfig;
const post = (msg: FromWorker) => port.postMessage(msg);

let lib: PocketSphinxLib;
/** Open streams: their decoder and the state shared with the pool (see `StreamSlot`). */
const streams = new Map<number, { decoder: PocketSphinxDecoder; state: Int32Array }>();
const spares: PocketSphinxDecoder[] = [];
let spareScheduled = false;
let shuttingDown = false;

function newDecoder(): PocketSphinxDecoder {
  return PocketSphinxDecoder.create(lib, config.decoderArgs, config.tuning);
}

function acquire(): PocketSphinxDecoder {
  const decoder = spares.pop() ?? newDecoder();
  scheduleSpare();
  return decoder;
}

/** Top the spares up one at a time, after the messages already queued, so a burst of opens is not delayed by them. */
function scheduleSpare(): void {
  if (spareScheduled || shuttingDown || spares.length >= config.spareDecoders) return;
  spareScheduled = true;
  setImmediate(() => {
    spareScheduled = false;
    if (shuttingDown || spares.length >= config.spareDecoders) return;
    try {
      spares.push(newDecoder());
    } catch {
      return; // the next acquire() reports the failure to whoever asked
    }
    scheduleSpare();
  });
}

/** The stream was closed before its decoder was created. */
class StreamAbortedError extends Error {
  constructor() {
    super("stream closed before its decoder was created");
  }
}

function reply(reqId: number, work: () => EngineHypothesis[] | void): void {
  try {
    const result = work();
    post(result ? { type: "reply", reqId, ok: true, result } : { type: "reply", reqId, ok: true });
  } catch (err) {
    post({ type: "reply", reqId, ok: false, message: (err as Error).message });
  }
}

function dropStream(id: number): void {
  const stream = streams.get(id);
  streams.delete(id);
  if (!stream) return;
  try {
    stream.decoder.free();
  } catch {
    // freeing is best effort; the stream is gone either way
  }
  lib.trimHeap();
}

async function transcribe(pcm: Int16Array): Promise<EngineHypothesis[]> {
  const decoder = acquire();
  const finals: EngineHypothesis[] = [];
  const keep = (events: ReturnType<PocketSphinxDecoder["process"]>) => {
    for (const e of events) if (e.type === "final" && e.hypothesis.words.length > 0) finals.push(e.hypothesis);
  };
  try {
    decoder.begin();
    for (let offset = 0; offset < pcm.length; offset += TRANSCRIBE_SLICE_SAMPLES) {
      keep(decoder.process(pcm.subarray(offset, offset + TRANSCRIBE_SLICE_SAMPLES)));
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (shuttingDown) throw new Error("PocketSphinx engine closed during transcription");
    }
    keep(decoder.flush());
    return finals;
  } finally {
    decoder.free();
    lib.trimHeap();
  }
}

function handle(msg: ToWorker): void {
  switch (msg.op) {
    case "open":
      reply(msg.reqId, () => {
        if (streams.has(msg.id)) throw new Error(`stream ${msg.id} is already open`);
        // The caller gave up (its client left) while this request queued: build no decoder for it.
        if (Atomics.load(msg.state, StreamSlot.closed) === 1) throw new StreamAbortedError();
        const decoder = acquire();
        try {
          decoder.begin();
        } catch (err) {
          decoder.free();
          throw err;
        }
        streams.set(msg.id, { decoder, state: msg.state });
      });
      return;
    case "write": {
      const stream = streams.get(msg.id);
      if (!stream) return; // closed meanwhile: discard
      try {
        if (Atomics.load(stream.state, StreamSlot.closed) === 1) return; // closed on the main thread: skip the backlog
        const events = stream.decoder.process(msg.pcm);
        if (events.length) post({ type: "events", id: msg.id, events });
      } catch (err) {
        dropStream(msg.id);
        post({ type: "streamError", id: msg.id, message: (err as Error).message });
      } finally {
        Atomics.sub(stream.state, StreamSlot.queuedSamples, msg.pcm.length);
      }
      return;
    }
    case "flush":
      reply(msg.reqId, () => {
        const stream = streams.get(msg.id);
        if (!stream) throw new Error(`stream ${msg.id} is not open`);
        try {
          const events = stream.decoder.flush();
          if (events.length) post({ type: "events", id: msg.id, events });
        } catch (err) {
          dropStream(msg.id);
          throw err;
        }
      });
      return;
    case "close":
      reply(msg.reqId, () => dropStream(msg.id));
      return;
    case "transcribe":
      transcribe(msg.pcm).then(
        (result) => post({ type: "reply", reqId: msg.reqId, ok: true, result }),
        (err: Error) => post({ type: "reply", reqId: msg.reqId, ok: false, message: err.message }),
      );
      return;
    case "shutdown":
      shuttingDown = true;
      reply(msg.reqId, () => {
        for (const id of [...streams.keys()]) dropStream(id);
        for (const spare of spares.splice(0)) spare.free();
        lib.trimHeap();
      });
      return;
  }
}

try {
  lib = loadPocketSphinxLib(config.libDir);
  // Build the first spare now: it proves the model loads, and the first stream starts at once.
  if (config.spareDecoders > 0) spares.push(newDecoder());
  else newDecoder().free();
  port.on("message", handle);
  post({ type: "ready" });
} catch (err) {
  post({ type: "initError", message: (err as Error).message });
}
