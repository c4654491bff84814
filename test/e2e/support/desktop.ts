/**
 * Driving the browser desktop agent page in end-to-end tests: launch apps from its launcher,
 * find their frames, wait for text. Uses only what a user sees plus the FDC3 API the apps
 * themselves hold (`window.fdc3`, set by `getAgent()`).
 */
import type { Frame, FrameLocator, Locator, Page } from "playwright-core";

/** Poll `read` until `accept` says yes; the error names what was awaited and the last value. */
export async function waitFor<T>(what: string, read: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Text of a locator once it matches `accept` (default: non-empty). */
export function waitForText(what: string, locator: Locator, accept: (text: string) => boolean = (t) => t.trim().length > 0, timeoutMs = 20_000): Promise<string> {
  return waitFor(what, async () => (await locator.first().textContent({ timeout: 1_000 })) ?? "", accept, timeoutMs);
}

/** An app window on the desktop: its frame (for evaluate) and frame locator (for the UI). */
export interface AppHandle {
  appId: string;
  instanceId: string;
  frame: Frame;
  ui: FrameLocator;
  /** The window's chrome in the host page (state, channel selector). */
  chrome: Locator;
}

/** The `nth` window of `appId` on the desktop (0 = first opened), once its frame exists. */
export async function appWindow(page: Page, appId: string, nth = 0, timeoutMs = 20_000): Promise<AppHandle> {
  const iframe = page.locator(`iframe[data-app-id="${appId}"]`).nth(nth);
  await iframe.waitFor({ state: "attached", timeout: timeoutMs });
  const instanceId = (await iframe.getAttribute("data-instance-id"))!;
  const frame = await waitFor(`frame of ${appId}`, async () => (await iframe.elementHandle())?.contentFrame() ?? null, (f) => f !== null, timeoutMs);
  return {
    appId,
    instanceId,
    frame: frame!,
    ui: page.frameLocator(`iframe[data-instance-id="${instanceId}"]`),
    chrome: page.locator(`[data-testid="app-window"][data-instance-id="${instanceId}"]`),
  };
}

/** Click the launcher button for `appId` and wait until the new window's app is connected. */
export async function launchApp(page: Page, appId: string): Promise<AppHandle> {
  const before = await page.locator(`iframe[data-app-id="${appId}"]`).count();
  await page.getByTestId(`launch-${appId}`).click();
  const app = await appWindow(page, appId, before);
  await waitForConnected(app);
  return app;
}

/** Wait until the host shows the window connected and the app reports its FDC3 connection. */
export async function waitForConnected(app: AppHandle, timeoutMs = 20_000): Promise<void> {
  await waitForText(`${app.appId} connected (host side)`, app.chrome.getByTestId("app-state"), (t) => t === "connected", timeoutMs);
  await waitForText(`${app.appId} connected (app side)`, app.ui.getByTestId("fdc3-status"), (t) => t.startsWith("connected"), timeoutMs);
}

/** The desktop agent's intent resolver dialog and its options' labels. */
export async function resolverOptions(page: Page, timeoutMs = 20_000): Promise<{ labels: string[]; appIds: string[] }> {
  const dialog = page.getByTestId("intent-resolver");
  await dialog.waitFor({ state: "visible", timeout: timeoutMs });
  const options = dialog.getByTestId("resolver-option");
  const labels = (await options.allTextContents()).map((t) => t.trim());
  const appIds = await options.evaluateAll((els) => els.map((e) => e.getAttribute("data-app-id") ?? ""));
  return { labels, appIds };
}

/** Collect page and frame console errors, to print when a test fails. */
export function collectConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") lines.push(`[${m.type()}] ${m.text()}`);
  });
  page.on("pageerror", (e) => lines.push(`[pageerror] ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) lines.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`);
  });
  return lines;
}

/**
 * Navigate an app's frame (reload when `url` is omitted) and wait for the new document. The
 * navigation is scheduled from inside the frame so `evaluate` returns before the old document goes.
 */
export async function navigateFrame(app: AppHandle, url?: string): Promise<void> {
  await app.frame.evaluate((u) => {
    (window as unknown as { __oldDocument: boolean }).__oldDocument = true;
    setTimeout(() => (u ? window.location.assign(u) : window.location.reload()), 0);
  }, url ?? null);
  await waitFor(
    `${app.appId} frame to load ${url ?? "again"}`,
    () => app.frame.evaluate(() => document.readyState === "complete" && !(window as unknown as { __oldDocument?: boolean }).__oldDocument),
    (fresh) => fresh,
  );
}

/** Wait until the (new) document in the app's frame holds a connected `window.fdc3`. */
export function waitForFdc3(app: AppHandle): Promise<unknown> {
  return waitFor(`window.fdc3 in ${app.appId}`, () => app.frame.evaluate(() => typeof (window as unknown as { fdc3?: unknown }).fdc3 === "object"), (ok) => ok);
}

/**
 * The "Save to…" chooser of the transcriber or the Library (issue 10 §2: shown when SaveTranscript CRMs and
 * standard-only CreateInteraction CRMs are both in the desktop): its options' labels and targets.
 */
export async function saveChooserOptions(transcriber: AppHandle, timeoutMs = 20_000): Promise<{ labels: string[]; targets: string[] }> {
  const dialog = transcriber.ui.getByTestId("save-chooser");
  await dialog.waitFor({ state: "visible", timeout: timeoutMs });
  const options = dialog.getByTestId("save-target");
  const labels = (await options.allTextContents()).map((t) => t.trim());
  const targets = await options.evaluateAll((els) => els.map((e) => `${e.getAttribute("data-app-id")} ${e.getAttribute("data-intent")}`));
  return { labels, targets };
}

/** Click the chooser's option with this label (e.g. `Notes CRM (new window) · Save Transcript`). */
export async function chooseSaveTarget(transcriber: AppHandle, label: string, timeoutMs = 20_000): Promise<void> {
  const dialog = transcriber.ui.getByTestId("save-chooser");
  await dialog.waitFor({ state: "visible", timeout: timeoutMs });
  await dialog.getByRole("button", { name: label, exact: true }).click();
  await dialog.waitFor({ state: "detached", timeout: timeoutMs });
}

/**
 * Click the launcher button for `appId` and wait until the host shows the window connected (for
 * apps without the demo apps' `fdc3-status`, e.g. the transcriber; wait for its listeners separately).
 */
export async function launchAppWindow(page: Page, appId: string, timeoutMs = 20_000): Promise<AppHandle> {
  const before = await page.locator(`iframe[data-app-id="${appId}"]`).count();
  await page.getByTestId(`launch-${appId}`).click();
  const app = await appWindow(page, appId, before, timeoutMs);
  await waitForText(`${appId} connected (host side)`, app.chrome.getByTestId("app-state"), (t) => t === "connected", timeoutMs);
  return app;
}
