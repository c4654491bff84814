/**
 * The `/v1/listen` routes: WebSocket (live) and POST (pre-recorded), speaking Deepgram's protocol.
 * Registered by `app.ts` inside its own Fastify context, so the catch-all body parser below applies
 * to these routes only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { LISTEN_ROUTE_AUTH } from "../auth";
import { AudioDecodeError } from "./audio/pcm";
import type { SpeechEngine } from "./engines/engine";
import { ModelUnavailableError, type EngineResolver } from "./engines/registry";
import { LiveSession, CloseCode, closeReason } from "./live-session";
import { errorBody } from "../errors";
import type { ModelInfo } from "./protocol";
import { parseListenQuery } from "./query";
import { transcribeRecording } from "./prerecorded";

/** What the routes need from the server. */
export interface ListenRoutesOptions {
  /** Resolves `model=` to an engine (the registry, or a single engine wrapped with `EngineRegistry.single`). */
  engines: EngineResolver;
  /** Live sessions in progress; sessions add and remove themselves. */
  sessions: Set<LiveSession>;
  /** Close a live session after this long without client frames, ms. */
  idleTimeoutMs: number;
  /** Longest engine flush on Finalize/CloseStream before the session fails, ms. */
  flushTimeoutMs: number;
  /** Largest accepted POST body, bytes. */
  maxBodyBytes: number;
}

/** Deepgram-style error body (the server's one shape, `../errors.ts`). */
export { errorBody } from "../errors";

type Query = Record<string, string | string[] | undefined>;

type Resolved = { ok: true; engine: SpeechEngine; model: { uuid: string; info: ModelInfo }; requested?: string } | { ok: false; message: string };

/** The engine for the query's `model` (the last one when repeated); a refusal names the available models. */
function resolveModel(engines: EngineResolver, query: Query): Resolved {
  const raw = query.model;
  const requested = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  try {
    const { engine, identity } = engines.resolve(requested === "" ? undefined : requested);
    return { ok: true, engine, model: identity, requested };
  } catch (err) {
    if (err instanceof ModelUnavailableError) {
      return { ok: false, message: `Invalid value "${String(requested).slice(0, 40)}" for query parameter model: ${err.message}.` };
    }
    throw err;
  }
}

/** The engine as the query validator sees it: it answers to the name the client used. */
function validatorView(r: Extract<Resolved, { ok: true }>): Pick<SpeechEngine, "name" | "model" | "languages"> {
  return { name: r.requested ?? r.engine.name, model: r.engine.model, languages: r.engine.languages };
}

/** Fastify plugin: `GET /v1/listen` (WebSocket upgrade) and `POST /v1/listen`. */
export async function listenRoutes(app: FastifyInstance, opts: ListenRoutesOptions): Promise<void> {
  const { engines, sessions } = opts;

  // Audio arrives as application/octet-stream (the SDK), audio/wav, audio/flac, or anything else: keep the bytes.
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.route({
    method: "GET",
    url: "/v1/listen",
    config: { auth: LISTEN_ROUTE_AUTH },
    // A plain GET is not an upgrade: tell the client what to do.
    handler: async (request: FastifyRequest, reply: FastifyReply) =>
      reply.code(426).header("upgrade", "websocket").send(errorBody(request, "UPGRADE_REQUIRED", "GET /v1/listen is a WebSocket endpoint: open it with a WebSocket client.")),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => {
      const resolved = resolveModel(engines, request.query as Query);
      if (!resolved.ok) {
        request.log.info({ parameter: "model" }, "live request refused: model not available");
        socket.close(CloseCode.policyViolation, closeReason(resolved.message));
        return;
      }
      const { engine, model } = resolved;
      const parsed = parseListenQuery(request.query as Query, "live", validatorView(resolved));
      if (!parsed.ok) {
        request.log.info({ parameter: parsed.parameter }, "live request refused: invalid query parameter");
        socket.close(CloseCode.policyViolation, closeReason(parsed.message));
        return;
      }
      if (parsed.ignored.length > 0) request.log.info({ ignoredParameters: parsed.ignored }, "ignoring unknown query parameters");
      const session = new LiveSession({
        socket,
        engine,
        options: parsed.options,
        requestId: String(request.id),
        model,
        log: request.log,
        idleTimeoutMs: opts.idleTimeoutMs,
        flushTimeoutMs: opts.flushTimeoutMs,
        onEnd: (s) => sessions.delete(s),
      });
      sessions.add(session);
    },
  });

  app.post("/v1/listen", { config: { auth: LISTEN_ROUTE_AUTH } }, async (request, reply) => {
    const resolved = resolveModel(engines, request.query as Query);
    if (!resolved.ok) {
      return reply.code(400).send(errorBody(request, "INVALID_QUERY_PARAMETER", resolved.message, "model"));
    }
    const { engine, model } = resolved;
    const parsed = parseListenQuery(request.query as Query, "prerecorded", validatorView(resolved));
    if (!parsed.ok) {
      return reply.code(400).send(errorBody(request, "INVALID_QUERY_PARAMETER", parsed.message, parsed.parameter));
    }
    if (parsed.ignored.length > 0) request.log.info({ ignoredParameters: parsed.ignored }, "ignoring unknown query parameters");
    const body = request.body;
    if (!(body instanceof Uint8Array)) {
      // A JSON body is Deepgram's `{"url": ...}` form; fetching remote URLs is not offered (SSRF risk).
      return reply
        .code(400)
        .send(errorBody(request, "UNSUPPORTED_SOURCE", "Send the audio itself as the request body (WAV, FLAC, or raw with encoding and sample_rate); URL sources are not supported."));
    }
    try {
      const response = await transcribeRecording(body, parsed.options, { engine, requestId: String(request.id), model });
      request.log.info(
        { audioSeconds: response.metadata.duration, channels: response.results.channels.length, bytes: body.length },
        "pre-recorded request transcribed",
      );
      return reply.send(response);
    } catch (err) {
      if (err instanceof AudioDecodeError) {
        request.log.info({ reason: err.message }, "pre-recorded request refused: not decodable audio");
        return reply.code(400).send(errorBody(request, "INVALID_AUDIO", `Could not process the audio: ${err.message}.`));
      }
      throw err;
    }
  });
}
