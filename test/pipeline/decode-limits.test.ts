/**
 * The recorded-call pipeline (real PGlite, real stages, real PocketSphinx) on recordings that must
 * be refused at decode as permanent failures, with no retries and the reason on the call (issue 7
 * items 8 and 11), and on the corpus's jfk.flac, a mono recording stored as stereo, which must be
 * transcribed once as a mono call (item 18):
 * - a 0.3 MB FLAC of silence declaring 4.5 h, and the same stream with its length hidden, with
 *   CALLSCRIBE_MAX_AUDIO_SECONDS=120;
 * - a real corpus WAV whose header claims 1 Hz (at 2902bfe: retried, then a 500-style engine error) or 100 Hz.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { MIXED_SPEAKER } from "../../src/server/pipeline/stages/transcribe";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { silentFlac, withUnknownLength, withWavSampleRate } from "../support/audio-bombs";
import { CORPUS_DIR, startRecordingServer, testConfig, waitFor } from "./jobs-support";

const dir = mkdtempSync(join(tmpdir(), "callscribe-decode-limits-"));
const engine = createPocketSphinxEngine({ poolSize: 1 });
const config = testConfig({ dataDir: dir, maxAudioSeconds: 120 });
const JFK_REF = "and so my fellow americans ask not what your country can do for you ask what you can do for your country";
let recordings: Awaited<ReturnType<typeof startRecordingServer>>;
let pipeline: Pipeline;

beforeAll(async () => {
  const wav = readFileSync(join(CORPUS_DIR, "read_en/librispeech/1272-128104-0000.wav"));
  const bomb = await silentFlac(4.5 * 3600);
  recordings = await startRecordingServer({
    "bomb.flac": bomb,
    "hidden-bomb.flac": withUnknownLength(bomb),
    "1hz.wav": withWavSampleRate(wav, 1),
    "100hz.wav": withWavSampleRate(wav, 100),
    "jfk.flac": readFileSync(join(CORPUS_DIR, "read_en/other/jfk.flac")),
  });
  Object.assign(config, { allowedHosts: [recordings.host] });
  pipeline = await startPipeline({
    engine,
    config,
    role: "server",
    workers: 2,
    queueOptions: { retryLimit: 3, retryDelaySec: 1, pollIntervalSec: 0.5, maintenanceIntervalSec: 5, jobTimeoutSec: 240 },
  });
}, 180_000);

afterAll(async () => {
  await pipeline?.stop();
  await engine.close();
  await recordings?.close();
  rmSync(dir, { recursive: true, force: true });
});

const finished = (callId: string) => async () => {
  const c = await pipeline.calls.getCall(callId);
  return c && (c.status === "done" || c.status === "failed") ? c : undefined;
};
const retryCount = async (callId: string) =>
  (await pipeline.db.query<{ retry_count: number }>("SELECT retry_count FROM pgboss.job WHERE name = $1 AND data->>'call_id' = $2", [RECORDING_QUEUE, callId])).rows[0]
    ?.retry_count;

describe("pipeline decode limits", () => {
  const refused: [string, string, RegExp][] = [
    ["bomb-1", "bomb.flac", /^decode: the flac header declares 16200 s of audio, longer than the limit of 120 s \(2(\.0)? min\)/],
    ["bomb-2", "hidden-bomb.flac", /^decode: the audio is longer than the limit of 120 s .*CALLSCRIBE_MAX_AUDIO_SECONDS/],
    ["rate-1", "1hz.wav", /^decode: the wav\/pcm audio's sample rate of 1 Hz is not supported: use 8000–48000 Hz$/],
    ["rate-100", "100hz.wav", /^decode: the wav\/pcm audio's sample rate of 100 Hz is not supported: use 8000–48000 Hz$/],
  ];
  for (const [callId, name, reason] of refused) {
    it(`${name}: a permanent decode failure, no retries, with the reason on the call`, async () => {
      await pipeline.enqueueRecording({ call_id: callId, recording_url: recordings.url(name) }, `msg_${callId}`);
      const call = await waitFor(finished(callId), 120_000, `call ${callId} to finish`);
      expect(call.status).toBe("failed");
      expect(call.reason).toMatch(reason);
      expect(call.stages.decode).toMatchObject({ status: "failed", attempts: 1 });
      expect(call.stages.transcribe.status).toBe("pending");
      expect(await retryCount(callId)).toBe(0);
    }, 150_000);
  }

  it("transcribes jfk.flac (the same speech on both channels) once, as a mono call: no line twice, one speaker", async () => {
    await pipeline.enqueueRecording(
      { call_id: "jfk-1", recording_url: recordings.url("jfk.flac"), agent: { name: "Alice Agent" }, participants: [{ name: "Carl Customer", role: "customer" }] },
      "msg_jfk1",
    );
    const call = await waitFor(finished("jfk-1"), 180_000, "call jfk-1 to finish");
    expect(call.reason).toBeUndefined();
    expect(call.status).toBe("done");
    const t = call.transcript!;
    expect(t.segments!.length).toBeGreaterThan(0);
    for (const s of t.segments!) {
      expect(s.speaker).toBe(MIXED_SPEAKER);
      expect(s.channel).toBeUndefined();
    }
    const lines = t.text.split("\n");
    expect(new Set(lines).size).toBe(lines.length);
    expect(t.text).not.toMatch(/Alice Agent|Carl Customer/);
    // The words are the speech, once: about as many as the reference has (22), not twice as many.
    const words = t.text.split(/\s+/).filter(Boolean);
    expect(words.length).toBeGreaterThan(10);
    expect(words.length).toBeLessThan(JFK_REF.split(" ").length * 1.5);
    // The summary is built from that one copy: no sentence of it appears twice.
    const sentences = (t.summary ?? "").split(/(?<=[.!?])\s+/).filter(Boolean);
    expect(sentences.length).toBeGreaterThan(0);
    expect(new Set(sentences).size).toBe(sentences.length);
  }, 240_000);
});
