/**
 * The transcriber's "Recordings" panel (issue 4) in real Chromium, against the real server with
 * the recorded-call pipeline wired as `src/server/main.ts` wires it (intake + calls API, pg-boss
 * on embedded PGlite in a temp data dir, the real PocketSphinx engine):
 *
 *   the transcriber is open → a signed `recording-ready` webhook for a real corpus recording (served
 *   by a local recordings server on the allow-list) → the Recordings panel shows the call and its
 *   status as the pipeline moves it (server-sent events, no reload, no Refresh) until done, with the
 *   summary and sentiment as text → Send raises SaveTranscript → the desktop's resolver offers both CRMs, the user picks
 *   Acme CRM → Acme CRM stores the stored transcript (valid `fdc3.transcript`) → the panel shows Created.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { validateContext } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { generateWebhookSecret, signWebhook } from "../../src/server/webhooks/signing";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { callEventsRoutes } from "../../src/server/pipeline/events";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { intakePlugin, RECORDING_READY_PATH } from "../../src/server/pipeline/intake";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { startRecordingsServer, type RecordingsServer } from "../support/recordings-server";
import { launchChromium } from "./support/chromium";
import { appWindow, chooseSaveTarget, collectConsole, saveChooserOptions, waitFor, waitForText } from "./support/desktop";
import { CORPUS_DIR, REPO_ROOT, requireFile } from "./support/paths";

/** Real read speech (Debian pocketsphinx-testdata, LibriVox, public domain), 16 kHz mono PCM16 WAV. */
const RECORDING = "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0890.wav";

