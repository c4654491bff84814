/**
 * Memory of the speech server under telephony-ingress abuse (the hardening rules: bound what a
 * client can make the server spend, measured as RSS from `/proc`), on `GET /v1/audiohook` and
 * `GET /v1/twilio/media`. The server runs alone in a child process
 * (`test/support/speech-server-process.ts`) with real PocketSphinx; the calls carry a real
 * two-party corpus call (`buildTwoPartyCall`, 8 kHz μ-law). Each attack is one client's:
 * - 150 upgrades with a wrong key or signature: all refused before the upgrade, RSS unchanged;
 * - 60 authenticated AudioHook calls opened at once, fed audio and dropped without `close`: the
 *   surplus is refused (503), every channel is freed (`/healthz` 0) and RSS comes back;
 * - one AudioHook call sending 10 minutes of audio as fast as the socket takes it: the server
 *   stops reading (back-pressure), so RSS during the flood stays within 60 MiB of the same call's
 *   peak before the flood (its two decoders at work);
 * - 60 Twilio streams started, fed media and dropped: the same as AudioHook.
 * Margins are stated per attack; a leak of one decoder per call (~90 MB) or of the flooded audio
 * (10 min of 16 kHz PCM is 19 MB per channel, as floats 38 MB) would exceed them.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSpeechServerProcess, type SpeechServerProcess } from "../support/speech-server-process";
import { AudiohookTestClient, pcmu, UpgradeRefused } from "../support/audiohook-client";
import { TwilioMediaClient, type UpgradeRefusal } from "../support/twilio-media-client";
import { buildTwoPartyCall, customerFirst } from "../support/two-party-call";
import { sleep } from "./helpers";

const AUDIOHOOK_KEY = "audiohook-memory-key-0123456789";
const TWILIO_TOKEN = "twilio-memory-auth-token-0123456789";

let server: SpeechServerProcess;
/** RSS after the warm-up call, MiB: the floor every attack is measured against. */
let baseline: number;
/** The call in AudioHook's wire order (customer, agent), interleaved μ-law at 8 kHz. */
let wire: Uint8Array;
let agentMulaw: Uint8Array;
let customerMulaw: Uint8Array;

/** Poll until `/healthz` counts no channels, or `ms` pass; returns the last count. */
async function channelsFreed(ms: number): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const { channels } = await server.health();
    if (channels === 0 || Date.now() > until) return channels;
    await sleep(250);
  }
}

/** RSS after the server had `ms` to settle (GC, freed decoders returned), MiB. */
async function settledRss(ms = 3_000): Promise<number> {
  await sleep(ms);
  return server.rssMiB();
}

beforeAll(async () => {
  const call = await buildTwoPartyCall();
  wire = customerFirst(call.stereoMulaw);
  agentMulaw = new Uint8Array(call.stereoMulaw.length / 2);
  customerMulaw = new Uint8Array(call.stereoMulaw.length / 2);
  for (let i = 0; i < agentMulaw.length; i++) {
    agentMulaw[i] = call.stereoMulaw[2 * i];
    customerMulaw[i] = call.stereoMulaw[2 * i + 1];
  }
  server = await startSpeechServerProcess({ CALLSCRIBE_MAX_LIVE_CHANNELS: "4", CALLSCRIBE_AUDIOHOOK_API_KEY: AUDIOHOOK_KEY, CALLSCRIBE_TWILIO_AUTH_TOKEN: TWILIO_TOKEN });
  // Warm up: one real AudioHook call, so the baseline holds a used decoder's heap and JIT.
  const c = await AudiohookTestClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/audiohook`, apiKey: AUDIOHOOK_KEY });
  await c.open({ conversationId: randomUUID(), media: [pcmu(["external", "internal"])] });
  await c.streamAudio(wire.subarray(0, 8000 * 2 * 3), { speed: 0 });
  await c.close();
  await c.hangUp();
  expect(await channelsFreed(20_000)).toBe(0);
  baseline = await settledRss();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe("unauthenticated upgrades", () => {
  it("150 upgrades with a wrong key or no signature are refused before the upgrade; RSS stays", async () => {
    const before = await settledRss(1_000);
    const outcomes = await Promise.all([
      ...Array.from({ length: 75 }, () =>
        AudiohookTestClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/audiohook`, apiKey: "wrong-key-0123456789" }).then(
          (c) => {
            c.ws.terminate();
            return 101;
          },
          (e: unknown) => (e instanceof UpgradeRefused ? e.status : -1),
        ),
      ),
      ...Array.from({ length: 75 }, (_, i) =>
        TwilioMediaClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/twilio/media`, ...(i % 2 ? { signature: "bm90IGEgc2lnbmF0dXJl" } : {}) }).then((r) => {
          if (r instanceof TwilioMediaClient) {
            r.drop();
            return 101;
          }
          return (r as UpgradeRefusal).status;
        }),
      ),
    ]);
    expect(outcomes.filter((s) => s === 101)).toEqual([]);
    expect(new Set(outcomes.slice(0, 75))).toEqual(new Set([401]));
    expect(new Set(outcomes.slice(75))).toEqual(new Set([403]));
    const after = await settledRss();
    console.log(`unauthenticated upgrades: RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB`);
    expect(after - Math.max(before, baseline)).toBeLessThan(30);
  }, 60_000);
});

describe("AudioHook calls opened at once and dropped", () => {
  it("refuses the surplus with 503, frees every channel, and RSS comes back", async () => {
    const before = await settledRss(1_000);
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async () => {
        let c: AudiohookTestClient;
        try {
          c = await AudiohookTestClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/audiohook`, apiKey: AUDIOHOOK_KEY });
        } catch (e) {
          return e instanceof UpgradeRefused ? e.status : -1;
        }
        try {
          await c.open({ conversationId: randomUUID(), media: [pcmu(["external", "internal"])] }, 30_000);
          await c.streamAudio(wire.subarray(0, 8000 * 2 * 2), { speed: 0 });
        } catch {
          // a call refused after the upgrade still counts as admitted-then-dropped
        }
        c.ws.terminate(); // no `close`: the TCP connection drops
        return 101;
      }),
    );
    const admitted = statuses.filter((s) => s === 101).length;
    expect(admitted).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 101 && s !== 503)).toEqual([]);
    expect(await channelsFreed(60_000)).toBe(0);
    const after = await settledRss();
    console.log(`AudioHook open+drop ×60 (${admitted} admitted): RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB (baseline ${baseline.toFixed(0)})`);
    expect(after - Math.max(before, baseline)).toBeLessThan(60);
  }, 120_000);
});

