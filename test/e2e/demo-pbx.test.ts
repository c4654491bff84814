/**
 * Demo telephony end to end (issue 8 §4, §6) in real Chromium against the real server (API key,
 * desktop link, the live-call hub, the real AudioHook route, the demo PBX, the real PocketSphinx
 * engine):
 *
 *   the softphone dials Jane Doe → the call connects → the softphone asks the demo PBX to stream
 *   it, and says "Demo PBX streaming the call audio (two parties)" → the PBX streams two real
 *   corpus recordings (LJ Speech = agent, LibriSpeech = customer, alternating turns) over
 *   AudioHook under the call's id → Transcribe → the transcriber attaches to the call's live
 *   stream (no microphone: Chromium has none here) and shows lines of both parties by name →
 *   hang-up (the PBX closes the stream, fdc3.call ended) → SaveTranscript → Notes CRM stores a
 *   transcript with both parties' segments on their channels, the customer named.
 *
 * A screenshot of the transcriber with the two named parties goes to
 * `test-results/demo-pbx-two-parties.png`.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { validateContext } from "../../src/contracts";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { registerDemoPbx, type DemoPbx } from "../../src/server/telephony/demo-pbx/index";
import { launchChromium } from "./support/chromium";
import { attachLibrary, type TestLibrary } from "./support/library-server";
import { appWindow, chooseSaveTarget, collectConsole, launchApp, saveChooserOptions, waitFor, waitForText } from "./support/desktop";
import { REPO_ROOT } from "./support/paths";

const API_KEY = "e2e-api-key-0123456789";
const DESKTOP_SECRET = "e2e-desktop-secret-0123456789";
const AUDIOHOOK_KEY = "e2e-audiohook-key-0123";

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let pbx: DemoPbx;
let origin: string;
let library: TestLibrary;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];
/** A second server whose demo PBX has no corpus. */
let bare: FastifyInstance;
let bareOrigin: string;
const noCorpus = mkdtempSync(join(tmpdir(), "callscribe-e2e-no-corpus-"));

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  server = buildServer({
    engine,
    staticDir: inject("e2eDistDir"),
    apiKey: API_KEY,
    desktopSecret: DESKTOP_SECRET,
    audiohook: { apiKey: AUDIOHOOK_KEY, openCall: (start) => server.liveCalls.openCall(start) },
  });
  pbx = registerDemoPbx(server, { apiKey: AUDIOHOOK_KEY, corpusRoot: corpusDir() });
  library = await attachLibrary(server);
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  bare = buildServer({ engine, staticDir: inject("e2eDistDir"), audiohook: { apiKey: AUDIOHOOK_KEY, openCall: (start) => bare.liveCalls.openCall(start) } });
  registerDemoPbx(bare, { apiKey: AUDIOHOOK_KEY, corpusRoot: noCorpus });
  await bare.listen({ host: "127.0.0.1", port: 0 });
  bareOrigin = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;
  await engine.ready();
  // No fake microphone: the transcriber must take the call's own stream.
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  consoleLines = collectConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await pbx?.close();
  await server?.close();
  await bare?.close();
  await library?.close();
  await engine?.close();
  rmSync(noCorpus, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) {
    console.log(`browser console:\n${consoleLines.filter((l) => !l.includes("/v1/calls?") && !l.includes("status of 404")).slice(-80).join("\n")}`);
    const activity = await page?.getByTestId("activity").textContent().catch(() => "(none)");
    console.log(`desktop activity: ${activity}`);
  }
});

/** The transcriber's lines of one channel: `[party, text]`. */
async function linesOf(ui: import("playwright-core").FrameLocator, channel: number): Promise<Array<{ party: string; text: string }>> {
  return ui.locator(`[data-testid="line"][data-channel="${channel}"]`).evaluateAll((els) =>
    els.map((e) => ({ party: e.querySelector(".party")?.textContent ?? "", text: e.querySelector(".line-text")?.textContent ?? "" })),
  );
}

