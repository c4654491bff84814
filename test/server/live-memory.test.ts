/**
 * Memory of the speech server under live-session abuse (issue 7, items 5 and 7), measured as VmRSS of
 * the server alone in a child process (`test/support/speech-server-process.ts`), real PocketSphinx,
 * real corpus speech:
 * - 200 WebSockets opened and dropped at once: the surplus is refused (503), RSS settles back within
 *   a stated margin of before, and `/healthz` counts 0 sessions and 0 channels afterwards;
 * - three 8-channel sessions one after another: with 0 sessions left RSS is back near where it was
 *   before them (freed decoders must give their ~90 MB back, not stay in the worker's malloc arena);
 * - soak: 300 sessions opened, fed a little audio and closed in sequence (rounds of 4): RSS at the end
 *   within 10% of RSS after the first round.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import { startSpeechServerProcess, type SpeechServerProcess } from "../support/speech-server-process";
import { chunkPcm, loadPcm16k, sleep, streamWithSdk } from "./helpers";

const SPEECH = `${corpusDir()}/debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav`;

/** Poll `probe` until it returns true or `ms` pass; returns the last result. */
async function eventually(probe: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await sleep(200);
  }
}

let pcm: Int16Array;
beforeAll(async () => {
  pcm = await loadPcm16k(SPEECH);
});

