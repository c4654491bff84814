/**
 * The Callscribe Library (issue 9 §3) in real Chromium, against the real server with the
 * transcript library on embedded PGlite and the real PocketSphinx engine:
 *
 *   corpus recordings → POST /v1/listen (real engine) → fdc3.transcripts POSTed to /v1/transcripts
 *   → the desktop (its secret link; the Library reads with the host's library tokens) → the Library
 *   lists them → a phrase from one finds it first, highlighted → its transcript view shows the
 *   turns, word spans and low-confidence marks → export WebVTT downloads a file named after the call
 *   → Save to CRM (the Library's "Save to…" chooser: Notes CRM with SaveTranscript) → Created, in the
 *   save history → again to the Standard CRM (CreateInteraction with an fdc3.interaction) → Created, in the history →
 *   Notes CRM's "View calls" raises ViewInteractions with the contact → the Library filters to that
 *   person → an invalid contact is refused with a Failed result → a contact on the user channel
 *   filters by phone.
 *
 * The words, their times and confidences are the engine's; who spoke and the call metadata
 * (participants, turn split, dates) are assigned by the test so filters have something to tell apart.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";
import { launchChromium } from "./support/chromium";
import { appWindow, chooseSaveTarget, collectConsole, launchApp, saveChooserOptions, waitFor, waitForText, type AppHandle } from "./support/desktop";
import { CORPUS_DIR, REPO_ROOT, requireFile } from "./support/paths";

const API_KEY = "e2e-library-key-0123456789";
const DESKTOP_SECRET = "e2e-library-desktop-secret-0123456789";
/** Real read speech with references (Debian pocketsphinx-testdata, LibriVox, public domain). */
const SET = "debian_pocketsphinx";
const FILES = ["librivox/sense_and_sensibility_01_austen_64kb-0870.wav", "librivox/sense_and_sensibility_01_austen_64kb-0890.wav", "librivox/sense_and_sensibility_01_austen_64kb-0930.wav"];
const JANE = { name: "Jane Doe", email: "jane.doe@example.com", phone: "+1 415 555 0100" };
const EDWARD = { name: "Edward Ferrars", email: "edward@example.com", phone: "+44 20 7946 0011" };
/** Transcript i is with this person: Jane in 0 and 2, Edward in 1. */
const WHO = [JANE, EDWARD, JANE];

type Word = { word: string; start: number; end: number; confidence: number };
interface Made {
  file: string;
  reference: string;
  text: string;
  duration: number;
  words: Word[];
  transcript: Transcript;
  id: string;
}

let dataDir: string;
let db: Database;
let service: LibraryService;
let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];
const made: Made[] = [];
/** Older dictations from the read_en corpus's reference texts (no audio run), so results need two pages. */
const extras: { id: string; text: string }[] = [];
const EXTRAS = 21;
const LUCY = { name: "Lucy Steele", email: "lucy@example.com" };
const shots = resolve(REPO_ROOT, "test-results");
const auth = { authorization: `Token ${API_KEY}` };

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z' ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean);

/** Two turns (agent, then the customer) split at the middle word; the engine's words and times. */
function transcriptOf(i: number, text: string, words: Word[], duration: number): Transcript {
  const who = WHO[i];
  const half = Math.max(1, Math.floor(words.length / 2));
  const turn = (speaker: string, ws: Word[]) => ({
    speaker,
    start: ws[0].start,
    end: ws[ws.length - 1].end,
    text: ws.map((w) => w.word).join(" "),
    confidence: ws.reduce((a, w) => a + w.confidence, 0) / ws.length,
    words: ws,
  });
  const segments = [turn("agent", words.slice(0, half)), ...(words.length > half ? [turn(who.name, words.slice(half))] : [])];
  return {
    type: "fdc3.transcript",
    id: { transcriptId: `e2e-lib-${i}`, callId: `e2e-call-${i}` },
    source: "call",
    participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: who.name, id: { email: who.email, phone: who.phone } }] },
    timeRange: { type: "fdc3.timeRange", startTime: new Date(Date.UTC(2026, 10, 10 + i, 9)).toISOString(), endTime: new Date(Date.UTC(2026, 10, 10 + i, 9, 0, Math.ceil(duration))).toISOString() },
    language: "en",
    text,
    segments,
    topics: ["Support Request"],
    provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
    duration,
  } as unknown as Transcript;
}

