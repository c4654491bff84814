/**
 * The transcriber's subscription to a live call on the server (issue 8 §2): `GET
 * /v1/calls/:id/live`, server-sent events, one per call event (`id: <seq>`, `event: <type>`,
 * `data: <JSON>`; contract in `src/server/live-calls/types.ts`). The same role as
 * {@link ./listen-connection.ts}'s `ListenConnection`, but the audio is the telephony platform's:
 * the transcriber opens no microphone and sends nothing.
 *
 * `EventSource` cannot send an `Authorization` header, so this reads the response body of a
 * `fetch` and parses it with `eventsource-parser` (the WHATWG event-stream format).
 *
 * - `CallStarted` / `CallUpdated` → `onCall` (speaker name and role per channel);
 * - Deepgram-shaped `Results` / `UtteranceEnd` (and `SpeechStarted`, `Metadata`) → `onMessage`,
 *   the same path as a `/v1/listen` frame (`parseListenMessage` validates them there);
 * - `StreamInterrupted` → `onInterrupted`; `CallEnded` → `onEnded` (the stream is over).
 *
 * A network error or a body that ends before `CallEnded` reconnects with `Last-Event-ID`
 * (bounded retries, exponential backoff); events already seen (seq ≤ last) are skipped.
 * Every event is validated (ajv); a malformed one is reported through `onInvalid` and skipped.
 */
import Ajv, { type ValidateFunction } from "ajv";
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** A live call as the server describes it (`LiveCallSummary`); only the fields the transcriber uses are checked. */
export interface LiveCallInfo {
  call_id: string;
  /** `audiohook` | `twilio` | `listen`. */
  source: string;
  /** Speaker name per channel (index = channel), e.g. `["Alice Agent", "Bob Customer"]`. */
  speakers: string[];
  /** Role per channel, `agent` / `customer`. */
  roles: string[];
  /** ISO 8601. */
  started_at?: string;
  metadata?: Record<string, unknown>;
}

/** `CallEnded`: `done` (the server stored the transcript) or `failed` with a reason. */
export interface LiveCallEnded {
  status: "done" | "failed";
  reason?: string;
  /** The server's final `fdc3.transcript`; not validated here (the controller validates contexts). */
  transcript?: unknown;
}

/** The server refused because no such call streams, nor started within `wait` (404 `NO_LIVE_CALL`). */
export class NoLiveCallError extends Error {
  constructor(
    readonly callId: string,
    readonly waitedSeconds: number,
  ) {
    super(`no live call ${callId} on the server (waited ${waitedSeconds} s)`);
    this.name = "NoLiveCallError";
  }
}

/** Options of {@link openLiveCallConnection}. */
export interface LiveCallOptions {
  /** Server origin, e.g. `location.origin`. */
  baseUrl: string;
  callId: string;
  /** API key or the desktop's `listen` token, sent as `Authorization: Token <key>`. */
  apiKey?: string;
  /** Seconds the server waits for a call that has not started yet (`?wait=`, 0–30). Default 5. */
  waitSeconds?: number;
  /** Reconnection attempts in a row before giving up. Default 5. */
  maxRetries?: number;
  /** First reconnection delay, ms, doubled per attempt up to 5 s. Default 250. */
  retryDelayMs?: number;
  /**
   * Silence (not even the server's 15 s `: keep-alive`) after which the stream counts as dropped, ms.
   * Default 45000.
   */
  idleTimeoutMs?: number;
  /** Longest event the parser buffers, characters (a final transcript can be large). Default 16 Mi. */
  maxEventChars?: number;
  fetch?: typeof fetch;
}

/** Callbacks of a subscription. */
export interface LiveCallHandlers {
  /** A Deepgram-shaped frame (Results, UtteranceEnd, …), not yet validated. */
  onMessage: (frame: unknown) => void;
  /** `CallStarted` (first) and `CallUpdated`. */
  onCall?: (call: LiveCallInfo, type: "CallStarted" | "CallUpdated") => void;
  /** The ingress stopped without closing; `CallEnded` follows. */
  onInterrupted?: (reason: string) => void;
  /** The call ended: the last event. */
  onEnded?: (ended: LiveCallEnded) => void;
  /** Reconnecting after a drop (attempt 1, 2, …). */
  onReconnecting?: (attempt: number, why: string) => void;
  /** A reconnection was answered: events flow again (from after the last one seen). */
  onReconnected?: () => void;
  /** A malformed event was skipped. */
  onInvalid?: (message: string) => void;
  /** The stream was lost for good (retries spent, or the server refused the reconnection). */
  onError?: (error: Error) => void;
}

