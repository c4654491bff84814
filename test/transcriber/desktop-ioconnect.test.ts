/**
 * The io.Connect Desktop route of the transcriber (issue 10 §1): `IODesktop()` started with the
 * options io.Connect's FDC3 layer needs, the interop methods Callscribe.StartTranscription /
 * StopTranscription driving the real controller, SDK, speech server and PocketSphinx, save
 * notifications with an action that opens the transcript, and the live-call window title.
 *
 * io.Connect Desktop cannot run here: the platform is `FakeIODesktop` (./fake-iodesktop.ts), typed
 * with @interopio/desktop's own declarations. The e2e test (test/e2e/ioconnect.test.ts) runs the
 * same route in Chromium through the real @interopio/desktop module.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { IOConnectDesktop } from "@interopio/desktop";
import type IODesktop from "@interopio/desktop";
import { validateContext, type Transcript } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { float32ToInt16 } from "../../src/server/speech/audio/pcm";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { IOCONNECT_CONFIG, IOCONNECT_METHODS, ioConnectDesktop, type IoConnectApi, type IoConnectFactory } from "../../src/transcriber/desktops/ioconnect";
import { browserDesktop } from "../../src/transcriber/desktops/port";
import { openDesktop } from "../../src/transcriber/desktops/select";
import { notifyingSave, RecentTranscripts, sessionTitle, wireDesktop, type WireDesktopOptions } from "../../src/transcriber/desktops/wiring";
import { SaveCancelledError, TranscriberController, type SaveOutcome } from "../../src/transcriber/session/controller";
import { FakeIODesktop, type FakeInvokeError } from "./fake-iodesktop";
import { fileAudioSource } from "./file-audio-source";

// Compile-time: what we call exists in @interopio/desktop with these signatures.
const realApiFits: IoConnectApi = null as unknown as IOConnectDesktop.API;
const realFactoryFits: IoConnectFactory = null as unknown as typeof IODesktop;
void realApiFits;
void realFactoryFits;

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
const clip = loadManifest("read_en").find((e) => e.file === "librispeech/1272-128104-0000.wav")!;
const speech = float32ToInt16(decodeWav(readFileSync(clip.path)).channels[0]!).subarray(0, 16000 * 3);

beforeAll(async () => {
  engine = createPocketSphinxEngine();
  server = buildServer({ engine });
  await server.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  await engine.ready();
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

const jane = { type: "fdc3.contact", name: "Jane Doe", id: { email: "jane@example.com" } };
const call = (state: string, callId = "call-1") => ({ type: "fdc3.call", id: { callId }, state, direction: "inbound", participants: { type: "fdc3.contactList", contacts: [jane] } });
const saved: SaveOutcome = { appId: "notes-crm", appTitle: "Notes CRM", status: "Created", message: "Saved as r-9" };

function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => (check() ? resolve() : Date.now() > deadline ? reject(new Error(`timed out waiting for ${what}`)) : setTimeout(tick, 50));
    tick();
  });
}

/** The rejection of an invoke, as io.Connect gives it. */
async function invokeError(io: FakeIODesktop, method: string, args: object): Promise<FakeInvokeError> {
  return io.invoke(method, args).then(
    (r) => {
      throw new Error(`expected ${method} to be refused, got ${JSON.stringify(r.returned)}`);
    },
    (e: FakeInvokeError) => e,
  );
}

/** A controller on the real server, wired to a fake io.Connect through the real adapter. */
async function setup(save: (t: Transcript) => Promise<SaveOutcome> = async () => saved, options: WireDesktopOptions = {}) {
  const io = new FakeIODesktop();
  const port = await openDesktop({ iodesktop: { autoInjected: true } } as unknown as Window, async () => io.factory);
  const source = fileAudioSource(speech, 25);
  const notices: string[] = [];
  const controller: TranscriberController = new TranscriberController({
    speechBaseUrl: origin,
    attachToCalls: false,
    validate: validateContext,
    openAudio: source.open,
    saveTranscript: notifyingSave(port, save, (m) => controller.notice(m), options.recent),
  });
  controller.subscribe(() => notices.splice(0, notices.length, ...controller.getSnapshot().notices));
  const wiring = await wireDesktop(port, controller, options);
  return { io, port, source, controller, wiring, notices };
}

