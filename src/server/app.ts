/**
 * The speech server's Fastify application: `/healthz`, the Deepgram-compatible `/v1/listen`
 * (WebSocket and POST), optional API-key auth, and the built web pages when `staticDir` is given.
 * `buildServer` does not listen; `main.ts` (the composition root) and the tests do.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import fastifyStatic from "@fastify/static";
import fastifyWebsocket from "@fastify/websocket";
import { credentialMatches, presentedCredential, selectSubprotocol } from "./auth";
import { grantRoutes } from "./speech/engines/deepgram/grant";
import type { SpeechEngine } from "./speech/engines/engine";
import { EngineRegistry, type EngineResolver } from "./speech/engines/registry";
import type { LiveSession } from "./speech/live-session";
import { errorBody, listenRoutes } from "./speech/routes";

/** Options of {@link buildServer}. */
export interface BuildServerOptions {
  /**
   * One speech engine serving every request (it answers to its `name` and `model`). `buildServer`
   * starts loading it (`ready()`); `/healthz` says 503 until it is loaded. The caller closes it.
   * Give `engine` or `engines`.
   */
  engine?: SpeechEngine;
  /**
   * The engine registry (`createEngineRegistry`): `model=` picks among its models, `GET /v1/models`
   * lists them. Its default engine is loaded at start and reported by `/healthz`. The caller closes it.
   */
  engines?: EngineResolver;
  /** Deepgram access for direct mode (`POST /v1/auth/grant`); undefined: the route answers 404. */
  deepgram?: { apiKey: string; baseUrl: string };
  /** When set, `/v1/*` requires this key (Token/Bearer header or `token` WebSocket subprotocol). */
  apiKey?: string;
  /** Directory of the built web pages (Vite `dist/`), served at `/`; `/` redirects to `/desktop-agent/`. */
  staticDir?: string;
  /** Fastify logger option (pino): `false` (default) or pino options such as `{ level: "info" }`. */
  logger?: FastifyServerOptions["logger"];
  /** Close a live session after this long without client frames, ms. Default 10 000 (Deepgram's). */
  liveIdleTimeoutMs?: number;
  /**
   * Longest wait for the engine to flush a live session on Finalize/CloseStream, ms, after which the
   * session closes with 1011. Default 120 000: under load the flush queues behind other sessions' audio.
   */
  liveFlushTimeoutMs?: number;
  /** Largest pre-recorded body, bytes. Default 200 MiB (about 100 minutes of 16 kHz stereo PCM16). */
  maxBodyBytes?: number;
  /** Largest WebSocket frame, bytes. Default 8 MiB. */
  maxFrameBytes?: number;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Live `/v1/listen` sessions in progress. */
    listenSessions: Set<LiveSession>;
  }
}

const kRequestId = Symbol("callscribe.requestId");

/** The state of the engine as `/healthz` reports it. */
type EngineState = { status: "starting" } | { status: "ready" } | { status: "failed"; error: string };

/**
 * Build the server (not yet listening).
 * @returns a Fastify instance with `listenSessions` decorated; call `listen()` or `inject()`
 */
export function buildServer(options: BuildServerOptions): FastifyInstance {
  const { apiKey, staticDir } = options;
  if (!options.engine && !options.engines) throw new Error("buildServer needs `engine` or `engines`");
  const engines: EngineResolver = options.engines ?? EngineRegistry.single(options.engine!);
  const engine = engines.defaultEngine;
  const app = Fastify({
    logger: options.logger ?? false,
    // Deepgram returns a UUID request id (`request_id`, header `dg-request-id`); Fastify's request id is that UUID.
    genReqId: (req: IncomingMessage) => {
      const id = randomUUID();
      (req as IncomingMessage & { [kRequestId]?: string })[kRequestId] = id;
      return id;
    },
    bodyLimit: options.maxBodyBytes ?? 200 * 1024 * 1024,
  });

  let engineState: EngineState = { status: "starting" };
  engine.ready().then(
    () => {
      engineState = { status: "ready" };
      app.log.info({ engine: engine.name, model: engine.model }, "speech engine ready");
    },
    (err: Error) => {
      engineState = { status: "failed", error: err.message };
      app.log.error({ engine: engine.name, err: err.message }, "speech engine failed to load");
    },
  );

  const sessions = new Set<LiveSession>();
  app.decorate("listenSessions", sessions);

  app.register(fastifyWebsocket, {
    options: {
      handleProtocols: (protocols: Set<string>) => selectSubprotocol(protocols),
      maxPayload: options.maxFrameBytes ?? 8 * 1024 * 1024,
    },
  });
  app.after(() => {
    // Deepgram answers the WebSocket handshake with the request id too.
    app.websocketServer.on("headers", (headers: string[], req: IncomingMessage) => {
      const id = (req as IncomingMessage & { [kRequestId]?: string })[kRequestId];
      if (id) headers.push(`dg-request-id: ${id}`);
    });
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("dg-request-id", String(request.id));
    // Signed webhooks (routes with `config: { apiKeyAuth: false }`) authenticate by their signature instead.
    if (!apiKey || !request.url.startsWith("/v1/") || (request.routeOptions.config as { apiKeyAuth?: boolean } | undefined)?.apiKeyAuth === false) return;
    if (credentialMatches(presentedCredential(request.headers), apiKey)) return;
    request.log.info({ url: request.routeOptions.url }, "request refused: missing or invalid credentials");
    return reply.code(401).send(errorBody(request, "INVALID_AUTH", "Invalid credentials."));
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, "request failed");
    else request.log.info({ code: err.code, status }, "request refused");
    const message = status >= 500 ? "Internal server error." : err.message;
    return reply.code(status).send(errorBody(request, err.code ?? (status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST"), message));
  });

  app.get("/healthz", async (_request, reply) => {
    const body = { status: engineState.status, engine: engine.name, model: engine.model, sessions: sessions.size };
    if (engineState.status === "failed") return reply.code(503).send({ ...body, error: engineState.error });
    return reply.code(engineState.status === "ready" ? 200 : 503).send(body);
  });

  app.get("/v1/models", async () => engines.modelsResponse());
  app.register(grantRoutes, { deepgram: options.deepgram });

  app.register(listenRoutes, {
    engines,
    sessions,
    idleTimeoutMs: options.liveIdleTimeoutMs ?? 10_000,
    flushTimeoutMs: options.liveFlushTimeoutMs ?? 120_000,
    maxBodyBytes: options.maxBodyBytes ?? 200 * 1024 * 1024,
  });

  if (staticDir) {
    app.register(fastifyStatic, { root: staticDir, prefix: "/" });
    app.get("/", async (_request, reply) => reply.redirect("/desktop-agent/"));
    // Browsers and tools that ignore the pages' <link rel="icon"> still ask for /favicon.ico.
    app.get("/favicon.ico", async (_request, reply) => reply.redirect("/favicon.svg", 301));
  }

  app.addHook("preClose", async () => {
    for (const s of sessions) s.shutdown();
  });

  return app;
}
