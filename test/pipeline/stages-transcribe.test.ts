/**
 * Transcribe stage with the real PocketSphinx engine on real corpus speech, downloaded from the
 * local recordings server and decoded by the decode stage:
 * - the same recording (LibriSpeech 1272-128104-0000) as WAV, μ-law WAV, A-law WAV, MP3, FLAC and
 *   Ogg Opus must give similar words;
 * - a two-speaker stereo call BUILT FOR THIS TEST from real mono recordings (the corpus has no real
 *   stereo call with an exact transcript; see its README): agent (LJ Speech, a woman) on channel 0
 *   and customer (LibriSpeech, a man) on channel 1, in alternating turns with silence between. Every
 *   recognised word must land on its own speaker's channel and inside one of that channel's turns.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { analyzeTranscript } from "../../src/server/pipeline/stages/analyze";
import { decodeRecording } from "../../src/server/pipeline/stages/decode";
import { downloadRecording } from "../../src/server/pipeline/stages/download";
import { StageError } from "../../src/server/pipeline/stages/errors";
import { channelSpeakers, MIXED_SPEAKER, transcribeRecording } from "../../src/server/pipeline/stages/transcribe";
import type { RecordingReady } from "../../src/server/store/model";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { encodeWavPcm16 } from "../support/audio-encoders";
import { addEncodings, buildStereoCall, corpusDir, loadCorpusWav, startRecordingsServer, type Encoding, type RecordingsServer, type Turn } from "../support/recordings-server";

const manifest = loadManifest("read_en");
const ref = (file: string) => {
  const row = manifest.find((r) => r.file === file);
  if (!row || !row.referenceQuality.startsWith("exact")) throw new Error(`${file}: no exact reference`);
  return row.referenceText;
};

let engine: SpeechEngine;
let server: RecordingsServer;
let work: string;

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  server = await startRecordingsServer();
  work = await mkdtemp(join(tmpdir(), "callscribe-transcribe-"));
  await engine.ready();
});
afterAll(async () => {
  await engine?.close();
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function download(name: string): Promise<Uint8Array> {
  const { path } = await downloadRecording(server.fileUrl(name), join(work, name), { allowedHosts: [server.host], maxBytes: 50e6, timeoutMs: 10_000 });
  return new Uint8Array(await readFile(path));
}

function expectValid(transcript: Transcript): void {
  const result = validateContext(transcript);
  expect(result.valid ? "valid" : result.error).toBe("valid");
}

describe("transcribeRecording", () => {
  it("gets similar words from WAV, μ-law, A-law, MP3, FLAC and Ogg Opus of the same recording", async () => {
    const file = "librispeech/1272-128104-0000.wav";
    const names = await addEncodings(server, "librispeech-1272", await loadCorpusWav(join(corpusDir(), "read_en", file)));
    const meta: RecordingReady = { call_id: "call-formats", recording_url: server.fileUrl(names.wav) };
    const texts = {} as Record<Encoding, string>;
    for (const encoding of Object.keys(names) as Encoding[]) {
      const audio = await decodeRecording(await download(names[encoding]));
      const transcript = await transcribeRecording(engine, audio, { ...meta, recording_url: server.fileUrl(names[encoding]) });
      expectValid(transcript);
      expect(transcript.source).toBe("recording");
      expect(transcript.id.callId).toBe("call-formats");
      expect(transcript.provider).toEqual({ name: "pocketsphinx", model: "pocketsphinx-en-us" });
      expect(Math.abs((transcript.duration ?? 0) - 5.855)).toBeLessThan(0.3);
      expect(transcript.segments!.every((s) => s.speaker === MIXED_SPEAKER && s.channel === undefined)).toBe(true);
      texts[encoding] = transcript.segments!.map((s) => s.text).join(" ");
    }
    const wavWer = wordErrorRate(ref(file), texts.wav).wer;
    // DESIGN §5: PocketSphinx WER is 28–45 % on clean read speech.
    expect(wavWer, texts.wav).toBeLessThan(0.6);
    for (const encoding of ["mulaw", "alaw", "flac", "mp3", "ogg"] as const) {
      const vsWav = wordErrorRate(texts.wav, texts[encoding]).wer;
      const vsRef = wordErrorRate(ref(file), texts[encoding]).wer;
      // Lossless FLAC must give the very same words; lossy codecs may move a few.
      if (encoding === "flac") expect(texts.flac).toBe(texts.wav);
      expect(vsWav, `${encoding}: "${texts[encoding]}" vs wav "${texts.wav}"`).toBeLessThanOrEqual(0.35);
      expect(vsRef, encoding).toBeLessThanOrEqual(wavWer + 0.2);
    }
  }, 120_000); // six encodings of one recording through the real engine: 30 s is too short on a busy 2-core machine

  it("transcribes each channel of a two-speaker stereo call on its own and names the speakers", async () => {
    // Built from real mono recordings, one per channel, alternating turns (see the file comment).
    const clips = [
      { channel: 0 as const, file: "ljspeech/LJ001-0004.wav" },
      { channel: 1 as const, file: "librispeech/1272-128104-0000.wav" },
      { channel: 0 as const, file: "ljspeech/LJ001-0011.wav" },
    ];
    const loaded = await Promise.all(clips.map(async (c) => ({ ...c, audio: await loadCorpusWav(join(corpusDir(), "read_en", c.file), 16_000) })));
    const { audio, turns } = buildStereoCall(loaded);
    await server.addFile("stereo-call.wav", encodeWavPcm16(audio));
    const meta: RecordingReady = {
      call_id: "call-stereo-1",
      recording_url: server.fileUrl("stereo-call.wav"),
      agent: { name: "Alice Agent", email: "alice@example.com" },
      participants: [{ name: "Carl Customer", email: "carl@example.com", role: "customer" }],
      start_time: "2026-03-02T10:00:00Z",
    };
    const decoded = await decodeRecording(await download("stereo-call.wav"));
    expect(decoded.channels).toHaveLength(2);
    const transcript = await transcribeRecording(engine, decoded, meta);
    expectValid(transcript);
    const segments = transcript.segments!;
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(new Set(segments.map((s) => s.channel))).toEqual(new Set([0, 1]));
    for (const s of segments) expect(s.speaker).toBe(s.channel === 0 ? "Alice Agent" : "Carl Customer");
    // Time order across channels.
    for (let i = 1; i < segments.length; i++) expect(segments[i].start).toBeGreaterThanOrEqual(segments[i - 1].start);

    // Every word sits inside a turn of its own channel (PocketSphinx pads up to 0.2 s around speech).
    const inTurn = (t: number, channel: number, list: Turn[]) => list.some((turn) => turn.channel === channel && t >= turn.start - 0.3 && t <= turn.end + 0.3);
    let words = 0;
    for (const s of segments) {
      for (const w of s.words ?? []) {
        words++;
        expect(inTurn((w.start + w.end) / 2, s.channel!, turns), `"${w.word}" at ${w.start}s on channel ${s.channel}`).toBe(true);
      }
    }
    expect(words).toBeGreaterThan(20);

    // And each channel's words are that speaker's: closer to their own reference than to the other's.
    const channelText = (c: number) => segments.filter((s) => s.channel === c).map((s) => s.text).join(" ");
    const agentRef = `${ref(clips[0].file)} ${ref(clips[2].file)}`;
    const customerRef = ref(clips[1].file);
    expect(wordErrorRate(agentRef, channelText(0)).wer).toBeLessThan(0.6);
    expect(wordErrorRate(customerRef, channelText(1)).wer).toBeLessThan(0.6);
    expect(wordErrorRate(customerRef, channelText(0)).wer).toBeGreaterThan(0.9);
    expect(wordErrorRate(agentRef, channelText(1)).wer).toBeGreaterThan(0.9);

    expect(transcript.text.split("\n")[0]).toMatch(/^Alice Agent: /);
    expect(transcript.participants?.contacts.map((c) => c.name)).toEqual(["Alice Agent", "Carl Customer"]);
    expect(transcript.timeRange).toMatchObject({ startTime: "2026-03-02T10:00:00.000Z" });
    expect(transcript.id.transcriptId).toMatch(/^rec-[0-9a-f]{32}$/);

    // Talk time per speaker on this real two-channel transcript: each speaker's speech lies within
    // their turns, and talk plus silence never exceeds the call.
    const analysis = await analyzeTranscript(transcript);
    const turnSeconds = (c: number) => turns.filter((t) => t.channel === c).reduce((sum, t) => sum + t.end - t.start, 0);
    expect(Object.keys(analysis.talkTime).sort()).toEqual(["Alice Agent", "Carl Customer"]);
    expect(analysis.talkTime["Alice Agent"]).toBeGreaterThan(turnSeconds(0) * 0.6);
    expect(analysis.talkTime["Alice Agent"]).toBeLessThan(turnSeconds(0) + 0.8);
    expect(analysis.talkTime["Carl Customer"]).toBeGreaterThan(turnSeconds(1) * 0.6);
    expect(analysis.talkTime["Carl Customer"]).toBeLessThan(turnSeconds(1) + 0.4);
    expect(analysis.silenceSec).toBeGreaterThan(1.5); // 0.5 s lead + 0.8 s gaps at least
    expect(analysis.talkTime["Alice Agent"] + analysis.talkTime["Carl Customer"] + analysis.silenceSec).toBeCloseTo(transcript.duration!, 1);
  });

  it("names channels from participants' roles, with defaults", () => {
    expect(channelSpeakers({ call_id: "c", recording_url: "u" }, 2)).toEqual(["agent", "customer"]);
    expect(channelSpeakers({ call_id: "c", recording_url: "u", participants: [{ name: "Bo", role: "agent" }, { name: "Cy" }] }, 3)).toEqual(["Bo", "Cy", "channel 2"]);
  });

  it("reports an engine failure as a retryable StageError", async () => {
    const broken: SpeechEngine = {
      name: "broken", model: "none", languages: ["en"],
      ready: async () => undefined, createStream: async () => { throw new Error("no streams"); },
      transcribe: async () => { throw new Error("decoder crashed"); }, close: async () => undefined,
    };
    const err = await transcribeRecording(broken, { channels: [new Int16Array(16000)], sourceSampleRate: 8000, sourceChannels: 1, duration: 1, format: "wav/pcm", warnings: [], identicalChannels: false }, { call_id: "c", recording_url: "u" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StageError);
    expect(err).toMatchObject({ retryable: true, stage: "transcribe", message: expect.stringMatching(/decoder crashed/) });
  });
});