describe("io.Connect Desktop: starting @interopio/desktop", () => {
  it("starts IODesktop() inside io.Connect with the options its FDC3 layer needs; elsewhere it is not loaded", async () => {
    const io = new FakeIODesktop();
    let loads = 0;
    const load = async () => {
      loads += 1;
      return io.factory;
    };
    const browser = await openDesktop({ document: { title: "t" }, focus: () => undefined } as unknown as Window, load);
    expect(browser.name).toBe("browser");
    expect(loads).toBe(0);

    const port = await openDesktop({ iodesktop: { autoInjected: true } } as unknown as Window, load);
    expect(port.name).toBe("io.Connect Desktop");
    expect(io.configs).toEqual([IOCONNECT_CONFIG]);
    expect(io.configs[0]).toMatchObject({ appManager: "full", channels: true });
  });

  it("says io.Connect failed when IODesktop() rejects", async () => {
    const failing: IoConnectFactory = async () => Promise.reject(new Error("connection to the gateway failed"));
    await expect(openDesktop({ iodesktop: {} } as unknown as Window, async () => failing)).rejects.toThrow("io.Connect Desktop: IODesktop() failed: connection to the gateway failed");
  });
});

describe("io.Connect Desktop: interop methods", () => {
  it("registers Callscribe.StartTranscription, StopTranscription and the notification action's method, and withdraws them", async () => {
    const { io, wiring } = await setup();
    expect([...io.methods.keys()].sort()).toEqual([IOCONNECT_METHODS.open, IOCONNECT_METHODS.start, IOCONNECT_METHODS.stop].sort());
    expect(io.methods.get("Callscribe.StartTranscription")!.definition.description).toMatch(/fdc3\.call/);
    wiring.dispose();
    expect(io.methods.size).toBe(0);
  });

  it("a valid call context starts a session and the title shows the live call; StopTranscription answers the final transcript and restores the title", async () => {
    const { io, source, controller } = await setup();
    expect(io.title).toBe("Callscribe Transcriber");
    const started = await io.invoke("Callscribe.StartTranscription", call("connected"));
    expect(started.returned).toEqual({ status: "listening", source: "call", callId: "call-1" });
    expect(controller.getSnapshot()).toMatchObject({ status: "listening", request: { source: "call", callId: "call-1" } });
    expect(io.title).toBe("● Live call with Jane Doe — Callscribe Transcriber");
    // The same call again is not an error: it is already being transcribed.
    expect((await io.invoke("Callscribe.StartTranscription", call("connected"))).returned).toMatchObject({ status: "already-transcribing", callId: "call-1" });
    // Another call while this one runs is refused, with the reason.
    expect((await invokeError(io, "Callscribe.StartTranscription", call("connected", "call-2"))).message).toBe("StartTranscription refused: already transcribing call call-1; stop it first");
    // A stop for another call is refused too.
    expect((await invokeError(io, "Callscribe.StopTranscription", call("ended", "call-9"))).message).toBe("StopTranscription refused: the running transcription is for call call-1, not this context");

    await source.done;
    const stopped = await io.invoke("Callscribe.StopTranscription", call("ended"));
    const transcript = stopped.returned as Transcript;
    expect(validateContext(transcript).valid).toBe(true);
    expect(transcript).toMatchObject({ type: "fdc3.transcript", source: "call", id: { callId: "call-1" } });
    expect(transcript.text.split(/\s+/).filter(Boolean).length).toBeGreaterThan(2);
    expect(io.title).toBe("Callscribe Transcriber");
    expect(io.titles).toEqual(["● Live call with Jane Doe — Callscribe Transcriber", "Callscribe Transcriber"]);
    // Stopped already: StopTranscription for that call answers with the same transcript.
    expect((await io.invoke("Callscribe.StopTranscription", { type: "fdc3.nothing" })).returned).toEqual(transcript);
  });

  it("refuses invalid arguments with the JSON Schema's reason, shows it, and starts nothing", async () => {
    const { io, controller } = await setup();
    const missingId = await invokeError(io, "Callscribe.StartTranscription", { type: "fdc3.call", id: {}, state: "connected" });
    expect(missingId.message).toBe("StartTranscription refused: invalid fdc3.call: /id must have required property 'callId'");
    expect(missingId.called_with).toEqual({ type: "fdc3.call", id: {}, state: "connected" });
    expect((await invokeError(io, "Callscribe.StartTranscription", { type: "fdc3.instrument", id: { ticker: "AAPL" } })).message).toMatch(/^StartTranscription refused: context type fdc3.instrument is not accepted here; expected fdc3.call or /);
    expect((await invokeError(io, "Callscribe.StartTranscription", {})).message).toBe("StartTranscription refused: invalid context: missing string `type`");
    expect((await invokeError(io, "Callscribe.StartTranscription", { type: "fdc3.interaction", id: { URI: "x" }, interactionType: "Email", description: "d", participants: { type: "fdc3.contactList", contacts: [jane] }, timeRange: { type: "fdc3.timeRange", startTime: "2026-01-01T10:00:00Z" } })).message).toMatch(/interactionType "Email" is not a call/);
    expect((await invokeError(io, "Callscribe.StopTranscription", { type: "fdc3.nothing" })).message).toBe("StopTranscription refused: no transcription is running");
    expect(controller.getSnapshot().status).toBe("idle");
    expect(controller.getSnapshot().notices).toHaveLength(5);
    expect(controller.getSnapshot().notices[0]).toBe(missingId.message);
    expect(io.titles).toEqual([]);
  });

  it("a dictation (fdc3.nothing) says so in the title", async () => {
    const { io, source } = await setup();
    expect((await io.invoke("Callscribe.StartTranscription", { type: "fdc3.nothing" })).returned).toEqual({ status: "listening", source: "dictation" });
    expect(io.title).toBe("● Dictating — Callscribe Transcriber");
    await source.done;
    await io.invoke("Callscribe.StopTranscription", { type: "fdc3.nothing" });
    expect(io.title).toBe("Callscribe Transcriber");
  });
});

