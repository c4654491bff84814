/**
 * `GET /v1/audiohook`: the Genesys Cloud AudioHook (protocol v2) WebSocket ingress. The route
 * authenticates itself (`config: { auth: false }` for the server's API-key guard): the
 * `X-API-KEY` header must equal CALLSCRIBE_AUDIOHOOK_API_KEY (constant time), and with
 * CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET the upgrade request must carry a valid HTTP Message
 * Signature (`signature.ts`). Both are checked before the upgrade: 401 (or 503 when the nonce
 * cache is full). Without an API key (or without a live-call hub) the route answers 503.
 * Each accepted socket is one {@link AudiohookSession}; on server close every session is
 * disconnected ("server shutting down"), its call interrupted and kept.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import { errorBody } from "../../errors";
import { pauseReading, resumeReading } from "../../ws-back-pressure";
import { AudiohookSession, type OpenCall, type SessionLimits } from "./session";
import { NonceCache, safeEqual, verifyAudiohookSignature } from "./signature";

/** Options of {@link audiohookRoutes}. */
export interface AudiohookRouteOptions {
  /** CALLSCRIBE_AUDIOHOOK_API_KEY; undefined: the route answers 503. */
  apiKey?: string;
  /** The base64-decoded CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET; when set, signatures are required. */
  clientSecret?: Buffer;
  /** Opens the live call (the hub); undefined: the route answers 503. */
  openCall?: OpenCall;
  /** Session bounds and timings (`session.ts` defaults). */
  limits?: Partial<SessionLimits>;
  /** Oldest signature `created` accepted, seconds. Default 30. */
  signatureMaxAgeSeconds?: number;
  /** Nonces remembered at most. Default 10 000. */
  maxNonces?: number;
  /** Send interim transcripts as events too. Default false. */
  interimEvents?: boolean;
  /** AudioHook sessions whose socket is open; sessions add and remove themselves. */
  sessions?: Set<AudiohookSession>;
  /**
   * Whether a call's two channels would be admitted now: when not, the upgrade is refused with 503
   * and `Retry-After` (the hub refuses again at `open` if capacity went meanwhile). Default: always.
   */
  hasCapacity?: () => boolean;
}

/** Seconds a client refused for capacity is told to wait. */
const RETRY_AFTER_SECONDS = 5;

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Fastify plugin: `GET /v1/audiohook`. */
export async function audiohookRoutes(app: FastifyInstance, opts: AudiohookRouteOptions): Promise<void> {
  const sessions = opts.sessions ?? new Set<AudiohookSession>();
  const nonces = new NonceCache(opts.maxNonces ?? 10_000);

  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    request.log.info({ status, code }, "audiohook connection refused");
    return reply.code(status).header("connection", "close").send(errorBody(request, code, message));
  };

  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!opts.apiKey || !opts.openCall) {
      return refuse(request, reply, 503, "AUDIOHOOK_DISABLED", "The AudioHook ingress is off: set CALLSCRIBE_AUDIOHOOK_API_KEY to enable it.");
    }
    const presented = headerValue(request, "x-api-key");
    if (presented === undefined || !safeEqual(presented, opts.apiKey)) {
      return refuse(request, reply, 401, "INVALID_AUTH", "Invalid or missing X-API-KEY header.");
    }
    if (opts.clientSecret) {
      const result = verifyAudiohookSignature({
        headers: request.headers,
        target: request.raw.url ?? request.url,
        method: request.method,
        secret: opts.clientSecret,
        apiKey: opts.apiKey,
        nonces,
        maxAgeSeconds: opts.signatureMaxAgeSeconds,
      });
      if (!result.ok) return refuse(request, reply, result.status, result.status === 401 ? "INVALID_SIGNATURE" : "TOO_MANY_REQUESTS", `Signature refused: ${result.reason}.`);
    }
    if (opts.hasCapacity && !opts.hasCapacity()) {
      reply.header("retry-after", String(RETRY_AFTER_SECONDS));
      return refuse(request, reply, 503, "TOO_MANY_LIVE_CHANNELS", "The server is at capacity for live calls (two channels per call); try again later.");
    }
  };

  app.route({
    method: "GET",
    url: "/v1/audiohook",
    config: { auth: false },
    onRequest: authenticate,
    handler: async (request, reply) =>
      reply.code(426).header("upgrade", "websocket").send(errorBody(request, "UPGRADE_REQUIRED", "GET /v1/audiohook is a WebSocket endpoint (Genesys Cloud AudioHook protocol v2).")),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const session = new AudiohookSession({
        openCall: opts.openCall!,
        log: request.log,
        sessionId: headerValue(request, "audiohook-session-id"),
        organizationId: headerValue(request, "audiohook-organization-id"),
        limits: opts.limits,
        interimEvents: opts.interimEvents,
        transport: {
          send: (text) => {
            if (socket.readyState === socket.OPEN) socket.send(text);
          },
          close: (code, reason) => {
            if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
            // A client that does not answer the close handshake is cut off.
            setTimeout(() => socket.terminate(), 2_000).unref();
          },
          bufferedAmount: () => socket.bufferedAmount,
          // Pinged while paused, so a client that went away is noticed (ws-back-pressure.ts).
          pauseReading: () => pauseReading(socket),
          resumeReading: () => resumeReading(socket),
        },
        onEnd: (s) => sessions.delete(s),
      });
      sessions.add(session);
      socket.on("message", (data: RawData, isBinary: boolean) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
        try {
          if (isBinary) session.onBinary(bytes);
          else session.onText(bytes);
        } catch (err) {
          request.log.error({ err }, "audiohook frame handling failed");
          socket.terminate();
        }
      });
      socket.on("close", (code: number) => session.onSocketClosed(code));
      socket.on("error", (err: Error) => request.log.info({ err: err.message }, "audiohook socket error"));
    },
  });

  // Sessions left when the server closes (without `buildServer`'s WebSocket preClose) are shut down here.
  app.addHook("preClose", async () => {
    await Promise.all([...sessions].map((s) => s.shutdown()));
  });
}
