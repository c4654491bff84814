/**
 * Composition root of a pipeline worker (`npm run worker`): configuration → engine → PostgreSQL
 * store → `startPipeline({ role: "worker" })`. The engine is chosen as the server chooses its
 * default (`speech/engines/choose.ts`: CALLSCRIBE_DEFAULT_MODEL, CALLSCRIBE_MODELS_DIR,
 * DEEPGRAM_API_KEY); a model that is not available stops the worker at boot (exit 2).
 * Runs `CALLSCRIBE_WORKERS` jobs at a time; start as many processes (on as many machines) as
 * needed. Needs DATABASE_URL: the embedded PGlite store belongs to the server process, which runs
 * its own workers.
 * Configuration: `loadConfig(…, { role: "worker" })` (`config/`); every configuration error stops
 * the worker (exit 2) before the engine or the database starts. SIGINT/SIGTERM finish running jobs
 * (up to 30 s), then exit; a job cut off is retried by another worker.
 */
import { crmRegistryFromConfig, type CrmRegistry } from "../crm/index";
import { ConfigError, loadConfig, prepareDataDir, type ConfigFor } from "../config";
import { startPipeline } from "./pipeline";
import { chooseEngine, type ChosenEngine } from "../speech/engines/choose";

function log(level: "info" | "warn" | "error", obj: object, msg?: string): void {
  process.stdout.write(JSON.stringify({ level, time: new Date().toISOString(), pid: process.pid, msg, ...obj }) + "\n");
}
const logger = {
  info: (o: object, m?: string) => log("info", o, m),
  warn: (o: object, m?: string) => log("warn", o, m),
  error: (o: object, m?: string) => log("error", o, m),
};

async function main(): Promise<void> {
  let all: ConfigFor<"worker">;
  let chosen: ChosenEngine;
  let crm: CrmRegistry | undefined;
  try {
    all = loadConfig(process.env, { role: "worker" });
    crm = crmRegistryFromConfig(all.pipeline);
    chosen = await chooseEngine(all.engine);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }

  const { registry, engine, entry } = chosen;
  await engine.ready();
  logger.info({ model: entry.model, provider: entry.provider }, "speech engine");
  // With DATABASE_URL the key comes from the environment: this writes nothing.
  const config = prepareDataDir(all.pipeline);
  const pipeline = await startPipeline({ engine, config, role: "worker", crm, queueOptions: all.queue, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "worker stopping");
    let code = 0;
    try {
      await pipeline.stop(30_000);
      await registry.close();
    } catch (err) {
      code = 1;
      logger.error({ err }, "shutdown failed");
    } finally {
      process.exit(code);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  logger.info({ workers: pipeline.workers }, "worker ready");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
