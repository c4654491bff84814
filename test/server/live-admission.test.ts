/**
 * Admission of live channels (issue 7, items 5, 6 and 10), real PocketSphinx on real corpus speech:
 * - past `maxLiveChannels`, a new WebSocket is refused before the handshake with HTTP 503,
 *   `Retry-After` and a reason; channels (not sockets) count; a session's end gives them back;
 * - `multichannel=true` with more channels than the per-session cap closes 1008 saying why, and
 *   starts no decoder;
 * - more real-time sessions than the default limit: the surplus is refused, every admitted one gets
 *   its finals and closes 1000 (none fails with 1011), keeping up with real time;
 * - the default limit's formula and `CALLSCRIBE_MAX_LIVE_CHANNELS`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import { ConfigError, loadConfig } from "../../src/server/config";
import { defaultMaxLiveChannels } from "../../src/server/speech/admission";
import type { PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { chunkPcm, loadPcm16k, sleep, startServer, streamWithSdk, type RunningServer } from "./helpers";

/** The speech server's section of the configuration. */
const serverConfig = (env: NodeJS.ProcessEnv) => loadConfig(env, { role: "server" }).server;

const SPEECH = `${corpusDir()}/read_en/librispeech/1272-128104-0000.wav`; // 5.9 s

let engine: PocketSphinxEngine;
let pcm: Int16Array;

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  await engine.ready();
  pcm = await loadPcm16k(SPEECH);
}, 60_000);

afterAll(async () => {
  await engine?.close();
});

type Attempt = { kind: "open"; ws: WebSocket } | { kind: "refused"; status: number; retryAfter?: string; body: Record<string, unknown> };

