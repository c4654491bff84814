/**
 * `GET /v1/twilio/media`: the WebSocket Twilio Media Streams connects to (`<Start><Stream
 * url="wss://…/v1/twilio/media">` with `track="both_tracks"`), issue 8 §1. Checked in this order,
 * before anything is upgraded:
 *
 * 1. on: without CALLSCRIBE_TWILIO_AUTH_TOKEN the route answers 503 `TWILIO_DISABLED` (never
 *    accept unsigned streams);
 * 2. `X-Twilio-Signature` (`signature.ts`): base64 HMAC-SHA1 with the auth token over the URL
 *    Twilio requested. That URL is rebuilt as CALLSCRIBE_PUBLIC_URL + the request's path and query
 *    when set (behind a proxy that changes host, scheme or path prefix); else from the `Host`
 *    header, as `wss://` (Twilio's stream URLs are wss; a TLS-terminating proxy hands us plain
 *    HTTP) or `ws://`. Missing or wrong: 403 `INVALID_TWILIO_SIGNATURE`;
 * 3. room: when fewer than 2 live channels are free, 503 `TOO_MANY_LIVE_CHANNELS` with
 *    `Retry-After` (the hub's own admission may still refuse after `start`: close 1013).
 *
 * The server-wide API key does not apply (`config.auth: false`): the signature is this route's
 * authentication. The request guard's Host check does: the public host name must be served
 * (CALLSCRIBE_SERVER_NAMES, or the host of CALLSCRIBE_PUBLIC_URL, which `main.ts` adds).
 * A plain GET answers 426. The stream itself is `session.ts`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { errorBody } from "../../errors";
import type { ChannelAdmission } from "../../speech/admission";
import { TwilioMediaSession, type LiveCallOpener, type TwilioSessionLimits } from "./session";
import { verifyTwilioSignature } from "./signature";

/** Route path. */
export const TWILIO_MEDIA_PATH = "/v1/twilio/media";

/** Options of {@link twilioMediaRoutes}. */
export interface TwilioMediaRoutesOptions {
  /** CALLSCRIBE_TWILIO_AUTH_TOKEN; undefined: the route answers 503. */
  authToken?: string;
  /** CALLSCRIBE_PUBLIC_URL: the `ws(s)://host[:port][/prefix]` Twilio reaches the server under. */
  publicUrl?: string;
  /** The live-call hub. */
  hub: LiveCallOpener;
  /** Live channels in use (the server's admission), for the refusal before the upgrade. */
  admission?: ChannelAdmission;
  /** Streams in progress (added and removed by the route), for shutdown. */
  sessions?: Set<TwilioMediaSession>;
  limits?: TwilioSessionLimits;
}

/** Seconds a stream refused for capacity is told to wait. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The URLs Twilio may have signed for this request.
 * @param publicUrl CALLSCRIBE_PUBLIC_URL (http(s) is read as ws(s)), or undefined
 */
export function signedUrlCandidates(request: FastifyRequest, publicUrl: string | undefined): string[] {
  const pathAndQuery = request.url;
  if (publicUrl) {
    const base = publicUrl.replace(/\/+$/, "").replace(/^http(s?):/i, "ws$1:");
    return [base + pathAndQuery];
  }
  const host = request.headers.host;
  if (!host) return [];
  return [`wss://${host}${pathAndQuery}`, `ws://${host}${pathAndQuery}`];
}

/** Fastify plugin: `GET /v1/twilio/media`. */
export async function twilioMediaRoutes(app: FastifyInstance, opts: TwilioMediaRoutesOptions): Promise<void> {
  const sessions = opts.sessions ?? new Set<TwilioMediaSession>();

  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!opts.authToken) {
      return reply
        .code(503)
        .header("connection", "close")
        .send(errorBody(request, "TWILIO_DISABLED", "Twilio Media Streams ingress is off: set CALLSCRIBE_TWILIO_AUTH_TOKEN to the account's auth token to turn it on."));
    }
    const header = request.headers["x-twilio-signature"];
    const presented = Array.isArray(header) ? header[0] : header;
    if (!verifyTwilioSignature(opts.authToken, presented, signedUrlCandidates(request, opts.publicUrl))) {
      request.log.info({ signature: presented ? "wrong" : "missing" }, "twilio stream refused: signature");
      return reply
        .code(403)
        .header("connection", "close")
        .send(
          errorBody(
            request,
            "INVALID_TWILIO_SIGNATURE",
            presented
              ? "X-Twilio-Signature does not match this URL and the auth token (behind a proxy, set CALLSCRIBE_PUBLIC_URL to the wss:// URL Twilio connects to)."
              : "X-Twilio-Signature is missing: only Twilio may open this stream.",
          ),
        );
    }
    const admission = opts.admission;
    if (admission && (request as FastifyRequest & { ws?: boolean }).ws && admission.limit - admission.inUse < 2) {
      return reply
        .code(503)
        .header("retry-after", String(RETRY_AFTER_SECONDS))
        .send(errorBody(request, "TOO_MANY_LIVE_CHANNELS", `The server is at capacity: ${admission.inUse} of ${admission.limit} live channels are in use and a call needs 2. Try again later.`));
    }
  };

  app.route({
    method: "GET",
    url: TWILIO_MEDIA_PATH,
    config: { auth: false },
    preValidation: guard,
    handler: async (request: FastifyRequest, reply: FastifyReply) =>
      reply.code(426).header("upgrade", "websocket").send(errorBody(request, "UPGRADE_REQUIRED", `GET ${TWILIO_MEDIA_PATH} is a WebSocket endpoint for Twilio Media Streams.`)),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const session = new TwilioMediaSession({
        socket,
        hub: opts.hub,
        log: request.log,
        limits: opts.limits,
        onEnd: (s) => sessions.delete(s),
      });
      sessions.add(session);
    },
  });

  app.addHook("preClose", async () => {
    for (const s of sessions) s.shutdown();
  });
}