describe("demo telephony: a two-party call from the demo PBX, end to end", () => {
  it("streams the softphone's call over AudioHook, shows both parties by name, and saves both parties' segments to the CRM", async () => {
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    const phone = await launchApp(page, "softphone");
    await phone.ui.getByTestId("contact-select").selectOption({ label: "Jane Doe (+14155550100)" });
    await phone.ui.getByTestId("dial").click();
    await waitForText("call connected", phone.ui.getByTestId("call-state"), (t) => t === "connected");
    const callId = (await phone.ui.getByTestId("call-id").textContent())!.trim();

    // The softphone asked the demo PBX to stream the call, and says it does.
    await waitForText("demo PBX streaming", phone.ui.getByTestId("pbx-status"), (t) => t === "Demo PBX streaming the call audio (two parties)", 20_000);
    expect(pbx.status(callId)?.state).toBe("streaming");

    await phone.ui.getByTestId("transcribe").click();
    const transcriber = await appWindow(page, "transcriber");
    await waitForText("transcriber listening", transcriber.ui.getByTestId("status"), (t) => t === "listening", 30_000);
    // The session's audio is the call's own stream, not a microphone.
    await waitFor("the call stream as the audio source", () => transcriber.ui.getByTestId("audio-source").getAttribute("data-source"), (s) => s === "call-stream", 20_000);
    await waitFor("call stream live", () => transcriber.ui.getByTestId("call-stream").getAttribute("data-state"), (s) => s === "live", 20_000);

    // Lines of both parties, by name: the agent (channel 0) and Jane Doe, the customer (channel 1).
    // Wait for a few words of each (the agent's first turn ends about 10 s into the call, the
    // customer's about 23 s, the call about 37 s), then hang up before the call audio is over.
    const wordCount = (l: Array<{ text: string }>) => l.reduce((n, x) => n + x.text.split(/\s+/).filter((w) => /[a-z]/i.test(w)).length, 0);
    await waitFor("agent lines", () => linesOf(transcriber.ui, 0), (l) => wordCount(l) >= 5, 60_000);
    const customer = await waitFor("customer lines", () => linesOf(transcriber.ui, 1), (l) => wordCount(l) >= 5, 60_000);
    const agent = await linesOf(transcriber.ui, 0);
    expect(customer.every((l) => l.party.startsWith("Jane Doe"))).toBe(true);
    expect(agent.every((l) => /agent/i.test(l.party) && !l.party.includes("Jane Doe"))).toBe(true);
    console.log(`e2e demo PBX lines: agent ${JSON.stringify(agent)} customer ${JSON.stringify(customer)}`);
    const shots = resolve(REPO_ROOT, "test-results");
    mkdirSync(shots, { recursive: true });
    await transcriber.frame.evaluate(() => document.querySelector('[data-testid="lines"]')?.scrollIntoView());
    await page.screenshot({ path: resolve(shots, "demo-pbx-two-parties.png") });

    // Hang up: the PBX closes the stream, the call ends, the transcript goes to the CRM the user picks.
    await phone.ui.getByTestId("hangup").click();
    await waitForText("call ended", phone.ui.getByTestId("call-state"), (t) => t === "ended");
    await waitFor("PBX stream closed", async () => pbx.status(callId), (s) => s === undefined, 15_000);
    // Both SaveTranscript CRMs and the standard-only CRM are in the desktop: the transcriber's "Save to…" chooser asks.
    const { targets } = await saveChooserOptions(transcriber, 60_000);
    expect(targets).toEqual(["acme-crm SaveTranscript", "notes-crm SaveTranscript", "standard-crm CreateInteraction"]);
    await chooseSaveTarget(transcriber, "Notes CRM (new window) · Save Transcript");
    await waitForText("save result", transcriber.ui.getByTestId("save-result"), (t) => t.includes("Created"), 30_000);

    // The CRM holds both parties' segments, each on its channel, the customer named.
    const crm = await appWindow(page, "notes-crm");
    const record = crm.ui.getByTestId("crm-record");
    await waitForText("CRM record text", record.getByTestId("crm-record-text"));
    const stored = JSON.parse((await record.getByTestId("crm-record-json").textContent())!);
    const checked = validateContext(stored);
    expect(checked.valid ? "valid" : checked.error).toBe("valid");
    expect(stored).toMatchObject({ type: "fdc3.transcript", source: "call", id: { callId } });
    const segments = stored.segments as Array<{ speaker: string; channel?: number; text: string }>;
    const onChannel = (c: number) => segments.filter((s) => s.channel === c && s.text.trim().length > 0);
    expect(onChannel(0).length).toBeGreaterThan(0);
    expect(onChannel(1).length).toBeGreaterThan(0);
    expect(onChannel(1).every((s) => s.speaker === "Jane Doe")).toBe(true);
    expect(onChannel(0).every((s) => s.speaker !== "Jane Doe")).toBe(true);
    console.log(`e2e demo PBX stored: ${segments.map((s) => `[${s.channel}] ${s.speaker}: ${s.text}`).join(" | ")}`);
    await page.screenshot({ path: resolve(shots, "demo-pbx-saved.png") });
    expect(await phone.ui.getByTestId("softphone-error").count()).toBe(0);
  });

  it("without a corpus the softphone says there is no demo audio and the transcriber will use the microphone", async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${bareOrigin}/`);
      const phone = await launchApp(other, "softphone");
      await phone.ui.getByTestId("dial").click();
      await waitForText("call connected", phone.ui.getByTestId("call-state"), (t) => t === "connected");
      const status = phone.ui.getByTestId("pbx-status");
      await waitForText("no demo audio", status, (t) => t.startsWith("No demo audio; the transcriber will use the microphone"), 20_000);
      expect(await status.getAttribute("data-status")).toBe("unavailable");
      expect(await phone.ui.getByTestId("pbx-detail").textContent()).toContain(noCorpus);
      await phone.ui.getByTestId("hangup").click();
      await waitForText("call ended", phone.ui.getByTestId("call-state"), (t) => t === "ended");
      expect(await phone.ui.getByTestId("softphone-error").count()).toBe(0);
    } finally {
      await other.close();
    }
  });
});
