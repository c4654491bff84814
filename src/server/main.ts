/**
 * Composition root of the server (`npm run server`, `npm start`): configuration → engine → app →
 * recorded-call pipeline → listen. Environment variables are described in `config/env.ts`; every
 * configuration error stops the server (exit 2) before the data dir or the database is touched.
 * SIGINT/SIGTERM hang up demo PBX calls, close live sessions, stop listening, stop the pipeline and
 * free the engine's workers. With the pages served (`npm start`) the demo PBX is on (see
 * `telephony/demo-pbx/`; CALLSCRIBE_DEMO_PBX=off turns it off); without CALLSCRIBE_AUDIOHOOK_API_KEY
 * it gets a random per-boot AudioHook key, so `/v1/audiohook` then takes only the demo's own streams.
 */
import { randomBytes } from "node:crypto";
import { buildServer } from "./app";
import { ConfigError, loadConfig, prepareDataDir, type ConfigFor } from "./config";
import { crmRegistryFromConfig, type CrmRegistry } from "./crm/index";
import { metricsObserver, metricsPlugin, pipelineMetrics } from "./observability/metrics";
import { callsApiPlugin } from "./pipeline/api";
import { callEventsRoutes } from "./pipeline/events";
import { intakePlugin } from "./pipeline/intake";
import { startPipeline, type Pipeline } from "./pipeline/pipeline";
import { chooseEngine } from "./speech/engines/choose";
import { registerDemoPbx } from "./telephony/demo-pbx/index";
import { PostgresLiveCallBus } from "./live-calls/postgres-bus";
import { createAtRestCipher } from "./store/crypto";
import { startLibrary } from "./library/service";

