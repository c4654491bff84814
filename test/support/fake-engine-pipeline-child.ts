/**
 * The pipeline's decode and transcribe stages (`openRecording`, `transcribeRecording`) with the
 * FakeCountingEngine (`fake-counting-engine.ts`), as a program for a child process, so a test can
 * read their VmRSS alone. Reads the recordings named by `WARM_FILE` and `LONG_FILE`: transcribes
 * the first, prints `{"phase":"warm"}`, waits 1 s (the test takes its baseline), transcribes the
 * second and prints `{"phase":"done","duration":…,"text":…}`.
 */
import { readFileSync } from "node:fs";
import { openRecording } from "../../src/server/pipeline/stages/decode";
import { transcribeRecording } from "../../src/server/pipeline/stages/transcribe";
import { FakeCountingEngine } from "./fake-counting-engine";

const engine = new FakeCountingEngine();
const meta = { call_id: "long-call", recording_url: "http://recorder.invalid/long.flac" };
const run = async (file: string) => transcribeRecording(engine, await openRecording(readFileSync(file), { maxAudioSeconds: 4 * 3600 }), meta);

await run(process.env.WARM_FILE!);
console.log(JSON.stringify({ phase: "warm" }));
await new Promise((r) => setTimeout(r, 1000));
const transcript = await run(process.env.LONG_FILE!);
console.log(JSON.stringify({ phase: "done", duration: transcript.duration, text: transcript.text }));
