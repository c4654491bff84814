/**
 * The speech server alone (PocketSphinx, no pipeline) in a child process, for abuse tests that
 * measure the server's own memory: `VmRSS` of the child from `/proc/<pid>/status`.
 *
 * `startSpeechServerProcess` runs this file with `node --import tsx`; run as a program, it reads
 * `PORT`, `CALLSCRIBE_MAX_LIVE_CHANNELS`, `CALLSCRIBE_AUDIOHOOK_API_KEY` and
 * `CALLSCRIBE_TWILIO_AUTH_TOKEN` (validated by `loadConfig`, role "server") and serves until killed.
 */
import { rssBytes } from "./rss";
import { startServerChild } from "./server-child";
import { fileURLToPath } from "node:url";

/** A speech server in a child process. */
export interface SpeechServerProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Resident memory of the child now, MiB (`VmRSS` of `/proc/<pid>/status`). */
  rssMiB(): number;
  /** `GET /healthz` body. */
  health(): Promise<{ sessions: number; channels: number; maxChannels: number; status: string }>;
  /** Stop the child (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Start the server in a child process and wait until `/healthz` says ready (PocketSphinx loaded).
 * @param env extra environment, e.g. `{ CALLSCRIBE_MAX_LIVE_CHANNELS: "4" }`
 * @throws Error when the child exits or is not ready within 60 s
 */
export async function startSpeechServerProcess(env: Record<string, string> = {}): Promise<SpeechServerProcess> {
  const server = await startServerChild(fileURLToPath(import.meta.url), env, "speech server process");
  const { pid, baseUrl } = server;
  return {
    pid,
    port: server.port,
    baseUrl,
    rssMiB: () => rssBytes(pid) / (1024 * 1024),
    health: async () => (await (await fetch(`${baseUrl}/healthz`)).json()) as Awaited<ReturnType<SpeechServerProcess["health"]>>,
    stop: server.stop,
  };
}

async function serve(): Promise<void> {
  const { buildServer } = await import("../../src/server/app");
  const { loadConfig } = await import("../../src/server/config");
  const { createPocketSphinxEngine } = await import("../../src/server/speech/engines/pocketsphinx/index");
  const config = loadConfig(process.env, { role: "server" }).server;
  const engine = createPocketSphinxEngine();
  // The telephony ingresses are on when their secrets are in the environment, as in `main.ts`.
  const app = buildServer({ engine, maxLiveChannels: config.maxLiveChannels, audiohook: config.audiohook, twilio: { authToken: config.twilioAuthToken } });
  await app.listen({ port: config.port, host: "127.0.0.1" });
  const stop = async () => {
    await app.close();
    await engine.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void serve();
