/**
 * One live recognition stream to a Deepgram-protocol server (`/v1/listen`) through the real
 * `@deepgram/sdk` 5.13 client.
 *
 * In a browser the SDK detects the runtime (`window.document` present) and uses the native
 * `WebSocket`; the API key travels as the `Sec-WebSocket-Protocol: token, <key>` subprotocol.
 * Its static `import "ws"` resolves to ws's browser stub under Vite, which is never called. In
 * Node (tests) it loads `ws`. The SDK insists on a key even when our server needs none, so a
 * placeholder is sent then (a server without `CALLSCRIBE_API_KEY` ignores it).
 *
 * Direct mode (Deepgram's cloud, see `direct-grant.ts`): `accessToken` instead of `apiKey`; the
 * SDK then authenticates with `bearer, <token>` (Node: `Authorization: Bearer <token>`).
 *
 * Automatic reconnection is off (`reconnectAttempts: 0`): a silent reconnect would start a new
 * server session and lose the transcript's time base, so a drop is reported as an error instead.
 */
import { DeepgramClient } from "@deepgram/sdk";

/** Placeholder key for servers that need none: the SDK refuses to connect without one. */
export const NO_KEY = "callscribe-no-key";

/** Query parameters for `/v1/listen`, fixed by the capture format (16 kHz mono PCM16). */
export interface ListenParams {
  /** Server model/engine; undefined lets the server pick its default. */
  model?: string;
  /** BCP 47 tag. Default `en`. */
  language?: string;
  /** Hz. Default 16000. */
  sampleRate?: number;
  /** Interleaved channels of the PCM16 sent. Default 1; more sends `multichannel=true` (one transcript per channel). */
  channels?: number;
  /** Endpointing silence in ms. Default 300. */
  endpointing?: number;
  /** Gap in ms after the last word before `UtteranceEnd`. Default 1000. */
  utteranceEndMs?: number;
}

/** Options of {@link openListenConnection}. */
export interface ListenConnectionOptions extends ListenParams {
  /** Origin of the speech server, e.g. `location.origin` or `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** API key of our server; {@link NO_KEY} when the server needs none. Ignored with `accessToken`. */
  apiKey?: string;
  /** Short-lived Deepgram access token (direct mode); sent as `bearer, <token>`, never as a key. */
  accessToken?: string;
  /** Who is at `baseUrl`, for error messages. Default `speech server`. */
  serverLabel?: string;
  /** Seconds to wait for the WebSocket to open. Default 10. */
  connectTimeoutSeconds?: number;
}

/** Callbacks of a connection. `message` gets the SDK-parsed frame, not yet validated. */
export interface ListenHandlers {
  onMessage: (frame: unknown) => void;
  /** The socket closed; `expected` is true after {@link ListenConnection.finish}. */
  onClose?: (info: { code: number; reason: string; expected: boolean }) => void;
  onError?: (error: Error) => void;
}

/** An open stream. */
export interface ListenConnection {
  /** Send one frame of linear16 audio. Dropped (no throw) once the socket is no longer open. */
  sendAudio(pcm: Int16Array): void;
  /**
   * End the stream: `Finalize` (flushes the utterance in progress as a final with
   * `from_finalize`), then `CloseStream`; resolves when the server has closed the socket (after
   * its last Results and `Metadata`), or after `timeoutMs` (default 15000), closing it then.
   */
  finish(timeoutMs?: number): Promise<{ code: number; timedOut: boolean }>;
  /** Close at once without flushing. Idempotent. */
  abort(): void;
}

/** The `/v1/listen` query for our capture format (DESIGN §4). */
export function listenQuery(params: ListenParams): Record<string, string | number | boolean> {
  const query: Record<string, string | number | boolean> = {
    language: params.language ?? "en",
    encoding: "linear16",
    sample_rate: params.sampleRate ?? 16000,
    channels: params.channels ?? 1,
    interim_results: true,
    endpointing: params.endpointing ?? 300,
    utterance_end_ms: params.utteranceEndMs ?? 1000,
    vad_events: true,
    punctuate: true,
  };
  if ((params.channels ?? 1) > 1) query.multichannel = true;
  if (params.model) query.model = params.model;
  return query;
}

/**
 * Open a live stream and wait until the socket is open.
 * @throws Error when the socket cannot open (server down, handshake refused, e.g. a bad
 *   parameter value or a missing key) or does not open within the timeout
 */
export async function openListenConnection(options: ListenConnectionOptions, handlers: ListenHandlers): Promise<ListenConnection> {
  const client = options.accessToken
    ? new DeepgramClient({ accessToken: options.accessToken, baseUrl: options.baseUrl })
    : new DeepgramClient({ apiKey: options.apiKey || NO_KEY, baseUrl: options.baseUrl });
  const connectTimeout = options.connectTimeoutSeconds ?? 10;
  const args = {
    ...listenQuery(options),
    reconnectAttempts: 0,
    connectionTimeoutInSeconds: connectTimeout,
  } as unknown as Parameters<typeof client.listen.v1.connect>[0];
  const socket = await client.listen.v1.connect(args);

  let finishing = false;
  let closed = false;
  // A close before the socket opened is reported by the thrown error below, not as a dropped stream.
  let opened = false;
  let onClosed: (code: number) => void = () => undefined;
  const whenClosed = new Promise<number>((resolve) => (onClosed = resolve));

  socket.on("message", (frame) => handlers.onMessage(frame));
  socket.on("close", (event) => {
    if (closed) return;
    closed = true;
    const code = (event as { code?: number }).code ?? 1005;
    if (opened) handlers.onClose?.({ code, reason: (event as { reason?: string }).reason ?? "", expected: finishing });
    onClosed(code);
  });
  socket.on("error", (error) => {
    if (!closed) handlers.onError?.(error instanceof Error ? error : new Error(String(error)));
  });

  socket.connect();
  let openTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      socket.waitForOpen(),
      whenClosed.then((code) => Promise.reject(new Error(`closed with code ${code} before opening`))),
      new Promise((_, reject) => (openTimer = setTimeout(() => reject(new Error(`no answer within ${connectTimeout} s`)), connectTimeout * 1000))),
    ]);
    clearTimeout(openTimer);
    opened = true;
  } catch (err) {
    clearTimeout(openTimer);
    closed = true;
    try {
      socket.close();
    } catch {
      /* already closed */
    }
    const detail = err instanceof Error ? err.message : (err as { message?: string })?.message || "connection error";
    throw new Error(`${options.serverLabel ?? "speech server"} ${options.baseUrl}/v1/listen unreachable or refused the stream: ${detail}`);
  }

  const isOpen = () => !closed && socket.readyState === 1;
  const abort = () => {
    if (closed) return;
    finishing = true;
    try {
      socket.close();
    } catch {
      /* already closed */
    }
  };
  return {
    sendAudio(pcm) {
      if (!isOpen() || finishing) return;
      socket.sendMedia(pcm);
    },
    async finish(timeoutMs = 15000) {
      if (closed) return { code: 1000, timedOut: false };
      finishing = true;
      if (isOpen()) {
        socket.sendFinalize({ type: "Finalize" });
        socket.sendCloseStream({ type: "CloseStream" });
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
      const code = await Promise.race([whenClosed, timedOut]);
      clearTimeout(timer);
      if (code === null) {
        abort();
        return { code: 1000, timedOut: true };
      }
      return { code, timedOut: false };
    },
    abort,
  };
}
