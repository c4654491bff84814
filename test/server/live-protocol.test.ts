/**
 * Deepgram live-protocol behaviour with the real engine and the real SDK on corpus speech:
 * Finalize, KeepAlive, endpointing (numeric and false), utterance_end_ms, vad_events,
 * multichannel, other encodings and rates (μ-law, 48 kHz), a WAV stream without `encoding`, and
 * frames that split samples.
 */
import { readFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { float32ToInt16, int16ToFloat32 } from "../../src/server/speech/audio/pcm";
import { resample } from "../../src/server/speech/audio/resample";
import { WaveFile } from "../../src/server/speech/audio/wavefile-interop";
import type { ResultsMessage, UtteranceEndMessage } from "../../src/server/speech/protocol";
import {
  describeErrors,
  validateMetadata,
  validateResults,
  validateSpeechStarted,
  validateUtteranceEnd,
} from "../../src/server/speech/validators";
import { chunkPcm, loadPcm16k, sleep, startServer, streamWithSdk, type RunningServer } from "./helpers";

const CORPUS = corpusDir();
const A = { path: `${CORPUS}/read_en/librispeech/1272-128104-0000.wav`, ref: "MISTER QUILTER IS THE APOSTLE OF THE MIDDLE CLASSES AND WE ARE GLAD TO WELCOME HIS GOSPEL" };
const B = { path: `${CORPUS}/debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav`, ref: "and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them" };

let server: RunningServer;
let pcmA: Int16Array;
let pcmB: Int16Array;
/** A, 1.5 s of silence, B, 1.5 s of silence: two utterances with clear pauses. */
let twoUtterances: Int16Array;

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const silence = (seconds: number, rate = 16000) => new Int16Array(Math.round(seconds * rate));
const results = (messages: Record<string, unknown>[]) => messages.filter((m) => m.type === "Results") as unknown as ResultsMessage[];
const bytesOf = (pcm: Int16Array) => new Uint8Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));

function expectAllValid(messages: Record<string, unknown>[]): void {
  for (const m of messages) {
    const v =
      m.type === "Results" ? validateResults
      : m.type === "Metadata" ? validateMetadata
      : m.type === "UtteranceEnd" ? validateUtteranceEnd
      : m.type === "SpeechStarted" ? validateSpeechStarted
      : null;
    expect(v, `unexpected message type ${String(m.type)}`).not.toBeNull();
    expect(v!(m), `${String(m.type)}: ${describeErrors(v!)}`).toBe(true);
  }
}

beforeAll(async () => {
  server = await startServer();
  pcmA = await loadPcm16k(A.path);
  pcmB = await loadPcm16k(B.path);
  twoUtterances = concat(pcmA, silence(1.5), pcmB, silence(1.5));
});

afterAll(async () => {
  await server?.close();
});

describe("control messages", () => {
  it("Finalize flushes: a from_finalize final arrives mid-stream, also when nothing was pending; KeepAlive changes nothing", async () => {
    const client = new DeepgramClient({ apiKey: "no-key-needed", baseUrl: server.baseUrl });
    const conn = await client.listen.v1.connect({ model: "pocketsphinx", encoding: "linear16", sample_rate: 16000, reconnectAttempts: 0 });
    const messages: Record<string, unknown>[] = [];
    const closed = new Promise<{ code?: number }>((resolve) => conn.on("close", (e: { code?: number }) => resolve(e)));
    conn.on("message", (m: unknown) => messages.push(m as Record<string, unknown>));
    conn.connect();
    await conn.waitForOpen();
    const waitFor = async (pred: () => boolean) => {
      const until = Date.now() + 30_000;
      while (!pred() && Date.now() < until) await sleep(20);
      expect(pred()).toBe(true);
    };

    conn.sendFinalize({ type: "Finalize" }); // nothing sent yet
    await waitFor(() => results(messages).some((r) => r.from_finalize));
    const empty = results(messages).find((r) => r.from_finalize)!;
    expect(empty.is_final).toBe(true);
    expect(empty.channel.alternatives[0].transcript).toBe("");

    conn.sendKeepAlive({ type: "KeepAlive" });
    const half = chunkPcm(pcmA).slice(0, 35); // 3.5 s: mid-sentence
    for (const c of half) conn.sendMedia(c);
    conn.sendKeepAlive({ type: "KeepAlive" });
    conn.sendFinalize({ type: "Finalize" });
    await waitFor(() => results(messages).filter((r) => r.from_finalize).length === 2);
    const flushed = results(messages).filter((r) => r.from_finalize)[1];
    expect(flushed.is_final).toBe(true);
    expect(flushed.speech_final).toBe(false);
    expect(flushed.channel.alternatives[0].words.length).toBeGreaterThan(3);
    expect(flushed.start + flushed.duration).toBeLessThanOrEqual(3.5 + 0.01);

    for (const c of chunkPcm(pcmA).slice(35)) conn.sendMedia(c);
    conn.sendCloseStream({ type: "CloseStream" });
    expect((await closed).code).toBe(1000);
    expectAllValid(messages);
    const finals = results(messages).filter((r) => r.is_final);
    // The second half arrives after the flush point, with later word times.
    const last = finals[finals.length - 1];
    expect(last.from_finalize).toBe(false);
    expect(last.channel.alternatives[0].words[0].start).toBeGreaterThanOrEqual(3.4);
    const text = finals.map((r) => r.channel.alternatives[0].transcript).filter(Boolean).join(" ");
    expect(wordErrorRate(A.ref, text).wer).toBeLessThanOrEqual(0.5);
    expect(messages[messages.length - 1].type).toBe("Metadata");
  });
});