describe("one AudioHook call flooding audio", () => {
  it("10 minutes of audio as fast as the socket takes it: RSS stays bounded while it floods", async () => {
    const before = await settledRss(1_000);
    const c = await AudiohookTestClient.connect({ url: `ws://127.0.0.1:${server.port}/v1/audiohook`, apiKey: AUDIOHOOK_KEY });
    await c.open({ conversationId: randomUUID(), media: [pcmu(["external", "internal"])] });
    const ten = new Uint8Array(8000 * 2 * 600);
    for (let o = 0; o < ten.length; o += wire.length) ten.set(wire.subarray(0, Math.min(wire.length, ten.length - o)), o);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rssMiB())), 100);
    // First the call's own cost: its two decoders (~90 MB each) working through 5 s of audio.
    await c.streamAudio(ten.subarray(0, 8000 * 2 * 5), { speed: 0 });
    await sleep(4_000);
    const callPeak = peak;
    // Then the flood. The server pauses reading when its decoders fall behind, so the send waits
    // on the socket; 20 s of flooding would fill an unbounded queue with minutes of audio.
    await Promise.race([c.streamAudio(ten.subarray(8000 * 2 * 5), { speed: 0 }), sleep(20_000)]);
    clearInterval(sampler);
    c.ws.terminate();
    // The server had paused reading: its pings find the client gone (ws-back-pressure.ts), so the
    // channels come back in seconds, not after the audio left in the kernel's buffer is decoded.
    const gone = Date.now();
    expect(await channelsFreed(60_000)).toBe(0);
    const freedMs = Date.now() - gone;
    const after = await settledRss();
    console.log(`AudioHook flood: RSS ${before.toFixed(0)} → one call's peak ${callPeak.toFixed(0)} → flood peak ${peak.toFixed(0)} → ${after.toFixed(0)} MiB; channels freed ${(freedMs / 1000).toFixed(1)} s after the client went`);
    expect(freedMs).toBeLessThan(20_000);
    expect(peak - callPeak).toBeLessThan(60);
    expect(after - Math.max(before, baseline)).toBeLessThan(40);
  }, 120_000);
});

describe("Twilio streams started and dropped", () => {
  it("refuses the surplus, frees every channel, and RSS comes back", async () => {
    const before = await settledRss(1_000);
    const url = `ws://127.0.0.1:${server.port}/v1/twilio/media`;
    const results = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const r = await TwilioMediaClient.connect({ url, authToken: TWILIO_TOKEN });
        if (!(r instanceof TwilioMediaClient)) return r.status;
        r.connected();
        r.start({ customParameters: { callId: `tw-${randomUUID()}` } });
        for (let i = 0; i < 50; i++) {
          const at = i * 160;
          r.media("outbound", i * 20, agentMulaw.subarray(at, at + 160));
          r.media("inbound", i * 20, customerMulaw.subarray(at, at + 160));
        }
        await sleep(500);
        const open = r.ws.readyState === r.ws.OPEN;
        r.drop();
        return open ? 101 : 1008;
      }),
    );
    expect(results.filter((s) => s === 101).length).toBeGreaterThan(0);
    expect(results.filter((s) => s !== 101 && s !== 503 && s !== 1008)).toEqual([]);
    expect(await channelsFreed(60_000)).toBe(0);
    const after = await settledRss();
    console.log(`Twilio start+drop ×60: RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB (baseline ${baseline.toFixed(0)}); outcomes ${JSON.stringify(Object.fromEntries([...new Set(results)].map((s) => [s, results.filter((x) => x === s).length])))}`);
    expect(after - Math.max(before, baseline)).toBeLessThan(60);
  }, 120_000);
});
