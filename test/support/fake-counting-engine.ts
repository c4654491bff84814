/**
 * FakeCountingEngine: a fake `SpeechEngine` (named so) for memory tests of the decoding path. It
 * recognises nothing: it counts the samples it is given and answers one "utterance" whose only
 * word is that count, so a test can check that every sample of a recording reached the engine
 * while measuring what decoding and the server hold, not what a real decoder needs (PocketSphinx
 * takes ~15 min of CPU for an hour of audio). It keeps no audio: whole buffers passed to
 * `transcribe` are dropped once counted; chunks go through `openRecording` on a counting stream
 * (`streamedRecording`, the path PocketSphinx takes).
 */
import { EventEmitter } from "node:events";
import type { EngineHypothesis, RecognizerStream, RecordingTranscription, SpeechEngine } from "../../src/server/speech/engines/engine";
import { streamedRecording } from "../../src/server/speech/engines/recording";

/** The one hypothesis the fake answers: its word is the number of samples received. */
export function countHypothesis(samples: number): EngineHypothesis {
  const end = samples / 16_000;
  return { text: String(samples), words: [{ word: String(samples), start: 0, end, confidence: 1 }], confidence: 1, start: 0, end };
}

/** A stream that counts what is written and, on flush, emits the count as a final. */
export class FakeCountingStream extends EventEmitter implements RecognizerStream {
  samples = 0;
  readonly queuedSeconds = 0;
  write(pcm: Int16Array): void {
    this.samples += pcm.length;
  }
  async flush(): Promise<void> {
    this.emit("final", countHypothesis(this.samples), { reason: "finalize" });
  }
  async close(): Promise<void> {}
}

/** See the module doc. */
export class FakeCountingEngine implements SpeechEngine {
  readonly name = "fake-counting";
  readonly model = "fake-counting";
  readonly languages = ["en"];
  async ready(): Promise<void> {}
  async createStream(): Promise<RecognizerStream> {
    return new FakeCountingStream();
  }
  async transcribe(pcm: Int16Array): Promise<EngineHypothesis[]> {
    return [countHypothesis(pcm.length)];
  }
  async openRecording(): Promise<RecordingTranscription> {
    return streamedRecording(new FakeCountingStream());
  }
  async close(): Promise<void> {}
}
