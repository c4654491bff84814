/**
 * Child process of `jobs-crash.test.ts`: the embedded mode (PGlite in CALLSCRIBE_DATA_DIR, the
 * workers in this process) with the real stages and engine. Enqueues one recording
 * (CHILD_CALL_ID, CHILD_RECORDING_URL) and logs JSON lines, one per stage start, so the test can
 * `kill -9` it mid-stage.
 */
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { startPipeline } from "../../src/server/pipeline/pipeline";
import { crmRegistryFromConfig } from "../../src/server/crm/index";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";

const log = (obj: object, msg?: string) => process.stdout.write(JSON.stringify({ pid: process.pid, msg, ...obj }) + "\n");
const logger = { info: log, warn: log, error: log };

const all = loadConfig(process.env, { role: "server" });
const config = prepareDataDir(all.pipeline);
const engine = createPocketSphinxEngine({ poolSize: 1 });
await engine.ready();
const pipeline = await startPipeline({ engine, config, crm: crmRegistryFromConfig(config), role: "server", queueOptions: all.queue, logger });
await pipeline.enqueueRecording({ call_id: process.env.CHILD_CALL_ID!, recording_url: process.env.CHILD_RECORDING_URL! }, `msg_${process.env.CHILD_CALL_ID}`);
log({}, "enqueued");
