/**
 * Live-call benchmark (`npm run bench:calls`, issue 8 §7): concurrent two-party calls at real-time
 * pace on one server, through Genesys AudioHook.
 *
 * The server runs as its own process (`node --import tsx src/server/main.ts`, the default engine:
 * PocketSphinx here), with room for every channel (`CALLSCRIBE_MAX_LIVE_CHANNELS`). Each call is
 * the two-party call of `test/support/two-party-call.ts` (two real corpus recordings, one per
 * channel, alternating turns, 8 kHz μ-law), streamed by the spec-written AudioHook client
 * (`test/support/audiohook-client.ts`) in 100 ms frames at real time, then `close`. A subscriber per
 * call follows `GET /v1/calls/:id/live` (server-sent events).
 *
 * Reported per step of N concurrent calls: final-result latency p50/p95 (for each final `Results`
 * with words: receipt by the subscriber − the wall time the audio of its last word was sent), the
 * audio the server transcribed against what was sent (`CallEnded` transcript `duration`; "no audio
 * dropped" = every call's duration within 0.2 s of what was sent), server CPU seconds per call-second
 * of audio and RSS (peak VmHWM and growth over the idle server, per call). The steps go up until p95
 * passes 1.5 s or audio is dropped; the last step that held is the answer. Then the same audio
 * through `/v1/listen` (multichannel, raw sockets, same pace and N) gives the ingress overhead.
 *
 * Options: --steps 1,2,3,4,6,8  --max-latency-ms 1500  --listen-n N (default: the largest N that held)
 * Results are also written to .bench/calls-<time>.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort } from "../src/eval/free-port";
import type { LiveCallEvent } from "../src/server/live-calls/types";
import type { ResultsMessage } from "../src/server/speech/protocol";
import { AudiohookTestClient } from "../test/support/audiohook-client";
import { buildTwoPartyCall, customerFirst, type TwoPartyCall } from "../test/support/two-party-call";
import { cpuSeconds, fmtMs, machine, peakRssMiB, percentile, table } from "./lib/measure";

const FRAME_MS = 100;
const API_KEY = "bench-calls-key";
const AUDIOHOOK_KEY = "bench-audiohook-key";

interface Args {
  steps: number[];
  maxLatencyMs: number;
  listenN?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { steps: [1, 2, 3, 4, 6, 8], maxLatencyMs: 1500 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    if (flag === "--steps") args.steps = value().split(",").map(Number).filter((n) => n > 0);
    else if (flag === "--max-latency-ms") args.maxLatencyMs = Number(value());
    else if (flag === "--listen-n") args.listenN = Number(value());
    else if (flag === "--help" || flag === "-h") {
      console.log(readFileSync(new URL(import.meta.url), "utf8").split("*/")[0]);
      process.exit(0);
    }
  }
  return args;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(maxChannels: number): Promise<{ child: ChildProcess; baseUrl: string; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "callscribe-bench-calls-"));
  const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      CALLSCRIBE_API_KEY: API_KEY,
      CALLSCRIBE_AUDIOHOOK_API_KEY: AUDIOHOOK_KEY,
      CALLSCRIBE_MAX_LIVE_CHANNELS: String(maxChannels),
      CALLSCRIBE_DATA_DIR: dir,
      CALLSCRIBE_LOG_LEVEL: "warn",
      CALLSCRIBE_ENCRYPTION_KEY: "ab".repeat(32),
      CALLSCRIBE_DEMO_PBX: "off",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 120_000; ; ) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if (((await (await fetch(`${baseUrl}/healthz`)).json()) as { status: string }).status === "ready") break;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error("server not ready within 120 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, baseUrl, dir };
}