describe("endpointing, utterance end, VAD events", () => {
  it("default endpointing: each utterance gets its own speech_final before CloseStream; SpeechStarted and UtteranceEnd follow the speech", async () => {
    const out = await streamWithSdk(server.baseUrl, twoUtterances, {
      query: { vad_events: "true", utterance_end_ms: 1000, interim_results: "true" },
    });
    expect(out.close.code).toBe(1000);
    expectAllValid(out.messages);
    const speechFinals = results(out.messages).filter((r) => r.is_final && r.speech_final && r.channel.alternatives[0].words.length > 0);
    expect(speechFinals.length).toBeGreaterThanOrEqual(2);
    // The first utterance was finalized on its own by endpointing (CloseStream would have merged both).
    expect(speechFinals[0].from_finalize).toBe(false);
    expect(speechFinals[0].channel.alternatives[0].words.at(-1)!.end).toBeLessThan(pcmA.length / 16000 + 0.3);

    const started = out.messages.filter((m) => m.type === "SpeechStarted");
    expect(started.length).toBeGreaterThanOrEqual(2);
    const ends = out.messages.filter((m) => m.type === "UtteranceEnd") as unknown as UtteranceEndMessage[];
    expect(ends.length).toBeGreaterThanOrEqual(1);
    // UtteranceEnd names the end of the last finalized word before it.
    const endIdx = out.messages.indexOf(ends[0] as unknown as Record<string, unknown>);
    const before = results(out.messages.slice(0, endIdx)).filter((r) => r.is_final && r.channel.alternatives[0].words.length);
    expect(before.length).toBeGreaterThan(0);
    expect(ends[0].last_word_end).toBeCloseTo(before.at(-1)!.channel.alternatives[0].words.at(-1)!.end, 3);
  });

  it("endpointing=false: no final until CloseStream, then one final with both utterances", async () => {
    const out = await streamWithSdk(server.baseUrl, twoUtterances, { query: { endpointing: false, interim_results: "true" } });
    expect(out.close.code).toBe(1000);
    expectAllValid(out.messages);
    const finals = results(out.messages).filter((r) => r.is_final);
    expect(finals).toHaveLength(1);
    expect(finals[0].speech_final).toBe(true);
    const words = finals[0].channel.alternatives[0].words;
    expect(words[0].start).toBeLessThan(1);
    expect(words.at(-1)!.start).toBeGreaterThan(pcmA.length / 16000 + 1);
    // Interim results cover everything since the last final: late ones include the first utterance.
    const interims = results(out.messages).filter((r) => !r.is_final);
    expect(interims.at(-1)!.channel.alternatives[0].words[0].start).toBeLessThan(1);
    expect(wordErrorRate(`${A.ref} ${B.ref}`, out.finals[0]).wer).toBeLessThanOrEqual(0.5);
  });

  it("endpointing=3000 holds speech_final until three seconds of silence were received", async () => {
    const out = await streamWithSdk(server.baseUrl, concat(pcmA, silence(4)), { query: { endpointing: 3000 } });
    expectAllValid(out.messages);
    const finals = results(out.messages).filter((r) => r.is_final && r.channel.alternatives[0].words.length);
    expect(finals.length).toBeGreaterThanOrEqual(1);
    expect(finals[0].speech_final).toBe(true);
    // interim_results was not asked for: finals only.
    expect(results(out.messages).every((r) => r.is_final)).toBe(true);
  });
});

