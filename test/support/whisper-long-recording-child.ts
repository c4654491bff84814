/**
 * Whisper on a long recording, as a program for a child process so a test can read its VmRSS
 * alone (`test/server/whisper-long-recording-memory.test.ts`). The engine is the real whisper.cpp
 * addon with the synthetic complete model in `MODELS_DIR` (`whisper-synth.en`, one worker).
 *
 * 1. prints `{"phase":"ready"}` once the model is loaded, waits 1 s, then runs the chunked path as
 *    the pipeline runs it: `openRecording` (decode stage: checked, no samples kept) then
 *    `transcribeRecording` (decoded chunk by chunk into `WhisperEngine.openRecording`), on
 *    `WARM_FILE`; prints `{"phase":"warm"}` and waits 1 s;
 * 2. the same on `LONG_FILE`; prints `{"phase":"chunked",…}`, waits 1 s;
 * 3. for contrast, the whole-buffer path on `LONG_FILE`: `decodeRecording` (all of it as PCM16)
 *    and `WhisperEngine.transcribe`; prints `{"phase":"whole",…}` with whether both paths gave the
 *    same utterances and the WER between their words.
 */
import { readFileSync } from "node:fs";
import { decodeRecording, openRecording } from "../../src/server/pipeline/stages/decode";
import { transcribeRecording } from "../../src/server/pipeline/stages/transcribe";
import { createWhisperEngine } from "../../src/server/speech/engines/whisper/index";
import { wordErrorRate } from "../../src/eval/wer";

const engine = createWhisperEngine({ modelsDir: process.env.MODELS_DIR!, model: "whisper-synth.en", threads: 2, poolSize: 1 });
await engine.ready();
const meta = { call_id: "long-call", recording_url: "http://recorder.invalid/long.flac" };
const chunked = async (file: string) => transcribeRecording(engine, await openRecording(readFileSync(file), { maxAudioSeconds: 4 * 3600 }), meta);
const pause = () => new Promise((r) => setTimeout(r, 1000));

console.log(JSON.stringify({ phase: "ready" }));
await pause();
await chunked(process.env.WARM_FILE!);
console.log(JSON.stringify({ phase: "warm" }));
await pause();
const t0 = performance.now();
const viaChunks = await chunked(process.env.LONG_FILE!);
const segments = viaChunks.segments ?? [];
console.log(JSON.stringify({ phase: "chunked", duration: viaChunks.duration, segments: segments.length, lastStart: segments.at(-1)?.start ?? 0, seconds: (performance.now() - t0) / 1000 }));
await pause();
const audio = await decodeRecording(readFileSync(process.env.LONG_FILE!), { maxAudioSeconds: 4 * 3600 });
const whole = await engine.transcribe(audio.channels[0]!);
const round = (s: number) => Math.round(s * 1000) / 1000;
// The transcript rounds times to ms and keeps the words: compare on that.
const wholeWords = whole.flatMap((h) => h.words.map((w) => `${w.word}@${round(w.start)}`));
const chunkWords = segments.flatMap((s) => (s.words ?? []).map((w) => `${w.word}@${w.start}`));
console.log(
  JSON.stringify({
    phase: "whole",
    segments: whole.length,
    sameWords: JSON.stringify(wholeWords) === JSON.stringify(chunkWords),
    wer: wordErrorRate(whole.map((h) => h.text).join(" "), segments.map((s) => s.text).join(" ")).wer,
    words: wholeWords.length,
  }),
);
await engine.close();
