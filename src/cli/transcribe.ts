/**
 * `npm run transcribe -- <files or folders…> [--out dir] [--concurrency n] [--model name]`
 *
 * Transcribes recordings on disk with the pipeline's stages (decode → transcribe → analyze) in this
 * process, with the engine `--model` names, else the one the server would use by default
 * (`speech/engines/choose.ts`: CALLSCRIBE_DEFAULT_MODEL, CALLSCRIBE_MODELS_DIR, DEEPGRAM_API_KEY);
 * an unknown model is a usage error (exit 2) that lists the available ones. Shows a progress bar on
 * stderr (TTY only) and writes `<out>/<name>.json` per file (see `batch.ts`). Failed files are
 * listed and skipped.
 * Analysis settings come from CALLSCRIBE_TOPICS and LLM_BASE_URL / LLM_API_KEY / LLM_MODEL.
 *
 * A file transcribed with decoder warnings (e.g. a truncated WAV) is listed as `WARNING` with the
 * reason, and counted in the summary.
 *
 * Exit codes: 0 all files done (some perhaps with warnings); 1 some file failed; 2 usage or configuration error.
 */
import { parseArgs } from "node:util";
import { MultiBar, Presets } from "cli-progress";
import { ConfigError, loadConfig } from "../server/config";
import { chooseEngine } from "../server/speech/engines/choose";
import { collectItems, runBatch, type BatchResult } from "./batch";

const USAGE =
  "usage: npm run transcribe -- <files or folders…> [--out dir] [--concurrency n] [--model name]\n  --out          folder for the <name>.json files (default: transcripts)\n  --concurrency  files transcribed at once, 1–16 (default: 1)\n  --model        speech model, e.g. pocketsphinx, whisper-base.en, nova-3 (default: CALLSCRIBE_DEFAULT_MODEL, else Whisper with a real model, else PocketSphinx)";

function usage(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { out: { type: "string", default: "transcripts" }, concurrency: { type: "string", default: "1" }, model: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    usage((e as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length === 0) usage("no files or folders given");
  const concurrency = Number(parsed.values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) usage(`--concurrency must be a whole number from 1 to 16, not ${parsed.values.concurrency}`);

  let analysis, chosen;
  try {
    const config = loadConfig(process.env, { role: "cli" });
    analysis = config.analysis;
    chosen = await chooseEngine(config.engine, {
      model: parsed.values.model,
      modelSource: "--model",
      pocketsphinx: { poolSize: concurrency },
      whisper: { poolSize: concurrency },
    });
  } catch (e) {
    if (e instanceof ConfigError) usage(e.message);
    throw e;
  }
  const { registry, engine, entry } = chosen;
  let items;
  try {
    items = await collectItems(parsed.positionals, parsed.values.out!);
  } catch (e) {
    usage((e as Error).message);
  }

  const tty = Boolean(process.stderr.isTTY);
  // The bar only on a terminal; piped output gets one plain line per file.
  const bars = tty
    ? new MultiBar({ format: " {bar} {value}/{total} files | {failed} failed | {file}", hideCursor: true, clearOnComplete: false, stream: process.stderr }, Presets.shades_classic)
    : undefined;
  const bar = bars?.create(items.length, 0, { failed: 0, file: "" });
  const say = (line: string) => {
    if (!bars) return void process.stderr.write(`${line}\n`);
    // log() only buffers until the next redraw; redraw now so the line is not lost when the batch ends.
    bars.log(`${line}\n`);
    bars.update();
  };
  let failed = 0;
  let warned = 0;

  let results: BatchResult[];
  try {
    await engine.ready();
    say(`engine  ${entry.model} (${entry.provider}${entry.cloud ? ", cloud: the audio is sent to Deepgram" : ""}${entry.testModel ? ", test model: transcribes nothing" : ""})`);
    results = await runBatch({
      items,
      engine,
      concurrency,
      analysis,
      onResult: (r) => {
        if (r.ok && r.warnings.length > 0) {
          // Transcribed, but not all of it (e.g. a WAV cut short): never a plain "ok".
          warned++;
          say(`WARNING ${r.input} → ${r.output} (${r.audioSec.toFixed(1)} s audio, ${r.format}): ${r.warnings.join("; ")}`);
        } else if (r.ok) say(`ok      ${r.input} → ${r.output} (${r.audioSec.toFixed(1)} s audio, ${r.format}, ${r.seconds.toFixed(1)} s)`);
        else {
          failed++;
          say(`FAILED  ${r.input}: ${r.error}`);
        }
        bar?.increment(1, { failed, file: r.input });
      },
    });
  } finally {
    bars?.stop();
    await registry.close();
  }
  const done = results.filter((r) => r.ok).length;
  process.stderr.write(`${done} of ${results.length} files transcribed${warned ? `, ${warned} with warnings` : ""}${failed ? `, ${failed} failed` : ""}\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
