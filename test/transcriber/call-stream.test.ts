/**
 * The live-call subscription's wire handling (`call-stream.ts`): SSE parsing, the handlers, the
 * refusals, and the reconnection with `Last-Event-ID` after a drop. The drops and malformed events
 * cannot be produced on demand with the real server, so these run against a fake live-call
 * server (a real HTTP server in this test that writes scripted event streams); the path against
 * the real server and hub is in `call-attach.test.ts`. The last case runs the controller over it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { NoLiveCallError, openLiveCallConnection, type LiveCallEnded, type LiveCallHandlers } from "../../src/transcriber/session/call-stream";
import { TranscriberController } from "../../src/transcriber/session/controller";

const CALL = { call_id: "c-1", source: "audiohook", speakers: ["Alice Agent", "Bob Customer"], roles: ["agent", "customer"], started_at: "2026-12-02T04:00:00Z", metadata: {} };
const results = (ch: number, text: string, start: number) => ({
  type: "Results",
  channel_index: [ch, 2],
  start,
  duration: 1,
  is_final: true,
  speech_final: true,
  channel: { alternatives: [{ transcript: text, confidence: 0.9, words: [] }] },
  metadata: { request_id: "r", model_info: { name: "pocketsphinx-en-us", arch: "pocketsphinx" } },
});
const EVENTS: unknown[] = [
  { type: "CallStarted", call: CALL },
  results(0, "hello how can I help", 0),
  results(1, "my card was charged twice", 1.5),
  { type: "UtteranceEnd", channel: [1, 2], last_word_end: 2.4 },
  { type: "CallEnded", status: "done", transcript: { type: "fdc3.transcript" } },
];
const sse = (seq: number, event: unknown) => `id: ${seq}\nevent: ${(event as { type: string }).type}\ndata: ${JSON.stringify(event)}\n\n`;

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
let server: Server | undefined;
const requests: IncomingMessage[] = [];

/** Start the fake live-call server; `handler` answers the n-th request (0-based). */
async function fakeLiveCallServer(handler: Handler): Promise<string> {
  requests.length = 0;
  server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, requests.length - 1);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

const streamHead = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });

function recorder() {
  const log: string[] = [];
  const handlers: LiveCallHandlers = {
    onMessage: (f) => log.push(`msg ${(f as { type: string }).type}${(f as { channel_index?: number[] }).channel_index ? ` ch${(f as { channel_index: number[] }).channel_index[0]}` : ""}`),
    onCall: (c, type) => log.push(`${type} ${c.speakers.join("|")}`),
    onInterrupted: (r) => log.push(`interrupted ${r}`),
    onEnded: (e) => log.push(`ended ${e.status}`),
    onReconnecting: (n) => log.push(`reconnecting ${n}`),
    onReconnected: () => log.push("reconnected"),
    onInvalid: (m) => log.push(`invalid ${m}`),
    onError: (e) => log.push(`error ${e.message}`),
  };
  return { log, handlers };
}

