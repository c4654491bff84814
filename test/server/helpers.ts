/**
 * Test helpers for the speech server: start it on a free port with the real PocketSphinx engine.
 * The SDK-based streaming client lives in `src/eval/live-client.ts` (shared with the benchmark).
 */
import type { FastifyInstance } from "fastify";
import { buildServer, type BuildServerOptions } from "../../src/server/app";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  engine: SpeechEngine;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  /** Close the server and the engine. */
  close(): Promise<void>;
}

/**
 * Start the server with a real PocketSphinx engine on 127.0.0.1 and a free port, and wait until the
 * engine is loaded.
 */
export async function startServer(options: Partial<BuildServerOptions> = {}): Promise<RunningServer> {
  const engine = options.engine ?? createPocketSphinxEngine();
  const app = buildServer({ ...options, engine });
  await app.listen({ port: 0, host: "127.0.0.1" });
  await engine.ready();
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("server has no TCP address");
  return {
    app,
    engine,
    port: address.port,
    baseUrl: `http://127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await engine.close();
    },
  };
}

/**
 * A counting wrapper around a real engine (a spy, not a fake: every call goes to the engine):
 * `work.transcribe` and `work.createStream` count the calls, so a test can assert a refused
 * request did no work. `close()` leaves the real engine open (the test closes it).
 */
export function countingEngine(real: SpeechEngine, work: { transcribe: number; createStream: number }): SpeechEngine {
  return {
    name: real.name,
    model: real.model,
    languages: real.languages,
    ready: () => real.ready(),
    transcribe: (pcm, o) => (work.transcribe++, real.transcribe(pcm, o)),
    createStream: (o) => (work.createStream++, real.createStream(o)),
    close: async () => undefined,
  };
}

export { chunkPcm, finalTranscripts, loadPcm16k, mapLimit, sleep, streamWithSdk } from "../../src/eval/live-client";
export type { StreamOptions, StreamOutcome } from "../../src/eval/live-client";
