/**
 * `npm run models -- <name> [<name> ...] [--force] [--sha1 <hex>] [--sha256 <hex>]`
 *
 * Download whisper.cpp ggml models (`base.en`, `small`, `large-v3-q5_0`, or `whisper-base.en`) from
 * the official source into the models folder (`CALLSCRIBE_MODELS_DIR`, default `models/` in the
 * repository), verifying the published checksum (SHA-1: the only one published) and printing the
 * SHA-256. `CALLSCRIBE_MODELS_BASE_URL` replaces the source (a mirror). Without network it fails with
 * one line saying where to put the file by hand. With no name it lists the models already there.
 * Exit status: 0 on success, 1 on any failure, 2 on bad usage.
 */
import { parseArgs } from "node:util";
import { downloadModel, ModelDownloadError } from "../src/server/speech/engines/whisper/download.js";
import { listWhisperModels, OFFICIAL_SHA1 } from "../src/server/speech/engines/whisper/models.js";
import { ConfigError, loadConfig } from "../src/server/config/index.js";

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { force: { type: "boolean" }, sha1: { type: "string" }, sha256: { type: "string" }, help: { type: "boolean" } },
  });
}
try {
  parsed = parse();
} catch (err) {
  console.error(`models: ${(err as Error).message}`);
  process.exit(2);
}
const { values, positionals } = parsed;
let modelsDir: string;
try {
  // CALLSCRIBE_MODELS_DIR, validated as the server reads it.
  modelsDir = loadConfig(process.env, { role: "cli" }).engine.modelsDir;
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`models: ${err.message}`);
  process.exit(2);
}

if (values.help) {
  console.log(`Usage: npm run models -- <name> [...] [--force] [--sha1 HEX] [--sha256 HEX]\nModels folder: ${modelsDir}\nKnown: ${Object.keys(OFFICIAL_SHA1).join(", ")}`);
  process.exit(0);
}

if (positionals.length === 0) {
  const models = await listWhisperModels(modelsDir);
  if (models.length === 0) console.log(`No Whisper models in ${modelsDir}. Download one with: npm run models -- base.en`);
  for (const m of models) console.log(`whisper-${m.name}\t${m.bytes} bytes\t${m.multilingual ? "multilingual" : "English-only"}${m.testModel ? "\ttest model (no weights)" : ""}\t${m.path}`);
  process.exit(0);
}

const interactive = process.stderr.isTTY;
for (const name of positionals) {
  try {
    let lastShown = 0;
    const result = await downloadModel(name, {
      modelsDir,
      baseUrl: process.env.CALLSCRIBE_MODELS_BASE_URL || undefined,
      sha1: values.sha1,
      sha256: values.sha256,
      force: values.force,
      onProgress: interactive
        ? (received, total) => {
            if (received - lastShown < 4 << 20 && received !== total) return;
            lastShown = received;
            process.stderr.write(`\r${name}: ${(received / 2 ** 20).toFixed(0)}${total ? ` / ${(total / 2 ** 20).toFixed(0)}` : ""} MiB`);
          }
        : undefined,
    });
    if (interactive && result.downloaded) process.stderr.write("\n");
    console.log(`${result.downloaded ? "downloaded" : "already present"}: ${result.path} (${result.bytes} bytes, SHA-1 ${result.sha1}, SHA-256 ${result.sha256})`);
  } catch (err) {
    if (interactive) process.stderr.write("\n");
    console.error(`models: ${err instanceof ModelDownloadError ? err.message : (err as Error).message}`);
    process.exitCode = 1;
  }
}
