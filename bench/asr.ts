/**
 * Speech-engine benchmark (`npm run bench:asr`): every available engine over `../shared/corpus`,
 * file by file, offline and streamed.
 *
 * Engines: those the engine registry offers (`src/server/speech/engines/registry.ts`): PocketSphinx;
 * Whisper with every model in CALLSCRIBE_MODELS_DIR (when that holds no real model, whisper.cpp's
 * test models from `../shared/models/whisper-for-tests`); Deepgram `nova-3` when DEEPGRAM_API_KEY is set.
 * Each engine runs in its own child process, so its peak RSS is its own.
 *
 * Per file, one at a time:
 * - bare: `engine.transcribe(pcm)` on the file decoded to mono 16 kHz (decoding not timed);
 * - offline through our pipeline: `POST /v1/listen` with the file's bytes (decode, resample, engine, response);
 * - streamed: `/v1/listen` with the real `@deepgram/sdk`, 100 ms linear16 chunks, at real-time pace
 *   (or as fast as the socket takes them with `--fast`), 1 s of silence, CloseStream.
 *
 * Table per set and engine: WER of the POST and the streamed transcript (Whisper-style normalized, total
 * edits / total reference words; exact-reference rows only, telephony_8k's prompt scripts shown as
 * "near-exact"); RTF (bare, POST: wall seconds / audio seconds; live: process CPU seconds / audio
 * seconds); final-result latency p50/p95 (streamed; receipt − send time of the chunk holding the
 * last word); peak RSS of the engine's process; pipeline/bare = POST wall time / bare wall time on
 * the same files (our overhead: decoding, resampling, HTTP, JSON). Whisper test models have no
 * weights: compute RTF only, no accuracy implied.
 *
 * Options:
 *   --engine a,b   models to run (default: all available), e.g. pocketsphinx,whisper-tiny.en,nova-3
 *   --set a,b      corpus sets (default read_en,debian_pocketsphinx,telephony_8k)
 *   --files N      first N usable files of each set (default 2, so the default run stays near 10 min on
 *                  2 cores; the files used are printed)
 *   --fast         stream faster than real time (latency figures then mean little)
 * Results are also written to .bench/asr-<time>.json.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildServer } from "../src/server/app";
import { corpusDir, loadManifest, type CorpusEntry } from "../src/eval/corpus";
import { loadPcm16k, streamWithSdk } from "../src/eval/live-client";
import { corpusWer, wordErrorRate, type WerResult } from "../src/eval/wer";
import { createEngineRegistry, type EngineRegistry } from "../src/server/speech/engines/registry";
import { listWhisperModels } from "../src/server/speech/engines/whisper/index";
import { loadConfig } from "../src/server/config";
import type { PrerecordedResponse } from "../src/server/speech/protocol";
import { finalLatencies, fmtMs, fmtPct, machine, peakRssMiB, percentile, table } from "./lib/measure";

const CHUNK_MS = 100;
const PAD_MS = 1000;

const { values } = parseArgs({
  options: {
    engine: { type: "string" },
    set: { type: "string", default: "read_en,debian_pocketsphinx,telephony_8k" },
    files: { type: "string", default: "2" },
    fast: { type: "boolean", default: false },
    child: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}
const sets = values.set!.split(",").filter(Boolean);
const filesPerSet = Math.max(1, Number(values.files));

/** Exact rows, and telephony_8k's prompt scripts (near-exact): the only rows with a usable reference. */
function selectEntries(): CorpusEntry[] {
  return sets.flatMap((set) =>
    loadManifest(set)
      .filter((e) => e.referenceQuality.startsWith("exact") || e.referenceQuality.startsWith("prompt script"))
      .slice(0, filesPerSet),
  );
}

/** The models folder: CALLSCRIBE_MODELS_DIR or `models/` when it holds a real model, else the shared test models. */
async function benchModelsDir(): Promise<string> {
  const dir = loadConfig(process.env, { role: "cli" }).engine.modelsDir;
  if ((await listWhisperModels(dir)).some((m) => !m.testModel)) return dir;
  const tests = path.resolve(corpusDir(), "..", "models", "whisper-for-tests");
  return existsSync(tests) ? tests : dir;
}

