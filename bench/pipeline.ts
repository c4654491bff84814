/**
 * Recorded-call pipeline figures (issue 4):
 * 1. webhooks accepted per second: signed `recording-ready` webhooks over real HTTP into the intake
 *    route, each durably enqueued (call row + pg-boss job in one transaction), on embedded PGlite,
 *    and on PostgreSQL too when DATABASE_URL is set;
 * 2. recordings per hour with 1 and 2 workers: corpus recordings served by a local HTTP server go
 *    through download → decode → transcribe → analyze → deliver (no CRM configured: skipped);
 * 3. end-to-end time per recording (first stage start → last stage end, and webhook → done) against
 *    the bare `engine.transcribe` time on the same 16 kHz PCM (ratio = overhead of the pipeline).
 *
 * Run: `npm run bench:pipeline [-- --webhooks 400 --files 6 --clients 16]`. Default run: ~2–4 minutes
 * on 2 cores. Corpus from CALLSCRIBE_CORPUS_DIR or ../shared/corpus (read_en, exact references).
 * Nothing is written outside a temp dir; a PostgreSQL run leaves its rows (call ids are unique per run).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { loadManifest, type CorpusEntry } from "../src/eval/corpus";
import { generateWebhookSecret, signWebhook } from "../src/server/webhooks/signing";
import { loadConfig, prepareDataDir, redactUrl, type PipelineConfig } from "../src/server/config";
import { intakePlugin, RECORDING_READY_PATH } from "../src/server/pipeline/intake";
import { startPipeline, type Pipeline } from "../src/server/pipeline/pipeline";
import { RECORDING_QUEUE } from "../src/server/pipeline/queue";
import { decodeAudioFile, toEngineChannels } from "../src/server/speech/audio/decode";
import { createPocketSphinxEngine } from "../src/server/speech/engines/pocketsphinx/index";
import type { SpeechEngine } from "../src/server/speech/engines/engine";

const { values: args } = parseArgs({
  options: {
    webhooks: { type: "string", default: "400" },
    files: { type: "string", default: "6" },
    clients: { type: "string", default: "16" },
  },
});
const WEBHOOKS = Number(args.webhooks);
const FILES = Number(args.files);
const CLIENTS = Number(args.clients);
const WORKER_COUNTS = [1, 2];
const runId = randomUUID().slice(0, 8);
const secret = generateWebhookSecret();
const tempDirs: string[] = [];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–");

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\n${title}\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

function config(dataDir: string, extra: Record<string, string> = {}, workers = 1): PipelineConfig {
  const env = {
    CALLSCRIBE_WEBHOOK_SECRET: secret,
    CALLSCRIBE_DATA_DIR: dataDir,
    CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    CALLSCRIBE_WORKERS: String(workers),
    ...extra,
  };
  return prepareDataDir(loadConfig(env, { role: "server" }).pipeline, { warn: () => undefined });
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Serve corpus files by index: `GET /r/<i>.wav`. */
async function startRecordingServer(files: CorpusEntry[]): Promise<{ host: string; url: (i: number) => string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const m = /^\/r\/(\d+)\.(wav|flac)$/.exec(req.url ?? "");
    const entry = m ? files[Number(m[1])] : undefined;
    if (!entry) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": entry.file.endsWith(".flac") ? "audio/flac" : "audio/wav", "content-length": statSync(entry.path).size });
    createReadStream(entry.path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: (i) => `http://127.0.0.1:${port}/r/${i}.${files[i].file.endsWith(".flac") ? "flac" : "wav"}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function postWebhook(baseUrl: string, body: object, id: string): Promise<number> {
  const payload = JSON.stringify(body);
  const res = await fetch(`${baseUrl}${RECORDING_READY_PATH}`, {
    method: "POST",
    headers: { ...signWebhook(secret, id, new Date(), payload), "content-type": "application/json" },
    body: payload,
  });
  await res.arrayBuffer();
  return res.status;
}

/** 1. Webhooks per second into durable enqueue. */
async function benchWebhooks(store: string, cfg: PipelineConfig): Promise<(string | number)[]> {
  const pipeline = await startPipeline({ config: cfg, role: "server", workers: 0 });
  const app = Fastify();
  const jobIds: string[] = [];
  await app.register(intakePlugin, {
    webhookSecret: secret,
    enqueue: async (r, id) => {
      const res = await pipeline.enqueueRecording(r, id);
      jobIds.push(res.jobId);
      return res;
    },
  });
  const baseUrl = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    // Warm-up (JIT, connection pool), not counted.
    for (let i = 0; i < 20; i++) await postWebhook(baseUrl, { call_id: `warm-${runId}-${store}-${i}`, recording_url: "https://rec.example.com/a.wav" }, `msg_${randomUUID()}`);
    let next = 0;
    const statuses: number[] = [];
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < WEBHOOKS) {
          const i = next++;
          const s = performance.now();
          statuses.push(await postWebhook(baseUrl, { call_id: `bench-${runId}-${store}-${i}`, recording_url: `https://rec.example.com/${i}.wav` }, `msg_${randomUUID()}`));
          latencies.push(performance.now() - s);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const accepted = statuses.filter((s) => s === 202).length;
    const depth = await pipeline.queue.depth();
    if (accepted !== WEBHOOKS) throw new Error(`${store}: only ${accepted} of ${WEBHOOKS} webhooks got 202 (${[...new Set(statuses)].join(", ")})`);
    if (depth.created < WEBHOOKS) throw new Error(`${store}: ${depth.created} jobs queued, expected at least ${WEBHOOKS}`);
    const sorted = [...latencies].sort((a, b) => a - b);
    return [store, WEBHOOKS, CLIENTS, f(seconds), f(accepted / seconds, 0), f(median(latencies), 1), f(sorted[Math.floor(sorted.length * 0.99) - 1] ?? NaN, 1)];
  } finally {
    // These jobs point at hosts that do not exist: cancel them, or a persistent PostgreSQL queue
    // would make the workers phase below chew through them first.
    for (let i = 0; i < jobIds.length; i += 500) await pipeline.queue.boss.cancel(RECORDING_QUEUE, jobIds.slice(i, i + 500));
    await app.close();
    await pipeline.stop(2000);
  }
}

