/**
 * Recordings transcribed chunk by chunk (`RecordingTranscription`), so that memory does not grow
 * with a recording's duration (issue 7 item 8):
 *
 * - {@link streamedRecording}: on an engine's live stream, in fixed blocks. Finals are collected as they come (those
 *   with words, as `transcribe` keeps them) and the stream is flushed at the end. Backpressure:
 *   `write` waits while the stream reports more than `maxQueuedSeconds` of audio not yet decoded,
 *   so the decoder never runs more than a few seconds ahead of the engine. For engines whose
 *   stream gives the same finals as `transcribe` (PocketSphinx: the same decoder and VAD either way).
 * - {@link openRecordingTranscription}: the engine's own `openRecording` when it has one (every
 *   engine here: PocketSphinx on its live stream as above; Whisper with the VAD and packing of its
 *   `transcribe`, window by window, `whisper/recording.ts`; the Deepgram relay as one streamed
 *   pre-recorded request, `deepgram/recording.ts`), else the chunks joined and passed to
 *   `transcribe` once, which holds 32 KB per second of audio.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { EngineHypothesis, RecognizeOptions, RecognizerStream, RecordingTranscription, SpeechEngine } from "./engine";

/** Audio a recording may have queued in the engine before `write` waits, seconds. */
export const DEFAULT_MAX_QUEUED_SECONDS = 5;

/** How often a waiting `write` checks the engine's queue again, ms. */
const QUEUE_POLL_MS = 10;

/**
 * A chunked transcription for `engine`: `engine.openRecording` when it has one, else joined and
 * transcribed whole (see the module doc).
 * @throws Error when the engine refuses the options or cannot start
 */
export async function openRecordingTranscription(engine: SpeechEngine, options: RecognizeOptions = {}): Promise<RecordingTranscription> {
  if (engine.openRecording) return engine.openRecording(options);
  return bufferedRecording(engine, options);
}

/** Collects the chunks and calls `engine.transcribe` once on the joined audio. */
function bufferedRecording(engine: SpeechEngine, options: RecognizeOptions): RecordingTranscription {
  let parts: Int16Array[] = [];
  let length = 0;
  return {
    async write(pcm) {
      parts.push(pcm);
      length += pcm.length;
    },
    async finish() {
      const pcm = new Int16Array(length);
      let o = 0;
      for (const p of parts) {
        pcm.set(p, o);
        o += p.length;
      }
      parts = [];
      return engine.transcribe(pcm, options);
    },
    async close() {
      parts = [];
    },
  };
}

/** Samples per write to the stream (2 s at 16 kHz): see {@link StreamedRecordingOptions.blockSamples}. */
export const DEFAULT_BLOCK_SAMPLES = 32_000;

/** Options of {@link streamedRecording}. */
export interface StreamedRecordingOptions {
  /** `write` waits while the stream's `queuedSeconds` is above this, seconds. Default {@link DEFAULT_MAX_QUEUED_SECONDS}. */
  maxQueuedSeconds?: number;
  /**
   * The audio goes to the stream in blocks of exactly this many samples (the last one shorter),
   * whatever sizes the decoder hands on. PocketSphinx decodes each write in 100 ms steps from its
   * start and checks its VAD between steps, so utterance boundaries (and words) depend on where
   * writes begin; blocks that are multiples of 100 ms starting at 0 give the steps `transcribe`
   * takes, hence its utterances. Default {@link DEFAULT_BLOCK_SAMPLES}.
   */
  blockSamples?: number;
}

/** A recording transcription on an open live stream (which it owns and closes). */
export function streamedRecording(stream: RecognizerStream, options: StreamedRecordingOptions = {}): RecordingTranscription {
  const maxQueuedSeconds = options.maxQueuedSeconds ?? DEFAULT_MAX_QUEUED_SECONDS;
  const blockSamples = options.blockSamples ?? DEFAULT_BLOCK_SAMPLES;
  let block = new Int16Array(blockSamples);
  let filled = 0;
  const finals: EngineHypothesis[] = [];
  let failure: Error | undefined;
  stream.on("final", (h: EngineHypothesis) => {
    if (h.words.length > 0) finals.push(h);
  });
  stream.on("error", (err: Error) => {
    failure ??= err;
  });
  return {
    async write(pcm) {
      if (failure) throw failure;
      for (let o = 0; o < pcm.length; ) {
        const n = Math.min(block.length - filled, pcm.length - o);
        block.set(pcm.subarray(o, o + n), filled);
        filled += n;
        o += n;
        if (filled < block.length) break;
        stream.write(block);
        block = new Int16Array(blockSamples); // a fresh one: the engine may keep the one written
        filled = 0;
        while ((stream.queuedSeconds ?? 0) > maxQueuedSeconds) {
          if (failure) throw failure;
          await sleep(QUEUE_POLL_MS);
        }
        if (failure) throw failure;
      }
    },
    async finish() {
      try {
        if (failure) throw failure;
        if (filled > 0) stream.write(block.subarray(0, filled));
        filled = 0;
        await (stream.finish ? stream.finish() : stream.flush());
        if (failure) throw failure;
        return finals;
      } finally {
        await stream.close();
      }
    },
    close: () => stream.close(),
  };
}

/**
 * Transcribe the first `channels` planes of a chunked decode, one {@link RecordingTranscription}
 * per channel, all fed in step (each chunk is written to every channel before the next is decoded,
 * so the slowest channel sets the pace). Planes past `channels` are ignored (a copy of channel 0).
 * @param decode runs the decoder, awaiting its sink for each chunk (`ChunkedEngineAudio.decode`)
 * @returns each channel's utterances, in order
 * @throws what the decoder or the engine throws; every transcription is closed then
 */
export async function transcribeChunked(
  engine: SpeechEngine,
  decode: (onChunk: (planes: Int16Array[]) => Promise<void>) => Promise<void>,
  channels: number,
  options: RecognizeOptions = {},
): Promise<EngineHypothesis[][]> {
  const opened = await Promise.allSettled(Array.from({ length: channels }, () => openRecordingTranscription(engine, options)));
  const transcriptions = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  try {
    const refused = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (refused) throw refused.reason;
    await decode(async (planes) => {
      await Promise.all(transcriptions.map((t, c) => t.write(planes[c])));
    });
    return await Promise.all(transcriptions.map((t) => t.finish()));
  } finally {
    await Promise.all(transcriptions.map((t) => t.close().catch(() => undefined)));
  }
}