async function makeRegistry(): Promise<EngineRegistry> {
  const key = process.env.DEEPGRAM_API_KEY;
  return createEngineRegistry({
    modelsDir: await benchModelsDir(),
    deepgram: key ? { apiKey: key, baseUrl: process.env.DEEPGRAM_BASE_URL || "https://api.deepgram.com" } : undefined,
    pocketsphinx: { poolSize: 1 },
    whisper: { poolSize: 1 },
  });
}

interface FileRow {
  set: string;
  file: string;
  quality: string;
  audioS: number;
  bareMs: number;
  postMs: number;
  postWer: WerResult;
  liveWer: WerResult;
  latenciesMs: number[];
  closeCode: number;
}

interface EngineReport {
  model: string;
  testModel: boolean;
  cloud: boolean;
  rows: FileRow[];
  liveCpuS: number;
  liveAudioS: number;
  peakRssMiB: number;
}

/** Child: run one engine over the files, print one JSON line. */
async function runChild(model: string): Promise<void> {
  const registry = await makeRegistry();
  const { engine, entry } = registry.resolve(model);
  const app = buildServer({ engines: registry });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  await engine.ready();
  const rows: FileRow[] = [];
  let liveCpuS = 0;
  let liveAudioS = 0;
  try {
    for (const e of selectEntries()) {
      const pcm = await loadPcm16k(e.path);
      const audioS = pcm.length / 16000;
      let t = performance.now();
      await engine.transcribe(pcm, { language: "en" });
      const bareMs = performance.now() - t;

      t = performance.now();
      const res = await fetch(`${url}/v1/listen?model=${encodeURIComponent(model)}`, { method: "POST", body: readFileSync(e.path), headers: { "content-type": "application/octet-stream" } });
      if (!res.ok) throw new Error(`POST ${e.file}: HTTP ${res.status} ${await res.text()}`);
      const post = (await res.json()) as PrerecordedResponse;
      const postMs = performance.now() - t;
      const postText = post.results.channels[0]!.alternatives[0]!.transcript;

      const padded = new Int16Array(pcm.length + (16000 * PAD_MS) / 1000);
      padded.set(pcm);
      const cpu0 = process.cpuUsage();
      const out = await streamWithSdk(url, padded, { query: { model }, chunkMs: CHUNK_MS, realTime: !values.fast, timeoutMs: 600_000 });
      const cpu = process.cpuUsage(cpu0);
      liveCpuS += (cpu.user + cpu.system) / 1e6;
      liveAudioS += padded.length / 16000;
      rows.push({
        set: e.set,
        file: e.file,
        quality: e.referenceQuality.startsWith("exact") ? "exact" : "near-exact (prompt script)",
        audioS,
        bareMs,
        postMs,
        postWer: wordErrorRate(e.referenceText, postText),
        liveWer: wordErrorRate(e.referenceText, out.finals[0] ?? ""),
        latenciesMs: finalLatencies(out, CHUNK_MS),
        closeCode: out.close.code,
      });
      process.stderr.write(".");
    }
  } finally {
    await app.close();
    await registry.close();
  }
  const report: EngineReport = { model, testModel: entry.testModel, cloud: entry.cloud, rows, liveCpuS, liveAudioS, peakRssMiB: peakRssMiB(process.pid) };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runEngineProcess(model: string): Promise<EngineReport> {
  return new Promise((resolve, reject) => {
    const args = ["--import", "tsx", new URL(import.meta.url).pathname, "--child", "--engine", model, "--set", sets.join(","), "--files", String(filesPerSet), ...(values.fast ? ["--fast"] : [])];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      const s = d.toString();
      if (/^\.+$/.test(s)) process.stderr.write(s);
      else err += s;
    });
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as EngineReport);
      else reject(new Error(`${model}: exit ${code}\n${err.split("\n").filter((l) => !/^whisper_|^ggml_|^$/.test(l)).slice(-15).join("\n")}`));
    });
  });
}