interface CallTiming {
  file: CorpusEntry;
  processingSec: number;
  webhookToDoneSec: number;
}

/** 2 and 3. Recordings through the whole pipeline with `workers` job loops. */
async function benchWorkers(
  store: string,
  cfg: PipelineConfig,
  engine: SpeechEngine,
  files: CorpusEntry[],
  workers: number,
): Promise<{ row: (string | number)[]; timings: CallTiming[] }> {
  const recordings = await startRecordingServer(files);
  const c = { ...cfg, allowedHosts: [recordings.host], workers };
  const pipeline = await startPipeline({ config: c, role: "worker", engine, workers, queueOptions: { pollIntervalSec: 0.5 } });
  try {
    const ids = files.map((_, i) => `rec-${runId}-${store}-w${workers}-${i}`);
    const t0 = performance.now();
    for (let i = 0; i < files.length; i++) {
      const r = await pipeline.enqueueRecording({ call_id: ids[i], recording_url: recordings.url(i) }, `msg_${randomUUID()}`);
      if (!r.created) throw new Error(`call ${ids[i]} was not created`);
    }
    const done = new Map<string, Awaited<ReturnType<Pipeline["calls"]["getCall"]>>>();
    const deadline = Date.now() + 600_000;
    while (done.size < ids.length) {
      if (Date.now() > deadline) throw new Error(`${store}/${workers} workers: only ${done.size} of ${ids.length} calls finished in 10 minutes`);
      await new Promise((r) => setTimeout(r, 250));
      for (const id of ids) {
        if (done.has(id)) continue;
        const call = await pipeline.calls.getCall(id);
        if (call?.status === "failed") throw new Error(`call ${id} failed: ${call.reason}`);
        if (call?.status === "done") done.set(id, call);
      }
    }
    const wall = (performance.now() - t0) / 1000;
    const timings = ids.map((id, i) => {
      const call = done.get(id)!;
      const stages = Object.values(call.stages);
      const start = Math.min(...stages.map((s) => Date.parse(s.startedAt!)));
      const end = Math.max(...stages.map((s) => Date.parse(s.finishedAt!)));
      return { file: files[i], processingSec: (end - start) / 1000, webhookToDoneSec: (Date.parse(call.updated_at) - Date.parse(call.created_at)) / 1000 };
    });
    const audioSec = files.reduce((n, e) => n + e.durationS, 0);
    return {
      row: [store, workers, files.length, f(audioSec, 1), f(wall, 1), f((files.length / wall) * 3600, 0), f(audioSec / wall, 2)],
      timings,
    };
  } finally {
    await pipeline.stop(5000);
    await recordings.close();
  }
}

