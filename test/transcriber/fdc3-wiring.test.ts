/**
 * The transcriber's FDC3 handlers (StartTranscription, StopTranscription, the user-channel
 * listeners, SaveTranscript) driving the real controller, SDK and speech server.
 *
 * The desktop agent is a fake (FakeDesktopAgent): @finos/fdc3 2.2.1-beta.2 only runs bundled in
 * a browser (DESIGN §7). It records listeners and broadcasts and nothing else; the real agent
 * is exercised by the end-to-end test in Chromium. wiring.ts imports @finos/fdc3 for types only.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { validateContext, type Transcript } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { float32ToInt16 } from "../../src/server/speech/audio/pcm";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { saveTranscriptViaIntent, wireTranscriber } from "../../src/transcriber/fdc3/wiring";
import { SaveCancelledError, TranscriberController } from "../../src/transcriber/session/controller";
import { fileAudioSource } from "./file-audio-source";

type Handler = (context: any) => any;

/** Records what the transcriber registers on a desktop agent; see the file comment. */
class FakeDesktopAgent {
  intentHandlers = new Map<string, Handler>();
  contextHandlers = new Map<string, Handler>();
  channels: FakePrivateChannel[] = [];
  raised: { intent: string; context: unknown }[] = [];
  nextResolution: (() => Promise<any>) | undefined;

  async addIntentListener(intent: string, handler: Handler) {
    this.intentHandlers.set(intent, handler);
    return { unsubscribe: async () => void this.intentHandlers.delete(intent) };
  }
  async addContextListener(type: string, handler: Handler) {
    this.contextHandlers.set(type, handler);
    return { unsubscribe: async () => void this.contextHandlers.delete(type) };
  }
  async createPrivateChannel() {
    const channel = new FakePrivateChannel(`private-${this.channels.length + 1}`);
    this.channels.push(channel);
    return channel;
  }
  async raiseIntent(intent: string, context: unknown) {
    this.raised.push({ intent, context });
    if (!this.nextResolution) throw new Error("NoAppsFound");
    return this.nextResolution();
  }
  /** Deliver an intent as the agent would, and return the handler's result. */
  raise(intent: string, context: unknown) {
    return this.intentHandlers.get(intent)!(context);
  }
}

class FakePrivateChannel {
  type = "private" as const;
  broadcasts: Transcript[] = [];
  disconnected = false;
  constructor(readonly id: string) {}
  async broadcast(context: Transcript) {
    this.broadcasts.push(context);
  }
  async disconnect() {
    this.disconnected = true;
  }
}

let engine: PocketSphinxEngine;
let server: FastifyInstance;
let origin: string;
const clip = loadManifest("read_en").find((e) => e.file === "librispeech/1272-128104-0000.wav")!;
const speech = float32ToInt16(decodeWav(readFileSync(clip.path)).channels[0]!);

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

async function setup(pcm = speech, paceMs = 25) {
  const agent = new FakeDesktopAgent();
  const source = fileAudioSource(pcm, paceMs);
  const controller = new TranscriberController({
    speechBaseUrl: origin,
    attachToCalls: false, // microphone sessions; attaching to a call's stream: call-attach.test.ts
    validate: validateContext,
    openAudio: source.open,
    saveTranscript: (t) => saveTranscriptViaIntent(agent as any, t),
  });
  const wiring = await wireTranscriber(agent as any, controller);
  return { agent, source, controller, wiring };
}

function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => (check() ? resolve() : Date.now() > deadline ? reject(new Error(`timed out waiting for ${what}`)) : setTimeout(tick, 50));
    tick();
  });
}

