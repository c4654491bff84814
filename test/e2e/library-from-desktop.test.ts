/**
 * Issue 9 §6: "a call made in the desktop is found in the Library by a phrase from it", in real
 * Chromium against the real server (API key on, the desktop link's secret) with the real
 * PocketSphinx engine and the transcript library on PGlite, the microphone fed with real read
 * speech from the corpus:
 *
 *   softphone dials → StartTranscription → the transcriber transcribes the microphone → hang-up →
 *   the transcriber sends the finished transcript to the library (outbox, listen token) and shows
 *   "Saved to library" → the user saves it to Notes CRM, whose fdc3.transactionResult lands in the
 *   transcript's save history → the Library app finds the call by a phrase read from the
 *   transcriber's page (not hard-coded) and ranks it first, above other transcripts of the corpus.
 *
 * Screenshots: test-results/library-from-desktop-*.png.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { parse } from "csv-parse/sync";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { launchChromium } from "./support/chromium";
import { appWindow, chooseSaveTarget, collectConsole, launchApp, waitFor, waitForText } from "./support/desktop";
import { attachLibrary, type TestLibrary } from "./support/library-server";
import { buildMicWav, MIC_CLIPS } from "./support/mic-wav";
import { CORPUS_DIR, REPO_ROOT, requireFile } from "./support/paths";

const API_KEY = "e2e-libdesk-key-0123456789";
const DESKTOP_SECRET = "e2e-libdesk-secret-0123456789";
const auth = { authorization: `Token ${API_KEY}` };
const shots = resolve(REPO_ROOT, "test-results");
/** PostgreSQL's `english` stop words of more than 3 letters (search drops them, so a phrase needs others). */
const STOP = new Set("about above after again against because been before being below between both could doing down during each from further have having here hers herself himself itself just more most myself once only other ours ourselves over same should some such than that their theirs them themselves then there these they this those through under until very were what when where which while whom with would your yours yourself yourselves".split(" "));
const norm = (t: string) => t.toLowerCase().replace(/[^a-z' ]+/g, " ").split(/\s+/).filter(Boolean);

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let library: TestLibrary;
let origin: string;
let browser: Browser;
let page: Page;
let mic: { path: string; dir: string; seconds: number };
let consoleLines: string[] = [];
/** Other transcripts in the library: corpus reference texts (the same book's sentences among them). */
const others: string[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  mic = buildMicWav();
  engine = createPocketSphinxEngine();
  server = buildServer({ engine, staticDir: inject("e2eDistDir"), apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  library = await attachLibrary(server);
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();

  const rows = (set: string) => parse(readFileSync(requireFile(`${CORPUS_DIR}/${set}/manifest.csv`, "the speech corpus lives in ../shared/corpus")), { columns: true }) as { file: string; reference_text: string }[];
  const micFiles = new Set(MIC_CLIPS.map((c) => c.file));
  const sameBook = rows("debian_pocketsphinx").filter((r) => r.file.includes("sense_and_sensibility") && !micFiles.has(`debian_pocketsphinx/${r.file}`)).slice(0, 4);
  for (const [k, r] of [...sameBook, ...rows("read_en").slice(0, 3)].entries()) {
    const text = r.reference_text;
    const dictation = {
      type: "fdc3.transcript",
      id: { transcriptId: `e2e-libdesk-other-${k}` },
      source: "dictation",
      timeRange: { type: "fdc3.timeRange", startTime: new Date(Date.now() - (k + 1) * 3_600_000).toISOString() },
      text,
      segments: [{ speaker: "Lucy Reader", start: 0, end: 3, text, confidence: 1 }],
    };
    const post = await fetch(`${origin}/v1/transcripts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(dictation) });
    expect(post.status, await post.clone().text()).toBe(201);
    others.push(text);
  }
  browser = await launchChromium({ micWav: mic.path });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  consoleLines = collectConsole(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await library?.close();
  await engine?.close();
  if (mic) rmSync(mic.dir, { recursive: true, force: true });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.slice(-80).join("\n")}`);
});

/** 2–3 consecutive words of `text` (at least two of more than 3 letters, not stop words) whose such words no other transcript holds all of. */
function phraseOnlyIn(text: string): string {
  const words = norm(text);
  const elsewhere = others.map((o) => ` ${norm(o).join(" ")} `);
  for (let len = 3; len >= 2; len--) {
    for (let s = 0; s + len <= words.length; s++) {
      const w = words.slice(s, s + len);
      const p = w.join(" ");
      const long = w.filter((x) => x.length > 3 && !STOP.has(x));
      if (long.length >= 2 && !elsewhere.some((o) => long.every((x) => o.includes(` ${x} `)))) return p;
    }
  }
  throw new Error(`no phrase of "${text}" is absent from the other transcripts`);
}

describe("the Library finds a call made in the desktop", () => {
  it("a live call's transcript reaches the library and a phrase from it ranks it first", async () => {
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    await waitFor("desktop link's secret removed", async () => page.url(), (u) => !u.includes("desktop="), 10_000);

    // A call from the softphone, transcribed from the microphone (the corpus WAV).
    const phone = await launchApp(page, "softphone");
    await phone.ui.getByTestId("contact-select").selectOption({ label: "Jane Doe (+14155550100)" });
    await phone.ui.getByTestId("dial").click();
    await waitForText("call connected", phone.ui.getByTestId("call-state"), (t) => t === "connected");
    const callId = (await phone.ui.getByTestId("call-id").textContent())!.trim();
    await phone.ui.getByTestId("transcribe").click();
    const transcriber = await appWindow(page, "transcriber");
    await waitForText("transcriber listening", transcriber.ui.getByTestId("status"), (t) => t === "listening", 30_000);
    const listeningAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, mic.seconds * 1000 - (Date.now() - listeningAt) + 1_500)));
    await waitForText("final text", transcriber.ui.getByTestId("final-transcript"), (t) => t.trim().split(/\s+/).length >= 5, 20_000);
    await phone.ui.getByTestId("hangup").click();

    // Saved to a CRM: the user picks Notes CRM in the transcriber's "Save to…" chooser (SaveTranscript
    // CRMs and the standard-only CRM are both in the desktop).
    await chooseSaveTarget(transcriber, "Notes CRM (new window) · Save Transcript", 30_000);
    await waitForText("CRM answered", transcriber.ui.getByTestId("save-result"), (t) => t.includes("Created"), 30_000);

    // The transcriber says the transcript is in the library.
    const status = transcriber.ui.getByTestId("library-status");
    await waitFor("Saved to library", async () => [await status.getAttribute("data-state"), await status.textContent()], ([s]) => s === "saved", 30_000);
    expect(await status.textContent()).toBe("Saved to library");
    await transcriber.frame.evaluate(() => document.querySelector(".library-status")?.scrollIntoView());
    await page.screenshot({ path: resolve(shots, "library-from-desktop-transcriber.png") });

    // What the engine transcribed, as the page shows it (the call's lines by party or the final text).
    const shown = ((await transcriber.ui.getByTestId("final-transcript").textContent()) ?? "").trim();
    expect(shown.split(/\s+/).length).toBeGreaterThanOrEqual(5);
    const phrase = phraseOnlyIn(shown);
    console.log(`e2e library-from-desktop: transcript "${shown}", searching "${phrase}"`);

    // The server holds it once, as a call, with the CRM's answer in its save history.
    const { rows } = await library.db.query<{ id: string }>("SELECT id FROM transcripts WHERE source = 'call' AND call_id = $1", [callId]);
    expect(rows).toHaveLength(1);
    const id = rows[0].id;
    const entry = await waitFor(
      "the CRM's answer in the save history",
      async () => (await (await fetch(`${origin}/v1/transcripts/${id}`, { headers: auth })).json()) as { saves: { appId: string; status: string }[]; transcript: { text: string } },
      (e) => e.saves.length > 0,
      20_000,
    );
    expect(entry.saves).toEqual([expect.objectContaining({ appId: "notes-crm", status: "Created" })]);
    expect(entry.transcript.text.trim()).toBe(shown);

    // Another transcript holds the phrase's words too, but apart and in another order: the call,
    // which holds them as said, must still rank first.
    const apart = {
      type: "fdc3.transcript",
      id: { transcriptId: "e2e-libdesk-apart" },
      source: "dictation",
      timeRange: { type: "fdc3.timeRange", startTime: new Date().toISOString() },
      text: norm(phrase).reverse().join(` ${others[0]} `),
      segments: [{ speaker: "Lucy Reader", start: 0, end: 3, text: norm(phrase).reverse().join(` ${others[0]} `), confidence: 1 }],
    };
    const posted = await fetch(`${origin}/v1/transcripts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(apart) });
    expect(posted.status).toBe(201);
    const apartId = ((await posted.json()) as { id: string }).id;

    // The Library app: search by the phrase; the call is the first result.
    const lib = await launchApp(page, "callscribe-library");
    const box = lib.ui.getByLabel("Search transcripts");
    await box.fill(phrase);
    await box.press("Enter");
    const hits = lib.ui.locator("ol[aria-label=Results] li.hit");
    await waitFor(`"${phrase}" ranks the call first`, () => hits.evaluateAll((els) => els.map((e) => e.getAttribute("data-id"))), (ids) => ids[0] === id, 20_000);
    // Both match; the call ranks above the one that has the words apart.
    await waitFor("both listed", () => hits.evaluateAll((els) => els.map((e) => e.getAttribute("data-id"))), (ids) => ids.includes(apartId), 5_000);
    expect((await hits.evaluateAll((els) => els.map((e) => e.getAttribute("data-id"))))[0]).toBe(id);
    const first = hits.first();
    expect(await first.locator(".hit-source").textContent()).toBe("call");
    expect((await first.locator("mark").allTextContents()).length).toBeGreaterThan(0);
    await page.screenshot({ path: resolve(shots, "library-from-desktop-search.png") });
  });
});