/** Follow a call's SSE stream; resolves with each event and its receipt time once `CallEnded` arrives. */
async function follow(baseUrl: string, callId: string): Promise<{ at: number; event: LiveCallEvent }[]> {
  const res = await fetch(`${baseUrl}/v1/calls/${callId}/live?wait=30`, { headers: { authorization: `Token ${API_KEY}` } });
  if (res.status !== 200 || !res.body) throw new Error(`subscribe ${callId}: HTTP ${res.status}`);
  const out: { at: number; event: LiveCallEvent }[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data) out.push({ at: performance.now(), event: JSON.parse(data) as LiveCallEvent });
    }
  }
  return out;
}

interface CallOutcome {
  latencies: number[];
  sentSeconds: number;
  transcribedSeconds: number;
}

/** Latencies of finals with words: receipt − send time of the frame holding the last word's end. */
function latencies(events: { at: number; event: LiveCallEvent }[], sentAt: number[]): number[] {
  const out: number[] = [];
  for (const { at, event } of events) {
    if (event.type !== "Results" || !event.is_final) continue;
    const words = (event as ResultsMessage).channel.alternatives[0]?.words ?? [];
    if (words.length === 0) continue;
    const frame = Math.min(sentAt.length - 1, Math.floor((words[words.length - 1].end * 1000) / FRAME_MS));
    out.push(at - sentAt[Math.max(0, frame)]);
  }
  return out;
}

/** Send one call's audio at real time; `send` gets each frame; returns when each frame was sent. */
async function paced(audio: Uint8Array, send: (frame: Uint8Array) => void): Promise<number[]> {
  const frameBytes = (8000 * FRAME_MS * 2) / 1000;
  const t0 = performance.now();
  const sentAt: number[] = [];
  for (let i = 0, n = 0; i < audio.length; i += frameBytes, n++) {
    const due = t0 + n * FRAME_MS - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    sentAt.push(performance.now());
    send(audio.subarray(i, Math.min(audio.length, i + frameBytes)));
  }
  return sentAt;
}

async function audiohookCall(baseUrl: string, call: TwoPartyCall, callId: string): Promise<CallOutcome> {
  const events = follow(baseUrl, callId);
  const client = await AudiohookTestClient.connect({ url: `${baseUrl.replace("http", "ws")}/v1/audiohook`, apiKey: AUDIOHOOK_KEY });
  const opened = await client.open({ conversationId: callId });
  if (opened.type !== "opened") throw new Error(`AudioHook open refused: ${JSON.stringify(opened.parameters)}`);
  // AudioHook frames interleave the offered channels: external (customer) first, internal (agent) second.
  const swapped = customerFirst(call.stereoMulaw);
  const sentAt = await paced(swapped, (f) => client.sendAudio(f, 2));
  await client.close("end", 120_000);
  await client.hangUp();
  const got = await events;
  const ended = got.at(-1)?.event;
  return { latencies: latencies(got, sentAt), sentSeconds: call.duration, transcribedSeconds: ended?.type === "CallEnded" ? (ended.transcript?.duration ?? 0) : 0 };
}

