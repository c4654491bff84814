/**
 * Local two-channel capture (issue 8 §3: a webcast tab plus the microphone) through the
 * controller, below the browser: the interleaved frames the tab-capture worklet makes
 * (multichannel.test.ts checks that part) are played from a stereo call built of two real
 * recordings, streamed by the real SDK to the real server (`multichannel=true&channels=2`,
 * PocketSphinx). Each channel's words come out on its own channel, within its speaker's turns,
 * named "Webcast" and "You". Also: a call with no stream on the server falls back to local
 * capture, and the UI's note says so.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { validateContext, type Transcript } from "../../src/contracts";
import { wordErrorRate } from "../../src/eval/wer";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { TranscriberController, type OpenAudioOptions } from "../../src/transcriber/session/controller";
import { fileAudioSource } from "./file-audio-source";
import { buildStereoCall, insideTurn, type StereoCall } from "./stereo-call";

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
let call: StereoCall;

beforeAll(async () => {
  call = await buildStereoCall();
  engine = createPocketSphinxEngine();
  server = buildServer({ engine });
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
}, 60_000);

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

describe("tab + microphone: two channels through /v1/listen (real server and SDK)", () => {
  it("transcribes each channel on its own, named Webcast and You, within its speaker's turns", async () => {
    const source = fileAudioSource(call.pcm, 25, true, 2);
    const asked: OpenAudioOptions[] = [];
    const saved: Transcript[] = [];
    const c = new TranscriberController({
      speechBaseUrl: origin,
      validate: validateContext,
      openAudio: (sink, options) => (asked.push(options), source.open(sink)),
      saveTranscript: async (t) => (saved.push(t), { appId: "notes-crm", status: "Created" }),
    });
    c.selectCapture("tab+microphone");
    await c.start({ source: "dictation", participants: [] });
    expect(asked).toEqual([{ source: "tab+microphone", channels: 2 }]);
    expect(c.getSnapshot()).toMatchObject({ status: "listening", audioSource: "tab+microphone", channels: [{ name: "Webcast" }, { name: "You" }] });
    await source.done; // the source ends by itself: the session stops
    const t = await c.stop();
    expect(validateContext(t)).toMatchObject({ valid: true });
    const segments = t.segments ?? [];
    for (const ch of [0, 1]) {
      const mine = segments.filter((s) => s.channel === ch);
      expect(mine.length, `channel ${ch} has segments`).toBeGreaterThan(0);
      expect(mine.every((s) => s.speaker === (ch === 0 ? "Webcast" : "You"))).toBe(true);
      expect(mine.filter((s) => !insideTurn(call, ch, s.start, s.end, 1)), `channel ${ch}: segments outside its turns`).toEqual([]);
      const text = mine.map((s) => s.text).join(" ");
      // Its own speaker's words, not the other's.
      expect(wordErrorRate(call.refs[ch]!, text).wer).toBeLessThan(wordErrorRate(call.refs[1 - ch]!, text).wer);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(saved).toHaveLength(1);
  }, 90_000);

  it("a call the server has no stream for: local capture, and the note says so", async () => {
    const source = fileAudioSource(call.pcm.filter((_, i) => i % 2 === 0).subarray(0, 16000), 10);
    const c = new TranscriberController({ speechBaseUrl: origin, validate: validateContext, openAudio: source.open, callStreamWaitSeconds: 0 });
    await c.start({ source: "call", callId: "no-such-call", participants: [] });
    expect(c.getSnapshot()).toMatchObject({
      status: "listening",
      audioSource: "microphone",
      audioNote: "no call audio stream from the telephony platform for this call; using the microphone",
    });
    expect(c.getSnapshot().notices.at(-1)).toBe("no call audio stream from the telephony platform for this call; using the microphone");
    await source.done;
    await c.stop();
  }, 30_000);
});
