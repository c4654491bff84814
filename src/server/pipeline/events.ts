/**
 * Live call status (issue 9 §5): `GET /v1/calls/events`, a server-sent event stream (WHATWG HTML,
 * "Server-sent events") of every change of a call's status:
 *
 *   event: call
 *   data: {"id":"<call_id>","status":"transcribing","updatedAt":"2026-12-02T13:40:00.123Z"}
 *
 * (`reason` too when the call failed). The stream opens with `event: ready` (`data: {}`): a client
 * reads the list (`GET /v1/calls`) then, so nothing that changed while it was away is missed, and
 * again after each reconnect. A `: heartbeat` comment every `heartbeatMs` keeps proxies from
 * closing an idle stream and tells the server when a client has gone.
 *
 * Source of the events: migration 7's trigger NOTIFYs `callscribe_calls` on each status change,
 * whichever process made it (the server, or `worker-main.ts` on the same PostgreSQL); this process
 * LISTENs once ({@link Database.listen}) and fans out to its streams.
 *
 * Auth: as `GET /v1/calls` ({@link LIBRARY_ROUTE_AUTH}: the API key or a `library` token).
 * Bounded: at most `maxStreams` open streams per process (default 64); beyond, 503 `TOO_MANY_STREAMS`.
 */
import type { FastifyPluginAsync } from "fastify";
import { LIBRARY_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import type { Database } from "../store/database";

/** The NOTIFY channel of migration 7's trigger. */
export const CALL_EVENTS_CHANNEL = "callscribe_calls";
/** Default most concurrent streams. */
export const DEFAULT_MAX_STREAMS = 64;
/** Default heartbeat interval, ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** One `event: call` of the stream. `updatedAt` ISO 8601 (UTC). */
export interface CallStatusEvent {
  id: string;
  status: string;
  /** Why the call failed (status `failed`), at most 500 characters. */
  reason?: string;
  updatedAt: string;
}

/** Options of {@link callEventsRoutes}. */
export interface CallEventsOptions {
  db: Database;
  /** Most concurrent streams (1..10 000). Default {@link DEFAULT_MAX_STREAMS}. */
  maxStreams?: number;
  /** Heartbeat comment interval, ms. Default {@link DEFAULT_HEARTBEAT_MS}. */
  heartbeatMs?: number;
}

/** Parse one NOTIFY payload; undefined when it is not a status event. */
function parseEvent(payload: string): CallStatusEvent | undefined {
  try {
    const e = JSON.parse(payload) as Partial<CallStatusEvent>;
    if (typeof e.id !== "string" || typeof e.status !== "string" || typeof e.updatedAt !== "string") return undefined;
    return { id: e.id, status: e.status, ...(typeof e.reason === "string" && { reason: e.reason }), updatedAt: e.updatedAt };
  } catch {
    return undefined;
  }
}

/** Fastify plugin: `app.register(callEventsRoutes, {db})`. LISTENs on the first stream, stops with the app. */
export const callEventsRoutes: FastifyPluginAsync<CallEventsOptions> = async (app, { db, maxStreams = DEFAULT_MAX_STREAMS, heartbeatMs = DEFAULT_HEARTBEAT_MS }) => {
  const streams = new Set<(chunk: string) => void>();
  let opening = 0;
  let unlisten: Promise<() => Promise<void>> | undefined;
  const broadcast = (chunk: string) => {
    for (const write of streams) write(chunk);
  };
  const ensureListening = () =>
    (unlisten ??= db
      .listen(
        CALL_EVENTS_CHANNEL,
        (payload) => {
          const e = parseEvent(payload);
          if (e) broadcast(`event: call\ndata: ${JSON.stringify(e)}\n\n`);
        },
        // Notifications sent while the connection was down are lost: clients re-read the list.
        () => broadcast("event: ready\ndata: {}\n\n"),
      )
      .catch((err: unknown) => {
        unlisten = undefined;
        throw err;
      }));
  // Streams end before the server waits for its connections to close (preClose), LISTEN after.
  app.addHook("preClose", async () => {
    for (const write of streams) write("");
  });
  app.addHook("onClose", async () => {
    if (unlisten) await (await unlisten.catch(() => async () => undefined))();
  });

  app.get("/v1/calls/events", { config: { auth: LIBRARY_ROUTE_AUTH } }, async (request, reply) => {
    // Streams being opened count too, so a burst of requests cannot pass the bound.
    if (streams.size + opening >= maxStreams) {
      return reply.code(503).header("retry-after", "10").send(errorBody(request, "TOO_MANY_STREAMS", `At most ${maxStreams} call event streams may be open at once; try again later.`));
    }
    opening++;
    try {
      await ensureListening();
    } finally {
      opening--;
    }
    const res = reply.raw;
    const headers = { ...(reply.getHeaders() as Record<string, string>), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" };
    reply.hijack();
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      streams.delete(write);
      if (!res.writableEnded) res.end();
    };
    const write = (chunk: string) => {
      if (!open) return;
      if (chunk === "") return close();
      // A client that does not read: drop it rather than buffer without bound.
      if (res.writableLength > 1024 * 1024) return close();
      res.write(chunk);
    };
    const heartbeat = setInterval(() => write(": heartbeat\n\n"), heartbeatMs);
    heartbeat.unref();
    streams.add(write);
    request.raw.on("close", close);
    res.on("close", close);
    res.on("error", close);
    res.writeHead(200, headers);
    res.write("event: ready\ndata: {}\n\n");
  });
};