describe("transcriber FDC3 wiring", () => {
  it("registers the intents and user-channel listeners the App Directory record declares", async () => {
    const { agent, wiring } = await setup();
    expect([...agent.intentHandlers.keys()].sort()).toEqual(["StartTranscription", "StopTranscription"]);
    expect([...agent.contextHandlers.keys()].sort()).toEqual(["fdc3.call", "fdc3.contact"]);
    await wiring.dispose();
    expect(agent.intentHandlers.size + agent.contextHandlers.size).toBe(0);
  });

  it("starts on a call, broadcasts live transcripts, stops when the call ends on the user channel, and saves through the CRM", async () => {
    const { agent, source, controller } = await setup();
    agent.nextResolution = async () => ({
      source: { appId: "notes-crm", instanceId: "i-3" },
      getResult: async () => ({ type: "fdc3.transactionResult", status: "Created", message: "Saved as r-9" }),
    });
    const channel = await agent.raise("StartTranscription", call("connected"));
    expect(channel).toBeInstanceOf(FakePrivateChannel);
    expect(controller.getSnapshot()).toMatchObject({ status: "listening", request: { source: "call", callId: "call-1" } });
    // Asking again for the same call hands back the same channel.
    expect(await agent.raise("StartTranscription", call("connected"))).toBe(channel);

    await source.done;
    await until(() => (channel as FakePrivateChannel).broadcasts.length > 0, "a live transcript while listening");
    agent.contextHandlers.get("fdc3.call")!(call("ended"));
    await until(() => controller.getSnapshot().status === "saved" || controller.getSnapshot().status === "error", "save");
    const snap = controller.getSnapshot();
    expect(snap.save).toEqual({ state: "saved", appId: "notes-crm", status: "Created", message: "Saved as r-9", intent: "SaveTranscript" });
    expect(agent.raised).toHaveLength(1);
    expect(agent.raised[0]).toMatchObject({ intent: "SaveTranscript", context: { type: "fdc3.transcript", id: { callId: "call-1" } } });

    const broadcasts = (channel as FakePrivateChannel).broadcasts;
    expect(broadcasts.length).toBeGreaterThan(1);
    expect(broadcasts.every((t) => validateContext(t).valid)).toBe(true);
    expect(broadcasts[broadcasts.length - 1]).toEqual(snap.transcript);

    // StopTranscription after the call already ended answers with that transcript.
    expect(await agent.raise("StopTranscription", call("ended"))).toEqual(snap.transcript);
  });

  it("answers an invalid or unsupported context with a Failed result and a visible notice", async () => {
    const { agent, controller } = await setup();
    const bad = await agent.raise("StartTranscription", { type: "fdc3.call", id: {}, state: "connected" });
    expect(bad).toMatchObject({ type: "fdc3.transactionResult", status: "Failed" });
    expect(bad.message).toMatch(/StartTranscription refused: invalid fdc3.call: \/id must have required property 'callId'/);
    expect(validateContext(bad).valid).toBe(true);
    const email = await agent.raise("StartTranscription", { type: "fdc3.instrument", id: { ticker: "AAPL" } });
    expect(email.message).toMatch(/fdc3.instrument is not accepted here/);
    const stop = await agent.raise("StopTranscription", { type: "fdc3.nothing" });
    expect(stop.message).toMatch(/no transcription is running/);
    expect(controller.getSnapshot().notices).toHaveLength(3);
    expect(controller.getSnapshot().status).toBe("idle");
    // A malformed context on the user channel is ignored with a notice, not a crash.
    agent.contextHandlers.get("fdc3.contact")!({ type: "fdc3.contact", id: "not-an-object" });
    expect(controller.getSnapshot().notices[3]).toMatch(/ignored an fdc3.contact/);
  });

  it("stops with StopTranscription, refuses a stop for another call, and uses the channel's contact for dictation", async () => {
    const { agent, source, controller } = await setup(speech.subarray(0, 16000 * 2));
    agent.contextHandlers.get("fdc3.contact")!(jane);
    await agent.raise("StartTranscription", { type: "fdc3.nothing" });
    expect(controller.getSnapshot().participants).toEqual([jane]);
    expect(await agent.raise("StartTranscription", call("connected", "call-2"))).toMatchObject({ status: "Failed", message: expect.stringMatching(/already transcribing a dictation/) });
    await source.done;
    const otherCall = await agent.raise("StopTranscription", call("ended", "call-9"));
    // A dictation has no call id: any call's stop matches it.
    expect(otherCall).toMatchObject({ type: "fdc3.transcript", source: "dictation" });
    // SaveTranscript found no CRM: the save fails visibly.
    await until(() => controller.getSnapshot().status === "error", "save failure");
    expect(controller.getSnapshot().save).toEqual({ state: "failed", error: "SaveTranscript: no app can save a transcript (no SaveTranscript handler in the App Directory)" });
  });
});

describe("saveTranscriptViaIntent (issue 7 items 17, 22)", () => {
  const transcript: Transcript = { type: "fdc3.transcript", id: { transcriptId: "t-1" }, source: "dictation", language: "en", text: "hello", segments: [] };

  it("turns a cancelled resolver (UserCancelledResolution) into SaveCancelledError, not a failure", async () => {
    const agent = { raiseIntent: async () => Promise.reject(new Error("UserCancelledResolution")) };
    const err = await saveTranscriptViaIntent(agent as never, transcript).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SaveCancelledError);
  });

  it("reports the handling app's title from the desktop agent's metadata", async () => {
    const source = { appId: "notes-crm", instanceId: "i-1" };
    const agent = {
      raiseIntent: async () => ({ source, getResult: async () => ({ type: "fdc3.transactionResult", status: "Created", message: "Saved as r-1" }) }),
      getAppMetadata: async (app: { appId: string }) => ({ appId: app.appId, title: "Notes CRM" }),
    };
    expect(await saveTranscriptViaIntent(agent as never, transcript)).toEqual({ appId: "notes-crm", appTitle: "Notes CRM", status: "Created", message: "Saved as r-1", intent: "SaveTranscript" });
  });
});
