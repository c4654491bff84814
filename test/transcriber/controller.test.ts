/**
 * The transcription session against the real speech server (buildServer + PocketSphinx) through
 * the real @deepgram/sdk client, on real read speech: interim and final results, the
 * fdc3.transcript it builds, live updates, the save step, and the failures a user can meet.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { validateContext, type Transcript } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { buildServer } from "../../src/server/app";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { float32ToInt16 } from "../../src/server/speech/audio/pcm";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { TranscriberController, type ControllerDeps, type SaveOutcome } from "../../src/transcriber/session/controller";
import { fileAudioSource } from "./file-audio-source";

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;

const clip = loadManifest("read_en").find((e) => e.file === "librispeech/1272-128104-0000.wav")!;
const speech = float32ToInt16(decodeWav(readFileSync(clip.path)).channels[0]!);
// One second of silence after the speech, as a call has pauses: lets the endpointer close the utterance.
const audio = new Int16Array(speech.length + 16000);
audio.set(speech);

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  server = buildServer({ engine });
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

function controller(overrides: Partial<ControllerDeps> = {}) {
  return new TranscriberController({
    speechBaseUrl: origin,
    validate: validateContext,
    openAudio: fileAudioSource(audio).open,
    now: () => new Date("2026-11-21T09:30:00.000Z"),
    ...overrides,
  });
}

/** Wait until the controller's status is one of `statuses`. */
function statusIn(c: TranscriberController, statuses: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (statuses.includes(c.getSnapshot().status)) {
        off();
        clearTimeout(timer);
        resolve(c.getSnapshot().status);
      }
    };
    const timer = setTimeout(() => {
      off();
      reject(new Error(`status stayed ${c.getSnapshot().status}, wanted ${statuses.join("|")}`));
    }, timeoutMs);
    const off = c.subscribe(check);
    check();
  });
}