/** Open a raw WebSocket to /v1/listen; resolves open, or with the HTTP refusal of the upgrade. */
function attempt(server: RunningServer, query: string): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?${query}`);
    ws.once("open", () => resolve({ kind: "open", ws }));
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ kind: "refused", status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, body: JSON.parse(text) }));
    });
    ws.once("error", (err) => {
      if (!String(err.message).includes("Unexpected server response")) reject(err);
    });
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

const totalDecoders = () => engine.workers().reduce((n, w) => n + w.decoders, 0);

async function health(server: RunningServer): Promise<Record<string, unknown>> {
  return (await (await fetch(`${server.baseUrl}/healthz`)).json()) as Record<string, unknown>;
}

describe("admission by channels", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ engine, maxLiveChannels: 3 });
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it("refuses past the limit with 503 + Retry-After and a reason, counts channels, and admits again once a session ends", async () => {
    const stereo = await attempt(server, "encoding=linear16&sample_rate=16000&channels=2&multichannel=true");
    expect(stereo.kind).toBe("open");
    const mono = await attempt(server, "encoding=linear16&sample_rate=16000");
    expect(mono.kind).toBe("open");
    expect(await health(server)).toMatchObject({ sessions: 2, channels: 3, maxChannels: 3 });
    // Three channels are in use: a fourth, even on its own socket, is refused before the handshake.
    const third = await attempt(server, "encoding=linear16&sample_rate=16000");
    expect(third).toMatchObject({ kind: "refused", status: 503, retryAfter: "5" });
    const body = (third as Extract<Attempt, { kind: "refused" }>).body;
    expect(body.err_code).toBe("TOO_MANY_LIVE_CHANNELS");
    expect(String(body.err_msg)).toMatch(/3 of 3 live channels are in use.*Try again later/);
    // A downmixed 2-channel stream needs one decoder, a 2-channel multichannel one two.
    const ws = (stereo as Extract<Attempt, { kind: "open" }>).ws;
    const closed = closeOf(ws);
    ws.close();
    await closed;
    await expect.poll(async () => (await health(server)).channels, { timeout: 10_000 }).toBe(1);
    const downmixed = await attempt(server, "encoding=linear16&sample_rate=16000&channels=2");
    expect(downmixed.kind).toBe("open");
    expect(await health(server)).toMatchObject({ sessions: 2, channels: 2 });
    for (const a of [mono, downmixed]) (a as Extract<Attempt, { kind: "open" }>).ws.close();
    await expect.poll(async () => (await health(server)).sessions, { timeout: 10_000 }).toBe(0);
    expect((await health(server)).channels).toBe(0);
  });

  it("multichannel=true with 16 channels closes 1008 saying the cap, and starts no decoder", async () => {
    const before = totalDecoders();
    const a = await attempt(server, "encoding=linear16&sample_rate=16000&channels=16&multichannel=true");
    expect(a.kind).toBe("open");
    const ws = (a as Extract<Attempt, { kind: "open" }>).ws;
    const { code, reason } = await closeOf(ws);
    expect(code).toBe(1008);
    expect(reason).toMatch(/16 channels: at most 8 channels per session/);
    expect(totalDecoders()).toBeLessThanOrEqual(before);
    expect((await health(server)).channels).toBe(0);
  });

  it("a WAV stream whose header says more channels than the cap closes 1008", async () => {
    const a = await attempt(server, "multichannel=true");
    const ws = (a as Extract<Attempt, { kind: "open" }>).ws;
    const closed = closeOf(ws);
    const header = Buffer.alloc(44);
    header.write("RIFF", 0);
    header.writeUInt32LE(0xffffffff, 4);
    header.write("WAVEfmt ", 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20); // PCM
    header.writeUInt16LE(12, 22); // 12 channels
    header.writeUInt32LE(16000, 24);
    header.writeUInt32LE(16000 * 24, 28);
    header.writeUInt16LE(24, 32);
    header.writeUInt16LE(16, 34);
    header.write("data", 36);
    header.writeUInt32LE(0xffffffff, 40);
    ws.send(header);
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/12 channels.*at most 8/);
    await expect.poll(async () => (await health(server)).channels, { timeout: 10_000 }).toBe(0);
  });
});

describe("overload: more real-time sessions than the default limit", () => {
  let server: RunningServer;
  const limit = defaultMaxLiveChannels();
  beforeAll(async () => {
    server = await startServer({ engine }); // the default limit, sized from this machine
  });
  afterAll(async () => {
    await server?.app.close();
  });

  it(`admits ${limit} channels, refuses the surplus with a reason, and every admitted session gets its finals in real time`, async () => {
    // Hold the admitted sessions open first (so which ones are refused is certain), then stream real time.
    const surplus = 3;
    const admitted: Promise<{ close: { code: number; reason: string }; finals: string[]; closedAfterAudioMs: number }>[] = [];
    const conns: WebSocket[] = [];
    for (let i = 0; i < limit; i++) {
      const a = await attempt(server, "encoding=linear16&sample_rate=16000");
      expect(a.kind, `session ${i} of ${limit}`).toBe("open");
      conns.push((a as Extract<Attempt, { kind: "open" }>).ws);
    }
    const refusals = await Promise.all(Array.from({ length: surplus }, () => attempt(server, "encoding=linear16&sample_rate=16000")));
    for (const r of refusals) {
      expect(r).toMatchObject({ kind: "refused", status: 503, retryAfter: "5" });
      expect(String((r as Extract<Attempt, { kind: "refused" }>).body.err_msg)).toMatch(/at capacity/);
    }
    for (const ws of conns) {
      admitted.push(
        (async () => {
          const messages: Record<string, unknown>[] = [];
          ws.on("message", (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
          const closed = closeOf(ws);
          const chunks = chunkPcm(pcm, 100);
          const t0 = performance.now();
          for (let i = 0; i < chunks.length; i++) {
            await sleep(Math.max(0, t0 + (i + 1) * 100 - performance.now()));
            ws.send(chunks[i]);
          }
          const audioDone = performance.now();
          ws.send(JSON.stringify({ type: "CloseStream" }));
          const close = await closed;
          const finals = messages
            .filter((m) => m.type === "Results" && m.is_final)
            .map((m) => (m as { channel: { alternatives: { transcript: string }[] } }).channel.alternatives[0].transcript)
            .filter(Boolean);
          return { close, finals, closedAfterAudioMs: performance.now() - audioDone };
        })(),
      );
    }
    const outcomes = await Promise.all(admitted);
    console.log(`overload: limit ${limit}, done after the audio ended: ${outcomes.map((o) => o.closedAfterAudioMs.toFixed(0)).join(", ")} ms`);
    for (const o of outcomes) {
      expect(o.close).toEqual({ code: 1000, reason: "" });
      expect(o.finals.join(" ")).toMatch(/\w/);
      // Without admission, 20 such sessions on 2 cores lagged until the 120 s flush timeout (1011).
      // Admitted sessions keep real time: on an idle 2-core box the last final comes ~1 s after
      // the audio (1.0 s measured in the full suite); 20 s leaves room for a shared CI machine
      // (7 s seen at load average 14) while failing the old 120 s lag.
      expect(o.closedAfterAudioMs).toBeLessThan(20_000);
    }
    await expect.poll(async () => (await health(server)).sessions, { timeout: 10_000 }).toBe(0);
  }, 120_000);
});

describe("the default limit", () => {
  it("is the smaller of 2 per core and half the memory at 100 MB per decoder, at least 1", () => {
    const GiB = 1024 ** 3;
    expect(defaultMaxLiveChannels({ cores: 2, totalMemBytes: 24 * GiB })).toBe(4);
    expect(defaultMaxLiveChannels({ cores: 64, totalMemBytes: 4 * GiB })).toBe(20);
    expect(defaultMaxLiveChannels({ cores: 1, totalMemBytes: 100 * 1024 ** 2 })).toBe(1);
  });

  it("CALLSCRIBE_MAX_LIVE_CHANNELS is validated at boot and names the variable", () => {
    expect(serverConfig({ CALLSCRIBE_MAX_LIVE_CHANNELS: "12" }).maxLiveChannels).toBe(12);
    expect(serverConfig({}).maxLiveChannels).toBeUndefined();
    expect(() => serverConfig({ CALLSCRIBE_MAX_LIVE_CHANNELS: "0" })).toThrow(ConfigError);
    expect(() => serverConfig({ CALLSCRIBE_MAX_LIVE_CHANNELS: "lots" })).toThrow(/CALLSCRIBE_MAX_LIVE_CHANNELS/);
  });
});
