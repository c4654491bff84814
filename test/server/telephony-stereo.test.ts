/**
 * Telephony audio on the real PocketSphinx engine: a two-speaker stereo call built here from two
 * real mono corpus recordings (the corpus has no real stereo call with an exact transcript, see
 * its README), 8 kHz G.711 μ-law, transcribed per channel with `multichannel=true`.
 *
 * The call: agent = LJ Speech (one female reader, `read_en/ljspeech`) on channel 0, customer =
 * LibriSpeech (a male reader, `read_en/librispeech`) on channel 1, alternating turns
 * agent, customer, agent, customer with 0.8 s pauses; while one speaks, the other channel is
 * silent (digital zero, as a PBX records the idle leg). Every file is resampled to 8 kHz with
 * libsamplerate-js and μ-law encoded; the server expands μ-law and resamples to 16 kHz itself.
 *
 * Checked, live (`/v1/listen` with the real SDK) and POST: results carry `channel_index [c, 2]`
 * (POST: one `results.channels[]` entry per channel); every word lies inside a turn of the speaker
 * of its channel; each channel's words match its own speaker's reference better than the other's;
 * the transcriber's TranscriptAccumulator names the segments "agent" and "customer" by channel.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WaveFile } from "wavefile";
import { exactReferenceEntries, type CorpusEntry } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { decodeAudioBody } from "../../src/server/speech/audio/decode";
import { downmix } from "../../src/server/speech/audio/pcm";
import { Quality, resample } from "../../src/server/speech/audio/resample";
import type { PrerecordedResponse, ResultsMessage, ResultWord } from "../../src/server/speech/protocol";
import { TranscriptAccumulator } from "../../src/transcriber/session/transcript-builder";
import type { ListenMessage } from "../../src/transcriber/session/listen-messages";
import { startServer, streamWithSdk, type RunningServer } from "./helpers";

const RATE = 8000;
const GAP_S = 0.8;
/** Tolerance for word times at a turn's edges, seconds (10 ms frames, VAD padding, resampler delay). */
const EDGE_S = 0.35;

interface Turn {
  channel: 0 | 1;
  start: number;
  end: number;
  entry: CorpusEntry;
}

let server: RunningServer;
let stereoMulaw: Uint8Array;
let turns: Turn[];
const refs: [string, string] = ["", ""];

async function mono8k(entry: CorpusEntry): Promise<Float32Array> {
  const { audio } = await decodeAudioBody(readFileSync(entry.path));
  return resample(downmix(audio.channels), audio.sampleRate, RATE, Quality.medium);
}

beforeAll(async () => {
  const read = exactReferenceEntries("read_en");
  const pick = (name: string) => read.find((e) => e.file.includes(name))!;
  const script: [0 | 1, CorpusEntry][] = [
    [0, pick("LJ001-0001")],
    [1, pick("1272-128104-0000")],
    [0, pick("LJ001-0004")],
    [1, pick("2412-153948-0000")],
  ];
  const pieces = await Promise.all(script.map(([, e]) => mono8k(e)));
  const total = pieces.reduce((a, p) => a + p.length + Math.round(GAP_S * RATE), Math.round(GAP_S * RATE));
  const channels = [new Float32Array(total), new Float32Array(total)];
  turns = [];
  let at = Math.round(GAP_S * RATE);
  script.forEach(([ch, entry], i) => {
    channels[ch]!.set(pieces[i]!, at);
    turns.push({ channel: ch, start: at / RATE, end: (at + pieces[i]!.length) / RATE, entry });
    refs[ch] = `${refs[ch]} ${entry.referenceText}`.trim();
    at += pieces[i]!.length + Math.round(GAP_S * RATE);
  });
  const wav = new WaveFile();
  const toI16 = (f: Float32Array) => Int16Array.from(f, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767))));
  wav.fromScratch(2, RATE, "16", [toI16(channels[0]!), toI16(channels[1]!)]);
  wav.toMuLaw();
  stereoMulaw = Uint8Array.from((wav as unknown as { data: { samples: Uint8Array } }).data.samples); // interleaved L R L R …, 1 byte each
  expect(stereoMulaw.length).toBe(total * 2);
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
});

