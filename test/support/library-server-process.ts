/**
 * The server with the transcript library, the calls API and the call-event stream
 * (`GET /v1/calls/events`) in a child process, wired as `src/server/main.ts` wires them, for abuse
 * tests that measure the server's own memory (`VmRSS` of the child, `/proc/<pid>/status`):
 * `buildServer` with the API key (its request guard authenticates every route), real PocketSphinx
 * (one worker; no route here uses it), embedded PGlite in `<CALLSCRIBE_DATA_DIR>/pglite`, migrated,
 * real at-rest encryption with CALLSCRIBE_ENCRYPTION_KEY, the library over the calls table
 * (`startLibrary` … `register`, so `GET /v1/transcripts/:id/audio` plays recorded calls),
 * `callsApiPlugin` and `callEventsRoutes` with their defaults. No recorded-call pipeline (pg-boss):
 * a test seeds the calls table before it starts the child.
 *
 * `startLibraryServerProcess` runs this file with `node --expose-gc --import tsx`; run as a program, it reads
 * `PORT`, `CALLSCRIBE_API_KEY`, `CALLSCRIBE_DATA_DIR` and `CALLSCRIBE_ENCRYPTION_KEY` (validated by
 * `loadConfig`, role "server") and serves on 127.0.0.1 until SIGTERM.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rssBytes } from "./rss";
import { startServerChild } from "./server-child";

/** A library server in a child process. */
export interface LibraryServerProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Resident memory of the child now, MiB (`VmRSS` of `/proc/<pid>/status`). */
  rssMiB(): number;
  /**
   * A full garbage collection in the child (it runs with `--expose-gc`; SIGUSR2 asks for one), then
   * `settleMs` (default 500) for it to finish: what RSS shows after it is what the server holds,
   * not garbage V8 has not collected yet.
   */
  collectGarbage(settleMs?: number): Promise<void>;
  /** Open file descriptors of the child now (entries of `/proc/<pid>/fd`: sockets, files). */
  openFds(): number;
  /** Stop the child (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Start the server in a child process and wait until `/healthz` says ready.
 * @param env the child's configuration: `CALLSCRIBE_API_KEY`, `CALLSCRIBE_DATA_DIR`, `CALLSCRIBE_ENCRYPTION_KEY` (64 hex), more if wanted
 * @throws Error when the child exits or is not ready within 60 s
 */
export async function startLibraryServerProcess(env: Record<string, string>): Promise<LibraryServerProcess> {
  const server = await startServerChild(fileURLToPath(import.meta.url), env, "library server process", ["--expose-gc"]);
  const { pid } = server;
  return {
    pid,
    port: server.port,
    baseUrl: server.baseUrl,
    rssMiB: () => rssBytes(pid) / (1024 * 1024),
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    async collectGarbage(settleMs = 500) {
      server.child.kill("SIGUSR2");
      await new Promise((r) => setTimeout(r, settleMs));
    },
    stop: server.stop,
  };
}

async function serve(): Promise<void> {
  const { buildServer } = await import("../../src/server/app");
  const { loadConfig, prepareDataDir } = await import("../../src/server/config");
  const { createPocketSphinxEngine } = await import("../../src/server/speech/engines/pocketsphinx/index");
  const { startLibrary } = await import("../../src/server/library/service");
  const { callsApiPlugin } = await import("../../src/server/pipeline/api");
  const { callEventsRoutes } = await import("../../src/server/pipeline/events");
  const { CallRepository } = await import("../../src/server/store/calls");
  const { createAtRestCipher } = await import("../../src/server/store/crypto");
  const { openDatabase } = await import("../../src/server/store/database");
  const { migrate } = await import("../../src/server/store/migrations");
  const all = loadConfig(process.env, { role: "server" });
  const pipelineConfig = prepareDataDir(all.pipeline);
  const engine = createPocketSphinxEngine({ poolSize: 1 });
  const app = buildServer({ engine, apiKey: all.server.apiKey, headersTimeoutMs: all.server.headersTimeoutSeconds * 1000, requestTimeoutMs: all.server.requestTimeoutSeconds * 1000 });
  const db = await openDatabase(pipelineConfig);
  const cipher = createAtRestCipher(pipelineConfig.encryptionKey);
  await migrate(db, cipher);
  const calls = new CallRepository(db, cipher);
  // As main.ts: the calls API and its event stream, then the library over the same calls table.
  app.register(callsApiPlugin, { getCall: (id) => calls.getCall(id), listCalls: (q) => calls.listCalls(q) });
  app.register(callEventsRoutes, { db });
  const library = startLibrary({ db, encryptionKey: pipelineConfig.encryptionKey, calls, log: app.log });
  library.register(app);
  await app.listen({ port: all.server.port, host: "127.0.0.1" });
  const stop = async () => {
    await app.close();
    library.stop();
    await db.close();
    await engine.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  // For the test's measurements only (see `collectGarbage`): the server itself never asks for one.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) process.on("SIGUSR2", () => gc());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void serve();