describe("openLiveCallConnection", () => {
  it("delivers CallStarted, the Results of both channels, UtteranceEnd and CallEnded in order, with the key sent", async () => {
    const base = await fakeLiveCallServer((_req, res) => {
      streamHead(res);
      res.write(": keep-alive\n\n");
      EVENTS.forEach((e, i) => res.write(sse(i + 1, e)));
      res.end();
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c/1 x", apiKey: "k-123", waitSeconds: 3 }, handlers);
    expect(conn.call.speakers).toEqual(["Alice Agent", "Bob Customer"]);
    const ended: LiveCallEnded | undefined = await conn.waitForEnd(5000);
    expect(ended).toEqual({ status: "done", transcript: { type: "fdc3.transcript" } });
    expect(log).toEqual(["CallStarted Alice Agent|Bob Customer", "msg Results ch0", "msg Results ch1", "msg UtteranceEnd", "ended done"]);
    expect(requests[0]!.url).toBe("/v1/calls/c%2F1%20x/live?wait=3");
    expect(requests[0]!.headers.authorization).toBe("Token k-123");
    expect(requests[0]!.headers.accept).toBe("text/event-stream");
    expect(conn.lastEventId).toBe(5);
    conn.close();
  });

  it("throws NoLiveCallError on 404 NO_LIVE_CALL, and a readable error on other refusals", async () => {
    const base = await fakeLiveCallServer((req, res) => {
      const code = req.url!.startsWith("/v1/calls/none/") ? 404 : 401;
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(code === 404 ? { err_code: "NO_LIVE_CALL", err_msg: "no live call none" } : { err_code: "INVALID_AUTH", err_msg: "bad key" }));
    });
    await expect(openLiveCallConnection({ baseUrl: base, callId: "none", waitSeconds: 1 }, recorder().handlers)).rejects.toBeInstanceOf(NoLiveCallError);
    await expect(openLiveCallConnection({ baseUrl: base, callId: "other" }, recorder().handlers)).rejects.toThrow(/HTTP 401 INVALID_AUTH: bad key/);
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, "127.0.0.1", r));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((r) => gone.close(r));
    await expect(openLiveCallConnection({ baseUrl: `http://127.0.0.1:${port}`, callId: "x" }, recorder().handlers)).rejects.toThrow(/cannot reach .*ECONNREFUSED/);
  });

  it("reconnects with Last-Event-ID after a drop and skips events it already had", async () => {
    const base = await fakeLiveCallServer((req, res, n) => {
      streamHead(res);
      if (n === 0) {
        EVENTS.slice(0, 2).forEach((e, i) => res.write(sse(i + 1, e)));
        setTimeout(() => res.destroy(), 50); // the network drops mid-call
        return;
      }
      const after = Number(req.headers["last-event-id"]);
      // The server replays from the one asked for; a repeat of the last must be skipped.
      EVENTS.forEach((e, i) => i + 1 >= after && res.write(sse(i + 1, e)));
      res.end();
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1", retryDelayMs: 10 }, handlers);
    expect(await conn.waitForEnd(5000)).toMatchObject({ status: "done" });
    expect(requests[1]!.headers["last-event-id"]).toBe("2");
    expect(requests[1]!.url).toBe("/v1/calls/c-1/live?wait=0");
    expect(log).toEqual(["CallStarted Alice Agent|Bob Customer", "msg Results ch0", "reconnecting 1", "reconnected", "msg Results ch1", "msg UtteranceEnd", "ended done"]);
  });

  it("gives up after the bounded retries and says so; waitForEnd then resolves empty", async () => {
    const base = await fakeLiveCallServer((_req, res, n) => {
      if (n === 0) {
        streamHead(res);
        res.write(sse(1, EVENTS[0]));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ err_code: "UNAVAILABLE", err_msg: "restarting" }));
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1", retryDelayMs: 5, maxRetries: 3 }, handlers);
    expect(await conn.waitForEnd(5000)).toBeUndefined();
    expect(requests).toHaveLength(4);
    expect(log.filter((l) => l.startsWith("reconnecting"))).toEqual(["reconnecting 1", "reconnecting 2", "reconnecting 3"]);
    expect(log.at(-1)).toMatch(/^error lost the live call stream for c-1 after 3 reconnection attempts/);
  });

  it("stops reconnecting when the server no longer knows the call", async () => {
    const base = await fakeLiveCallServer((_req, res, n) => {
      if (n === 0) {
        streamHead(res);
        res.write(sse(1, EVENTS[0]));
        res.end();
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ err_code: "NO_LIVE_CALL", err_msg: "gone" }));
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1", retryDelayMs: 5 }, handlers);
    expect(await conn.waitForEnd(5000)).toBeUndefined();
    expect(requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "1", undefined]); // resume, then the stored replay
    expect(log.at(-1)).toMatch(/no longer knows the call/);
  });

  it("after a drop, takes CallEnded from the stored call's replay when the call ended meanwhile", async () => {
    const base = await fakeLiveCallServer((req, res, n) => {
      if (n === 0) {
        streamHead(res);
        EVENTS.slice(0, 3).forEach((e, i) => res.write(sse(i + 1, e)));
        return void setTimeout(() => res.destroy(), 20);
      }
      if (req.headers["last-event-id"]) {
        res.writeHead(404, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ err_code: "NO_LIVE_CALL", err_msg: "not live" }));
      }
      streamHead(res); // the ended call, numbered afresh
      res.write(sse(1, EVENTS[0]));
      res.write(sse(2, EVENTS[4]));
      res.end();
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1", retryDelayMs: 5 }, handlers);
    expect(await conn.waitForEnd(5000)).toMatchObject({ status: "done", transcript: { type: "fdc3.transcript" } });
    expect(requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "3", undefined]);
    expect(log).toEqual(["CallStarted Alice Agent|Bob Customer", "msg Results ch0", "msg Results ch1", "reconnecting 1", "reconnected", "ended done"]);
  });

  it("reports malformed events and an interruption, and keeps going", async () => {
    const base = await fakeLiveCallServer((_req, res) => {
      streamHead(res);
      res.write(sse(1, EVENTS[0]));
      res.write("id: 2\nevent: Results\ndata: {not json\n\n");
      res.write(sse(3, { type: "CallUpdated", call: { ...CALL, speakers: "nobody" } }));
      res.write(sse(4, { type: "SomethingNew", x: 1 }));
      res.write(sse(5, { type: "StreamInterrupted", reason: "no audio for 10 s" }));
      res.write(sse(6, { type: "CallEnded", status: "failed", reason: "stream interrupted" }));
      res.end();
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1" }, handlers);
    expect(await conn.waitForEnd(5000)).toEqual({ status: "failed", reason: "stream interrupted" });
    expect(log).toEqual([
      "CallStarted Alice Agent|Bob Customer",
      "invalid live call event Results is not JSON",
      "invalid invalid CallUpdated event: /call/speakers must be array",
      "interrupted no audio for 10 s",
      "ended failed",
    ]);
  });

  it("drops an event past the size bound and an idle stream, and reconnects", async () => {
    const base = await fakeLiveCallServer((_req, res, n) => {
      streamHead(res);
      if (n === 0) {
        res.write(sse(1, EVENTS[0]));
        res.write(`id: 2\nevent: Results\ndata: ${"x".repeat(5000)}`); // never ends
        return;
      }
      if (n === 1) return void res.write(": keep-alive\n\n"); // then silence
      res.write(sse(5, EVENTS[4]));
      res.end();
    });
    const { log, handlers } = recorder();
    const conn = await openLiveCallConnection({ baseUrl: base, callId: "c-1", retryDelayMs: 5, maxEventChars: 2000, idleTimeoutMs: 300 }, handlers);
    expect(await conn.waitForEnd(5000)).toMatchObject({ status: "done" });
    expect(log).toEqual(["CallStarted Alice Agent|Bob Customer", "reconnecting 1", "reconnected", "reconnecting 2", "reconnected", "ended done"]);
    expect(requests[1]!.headers["last-event-id"]).toBe("1");
  });

  it("refuses a response that is not an event stream, and one that ends before CallStarted", async () => {
    const base = await fakeLiveCallServer((req, res) => {
      if (req.url!.includes("/html/")) {
        res.writeHead(200, { "content-type": "text/html" });
        return void res.end("<html></html>");
      }
      streamHead(res);
      res.end(": nothing\n\n");
    });
    await expect(openLiveCallConnection({ baseUrl: base, callId: "html" }, recorder().handlers)).rejects.toThrow(/not an event stream/);
    await expect(openLiveCallConnection({ baseUrl: base, callId: "empty" }, recorder().handlers)).rejects.toThrow(/ended before CallStarted/);
  });
});

describe("the controller over a subscription that drops and resumes (fake live-call server)", () => {
  it("says it reconnects, goes live again, and without the server's transcript saves the one received live", async () => {
    const base = await fakeLiveCallServer((req, res, n) => {
      streamHead(res);
      if (n === 0) {
        EVENTS.slice(0, 2).forEach((e, i) => res.write(sse(i + 1, e)));
        return void setTimeout(() => res.destroy(), 50);
      }
      const after = Number(req.headers["last-event-id"]);
      setTimeout(() => {
        EVENTS.slice(2, 4).forEach((e, i) => i + 3 > after && res.write(sse(i + 3, e)));
        res.write(sse(5, { type: "CallEnded", status: "done" }));
        res.end();
      }, 150);
    });
    const states: (string | undefined)[] = [];
    const saved: Transcript[] = [];
    const c = new TranscriberController({
      speechBaseUrl: base,
      validate: validateContext,
      openAudio: async () => {
        throw new Error("no local audio for a call with a stream");
      },
      saveTranscript: async (t) => (saved.push(t), { appId: "notes-crm", status: "Created" }),
    });
    c.subscribe(() => {
      const s = c.getSnapshot().callStream;
      if (states.at(-1) !== s) states.push(s);
    });
    await c.start({ source: "call", callId: "c-1", participants: [] });
    await new Promise<void>((resolve) => {
      const check = () => c.getSnapshot().status === "saved" && (off(), resolve());
      const off = c.subscribe(check);
      check();
    });
    expect(states).toEqual(["live", "reconnecting", "live", "ended"]);
    expect(c.getSnapshot().notices).toEqual(expect.arrayContaining([expect.stringMatching(/^lost the call's live results \(.+\); reconnecting$/), "the call's live results resumed"]));
    const t = saved[0]!;
    expect(t.id.callId).toBe("c-1");
    expect(t.segments?.map((s) => [s.channel, s.speaker, s.text])).toEqual([
      [0, "Alice Agent", "hello how can I help"],
      [1, "Bob Customer", "my card was charged twice"],
    ]);
  });
});