/** 2–4 consecutive recognised words of transcript i that its speaker said and no other transcript holds. */
function uniquePhrase(i: number): string {
  const ref = ` ${norm(made[i].reference).join(" ")} `;
  const hyp = norm(made[i].text);
  const others = [...made.filter((_, j) => j !== i), ...extras].map((m) => ` ${norm(m.text).join(" ")} `);
  for (let len = 4; len >= 2; len--) {
    for (let s = 0; s + len <= hyp.length; s++) {
      const p = hyp.slice(s, s + len).join(" ");
      if (hyp.slice(s, s + len).filter((w) => w.length > 3).length >= 2 && ref.includes(` ${p} `) && !others.some((o) => o.includes(` ${p} `))) return p;
    }
  }
  throw new Error(`no unique phrase in "${made[i].text}"`);
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "callscribe-e2e-library-"));
  db = await openPgliteDatabase(dataDir);
  await migrate(db);
  service = startLibrary({ db, encryptionKey: randomBytes(32), syncEverySec: 3600 });
  engine = createPocketSphinxEngine();
  server = buildServer({ engine, staticDir: inject("e2eDistDir"), apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  service.register(server);
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();

  const manifest = parse(readFileSync(requireFile(`${CORPUS_DIR}/${SET}/manifest.csv`, "the speech corpus lives in ../shared/corpus (or set CALLSCRIBE_CORPUS_DIR)")), { columns: true }) as { file: string; reference_text: string }[];
  for (const [i, file] of FILES.entries()) {
    const res = await fetch(`${origin}/v1/listen?model=pocketsphinx`, { method: "POST", headers: { ...auth, "content-type": "audio/wav" }, body: readFileSync(`${CORPUS_DIR}/${SET}/${file}`) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: { duration: number }; results: { channels: { alternatives: { transcript: string; words: Word[] }[] }[] } };
    const alt = body.results.channels[0].alternatives[0];
    const words = alt.words.map(({ word, start, end, confidence }) => ({ word, start, end, confidence }));
    expect(words.length, `${file}: "${alt.transcript}"`).toBeGreaterThan(3);
    const transcript = transcriptOf(i, alt.transcript, words, body.metadata.duration);
    expect(validateContext(transcript).valid).toBe(true);
    const post = await fetch(`${origin}/v1/transcripts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(transcript) });
    expect(post.status, await post.clone().text()).toBe(201);
    made.push({ file, reference: manifest.find((r) => r.file === file)!.reference_text, text: alt.transcript, duration: body.metadata.duration, words, transcript, id: ((await post.json()) as { id: string }).id });
  }

  const readEn = parse(readFileSync(requireFile(`${CORPUS_DIR}/read_en/manifest.csv`, "the speech corpus lives in ../shared/corpus")), { columns: true }) as { file: string; duration_s: string; reference_text: string }[];
  expect(readEn.length).toBeGreaterThanOrEqual(EXTRAS);
  for (const [k, row] of readEn.slice(0, EXTRAS).entries()) {
    const duration = Number(row.duration_s);
    const dictation = {
      type: "fdc3.transcript",
      id: { transcriptId: `e2e-extra-${k}` },
      source: "dictation",
      participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: LUCY.name, id: { email: LUCY.email } }] },
      timeRange: { type: "fdc3.timeRange", startTime: new Date(Date.UTC(2026, 9, 1 + k, 8)).toISOString() },
      language: "en",
      text: row.reference_text,
      segments: [{ speaker: LUCY.name, start: 0, end: duration, text: row.reference_text, confidence: 1 }],
      duration,
    };
    const post = await fetch(`${origin}/v1/transcripts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(dictation) });
    expect(post.status, await post.clone().text()).toBe(201);
    extras.push({ id: ((await post.json()) as { id: string }).id, text: row.reference_text });
  }

  browser = await launchChromium();
}, 180_000);