let dataDir: string;
let secret: string;
let engine: PocketSphinxEngine;
let recordings: RecordingsServer;
let pipeline: Pipeline;
let library: LibraryService;
let app: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "callscribe-e2e-recordings-"));
  secret = generateWebhookSecret();
  recordings = await startRecordingsServer();
  const wav = readFileSync(requireFile(resolve(CORPUS_DIR, RECORDING), "the speech corpus lives in ../shared/corpus (or set CALLSCRIBE_CORPUS_DIR)"));
  await recordings.addFile("recorded-call.wav", wav);

  const config = prepareDataDir(
    loadConfig(
      {
      CALLSCRIBE_WEBHOOK_SECRET: secret,
      CALLSCRIBE_ALLOWED_HOSTS: recordings.host,
      CALLSCRIBE_DATA_DIR: dataDir,
      CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      },
      { role: "server" },
    ).pipeline,
    { warn: () => undefined },
  );
  engine = createPocketSphinxEngine();
  app = buildServer({ engine, staticDir: inject("e2eDistDir") });
  pipeline = await startPipeline({ config, role: "server", engine, logger: app.log, queueOptions: { pollIntervalSec: 0.5, retryDelaySec: 1 } });
  // As src/server/main.ts: the intake webhook and the calls API on the same app, before listening.
  app.register(intakePlugin, { webhookSecret: config.webhookSecret, enqueue: (r, id) => pipeline.enqueueRecording(r, id) });
  app.register(callsApiPlugin, { getCall: (id) => pipeline.calls.getCall(id), listCalls: (q) => pipeline.calls.listCalls(q) });
  app.register(callEventsRoutes, { db: pipeline.db });
  library = startLibrary({ db: pipeline.db, encryptionKey: config.encryptionKey, calls: pipeline.calls, log: app.log });
  library.register(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await engine.ready();
  browser = await launchChromium();
  page = await browser.newPage();
  consoleLines = collectConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  library?.stop();
  await pipeline?.stop(5_000);
  await engine?.close();
  await recordings?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.slice(-80).join("\n")}`);
});

/** `GET /v1/calls/:id` on the real server. */
async function getCall(callId: string): Promise<any> {
  const res = await fetch(`${origin}/v1/calls/${encodeURIComponent(callId)}`);
  expect(res.status).toBe(200);
  return res.json();
}

describe("Recordings panel, end to end", () => {
  it("shows a recorded call's status live until done, with summary and sentiment as text, and sends its transcript to the CRM the user picks", async () => {
    // The desktop, then the transcriber from the launcher, before the call exists.
    await page.goto(`${origin}/`);
    expect(new URL(page.url()).pathname).toBe("/desktop-agent/");
    await page.getByTestId("launch-transcriber").click();
    const transcriber = await appWindow(page, "transcriber");
    await waitForText("transcriber window connected", transcriber.chrome.getByTestId("app-state"), (t) => t === "connected");
    await waitForText("transcriber's FDC3 connection", transcriber.ui.getByTestId("desktop-agent"), (t) => t === "FDC3: web-connection");
    await waitForText("recordings feed live", transcriber.ui.getByTestId("recordings-feed"), (t) => t === "live");
    expect(await transcriber.ui.getByTestId("recordings-refresh").count()).toBe(0);
    // Marks this document: a reload would drop it.
    await transcriber.frame.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    // A call recorder announces a finished recording with a signed webhook.
    const callId = `rec-e2e-${randomUUID()}`;
    const body = JSON.stringify({
      call_id: callId,
      recording_url: recordings.fileUrl("recorded-call.wav"),
      participants: [
        { name: "Dana Agent", role: "agent" },
        { name: "Jane Doe", role: "customer" },
      ],
      direction: "inbound",
    });
    const posted = await fetch(`${origin}${RECORDING_READY_PATH}`, {
      method: "POST",
      headers: { ...signWebhook(secret, `msg_${randomUUID()}`, new Date(), body), "content-type": "application/json" },
      body,
    });
    expect(posted.status, await posted.clone().text()).toBe(202);

    // The row appears and its status follows the pipeline, seen from the page every 50 ms.
    const row = transcriber.ui.locator(`[data-testid="recording"][data-call-id="${callId}"]`);
    const seen: string[] = [];
    await waitFor(
      "row status done",
      async () => {
        const st = (await row.getAttribute("data-status", { timeout: 500 }).catch(() => null)) ?? "";
        if (st && seen[seen.length - 1] !== st) seen.push(st);
        return st;
      },
      (st) => st === "done" || st === "failed",
      120_000,
      50,
    );
    console.log(`recordings panel statuses seen: ${seen.join(" → ")}`);
    expect(seen[seen.length - 1]).toBe("done");
    // At least one status before done came live (the call took seconds to transcribe).
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.slice(0, -1).every((st) => ["queued", "downloading", "transcribing", "analyzing", "delivering"].includes(st))).toBe(true);
    expect(await transcriber.frame.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await row.getByTestId("recording-status").textContent()).toBe("done");

    // The pipeline downloads, decodes and transcribes it.
    const call = await waitFor(`call ${callId} finished`, () => getCall(callId), (c) => c.status === "done" || c.status === "failed", 120_000, 500);
    expect(call.status, JSON.stringify(call.stages)).toBe("done");
    expect(recordings.requests).toContain("/files/recorded-call.wav");
    const stored = call.transcript;
    expect(validateContext(stored).valid).toBe(true);
    const storedText: string = stored.text.trim();
    // Real speech through a real recognizer: there are words to compare.
    expect(storedText.split(/\s+/).length).toBeGreaterThanOrEqual(3);

    // Summary and sentiment as text (the stored analysis), not JSON.
    const summary = await waitForText("summary", row.getByTestId("recording-summary"));
    expect(summary).toBe(`Summary: ${stored.summary.trim()}`);
    const sentiment = await waitForText("sentiment", row.getByTestId("recording-sentiment"));
    expect(sentiment.startsWith(`Sentiment: ${stored.sentiment.label} (${stored.sentiment.score.toFixed(2)})`)).toBe(true);
    expect(`${summary} ${sentiment}`).not.toMatch(/[{}"]/);
    const shots = resolve(REPO_ROOT, "test-results");
    mkdirSync(shots, { recursive: true });
    await transcriber.frame.evaluate(() => document.querySelector(".recordings")?.scrollIntoView());
    await page.screenshot({ path: resolve(shots, "recordings-live-status.png") });
    expect(await transcriber.ui.getByTestId("recording").count()).toBe(1);
    const rowText = (await row.textContent()) ?? "";
    expect(rowText).toContain(callId);
    expect(rowText).toContain("inbound");
    expect(rowText).toContain("Jane Doe");
    expect(await transcriber.ui.getByTestId("recordings-error").count()).toBe(0);

    // Send: the transcriber's "Save to…" chooser offers both SaveTranscript CRMs and the standard-only CRM.
    await row.getByTestId("recording-send").click();
    const { targets } = await saveChooserOptions(transcriber, 30_000);
    expect(targets).toEqual(["acme-crm SaveTranscript", "notes-crm SaveTranscript", "standard-crm CreateInteraction"]);
    await chooseSaveTarget(transcriber, "Acme CRM (new window) · Save Transcript");

    // Acme CRM (opened by the resolution) stores the stored transcript, valid against the schema.
    const crm = await appWindow(page, "acme-crm");
    const record = crm.ui.getByTestId("crm-record");
    const recordText = await waitForText("Acme CRM record text", record.getByTestId("crm-record-text"));
    expect(recordText.trim()).toBe(storedText);
    const saved = JSON.parse((await record.getByTestId("crm-record-json").textContent())!);
    const checked = validateContext(saved);
    expect(checked.valid ? "valid" : checked.error).toBe("valid");
    expect(saved).toMatchObject({ type: "fdc3.transcript", source: "recording", id: { callId, transcriptId: stored.id.transcriptId } });
    expect(saved.text.trim()).toBe(storedText);
    expect(saved.segments.length).toBe(stored.segments.length);
    expect(await page.locator("iframe[data-app-id='notes-crm']").count()).toBe(0);

    // The panel shows the CRM's answer on that row.
    const result = row.getByTestId("recording-result");
    await waitForText("recording send result", result, (t) => t.includes("Created"), 30_000);
    expect(await result.getAttribute("data-status")).toBe("Created");
    expect(await result.textContent()).toBe("Acme CRM: Created");
  });
});
