/**
 * Bad input gets a clear error and the server keeps serving (real engine, real SDK where a client
 * library applies, raw `ws` where the test must misbehave in ways the SDK will not):
 * invalid parameter values (HTTP 400 / WebSocket close 1008 naming the parameter), bodies that are
 * not audio, garbage text frames, a client that vanishes mid-stream, an idle client, and 50
 * sessions at once (past the live-channel limit the surplus is refused before the handshake).
 */
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import type { PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { describeErrors, validateErrorBody, validateMetadata, validateResults } from "../../src/server/speech/validators";
import { chunkPcm, loadPcm16k, sleep, startServer, streamWithSdk, type RunningServer } from "./helpers";

const SHORT_SPEECH = `${corpusDir()}/read_en/ljspeech/LJ001-0002.wav`; // 1.9 s, "in being comparatively modern."
const TINY_SPEECH = `${corpusDir()}/debian_pocketsphinx/cards/001.wav`; // 1.1 s, "ten of clubs"

let server: RunningServer;
let shortPcm: Int16Array;
let tinyPcm: Int16Array;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  server = await startServer();
  shortPcm = await loadPcm16k(SHORT_SPEECH);
  tinyPcm = await loadPcm16k(TINY_SPEECH);
});

afterAll(async () => {
  await server?.close();
});

beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});

afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled, "no unhandled promise rejections").toEqual([]);
});

async function postListen(query: string, body: BodyInit, contentType = "application/octet-stream") {
  const res = await fetch(`${server.baseUrl}/v1/listen${query}`, { method: "POST", body, headers: { "content-type": contentType } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function expectHealthy(): Promise<void> {
  const res = await fetch(`${server.baseUrl}/healthz`);
  expect(res.status).toBe(200);
}

/** Wait until the server has no live session left (sessions end asynchronously after a close). */
async function sessionsDrained(timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (server.app.listenSessions.size > 0 && Date.now() < until) await sleep(50);
  expect(server.app.listenSessions.size).toBe(0);
}

/** Open a raw WebSocket to /v1/listen and resolve once it is open. */
function openRaw(query: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen${query}`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe("invalid query parameter values", () => {
  const cases: [string, string][] = [
    ["encoding=opus9&sample_rate=16000", "encoding"],
    ["encoding=linear16&sample_rate=5", "sample_rate"],
    ["model=nope", "model"],
    ["language=de", "language"],
    ["channels=0", "channels"],
    ["multichannel=perhaps", "multichannel"],
    ["encoding=mulaw", "sample_rate"],
  ];

  it.each(cases)("POST ?%s → 400 naming %s", async (query, parameter) => {
    const { status, body } = await postListen(`?${query}`, new Uint8Array(3200));
    expect(status).toBe(400);
    expect(validateErrorBody(body), describeErrors(validateErrorBody)).toBe(true);
    expect(body.err_code).toBe("INVALID_QUERY_PARAMETER");
    expect(body.parameter).toBe(parameter);
    expect(String(body.err_msg)).toContain(parameter);
  });

  it("the SDK surfaces the 400 as its BadRequestError", async () => {
    const client = new DeepgramClient({ apiKey: "no-key-needed", baseUrl: server.baseUrl });
    await expect(client.listen.v1.media.transcribeFile(Buffer.alloc(3200), { model: "nope" })).rejects.toMatchObject({
      statusCode: 400,
      body: { err_code: "INVALID_QUERY_PARAMETER", parameter: "model" },
    });
  });

  const liveCases: [Record<string, unknown>, string][] = [
    [{ encoding: "opus9" }, "encoding"],
    [{ sample_rate: 5 }, "sample_rate"],
    [{ model: "nope" }, "model"],
    [{ interim_results: "maybe" }, "interim_results"],
    [{ endpointing: "soon" }, "endpointing"],
    [{ utterance_end_ms: 0 }, "utterance_end_ms"],
  ];

  it.each(liveCases)("live %o → close 1008 naming %s", async (query, parameter) => {
    const out = await streamWithSdk(server.baseUrl, shortPcm, { query, timeoutMs: 10_000 });
    expect(out.close.code).toBe(1008);
    expect(out.close.reason).toContain(parameter);
    expect(out.messages).toEqual([]);
    await expectHealthy();
  });

  it("ignores unknown parameter names, as Deepgram does", async () => {
    const out = await streamWithSdk(server.baseUrl, shortPcm, { query: { queryParams: { not_a_deepgram_option: "x", tag: "t1" } } });
    expect(out.close.code).toBe(1000);
    expect(out.finals[0].length).toBeGreaterThan(0);
  });
});

describe("bodies and frames that are not audio", () => {
  it("POST with a text body → 400 with a clear message", async () => {
    const { status, body } = await postListen("", "this is plain text, not audio");
    expect(status).toBe(400);
    expect(body.err_code).toBe("INVALID_AUDIO");
    expect(String(body.err_msg)).toMatch(/neither WAV nor FLAC/);
  });

  it("POST with a broken WAV header, an empty body, or a JSON url body → 400", async () => {
    const broken = new Uint8Array(64);
    broken.set(new TextEncoder().encode("RIFF\u0000\u0000\u0000\u0000WAVEjunk"));
    const a = await postListen("", broken);
    expect(a.status).toBe(400);
    expect(String(a.body.err_msg)).toMatch(/WAV/);
    const b = await postListen("", new Uint8Array(0));
    expect(b.status).toBe(400);
    expect(String(b.body.err_msg)).toMatch(/empty/);
    const c = await postListen("", JSON.stringify({ url: "https://example.com/a.wav" }), "application/json");
    expect(c.status).toBe(400);
    expect(c.body.err_code).toBe("UNSUPPORTED_SOURCE");
    await expectHealthy();
  });

  it("live: a non-JSON text frame closes with 1008 and a reason; an unknown control type too", async () => {
    for (const frame of ["hello there", JSON.stringify({ type: "Bogus" }), "[1,2,3]"]) {
      const ws = await openRaw("?encoding=linear16&sample_rate=16000");
      const closed = closeOf(ws);
      ws.send(frame);
      const { code, reason } = await closed;
      expect(code).toBe(1008);
      expect(reason).toMatch(/KeepAlive|Finalize|CloseStream/);
    }
    await sessionsDrained();
    await expectHealthy();
  });

  it("live without encoding: bytes that are not a WAV stream close with 1008", async () => {
    const ws = await openRaw("");
    const closed = closeOf(ws);
    ws.send(Buffer.from("definitely not a RIFF header, just bytes"));
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/encoding/);
    await sessionsDrained();
  });
});

describe("clients that misbehave", () => {
  it("a client that vanishes mid-stream: its engine stream is closed and the server keeps serving", async () => {
    const engine = server.engine as PocketSphinxEngine;
    const decodersBefore = engine.workers().reduce((a, w) => a + w.decoders, 0);
    const ws = await openRaw("?encoding=linear16&sample_rate=16000&interim_results=true");
    const firstMessage = new Promise<void>((resolve) => ws.once("message", () => resolve()));
    for (const chunk of chunkPcm(shortPcm).slice(0, 12)) ws.send(chunk);
    await firstMessage; // the engine is working on this session
    expect(server.app.listenSessions.size).toBe(1);
    // Vanish: no close frame, the TCP connection just drops.
    (ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await sessionsDrained();
    // The decoder went back: the pool holds as many as before the session (spares refill).
    const until = Date.now() + 10_000;
    while (engine.workers().reduce((a, w) => a + w.decoders, 0) > decodersBefore && Date.now() < until) await sleep(50);
    expect(engine.workers().reduce((a, w) => a + w.decoders, 0)).toBeLessThanOrEqual(decodersBefore);
    await expectHealthy();
    const next = await streamWithSdk(server.baseUrl, shortPcm);
    expect(next.close.code).toBe(1000);
    expect(next.finals[0].length).toBeGreaterThan(0);
  });

  it("an idle client is closed with 1011 NET-0001 after the idle timeout", async () => {
    const idleApp = buildServer({ engine: server.engine, liveIdleTimeoutMs: 400 });
    await idleApp.listen({ port: 0, host: "127.0.0.1" });
    try {
      const port = (idleApp.server.address() as { port: number }).port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?encoding=linear16&sample_rate=16000`);
      const closed = closeOf(ws);
      await new Promise((r) => ws.once("open", r));
      ws.send(JSON.stringify({ type: "KeepAlive" })); // KeepAlive re-arms the timer once
      const { code, reason } = await closed;
      expect(code).toBe(1011);
      expect(reason).toMatch(/NET-0001/);
    } finally {
      await idleApp.close();
    }
  });
});

