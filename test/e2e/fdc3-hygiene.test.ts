/**
 * Issue 10 §4, FDC3 hygiene, in the browser desktop agent (real Chromium, the real pages, the real
 * server with the real PocketSphinx engine; the microphone is a silent WAV):
 *
 * - every intent in the App Directory records is listened for by the app that declares it: once the
 *   app is open, `findIntent` returns its running instance (the agent lists an instance only after
 *   its `addIntentListener`);
 * - every declared context is handled or refused with an `fdc3.transactionResult`: each is raised at
 *   that instance, valid and invalid; nothing is left unanswered (a timeout fails);
 * - each `resultType` matches what the handler returns (a channel for `channel<…>`, that context type
 *   otherwise, nothing where none is declared), and a refusal is `Failed` with a message;
 * - every intent our apps raise (`interop.intents.raises`) resolves: some record handles it with that context.
 */
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { APP_DIRECTORY, validateContext } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { launchChromium } from "./support/chromium";
import { appWindow, collectConsole, launchApp, launchAppWindow, waitFor, type AppHandle } from "./support/desktop";
import { findIntentFrom, raiseFrom, type RaiseOutcome } from "./support/fdc3-probe";
import { invalidSample, validSample } from "./support/fdc3-samples";
import { buildMicWav } from "./support/mic-wav";
import { REPO_ROOT } from "./support/paths";

const API_KEY = "e2e-api-key-0123456789";
const DESKTOP_SECRET = "e2e-desktop-secret-0123456789";

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
let browser: Browser;
let page: Page;
let mic: { path: string; dir: string; seconds: number };
let consoleLines: string[] = [];

beforeAll(async () => {
  mic = buildMicWav([], { padSeconds: 30 });
  engine = createPocketSphinxEngine();
  server = buildServer({ engine, staticDir: inject("e2eDistDir"), apiKey: API_KEY, desktopSecret: DESKTOP_SECRET });
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
  browser = await launchChromium({ micWav: mic.path });
  page = await browser.newPage();
  consoleLines = collectConsole(page);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await engine?.close();
  if (mic) rmSync(mic.dir, { recursive: true, force: true });
});

/** Does `outcome` match the declared `resultType` (FDC3 appd `Intent.resultType`)? */
function matchesResultType(outcome: RaiseOutcome, resultType: string | undefined): boolean {
  if (!resultType) return outcome.kind === "void";
  if (resultType.startsWith("channel")) return outcome.kind === "channel";
  return outcome.kind === "context" && outcome.context.type === resultType && validateContext(outcome.context).valid;
}

const isRefusal = (o: RaiseOutcome) => o.kind === "context" && o.context.type === "fdc3.transactionResult" && o.context.status === "Failed" && typeof o.context.message === "string" && o.context.message.length > 0;

