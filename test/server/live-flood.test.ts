/**
 * Floods (issue 7, item 9), real PocketSphinx on real corpus speech:
 * - a closed stream's audio still queued for its worker is dropped, not decoded: a new stream on
 *   the same (single) worker gets its final at once, not after minutes of someone else's backlog;
 * - a stream opened for a caller that gave up (its client left) while the open queued builds no decoder;
 * - a new stream goes to the worker with the least load counting queued audio, not only decoders;
 * - a client sending far faster than real time is throttled (the server stops reading its socket),
 *   so what it queues stays bounded, and after it vanishes a new session gets its results promptly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import type { EngineHypothesis } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import type { LiveSession } from "../../src/server/speech/live-session";
import { chunkPcm, loadPcm16k, sleep, startServer, streamWithSdk } from "./helpers";

const LONG = `${corpusDir()}/debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav`;
const SHORT = `${corpusDir()}/read_en/ljspeech/LJ001-0002.wav`; // "in being comparatively modern."

let longPcm: Int16Array;
let shortPcm: Int16Array;

/** `seconds` of real speech: the long recording repeated. */
function speech(seconds: number): Int16Array {
  const out = new Int16Array(seconds * 16_000);
  for (let o = 0; o < out.length; o += longPcm.length) out.set(longPcm.subarray(0, Math.min(longPcm.length, out.length - o)), o);
  return out;
}

beforeAll(async () => {
  longPcm = await loadPcm16k(LONG);
  shortPcm = await loadPcm16k(SHORT);
});

describe("the worker drops a closed stream's backlog", () => {
  let engine: PocketSphinxEngine;
  beforeAll(async () => {
    engine = createPocketSphinxEngine({ poolSize: 1 });
    await engine.ready();
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
  });

  it("after 10 minutes of audio are written and the stream closed, a new stream's final comes within seconds", async () => {
    const flood = await engine.createStream();
    flood.on("error", () => undefined);
    const audio = speech(600); // ~2 min of CPU at RTF 0.2 if it were decoded
    for (let o = 0; o < audio.length; o += 1600) flood.write(audio.subarray(o, o + 1600));
    await flood.close();
    const t0 = performance.now();
    const next = await engine.createStream();
    const finals: EngineHypothesis[] = [];
    next.on("final", (h: EngineHypothesis) => finals.push(h));
    next.write(shortPcm);
    await next.flush();
    const elapsed = performance.now() - t0;
    await next.close();
    expect(finals.map((f) => f.text).join(" ")).toMatch(/\w/);
    expect(elapsed, "the next stream did not wait for the closed stream's backlog").toBeLessThan(15_000);
    await expect.poll(() => engine.workers()[0].queuedSeconds, { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it("a stream whose caller gave up while its open waited in the queue gets no decoder", async () => {
    const busy = await engine.createStream();
    busy.on("error", () => undefined);
    const audio = speech(60); // keeps the worker busy for a while
    for (let o = 0; o < audio.length; o += 1600) busy.write(audio.subarray(o, o + 1600));
    const gaveUp = new AbortController();
    const opening = engine.createStream({ signal: gaveUp.signal });
    gaveUp.abort(new Error("client left"));
    await expect(opening).rejects.toThrow(/client left/);
    await busy.close();
    await expect.poll(() => engine.workers()[0].decoders, { timeout: 10_000 }).toBe(0);
  }, 60_000);
});

describe("placement by load", () => {
  let engine: PocketSphinxEngine;
  beforeAll(async () => {
    engine = createPocketSphinxEngine({ poolSize: 2 });
    await engine.ready();
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
  });

  it("a new stream avoids the worker with a long backlog even when it hosts fewer decoders", async () => {
    const decodersOf = () => new Map(engine.workers().map((w) => [w.threadId, w.decoders]));
    const open = async () => {
      const before = decodersOf();
      const s = await engine.createStream();
      s.on("error", () => undefined);
      const host = engine.workers().find((w) => w.decoders > (before.get(w.threadId) ?? 0))!.threadId;
      return { s, host };
    };
    const a = await open();
    const b = await open();
    const c = await open();
    expect(new Set([a.host, b.host, c.host]).size).toBe(2);
    // The worker hosting one stream gets a long backlog on it; the other hosts two idle streams.
    const lone = [a, b, c].find((x) => [a, b, c].filter((y) => y.host === x.host).length === 1)!;
    const audio = speech(300);
    for (let o = 0; o < audio.length; o += 1600) lone.s.write(audio.subarray(o, o + 1600));
    const d = await open();
    expect(d.host, "placed on the worker without the backlog").not.toBe(lone.host);
    await Promise.all([a, b, c, d].map((x) => x.s.close()));
  }, 60_000);
});

describe("a client sending far faster than real time", () => {
  it("is throttled while connected, and once it vanishes a new session gets results promptly", async () => {
    const engine = createPocketSphinxEngine({ poolSize: 1 });
    const server = await startServer({ engine, liveFlow: { burstSeconds: 10, maxSpeed: 2, maxBacklogSeconds: 10 } });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?encoding=linear16&sample_rate=16000`);
      ws.on("error", () => undefined);
      await new Promise((r) => ws.once("open", r));
      const chunks = chunkPcm(speech(1800), 1000); // 30 minutes in 1 s frames
      const t0 = performance.now();
      let sent = 0;
      let maxReceived = 0;
      const session = () => [...server.app.listenSessions][0] as LiveSession | undefined;
      // Send as fast as the socket takes it, for 4 s.
      while (performance.now() - t0 < 4_000 && sent < chunks.length) {
        if (ws.bufferedAmount < 4 * 1024 * 1024) ws.send(chunks[sent++]);
        else await sleep(5);
        if (sent % 20 === 0) await sleep(0);
        maxReceived = Math.max(maxReceived, session()?.receivedSeconds ?? 0);
      }
      const elapsed = (performance.now() - t0) / 1000;
      await sleep(200);
      maxReceived = Math.max(maxReceived, session()?.receivedSeconds ?? 0);
      // Allowance: 10 s burst + 2 × elapsed, plus what sat in socket buffers when the server paused.
      const bound = 10 + 2 * (elapsed + 0.5) + 10;
      console.log(`flood: offered ${sent} s of audio in ${elapsed.toFixed(1)} s, server read ${maxReceived.toFixed(1)} s (bound ${bound.toFixed(0)} s)`);
      expect(sent).toBeGreaterThan(bound); // the client really flooded
      expect(maxReceived).toBeLessThan(bound);
      (ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
      const t1 = performance.now();
      const next = await streamWithSdk(server.baseUrl, shortPcm, { timeoutMs: 30_000 });
      expect(next.close.code).toBe(1000);
      expect(next.finals[0]).toMatch(/\w/);
      expect(performance.now() - t1, "no result waits for the vanished client's backlog").toBeLessThan(20_000);
    } finally {
      await server.close();
    }
  }, 90_000);
});