/** An open subscription. */
export interface LiveCallConnection {
  /** The call as last described (`CallStarted`, then `CallUpdated`). */
  readonly call: LiveCallInfo;
  /** Seq of the last event received. */
  readonly lastEventId: number;
  /**
   * Wait for `CallEnded` (resolves at once when it came already).
   * @returns the event, or undefined after `timeoutMs`, or when the stream was closed or lost first
   */
  waitForEnd(timeoutMs: number): Promise<LiveCallEnded | undefined>;
  /** Stop listening. Idempotent. */
  close(): void;
}

const CALL_SCHEMA = {
  type: "object",
  required: ["call_id", "source", "speakers", "roles"],
  properties: {
    call_id: { type: "string", minLength: 1 },
    source: { type: "string" },
    speakers: { type: "array", maxItems: 16, items: { type: "string", maxLength: 500 } },
    roles: { type: "array", maxItems: 16, items: { type: "string", maxLength: 100 } },
    started_at: { type: "string" },
    metadata: { type: "object" },
  },
} as const;

const EVENT_SCHEMAS = {
  CallStarted: { type: "object", required: ["type", "call"], properties: { type: { const: "CallStarted" }, call: CALL_SCHEMA } },
  CallUpdated: { type: "object", required: ["type", "call"], properties: { type: { const: "CallUpdated" }, call: CALL_SCHEMA } },
  StreamInterrupted: { type: "object", required: ["type", "reason"], properties: { type: { const: "StreamInterrupted" }, reason: { type: "string" } } },
  CallEnded: {
    type: "object",
    required: ["type", "status"],
    properties: { type: { const: "CallEnded" }, status: { enum: ["done", "failed"] }, reason: { type: "string" }, transcript: { type: "object" } },
  },
} as const;

/** Deepgram frame types passed on to `onMessage` (validated by `parseListenMessage`). */
const SPEECH_TYPES = new Set(["Results", "UtteranceEnd", "SpeechStarted", "Metadata"]);

let validators: Map<string, ValidateFunction> | undefined;
function validatorFor(type: string): ValidateFunction | undefined {
  validators ??= new Map(Object.entries(EVENT_SCHEMAS).map(([t, s]) => [t, new Ajv({ strict: true }).compile(s)]));
  return validators.get(type);
}

/** Why one response's body stopped. */
type PumpEnd = { kind: "ended" } | { kind: "closed" } | { kind: "dropped"; why: string };

/** The server's error body (`{err_code, err_msg}`), when it sent one. */
async function errorOf(res: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await res.json()) as { err_code?: unknown; err_msg?: unknown };
    return { code: typeof body?.err_code === "string" ? body.err_code : undefined, message: typeof body?.err_msg === "string" ? body.err_msg : undefined };
  } catch {
    return {};
  }
}

/** `fetch failed` alone says little: add the cause (e.g. `ECONNREFUSED`). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail && !err.message.includes(detail) ? `${err.message}: ${detail}` : err.message;
}

/**
 * Subscribe to a call's live events; resolves once `CallStarted` arrived.
 * @throws NoLiveCallError when the call has no live stream, nor gets one within `waitSeconds`
 * @throws Error when the server is unreachable, refuses (e.g. 401), or sends no `CallStarted`
 */