describe("TranscriberController with the real server and SDK", () => {
  it("transcribes a call, streams live transcripts, builds a valid fdc3.transcript and saves it", async () => {
    const source = fileAudioSource(audio);
    const saved: Transcript[] = [];
    const c = controller({
      openAudio: source.open,
      saveTranscript: async (t): Promise<SaveOutcome> => {
        saved.push(t);
        return { appId: "notes-crm", status: "Created", message: "Saved as r-1" };
      },
    });
    const live: Transcript[] = [];
    c.onLiveTranscript((t) => live.push(t));
    const interims = new Set<string>();
    c.subscribe(() => {
      const i = c.getSnapshot().interim;
      if (i) interims.add(i);
    });
    const jane = { type: "fdc3.contact" as const, name: "Jane Doe", id: { email: "jane@example.com" } };

    await c.start({ source: "call", callId: "call-7", participants: [jane] });
    expect(c.getSnapshot().status).toBe("listening");
    await source.done;
    // The engine may lag the paced audio on a busy machine: wait for results while still listening.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no live transcript while listening")), 20_000);
      const tick = () => (live.length > 0 ? (clearTimeout(timer), resolve()) : setTimeout(tick, 50));
      tick();
    });
    const transcript = await c.stop();

    expect(interims.size).toBeGreaterThan(0);
    expect(validateContext(transcript)).toMatchObject({ valid: true });
    expect(transcript).toMatchObject({
      type: "fdc3.transcript",
      id: { callId: "call-7" },
      source: "call",
      language: "en",
      provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
      participants: { contacts: [jane] },
      timeRange: { startTime: "2026-11-21T09:30:00.000Z" },
    });
    // The server's Metadata reports all audio sent, 100 ms frames included the last short one.
    expect(transcript.duration).toBeCloseTo(audio.length / 16000, 1);
    const wer = wordErrorRate(clip.referenceText, transcript.text);
    expect(wer.wer, `hypothesis: ${transcript.text}`).toBeLessThan(0.6);
    const segments = transcript.segments!;
    expect(segments.length).toBeGreaterThan(0);
    for (const s of segments) {
      expect(s.speaker).toBe("agent");
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.words!.length).toBeGreaterThan(0);
      expect(s.words!.every((w) => w.start >= s.start - 1e-6 && w.end <= s.end + 1e-6)).toBe(true);
    }
    expect(segments[segments.length - 1]!.end).toBeLessThanOrEqual(transcript.duration! + 0.01);
    // Live updates came while the audio played (interim text included), and the last one is the final transcript.
    expect(live.length).toBeGreaterThan(1);
    expect(live[0]!.text.length).toBeGreaterThan(0);
    expect(live[live.length - 1]).toEqual(transcript);
    expect(live.every((t) => validateContext(t).valid)).toBe(true);

    expect(await statusIn(c, ["saved", "error"])).toBe("saved");
    expect(saved).toEqual([transcript]);
    expect(c.getSnapshot().save).toEqual({ state: "saved", appId: "notes-crm", status: "Created", message: "Saved as r-1" });
  });

  it("stops by itself when the audio source ends, as a dictation", async () => {
    const source = fileAudioSource(audio, 5, true);
    const c = controller({ openAudio: source.open });
    await c.start({ source: "dictation", participants: [] });
    expect(await statusIn(c, ["stopped", "error"])).toBe("stopped");
    const t = c.getSnapshot().transcript!;
    expect(t.source).toBe("dictation");
    expect(t.id).not.toHaveProperty("callId");
    expect(t.text.length).toBeGreaterThan(10);
  });

  it("shows the save failure when the CRM answers Failed, and refuses a second session while one runs", async () => {
    const source = fileAudioSource(audio.subarray(0, 16000 * 2), 5);
    const c = controller({
      openAudio: source.open,
      saveTranscript: async () => ({ appId: "acme-crm", status: "Failed", message: "no contact" }),
    });
    await c.start({ source: "dictation", participants: [] });
    await expect(c.start({ source: "dictation", participants: [] })).rejects.toThrow(/already transcribing a dictation/);
    await source.done;
    await c.stop();
    expect(await statusIn(c, ["saved", "error"])).toBe("error");
    expect(c.getSnapshot().save).toEqual({ state: "failed", error: "acme-crm: Failed (no contact)" });
  });

  it("starts the next session while the last one's save waits for the user, and keeps the new status", async () => {
    const short = audio.subarray(0, 16000 * 2);
    let release: (o: SaveOutcome) => void = () => undefined;
    const sources = [fileAudioSource(short, 5), fileAudioSource(short, 5)];
    let opened = 0;
    const c = controller({
      openAudio: (sink) => sources[opened++]!.open(sink),
      saveTranscript: () => new Promise<SaveOutcome>((resolve) => (release = resolve)),
    });
    await c.start({ source: "call", callId: "first", participants: [] });
    await sources[0]!.done;
    const first = await c.stop();
    expect(c.getSnapshot().status).toBe("saving");
    await c.start({ source: "call", callId: "second", participants: [] });
    expect(c.getSnapshot()).toMatchObject({ status: "listening", save: undefined, request: { callId: "second" } });
    release({ appId: "acme-crm", status: "Created" });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.getSnapshot().status).toBe("listening");
    expect(c.getSnapshot().notices.at(-1)).toBe(`earlier transcript ${first.id.transcriptId}: acme-crm answered Created`);
    await sources[1]!.done;
    await c.stop();
  });

  it("refuses a model the server does not have, with the server's reason, and ends in error", async () => {
    const source = fileAudioSource(audio);
    let captureStopped = false;
    const c = controller({
      openAudio: async (sink) => {
        const capture = await source.open(sink);
        return { stop: async () => ((captureStopped = true), capture.stop()) };
      },
    });
    // Our server accepts the WebSocket and then closes it with 1008 and the reason.
    await c.start({ source: "dictation", participants: [] }, { model: "no-such-model" }).catch(() => undefined);
    await statusIn(c, ["error"]);
    expect(c.getSnapshot().error).toMatch(/1008.*model/);
    expect(c.active).toBe(false);
    await source.done;
    expect(captureStopped).toBe(true);
  });

  it("reports an unreachable server without crashing", async () => {
    const c = controller({ speechBaseUrl: "http://127.0.0.1:9" });
    await expect(c.start({ source: "dictation", participants: [] })).rejects.toThrow(/127\.0\.0\.1:9\/v1\/listen unreachable/);
    expect(c.getSnapshot().status).toBe("error");
    // It can start again afterwards.
    expect(c.active).toBe(false);
  });
});