function insideOwnTurn(w: ResultWord, channel: number): boolean {
  const mid = (w.start + w.end) / 2;
  return turns.some((t) => t.channel === channel && mid >= t.start - EDGE_S && mid <= t.end + EDGE_S);
}

function checkChannels(wordsByChannel: ResultWord[][], texts: string[]): void {
  expect(wordsByChannel).toHaveLength(2);
  for (const ch of [0, 1]) {
    const ws = wordsByChannel[ch]!;
    expect(ws.length, `channel ${ch} has words`).toBeGreaterThanOrEqual(5);
    const stray = ws.filter((w) => !insideOwnTurn(w, ch));
    expect(stray, `channel ${ch}: words outside its speaker's turns`).toEqual([]);
    // The words are the channel's own speaker's, not the other's.
    expect(wordErrorRate(refs[ch]!, texts[ch]!).wer).toBeLessThan(wordErrorRate(refs[1 - ch]!, texts[ch]!).wer);
  }
}

describe("two-speaker stereo call, 8 kHz μ-law, multichannel=true (real PocketSphinx)", () => {
  const query = { multichannel: "true", channels: "2", encoding: "mulaw", sample_rate: "8000" };

  it("live: every word lands on its own channel with channel_index [c, 2], and the transcript names agent and customer", async () => {
    const chunk = (RATE / 10) * 2; // 100 ms of stereo μ-law
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stereoMulaw.length; i += chunk) chunks.push(stereoMulaw.subarray(i, i + chunk));
    const out = await streamWithSdk(server.baseUrl, chunks, { query, timeoutMs: 120_000 });
    expect(out.close.code).toBe(1000);
    const finals = out.messages.filter((m) => m.type === "Results" && m.is_final) as unknown as ResultsMessage[];
    for (const r of finals) expect(r.channel_index[1]).toBe(2);
    const wordsByChannel: ResultWord[][] = [[], []];
    for (const r of finals) wordsByChannel[r.channel_index[0]]!.push(...r.channel.alternatives[0]!.words);
    checkChannels(wordsByChannel, out.finals);
    const meta = out.messages.find((m) => m.type === "Metadata") as { channels: number; duration: number };
    expect(meta.channels).toBe(2);
    expect(meta.duration).toBeCloseTo(stereoMulaw.length / 2 / RATE, 1);

    // The transcriber's transcript: segments by channel, named agent (0) and customer (1).
    const acc = new TranscriptAccumulator({ channelSpeakers: ["agent", "customer"], includeChannel: true });
    for (const m of out.messages) acc.handle(m as unknown as ListenMessage);
    const transcript = acc.toTranscript({ transcriptId: "t1", source: "call", language: "en" });
    const segments = transcript.segments ?? [];
    expect(new Set(segments.map((s) => s.speaker))).toEqual(new Set(["agent", "customer"]));
    for (const s of segments) {
      expect(s.speaker).toBe(s.channel === 0 ? "agent" : "customer");
      const mid = (s.start + s.end) / 2;
      expect(turns.some((t) => t.channel === s.channel && mid >= t.start - EDGE_S && mid <= t.end + EDGE_S), `segment "${s.text}"`).toBe(true);
    }
  }, 150_000);

  it("POST: one results.channels entry per channel, every word on its own channel", async () => {
    const qs = new URLSearchParams(query).toString();
    const res = await fetch(`${server.baseUrl}/v1/listen?${qs}`, { method: "POST", body: Buffer.from(stereoMulaw), headers: { "content-type": "application/octet-stream" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PrerecordedResponse;
    expect(body.metadata.channels).toBe(2);
    const alts = body.results.channels.map((c) => c.alternatives[0]!);
    checkChannels(alts.map((a) => a.words), alts.map((a) => a.transcript));
  }, 150_000);
});