beforeEach(async () => {
  // A fresh browser context per try (the retry starts with empty CRMs, as the first try did).
  await page?.context().close();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  consoleLines = collectConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  service?.stop();
  await engine?.close();
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) {
    console.log(`browser console:\n${consoleLines.slice(-80).join("\n")}`);
    const activity = await page?.getByTestId("activity").textContent().catch(() => "(none)");
    console.log(`desktop activity: ${activity}`);
  }
});

/** The ids of the hits the Library shows, in order. */
const hitIds = (lib: AppHandle) => lib.ui.getByRole("list", { name: "Results" }).getByTestId("hit").evaluateAll((els) => els.map((e) => e.getAttribute("data-id") ?? ""));

describe("Callscribe Library, end to end", () => {
  it("search, transcript view, export, Save to CRM, and ViewInteractions from a CRM", async () => {
    // Without a token the library refuses: the page reads with the host's library tokens.
    expect((await fetch(`${origin}/v1/transcripts`)).status).toBe(401);
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    await waitFor("desktop link's secret removed", async () => page.url(), (u) => !u.includes("desktop="), 10_000);
    const lib = await launchApp(page, "callscribe-library");
    expect(await lib.ui.getByTestId("fdc3-status").textContent()).toContain("handling ViewInteractions");

    // With no words: the newest first, 20 a page; "Load more" brings the rest, in the server's order.
    const all = (await (await fetch(`${origin}/v1/transcripts?limit=50`, { headers: auth })).json()) as { hits: { id: string }[] };
    expect(all.hits).toHaveLength(made.length + EXTRAS);
    const newestFirst = [...made].sort((a, b) => b.transcript.timeRange!.startTime!.localeCompare(a.transcript.timeRange!.startTime!)).map((m) => m.id);
    expect(all.hits.slice(0, made.length).map((h) => h.id)).toEqual(newestFirst);
    await waitFor("first page listed", () => hitIds(lib), (ids) => ids.length === 20);
    expect(await hitIds(lib)).toEqual(all.hits.slice(0, 20).map((h) => h.id));
    await lib.ui.getByRole("button", { name: "Load more" }).click();
    await waitFor("second page listed", () => hitIds(lib), (ids) => ids.length === made.length + EXTRAS);
    expect(await hitIds(lib)).toEqual(all.hits.map((h) => h.id));
    expect(await lib.ui.getByRole("button", { name: "Load more" }).count()).toBe(0);
    // A filter: calls only (the dictations go).
    await lib.ui.getByLabel("Source").selectOption("call");
    await lib.ui.getByRole("button", { name: "Search", exact: true }).click();
    await waitFor("calls only", () => hitIds(lib), (ids) => ids.join() === newestFirst.join());
    await lib.ui.getByLabel("Source").selectOption("");

    // A hostile query is plain text: nothing runs, the page keeps working.
    await lib.ui.getByLabel("Search transcripts").fill(`<img src=x onerror="window.__pwned=1"> '; DROP TABLE transcripts; --`);
    await lib.ui.getByLabel("Search transcripts").press("Enter");
    await waitForText("hostile query answered", lib.ui.getByTestId("result-count"), (x) => x.length > 0 && !x.includes("Searching"));
    expect(await lib.frame.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await lib.ui.getByTestId("search-error").count()).toBe(0);

    // A phrase from transcript 1 finds it first, with the words marked.
    const target = 1;
    const phrase = uniquePhrase(target);
    await lib.ui.getByLabel("Search transcripts").fill(phrase);
    await lib.ui.getByLabel("Search transcripts").press("Enter");
    await waitFor(`"${phrase}" ranks ${made[target].file} first`, async () => (await hitIds(lib))[0], (id) => id === made[target].id);
    const first = lib.ui.getByTestId("hit").first();
    const marks = (await first.locator("mark").allTextContents()).map((m) => m.toLowerCase());
    expect(marks.length).toBeGreaterThan(0);
    for (const m of marks) expect(phrase.split(" ").some((w) => m.startsWith(w.slice(0, 4)))).toBe(true);
    expect(await first.locator(".hit-who").textContent()).toBe(EDWARD.name);
    expect(await first.locator(".hit-source").textContent()).toBe("call");
    expect(await first.locator(".hit-topic").textContent()).toBe("Support Request");
    await page.screenshot({ path: resolve(shots, "library-search.png") });

    // Open it: turns by speaker with mm:ss, each word a span with its times, low-confidence marked.
    await first.locator(".hit-open").click();
    const view = lib.ui.getByRole("article", { name: "Transcript" });
    await view.waitFor({ state: "visible", timeout: 10_000 });
    const t = made[target].transcript;
    expect(await view.locator(".turn .turn-speaker").allTextContents()).toEqual(t.segments!.map((s) => s.speaker));
    const mmss = (x: number) => `${String(Math.floor(x / 60)).padStart(2, "0")}:${String(Math.floor(x % 60)).padStart(2, "0")}`;
    expect(await view.locator(".turn .turn-start").allTextContents()).toEqual(t.segments!.map((s) => mmss(s.start)));
    const spans = await view.locator(".word").evaluateAll((els) => els.map((e) => ({ word: e.textContent, start: Number(e.getAttribute("data-start")), end: Number(e.getAttribute("data-end")), low: e.classList.contains("low-confidence"), title: e.getAttribute("title") })));
    expect(spans.map((s) => [s.word, s.start, s.end])).toEqual(made[target].words.map((w) => [w.word, w.start, w.end]));
    expect(spans.map((s) => s.low)).toEqual(made[target].words.map((w) => w.confidence < 0.6));
    for (const [k, s] of spans.entries()) if (s.low) expect(s.title).toBe(`confidence ${made[target].words[k].confidence.toFixed(2)}`);
    // Talk time: each party's seconds, and shares that add up to 100%.
    const talk = await view.getByRole("region", { name: "Talk time" }).locator("tr").evaluateAll((rows) => rows.map((r) => ({ who: r.getAttribute("data-speaker"), pct: parseInt(r.querySelector(".lib-talk-percent")!.textContent!, 10) })));
    expect(talk.map((r) => r.who).sort()).toEqual(["agent", EDWARD.name].sort());
    expect(Math.abs(talk.reduce((a, r) => a + r.pct, 0) - 100)).toBeLessThanOrEqual(1);
    // Sentiment per turn, scored in the page (wink-nlp, as the pipeline): one strip segment per turn, each labelled.
    await waitFor("turn sentiment scored", () => view.locator(".lib-timeline-seg").evaluateAll((els) => els.map((e) => e.getAttribute("data-sentiment"))), (l) => l.length === t.segments!.length && l.every((x) => x === "positive" || x === "neutral" || x === "negative"));

    // Export WebVTT: a download named after the call, cue times from the segments.
    const [download] = await Promise.all([page.waitForEvent("download"), view.getByRole("button", { name: "Export as WebVTT" }).click()]);
    expect(download.suggestedFilename()).toBe(`call-e2e-call-${target}-2026-11-${10 + target}.vtt`);
    const vtt = readFileSync((await download.path())!, "utf8");
    expect(vtt.startsWith("WEBVTT\n\n1\n")).toBe(true);
    const cueTimes = [...vtt.matchAll(/^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> /gm)].map((m) => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000);
    expect(cueTimes).toEqual(t.segments!.map((s) => Math.round(s.start * 1000) / 1000));
    expect(vtt).toContain(`<v ${EDWARD.name}>`);

    // Save to CRM: SaveTranscript CRMs and the standard-only CreateInteraction CRM are both in the
    // desktop, so the Library's "Save to…" chooser lists each app with its intent (as the
    // transcriber's does); Notes CRM gets SaveTranscript and answers Created.
    await view.getByRole("button", { name: "Save to CRM" }).click();
    expect((await saveChooserOptions(lib)).targets).toEqual(["acme-crm SaveTranscript", "notes-crm SaveTranscript", "standard-crm CreateInteraction"]);
    await chooseSaveTarget(lib, "Notes CRM (new window) · Save Transcript");
    const saveResult = lib.ui.getByTestId("save-result");
    await waitForText("save result", saveResult, (x) => x.includes("Created"), 30_000);
    expect(await saveResult.getAttribute("data-app-id")).toBe("notes-crm");
    expect(await saveResult.getAttribute("data-intent")).toBe("SaveTranscript");
    // The save is in the library's history (the server's, shown in the view).
    // (Its last entry: a retry of this test saves a second time.)
    await waitFor("save history", () => view.getByTestId("crm-save").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-app-id")} ${e.getAttribute("data-status")}`)), (l) => l.at(-1) === "notes-crm Created");
    const stored = (await (await fetch(`${origin}/v1/transcripts/${made[target].id}`, { headers: auth })).json()) as { saves: { appId: string; status: string }[] };
    expect(stored.saves.map((s) => [s.appId, s.status]).at(-1)).toEqual(["notes-crm", "Created"]);
    await page.screenshot({ path: resolve(shots, "library-transcript.png") });

    // The same transcript to the Standard CRM, which knows only the standard CreateInteraction: it gets
    // the transcript's fdc3.interaction; its fdc3.transactionResult is shown and kept in the history.
    await view.getByRole("button", { name: "Save to CRM" }).click();
    await lib.ui.getByTestId("save-chooser").waitFor({ state: "visible", timeout: 20_000 });
    await page.screenshot({ path: resolve(shots, "library-save-chooser.png") });
    await chooseSaveTarget(lib, "Standard CRM (new window) · Create Interaction");
    const stdText = await waitForText("Standard CRM result", saveResult, (x) => x.includes("CreateInteraction"), 30_000);
    expect(stdText).toMatch(/^Created by Standard CRM via CreateInteraction: Saved interaction STD-\d{6} in Standard CRM$/);
    expect(await saveResult.getAttribute("data-app-id")).toBe("standard-crm");
    await waitFor("Standard CRM in the save history", () => view.getByTestId("crm-save").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-app-id")} ${e.getAttribute("data-status")}`)), (l) => l.at(-1) === "standard-crm Created");
    const afterStd = (await (await fetch(`${origin}/v1/transcripts/${made[target].id}`, { headers: auth })).json()) as { saves: { appId: string; status: string; recordId?: string; result: { context?: { type: string; interactionType: string; id: Record<string, string> } } }[] };
    const stdSave = afterStd.saves.at(-1)!;
    expect([stdSave.appId, stdSave.status, stdSave.result.context?.type, stdSave.result.context?.interactionType, stdSave.result.context?.id.Callscribe]).toEqual(["standard-crm", "Created", "fdc3.interaction", "Call", t.id.transcriptId]);
    // The history names the CRM's record (its own id key), not the transcript id it echoed back.
    expect(stdSave.recordId).toMatch(/^STD-\d{6}$/);
    expect(stdSave.recordId).toBe(stdSave.result.context?.id.StandardCRM);
    expect(await view.getByTestId("crm-save").last().textContent()).toContain(`by standard-crm as ${stdSave.recordId} `);
    const std = await appWindow(page, "standard-crm");
    expect(await waitForText("Standard CRM record", std.ui.getByTestId("crm-record").first().getByTestId("crm-record-text"))).toContain(made[target].text.trim());
    await page.screenshot({ path: resolve(shots, "library-save-standard-crm.png") });
    await view.getByRole("region", { name: "CRM saves" }).screenshot({ path: resolve(shots, "library-save-history.png") });

    // Notes CRM now holds Edward's call; its "View calls" raises ViewInteractions with his contact,
    // which goes to the running Library: it shows his calls only.
    const crm = await appWindow(page, "notes-crm");
    const record = crm.ui.getByTestId("crm-record").first();
    await waitForText("CRM record", record.getByTestId("crm-record-text"));
    await record.getByTestId("view-calls").click();
    await waitForText("CRM sees the Library take it", record.getByTestId("view-calls-result"), (x) => x.includes("callscribe-library"), 20_000);
    expect(await page.locator("iframe[data-app-id='callscribe-library']").count()).toBe(1);
    await waitForText("contact filter", lib.ui.getByTestId("contact-filter"), (x) => x.includes(EDWARD.name));
    expect(await lib.ui.getByTestId("contact-filter").getAttribute("data-participant")).toBe(EDWARD.email);
    expect(await lib.ui.getByLabel("Participant").inputValue()).toBe(EDWARD.email);
    expect(await lib.ui.getByLabel("Search transcripts").inputValue()).toBe("");
    await waitFor("Edward's calls", () => hitIds(lib), (ids) => ids.join() === made[1].id);
    await page.screenshot({ path: resolve(shots, "library-view-interactions.png") });

    // An invalid contact is refused: a Failed fdc3.transactionResult, and the Library says why.
    const refused = await crm.frame.evaluate(
      async ({ target }) => {
        const res = await (window as any).fdc3.raiseIntent("ViewInteractions", { type: "fdc3.contact", id: { email: "not-an-email" } }, target);
        return res.getResult();
      },
      { target: { appId: "callscribe-library", instanceId: lib.instanceId } },
    );
    expect(refused).toMatchObject({ type: "fdc3.transactionResult", status: "Failed" });
    expect(refused.message).toContain('/id/email must match format "email"');
    await waitForText("refusal shown", lib.ui.getByTestId("fdc3-refused"), (x) => x.includes("ViewInteractions"));
    await waitFor("filter kept", () => hitIds(lib), (ids) => ids.join() === made[1].id);

    // A contact on the user channel (Jane, by phone only): the Library follows it.
    await lib.frame.evaluate(async () => (window as any).fdc3.joinUserChannel("fdc3.channel.1"));
    await crm.frame.evaluate(async (phone) => {
      await (window as any).fdc3.joinUserChannel("fdc3.channel.1");
      await (window as any).fdc3.broadcast({ type: "fdc3.contact", name: "Jane Doe", id: { phone } });
    }, JANE.phone);
    await waitFor("Jane's calls by phone", () => hitIds(lib), (ids) => [...ids].sort().join() === [made[0].id, made[2].id].sort().join());
    expect(await lib.ui.getByTestId("contact-filter").getAttribute("data-participant")).toBe(JANE.phone);
    await page.screenshot({ path: resolve(shots, "library-user-channel.png") });

    // With no Library open, "View calls" opens one, filtered to the contact.
    await page.getByRole("button", { name: "Close Callscribe Library" }).click();
    await waitFor("Library closed", () => page.locator("iframe[data-app-id='callscribe-library']").count(), (n) => n === 0);
    await record.getByTestId("view-calls").click();
    const fresh = await appWindow(page, "callscribe-library");
    await waitForText("fresh Library filtered", fresh.ui.getByTestId("contact-filter"), (x) => x.includes(EDWARD.name), 20_000);
    await waitFor("Edward's calls in the new window", () => hitIds(fresh), (ids) => ids.join() === made[1].id);
    expect(await fresh.ui.getByLabel("Participant").inputValue()).toBe(EDWARD.email);

    // fdc3.open with an fdc3.transcript (what the transcriber's "Open transcript" does for a
    // transcript no longer on its screen): a Library window opens on it, found by id.transcriptId.
    await page.getByRole("button", { name: "Close Callscribe Library" }).click();
    await waitFor("Library closed again", () => page.locator("iframe[data-app-id='callscribe-library']").count(), (n) => n === 0);
    // The beta browser agent delivers open()'s context as a broadcast on no channel, which an app
    // already joined to a user channel filters out (agent-proxy DefaultContextListener): open it on none.
    await page.getByTestId("desktop-channel").selectOption("");
    await crm.frame.evaluate(async (t) => (window as any).fdc3.open({ appId: "callscribe-library" }, t), made[0].transcript as unknown as Record<string, unknown>);
    const onTranscript = await appWindow(page, "callscribe-library");
    const shown = onTranscript.ui.getByRole("article", { name: "Transcript" });
    await shown.waitFor({ state: "visible", timeout: 20_000 });
    expect(await shown.locator(".turn .turn-speaker").allTextContents()).toEqual(made[0].transcript.segments!.map((s) => s.speaker));
    expect(await shown.locator(".word").allTextContents()).toEqual(made[0].words.map((w) => w.word));
    await page.screenshot({ path: resolve(shots, "library-opened-with-transcript.png") });
  });
});
