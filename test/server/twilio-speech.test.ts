/**
 * Real speech through Twilio Media Streams (issue 8 §6): a two-party call built from two real
 * mono corpus recordings (`test/support/two-party-call.ts`: agent = LJ Speech on channel 0,
 * customer = LibriSpeech on channel 1, alternating turns), streamed as Twilio does — the agent's
 * leg as track `outbound`, the customer's as `inbound`, 20 ms base64 μ-law chunks with
 * timestamps, the two tracks interleaved — to `GET /v1/twilio/media` on the real server with the
 * real PocketSphinx engine, four times faster than real time.
 *
 * Checked: every final word comes out on its own channel (`channel_index [c, 2]`) and inside a turn
 * of that channel's speaker; each channel's words are its own speaker's (closer to its reference
 * than to the other's); and each channel's transcript equals, within 10% of words
 * (`wordErrorRate` ≤ 0.10), what `POST /v1/listen?multichannel=true&encoding=mulaw&sample_rate=8000&channels=2`
 * gives for the same stereo audio. The call ends done with both parties named.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wordErrorRate } from "../../src/eval/wer";
import type { LiveCallEvent } from "../../src/server/live-calls/types";
import type { PrerecordedResponse, ResultsMessage, ResultWord } from "../../src/server/speech/protocol";
import { buildTwoPartyCall, type TwoPartyCall } from "../support/two-party-call";
import { streamCall, TwilioMediaClient } from "../support/twilio-media-client";
import { startServer, type RunningServer } from "./helpers";

const TOKEN = "twilio-speech-auth-token-0123456789";
/** Tolerance for word times at a turn's edges, seconds (10 ms frames, VAD padding, resampler delay). */
const EDGE_S = 0.35;

let server: RunningServer;
let call: TwoPartyCall;
let legs: [Uint8Array, Uint8Array];

beforeAll(async () => {
  call = await buildTwoPartyCall();
  const frames = call.stereoMulaw.length / 2;
  legs = [new Uint8Array(frames), new Uint8Array(frames)];
  for (let i = 0; i < frames; i++) {
    legs[0][i] = call.stereoMulaw[2 * i]!;
    legs[1][i] = call.stereoMulaw[2 * i + 1]!;
  }
  server = await startServer({ twilio: { authToken: TOKEN } });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

function insideOwnTurn(w: ResultWord, channel: number): boolean {
  const mid = (w.start + w.end) / 2;
  return call.turns.some((t) => t.channel === channel && mid >= t.start - EDGE_S && mid <= t.end + EDGE_S);
}

describe("a two-party call through Twilio Media Streams (real PocketSphinx)", () => {
  it("each channel's words on its own channel, within its speaker's turns, and equal to POST /v1/listen's within 10% of words", async () => {
    const callId = `twilio-speech-${process.pid}`;
    const events: LiveCallEvent[] = [];
    const client = await TwilioMediaClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/twilio/media`, authToken: TOKEN });
    if (!(client instanceof TwilioMediaClient)) throw new Error(`refused: ${client.status} ${client.body}`);
    client.connected();
    const callSid = client.start({ customParameters: { callId, agentName: "Alice Agent", customerName: "Bob Customer", from: "+15551230000", to: "+15559870000" } });
    while (!(await server.app.liveCalls.knows(callId))) await new Promise((r) => setTimeout(r, 20));
    const ended = new Promise<Extract<LiveCallEvent, { type: "CallEnded" }>>((resolve) => {
      void server.app.liveCalls.subscribe(callId, 0, ({ event }) => {
        events.push(event);
        if (event.type === "CallEnded") resolve(event);
      });
    });
    await streamCall(client, legs[0], legs[1], { speed: 4 });
    client.stop(callSid);
    const [closed, end] = await Promise.all([client.closed, ended]);
    expect(closed.code).toBe(1000);
    expect(end.status).toBe("done");

    const started = events.find((e) => e.type === "CallStarted") as Extract<LiveCallEvent, { type: "CallStarted" }>;
    expect(started.call.speakers).toEqual(["Alice Agent", "Bob Customer"]);
    expect(started.call.roles).toEqual(["agent", "customer"]);

    const finals = events.filter((e): e is ResultsMessage => e.type === "Results" && e.is_final);
    const words: ResultWord[][] = [[], []];
    for (const r of finals) {
      expect(r.channel_index[1]).toBe(2);
      words[r.channel_index[0]]!.push(...r.channel.alternatives[0]!.words);
    }
    const live = words.map((ws) => ws.map((w) => w.word).join(" "));

    const qs = new URLSearchParams({ multichannel: "true", channels: "2", encoding: "mulaw", sample_rate: "8000" });
    const res = await fetch(`${server.baseUrl}/v1/listen?${qs}`, { method: "POST", body: Buffer.from(call.stereoMulaw), headers: { "content-type": "application/octet-stream" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PrerecordedResponse;
    const batch = body.results.channels.map((c) => c.alternatives[0]!.words.map((w) => w.word).join(" "));

    for (const ch of [0, 1]) {
      expect(words[ch]!.length, `channel ${ch} has words`).toBeGreaterThanOrEqual(5);
      const stray = words[ch]!.filter((w) => !insideOwnTurn(w, ch));
      expect(stray, `channel ${ch}: words outside its speaker's turns`).toEqual([]);
      expect(wordErrorRate(call.references[ch], live[ch]!).wer, `channel ${ch}: its own speaker's words`).toBeLessThan(wordErrorRate(call.references[1 - ch], live[ch]!).wer);
      const vsBatch = wordErrorRate(batch[ch]!, live[ch]!);
      console.info(`twilio channel ${ch}: ${words[ch]!.length} words; WER vs POST ${vsBatch.wer.toFixed(3)}; vs reference ${wordErrorRate(call.references[ch], live[ch]!).wer.toFixed(3)}`);
      expect(vsBatch.wer, `channel ${ch}: Twilio live vs POST /v1/listen\n live:  ${live[ch]}\n batch: ${batch[ch]}`).toBeLessThanOrEqual(0.1);
    }
    // The stored transcript: both parties' segments on their channels, named.
    const segments = end.transcript?.segments ?? [];
    expect(new Set(segments.map((s) => s.channel))).toEqual(new Set([0, 1]));
    for (const s of segments) expect(s.speaker).toBe(s.channel === 0 ? "Alice Agent" : "Bob Customer");
  }, 240_000);
});