describe("FDC3 hygiene in the browser desktop agent", () => {
  it("samples: each valid sample validates, each invalid one does not", () => {
    const types = new Set(APP_DIRECTORY.flatMap((r) => Object.values(r.interop?.intents?.listensFor ?? {}).flatMap((d) => d.contexts)));
    for (const t of types) {
      expect(validateContext(validSample(t)).valid, t).toBe(true);
      const bad = invalidSample(t);
      if (bad) expect(validateContext(bad).valid, t).toBe(false);
    }
  });

  it("every declared intent is listened for by its app, every declared context is handled or refused with a transactionResult, and results match resultType", async () => {
    await page.goto(`${origin}/#desktop=${DESKTOP_SECRET}`);
    // The softphone raises from its own FDC3 API; it listens for nothing itself.
    const probe = await launchApp(page, "softphone");
    const report: string[] = [];
    for (const record of APP_DIRECTORY) {
      const listensFor = Object.entries(record.interop?.intents?.listensFor ?? {});
      if (listensFor.length === 0) continue;
      const app: AppHandle = await launchAppWindow(page, record.appId);
      for (const [intent, decl] of listensFor) {
        // Listened for: findIntent lists this running instance (the agent adds instances only on addIntentListener).
        for (const type of decl.contexts) {
          await waitFor(
            `${record.appId} listening for ${intent} (${type})`,
            () => findIntentFrom(probe.frame, intent, type),
            (r) => "apps" in r && r.apps.some((a) => a.appId === record.appId && a.instanceId === app.instanceId),
            20_000,
          );
        }
        const target = { appId: record.appId, instanceId: app.instanceId };
        let handled = 0;
        // Valid contexts first (StartTranscription runs before StopTranscription, so the stop has something to stop).
        for (const type of decl.contexts) {
          const outcome = await raiseFrom(probe.frame, intent, validSample(type), target);
          report.push(`${record.appId} ${intent} ${type} valid → ${describeOutcome(outcome)}`);
          expect(outcome.kind, `${record.appId} ${intent} ${type}: ${describeOutcome(outcome)}`).not.toMatch(/timeout|rejected/);
          const ok = matchesResultType(outcome, decl.resultType);
          expect(ok || isRefusal(outcome), `${record.appId} ${intent} ${type}: neither ${decl.resultType ?? "void"} nor a Failed transactionResult: ${describeOutcome(outcome)}`).toBe(true);
          if (ok && !isRefusal(outcome)) handled += 1;
          if ("source" in outcome) expect(outcome.source).toEqual(target);
        }
        // Invalid contexts of each declared type: refused with a Failed transactionResult, never left hanging.
        for (const type of decl.contexts) {
          const bad = invalidSample(type);
          if (!bad) continue;
          const outcome = await raiseFrom(probe.frame, intent, bad, target);
          report.push(`${record.appId} ${intent} ${type} invalid → ${describeOutcome(outcome)}`);
          expect(isRefusal(outcome), `${record.appId} ${intent} invalid ${type}: ${describeOutcome(outcome)}`).toBe(true);
        }
        // The declared resultType is what a handled intent really returns.
        expect(handled, `${record.appId} ${intent}: no valid context was handled (${decl.resultType ?? "void"})`).toBeGreaterThan(0);
      }
    }
    console.log(`FDC3 hygiene:\n${report.join("\n")}`);
    const shots = resolve(REPO_ROOT, "test-results");
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: resolve(shots, "fdc3-hygiene.png") });
    expect(consoleLines.filter((l) => l.startsWith("[pageerror]"))).toEqual([]);
  });

  it("every intent our apps raise resolves: some record handles it with that context type", async () => {
    // The softphone opened by the test above (its FDC3 API asks the agent).
    const probe = await appWindow(page, "softphone");
    for (const record of APP_DIRECTORY) {
      for (const [intent, types] of Object.entries(record.interop?.intents?.raises ?? {})) {
        for (const type of types) {
          const found = await findIntentFrom(probe.frame, intent, type);
          const directoryApps = "apps" in found ? found.apps.filter((a) => !a.instanceId).map((a) => a.appId) : [];
          expect(directoryApps.length, `${record.appId} raises ${intent}(${type}): ${JSON.stringify(found)}`).toBeGreaterThan(0);
          for (const appId of directoryApps) {
            expect(APP_DIRECTORY.find((r) => r.appId === appId)?.interop?.intents?.listensFor?.[intent]?.contexts).toContain(type);
          }
        }
      }
    }
  });
});

function describeOutcome(o: RaiseOutcome): string {
  switch (o.kind) {
    case "context":
      return `${o.context.type}${o.context.status ? ` ${o.context.status}` : ""}${o.context.message ? ` "${o.context.message}"` : ""} (${o.ms.toFixed(0)} ms)`;
    case "channel":
      return `channel ${o.channelType} (${o.ms.toFixed(0)} ms)`;
    case "void":
      return `void (${o.ms.toFixed(0)} ms)`;
    case "rejected":
      return `rejected ${o.error}`;
    case "timeout":
      return `no answer in ${o.ms.toFixed(0)} ms`;
  }
}