describe("200 sockets opened and dropped at once", () => {
  let server: SpeechServerProcess;
  beforeAll(async () => {
    server = await startSpeechServerProcess({ CALLSCRIBE_MAX_LIVE_CHANNELS: "4" });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses the surplus with 503, frees every decoder, RSS comes back, /healthz shows 0 sessions", async () => {
    // Warm up: one real session, so the baseline includes a used decoder's worth of heap and JIT.
    const warm = await streamWithSdk(server.baseUrl, pcm.subarray(0, 16_000 * 2));
    expect(warm.close.code).toBe(1000);
    await sleep(1_000);
    const before = server.rssMiB();
    const audio = chunkPcm(pcm.subarray(0, 16_000), 100);
    let refused = 0;
    let refusalBody = "";
    let opened = 0;
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?encoding=linear16&sample_rate=16000&interim_results=true`);
          const gone = () => resolve();
          ws.on("error", gone);
          ws.on("close", gone);
          ws.on("unexpected-response", (req, res) => {
            if (res.statusCode === 503 && res.headers["retry-after"]) refused++;
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => {
              refusalBody ||= body;
              req.destroy();
              resolve();
            });
          });
          ws.on("open", () => {
            opened++;
            // Some vanish at once, the others after a little audio: no close frame, the TCP connection drops.
            if (i % 2 === 0) for (const chunk of audio) ws.send(chunk);
            (ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
          });
          if (i % 5 === 0) setTimeout(() => ws.terminate(), 5); // and some leave mid-handshake
        }),
      ),
    );
    expect(refused, "sessions past the channel limit are refused before the handshake").toBeGreaterThan(0);
    expect(refusalBody).toMatch(/at capacity.*live channels/);
    expect(opened + refused).toBeLessThanOrEqual(200);
    const drained = await eventually(async () => {
      const h = await server.health();
      return h.sessions === 0 && h.channels === 0;
    }, 30_000);
    const health = await server.health();
    expect(drained, `healthz after the attack: ${JSON.stringify(health)}`).toBe(true);
    // Margin: 300 MiB, about three decoders; the attack admitted ~4 at a time, without the fix all 200 (~18 GB).
    const margin = 300;
    await eventually(() => server.rssMiB() - before < margin, 20_000);
    const after = server.rssMiB();
    console.log(`200 dropped sockets: RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB, ${refused} refused, ${opened} opened`);
    expect(after - before).toBeLessThan(margin);
    // And the server still serves.
    const next = await streamWithSdk(server.baseUrl, pcm.subarray(0, 16_000 * 3));
    expect(next.close.code).toBe(1000);
    expect(next.finals[0].length).toBeGreaterThan(0);
  }, 180_000);
});

describe("memory comes back after multichannel sessions", () => {
  let server: SpeechServerProcess;
  beforeAll(async () => {
    server = await startSpeechServerProcess({ CALLSCRIBE_MAX_LIVE_CHANNELS: "8" });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("three 8-channel sessions: RSS returns within 200 MiB of before each time", async () => {
    const CHANNELS = 8;
    const mono = pcm.subarray(0, 16_000);
    const interleaved = new Int16Array(mono.length * CHANNELS);
    for (let i = 0; i < mono.length; i++) for (let c = 0; c < CHANNELS; c++) interleaved[i * CHANNELS + c] = mono[i];
    const frames = chunkPcm(interleaved, 100, 16_000 * CHANNELS);
    await sleep(1_000);
    const before = server.rssMiB();
    const afters: number[] = [];
    for (let round = 0; round < 3; round++) {
      const out = await streamWithSdk(server.baseUrl, frames, { query: { channels: CHANNELS, multichannel: "true" }, timeoutMs: 120_000 });
      expect(out.close.code, out.close.reason).toBe(1000);
      expect(out.finals).toHaveLength(CHANNELS);
      expect((await server.health()).sessions).toBe(0);
      // Margin: 200 MiB, about two of the eight decoders (~80–90 MiB each) this session freed.
      await eventually(() => server.rssMiB() - before < 200, 10_000);
      afters.push(server.rssMiB());
    }
    console.log(`8-channel sessions: RSS before ${before.toFixed(0)} MiB, after each ${afters.map((a) => a.toFixed(0)).join(", ")} MiB`);
    for (const after of afters) expect(after - before).toBeLessThan(200);
  }, 300_000);
});

describe("soak: 300 sessions in sequence", () => {
  let server: SpeechServerProcess;
  beforeAll(async () => {
    server = await startSpeechServerProcess({ CALLSCRIBE_MAX_LIVE_CHANNELS: "4" });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("RSS at the end is within 10% of RSS after the first sessions", async () => {
    // 300 sessions in rounds of 4 at once (the limit), each fed 0.5 s of speech from a different place
    // in the recording, then CloseStream. Each session costs a fresh decoder (ps_init, ~0.3 s of CPU),
    // so this takes about 80 s on 2 cores (measured: 76 s, RSS 404 → 249 MiB). CALLSCRIBE_SOAK_SESSIONS lowers the count on a
    // machine too loaded for that (the RSS bound is the same).
    const SESSIONS = Number(process.env.CALLSCRIBE_SOAK_SESSIONS ?? 300);
    const AT_ONCE = 4;
    const sliceSamples = 16_000 / 2;
    let afterFirst = 0;
    const started = Date.now();
    for (let i = 0; i < SESSIONS; i += AT_ONCE) {
      const outs = await Promise.all(
        Array.from({ length: AT_ONCE }, (_, k) => {
          const offset = ((i + k) * 4_001) % Math.max(1, pcm.length - sliceSamples);
          return streamWithSdk(server.baseUrl, pcm.subarray(offset, offset + sliceSamples), { timeoutMs: 60_000 });
        }),
      );
      for (const out of outs) expect(out.close.code, `round ${i / AT_ONCE}: ${out.close.reason}`).toBe(1000);
      if (i === 0) {
        await sleep(1_000); // the workers refill their spare decoders
        afterFirst = server.rssMiB();
      }
      if ((i / AT_ONCE) % 15 === 14) console.log(`soak: ${i + AT_ONCE} sessions, ${((Date.now() - started) / 1000).toFixed(0)} s, RSS ${server.rssMiB().toFixed(0)} MiB`);
    }
    const health = await server.health();
    expect(health.sessions).toBe(0);
    await eventually(() => server.rssMiB() <= afterFirst * 1.1, 10_000);
    const end = server.rssMiB();
    console.log(`soak: ${SESSIONS} sessions in ${((Date.now() - started) / 1000).toFixed(0)} s, RSS after the first round ${afterFirst.toFixed(0)} MiB, at the end ${end.toFixed(0)} MiB`);
    expect(end).toBeLessThanOrEqual(afterFirst * 1.1);
  }, 600_000);
});