function sum(xs: number[]): number {
  return xs.reduce((a, x) => a + x, 0);
}

async function main(): Promise<void> {
  if (values.child) return runChild(values.engine!);
  const header = machine();
  console.log(header);
  const registry = await makeRegistry();
  const available = registry.entries.map((e) => e.model).filter((m) => !registry.entry(m)!.cloud || m === "nova-3");
  await registry.close();
  const models = values.engine ? values.engine.split(",").filter(Boolean) : available;
  for (const m of models) if (!available.includes(m) && !registry.entry(m)) throw new Error(`engine ${m} is not available; available: ${available.join(", ")}`);
  const entries = selectEntries();
  console.log(`Engines: ${models.join(", ")}; streaming ${values.fast ? "faster than real time" : "at real-time pace"}; ${filesPerSet} file(s) per set:`);
  for (const set of sets) console.log(`  ${set}: ${entries.filter((e) => e.set === set).map((e) => e.file).join(", ")}`);

  const reports: EngineReport[] = [];
  for (const model of models) {
    process.stderr.write(`${model} `);
    const t = performance.now();
    reports.push(await runEngineProcess(model));
    process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
  }

  for (const set of sets) {
    const rows: string[][] = [["engine", "files", "audio s", "POST WER", "live WER", "bare RTF", "POST RTF", "live CPU RTF", "final p50", "final p95", "peak RSS", "pipeline/bare"]];
    let quality = "exact";
    for (const r of reports) {
      const rs = r.rows.filter((x) => x.set === set);
      if (!rs.length) continue;
      quality = rs[0]!.quality;
      const audio = sum(rs.map((x) => x.audioS));
      const lat = rs.flatMap((x) => x.latenciesMs);
      const noAccuracy = r.testModel ? "n/a*" : undefined;
      rows.push([
        r.model,
        String(rs.length),
        audio.toFixed(1),
        noAccuracy ?? fmtPct(corpusWer(rs.map((x) => x.postWer)).wer),
        noAccuracy ?? fmtPct(corpusWer(rs.map((x) => x.liveWer)).wer),
        (sum(rs.map((x) => x.bareMs)) / 1000 / audio).toFixed(3),
        (sum(rs.map((x) => x.postMs)) / 1000 / audio).toFixed(3),
        (r.liveCpuS / r.liveAudioS).toFixed(3),
        fmtMs(percentile(lat, 50)),
        fmtMs(percentile(lat, 95)),
        `${r.peakRssMiB.toFixed(0)} MiB`,
        (sum(rs.map((x) => x.postMs)) / sum(rs.map((x) => x.bareMs))).toFixed(2),
      ]);
    }
    console.log(`\n${set} (references: ${quality})`);
    console.log(table(rows));
  }
  console.log(
    `\n${header}` +
      `\nWER: Whisper-style English normalizer (src/eval), total edits / total reference words, POST and streamed transcripts.` +
      `\nRTF: bare and POST = wall seconds / audio seconds, one file at a time; live CPU RTF = CPU seconds of the engine's process (server + client) / streamed audio seconds (incl. ${PAD_MS} ms silence per file), the whole run.` +
      `\nfinal p50/p95: receipt of a final Results − send time of the ${CHUNK_MS} ms chunk holding its last word's end.` +
      `\npeak RSS: VmHWM of the engine's own process (engine, server and client). pipeline/bare: POST wall time / bare engine.transcribe time on the same files.` +
      (reports.some((r) => r.testModel) ? `\n* n/a: whisper.cpp test model (vocabulary, no weights): compute RTF only, no accuracy implied.` : ""),
  );
  const bad = reports.flatMap((r) => r.rows.filter((x) => x.closeCode !== 1000).map((x) => `${r.model}:${x.file}=${x.closeCode}`));
  if (bad.length) console.log(`\nStreams that did not close with 1000: ${bad.join(", ")}`);
  mkdirSync(".bench", { recursive: true });
  const file = `.bench/asr-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ machine: header, sets, filesPerSet, fast: values.fast, reports }, null, 2));
  console.log(`\nWrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
