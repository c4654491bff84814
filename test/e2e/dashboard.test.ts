/**
 * The Library's Dashboard (issue 9 §4) in real Chromium, against the real server with the
 * transcript library and the real pg-boss queue on embedded PGlite, and the real PocketSphinx engine:
 *
 *   corpus recordings → POST /v1/listen (real engine) → the pipeline's real analysis (topics, key
 *   phrases, sentiment) → fdc3.transcripts POSTed to /v1/transcripts on known days → recorded calls
 *   queued, running, failed and dead-lettered through the real queue → the desktop → the Library's
 *   Dashboard tab → the counts on the page equal the seeded ones (last 30 days) → "Last 7 days"
 *   and picked days change them → days with nothing show the empty state.
 *
 * The words and times are the engine's; who spoke, the source and the day are assigned by the test,
 * and every expected figure is computed here from what was seeded. Screenshot: test-results/dashboard.png.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { enqueueRecording, JobQueue, RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { analyzeTranscript } from "../../src/server/pipeline/stages/analyze";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { createAtRestCipher } from "../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../src/server/store/database";
import { launchChromium } from "./support/chromium";
import { collectConsole, launchApp, waitFor, waitForText, type AppHandle } from "./support/desktop";
import { CORPUS_DIR, REPO_ROOT, requireFile } from "./support/paths";

const API_KEY = "e2e-dashboard-key-0123456789";
const DESKTOP_SECRET = "e2e-dashboard-desktop-secret-0123456789";
const KEY = randomBytes(32);
/** Real read speech (Debian pocketsphinx-testdata, LibriVox, public domain). */
const SET = "debian_pocketsphinx";
const FILES = ["librivox/sense_and_sensibility_01_austen_64kb-0870.wav", "librivox/sense_and_sensibility_01_austen_64kb-0890.wav", "librivox/sense_and_sensibility_01_austen_64kb-0930.wav"];
const SOURCES = ["call", "dictation", "recording"] as const;
const AGENTS = ["Alice Agent", "Bob Agent"];
/**
 * The seeded transcripts: days before today (UTC) and source. Recording k % 3 gives the words.
 * Today and the last days, the rest of the month, and two older than 30 days.
 */
const SEED: { daysAgo: number; source: (typeof SOURCES)[number] }[] = [
  { daysAgo: 0, source: "call" },
  { daysAgo: 1, source: "recording" },
  { daysAgo: 1, source: "call" },
  { daysAgo: 3, source: "dictation" },
  { daysAgo: 6, source: "call" },
  { daysAgo: 8, source: "recording" },
  { daysAgo: 12, source: "dictation" },
  { daysAgo: 20, source: "call" },
  { daysAgo: 29, source: "recording" },
  { daysAgo: 31, source: "call" },
  { daysAgo: 45, source: "dictation" },
];

type Word = { word: string; start: number; end: number; confidence: number };
interface Seeded {
  day: string;
  source: (typeof SOURCES)[number];
  transcript: Transcript;
  agent?: string;
}

let dataDir: string;
let db: Database;
let queue: JobQueue;
let service: LibraryService;
let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];
const seeded: Seeded[] = [];
const shots = resolve(REPO_ROOT, "test-results");
const auth = { authorization: `Token ${API_KEY}` };
const DAY_MS = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const dayBefore = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) - n * DAY_MS).toISOString().slice(0, 10);