export async function openLiveCallConnection(options: LiveCallOptions, handlers: LiveCallHandlers): Promise<LiveCallConnection> {
  const fetchImpl = options.fetch ?? fetch;
  const wait = Math.max(0, Math.min(30, Math.round(options.waitSeconds ?? 5)));
  const maxRetries = options.maxRetries ?? 5;
  const retryDelay = options.retryDelayMs ?? 250;
  const idleMs = options.idleTimeoutMs ?? 45_000;
  const url = `${options.baseUrl}/v1/calls/${encodeURIComponent(options.callId)}/live`;
  const abort = new AbortController();

  let call: LiveCallInfo | undefined;
  let lastSeq = 0;
  let ended: LiveCallEnded | undefined;
  let closed = false;
  let lost = false;
  const endWaiters = new Set<() => void>();
  const settleWaiters = () => endWaiters.forEach((w) => w());
  let started: (call: LiveCallInfo) => void = () => undefined;
  let startFailed: (err: Error) => void = () => undefined;
  const whenStarted = new Promise<LiveCallInfo>((resolve, reject) => ((started = resolve), (startFailed = reject)));

  const dispatch = (msg: EventSourceMessage): void => {
    const seq = msg.id !== undefined && /^\d+$/.test(msg.id) ? Number(msg.id) : undefined;
    // Seen before the reconnection; a stored call's replay (CallStarted, CallEnded) numbers afresh, and CallEnded comes once.
    if (seq !== undefined && seq <= lastSeq && !(msg.event === "CallEnded" && !ended)) return;
    if (seq !== undefined) lastSeq = Math.max(lastSeq, seq);
    let data: unknown;
    try {
      data = JSON.parse(msg.data);
    } catch {
      handlers.onInvalid?.(`live call event ${msg.event ?? "(untyped)"} is not JSON`);
      return;
    }
    const type = (data as { type?: unknown } | null)?.type;
    if (typeof type !== "string") return handlers.onInvalid?.("live call event without a string `type`");
    if (SPEECH_TYPES.has(type)) return handlers.onMessage(data);
    const validate = validatorFor(type);
    if (!validate) return; // a type this client does not know: skipped, as SSE clients do
    if (!validate(data)) {
      const e = validate.errors?.[0];
      return handlers.onInvalid?.(`invalid ${type} event: ${e?.instancePath || "(root)"} ${e?.message ?? "does not match"}`);
    }
    const event = data as { type: string; call?: LiveCallInfo; reason?: string; status?: "done" | "failed"; transcript?: unknown };
    switch (type) {
      case "CallStarted":
      case "CallUpdated":
        call = event.call!;
        handlers.onCall?.(call, type);
        started(call);
        return;
      case "StreamInterrupted":
        return handlers.onInterrupted?.(event.reason!);
      case "CallEnded":
        ended = { status: event.status!, ...(event.reason !== undefined && { reason: event.reason }), ...(event.transcript !== undefined && { transcript: event.transcript }) };
        handlers.onEnded?.(ended);
        settleWaiters();
        return;
    }
  };

  /** One GET; returns the response when it is an event stream, else throws (NoLiveCallError on 404). */
  const request = async (waitSeconds: number, resume = true): Promise<Response> => {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (options.apiKey) headers.authorization = `Token ${options.apiKey}`;
    if (resume && lastSeq > 0) headers["last-event-id"] = String(lastSeq);
    const res = await fetchImpl(`${url}?wait=${waitSeconds}`, { headers, cache: "no-store", signal: abort.signal });
    if (res.ok && (res.headers.get("content-type") ?? "").startsWith("text/event-stream") && res.body) return res;
    const err = res.ok ? { message: `answered ${res.headers.get("content-type") ?? "no content type"}, not an event stream` } : await errorOf(res);
    if (res.status === 404 && (err.code === "NO_LIVE_CALL" || err.code === undefined)) throw new NoLiveCallError(options.callId, waitSeconds);
    throw Object.assign(new Error(`the server refused the live call stream for ${options.callId} (HTTP ${res.status}${err.code ? ` ${err.code}` : ""}${err.message ? `: ${err.message}` : ""})`), {
      status: res.status,
    });
  };

  /** Read one response's events until it ends. */
  const pump = async (res: Response): Promise<PumpEnd> => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let overflow: string | undefined;
    const parser = createParser({
      onEvent: dispatch,
      onError: (e) => {
        if (e.type === "max-buffer-size-exceeded") overflow = e.message;
      },
      maxBufferSize: options.maxEventChars ?? 16 * 1024 * 1024,
    });
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let idle = false;
    const arm = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        void reader.cancel().catch(() => undefined);
      }, idleMs);
    };
    try {
      arm();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        parser.feed(decoder.decode(value, { stream: true }));
        if (overflow) {
          void reader.cancel().catch(() => undefined);
          return { kind: "dropped", why: `an event exceeded the size limit (${overflow})` };
        }
        if (ended) {
          void reader.cancel().catch(() => undefined);
          return { kind: "ended" };
        }
      }
      if (closed) return { kind: "closed" };
      return idle ? { kind: "dropped", why: `nothing for ${Math.round(idleMs / 1000)} s` } : { kind: "dropped", why: "the server ended the stream before CallEnded" };
    } catch (err) {
      if (closed) return { kind: "closed" };
      return { kind: "dropped", why: idle ? `nothing for ${Math.round(idleMs / 1000)} s` : describe(err) };
    } finally {
      clearTimeout(idleTimer);
    }
  };

  /** Pump, and reconnect after drops until the call ends, we close, or retries run out. */
  const run = async (first: Response): Promise<void> => {
    let res: Response | undefined = first;
    let attempt = 0;
    for (;;) {
      const seqBefore = lastSeq;
      const end: PumpEnd = res ? await pump(res) : { kind: "dropped", why: "no response" };
      if (end.kind !== "dropped" || closed) return;
      if (!call) return startFailed(new Error(`the live call stream for ${options.callId} ended before CallStarted (${end.why})`));
      if (lastSeq > seqBefore) attempt = 0; // that connection made progress: a fresh budget
      res = undefined;
      let why = end.why;
      while (!res) {
        if (++attempt > maxRetries) {
          lost = true;
          settleWaiters();
          handlers.onError?.(new Error(`lost the live call stream for ${options.callId} after ${maxRetries} reconnection attempts (${why})`));
          return;
        }
        handlers.onReconnecting?.(attempt, why);
        await new Promise((r) => setTimeout(r, Math.min(5000, retryDelay * 2 ** (attempt - 1))));
        if (closed) return;
        try {
          res = await request(0).catch(async (err: unknown) => {
            // The call ended meanwhile: its stored replay (CallStarted, CallEnded with the transcript) starts at seq 1.
            if (err instanceof NoLiveCallError) return request(0, false);
            throw err;
          });
        } catch (err) {
          if (closed) return;
          const status = (err as { status?: number }).status;
          if (err instanceof NoLiveCallError || (status !== undefined && status < 500 && status !== 429)) {
            lost = true;
            settleWaiters();
            handlers.onError?.(new Error(`lost the live call stream for ${options.callId}: ${err instanceof NoLiveCallError ? "the server no longer knows the call" : (err as Error).message}`));
            return;
          }
          why = describe(err);
        }
      }
      handlers.onReconnected?.();
    }
  };

  let first: Response;
  try {
    first = await request(wait);
  } catch (err) {
    if (err instanceof NoLiveCallError) throw err;
    if ((err as { status?: number }).status !== undefined) throw err;
    throw new Error(`cannot reach ${url}: ${describe(err)}`);
  }
  void run(first).then(
    () => startFailed(new Error(`the live call stream for ${options.callId} ended without CallStarted`)), // no-op once started
    (err: unknown) => startFailed(err instanceof Error ? err : new Error(String(err))),
  );
  let startTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      whenStarted,
      new Promise((_, reject) => (startTimer = setTimeout(() => reject(new Error(`the live call stream for ${options.callId} sent no CallStarted within 10 s`)), 10_000))),
    ]);
  } catch (err) {
    closed = true;
    abort.abort();
    throw err;
  } finally {
    clearTimeout(startTimer);
  }

  return {
    get call() {
      return call!;
    },
    get lastEventId() {
      return lastSeq;
    },
    waitForEnd(timeoutMs) {
      if (ended || closed || lost) return Promise.resolve(ended);
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          endWaiters.delete(done);
          resolve(ended);
        };
        const timer = setTimeout(done, timeoutMs);
        endWaiters.add(done);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      abort.abort();
      settleWaiters();
    },
  };
}