/** Bare engine time: `engine.transcribe` on the file's 16 kHz mono PCM (decode and resample not counted). */
async function bareTranscribeSec(engine: SpeechEngine, entry: CorpusEntry): Promise<number> {
  const audio = await decodeAudioFile(readFileSync(entry.path));
  const [pcm] = await toEngineChannels(audio, false);
  const t0 = performance.now();
  await engine.transcribe(pcm, { language: "en" });
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  console.log(`# Callscribe pipeline benchmark (${new Date().toISOString()})`);
  console.log(`machine: ${cpus[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.arch()}`);
  console.log(`engine: PocketSphinx (en-us), pool of ${Math.max(...WORKER_COUNTS)} worker threads`);

  const stores: { name: string; extra: Record<string, string> }[] = [{ name: "pglite", extra: {} }];
  if (process.env.DATABASE_URL) {
    stores.push({ name: "postgres", extra: { DATABASE_URL: process.env.DATABASE_URL } });
    console.log(`postgres: ${redactUrl(process.env.DATABASE_URL)}`);
  } else {
    console.log("postgres: not measured (set DATABASE_URL=postgres://… to add it)");
  }

  const hookRows: (string | number)[][] = [];
  for (const s of stores) hookRows.push(await benchWebhooks(s.name, config(tempDir("cs-bench-hooks-"), s.extra)));
  table("## Webhooks accepted per second (signed, validated, durably enqueued; HTTP on 127.0.0.1)", ["store", "webhooks", "clients", "seconds", "accepted/s", "median ms", "p99 ms"], hookRows);

  const files = loadManifest("read_en")
    .filter((e) => e.channels === 1 && e.referenceQuality.startsWith("exact") && e.durationS >= 4 && e.durationS <= 12)
    .slice(0, FILES);
  if (files.length < FILES) throw new Error(`only ${files.length} suitable corpus files (wanted ${FILES})`);
  const engine = createPocketSphinxEngine({ poolSize: Math.max(...WORKER_COUNTS) });
  try {
    await engine.ready();
    const workerRows: (string | number)[][] = [];
    let oneWorker: CallTiming[] = [];
    for (const s of stores) {
      for (const workers of WORKER_COUNTS) {
        const { row, timings } = await benchWorkers(s.name, config(tempDir("cs-bench-work-"), s.extra), engine, files, workers);
        workerRows.push(row);
        if (s.name === "pglite" && workers === 1) oneWorker = timings;
      }
    }
    table(
      `## Recordings per hour (${files.length} read_en recordings, ${f(files.reduce((n, e) => n + e.durationS, 0), 1)} s of audio; download → decode → transcribe → analyze, no CRM)`,
      ["store", "workers", "recordings", "audio s", "wall s", "recordings/h", "audio h per h"],
      workerRows,
    );

    const rows: (string | number)[][] = [];
    for (const t of oneWorker) {
      const bare = await bareTranscribeSec(engine, t.file);
      rows.push([t.file.file, f(t.file.durationS, 1), f(bare), f(t.processingSec), f(t.processingSec / bare), f(t.webhookToDoneSec)]);
    }
    const ratio = median(oneWorker.map((_, i) => Number(rows[i][4])));
    table(
      "## End-to-end time per recording vs bare engine.transcribe (PGlite, 1 worker; seconds)",
      ["file", "audio s", "bare transcribe s", "pipeline s (first stage → last)", "ratio", "webhook → done s (incl. queue wait)"],
      rows,
    );
    console.log(`\nmedian ratio pipeline / bare transcribe: ${f(ratio)}`);
  } finally {
    await engine.close();
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    process.exit(1);
  },
);