/** Transcript k: a call or recording is the agent (channel 0) then the customer (channel 1), split at the middle word; a dictation one speaker. */
async function seed(k: number, words: Word[], text: string, duration: number): Promise<Seeded> {
  const { daysAgo, source } = SEED[k];
  const day = dayBefore(daysAgo);
  const half = Math.max(1, Math.floor(words.length / 2));
  const turn = (speaker: string, channel: number | undefined, ws: Word[]) => ({
    speaker,
    ...(channel !== undefined && { channel }),
    start: ws[0].start,
    end: ws[ws.length - 1].end,
    text: ws.map((w) => w.word).join(" "),
    confidence: ws.reduce((a, w) => a + w.confidence, 0) / ws.length,
    words: ws,
  });
  const agent = source === "dictation" ? undefined : AGENTS[k % 2];
  const base = {
    type: "fdc3.transcript",
    id: { transcriptId: `e2e-dash-${k}`, callId: `e2e-dash-call-${k}` },
    source,
    participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: "Edward Ferrars", id: { email: "edward@example.com" } }] },
    timeRange: { type: "fdc3.timeRange", startTime: `${day}T10:00:00.000Z` },
    language: "en",
    text,
    segments: source === "dictation" ? [turn("Edward Ferrars", undefined, words)] : [turn(agent!, 0, words.slice(0, half)), turn("Edward Ferrars", 1, words.slice(half))],
    provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
    duration,
  } as unknown as Transcript;
  const a = await analyzeTranscript(base);
  const transcript = { ...base, summary: a.summary, topics: [a.topic], sentiment: { label: a.sentiment.label, score: a.sentiment.score }, keyPhrases: [...a.keyPhrases, ...(k % 2 === 0 ? ["Account balance"] : [])] } as Transcript;
  return { day, source, transcript, ...(agent && { agent }) };
}

/** The figures the dashboard should show for `from` … `to`, from the seeded inputs. */
function expected(from: string, to: string) {
  const mine = seeded.filter((s) => s.day >= from && s.day <= to);
  const count = (pred: (s: Seeded) => boolean) => mine.filter(pred).length;
  return {
    total: mine.length,
    bySource: Object.fromEntries(SOURCES.map((src) => [src, count((s) => s.source === src)])) as Record<(typeof SOURCES)[number], number>,
    sentiment: Object.fromEntries(["positive", "neutral", "negative"].map((l) => [l, count((s) => s.transcript.sentiment?.label === l)])),
    accountBalance: count((s) => s.transcript.keyPhrases!.some((p) => p.toLowerCase() === "account balance")),
    agents: Object.fromEntries(AGENTS.map((a) => [a, count((s) => s.agent === a)]).filter(([, n]) => n)),
  };
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "callscribe-e2e-dashboard-"));
  db = await openPgliteDatabase(dataDir);
  // The real queue (it migrates Callscribe's tables and pg-boss's); no worker takes its jobs here.
  queue = await JobQueue.start(db, createAtRestCipher(KEY), { pollIntervalSec: 0.5 });
  service = startLibrary({ db, encryptionKey: KEY, calls: queue.calls, syncEverySec: 3600 });
  engine = createPocketSphinxEngine();
  server = buildServer({ engine, staticDir: inject("e2eDistDir"), apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  service.register(server);
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();

  const recognised: { text: string; words: Word[]; duration: number }[] = [];
  for (const file of FILES) {
    const res = await fetch(`${origin}/v1/listen?model=pocketsphinx`, { method: "POST", headers: { ...auth, "content-type": "audio/wav" }, body: readFileSync(requireFile(`${CORPUS_DIR}/${SET}/${file}`, "the speech corpus lives in ../shared/corpus")) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: { duration: number }; results: { channels: { alternatives: { transcript: string; words: Word[] }[] }[] } };
    const alt = body.results.channels[0].alternatives[0];
    expect(alt.words.length, `${file}: "${alt.transcript}"`).toBeGreaterThan(3);
    recognised.push({ text: alt.transcript, words: alt.words.map(({ word, start, end, confidence }) => ({ word, start, end, confidence })), duration: body.metadata.duration });
  }
  for (let k = 0; k < SEED.length; k++) {
    const r = recognised[k % recognised.length];
    const s = await seed(k, r.words, r.text, r.duration);
    expect(validateContext(s.transcript).valid).toBe(true);
    const post = await fetch(`${origin}/v1/transcripts`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(s.transcript) });
    expect(post.status, await post.clone().text()).toBe(201);
    seeded.push(s);
  }

  // The pipeline today: one call dead-lettered (a permanent error), one failed download, one running, two queued.
  await enqueueRecording(queue, { call_id: "rec-corrupt", recording_url: "http://127.0.0.1:9/corrupt.wav" });
  const [job] = await queue.boss.fetch(RECORDING_QUEUE);
  await queue.failNow(job.id);
  await queue.boss.fail(RECORDING_QUEUE, job.id, { message: "decode: the file is not audio", stage: "decode", retryable: false });
  await queue.reconcileFailedJobs();
  for (const id of ["rec-404", "rec-running", "rec-q1", "rec-q2"]) await enqueueRecording(queue, { call_id: id, recording_url: `http://127.0.0.1:9/${id}.wav` });
  await queue.calls.setStatus("rec-404", "failed", "download: recording server answered HTTP 404");
  await queue.calls.setStatus("rec-running", "transcribing");

  browser = await launchChromium();
}, 180_000);

