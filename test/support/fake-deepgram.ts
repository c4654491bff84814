/**
 * A FAKE Deepgram cloud for tests: Deepgram's cloud cannot be reached from here, so this local
 * server speaks the parts of its protocol we use, with Deepgram's auth rules:
 * - `Authorization: Token <key>` (or `Sec-WebSocket-Protocol: token, <key>`) with the one valid key;
 * - `Authorization: Bearer <token>` (or `bearer, <token>`) with a token from its `/v1/auth/grant`,
 *   until it expires; tokens cannot grant tokens (Deepgram requires a key for that);
 * - `POST /v1/auth/grant` → `{access_token, expires_in}` (ttl_seconds, default 30);
 * - `/v1/listen` live and POST for `nova-*` models, answered by our own protocol code in front of the
 *   REAL PocketSphinx engine, so the words are real recognition, not canned text. `model_info.arch`
 *   says `fake-deepgram`.
 * `lagMs` makes it a Deepgram that is behind the audio (a backlog, a slow link): every recognition
 * event (interim, final, SpeechStarted) and every flush answer reaches the client that much later.
 * It records which credential kind each request used (`seen`), so tests can check who spoke to it,
 * and every request's method, URL and headers as received (`requests`), so tests can check what a
 * client sent.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import fastifyWebsocket from "@fastify/websocket";
import { selectSubprotocol } from "../../src/server/auth";
import { DEEPGRAM_LANGUAGES, DEEPGRAM_MODELS } from "../../src/server/speech/engines/deepgram/index";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { ModelUnavailableError, type EngineResolver, type ModelEntry } from "../../src/server/speech/engines/registry";
import type { LiveSession } from "../../src/server/speech/live-session";
import { modelIdentity } from "../../src/server/speech/results";
import { errorBody, listenRoutes } from "../../src/server/speech/routes";

/** A running fake. */
export interface FakeDeepgram {
  baseUrl: string;
  /** Credential kinds and paths of every authenticated request, in order. */
  seen: { kind: "token" | "bearer"; path: string }[];
  /** Every request as received (authenticated or not), in order: method, full URL, raw headers. */
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  /** Tokens granted so far. */
  granted: string[];
  close(): Promise<void>;
}

function credential(headers: IncomingHttpHeaders): { kind: "token" | "bearer"; value: string } | undefined {
  const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(headers.authorization ?? "");
  if (m) return { kind: m[1]!.toLowerCase() as "token" | "bearer", value: m[2]! };
  const protocols = String(headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const i = protocols.findIndex((p) => p === "token" || p === "bearer");
  if (i >= 0 && protocols[i + 1]) return { kind: protocols[i] as "token" | "bearer", value: protocols[i + 1]! };
  return undefined;
}

/** Options of {@link startFakeDeepgram}. */
export interface FakeDeepgramOptions {
  /** Delay of every recognition event and flush answer, ms. Default 0. */
  lagMs?: number;
}

/** The engine's streams with every event and flush answer `lagMs` late (order kept: equal timers fire in order). */
function lagging(engine: SpeechEngine, lagMs: number): SpeechEngine["createStream"] {
  return async (o) => {
    const stream = await engine.createStream(o);
    const emit = stream.emit.bind(stream);
    stream.emit = (event, ...args) => {
      setTimeout(() => emit(event, ...args), lagMs);
      return true;
    };
    const flush = stream.flush.bind(stream);
    // Its final was emitted (so scheduled) inside flush(); this timer is later, so the answer follows it.
    stream.flush = () => flush().then(() => new Promise((resolve) => setTimeout(resolve, lagMs)));
    return stream;
  };
}

/**
 * Start the fake on 127.0.0.1 (free port).
 * @param apiKey the only valid Deepgram key
 * @param engine the engine that does the recognising (the caller closes it)
 */
export async function startFakeDeepgram(apiKey: string, engine: SpeechEngine, options: FakeDeepgramOptions = {}): Promise<FakeDeepgram> {
  const tokens = new Map<string, number>(); // token → expiry (ms since epoch)
  const seen: FakeDeepgram["seen"] = [];
  const requests: FakeDeepgram["requests"] = [];
  const granted: string[] = [];
  const app: FastifyInstance = Fastify({ logger: false });
  await app.register(fastifyWebsocket, { options: { handleProtocols: (p: Set<string>) => selectSubprotocol(p) } });

  app.addHook("onRequest", async (request, reply) => {
    requests.push({ method: request.method, url: request.url, headers: { ...request.headers } });
    const c = credential(request.headers);
    const path = request.url.split("?")[0]!;
    const ok = c && (c.kind === "token" ? c.value === apiKey && true : (tokens.get(c.value) ?? 0) > Date.now());
    if (!c || !ok) return reply.code(401).send(errorBody(request, "INVALID_AUTH", "Invalid credentials."));
    if (path === "/v1/auth/grant" && c.kind !== "token") return reply.code(403).send(errorBody(request, "INSUFFICIENT_PERMISSIONS", "Tokens cannot grant tokens."));
    seen.push({ kind: c.kind, path });
  });

  app.post("/v1/auth/grant", async (request) => {
    const ttl = (request.body as { ttl_seconds?: number } | undefined)?.ttl_seconds ?? 30;
    const token = `fake.${randomBytes(24).toString("base64url")}`;
    tokens.set(token, Date.now() + ttl * 1000);
    granted.push(token);
    return { access_token: token, expires_in: ttl };
  });

  const entries = new Map<string, ModelEntry>(
    DEEPGRAM_MODELS.map((m) => [m, { model: m, aliases: [], provider: "fake-deepgram", languages: [...DEEPGRAM_LANGUAGES], testModel: false, cloud: true }]),
  );
  const resolver: EngineResolver = {
    resolve(model) {
      const entry = entries.get(model ?? "nova-3");
      if (!entry) throw new ModelUnavailableError(model ?? "", [...entries.keys()]);
      // The real engine recognises; the fake answers as the Deepgram model that was asked for.
      const view: SpeechEngine = Object.create(engine, { model: { value: entry.model }, name: { value: "fake-deepgram" } });
      if (options.lagMs) view.createStream = lagging(engine, options.lagMs);
      return { engine: view, identity: modelIdentity(view), entry };
    },
    get defaultEngine() {
      return engine;
    },
    modelsResponse: () => ({ stt: [] }),
    close: async () => undefined,
  };
  const sessions = new Set<LiveSession>();
  app.register(listenRoutes, { engines: resolver, sessions, idleTimeoutMs: 10_000, flushTimeoutMs: 60_000, maxBodyBytes: 50 * 1024 * 1024 });
  app.addHook("preClose", async () => {
    for (const s of sessions) s.shutdown();
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  return { baseUrl: `http://127.0.0.1:${port}`, seen, requests, granted, close: () => app.close() };
}