describe("io.Connect Desktop: notifications", () => {
  it("a save raises a notification naming the CRM, with an action that opens the transcript", async () => {
    const { io, source, controller } = await setup();
    await io.invoke("Callscribe.StartTranscription", call("connected"));
    await source.done;
    const transcript = (await io.invoke("Callscribe.StopTranscription", call("ended"))).returned as Transcript;
    await until(() => io.notificationsRaised.length > 0, "the save notification");
    expect(controller.getSnapshot().status).toBe("saved");
    const n = io.notificationsRaised[0]!;
    const open = { method: "Callscribe.OpenTranscript", arguments: { transcriptId: transcript.id.transcriptId }, target: "best" };
    expect(n).toMatchObject({
      title: "Transcript saved in Notes CRM",
      body: "Call call-1 with Jane Doe: Created — Saved as r-9",
      severity: "Low",
      type: "Notification",
      actions: [{ action: "open-transcript", title: "Open transcript", interop: open }],
      clickInterop: open,
    });
    // The user clicks the action: the platform invokes our method, which brings the transcript forward.
    expect(io.focusCount).toBe(0);
    expect(await io.clickAction(0, "open-transcript")).toEqual({ transcriptId: transcript.id.transcriptId, shown: true });
    expect(io.focusCount).toBe(1);
    // A malformed action argument is refused with the schema's reason.
    expect((await invokeError(io, "Callscribe.OpenTranscript", { id: 5 })).message).toMatch(/^OpenTranscript refused: expected \{transcriptId: string\}: .*transcriptId/);
  });

  it("the action on an older transcript (no longer on screen) opens it in the Library", async () => {
    const opened: Transcript[] = [];
    const { io, source, controller } = await setup(undefined, { recent: new RecentTranscripts(), openInLibrary: async (t) => void opened.push(t) });
    await io.invoke("Callscribe.StartTranscription", { type: "fdc3.nothing" });
    await source.done;
    const first = (await io.invoke("Callscribe.StopTranscription", { type: "fdc3.nothing" })).returned as Transcript;
    await until(() => io.notificationsRaised.length === 1, "the first save notification");
    await io.invoke("Callscribe.StartTranscription", { type: "fdc3.nothing" });
    await until(() => controller.getSnapshot().transcript?.id.transcriptId !== first.id.transcriptId, "a new session on screen");
    expect(await io.clickAction(0, "open-transcript")).toEqual({ transcriptId: first.id.transcriptId, shown: false, openedIn: "callscribe-library" });
    expect(opened.map((t) => t.id.transcriptId)).toEqual([first.id.transcriptId]);
    expect(opened[0]!.text).toBe(first.text);
    expect(io.focusCount).toBe(0);
    await io.invoke("Callscribe.StopTranscription", { type: "fdc3.nothing" });
  });

  it("a failed save raises an alert with the reason; a CRM's Failed does too; a cancelled choice raises nothing", async () => {
    const failing = await setup(async () => Promise.reject(new Error("SaveTranscript: no app can save a transcript")));
    await failing.io.invoke("Callscribe.StartTranscription", { type: "fdc3.nothing" });
    await failing.source.done;
    await failing.io.invoke("Callscribe.StopTranscription", { type: "fdc3.nothing" });
    await until(() => failing.io.notificationsRaised.length > 0, "the failure notification");
    expect(failing.io.notificationsRaised[0]).toMatchObject({
      title: "Transcript not saved",
      body: "Dictation: SaveTranscript: no app can save a transcript",
      severity: "High",
      type: "Alert",
      actions: [{ action: "open-transcript", title: "Open transcript" }],
    });
    expect(failing.controller.getSnapshot().status).toBe("error");

    const t: Transcript = { type: "fdc3.transcript", id: { transcriptId: "t-1", callId: "c-7" }, source: "call", language: "en", text: "hello", segments: [] };
    const io = new FakeIODesktop();
    const port = ioConnectDesktop(io);
    const crmFailed = notifyingSave(port, async () => ({ appId: "acme-crm", status: "Failed", message: "record locked" }));
    expect(await crmFailed(t)).toEqual({ appId: "acme-crm", status: "Failed", message: "record locked" });
    await until(() => io.notificationsRaised.length === 1, "the Failed notification");
    expect(io.notificationsRaised[0]).toMatchObject({ title: "Transcript not saved in acme-crm", body: "Call c-7: acme-crm answered Failed (record locked)", severity: "High" });

    const cancelled = notifyingSave(port, async () => Promise.reject(new SaveCancelledError()));
    await expect(cancelled(t)).rejects.toBeInstanceOf(SaveCancelledError);
    await new Promise((r) => setTimeout(r, 50));
    expect(io.notificationsRaised).toHaveLength(1);
  });

  it("a notification the platform refuses is reported, and the save outcome is unchanged", async () => {
    const io = new FakeIODesktop();
    io.failNotificationsWith = "notifications are disabled";
    const reported: string[] = [];
    const save = notifyingSave(ioConnectDesktop(io), async () => saved, (m) => reported.push(m));
    const t: Transcript = { type: "fdc3.transcript", id: { transcriptId: "t-2" }, source: "dictation", language: "en", text: "hi", segments: [] };
    expect(await save(t)).toEqual(saved);
    await until(() => reported.length > 0, "the report");
    expect(reported).toEqual(["io.Connect notification failed: notifications are disabled"]);
  });
});