describe("channels, encodings and rates", () => {
  it("multichannel=true: one engine stream per channel, Results carry channel_index [i, 2]; without it the channels are mixed", async () => {
    const n = Math.max(pcmA.length, pcmB.length);
    const stereo = new Int16Array(n * 2);
    for (let i = 0; i < n; i++) {
      stereo[2 * i] = pcmA[i] ?? 0;
      stereo[2 * i + 1] = pcmB[i] ?? 0;
    }
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stereo.length; i += 3200) chunks.push(bytesOf(stereo.subarray(i, i + 3200)));
    const split = await streamWithSdk(server.baseUrl, chunks, { query: { multichannel: "true", channels: 2 } });
    expect(split.close.code).toBe(1000);
    expectAllValid(split.messages);
    const idx = new Set(results(split.messages).map((r) => r.channel_index.join(",")));
    expect(idx).toEqual(new Set(["0,2", "1,2"]));
    expect(wordErrorRate(A.ref, split.finals[0]).wer).toBeLessThanOrEqual(0.5);
    expect(wordErrorRate(B.ref, split.finals[1]).wer).toBeLessThanOrEqual(0.5);
    const meta = split.messages.find((m) => m.type === "Metadata")!;
    expect(meta.channels).toBe(2);
    expect(meta.duration as number).toBeCloseTo(n / 16000, 2);

    const mixed = await streamWithSdk(server.baseUrl, chunks, { query: { channels: 2 } });
    expect(new Set(results(mixed.messages).map((r) => r.channel_index.join(",")))).toEqual(new Set(["0,1"]));
  });

  it("48 kHz linear16 is resampled: same words and times as 16 kHz", async () => {
    const pcm48 = float32ToInt16(await resample(int16ToFloat32(pcmA), 16000, 48000));
    const at16 = await streamWithSdk(server.baseUrl, pcmA);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < pcm48.length; i += 4800) chunks.push(bytesOf(pcm48.subarray(i, i + 4800)));
    const at48 = await streamWithSdk(server.baseUrl, chunks, { query: { sample_rate: 48000 } });
    expectAllValid(at48.messages);
    expect(wordErrorRate(A.ref, at48.finals[0]).wer).toBeLessThanOrEqual(0.4);
    const w16 = results(at16.messages).filter((r) => r.is_final).flatMap((r) => r.channel.alternatives[0].words);
    const w48 = results(at48.messages).filter((r) => r.is_final).flatMap((r) => r.channel.alternatives[0].words);
    expect(Math.abs(w48[0].start - w16[0].start)).toBeLessThan(0.1);
    expect(Math.abs(w48.at(-1)!.end - w16.at(-1)!.end)).toBeLessThan(0.1);
    expect(at48.messages.find((m) => m.type === "Metadata")!.duration as number).toBeCloseTo(pcmA.length / 16000, 2);
  });

  it("μ-law at 16 kHz streams like linear16", async () => {
    const wav = new WaveFile();
    wav.fromScratch(1, 16000, "16", pcmA);
    wav.toMuLaw();
    const mulaw = (wav.data as { samples: Uint8Array }).samples;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < mulaw.length; i += 1600) chunks.push(mulaw.slice(i, i + 1600));
    const out = await streamWithSdk(server.baseUrl, chunks, { query: { encoding: "mulaw" } });
    expectAllValid(out.messages);
    expect(wordErrorRate(A.ref, out.finals[0]).wer).toBeLessThanOrEqual(0.4);
  });

  it("without encoding, a streamed WAV file is read from its header (22.05 kHz LJ Speech)", async () => {
    const file = readFileSync(`${CORPUS}/read_en/ljspeech/LJ001-0001.wav`);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < file.length; i += 4410) chunks.push(file.subarray(i, i + 4410));
    const out = await streamWithSdk(server.baseUrl, chunks, { query: { encoding: undefined, sample_rate: undefined } });
    expect(out.close.code).toBe(1000);
    expectAllValid(out.messages);
    const ref = "Printing, in the only sense with which we are at present concerned, differs from most if not from all the arts and crafts represented in the Exhibition";
    expect(wordErrorRate(ref, out.finals[0]).wer).toBeLessThanOrEqual(0.6);
    expect(out.messages.find((m) => m.type === "Metadata")!.duration as number).toBeCloseTo(9.655, 1);
  });

  it("frames that split samples (333-byte chunks) give the same transcript as 100 ms chunks", async () => {
    const bytes = bytesOf(pcmB);
    const odd: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 333) odd.push(bytes.subarray(i, i + 333));
    const [even, split] = await Promise.all([streamWithSdk(server.baseUrl, pcmB), streamWithSdk(server.baseUrl, odd)]);
    expect(split.close.code).toBe(1000);
    expect(split.finals).toEqual(even.finals);
    expect(split.finals[0].length).toBeGreaterThan(0);
  });
});
