/**
 * The transcriber's library outbox (`src/transcriber/library/outbox.ts`) in real Chromium, with
 * the browser's real IndexedDB, against the real server's library routes on PGlite
 * (`POST /v1/transcripts`, `…/saves`, authenticated with a listen token minted from the desktop
 * secret as the desktop host does). Outages are injected by a fault-injecting `fetch` in the
 * page (`fakeOutageFetch`): "down" throws as `fetch` does when nothing answers, "503" answers a
 * 503, "lose-answer" lets the request reach the server and then loses its answer.
 */
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { launchChromium } from "../e2e/support/chromium";
import { attachLibrary, type TestLibrary } from "../e2e/support/library-server";

const API_KEY = "outbox-test-key-0123456789";
const DESKTOP_SECRET = "outbox-test-desktop-0123456789";

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let library: TestLibrary;
let origin: string;
let browser: Browser;
let page: Page;
let token: string;

/** A valid finished dictation. */
const transcript = (id: string, text: string) => ({
  type: "fdc3.transcript",
  id: { transcriptId: id },
  source: "dictation",
  text,
  segments: [{ speaker: "Dana Agent", start: 0, end: 2, text, confidence: 0.9 }],
  timeRange: { type: "fdc3.timeRange", startTime: "2026-12-01T10:00:00.000Z", endTime: "2026-12-01T10:00:02.000Z" },
  provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
});


/** Open the outbox under test in the page, with a fault-injecting fetch in `mode`; `calls` counts requests per path. */
const install = (mode: string) =>
  page.evaluate(
    async ({ token, origin, mode }) => {
      const w = window as any;
      w.mode = mode;
      w.calls = {} as Record<string, number>;
      const fakeOutageFetch = async (url: string, init: RequestInit) => {
        const path = new URL(url).pathname;
        w.calls[path] = (w.calls[path] ?? 0) + 1;
        if (w.mode === "down") throw new TypeError("Failed to fetch");
        if (w.mode === "503") return new Response(JSON.stringify({ err_code: "UNAVAILABLE", err_msg: "fake outage" }), { status: 503 });
        const res = await fetch(url, init);
        if (w.mode === "lose-answer") throw new TypeError("Failed to fetch");
        return res;
      };
      w.outbox = await w.outboxHarness.LibraryOutbox.open({ target: { baseUrl: origin, token: async () => token, fetchImpl: fakeOutageFetch }, baseMs: 50, maxMs: 200 });
    },
    { token, origin, mode },
  );

