/**
 * The speech server's Fastify application: `/healthz`, the Deepgram-compatible `/v1/listen`
 * (WebSocket and POST), `/v1/models`, `/v1/auth/grant` and `/v1/auth/token`, live calls
 * (`GET /v1/calls/:id/live`, `live-calls/`), Twilio Media Streams ingress (`GET /v1/twilio/media`,
 * `telephony/twilio/`), the App Directory API (`GET /appd/v2/apps`, `app-directory/`), and the built web pages
 * when `staticDir` is given. Every request passes the request guard (`request-guard.ts`: Host,
 * Origin, then auth on the matched route) and errors answer one shape (`errors.ts`).
 * `buildServer` does not listen; `main.ts` (the composition root) and the tests do.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import fastifyStatic from "@fastify/static";
import fastifyWebsocket from "@fastify/websocket";
import { LISTEN_ROUTE_AUTH, selectSubprotocol, ServerTokens } from "./auth";
import { installRequestGuard } from "./request-guard";
import { grantRoutes } from "./speech/engines/deepgram/grant";
import type { SpeechEngine } from "./speech/engines/engine";
import { EngineRegistry, type EngineResolver } from "./speech/engines/registry";
import { DEFAULT_MAX_AUDIO_SECONDS } from "./speech/audio/limits";
import { ChannelAdmission, defaultMaxLiveChannels } from "./speech/admission";
import type { LiveFlowLimits, LiveSession } from "./speech/live-session";
import { errorHandler, notFoundHandler } from "./errors";
import { listenRoutes, MAX_CHANNELS_PER_SESSION } from "./speech/routes";
import { tokenRoutes } from "./token-route";
import { audiohookRoutes, type AudiohookRouteOptions } from "./telephony/audiohook/route";
import type { AudiohookSession } from "./telephony/audiohook/session";
import { LiveCallHub, type LiveCallStore } from "./live-calls/hub";
import type { LiveCallBus } from "./live-calls/bus";
import { liveCallRoutes } from "./live-calls/routes";
import { appDirectoryRoutes } from "./app-directory/routes";
import { twilioMediaRoutes, type TwilioSessionLimits } from "./telephony/twilio";
import type { Analysis } from "./store/model";
import type { Transcript } from "../contracts";

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
  /**
   * When set, every route requires this key (Token/Bearer header or `token` WebSocket subprotocol)
   * unless it says otherwise (`config.auth`, see `auth.ts`); `/v1/listen` and `/v1/models` also
   * take `listen` tokens from `POST /v1/auth/token`.
   */
  apiKey?: string;
  /** Desktop bootstrap secret (see `token-route.ts`): may only mint `listen` tokens. Default: none. */
  desktopSecret?: string;
  /** Lifetime of `listen` tokens, seconds. Default 600. */
  tokenTtlSeconds?: number;
  /** Origins besides the server's own that may call it (CALLSCRIBE_ALLOWED_ORIGINS), e.g. `http://localhost:5173`. */
  allowedOrigins?: readonly string[];
  /** Host names the server is served under besides IP literals and `localhost` (HOST, CALLSCRIBE_SERVER_NAMES). */
  serverNames?: readonly string[];
  /** Longest wait for a request's headers, ms (slow clients). Default 15 000. */
  headersTimeoutMs?: number;
  /** Longest wait for a whole request, headers and body, ms (slow uploads). Default 120 000. */
  requestTimeoutMs?: number;
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
  /** Longest pre-recorded audio, seconds (`CALLSCRIBE_MAX_AUDIO_SECONDS`), per channel; channel-seconds up to twice that (`speech/audio/limits.ts`). Default 14 400 (4 h). */
  maxAudioSeconds?: number;
  /** Largest WebSocket frame, bytes. Default 8 MiB. */
  maxFrameBytes?: number;
  /**
   * Live channels (engine decoders) admitted at once; past it new sessions get HTTP 503 with
   * `Retry-After` on the upgrade. Default `defaultMaxLiveChannels()` (see `speech/admission.ts`).
   */
  maxLiveChannels?: number;
  /** Most channels one live session may transcribe with `multichannel=true` (more: close 1008). Default 8. */
  maxChannelsPerSession?: number;
  /** Throttling of live audio sent ahead of real time. Default `DEFAULT_FLOW_LIMITS` (`speech/live-session.ts`). */
  liveFlow?: LiveFlowLimits;
  /**
   * Genesys AudioHook ingress at `GET /v1/audiohook` (`telephony/audiohook/route.ts`): `apiKey`
   * (CALLSCRIBE_AUDIOHOOK_API_KEY; unset: 503), `clientSecret` (decoded
   * CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET: signatures required), `openCall` (the live-call hub), limits.
   */
  audiohook?: Omit<AudiohookRouteOptions, "sessions">;
  /** Live calls: where their outcome is stored (the calls table) and their events travel. Default: not stored, in-process bus; `app.liveCalls.use()` plugs them in later. */
  liveCalls?: { store?: LiveCallStore; bus?: LiveCallBus; analyze?: (t: Transcript) => Promise<Analysis>; maxSubscribers?: number };
  /**
   * Twilio Media Streams ingress (`GET /v1/twilio/media`, `telephony/twilio/`): the account's auth
   * token (CALLSCRIBE_TWILIO_AUTH_TOKEN; unset: the route answers 503), the public URL Twilio
   * signs (CALLSCRIBE_PUBLIC_URL), and the stream limits.
   */
  twilio?: { authToken?: string; publicUrl?: string; limits?: TwilioSessionLimits };
  /** CALLSCRIBE_PUBLIC_URL: `GET /appd/v2/apps` makes `details.url` absolute under it (else under the request's origin). */
  publicUrl?: string;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Live `/v1/listen` sessions in progress (removed once their decoders are released). */
    listenSessions: Set<LiveSession>;
    /** Live channels admitted and the limit. */
    liveAdmission: ChannelAdmission;
    /** AudioHook sessions whose socket is open. */
    audiohookSessions: Set<AudiohookSession>;
    /** Live calls streamed from the telephony side (`live-calls/hub.ts`). */
    liveCalls: LiveCallHub;
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
    // Slow clients (slowloris): bound the wait for headers and for the whole request, and check
    // often, since Node enforces both only when it sweeps its connections. No idle-socket timeout:
    // a long pre-recorded transcription sends nothing until it answers.
    serverFactory: (handler) => {
      const headersTimeout = options.headersTimeoutMs ?? 15_000;
      const requestTimeout = Math.max(options.requestTimeoutMs ?? 120_000, headersTimeout);
      return createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1_000, headersTimeout) }, handler);
    },
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
  const admission = new ChannelAdmission(options.maxLiveChannels ?? defaultMaxLiveChannels());
  app.decorate("liveAdmission", admission);
  const liveCalls = new LiveCallHub({
    engines,
    admission,
    sessions,
    log: app.log,
    ...options.liveCalls,
    flushTimeoutMs: options.liveFlushTimeoutMs ?? 120_000,
    flow: options.liveFlow,
  });
  app.decorate("liveCalls", liveCalls);

  const audiohookSessions = new Set<AudiohookSession>();
  app.register(fastifyWebsocket, {
    // AudioHook sessions say goodbye (`disconnect`) before the sockets close (the default only closes them).
    preClose: async function (this: FastifyInstance) {
      await Promise.all([...audiohookSessions].map((s) => s.shutdown()));
      for (const client of this.websocketServer.clients) client.close();
    },
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
  });
  const tokens = new ServerTokens(options.tokenTtlSeconds ?? 600);
  installRequestGuard(app, { apiKey, desktopSecret: options.desktopSecret, tokens, allowedOrigins: options.allowedOrigins, serverNames: options.serverNames });

  // One error handler and one error-body shape for every route (`errors.ts`).
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  app.get("/healthz", { config: { auth: false } }, async (_request, reply) => {
    const body = {
      status: engineState.status,
      engine: engine.name,
      model: engine.model,
      sessions: sessions.size,
      channels: admission.inUse,
      maxChannels: admission.limit,
      liveCalls: liveCalls.size,
    };
    if (engineState.status === "failed") return reply.code(503).send({ ...body, error: engineState.error });
    return reply.code(engineState.status === "ready" ? 200 : 503).send(body);
  });

  app.get("/v1/models", { config: { auth: LISTEN_ROUTE_AUTH } }, async () => engines.modelsResponse());
  app.register(grantRoutes, { deepgram: options.deepgram });
  app.register(tokenRoutes, { tokens });

  app.register(listenRoutes, {
    engines,
    sessions,
    idleTimeoutMs: options.liveIdleTimeoutMs ?? 10_000,
    flushTimeoutMs: options.liveFlushTimeoutMs ?? 120_000,
    maxBodyBytes: options.maxBodyBytes ?? 200 * 1024 * 1024,
    maxAudioSeconds: options.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS,
    admission,
    maxChannelsPerSession: options.maxChannelsPerSession ?? MAX_CHANNELS_PER_SESSION,
    flow: options.liveFlow,
    liveCalls,
  });
  app.register(appDirectoryRoutes, { publicUrl: options.publicUrl });
  app.register(liveCallRoutes, { hub: liveCalls, maxSubscribers: options.liveCalls?.maxSubscribers });
  app.register(twilioMediaRoutes, { ...options.twilio, hub: liveCalls, admission });

  app.decorate("audiohookSessions", audiohookSessions);
  app.register(audiohookRoutes, {
    hasCapacity: () => admission.inUse + 2 <= admission.limit,
    openCall: (start) => liveCalls.openCall(start),
    ...options.audiohook,
    sessions: audiohookSessions,
  });

  if (staticDir) {
    // The pages are public (they hold no secrets); their own context marks every route it adds open.
    app.register(async (pages) => {
      pages.addHook("onRoute", (route) => {
        route.config = { ...(route.config as object), auth: false };
      });
      pages.register(fastifyStatic, { root: staticDir, prefix: "/" });
      pages.get("/", async (_request, reply) => reply.redirect("/desktop-agent/"));
      // Browsers and tools that ignore the pages' <link rel="icon"> still ask for /favicon.ico.
      pages.get("/favicon.ico", async (_request, reply) => reply.redirect("/favicon.svg", 301));
    });
  }

  app.addHook("preClose", async () => {
    for (const s of sessions) s.shutdown();
    await liveCalls.shutdown();
  });

  return app;
}
