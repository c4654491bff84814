/**
 * Playback in the Callscribe Library (issue 9 §3, §6 "playback highlights words as the audio
 * plays") in real Chromium, against the real server wired as `src/server/main.ts` wires it: the
 * recorded-call pipeline (intake, pg-boss on embedded PGlite, the real PocketSphinx engine, audio
 * encrypted at rest) and the transcript library with the calls table.
 *
 *   a signed recording-ready webhook for a real corpus recording → the pipeline transcribes it →
 *   the library takes the finished call → the desktop (its secret link) → the Library lists it →
 *   open it → the player loads the audio (GET /v1/transcripts/:id/audio with a library token) →
 *   play → the highlighted word follows the audio clock → click a later word → the audio jumps
 *   there and that word is highlighted → retention deletes the audio → "Audio no longer retained".
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { buildServer } from "../../src/server/app";
import { loadConfig, prepareDataDir } from "../../src/server/config";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { intakePlugin, RECORDING_READY_PATH } from "../../src/server/pipeline/intake";
import { startPipeline, type Pipeline } from "../../src/server/pipeline/pipeline";
import { deleteExpiredAudio } from "../../src/server/pipeline/retention";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { generateWebhookSecret, signWebhook } from "../../src/server/webhooks/signing";
import { startRecordingsServer, type RecordingsServer } from "../support/recordings-server";
import { launchChromium } from "./support/chromium";
import { collectConsole, launchApp, waitFor, waitForText, type AppHandle } from "./support/desktop";
import { CORPUS_DIR, REPO_ROOT, requireFile } from "./support/paths";

/** Real read speech (Debian pocketsphinx-testdata, LibriVox, public domain), 7.1 s, 16 kHz mono PCM16 WAV. */
const RECORDING = "debian_pocketsphinx/librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
const API_KEY = "e2e-playback-key-0123456789";
const DESKTOP_SECRET = "e2e-playback-desktop-secret-0123456789";
const auth = { authorization: `Token ${API_KEY}` };
const shots = resolve(REPO_ROOT, "test-results");