describe("other desktops (the browser port)", () => {
  it("adds nothing and reports nothing: no commands, no notification notices; the title is the document's", async () => {
    const doc = { title: "Callscribe Transcriber" };
    let focused = 0;
    const port = browserDesktop(doc, { focus: () => void (focused += 1) });
    expect(port.features).toEqual([]);
    const notices: string[] = [];
    const save = notifyingSave(port, async () => saved, (m) => notices.push(m));
    const t: Transcript = { type: "fdc3.transcript", id: { transcriptId: "t-3" }, source: "dictation", language: "en", text: "hi", segments: [] };
    expect(await save(t)).toEqual(saved);
    await new Promise((r) => setTimeout(r, 20));
    expect(notices).toEqual([]);
    await port.setTitle("● Dictating — Callscribe Transcriber");
    expect(doc.title).toBe("● Dictating — Callscribe Transcriber");
    await port.focus();
    expect(focused).toBe(1);
  });
});

describe("sessionTitle", () => {
  it("names a call by its parties, else its id; no session: the base title", () => {
    const base = "Callscribe Transcriber";
    expect(sessionTitle({ status: "idle", participants: [] }, base)).toBe(base);
    expect(sessionTitle({ status: "listening", request: { source: "call", callId: "c-1", participants: [] }, participants: [] }, base)).toBe("● Live call (c-1) — Callscribe Transcriber");
    expect(sessionTitle({ status: "stopping", request: { source: "call", participants: [] }, participants: [{ type: "fdc3.contact", id: { email: "a@b.c" } }] }, base)).toBe("● Live call with a@b.c — Callscribe Transcriber");
    expect(sessionTitle({ status: "saved", request: { source: "call", callId: "c-1", participants: [] }, participants: [] }, base)).toBe(base);
  });
});
