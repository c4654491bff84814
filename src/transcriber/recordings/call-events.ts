/**
 * The recordings panel's live feed: `GET /v1/calls/events` (server-sent events,
 * `src/server/pipeline/events.ts`). `EventSource` cannot send an `Authorization` header, so,
 * like the live-call client (`session/call-stream.ts`), this reads a `fetch` body with
 * `eventsource-parser`. It reconnects after any drop (1 s, doubling to 30 s; back to 1 s once a
 * stream opened) and, when heartbeats stop for `idleMs`, treats the stream as dropped. Each
 * (re)opened stream starts with `ready`: the caller re-reads the list then, so changes made while
 * it was away are not missed.
 */
import { createParser } from "eventsource-parser";
import { isNetworkError, unreachableMessage } from "../session/reachability";
import { authHeader, type RecordingsClientOptions } from "./client";

/** One status change (`event: call`). */
export interface CallStatusEvent {
  id: string;
  status: string;
  reason?: string;
  updatedAt: string;
}

/** Callbacks of {@link subscribeCallEvents}. */
export interface CallEventsHandlers {
  /** A stream opened: read the list now. */
  onReady(): void;
  onEvent(e: CallStatusEvent): void;
  /** `live` while a stream is open, `reconnecting` with why, or `unavailable` (404: a server without recorded calls; not retried). */
  onState?(state: { state: "live" } | { state: "reconnecting" | "unavailable"; reason: string }): void;
}

/**
 * Follow the call events until the returned function is called.
 * @param idleMs no byte for this long (the server sends a heartbeat every 15 s): reconnect. Default 45 000.
 */
export function subscribeCallEvents(options: RecordingsClientOptions, handlers: CallEventsHandlers, idleMs = 45_000): () => void {
  const abort = new AbortController();
  let stopped = false;
  let delay = 1_000;

  const once = async (): Promise<string | { unavailable: string }> => {
    const res = await (options.fetchImpl ?? fetch)(`${options.baseUrl}/v1/calls/events`, {
      headers: { accept: "text/event-stream", ...(await authHeader(options)) },
      cache: "no-store",
      signal: abort.signal,
    });
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => ({}))) as { err_msg?: string };
      if (res.status === 404) return { unavailable: `the server at ${options.baseUrl} keeps no recorded calls (GET /v1/calls/events answered 404)` };
      return `the server answered ${res.status}${body.err_msg ? `: ${body.err_msg}` : ""}`;
    }
    delay = 1_000;
    handlers.onState?.({ state: "live" });
    const parser = createParser({
      onEvent: (msg) => {
        if (msg.event === "ready") return handlers.onReady();
        if (msg.event !== "call") return;
        try {
          const e = JSON.parse(msg.data) as Partial<CallStatusEvent>;
          if (typeof e.id === "string" && typeof e.status === "string" && typeof e.updatedAt === "string") handlers.onEvent(e as CallStatusEvent);
        } catch {
          // not JSON: skipped, as SSE clients skip what they do not understand
        }
      },
      maxBufferSize: 64 * 1024,
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => void reader.cancel().catch(() => undefined), idleMs);
    };
    try {
      arm();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "the stream ended";
        arm();
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      clearTimeout(idle);
    }
  };

  void (async () => {
    while (!stopped) {
      let why: string;
      try {
        const end = await once();
        if (typeof end !== "string") {
          if (!stopped) handlers.onState?.({ state: "unavailable", reason: end.unavailable });
          return;
        }
        why = end;
      } catch (e) {
        why = isNetworkError(e) ? unreachableMessage(options.baseUrl) : e instanceof Error ? e.message : String(e);
      }
      if (stopped) return;
      handlers.onState?.({ state: "reconnecting", reason: why });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(30_000, delay * 2);
    }
  })();

  return () => {
    stopped = true;
    abort.abort();
  };
}