let dataDir: string;
let secret: string;
let engine: PocketSphinxEngine;
let recordings: RecordingsServer;
let pipeline: Pipeline;
let service: LibraryService;
let app: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "callscribe-e2e-playback-"));
  secret = generateWebhookSecret();
  recordings = await startRecordingsServer();
  await recordings.addFile("recorded-call.wav", readFileSync(requireFile(resolve(CORPUS_DIR, RECORDING), "the speech corpus lives in ../shared/corpus (or set CALLSCRIBE_CORPUS_DIR)")));
  const config = prepareDataDir(
    loadConfig(
      { CALLSCRIBE_WEBHOOK_SECRET: secret, CALLSCRIBE_ALLOWED_HOSTS: recordings.host, CALLSCRIBE_DATA_DIR: dataDir, CALLSCRIBE_ENCRYPTION_KEY: randomBytes(32).toString("hex") },
      { role: "server" },
    ).pipeline,
    { warn: () => undefined },
  );
  engine = createPocketSphinxEngine();
  app = buildServer({ engine, staticDir: inject("e2eDistDir"), apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  pipeline = await startPipeline({ config, role: "server", engine, logger: app.log, queueOptions: { pollIntervalSec: 0.5, retryDelaySec: 1 } });
  // As src/server/main.ts: intake, calls API, and the library over the same calls table.
  app.register(intakePlugin, { webhookSecret: config.webhookSecret, enqueue: (r, id) => pipeline.enqueueRecording(r, id) });
  app.register(callsApiPlugin, { getCall: (id) => pipeline.calls.getCall(id), listCalls: (q) => pipeline.calls.listCalls(q) });
  service = startLibrary({ db: pipeline.db, encryptionKey: config.encryptionKey, calls: pipeline.calls, syncEverySec: 3600 });
  service.register(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await engine.ready();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  consoleLines = collectConsole(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  service?.stop();
  await pipeline?.stop(5_000);
  await engine?.close();
  await recordings?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.slice(-80).join("\n")}`);
});

/** What the page shows at one moment: the audio clock, the time the view last drew, and the highlighted word(s). */
interface Sample {
  t: number;
  /** The playback time the view rendered with (`data-playback-time`); NaN before playback. */
  drawn: number;
  paused: boolean;
  current: { start: number; end: number; word: string }[];
}

const sample = (lib: AppHandle): Promise<Sample> =>
  lib.frame.evaluate(() => {
    const audio = document.querySelector<HTMLAudioElement>("audio[data-testid=call-audio]")!;
    const current = [...document.querySelectorAll<HTMLElement>('.word[aria-current="true"]')].map((e) => ({ start: Number(e.dataset.start), end: Number(e.dataset.end), word: e.textContent ?? "", cls: e.className }));
    const drawn = Number(document.querySelector<HTMLElement>("article.lib-transcript")?.dataset.playbackTime ?? Number.NaN);
    return { t: audio.currentTime, drawn, paused: audio.paused, current: current.filter((c) => c.cls.split(" ").includes("current")).map(({ start, end, word }) => ({ start, end, word })) };
  });

describe("Library playback, end to end", () => {
  it("playback highlights words as the audio plays, and clicking a word seeks there", async () => {
    const callId = `play-e2e-${randomUUID()}`;
    const body = JSON.stringify({ call_id: callId, recording_url: recordings.fileUrl("recorded-call.wav"), participants: [{ name: "Dana Agent", role: "agent" }, { name: "Jane Doe", role: "customer" }], direction: "inbound" });
    const posted = await fetch(`${origin}${RECORDING_READY_PATH}`, { method: "POST", headers: { ...signWebhook(secret, `msg_${randomUUID()}`, new Date(), body), "content-type": "application/json" }, body });
    expect(posted.status, await posted.clone().text()).toBe(202);
    const call = await waitFor(
      `call ${callId} finished`,
      async () => (await (await fetch(`${origin}/v1/calls/${callId}`, { headers: auth })).json()) as { status: string; stages: unknown },
      (c) => c.status === "done" || c.status === "failed",
      120_000,
      500,
    );
    expect(call.status, JSON.stringify(call.stages)).toBe("done");
    await service.sync();
    const hits = ((await (await fetch(`${origin}/v1/transcripts?source=recording`, { headers: auth })).json()) as { hits: { id: string; callId?: string }[] }).hits;
    const id = hits.find((h) => h.callId === callId)!.id;
    const entry = (await (await fetch(`${origin}/v1/transcripts/${id}`, { headers: auth })).json()) as { audio: { status: string }; transcript: { segments: { words?: { word: string; start: number; end: number }[] }[] } };
    expect(entry.audio.status).toBe("available");
    const words = entry.transcript.segments.flatMap((s) => s.words ?? []);
    // Real speech through a real recognizer: enough words, with times, to follow.
    expect(words.length).toBeGreaterThanOrEqual(8);

    // The desktop, the Library, the recorded call.
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    await waitFor("desktop link's secret removed", async () => page.url(), (u) => !u.includes("desktop="), 10_000);
    const lib = await launchApp(page, "callscribe-library");
    const hit = lib.ui.locator(`[data-testid="hit"][data-id="${id}"]`);
    await hit.waitFor({ state: "visible", timeout: 20_000 });
    await hit.locator(".hit-open").click();
    const view = lib.ui.getByRole("article", { name: "Transcript" });
    await view.waitFor({ state: "visible", timeout: 10_000 });
    const audio = lib.ui.getByTestId("call-audio");
    await audio.waitFor({ state: "visible", timeout: 20_000 });
    // The whole recording is loaded (a Blob URL of the decrypted audio) before playing.
    const duration = await waitFor("audio loaded", () => lib.frame.evaluate(() => document.querySelector<HTMLAudioElement>("audio[data-testid=call-audio]")!.duration), (d) => Number.isFinite(d) && d > 0, 20_000);
    expect(duration).toBeGreaterThan(6);
    expect(duration).toBeLessThan(8);
    expect(await view.locator('.word[aria-current="true"]').count()).toBe(0);

    // Press play on the player's own control (left end of Chromium's native audio controls).
    const box = (await audio.boundingBox())!;
    await audio.click({ position: { x: 26, y: box.height / 2 } });
    const started = await waitFor("audio playing", () => sample(lib), (s) => !s.paused && s.t > 0, 3_000, 50).catch(() => undefined);
    if (!started) {
      // The native control's layout is Chromium's, not ours: if the click missed its play button, start it as the button does.
      console.warn("the click on the native play control did not start playback; calling play()");
      await lib.frame.evaluate(() => document.querySelector<HTMLAudioElement>("audio[data-testid=call-audio]")!.play());
      await waitFor("audio playing", () => sample(lib), (s) => !s.paused && s.t > 0, 5_000, 50);
    }

    // The highlighted word follows the audio clock: sampled for 3 s of playback.
    const samples: Sample[] = [];
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      samples.push(await sample(lib));
      await new Promise((r) => setTimeout(r, 40));
    }
    const highlighted = samples.filter((s) => s.current.length > 0);
    for (const s of samples) expect(s.current.length, JSON.stringify(s)).toBeLessThanOrEqual(1);
    // Each highlighted word is the one being said at the time the view drew (exactly), and the view
    // keeps up with the audio clock (a loaded 2-core machine can delay frames: 0.3 s allowed).
    for (const s of samples) {
      expect(Math.abs(s.t - s.drawn), JSON.stringify(s)).toBeLessThan(0.3);
      const said = words.filter((w) => w.start <= s.drawn && s.drawn < w.end);
      if (said.length === 0) expect(s.current, JSON.stringify(s)).toEqual([]);
      else expect(s.current[0]?.start, JSON.stringify(s)).toBe(said.at(-1)!.start);
    }
    const seen = [...new Set(highlighted.map((s) => s.current[0].start))];
    expect(seen.length, JSON.stringify(highlighted.map((s) => [s.t.toFixed(2), s.current[0].word]))).toBeGreaterThanOrEqual(3);
    // In the order of the audio.
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(samples.at(-1)!.t - samples[0].t).toBeGreaterThan(2);
    await page.screenshot({ path: resolve(shots, "library-playback.png") });

    // Click a word well ahead of the clock (one long enough to catch highlighted): the audio jumps there.
    await lib.frame.evaluate(() => document.querySelector<HTMLAudioElement>("audio[data-testid=call-audio]")!.pause());
    const before = (await sample(lib)).t;
    const later = words.filter((w) => w.start > before + 1 && w.end - w.start >= 0.25 && w.start < duration - 0.5);
    expect(later.length, `words after ${before}: ${JSON.stringify(words)}`).toBeGreaterThan(0);
    const target = later[Math.floor(later.length / 2)];
    const targetSpan = view.locator(`.word[data-start="${target.start}"]`).first();
    await targetSpan.click();
    const after = await waitFor("seek to the clicked word", () => sample(lib), (s) => s.current[0]?.start === target.start && !s.paused, 5_000, 15);
    expect(after.t).toBeGreaterThanOrEqual(target.start - 0.01);
    expect(after.t).toBeLessThan(target.end + 0.1);
    expect(after.t - before).toBeGreaterThan(1);
    expect(await targetSpan.getAttribute("aria-current")).toBe("true");
    expect(await targetSpan.evaluate((e) => e.classList.contains("current"))).toBe(true);
    // It keeps playing from there: later words follow.
    await waitFor("a word after the clicked one", () => sample(lib), (s) => (s.current[0]?.start ?? -1) > target.start || s.t > target.end + 0.5, 5_000, 40);
    // For the screenshot: click the word again and hold the audio there at once (a word lasts a
    // fraction of a second); the pointer rests on it as after a user's click.
    await targetSpan.hover();
    await targetSpan.evaluate((span) => {
      (span as HTMLElement).click();
      document.querySelector<HTMLAudioElement>("audio[data-testid=call-audio]")!.pause();
    });
    await waitFor("view drawn at the held position", () => sample(lib), (s) => s.paused && Math.abs(s.drawn - s.t) < 0.01, 3_000, 20);
    const held = await sample(lib);
    expect(held.current[0]?.start, JSON.stringify(held)).toBe(target.start);
    // Visibly highlighted (the pointer still rests on it: hover must not hide the highlight).
    expect(await targetSpan.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(255, 229, 138)");
    await page.screenshot({ path: resolve(shots, "library-playback-seek.png") });

    // Retention deletes the audio: the transcript stays, its player says the audio is gone.
    const deleted = await deleteExpiredAudio(pipeline.calls, 0, new Date(Date.now() + 1000));
    expect(deleted).toContain(callId);
    expect((await fetch(`${origin}/v1/transcripts/${id}/audio`, { headers: auth })).status).toBe(410);
    await view.getByRole("button", { name: "← Back to results" }).click();
    await hit.locator(".hit-open").click();
    await waitForText("audio gone notice", view.getByTestId("audio-gone"), (t) => t.startsWith("Audio no longer retained"));
    expect(await view.locator("audio").count()).toBe(0);
    expect(await view.locator(".word").count()).toBe(words.length);
    await page.screenshot({ path: resolve(shots, "library-playback-gone.png") });
  });
});