beforeEach(async () => {
  await page?.context().close();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1300 } })).newPage();
  consoleLines = collectConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  service?.stop();
  await queue?.stop();
  await engine?.close();
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.slice(-80).join("\n")}`);
});

/** The counts the page shows, read from its text. */
async function shown(lib: AppHandle) {
  const n = async (id: string) => Number((await lib.ui.getByTestId(id).textContent())?.trim());
  const ranked = (id: string) => lib.ui.getByTestId(id).evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-name"), Number(e.getAttribute("data-count"))])));
  return {
    total: await n("total-transcripts"),
    bySource: { call: await n("total-call"), dictation: await n("total-dictation"), recording: await n("total-recording") },
    sentiment: { positive: await n("sentiment-positive"), neutral: await n("sentiment-neutral"), negative: await n("sentiment-negative") },
    keyPhrases: await ranked("key-phrase"),
    agents: Object.fromEntries(await lib.ui.getByTestId("agent-row").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-agent"), Number(r.querySelector("[data-testid=agent-calls]")!.textContent)]))),
  };
}

const reportFor = (lib: AppHandle, from: string, to: string) =>
  waitFor(`report of ${from} … ${to}`, async () => lib.ui.getByTestId("dashboard-report").evaluate((e) => `${e.getAttribute("data-from")} ${e.getAttribute("data-to")}`).catch(() => ""), (x) => x === `${from} ${to}`);

describe("Library Dashboard, end to end", () => {
  it("shows the seeded counts, follows the date range, and the pipeline's failures with reasons", async () => {
    expect((await fetch(`${origin}/v1/dashboard`)).status).toBe(401);
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    await waitFor("desktop link's secret removed", async () => page.url(), (u) => !u.includes("desktop="), 10_000);
    const lib = await launchApp(page, "callscribe-library");
    await lib.ui.getByRole("tab", { name: "Dashboard" }).click();

    // The last 30 days (the default): today and the 29 before.
    const from30 = dayBefore(29);
    await reportFor(lib, from30, today);
    expect(await lib.ui.getByLabel("From", { exact: true }).inputValue()).toBe(from30);
    expect(await lib.ui.getByLabel("To", { exact: true }).inputValue()).toBe(today);
    expect(await lib.ui.getByRole("button", { name: "Last 30 days" }).getAttribute("aria-pressed")).toBe("true");
    const e30 = expected(from30, today);
    expect(e30.total).toBe(9);
    const s30 = await shown(lib);
    expect(s30.total).toBe(e30.total);
    expect(s30.bySource).toEqual(e30.bySource);
    expect(s30.sentiment).toEqual(e30.sentiment);
    expect(s30.keyPhrases["account balance"]).toBe(e30.accountBalance);
    expect(s30.agents).toEqual(e30.agents);
    // Each agent's ratio is a share of the talk: between 0 and 100%.
    for (const r of await lib.ui.getByTestId("agent-row").evaluateAll((rows) => rows.map((x) => Number(x.getAttribute("data-ratio"))))) {
      expect(r).toBeGreaterThan(0);
      expect(r).toBeLessThan(1);
    }
    // The per-day table (opened) holds the same days and counts.
    await lib.ui.getByRole("region", { name: "Calls per day, by source" }).locator("summary").click();
    const perDay = await lib.ui.getByRole("table", { name: "Calls per day" }).locator("tbody tr").evaluateAll((rows) => Object.fromEntries(rows.map((r) => [r.getAttribute("data-day"), Number(r.getAttribute("data-total"))])));
    const byDay: Record<string, number> = {};
    for (const s of seeded.filter((x) => x.day >= from30)) byDay[s.day] = (byDay[s.day] ?? 0) + 1;
    expect(perDay).toEqual(byDay);
    // Pipeline health: now, and today's failures with their reasons.
    const pipe = async (id: string) => Number(await lib.ui.getByTestId(`pipeline-${id}`).textContent());
    expect([await pipe("queued"), await pipe("running"), await pipe("failed"), await pipe("dead-lettered")]).toEqual([2, 1, 2, 1]);
    const failures = await lib.ui.getByTestId("failure-row").evaluateAll((rows) => rows.map((r) => `${r.getAttribute("data-kind")} ${r.getAttribute("data-call-id")}: ${r.querySelector(".dash-reason")!.textContent}`));
    expect(failures.sort()).toEqual(["dead-lettered rec-corrupt: decode: the file is not audio", "failed rec-404: download: recording server answered HTTP 404", "failed rec-corrupt: decode: the file is not audio"]);
    // The charts are Recharts' SVGs: a bar per source and day with transcripts.
    expect(await lib.ui.locator(".recharts-wrapper").count()).toBeGreaterThanOrEqual(6);
    expect(await lib.ui.getByRole("region", { name: "Calls per day, by source" }).locator(".recharts-bar-rectangle").count()).toBeGreaterThan(0);
    // For the screenshot only: the Library's window across the desktop and as tall as its page, so the whole dashboard shows.
    const wide = await page.addStyleTag({ content: ".windows { grid-template-columns: 1fr !important; }" });
    await waitFor("Library window widened", () => lib.frame.evaluate(() => window.innerWidth), (w) => w > 1000);
    const height = await lib.frame.evaluate(() => document.documentElement.scrollHeight);
    const tall = await page.addStyleTag({ content: `.app-window iframe { flex: none !important; height: ${height + 20}px !important; }` });
    await waitFor("Library window as tall as its page", () => lib.frame.evaluate(() => window.innerHeight), (h) => h >= height);
    await page.screenshot({ path: resolve(shots, "dashboard.png"), fullPage: true });
    for (const tag of [tall, wide]) await tag.evaluate((el) => (el as Element).remove());

    // Last 7 days: fewer.
    await lib.ui.getByRole("button", { name: "Last 7 days" }).click();
    await reportFor(lib, dayBefore(6), today);
    const e7 = expected(dayBefore(6), today);
    expect(e7.total).toBe(5);
    const s7 = await shown(lib);
    expect(s7.total).toBe(e7.total);
    expect(s7.bySource).toEqual(e7.bySource);
    expect(s7.sentiment).toEqual(e7.sentiment);

    // Days picked by hand: 45 … 30 days ago holds the two older calls; nothing failed then.
    await lib.ui.getByLabel("From", { exact: true }).fill(dayBefore(45));
    await lib.ui.getByLabel("To", { exact: true }).fill(dayBefore(30));
    await reportFor(lib, dayBefore(45), dayBefore(30));
    const old = expected(dayBefore(45), dayBefore(30));
    expect(old.total).toBe(2);
    expect((await shown(lib)).bySource).toEqual(old.bySource);
    expect(await pipe("failed")).toBe(0);
    expect(await lib.ui.getByTestId("pipeline-ok").count()).toBe(1);

    // A range the other way round is refused on the page; the last report stays.
    await lib.ui.getByLabel("From", { exact: true }).fill(dayBefore(10));
    await waitForText("range problem", lib.ui.getByTestId("range-problem"), (x) => x.includes("after"));

    // Days with nothing: the empty state.
    await lib.ui.getByLabel("From", { exact: true }).fill("2020-01-01");
    await lib.ui.getByLabel("To", { exact: true }).fill("2020-01-31");
    await reportFor(lib, "2020-01-01", "2020-01-31");
    expect(await lib.ui.getByTestId("total-transcripts").textContent()).toBe("0");
    await waitForText("empty state", lib.ui.getByTestId("dashboard-empty"), (x) => x.includes("No calls or dictations"));
    await page.screenshot({ path: resolve(shots, "dashboard-empty.png") });
  });
});
