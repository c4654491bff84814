/**
 * Live benchmark of the speech server (`npm run bench:live`).
 *
 * Starts the server as its own process (`node --import tsx src/server/main.ts`, real PocketSphinx),
 * then streams corpus files through `GET /v1/listen` with the real `@deepgram/sdk` at real-time pace
 * (one 100 ms linear16 chunk every 100 ms, as a microphone would deliver it; several files at once),
 * followed by 1 s of silence and CloseStream. Afterwards it sends each file to `POST /v1/listen`.
 *
 * Reported per set: WER of the streamed transcript, WER of the POST transcript (Whisper-style normalized,
 * total edits / total reference words), the streamed-vs-POST word difference (edits between the two
 * transcripts / POST words), and final-result latency p50/p95: for every final `Results` with words,
 * from the wall-clock time the audio of its last word was sent (the chunk holding that word's end)
 * to the receipt of the final. Overall: server CPU RTF (CPU seconds / audio seconds) for the live and
 * POST phases, POST wall RTF, and the server's peak RSS (VmHWM).
 *
 * Options:
 *   --set a,b        corpus sets (default read_en,debian_pocketsphinx; telephony_8k is prompt-script, near-exact)
 *   --files N|a,b    first N files of each set, or files whose path contains one of the names
 *   --concurrency N  live streams at once (default 4)
 *   --pad-ms N       silence after each file before CloseStream (default 1000)
 *   --url URL        use a running server instead of starting one (no CPU/RSS figures then)
 * Results are also written to .bench/live-<time>.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";
import { loadManifest, type CorpusEntry } from "../src/eval/corpus";
import { normalizeEnglish } from "../src/eval/english-normalizer";
import { chunkPcm, loadPcm16k, mapLimit, streamWithSdk, type StreamOutcome } from "../src/eval/live-client";
import { alignWords, corpusWer, wordErrorRate, words, type WerResult } from "../src/eval/wer";
import type { PrerecordedResponse } from "../src/server/speech/protocol";
import { freePort } from "../src/eval/free-port";
import { cpuSeconds, finalLatencies as latenciesOf, fmtMs, fmtPct, machine, peakRssMiB, percentile, table } from "./lib/measure";

const finalLatencies = (out: StreamOutcome) => latenciesOf(out, CHUNK_MS);

const CHUNK_MS = 100;

interface Args {
  sets: string[];
  files?: number | string[];
  concurrency: number;
  padMs: number;
  url?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sets: ["read_en", "debian_pocketsphinx"], concurrency: 4, padMs: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    if (flag === "--set" || flag === "--sets") args.sets = value().split(",").filter(Boolean);
    else if (flag === "--files") {
      const v = value();
      args.files = /^\d+$/.test(v) ? Number(v) : v.split(",").filter(Boolean);
    } else if (flag === "--concurrency") args.concurrency = Math.max(1, Number(value()));
    else if (flag === "--pad-ms") args.padMs = Math.max(0, Number(value()));
    else if (flag === "--url") args.url = value();
    else if (flag === "--help" || flag === "-h") {
      console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
      process.exit(0);
    } else throw new Error(`unknown option ${argv[i]} (try --help)`);
  }
  return args;
}

function selectEntries(args: Args): CorpusEntry[] {
  return args.sets.flatMap((set) => {
    // Only rows with a usable reference: exact ones, and the prompt scripts of telephony_8k (labelled).
    let rows = loadManifest(set).filter((e) => e.referenceQuality.startsWith("exact") || e.referenceQuality.startsWith("prompt script"));
    if (typeof args.files === "number") rows = rows.slice(0, args.files);
    else if (Array.isArray(args.files)) rows = rows.filter((e) => (args.files as string[]).some((f) => e.file.includes(f)));
    return rows;
  });
}

// ---------------------------------------------------------------------------------------------
// Server process and its resource use
// ---------------------------------------------------------------------------------------------

async function startServerProcess(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", CALLSCRIBE_LOG_LEVEL: "warn", CALLSCRIBE_API_KEY: "" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error("server did not become healthy within 60 s");
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

interface FileResult {
  entry: CorpusEntry;
  audioSeconds: number;
  live: { transcript: string; wer: WerResult; latenciesMs: number[]; closeCode: number };
  post?: { transcript: string; wer: WerResult; wallMs: number };
  /** Edits between the streamed and the POST transcript, and the POST word count. */
  liveVsPost?: { edits: number; postWords: number };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const entries = selectEntries(args);
  if (entries.length === 0) throw new Error("no corpus files selected");
  const header = machine();
  console.log(header);

  const server = args.url ? undefined : await startServerProcess();
  const url = args.url ?? server!.url;
  const pid = server?.child.pid;
  try {
    const pcms = await Promise.all(entries.map((e) => loadPcm16k(e.path)));
    const padded = pcms.map((pcm) => {
      const out = new Int16Array(pcm.length + Math.round((args.padMs / 1000) * 16000));
      out.set(pcm);
      return out;
    });
    const totalAudio = pcms.reduce((a, p) => a + p.length / 16000, 0);
    console.log(`Streaming ${entries.length} files (${totalAudio.toFixed(1)} s of speech, +${args.padMs} ms silence each) at real-time pace, ${args.concurrency} at once…`);

    // Live phase.
    const cpuLive0 = pid ? cpuSeconds(pid) : NaN;
    const liveStart = performance.now();
    const results: FileResult[] = await mapLimit(entries, args.concurrency, async (entry, i) => {
      const out = await streamWithSdk(url, chunkPcm(padded[i], CHUNK_MS), { realTime: true, chunkMs: CHUNK_MS, timeoutMs: 600_000 });
      const transcript = out.finals[0] ?? "";
      return {
        entry,
        audioSeconds: pcms[i].length / 16000,
        live: { transcript, wer: wordErrorRate(entry.referenceText, transcript), latenciesMs: finalLatencies(out), closeCode: out.close.code },
      };
    });
    const liveWall = (performance.now() - liveStart) / 1000;
    const cpuLive = pid ? cpuSeconds(pid) - cpuLive0 : NaN;
    const streamedAudio = padded.reduce((a, p) => a + p.length / 16000, 0);

    // POST phase: the original files, two at a time.
    console.log("Sending the same files to POST /v1/listen…");
    const client = new DeepgramClient({ apiKey: "no-key-needed", baseUrl: url });
    const cpuPost0 = pid ? cpuSeconds(pid) : NaN;
    await mapLimit(results, 2, async (r) => {
      const t = performance.now();
      const body = (await client.listen.v1.media.transcribeFile(readFileSync(r.entry.path), { model: "pocketsphinx" })) as PrerecordedResponse;
      const wallMs = performance.now() - t;
      const transcript = body.results.channels[0].alternatives[0].transcript;
      r.post = { transcript, wer: wordErrorRate(r.entry.referenceText, transcript), wallMs };
      const postWords = words(normalizeEnglish(transcript));
      r.liveVsPost = { edits: alignWords(postWords, words(normalizeEnglish(r.live.transcript))).edits, postWords: postWords.length };
    });
    const cpuPost = pid ? cpuSeconds(pid) - cpuPost0 : NaN;
    const rss = pid ? peakRssMiB(pid) : NaN;

    // Report.
    const rows: string[][] = [["set (reference)", "files", "audio s", "live WER", "POST WER", "live≠POST", "finals", "latency p50", "latency p95"]];
    for (const set of args.sets) {
      const rs = results.filter((r) => r.entry.set === set);
      if (rs.length === 0) continue;
      const lat = rs.flatMap((r) => r.live.latenciesMs);
      const diffEdits = rs.reduce((a, r) => a + (r.liveVsPost?.edits ?? 0), 0);
      const diffWords = rs.reduce((a, r) => a + (r.liveVsPost?.postWords ?? 0), 0);
      const quality = rs[0].entry.referenceQuality.startsWith("exact") ? "exact" : "prompt script";
      rows.push([
        `${set} (${quality})`,
        String(rs.length),
        rs.reduce((a, r) => a + r.audioSeconds, 0).toFixed(1),
        fmtPct(corpusWer(rs.map((r) => r.live.wer)).wer),
        fmtPct(corpusWer(rs.map((r) => r.post!.wer)).wer),
        fmtPct(diffWords ? diffEdits / diffWords : NaN),
        String(lat.length),
        fmtMs(percentile(lat, 50)),
        fmtMs(percentile(lat, 95)),
      ]);
    }
    const allLat = results.flatMap((r) => r.live.latenciesMs);
    rows.push([
      "all",
      String(results.length),
      totalAudio.toFixed(1),
      fmtPct(corpusWer(results.map((r) => r.live.wer)).wer),
      fmtPct(corpusWer(results.map((r) => r.post!.wer)).wer),
      fmtPct(results.reduce((a, r) => a + (r.liveVsPost?.edits ?? 0), 0) / Math.max(1, results.reduce((a, r) => a + (r.liveVsPost?.postWords ?? 0), 0))),
      String(allLat.length),
      fmtMs(percentile(allLat, 50)),
      fmtMs(percentile(allLat, 95)),
    ]);
    const postWall = results.reduce((a, r) => a + (r.post?.wallMs ?? 0), 0) / 1000;
    const badCloses = results.filter((r) => r.live.closeCode !== 1000);

    console.log("\nFiles:");
    for (const set of args.sets) {
      const rs = results.filter((r) => r.entry.set === set);
      if (rs.length) console.log(`  ${set}: ${rs.map((r) => r.entry.file).join(", ")}`);
    }
    console.log(`\n${header}`);
    console.log(`Live: ${args.concurrency} concurrent real-time streams, ${CHUNK_MS} ms linear16 chunks at 16 kHz, ${args.padMs} ms trailing silence; wall ${liveWall.toFixed(1)} s\n`);
    console.log(table(rows));
    console.log(
      `\nServer CPU RTF, live: ${Number.isFinite(cpuLive) ? (cpuLive / streamedAudio).toFixed(3) : "n/a"} (${Number.isFinite(cpuLive) ? cpuLive.toFixed(1) : "n/a"} CPU s / ${streamedAudio.toFixed(1)} audio s incl. silence)` +
        `\nServer CPU RTF, POST: ${Number.isFinite(cpuPost) ? (cpuPost / totalAudio).toFixed(3) : "n/a"}; POST wall RTF: ${(postWall / totalAudio).toFixed(3)} (sum of request times / audio, 2 requests at a time)` +
        `\nServer peak RSS (VmHWM): ${Number.isFinite(rss) ? `${rss.toFixed(0)} MiB` : "n/a"}` +
        `\nWER: Whisper-style English normalizer (src/eval), total edits / total reference words. live≠POST: edits between the streamed and the POST transcript / POST words.` +
        `\nLatency: receipt of a final Results − send time of the 100 ms chunk holding its last word's end.`,
    );
    if (badCloses.length) console.log(`\n${badCloses.length} stream(s) did not close with 1000: ${badCloses.map((r) => `${r.entry.file}=${r.live.closeCode}`).join(", ")}`);

    mkdirSync(".bench", { recursive: true });
    const file = `.bench/live-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    writeFileSync(
      file,
      JSON.stringify(
        {
          machine: header,
          args,
          liveWallSeconds: liveWall,
          cpuLiveSeconds: cpuLive,
          cpuPostSeconds: cpuPost,
          peakRssMiB: rss,
          files: results.map((r) => ({
            set: r.entry.set,
            file: r.entry.file,
            audioSeconds: r.audioSeconds,
            liveWer: r.live.wer.wer,
            postWer: r.post?.wer.wer,
            latenciesMs: r.live.latenciesMs.map(Math.round),
          })),
        },
        null,
        2,
      ),
    );
    console.log(`\nWrote ${file}`);
  } finally {
    if (server) {
      server.child.kill("SIGTERM");
      await new Promise((r) => server.child.once("exit", r));
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
