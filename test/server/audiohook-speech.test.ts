/**
 * Real speech through AudioHook: a two-party stereo call built from two real mono corpus
 * recordings (agent = LJ Speech on `internal`, customer = LibriSpeech on `external`, alternating
 * turns with 0.8 s pauses, 8 kHz μ-law) streamed by the spec-written test client over
 * `GET /v1/audiohook` in 100 ms frames, in the wire order `["external","internal"]` (so the server
 * reorders), as fast as the server's flow control lets it, into the real hub and the real
 * PocketSphinx engine. Checked: the transcript `event` messages back to the client carry the
 * words, each channel's words on its own `channelId` and inside its speaker's turns; the call's
 * stored transcript names both parties by channel; and each channel's transcript equals what
 * `POST /v1/listen` (multichannel, mulaw, 8000 Hz, 2 channels) gives for the same audio within
 * 10 % of words (WER between the two ≤ 0.10 per channel).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wordErrorRate } from "../../src/eval/wer";
import type { PrerecordedResponse } from "../../src/server/speech/protocol";
import { buildTwoPartyCall, customerFirst, type CallTurn } from "../support/two-party-call";
import { AudiohookTestClient, pcmu, secondsOf, type ServerMsg } from "../support/audiohook-client";
import { startTestCalls, type TestCalls } from "../support/audiohook-calls";
import { startServer, type RunningServer } from "./helpers";

const RATE = 8000;
const API_KEY = "audiohook-speech-key";
/** Tolerance for word times at a turn's edges, seconds. */
const EDGE_S = 0.35;

let server: RunningServer;
let calls: TestCalls;
/** Interleaved μ-law in our channel order (agent, customer), and the wire order (customer, agent). */
let agentFirst: Uint8Array;
let wire: Uint8Array;
let turns: CallTurn[];
const refs: [string, string] = ["", ""];

beforeAll(async () => {
  // Agent LJ Speech, customer LibriSpeech, alternating turns (test/support/two-party-call.ts).
  const call = await buildTwoPartyCall();
  turns = call.turns;
  refs[0] = call.references[0];
  refs[1] = call.references[1];
  agentFirst = call.stereoMulaw;
  wire = customerFirst(agentFirst);
  // The spy wraps the server's own hub (created by buildServer), bound once the server exists.
  server = await startServer({ audiohook: { apiKey: API_KEY, openCall: (start) => calls.openCall(start) } });
  calls = startTestCalls((start) => server.app.liveCalls.openCall(start));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const inOwnTurn = (mid: number, channel: number) => turns.some((t) => t.channel === channel && mid >= t.start - EDGE_S && mid <= t.end + EDGE_S);

describe("a two-party call through AudioHook on the real engine", () => {
  it("events carry each party's words on its own channel, within its turns, matching POST /v1/listen within 10 % of words", async () => {
    const conversationId = randomUUID();
    const c = await AudiohookTestClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/audiohook`, apiKey: API_KEY });
    const opened = await c.open({
      conversationId,
      media: [pcmu(["external", "internal"])],
      participant: { id: randomUUID(), ani: "+14155550100", aniName: "Bob Customer", dnis: "+18005550199" },
      language: "en-US",
    });
    expect(opened.type).toBe("opened");
    await c.streamAudio(wire, { frameMs: 100, speed: 0 });
    expect(c.position).toBeCloseTo(wire.length / 2 / RATE, 3);
    const closed = await c.close("end", 180_000);
    expect(closed.type).toBe("closed");
    await c.hangUp();
    expect(c.of("disconnect")).toEqual([]);

    // The transcript events the platform gets: channelId indexes opened.media[0].channels.
    const events = c.of("event").flatMap((m: ServerMsg) => m.parameters.entities as { type: string; data: any }[]); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(events.length).toBeGreaterThan(0);
    const byCallChannel: [string[], string[]] = [[], []];
    for (const e of events) {
      expect(e.type).toBe("transcript");
      expect(e.data.isFinal).toBe(true);
      const callChannel = e.data.channelId === 1 ? 0 : 1; // channels ["external","internal"]: 0 = customer, 1 = agent
      const interp = e.data.alternatives[0].interpretations[0];
      expect(interp.type).toBe("display");
      byCallChannel[callChannel]!.push(interp.transcript);
      for (const t of interp.tokens) {
        const mid = secondsOf(t.offset) + secondsOf(t.duration) / 2;
        expect(inOwnTurn(mid, callChannel), `"${t.value}" at ${mid}s on channel ${callChannel}`).toBe(true);
      }
    }
    const viaAudiohook = byCallChannel.map((ts) => ts.join(" "));

    // The same audio through POST /v1/listen.
    const qs = new URLSearchParams({ multichannel: "true", channels: "2", encoding: "mulaw", sample_rate: "8000" });
    const res = await fetch(`${server.baseUrl}/v1/listen?${qs}`, { method: "POST", body: Buffer.from(agentFirst), headers: { "content-type": "application/octet-stream" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PrerecordedResponse;
    const viaPost = body.results.channels.map((ch) => ch.alternatives[0]!.transcript);
    for (const ch of [0, 1]) {
      const agreement = wordErrorRate(viaPost[ch]!, viaAudiohook[ch]!).wer;
      console.info(`channel ${ch}: WER(POST, AudioHook) = ${agreement.toFixed(3)}, WER(reference, AudioHook) = ${wordErrorRate(refs[ch]!, viaAudiohook[ch]!).wer.toFixed(3)}`);
      expect(agreement, `channel ${ch}: POST "${viaPost[ch]}" vs AudioHook "${viaAudiohook[ch]}"`).toBeLessThanOrEqual(0.1);
      // Each channel carries its own speaker's words.
      expect(wordErrorRate(refs[ch]!, viaAudiohook[ch]!).wer).toBeLessThan(wordErrorRate(refs[1 - ch]!, viaAudiohook[ch]!).wer);
    }

    // The call's final transcript: both parties' segments on their channels, the customer named.
    const end = await (await calls.opened(conversationId)).event("CallEnded");
    expect(end.status).toBe("done");
    const segments = end.transcript?.segments ?? [];
    expect(new Set(segments.map((s) => s.channel))).toEqual(new Set([0, 1]));
    for (const s of segments) if (s.channel === 1) expect(s.speaker).toBe("Bob Customer");
  }, 300_000);
});