async function listenCall(baseUrl: string, call: TwoPartyCall, callId: string): Promise<CallOutcome> {
  const events = follow(baseUrl, callId);
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/v1/listen?encoding=mulaw&sample_rate=8000&channels=2&multichannel=true&interim_results=true&punctuate=true&extra=call_id:${callId}`, {
    headers: { authorization: `Token ${API_KEY}` },
  });
  await new Promise<void>((resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)));
  const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
  const sentAt = await paced(call.stereoMulaw, (f) => ws.send(f));
  ws.send(JSON.stringify({ type: "CloseStream" }));
  await closed;
  const got = await events;
  const ended = got.at(-1)?.event;
  return { latencies: latencies(got, sentAt), sentSeconds: call.duration, transcribedSeconds: ended?.type === "CallEnded" ? (ended.transcript?.duration ?? 0) : 0 };
}

interface Step {
  ingress: "audiohook" | "listen";
  calls: number;
  p50: number;
  p95: number;
  dropped: number;
  cpuPerCallSecond: number;
  peakRss: number;
  rssPerCall: number;
  held: boolean;
}

async function runStep(kind: Step["ingress"], n: number, server: { child: ChildProcess; baseUrl: string }, call: TwoPartyCall, idleRss: number, maxLatencyMs: number): Promise<Step> {
  const pid = server.child.pid!;
  const cpu0 = cpuSeconds(pid);
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(pid))), 250);
  const run = kind === "audiohook" ? audiohookCall : listenCall;
  const stamp = Date.now();
  // AudioHook conversation ids are UUIDs (the spec); listen call ids may be any id.
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => run(server.baseUrl, call, kind === "audiohook" ? randomUUID() : `bench-${kind}-${n}-${i}-${stamp}`)));
  clearInterval(sampler);
  const cpu = cpuSeconds(pid) - cpu0;
  const all = outcomes.flatMap((o) => o.latencies);
  const dropped = outcomes.filter((o) => Math.abs(o.transcribedSeconds - o.sentSeconds) > 0.2).length;
  const p95 = percentile(all, 95);
  return {
    ingress: kind,
    calls: n,
    p50: percentile(all, 50),
    p95,
    dropped,
    cpuPerCallSecond: cpu / (n * call.duration),
    peakRss: peakRssMiB(pid),
    rssPerCall: (rssMax - idleRss) / n,
    held: p95 <= maxLatencyMs && dropped === 0,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const call = await buildTwoPartyCall();
  const maxN = Math.max(...args.steps, args.listenN ?? 0);
  const server = await startServer(maxN * 2);
  const steps: Step[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = rssMiB(server.child.pid!);
    console.log(`${machine()}\nserver idle RSS ${idleRss.toFixed(0)} MiB; call ${call.duration.toFixed(1)} s, two channels, 8 kHz μ-law, real-time pace`);
    let best = 0;
    for (const n of args.steps) {
      const step = await runStep("audiohook", n, server, call, idleRss, args.maxLatencyMs);
      steps.push(step);
      console.log(`audiohook ${n} call(s): p95 ${fmtMs(step.p95)}, dropped ${step.dropped}, ${step.held ? "held" : "did not hold"}`);
      if (!step.held) break;
      best = n;
    }
    const listenN = args.listenN ?? Math.max(1, best);
    const viaAudiohook = steps.find((s) => s.calls === listenN) ?? (await runStep("audiohook", listenN, server, call, idleRss, args.maxLatencyMs));
    if (!steps.includes(viaAudiohook)) steps.push(viaAudiohook);
    const viaListen = await runStep("listen", listenN, server, call, idleRss, args.maxLatencyMs);
    steps.push(viaListen);

    const rows = [["ingress", "calls", "final p50", "final p95", "calls dropping audio", "CPU s per call-second", "peak RSS MiB", "RSS MiB per call", "held (p95 ≤ " + args.maxLatencyMs + " ms, none dropped)"]];
    for (const s of steps) rows.push([s.ingress, String(s.calls), fmtMs(s.p50), fmtMs(s.p95), String(s.dropped), s.cpuPerCallSecond.toFixed(3), s.peakRss.toFixed(0), s.rssPerCall.toFixed(1), s.held ? "yes" : "no"]);
    console.log(`\n${table(rows)}\n`);
    console.log(`Most concurrent two-party calls held through AudioHook: ${best}`);
    console.log(
      `Ingress overhead at ${listenN} call(s), AudioHook ÷ /v1/listen: CPU ${(viaAudiohook.cpuPerCallSecond / viaListen.cpuPerCallSecond).toFixed(2)}×, final p95 ${(viaAudiohook.p95 / viaListen.p95).toFixed(2)}×`,
    );
    mkdirSync(".bench", { recursive: true });
    const file = `.bench/calls-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
    writeFileSync(file, JSON.stringify({ machine: machine(), callSeconds: call.duration, steps, best }, null, 2));
    console.log(`written ${file}`);
  } finally {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
    rmSync(server.dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
