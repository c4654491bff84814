/**
 * `GET /v1/calls/events` (pipeline/events.ts) on a real database, shared by the PGlite and the
 * PostgreSQL test files: the server built as `main.ts` builds it (request guard with an API key
 * and the desktop secret, tokens minted by `POST /v1/auth/token`), a call's status changed through
 * the calls repository (migration 7's trigger NOTIFYs), the stream read over real HTTP.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/server/app";
import { callEventsRoutes } from "../../src/server/pipeline/events";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { CallRepository } from "../../src/server/store/calls";
import { createAtRestCipher } from "../../src/server/store/crypto";
import type { Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";

const API_KEY = "events-test-key-0123456789";
const DESKTOP_SECRET = "events-test-desktop-0123456789";
const MAX_STREAMS = 3;

/** An open stream: its events so far, and a way to wait for one. */
interface Stream {
  status: number;
  events: EventSourceMessage[];
  comments: string[];
  next(accept: (e: EventSourceMessage) => boolean, timeoutMs?: number): Promise<EventSourceMessage>;
  close(): void;
}

/** The shared tests; `open` gives a fresh, empty database. */
export function callEventsTests(name: string, open: () => Promise<{ db: Database; close(): Promise<void> }>): void {
  describe(`GET /v1/calls/events (${name})`, () => {
    let store: { db: Database; close(): Promise<void> };
    let app: FastifyInstance;
    let origin: string;
    let calls: CallRepository;
    let engine: PocketSphinxEngine;
    let libraryToken: string;
    let listenToken: string;

    const openStream = async (token: string | undefined): Promise<Stream> => {
      const ac = new AbortController();
      const res = await fetch(`${origin}/v1/calls/events`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ac.signal });
      const events: EventSourceMessage[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      if (res.ok && res.body) {
        const parser = createParser({
          onEvent: (e) => {
            events.push(e);
            for (const w of waiters) w();
          },
          onComment: (c) => comments.push(c),
        });
        void (async () => {
          const decoder = new TextDecoder();
          try {
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
          } catch {
            /* aborted */
          }
        })();
      } else {
        await res.text();
      }
      return {
        status: res.status,
        events,
        comments,
        next(accept, timeoutMs = 1000) {
          return new Promise((resolve, reject) => {
            const check = () => {
              const e = events.find(accept);
              if (!e) return;
              waiters.delete(check);
              clearTimeout(timer);
              resolve(e);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close: () => ac.abort(),
      };
    };

    const mint = async (scope: string) => {
      const res = await fetch(`${origin}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${DESKTOP_SECRET}`, "content-type": "application/json" }, body: JSON.stringify({ scope }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    };

    beforeAll(async () => {
      store = await open();
      const cipher = createAtRestCipher(randomBytes(32));
      await migrate(store.db, cipher);
      calls = new CallRepository(store.db, cipher);
      // The speech engine is not used here; buildServer needs one.
      engine = createPocketSphinxEngine();
      app = buildServer({ engine, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET, logger: false });
      app.register(callEventsRoutes, { db: store.db, maxStreams: MAX_STREAMS, heartbeatMs: 200 });
      await app.listen({ host: "127.0.0.1", port: 0 });
      origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      libraryToken = await mint("library");
      listenToken = await mint("listen");
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await engine?.close();
      await store?.close();
    });

    it("sends each status change of a call within a second, with the reason when it fails", async () => {
      const stream = await openStream(libraryToken);
      expect(stream.status).toBe(200);
      await stream.next((e) => e.event === "ready");
      const { callId } = await calls.createCall({ call_id: `events-${name}-1`, recording_url: "http://127.0.0.1:9/a.wav", direction: "inbound" });
      const queued = await stream.next((e) => e.event === "call" && JSON.parse(e.data).id === callId);
      expect(JSON.parse(queued.data)).toMatchObject({ id: callId, status: "queued" });

      let t0 = Date.now();
      await calls.setStatus(callId, "transcribing");
      const transcribing = await stream.next((e) => e.event === "call" && JSON.parse(e.data).status === "transcribing");
      expect(Date.now() - t0).toBeLessThan(1000);
      const body = JSON.parse(transcribing.data);
      expect(body).toEqual({ id: callId, status: "transcribing", updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
      expect(Math.abs(Date.parse(body.updatedAt) - Date.now())).toBeLessThan(60_000);

      // A write that changes no status (a stage update) sends nothing.
      const before = stream.events.length;
      await calls.updateStage(callId, "decode", { status: "done" } as never);
      t0 = Date.now();
      await calls.setStatus(callId, "failed", "the recording could not be decoded: not a WAV file");
      const failed = await stream.next((e) => e.event === "call" && JSON.parse(e.data).status === "failed");
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(JSON.parse(failed.data)).toMatchObject({ id: callId, status: "failed", reason: "the recording could not be decoded: not a WAV file" });
      expect(stream.events.length).toBe(before + 1);
      stream.close();
    });

    it("sends heartbeat comments", async () => {
      const stream = await openStream(libraryToken);
      await new Promise((r) => setTimeout(r, 700));
      expect(stream.comments.filter((c) => c.trim() === "heartbeat").length).toBeGreaterThanOrEqual(2);
      stream.close();
    });

    it("refuses no credential (401) and a listen token (403)", async () => {
      const none = await openStream(undefined);
      expect(none.status).toBe(401);
      const wrong = await openStream("cs1.not.valid");
      expect(wrong.status).toBe(401);
      const listen = await openStream(listenToken);
      expect(listen.status).toBe(403);
      const key = await openStream(API_KEY);
      expect(key.status).toBe(200);
      key.close();
    });

    it(`answers 503 beyond ${MAX_STREAMS} streams, and a client that disconnects frees its slot`, async () => {
      // Earlier tests' streams were closed: wait until the server has let them go.
      const deadline = Date.now() + 5000;
      let streams: Stream[] = [];
      for (;;) {
        streams = [];
        for (let i = 0; i < MAX_STREAMS; i++) streams.push(await openStream(libraryToken));
        if (streams.every((s) => s.status === 200) || Date.now() > deadline) break;
        for (const s of streams) s.close();
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(streams.map((s) => s.status)).toEqual(Array(MAX_STREAMS).fill(200));
      const refused = await fetch(`${origin}/v1/calls/events`, { headers: { authorization: `Bearer ${libraryToken}` } });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { err_code: string }).err_code).toBe("TOO_MANY_STREAMS");

      streams[0].close();
      let again: Stream | undefined;
      for (let i = 0; i < 20 && again?.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        again = await openStream(libraryToken);
      }
      expect(again?.status).toBe(200);
      // The new stream gets events like the others.
      const { callId } = await calls.createCall({ call_id: `events-${name}-2`, recording_url: "http://127.0.0.1:9/b.wav", direction: "inbound" });
      await again!.next((e) => e.event === "call" && JSON.parse(e.data).id === callId);
      for (const s of [...streams, again!]) s.close();
    });
  });
}