const storedCount = async (transcriptId: string) => Number((await library.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transcripts WHERE transcript_id = $1", [transcriptId])).rows[0].n);

beforeAll(async () => {
  const bundle = await build({ entryPoints: [new URL("./outbox-harness.ts", import.meta.url).pathname], bundle: true, write: false, format: "iife", platform: "browser", target: "es2022" });
  const js = bundle.outputFiles[0].text;
  engine = createPocketSphinxEngine(); // not used here; buildServer needs an engine
  server = buildServer({ engine, apiKey: API_KEY, desktopSecret: DESKTOP_SECRET, logger: false });
  library = await attachLibrary(server);
  server.get("/outbox-test/", { config: { auth: false } }, (_req, reply) => reply.type("text/html").send(`<!doctype html><title>outbox test</title><script src="/outbox-test/harness.js"></script>`));
  server.get("/outbox-test/harness.js", { config: { auth: false } }, (_req, reply) => reply.type("text/javascript").send(js));
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const minted = await fetch(`${origin}/v1/auth/token`, { method: "POST", headers: { authorization: `Bearer ${DESKTOP_SECRET}`, "content-type": "application/json" }, body: JSON.stringify({ scope: "listen" }) });
  token = ((await minted.json()) as { access_token: string }).access_token;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${origin}/outbox-test/`);
  await install("ok");
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await library?.close();
  await engine?.close();
});

const snapshot = () => page.evaluate(() => (window as any).outbox.getSnapshot());
const setMode = (mode: string) => page.evaluate((m) => ((window as any).mode = m), mode);
const until = async (what: string, test: () => Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; snapshot ${JSON.stringify(await snapshot())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("library outbox (real IndexedDB in Chromium, real library routes)", () => {
  it("keeps a transcript while the server is unreachable, across a page reload, and sends it once the server is back", async () => {
    await setMode("down");
    await page.evaluate((t) => (window as any).outbox.addTranscript(t), transcript("outbox-down-1", "the parcel arrived damaged"));
    const waiting = await snapshot();
    expect(waiting.pending).toBe(1);
    expect(waiting.lastError).toContain(`the server at ${origin} is unreachable`);
    // It retries by itself (backoff 50 ms doubling to 200 ms).
    await until("a few retries", async () => (await page.evaluate(() => (window as any).calls["/v1/transcripts"] ?? 0)) >= 3);
    expect(await storedCount("outbox-down-1")).toBe(0);

    // The page goes away and comes back: the transcript is still in IndexedDB.
    await page.reload();
    const afterReload = await page.evaluate(async () => {
      // Read the store before anything is sent.
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open("callscribe-library-outbox");
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const items = await new Promise<any[]>((res) => {
        const r = db.transaction("items").objectStore("items").getAll();
        r.onsuccess = () => res(r.result);
      });
      db.close();
      return items.map((i) => ({ transcriptId: i.transcriptId, kind: i.kind, attempts: i.attempts }));
    });
    expect(afterReload).toHaveLength(1);
    expect(afterReload[0]).toMatchObject({ transcriptId: "outbox-down-1", kind: "transcript" });
    expect(afterReload[0].attempts).toBeGreaterThanOrEqual(3);

    // Back online: a fresh outbox (as the next page opens it) sends it.
    await install("ok");
    await until("stored", async () => (await snapshot()).pending === 0);
    expect(await snapshot()).toMatchObject({ pending: 0, rejected: [], lastStored: "outbox-down-1" });
    expect(await storedCount("outbox-down-1")).toBe(1);
  });

  it("retries a 5xx until the server stores it", async () => {
    await setMode("503");
    await page.evaluate(() => ((window as any).calls = {}));
    await page.evaluate((t) => (window as any).outbox.addTranscript(t), transcript("outbox-503-1", "please refund my order"));
    expect((await snapshot()).lastError).toBe("the server answered 503: fake outage");
    await until("retries", async () => (await page.evaluate(() => (window as any).calls["/v1/transcripts"] ?? 0)) >= 3);
    expect((await snapshot()).pending).toBe(1);
    await setMode("ok");
    await until("stored", async () => (await snapshot()).pending === 0);
    expect(await storedCount("outbox-503-1")).toBe(1);
  });

  it("a retry after a lost answer adds no second copy (the server is first-wins on transcriptId)", async () => {
    await setMode("lose-answer");
    await page.evaluate(() => ((window as any).calls = {}));
    await page.evaluate((t) => (window as any).outbox.addTranscript(t), transcript("outbox-lost-1", "the invoice was wrong twice"));
    // The server has it, the page does not know.
    expect(await storedCount("outbox-lost-1")).toBe(1);
    expect((await snapshot()).pending).toBe(1);
    await until("a retry", async () => (await page.evaluate(() => (window as any).calls["/v1/transcripts"] ?? 0)) >= 2);
    await setMode("ok");
    await until("stored", async () => (await snapshot()).pending === 0);
    expect(await storedCount("outbox-lost-1")).toBe(1);
    // Queuing the same transcript again sends nothing.
    const before = await page.evaluate(() => (window as any).calls["/v1/transcripts"]);
    await page.evaluate((t) => (window as any).outbox.addTranscript(t), transcript("outbox-lost-1", "the invoice was wrong twice"));
    expect(await page.evaluate(() => (window as any).calls["/v1/transcripts"])).toBe(before);
    expect(await storedCount("outbox-lost-1")).toBe(1);
  });

  it("shows a 400 with the server's reason and does not retry it", async () => {
    await setMode("ok");
    await page.evaluate(() => ((window as any).calls = {}));
    const bad = { ...transcript("outbox-bad-1", "hello"), segments: [{ speaker: "A", start: 0, end: 1, text: "hello", confidence: 7 }] };
    await page.evaluate((t) => (window as any).outbox.addTranscript(t), bad);
    await new Promise((r) => setTimeout(r, 800)); // several backoff periods
    expect(await page.evaluate(() => (window as any).calls["/v1/transcripts"])).toBe(1);
    const snap = await snapshot();
    expect(snap.pending).toBe(0);
    expect(snap.rejected).toHaveLength(1);
    expect(snap.rejected[0].transcriptId).toBe("outbox-bad-1");
    expect(snap.rejected[0].reason).toMatch(/^the server answered 400: .*\/segments\/0\/confidence must be <= 1/);
    expect(await storedCount("outbox-bad-1")).toBe(0);
  });

  it("records a CRM's transactionResult in the transcript's save history, after the transcript, across an outage", async () => {
    await setMode("down");
    const t = transcript("outbox-save-1", "move my appointment to friday");
    const result = { type: "fdc3.transactionResult", status: "Created", context: { type: "fdc3.transcript", id: { transcriptId: "outbox-save-1", crmRecordId: "acme-42" } } };
    await page.evaluate(({ t, result }) => {
      const o = (window as any).outbox;
      void o.addTranscript(t);
      return o.addSave(t, "acme-crm", result);
    }, { t, result });
    expect((await snapshot()).pending).toBe(2);
    await setMode("ok");
    await until("sent", async () => (await snapshot()).pending === 0);
    const { rows } = await library.db.query<{ id: string }>("SELECT id FROM transcripts WHERE transcript_id = 'outbox-save-1'");
    expect(rows).toHaveLength(1);
    const entry = (await (await fetch(`${origin}/v1/transcripts/${rows[0].id}`, { headers: { authorization: `Token ${API_KEY}` } })).json()) as { saves: { appId: string; status: string; recordId?: string }[] };
    expect(entry.saves).toHaveLength(1);
    expect(entry.saves[0]).toMatchObject({ appId: "acme-crm", status: "Created", recordId: "acme-42" });
  });
});
