/**
 * The browser desktop agent with the demo softphone and CRMs, in real Chromium: WCP connection
 * and identity checks, user channels (host-side selector), the host-side intent resolver,
 * SaveTranscript to a CRM (stored in IndexedDB, kept across reloads) and the refusal of an
 * invalid transcript. No speech here: see flow.test.ts for the whole call-to-CRM flow.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, inject, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import transcriptSchema from "../../contexts/transcript.schema.json" with { type: "json" };
import { validateContext } from "../../src/contracts";
import { launchChromium } from "./support/chromium";
import { appWindow, collectConsole, launchApp, navigateFrame, resolverOptions, waitFor, waitForFdc3, waitForText, type AppHandle } from "./support/desktop";
import { startStaticServer, type StaticServer } from "./support/static-server";

let server: StaticServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let consoleLines: string[];

beforeAll(async () => {
  server = await startStaticServer(inject("e2eDistDir"));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  context = await browser.newContext();
  page = await context.newPage();
  consoleLines = collectConsole(page);
  await page.goto(`${server.origin}/desktop-agent/`);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === "fail" || process.env.CALLSCRIBE_E2E_CONSOLE) console.log(`browser console:\n${consoleLines.join("\n")}`);
  await context.close();
});

/** A valid fdc3.transcript (the schema's own example) with a fresh id. */
function sampleTranscript(text = "he was not an ill disposed young man") {
  const example = structuredClone(transcriptSchema.examples[0]) as Record<string, unknown> & { id: Record<string, string> };
  return { ...example, id: { ...example.id, transcriptId: randomUUID() }, text };
}

