/**
 * FDC3 round-trip benchmark (`npm run bench:fdc3`, issue 10 §4): in the browser desktop agent
 * (real Chromium, the built pages, the real server with the real PocketSphinx engine), the time
 * from `raiseIntent` to `getResult()` resolving, p50/p95, raised from the demo softphone's own
 * FDC3 API at a running instance of the handling app:
 *
 * - SaveTranscript → Acme CRM (validation, an IndexedDB write, the fdc3.transactionResult back);
 * - CreateInteraction → Standard CRM (the same, for an fdc3.interaction);
 * - StartTranscription(fdc3.call) → the transcriber, until the private channel comes back: the
 *   handler validates the call, creates the private channel, asks the desktop host for a `listen`
 *   token (the desktop runs with an API key and a desktop secret, as `npm start` with
 *   CALLSCRIBE_API_KEY, so the host has a token to hand out), then asks the server for the call's
 *   own telephony stream (`GET /v1/calls/:id/live?wait=5`: the server waits up to 5 s for the
 *   platform's stream to start; this desktop has none, so this is most of the figure), falls back
 *   to the microphone: opens the `/v1/listen` WebSocket (the server starts a PocketSphinx decoder),
 *   then getUserMedia + AudioWorklet (a silent WAV as Chromium's fake microphone);
 * - StartTranscription(fdc3.nothing) → the same for a dictation: no call, so no call-stream wait;
 * - StopTranscription → the transcriber, until the final fdc3.transcript comes back
 *   (Finalize/CloseStream and the engine's flush included). Each Start is followed by a Stop.
 *
 * Times are `performance.now()` in the raising page. Options: `--n N` iterations per intent
 * (default 20), `--warmup N` untimed rounds first (default 2).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { build } from "vite";
import { buildServer } from "../src/server/app";
import { createPocketSphinxEngine } from "../src/server/speech/engines/pocketsphinx/index";
import { launchChromium } from "../test/e2e/support/chromium";
import { launchApp, launchAppWindow, waitFor } from "../test/e2e/support/desktop";
import { findIntentFrom, raiseFrom, type RaiseOutcome } from "../test/e2e/support/fdc3-probe";
import { sampleCall, validSample } from "../test/e2e/support/fdc3-samples";
import { buildMicWav } from "../test/e2e/support/mic-wav";
import { REPO_ROOT } from "../test/e2e/support/paths";
import { fmtMs, machine, percentile, table } from "./lib/measure";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number`);
  return v;
};
const N = arg("n", 20);
const WARMUP = arg("warmup", 2);
const API_KEY = "bench-api-key-0123456789";
const DESKTOP_SECRET = "bench-desktop-secret-0123456789";

async function main() {
  const extra = process.argv.slice(2);
  const command = `npm run bench:fdc3${extra.length ? ` -- ${extra.join(" ")}` : ""}`;
  const machineLine = machine();
  const dist = mkdtempSync(join(tmpdir(), "callscribe-bench-fdc3-"));
  const mic = buildMicWav([], { padSeconds: 900 });
  console.log("building the pages…");
  await build({ configFile: resolve(REPO_ROOT, "vite.config.ts"), logLevel: "warn", build: { outDir: dist, emptyOutDir: true } });
  const engine = createPocketSphinxEngine();
  const server = buildServer({ engine, staticDir: dist, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  await server.listen({ host: "127.0.0.1", port: 0 });
  const origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
  const browser = await launchChromium({ micWav: mic.path });
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    const probe = await launchApp(page, "softphone");
    const apps = {
      "acme-crm": await launchApp(page, "acme-crm"),
      "standard-crm": await launchApp(page, "standard-crm"),
      transcriber: await launchAppWindow(page, "transcriber"),
    };
    const listening = async (intent: string, type: string, appId: keyof typeof apps) =>
      waitFor(`${appId} listening for ${intent}`, () => findIntentFrom(probe.frame, intent, type), (r) => "apps" in r && r.apps.some((a) => a.instanceId === apps[appId].instanceId), 30_000);
    await listening("SaveTranscript", "fdc3.transcript", "acme-crm");
    await listening("CreateInteraction", "fdc3.interaction", "standard-crm");
    await listening("StartTranscription", "fdc3.call", "transcriber");
    const target = (appId: keyof typeof apps) => ({ appId, instanceId: apps[appId].instanceId });

    const times: Record<string, number[]> = { SaveTranscript: [], CreateInteraction: [], "StartTranscription (fdc3.call)": [], "StopTranscription (fdc3.call)": [], "StartTranscription (fdc3.nothing)": [], "StopTranscription (fdc3.nothing)": [] };
    const failures: string[] = [];
    const expect = (what: string, o: RaiseOutcome, ok: (o: RaiseOutcome) => boolean) => {
      if (!ok(o)) failures.push(`${what}: ${JSON.stringify(o).slice(0, 300)}`);
      return ok(o);
    };
    const created = (o: RaiseOutcome) => o.kind === "context" && o.context.type === "fdc3.transactionResult" && o.context.status === "Created";
    for (let i = 0; i < WARMUP + N; i++) {
      const timed = i >= WARMUP;
      const save = await raiseFrom(probe.frame, "SaveTranscript", validSample("fdc3.transcript", 1000 + i), target("acme-crm"));
      if (expect("SaveTranscript", save, created) && timed) times.SaveTranscript!.push(save.ms);
      const create = await raiseFrom(probe.frame, "CreateInteraction", validSample("fdc3.interaction", 1000 + i), target("standard-crm"));
      if (expect("CreateInteraction", create, created) && timed) times.CreateInteraction!.push(create.ms);
      const call = sampleCall(`bench-call-${i}`);
      const start = await raiseFrom(probe.frame, "StartTranscription", call, target("transcriber"), 30_000);
      if (expect("StartTranscription (fdc3.call)", start, (o) => o.kind === "channel") && timed) times["StartTranscription (fdc3.call)"]!.push(start.ms);
      const stop = await raiseFrom(probe.frame, "StopTranscription", { ...call, state: "ended" }, target("transcriber"), 60_000);
      const isTranscript = (o: RaiseOutcome) => o.kind === "context" && o.context.type === "fdc3.transcript";
      if (expect("StopTranscription (fdc3.call)", stop, isTranscript) && timed) times["StopTranscription (fdc3.call)"]!.push(stop.ms);
      const dictate = await raiseFrom(probe.frame, "StartTranscription", { type: "fdc3.nothing" }, target("transcriber"), 30_000);
      if (expect("StartTranscription (fdc3.nothing)", dictate, (o) => o.kind === "channel") && timed) times["StartTranscription (fdc3.nothing)"]!.push(dictate.ms);
      const stopDictation = await raiseFrom(probe.frame, "StopTranscription", { type: "fdc3.nothing" }, target("transcriber"), 60_000);
      if (expect("StopTranscription (fdc3.nothing)", stopDictation, isTranscript) && timed) times["StopTranscription (fdc3.nothing)"]!.push(stopDictation.ms);
    }
    const rows = [["intent (raised at a running instance)", "handler", "n", "p50", "p95", "min", "max"]];
    const handler = (intent: string) => (intent === "SaveTranscript" ? "Acme CRM" : intent === "CreateInteraction" ? "Standard CRM" : "transcriber");
    for (const [intent, ms] of Object.entries(times)) {
      rows.push([intent, handler(intent), String(ms.length), fmtMs(percentile(ms, 50)), fmtMs(percentile(ms, 95)), fmtMs(Math.min(...ms)), fmtMs(Math.max(...ms))]);
    }
    console.log(`\n${command}\n${machineLine}\nraiseIntent → getResult round trip, browser desktop agent (Chromium, @finos/fdc3-web-impl 2.2.1-beta.2), ${N} iterations after ${WARMUP} warm-up\n`);
    console.log(table(rows));
    if (failures.length > 0) {
      console.log(`\n${failures.length} unexpected results (left out of the figures):\n${failures.slice(0, 10).join("\n")}`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
    await server.close();
    await engine.close();
    rmSync(dist, { recursive: true, force: true });
    rmSync(mic.dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
