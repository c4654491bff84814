/**
 * The transcriber inside "io.Connect Desktop" (issue 10 §1), in real Chromium against the real
 * server and PocketSphinx. io.Connect Desktop cannot run here, so the page gets what io.Connect
 * puts in its windows: `window.iodesktop` (with `autoInjected`) and an injected `window.IODesktop`,
 * here `FakeIODesktop` (test/transcriber/fake-iodesktop.ts). The transcriber's bundle loads the
 * real `@interopio/desktop` module, which hands back the injected factory, as in io.Connect.
 *
 * Checked: IODesktop() is started with the FDC3 options; another app's invoke of
 * Callscribe.StartTranscription with a bad context is refused with the reason, a good one starts
 * a session on the (fake-device) microphone and the window title shows the live call;
 * Callscribe.StopTranscription returns the final transcript and the title comes back; there is no
 * window.fdc3 (the fake injects none), so SaveTranscript fails and a "not saved" notification is
 * raised whose action brings the transcriber forward.
 *
 * Screenshot: test-results/ioconnect-transcriber.png (git-ignored).
 */
import { mkdirSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { validateContext, type Transcript } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { fakeIODesktopInitScript, type FakeIODesktop } from "../transcriber/fake-iodesktop";
import { launchChromium } from "./support/chromium";
import { collectConsole, waitFor, waitForText } from "./support/desktop";
import { buildMicWav } from "./support/mic-wav";
import { REPO_ROOT } from "./support/paths";

const SHOTS = resolve(REPO_ROOT, "test-results");

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
let browser: Browser;
let mic: { path: string; dir: string; seconds: number };
const consoleLines: string[][] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mic = buildMicWav();
  engine = createPocketSphinxEngine();
  server = buildServer({ engine, staticDir: inject("e2eDistDir") });
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
  browser = await launchChromium({ micWav: mic.path });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await engine?.close();
  if (mic) rmSync(mic.dir, { recursive: true, force: true });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.flat().slice(-80).join("\n")}`);
});

type FakeWindow = Window & { fakeIODesktop: FakeIODesktop };

/** Another io.Connect app's `io.interop.invoke`: the returned value, or the rejection io.Connect gives. */
function invoke(page: Page, method: string, args: object): Promise<{ returned?: unknown; error?: { message: string; called_with: unknown } }> {
  return page.evaluate(
    ([m, a]) =>
      (window as unknown as FakeWindow).fakeIODesktop.invoke(m, a).then(
        (r) => ({ returned: r.returned }),
        (e: { message: string; called_with: unknown }) => ({ error: { message: e.message, called_with: e.called_with } }),
      ),
    [method, args] as const,
  );
}

const fake = <T,>(page: Page, read: (f: FakeIODesktop) => T): Promise<T> => page.evaluate(`(${read.toString()})(window.fakeIODesktop)`) as Promise<T>;

describe("the transcriber in io.Connect Desktop (fake platform, real @interopio/desktop module)", () => {
  it("starts IODesktop() for FDC3, takes start/stop as interop methods, titles the live call and notifies about the save", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    consoleLines.push(collectConsole(page));
    await page.addInitScript(fakeIODesktopInitScript("Callscribe Transcriber"));
    const response = await page.goto(`${origin}/transcriber/`);
    expect(response?.ok()).toBe(true);

    const desktop = await waitForText("the desktop port", page.getByTestId("desktop"), (t) => t.startsWith("io.Connect Desktop"));
    expect(desktop).toBe("io.Connect Desktop: notifications, interop methods Callscribe.StartTranscription / Callscribe.StopTranscription, window title");
    expect(await page.getByTestId("desktop").getAttribute("data-desktop")).toBe("io.Connect Desktop");
    // The real @interopio/desktop module handed the page's injected IODesktop to the transcriber, which started it once for FDC3.
    expect(await fake(page, (f) => f.configs)).toEqual([{ appManager: "full", channels: true, intents: { enableIntentsResolverUI: true } }]);
    expect((await fake(page, (f) => [...f.methods.keys()])).sort()).toEqual(["Callscribe.OpenTranscript", "Callscribe.StartTranscription", "Callscribe.StopTranscription"]);
    // The fake injects no window.fdc3: the FDC3 route says so (and the io.Connect route still works).
    await waitForText("the FDC3 route's answer", page.getByTestId("desktop-agent"), (t) => t.startsWith("no desktop agent"), 20_000);
    expect(await page.getByTestId("desktop-agent").textContent()).toMatch(/io\.Connect Desktop detected but it injected no window\.fdc3/);

    // A softphone without FDC3 sends a call with no id: refused with the schema's reason.
    const bad = await invoke(page, "Callscribe.StartTranscription", { type: "fdc3.call", id: {}, state: "connected" });
    expect(bad.error?.message).toBe("StartTranscription refused: invalid fdc3.call: /id must have required property 'callId'");
    await waitForText("the refusal shown", page.getByTestId("notices"), (t) => t.includes("must have required property 'callId'"));
    expect(await page.getByTestId("status").textContent()).toBe("idle");

    // A good call context: a session starts (no call stream on the server: the microphone) and the title shows the call.
    const jane = { type: "fdc3.contact", name: "Jane Doe", id: { email: "jane@example.com" } };
    const call = { type: "fdc3.call", id: { callId: "io-call-1" }, state: "connected", direction: "inbound", participants: { type: "fdc3.contactList", contacts: [jane] } };
    const started = await invoke(page, "Callscribe.StartTranscription", call);
    expect(started).toEqual({ returned: { status: "listening", source: "call", callId: "io-call-1" } });
    expect(await page.getByTestId("status").textContent()).toBe("listening");
    expect(await fake(page, (f) => f.title)).toBe("● Live call with Jane Doe — Callscribe Transcriber");

    await waitForText("words on screen", page.getByTestId("final-transcript"), (t) => t.trim().split(/\s+/).length >= 6, 60_000);
    await page.screenshot({ path: resolve(SHOTS, "ioconnect-transcriber-live.png") });
    await page.waitForTimeout(1_500); // the recording's last words
    const stopped = await invoke(page, "Callscribe.StopTranscription", { type: "fdc3.call", id: { callId: "io-call-1" }, state: "ended" });
    const transcript = stopped.returned as Transcript;
    expect(validateContext(transcript).valid).toBe(true);
    expect(transcript).toMatchObject({ type: "fdc3.transcript", source: "call", id: { callId: "io-call-1" } });
    expect(transcript.text.split(/\s+/).length).toBeGreaterThanOrEqual(6);
    expect(await fake(page, (f) => f.title)).toBe("Callscribe Transcriber");

    // No window.fdc3: SaveTranscript cannot be raised; the failure is a notification with an action to open the transcript.
    const notifications = await waitFor("the save notification", () => fake(page, (f) => f.notificationsRaised), (n) => n.length > 0, 30_000);
    expect(notifications[0]).toMatchObject({
      title: "Transcript not saved",
      severity: "High",
      actions: [{ action: "open-transcript", title: "Open transcript", interop: { method: "Callscribe.OpenTranscript", arguments: { transcriptId: transcript.id.transcriptId } } }],
    });
    expect(notifications[0]!.body).toMatch(/^Call io-call-1 with Jane Doe: no desktop agent to raise SaveTranscript: /);
    await waitForText("the save failure on screen", page.getByTestId("save-result"), (t) => t.startsWith("error: no desktop agent to raise SaveTranscript"));
    expect(await page.getByTestId("save-result").getAttribute("data-status")).toBe("error");

    const opened = await page.evaluate(() => (window as unknown as FakeWindow).fakeIODesktop.clickAction(0, "open-transcript"));
    expect(opened).toEqual({ transcriptId: transcript.id.transcriptId, shown: true });
    expect(await fake(page, (f) => f.focusCount)).toBe(1);
    await page.screenshot({ path: resolve(SHOTS, "ioconnect-transcriber.png"), fullPage: true });
    await page.close();
  });
});