/** Raise an intent from inside an app's frame with its own `window.fdc3`; settle later with {@link intentOutcome}. */
async function raiseFrom(app: AppHandle, intent: string, ctx: unknown, target?: { appId: string; instanceId?: string }): Promise<string> {
  const key = randomUUID();
  await app.frame.evaluate(
    ({ key, intent, ctx, target }) => {
      const w = window as unknown as { fdc3: any; __raised: Record<string, Promise<unknown>> };
      w.__raised ??= {};
      w.__raised[key] = w.fdc3
        .raiseIntent(intent, ctx, target)
        .then(async (res: any) => ({ ok: true, source: res.source, result: await res.getResult() }))
        .catch((e: unknown) => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    },
    { key, intent, ctx, target },
  );
  return key;
}

type Outcome = { ok: true; source: { appId: string; instanceId?: string }; result: any } | { ok: false; error: string };

function intentOutcome(app: AppHandle, key: string): Promise<Outcome> {
  return app.frame.evaluate((k) => (window as unknown as { __raised: Record<string, Promise<Outcome>> }).__raised[k]!, key);
}

/** Listen on the app's current user channel from inside its frame; read with {@link received}. */
async function listenInFrame(app: AppHandle, contextType: string | null): Promise<void> {
  await app.frame.evaluate(async (type) => {
    const w = window as unknown as { fdc3: any; __received: unknown[] };
    w.__received = [];
    await w.fdc3.addContextListener(type, (c: unknown) => w.__received.push(c));
  }, contextType);
}

function received(app: AppHandle): Promise<Array<{ type: string; [k: string]: any }>> {
  return app.frame.evaluate(() => (window as unknown as { __received: any[] }).__received);
}

describe("browser desktop agent", () => {
  it("launches apps from the App Directory, validates their identity and joins them to the desktop channel", async () => {
    const launcher = await page.locator('nav[aria-label="Launcher"] button').allTextContents();
    expect(launcher).toEqual(expect.arrayContaining(["Callscribe Transcriber", "Demo Softphone", "Acme CRM", "Notes CRM"]));

    const phone = await launchApp(page, "softphone");
    const crm = await launchApp(page, "notes-crm");
    const info = await crm.frame.evaluate(async () => (await (window as any).fdc3.getInfo()).appMetadata);
    expect(info).toMatchObject({ appId: "notes-crm", instanceId: crm.instanceId });
    const phoneInfo = await phone.frame.evaluate(async () => (await (window as any).fdc3.getInfo()).appMetadata);
    expect(phoneInfo).toMatchObject({ appId: "softphone", instanceId: phone.instanceId });

    const desktopChannel = await page.getByTestId("desktop-channel").inputValue();
    expect(desktopChannel).toBe("fdc3.channel.1");
    for (const app of [phone, crm]) {
      const current = await waitFor(
        `${app.appId} on the desktop channel`,
        () => app.frame.evaluate(async () => (await (window as any).fdc3.getCurrentChannel())?.id ?? null),
        (id) => id === desktopChannel,
      );
      expect(current).toBe(desktopChannel);
      expect(await app.chrome.getByTestId("app-channel").inputValue()).toBe(desktopChannel);
    }
  });

  it("refuses an app whose URL is not the App Directory URL of its window", async () => {
    const crm = await launchApp(page, "notes-crm");
    // The page in Notes CRM's window navigates to the softphone: same origin, wrong app.
    await navigateFrame(crm, "/demo/softphone/");
    await waitForText("identity refused in the host", crm.chrome.getByTestId("app-state"), (t) => t === "refused");
    const reason = await crm.chrome.getByRole("alert").textContent();
    expect(reason).toContain("/demo/softphone/");
    expect(reason).toContain("notes-crm");
    const status = await waitForText("softphone reports no agent", crm.ui.getByTestId("fdc3-status"), (t) => t !== "connecting");
    expect(status).toMatch(/no FDC3 desktop agent/);
  });

  it("broadcasts the softphone's fdc3.contact and fdc3.call states on the user channel, and follows the host's channel selector", async () => {
    const phone = await launchApp(page, "softphone");
    const crm = await launchApp(page, "acme-crm");
    await listenInFrame(crm, null);

    await phone.ui.getByTestId("contact-select").selectOption({ label: "Ravi Kumar (+14155550142)" });
    await phone.ui.getByTestId("dial").click();
    await waitForText("call connected", phone.ui.getByTestId("call-state"), (t) => t === "connected");
    await phone.ui.getByTestId("hangup").click();
    await waitForText("call ended", phone.ui.getByTestId("call-state"), (t) => t === "ended");

    const got = await waitFor("ended call at the CRM", () => received(crm), (r) => r.some((c) => c.type === "fdc3.call" && c.state === "ended"));
    for (const c of got) expect(validateContext(c)).toMatchObject({ valid: true });
    expect(got[0]).toMatchObject({ type: "fdc3.contact", name: "Ravi Kumar", id: { email: "ravi.kumar@example.com" } });
    const calls = got.filter((c) => c.type === "fdc3.call");
    expect(calls.map((c) => c.state)).toEqual(["ringing", "connected", "ended"]);
    expect(new Set(calls.map((c) => c.id.callId)).size).toBe(1);
    expect(calls[0].participants.contacts[0].name).toBe("Ravi Kumar");
    expect(calls[2].endTime).toBeDefined();

    // Move the CRM to another channel in the host: the next call must not reach it.
    await crm.chrome.getByTestId("app-channel").selectOption("fdc3.channel.4");
    await waitFor("CRM on Green", () => crm.frame.evaluate(async () => (await (window as any).fdc3.getCurrentChannel())?.id), (id) => id === "fdc3.channel.4");
    const countBefore = (await received(crm)).length;
    await phone.ui.getByTestId("dial").click();
    await waitForText("second call connected", phone.ui.getByTestId("call-state"), (t) => t === "connected");
    await phone.ui.getByTestId("hangup").click();
    await waitForText("second call ended", phone.ui.getByTestId("call-state"), (t) => t === "ended");
    // Same channel as the CRM's listener again: a broadcast there does arrive, proving the listener is alive.
    await phone.chrome.getByTestId("app-channel").selectOption("fdc3.channel.4");
    await waitFor("softphone on Green", () => phone.frame.evaluate(async () => (await (window as any).fdc3.getCurrentChannel())?.id), (id) => id === "fdc3.channel.4");
    await phone.ui.getByTestId("dial").click();
    const after = await waitFor("third call at the CRM", () => received(crm), (r) => r.length > countBefore && r.some((c) => c.type === "fdc3.call" && c.state === "connected" && !calls.some((k) => k.id.callId === c.id.callId)), 20_000);
    const newCalls = after.slice(countBefore).filter((c) => c.type === "fdc3.call");
    // Only the third call's states, none of the second's.
    expect(new Set(newCalls.map((c) => c.id.callId)).size).toBe(1);
  });

  it("offers both CRMs for SaveTranscript, saves to the one picked, keeps it across a reload, and returns fdc3.transactionResult Created", async () => {
    const phone = await launchApp(page, "softphone");
    const transcript = sampleTranscript("follow up on the revised quote by friday");
    const key = await raiseFrom(phone, "SaveTranscript", transcript);

    const { labels, appIds } = await resolverOptions(page);
    expect(appIds.sort()).toEqual(["acme-crm", "notes-crm"]);
    expect(labels.join(" | ")).toMatch(/Acme CRM/);
    await page.locator('[data-testid="resolver-option"][data-app-id="notes-crm"]').click();
    await page.getByTestId("intent-resolver").waitFor({ state: "detached" });

    const outcome = await intentOutcome(phone, key);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.source.appId).toBe("notes-crm");
    expect(validateContext(outcome.result)).toMatchObject({ valid: true });
    expect(outcome.result).toMatchObject({ type: "fdc3.transactionResult", status: "Created" });
    const recordId: string = outcome.result.context.id.crmRecordId;
    expect(recordId).toMatch(/^NOTE-\d{6}$/);
    expect(outcome.result.message).toContain(recordId);
    expect(outcome.result.context).toMatchObject({ type: "fdc3.transcript", text: transcript.text, id: { transcriptId: transcript.id.transcriptId } });

    const crm = await appWindow(page, "notes-crm");
    const record = crm.ui.locator(`[data-testid="crm-record"][data-record-id="${recordId}"]`);
    expect(await waitForText("record text", record.getByTestId("crm-record-text"))).toBe(transcript.text);
    const stored = JSON.parse((await record.getByTestId("crm-record-json").textContent())!);
    expect(validateContext(stored)).toMatchObject({ valid: true });
    expect(stored).toEqual(transcript);

    // Saving the same transcript again updates the record (no duplicate); the running window is offered.
    const again = await raiseFrom(phone, "SaveTranscript", { ...transcript, text: `${transcript.text} and send the contract` });
    const second = await resolverOptions(page);
    expect(second.appIds.filter((a) => a === "notes-crm")).toHaveLength(2); // running window + new window
    await page.locator(`[data-testid="resolver-option"][data-instance-id="${crm.instanceId}"]`).click();
    const updated = await intentOutcome(phone, again);
    expect(updated).toMatchObject({ ok: true, source: { instanceId: crm.instanceId }, result: { status: "Updated", context: { id: { crmRecordId: recordId } } } });

    // IndexedDB keeps it across a reload; the reloaded page reconnects as the same instance.
    await navigateFrame(crm);
    await waitForFdc3(crm);
    await waitForText("record after reload", crm.ui.locator(`[data-testid="crm-record"][data-record-id="${recordId}"]`).getByTestId("crm-record-text"), (t) => t.endsWith("and send the contract"));
    expect(await crm.ui.getByTestId("crm-record").count()).toBe(1);
    const reconnected = await crm.frame.evaluate(async () => (await (window as any).fdc3.getInfo()).appMetadata.instanceId);
    expect(reconnected).toBe(crm.instanceId);
  });

  it("refuses an invalid fdc3.transcript with a visible error and a Failed fdc3.transactionResult", async () => {
    const phone = await launchApp(page, "softphone");
    const crm = await launchApp(page, "notes-crm");
    const broken = { ...sampleTranscript(), source: "fax", segments: [{ speaker: "agent", start: "zero", end: 1, text: "hi", confidence: 0.9 }] };
    expect(validateContext(broken).valid).toBe(false);

    const key = await raiseFrom(phone, "SaveTranscript", broken, { appId: "notes-crm", instanceId: crm.instanceId });
    const outcome = await intentOutcome(phone, key);
    expect(outcome).toMatchObject({ ok: true, result: { type: "fdc3.transactionResult", status: "Failed" } });
    if (!outcome.ok) return;
    expect(validateContext(outcome.result)).toMatchObject({ valid: true });
    expect(outcome.result.message).toMatch(/Notes CRM refused the transcript: invalid fdc3\.transcript/);
    expect(outcome.result.message).toContain("/source");
    expect(outcome.result.message).toContain("/segments/0/start");

    const error = crm.ui.getByTestId("crm-error");
    await error.waitFor({ state: "visible" });
    const text = (await error.textContent())!;
    expect(text).toContain("Refused a transcript from softphone");
    expect(text).toContain("/segments/0/start must be number");
    expect(await crm.ui.getByTestId("crm-record").count()).toBe(0);
    // The CRM keeps working after a refusal.
    const ok = await raiseFrom(phone, "SaveTranscript", sampleTranscript(), { appId: "notes-crm", instanceId: crm.instanceId });
    expect(await intentOutcome(phone, ok)).toMatchObject({ ok: true, result: { status: "Created" } });
  });

  it("answers a cancelled resolver with an error to the raiser and delivers nothing", async () => {
    const phone = await launchApp(page, "softphone");
    const key = await raiseFrom(phone, "SaveTranscript", sampleTranscript());
    await resolverOptions(page);
    await page.getByTestId("resolver-cancel").click();
    const outcome = await intentOutcome(phone, key);
    // The host's resolver rejects with ResolveError.UserCancelled, which 2.2.1-beta.2 passes
    // through to the raiser (returning no apps would read as NoAppsFound).
    expect(outcome).toEqual({ ok: false, error: "UserCancelledResolution" });
    expect(await page.locator("iframe[data-app-id$='-crm']").count()).toBe(0);
  });
});
