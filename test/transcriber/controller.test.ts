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
import { SaveCancelledError, TranscriberController, type ControllerDeps, type SaveOutcome } from "../../src/transcriber/session/controller";
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
    attachToCalls: false, // microphone sessions; attaching to a call's stream: call-attach.test.ts
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

  it("reports an unreachable server by its address, without crashing", async () => {
    const c = controller({ speechBaseUrl: "http://127.0.0.1:9" });
    // Not "speech server closed the stream (code 1000)": nothing listens there, and the user is told where.
    await expect(c.start({ source: "dictation", participants: [] })).rejects.toThrow("cannot reach the speech server at http://127.0.0.1:9 (");
    expect(c.getSnapshot().status).toBe("error");
    expect(c.getSnapshot().error).toMatch(/^cannot reach the speech server at http:\/\/127\.0\.0\.1:9 \(is it running/);
    // It can start again afterwards.
    expect(c.active).toBe(false);
  });

  it("does not raise SaveTranscript when nothing was said, and says so", async () => {
    // Two seconds of silence: hung up before anyone spoke.
    const source = fileAudioSource(new Int16Array(16000 * 2), 5, true);
    let raised = 0;
    const c = controller({
      openAudio: source.open,
      saveTranscript: async () => (raised++, { appId: "notes-crm", status: "Created" }),
    });
    await c.start({ source: "call", callId: "silent-1", participants: [] });
    expect(await statusIn(c, ["stopped", "error", "saving"])).toBe("stopped");
    await new Promise((r) => setTimeout(r, 50));
    expect(raised).toBe(0);
    expect(c.getSnapshot()).toMatchObject({ status: "stopped", transcriptEmpty: true, save: { state: "not-saved", reason: "nothing-said" } });
    expect(c.getSnapshot().transcript!.text).toBe("");
    expect(await c.save()).toEqual({ state: "not-saved", reason: "nothing-said" });
    expect(raised).toBe(0);
  });

  it("treats a cancelled app choice as not saved, offers to save again, and a later success clears the old error", async () => {
    const source = fileAudioSource(audio.subarray(0, 16000 * 3), 5);
    const answers: Array<() => Promise<SaveOutcome>> = [
      async () => {
        throw new SaveCancelledError();
      },
      async () => {
        throw new Error("SaveTranscript via acme-crm: the app failed to save");
      },
      async () => ({ appId: "notes-crm", appTitle: "Notes CRM", status: "Created" }),
    ];
    const c = controller({ openAudio: source.open, saveTranscript: () => answers.shift()!() });
    await c.start({ source: "dictation", participants: [] });
    await source.done;
    await c.stop();
    // Cancelled: back to stopped, no error banner, the transcript kept for another try.
    expect(await statusIn(c, ["stopped", "error", "saved"])).toBe("stopped");
    await new Promise((r) => setTimeout(r, 20));
    expect(c.getSnapshot()).toMatchObject({ status: "stopped", save: { state: "not-saved", reason: "cancelled" } });
    expect(c.getSnapshot().error).toBeUndefined();
    // A real failure shows an error…
    expect(await c.save()).toMatchObject({ state: "failed" });
    expect(c.getSnapshot().error).toBe("save failed: SaveTranscript via acme-crm: the app failed to save");
    // …which the next successful save clears.
    expect(await c.save()).toMatchObject({ state: "saved", appTitle: "Notes CRM" });
    expect(c.getSnapshot()).toMatchObject({ status: "saved", save: { state: "saved", status: "Created" } });
    expect(c.getSnapshot().error).toBeUndefined();
  });

  it("saves the text the user saw at hang-up, even when the last final does not arrive in time", async () => {
    const source = fileAudioSource(audio, 100); // about real time
    const saved: Transcript[] = [];
    const c = controller({
      openAudio: source.open,
      // No time for the server's last final: what the user sees is all there is.
      finishTimeoutSeconds: 0.001,
      saveTranscript: async (t) => (saved.push(t), { appId: "notes-crm", status: "Created" }),
    });
    let shown = "";
    c.subscribe(() => {
      const s = c.getSnapshot();
      if (s.status === "listening" || s.status === "stopping") shown = [s.finalText, s.interim].filter((x) => x).join(" ");
    });
    await c.start({ source: "call", callId: "mid-word", participants: [] });
    // Hang up mid-sentence: once an interim hypothesis shows.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no interim text")), 20_000);
      const off = c.subscribe(() => {
        if (c.getSnapshot().interim) (clearTimeout(timer), off(), resolve());
      });
    });
    const transcript = await c.stop();
    expect(shown.length).toBeGreaterThan(0);
    expect(transcript.text.split(/\s+/)).toEqual(shown.split(/\s+/));
    expect(await statusIn(c, ["saved", "error"])).toBe("saved");
    expect(saved[0]!.text).toBe(transcript.text);
    expect(c.getSnapshot().finalText).toBe(transcript.text);
  });
});