describe("load", () => {
  it("50 live sessions at once: up to the channel limit are served, the surplus is refused with 503, nothing fails", async () => {
    const limit = server.app.liveAdmission.limit;
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        streamWithSdk(server.baseUrl, tinyPcm, { timeoutMs: 240_000 }).then(
          (out) => ({ served: out }),
          (err: Error) => ({ refused: err.message }),
        ),
      ),
    );
    const served = outcomes.flatMap((o) => ("served" in o ? [o.served] : []));
    const refused = outcomes.flatMap((o) => ("refused" in o ? [o.refused] : []));
    // The SDK reports the refused upgrade as its error: the server answered 503 before the handshake.
    for (const message of refused) expect(message).toMatch(/503/);
    expect(refused.length, `limit ${limit}: the surplus is refused`).toBeGreaterThanOrEqual(50 - 2 * limit);
    expect(served.length).toBeGreaterThanOrEqual(Math.min(limit, 50));
    for (const out of served) {
      expect(out.close).toEqual({ code: 1000, reason: "" });
      const metadata = out.messages.filter((m) => m.type === "Metadata");
      expect(metadata).toHaveLength(1);
      expect(validateMetadata(metadata[0]), describeErrors(validateMetadata)).toBe(true);
      for (const r of out.messages.filter((m) => m.type === "Results")) expect(validateResults(r)).toBe(true);
      expect(out.finals[0].length).toBeGreaterThan(0);
    }
    // Same audio, same decoder: every served session must produce the same transcript.
    expect(new Set(served.map((o) => o.finals[0])).size).toBe(1);
    await sessionsDrained();
    expect(server.app.liveAdmission.inUse).toBe(0);
    await expectHealthy();
  }, 300_000);
});
