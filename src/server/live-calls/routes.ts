/**
 * `GET /v1/calls/:id/live`: a live call's events as server-sent events (WHATWG HTML "Server-sent
 * events": `id:`/`event:`/`data:` lines, a blank line per event, `Last-Event-ID` on reconnect).
 * The contract is in `types.ts`. Auth: the API key or a `listen` token (the transcriber holds only
 * those). Bounded: at most `maxSubscribers` streams at once (503 past it), and a subscriber that
 * stops reading is cut off once 1 MiB waits for it (it resumes with `Last-Event-ID`).
 */
import type { FastifyPluginAsync } from "fastify";
import { LISTEN_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import type { LiveCallHub } from "./hub";
import { CALL_ID_PATTERN } from "./listen-call";
import { liveSpeakers } from "./transcript";
import type { LiveCallEvent, LiveCallMetadata, LiveCallSource, SequencedEvent } from "./types";

/** Options of {@link liveCallRoutes}. */
export interface LiveCallRoutesOptions {
  hub: LiveCallHub;
  /** Subscriber streams open at once. Default 256. */
  maxSubscribers?: number;
  /** Keep-alive comment interval, ms. Default 15 000. */
  keepAliveMs?: number;
}

/** Longest `wait`, seconds. */
export const MAX_WAIT_SECONDS = 30;
/** Bytes that may wait for a slow subscriber before its stream is cut. */
const MAX_PENDING_BYTES = 1024 * 1024;

/** One SSE event. */
export function sseEvent(e: SequencedEvent): string {
  return `id: ${e.seq}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`;
}

/** Fastify plugin of the live-call subscription route. */
export const liveCallRoutes: FastifyPluginAsync<LiveCallRoutesOptions> = async (app, opts) => {
  const { hub } = opts;
  const maxSubscribers = opts.maxSubscribers ?? 256;
  const keepAliveMs = opts.keepAliveMs ?? 15_000;
  let open = 0;

  app.get<{ Params: { id: string }; Querystring: { wait: number; after?: number } }>(
    "/v1/calls/:id/live",
    {
      config: { auth: LISTEN_ROUTE_AUTH },
      schema: {
        params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: CALL_ID_PATTERN } } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { wait: { type: "integer", minimum: 0, maximum: MAX_WAIT_SECONDS, default: 10 }, after: { type: "integer", minimum: 0 } },
        },
      },
    },
    async (request, reply) => {
      const callId = request.params.id;
      if (open >= maxSubscribers) {
        return reply.code(503).header("retry-after", "5").send(errorBody(request, "TOO_MANY_SUBSCRIBERS", `${open} live-call streams are open, the most this server serves; try again later.`));
      }
      const lastEventId = Number.parseInt(String(request.headers["last-event-id"] ?? ""), 10);
      const after = Number.isFinite(lastEventId) && lastEventId >= 0 ? lastEventId : (request.query.after ?? 0);

      open++;
      let released = false;
      const buffered: SequencedEvent[] = [];
      // Until the response starts, events are held; the first one also ends a `wait` at once.
      let arrived: () => void = () => undefined;
      let deliver: (e: SequencedEvent) => void = (e) => {
        buffered.push(e);
        arrived();
      };
      let unsubscribe: () => void = () => undefined;
      const release = () => {
        if (released) return;
        released = true;
        open--;
        unsubscribe();
      };
      try {
        unsubscribe = await hub.subscribe(callId, after, (e) => deliver(e));
        if (buffered.length === 0 && !(await hub.knows(callId))) {
          const ended = await endedCallEvents(hub, callId);
          if (ended) buffered.push(...ended.filter((e) => e.seq > after));
          else {
            const came = await new Promise<boolean>((resolve) => {
              if (buffered.length > 0 || request.query.wait === 0) return resolve(buffered.length > 0);
              const timer = setTimeout(() => done(buffered.length > 0), request.query.wait * 1000);
              const onClose = () => done(false);
              request.raw.once("close", onClose);
              arrived = () => done(true);
              function done(v: boolean) {
                clearTimeout(timer);
                request.raw.off("close", onClose);
                arrived = () => undefined;
                resolve(v);
              }
            });
            if (!came) {
              release();
              return reply.code(404).send(errorBody(request, "NO_LIVE_CALL", `No live call ${callId} streams on this server${request.query.wait ? ` (waited ${request.query.wait} s)` : ""}.`));
            }
          }
        }
      } catch (err) {
        release();
        throw err;
      }

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
        "dg-request-id": String(request.id),
      });
      const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
      keepAlive.unref();
      const finish = () => {
        clearInterval(keepAlive);
        release();
        if (!res.writableEnded) res.end();
      };
      deliver = (e) => {
        if (res.writableEnded) return;
        res.write(sseEvent(e));
        if (e.event.type === "CallEnded") finish();
        else if (res.writableLength > MAX_PENDING_BYTES) {
          request.log.info({ callId, pending: res.writableLength }, "live-call subscriber too slow: stream cut (it may resume with Last-Event-ID)");
          finish();
        }
      };
      res.on("close", finish);
      for (const e of buffered.splice(0)) deliver(e);
    },
  );
};

/** A stored live call that ended before the subscriber came: `CallStarted` and `CallEnded` (with the transcript). */
async function endedCallEvents(hub: LiveCallHub, callId: string): Promise<SequencedEvent[] | undefined> {
  const stored = await hub.store?.getCall(callId);
  if (!stored || stored.source !== "live" || (stored.status !== "done" && stored.status !== "failed")) return undefined;
  const metadata = stored.metadata as LiveCallMetadata;
  const { speakers, roles } = liveSpeakers(metadata);
  const source = ((stored as { live_source?: LiveCallSource }).live_source ?? "listen") as LiveCallSource;
  const started: LiveCallEvent = { type: "CallStarted", call: { call_id: callId, source, speakers, roles, metadata, started_at: stored.created_at } };
  const ended: LiveCallEvent = { type: "CallEnded", status: stored.status, ...(stored.reason && { reason: stored.reason }), ...(stored.transcript && { transcript: stored.transcript }) };
  return [
    { seq: 1, event: started },
    { seq: 2, event: ended },
  ];
}