async function main(): Promise<void> {
  let all: ConfigFor<"server">;
  let crm: CrmRegistry | undefined;
  try {
    all = loadConfig(process.env, { role: "server" });
    crm = crmRegistryFromConfig(all.pipeline);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { server: config, engine: engineConfig, queue: queueOptions } = all;

  let chosen;
  try {
    // The same choice as `npm run worker` and `npm run transcribe` make (speech/engines/choose.ts).
    chosen = await chooseEngine(engineConfig);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // Recorded calls use the default engine (the documented order: Whisper with a real model, else PocketSphinx).
  const { registry: engines, engine } = chosen;
  // With a key, the browser desktop authenticates with this per-process secret (listen tokens only),
  // handed over in the desktop link's URL fragment: see `token-route.ts`.
  const desktopSecret = config.apiKey ? randomBytes(24).toString("base64url") : undefined;
  const wildcard = ["0.0.0.0", "::"].includes(config.host);
  // Demo telephony (issue 8 §4): the demo PBX streams into our own AudioHook route, which needs a
  // key. Without CALLSCRIBE_AUDIOHOOK_API_KEY, a random per-boot key for the demo's own use.
  const demoPbxOn = config.demoPbx.enabled;
  const audiohook = config.audiohook ?? (demoPbxOn ? { apiKey: randomBytes(24).toString("base64url") } : undefined);
  const app = buildServer({
    engines,
    deepgram: engineConfig.deepgram,
    apiKey: config.apiKey,
    desktopSecret,
    tokenTtlSeconds: config.tokenTtlSeconds,
    allowedOrigins: config.allowedOrigins,
    // The public URL's host (CALLSCRIBE_PUBLIC_URL) is a name the server is served under.
    serverNames: [...(wildcard ? [] : [config.host.toLowerCase()]), ...config.serverNames, ...(config.publicUrl ? [new URL(config.publicUrl).hostname.toLowerCase()] : [])],
    headersTimeoutMs: config.headersTimeoutSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    staticDir: config.staticDir,
    logger: { level: config.logLevel },
    maxAudioSeconds: config.maxAudioSeconds,
    maxLiveChannels: config.maxLiveChannels,
    audiohook,
    twilio: { authToken: config.twilioAuthToken, publicUrl: config.publicUrl },
    publicUrl: config.publicUrl,
  });

  let pipeline: Pipeline | undefined;
  let pipelineConfig;
  try {
    // The boot step that writes: the data dir and, in embedded mode, its generated key.
    pipelineConfig = prepareDataDir(all.pipeline);
    pipeline = await startPipeline({ config: pipelineConfig, queueOptions, role: "server", engine, crm, logger: app.log, observer: metricsObserver() });
  } catch (err) {
    await engines.close();
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const calls = pipeline.calls;
  const queue = pipeline.queue;
  // Live calls are stored in the calls table and analysed like recorded calls (same topics, same LLM option).
  const { topics, llm } = pipelineConfig;
  const { analyzeTranscript } = await import("./pipeline/stages/analyze");
  // With DATABASE_URL a live call's events reach subscribers on any server process (PostgreSQL LISTEN/NOTIFY + rows).
  const liveBus = pipelineConfig.databaseUrl
    ? new PostgresLiveCallBus(pipelineConfig.databaseUrl, createAtRestCipher(pipelineConfig.encryptionKey), undefined, (err) => app.log.warn({ err: err.message }, "live-call bus error"))
    : undefined;
  app.liveCalls.use({ store: calls, ...(liveBus && { bus: liveBus }) });
  app.liveCalls.analyze = (t) => analyzeTranscript(t, { taxonomy: topics, ...(llm && { llm }) });
  app.register(intakePlugin, { webhookSecret: pipelineConfig.webhookSecret, enqueue: (r, id) => pipeline!.enqueueRecording(r, id), backlog: () => pipeline!.backlog(), metrics: pipelineMetrics });
  // The server's request guard authenticates these routes (API key only, the default).
  app.register(callsApiPlugin, { getCall: (id) => calls.getCall(id), listCalls: (q) => calls.listCalls(q) });
  // GET /v1/calls/events: each call's status as it changes (server-sent events, from PostgreSQL NOTIFY).
  app.register(callEventsRoutes, { db: pipeline.db });
  const pbx = demoPbxOn && audiohook ? registerDemoPbx(app, { apiKey: audiohook.apiKey, clientSecret: audiohook.clientSecret, corpusRoot: config.demoPbx.corpusDir }) : undefined;
  app.register(metricsPlugin, { queueDepth: () => queue.depth(), backlog: () => pipeline!.backlog() });
  // The transcript library (library/): POST/GET/DELETE /v1/transcripts, search; takes finished calls from the calls table.
  const libraryService = startLibrary({ db: pipeline.db, encryptionKey: pipelineConfig.encryptionKey, calls, retentionDays: pipelineConfig.transcriptRetentionDays, log: app.log });
  libraryService.register(app);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "shutting down");
    let code = 0;
    try {
      await pbx?.close();
      await app.close();
      libraryService.stop();
      await pipeline?.stop();
      await engines.close();
    } catch (err) {
      code = 1;
      app.log.error({ err }, "shutdown failed");
    } finally {
      process.exit(code);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  await app.listen({ port: config.port, host: config.host });
  app.log.info({ models: engines.names(), defaultModel: engines.defaultModel, deepgram: engineConfig.deepgram ? "relay + direct" : "off" }, "speech models");
  app.log.info({ auth: config.apiKey ? "api key" : "none", staticDir: config.staticDir ?? null, database: pipelineConfig.databaseUrl ? "postgresql" : "pglite" }, "server listening");
  if (pbx) {
    const demo = await pbx.availability();
    if (demo.available) app.log.info({ corpus: config.demoPbx.corpusDir, seconds: demo.duration_s, audiohookKey: config.audiohook ? "CALLSCRIBE_AUDIOHOOK_API_KEY" : "generated for this boot" }, "demo PBX on: a connected demo softphone call streams a two-party corpus call over AudioHook");
    else app.log.warn({ reason: demo.reason }, "demo PBX has no demo audio: the transcriber will use the microphone");
  }
  if (config.staticDir) {
    // http://localhost is a secure context, so the transcriber may open the microphone there.
    const host = ["127.0.0.1", "0.0.0.0", "::", "::1"].includes(config.host) ? "localhost" : config.host;
    // The fragment never reaches a server or a Referer; the desktop host removes it from the address bar.
    const link = `http://${host}:${config.port}/${desktopSecret ? `#desktop=${desktopSecret}` : ""}`;
    console.log(`\nCallscribe desktop: ${link}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
