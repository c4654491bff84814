/**
 * Compute cost of the Whisper engine (`npm run bench:whisper`). Compute only: the models are
 * whisper.cpp's test models (full tiny.en/base.en compute, no weights), so no accuracy is implied.
 *
 * Reported per model:
 * - load: model load time in a worker, ms;
 * - window: one `whisper_full` over a 30 s buffer with the full encoder context, median of 3, s. The
 *   test models stop decoding at once, so this is the mel + encoder time per 30 s window (the figure
 *   DESIGN §5 quotes: 0.67 s tiny.en q8_0, 1.5 s base.en q8_0 on 2 threads);
 * - interim: one greedy decode with the encoder context cut to the audio (what live interim results
 *   cost), for 1, 3, 5 and 10 s of audio, median of 3, s;
 * - RTF: `transcribe()` wall time / audio duration over real corpus speech (VAD, packing, decode).
 *
 * Options: --threads N (default 2), --models a,b (default tiny.en,base.en), --dir DIR (default
 * ../shared/models/whisper-for-tests). Results are also written to .bench/whisper-engine-<time>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { WaveFile } from "../src/server/speech/audio/wavefile-interop";
import { addonBuildInfo } from "../src/server/speech/engines/whisper/addon";
import { createWhisperEngine, listWhisperModels } from "../src/server/speech/engines/whisper/index";
import { WhisperPool } from "../src/server/speech/engines/whisper/pool";
import type { DecodeParams } from "../src/server/speech/engines/whisper/protocol";
import { reducedAudioCtx } from "../src/server/speech/engines/whisper/stream";
import { endOfTextTokenId } from "../src/server/speech/engines/whisper/words";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    models: { type: "string", default: "tiny.en,base.en" },
    dir: { type: "string", default: path.resolve("..", "shared", "models", "whisper-for-tests") },
  },
});
const threads = Number(values.threads);
const RATE = 16_000;
const corpus = path.resolve(process.env.CALLSCRIBE_CORPUS_DIR ?? path.join("..", "shared", "corpus"), "debian_pocketsphinx");

function corpusSpeech(): Int16Array {
  const manifest = readFileSync(path.join(corpus, "manifest.csv"), "utf8").split("\n").slice(1).filter(Boolean);
  const parts = manifest.map((line) => {
    const wav = new WaveFile(readFileSync(path.join(corpus, line.split(",")[0]!)));
    return wav.getSamples(false, Int16Array) as unknown as Int16Array;
  });
  const gap = RATE; // 1 s of silence between files
  const out = new Int16Array(parts.reduce((a, p) => a + p.length + gap, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + gap;
  }
  return out;
}

/** Speech-like test signal (the test models ignore content; the compute does not depend on it). */
function signal(seconds: number): Float32Array {
  const pcm = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < pcm.length; i++) pcm[i] = 0.1 * Math.sin(i * 0.05) * Math.sin(i * 0.0007) + 0.01 * (Math.random() - 0.5);
  return pcm;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeDecode(pool: WhisperPool, seconds: number, audioCtx: number, runs = 3): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const params: DecodeParams = { language: "en", prompt: "", audioCtx, beamSize: 1, threads, offsetSec: 0 };
    times.push((await pool.decode(signal(seconds), params, "batch").result).computeMs / 1000);
  }
  return median(times);
}

const build = addonBuildInfo();
console.log(`whisper.cpp addon: smart-whisper ${build?.smartWhisper ?? "?"}, CPPFLAGS "${build?.flags ?? "(not built by scripts/build-whisper-addon.ts)"}"`);
console.log(`CPU: ${os.cpus()[0]?.model} × ${os.availableParallelism()}; decode threads: ${threads}. Test models: compute only, no accuracy implied.\n`);

const available = await listWhisperModels(values.dir);
const speech = corpusSpeech();
const results: Record<string, unknown>[] = [];
for (const name of values.models.split(",")) {
  const entry = available.find((m) => m.name === name);
  if (!entry) {
    console.log(`${name}: not in ${values.dir}, skipped`);
    continue;
  }
  const pool = new WhisperPool({ modelPath: entry.path, eotId: endOfTextTokenId(entry.multilingual) }, 1);
  await pool.start();
  await timeDecode(pool, 1, 0, 1); // warm-up
  const windowSec = await timeDecode(pool, 30, 0);
  const interim: Record<string, number> = {};
  for (const s of [1, 3, 5, 10]) interim[`${s}s`] = await timeDecode(pool, s, reducedAudioCtx(s * RATE));
  const loadMs = pool.loadMs;
  await pool.close();

  const engine = createWhisperEngine({ modelsDir: values.dir, model: `whisper-${name}`, threads });
  await engine.ready();
  const started = performance.now();
  await engine.transcribe(speech);
  const wallSec = (performance.now() - started) / 1000;
  const stats = engine.decodeStats();
  await engine.close();
  const audioSec = speech.length / RATE;
  const row = {
    model: `whisper-${name}${entry.testModel ? " (test model)" : ""}`,
    loadMs: Math.round(loadMs),
    windowSec,
    interimSec: interim,
    transcribe: { audioSec, wallSec, rtf: wallSec / audioSec, decodes: stats.counts.batch },
  };
  results.push(row);
  console.log(`${row.model}: load ${row.loadMs} ms; 30 s window ${windowSec.toFixed(2)} s; interim decode ${Object.entries(interim).map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(", ")}`);
  console.log(`  transcribe(): ${audioSec.toFixed(1)} s of corpus audio in ${wallSec.toFixed(2)} s (RTF ${(wallSec / audioSec).toFixed(3)}, ${stats.counts.batch} decode(s))`);
}

mkdirSync(".bench", { recursive: true });
const out = path.join(".bench", `whisper-engine-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, JSON.stringify({ build, threads, cpu: os.cpus()[0]?.model, results }, null, 2));
console.log(`\nwritten: ${out}`);
