/**
 * Deepgram direct mode in the transcriber: the controller (real `@deepgram/sdk` in Node) asks our
 * real server for a short-lived token (`POST /v1/auth/grant`) and streams real corpus speech
 * straight to a FAKE Deepgram (`test/support/fake-deepgram.ts`: Deepgram's cloud is unreachable
 * here; the fake speaks its protocol and auth rules and recognises with the real PocketSphinx
 * engine). Checked: the fake saw a `bearer` connection with the granted token and our server saw
 * no `/v1/listen`; a fresh token for each session start; the Deepgram key is in no grant and in
 * no request the browser-side code made; the relay path for comparison; and the clear failure
 * (with relay offered) on a server without a Deepgram key.
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { validateContext } from "../../src/contracts";
import { loadManifest } from "../../src/eval/corpus";
import { wordErrorRate } from "../../src/eval/wer";
import { buildServer } from "../../src/server/app";
import { float32ToInt16 } from "../../src/server/speech/audio/pcm";
import { decodeWav } from "../../src/server/speech/audio/wav";
import { createPocketSphinxEngine, type PocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { createEngineRegistry, type EngineRegistry } from "../../src/server/speech/engines/registry";
import { TranscriberController, type ControllerDeps } from "../../src/transcriber/session/controller";
import { DirectGrantError, requestDirectGrant } from "../../src/transcriber/session/direct-grant";
import { fetchModelChoices, isDeepgramChoice } from "../../src/transcriber/session/models";
import { startFakeDeepgram, type FakeDeepgram } from "../support/fake-deepgram";
import { fileAudioSource } from "./file-audio-source";

const DEEPGRAM_KEY = "fake-deepgram-key-direct-9876543210";
const OUR_KEY = "callscribe-direct-test-key";

const clip = loadManifest("read_en").find((e) => e.file === "librispeech/1272-128104-0000.wav")!;
const speech = float32ToInt16(decodeWav(readFileSync(clip.path)).channels[0]!);
// One second of silence after the speech lets the endpointer close the utterance.
const audio = new Int16Array(speech.length + 16000);
audio.set(speech);

/** A request as one side saw it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders | Record<string, string>;
  body?: string;
}

let recogniser: PocketSphinxEngine;
let fake: FakeDeepgram;
let registry: EngineRegistry;
let server: FastifyInstance;
let origin: string;
/** Every request our server received. */
const ourRequests: Seen[] = [];
/** Every request the transcriber's `fetch` made, and every response body it read. */
const browserFetches: Seen[] = [];
const browserResponses: string[] = [];

/** The transcriber's `fetch`: the global one, recording what goes out and what comes back. */
const browserFetch: typeof fetch = async (input, init) => {
  const headers = Object.fromEntries(new Headers(init?.headers).entries());
  browserFetches.push({ method: init?.method ?? "GET", url: String(input), headers, body: typeof init?.body === "string" ? init.body : init?.body ? "(binary)" : undefined });
  const res = await fetch(input, init);
  browserResponses.push(await res.clone().text());
  return res;
};

beforeAll(async () => {
  recogniser = createPocketSphinxEngine({ poolSize: 1 });
  await recogniser.ready();
  fake = await startFakeDeepgram(DEEPGRAM_KEY, recogniser);
  const deepgram = { apiKey: DEEPGRAM_KEY, baseUrl: fake.baseUrl };
  registry = await createEngineRegistry({ modelsDir: mkdtempSync(path.join(tmpdir(), "no-models-")), deepgram, pocketsphinx: { poolSize: 1 } });
  server = buildServer({ engines: registry, apiKey: OUR_KEY, deepgram });
  server.addHook("onRequest", async (request) => {
    ourRequests.push({ method: request.method, url: request.url, headers: { ...request.headers } });
  });
  await server.listen({ port: 0, host: "127.0.0.1" });
  origin = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await registry?.close();
  await fake?.close();
  await recogniser?.close();
});

function controller(overrides: Partial<ControllerDeps> = {}) {
  return new TranscriberController({
    speechBaseUrl: origin,
    speechApiKey: OUR_KEY,
    attachToCalls: false, // microphone sessions; attaching to a call's stream: call-attach.test.ts
    fetch: browserFetch,
    validate: validateContext,
    openAudio: fileAudioSource(audio).open,
    now: () => new Date("2026-11-21T09:30:00.000Z"),
    ...overrides,
  });
}

const pathOf = (url: string) => new URL(url, "http://x").pathname;

describe("Deepgram direct mode in the transcriber (real SDK, our server, fake Deepgram with real PocketSphinx)", () => {
  it("lists nova-3 as a Deepgram model, gets a token from our server and streams straight to Deepgram; provider deepgram", async () => {
    const { choices, error } = await fetchModelChoices(origin, browserFetch, OUR_KEY);
    expect(error).toBeUndefined();
    const nova = choices.find((ch) => ch.model === "nova-3");
    expect(isDeepgramChoice(nova)).toBe(true);
    expect(isDeepgramChoice(choices.find((ch) => ch.model === "pocketsphinx-en-us"))).toBe(false);

    const source = fileAudioSource(audio);
    const c = controller({ openAudio: source.open });
    c.selectModel(nova!.model);
    c.selectConnection("direct");
    const oursBefore = ourRequests.length;
    const fakeBefore = fake.requests.length;
    const grantsBefore = fake.granted.length;

    await c.start({ source: "call", callId: "call-direct", participants: [] });
    expect(c.getSnapshot()).toMatchObject({ status: "listening", connection: "direct", model: "nova-3" });
    await source.done;
    const transcript = await c.stop();

    // Our server: one grant for this session, and no /v1/listen at all.
    const ours = ourRequests.slice(oursBefore);
    expect(ours.map((r) => `${r.method} ${pathOf(r.url)}`)).toEqual(["POST /v1/auth/grant"]);
    // Deepgram (the fake): our server asked for the token with the key, then the transcriber's
    // live connection came with that token as a bearer credential.
    expect(fake.granted.length).toBe(grantsBefore + 1);
    const token = fake.granted.at(-1)!;
    const atFake = fake.requests.slice(fakeBefore);
    expect(atFake.map((r) => `${r.method} ${pathOf(r.url)}`)).toEqual(["POST /v1/auth/grant", "GET /v1/listen"]);
    expect(atFake[0]!.headers.authorization).toBe(`Token ${DEEPGRAM_KEY}`);
    expect(atFake[1]!.headers.authorization).toBe(`Bearer ${token}`);
    expect(new URL(atFake[1]!.url, "http://x").searchParams.get("model")).toBe("nova-3");
    expect(fake.seen.at(-1)).toEqual({ kind: "bearer", path: "/v1/listen" });

    // The transcript: real words, provider deepgram with the model.
    expect(validateContext(transcript)).toMatchObject({ valid: true });
    expect(transcript.provider).toEqual({ name: "deepgram", model: "nova-3" });
    expect(transcript.segments!.length).toBeGreaterThan(0);
    const wer = wordErrorRate(clip.referenceText, transcript.text);
    expect(wer.wer, `hypothesis: ${transcript.text}`).toBeLessThan(0.6);
    expect(transcript.duration).toBeCloseTo(audio.length / 16000, 1);
  }, 90_000);

  it("asks for a fresh token at every session start, and no browser-side request or grant ever holds the Deepgram key", async () => {
    const short = audio.subarray(0, 16000 * 2);
    const sources = [fileAudioSource(short), fileAudioSource(short)];
    let opened = 0;
    const c = controller({ openAudio: (sink) => sources[opened++]!.open(sink) });
    c.selectModel("nova-3");
    c.selectConnection("direct");
    const fakeBefore = fake.requests.length;
    const grantsBefore = fake.granted.length;
    for (const source of sources) {
      await c.start({ source: "dictation", participants: [] });
      await source.done;
      await c.stop();
    }
    const tokens = fake.granted.slice(grantsBefore);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
    const listens = fake.requests.slice(fakeBefore).filter((r) => pathOf(r.url) === "/v1/listen");
    expect(listens.map((r) => r.headers.authorization)).toEqual(tokens.map((t) => `Bearer ${t}`));

    // Everything the browser side sent or read (fetches and their answers, what reached our
    // server, the WebSockets that reached Deepgram) is free of the key; at Deepgram the key
    // arrived only on our server's own grant requests.
    expect(browserFetches.length).toBeGreaterThan(0);
    expect(browserResponses.some((body) => body.includes("access_token"))).toBe(true);
    for (const r of browserFetches) expect(JSON.stringify(r)).not.toContain(DEEPGRAM_KEY);
    for (const body of browserResponses) expect(body).not.toContain(DEEPGRAM_KEY);
    for (const r of ourRequests) expect(JSON.stringify(r)).not.toContain(DEEPGRAM_KEY);
    const withKey = fake.requests.filter((r) => JSON.stringify(r).includes(DEEPGRAM_KEY));
    expect(withKey.length).toBeGreaterThan(0);
    expect(new Set(withKey.map((r) => `${r.method} ${pathOf(r.url)}`))).toEqual(new Set(["POST /v1/auth/grant"]));
  }, 90_000);

  it("relay (the default) reaches the same Deepgram through our server; provider deepgram too", async () => {
    const source = fileAudioSource(audio.subarray(0, 16000 * 3));
    const c = controller({ openAudio: source.open });
    c.selectModel("nova-3");
    expect(c.getSnapshot().selectedConnection).toBe("relay");
    const oursBefore = ourRequests.length;
    const seenBefore = fake.seen.length;
    await c.start({ source: "dictation", participants: [] });
    await source.done;
    const transcript = await c.stop();
    expect(ourRequests.slice(oursBefore).map((r) => `${r.method} ${pathOf(r.url)}`)).toEqual(["GET /v1/listen"]);
    expect(fake.seen.slice(seenBefore)).toContainEqual({ kind: "token", path: "/v1/listen" });
    expect(fake.seen.slice(seenBefore).some((s) => s.kind === "bearer")).toBe(false);
    expect(transcript.provider).toEqual({ name: "deepgram", model: "nova-3" });
    expect(transcript.text.split(/\s+/).filter(Boolean).length).toBeGreaterThan(2);
  }, 90_000);
});

describe("direct mode failures", () => {
  it("fails with a clear message and offers relay when our server has no Deepgram key; no audio is opened", async () => {
    const local = await createEngineRegistry({ modelsDir: mkdtempSync(path.join(tmpdir(), "no-models-")), pocketsphinx: { poolSize: 1 } });
    const plain = buildServer({ engines: local });
    await plain.listen({ port: 0, host: "127.0.0.1" });
    try {
      let audioOpened = false;
      const c = controller({
        speechBaseUrl: `http://127.0.0.1:${(plain.server.address() as { port: number }).port}`,
        speechApiKey: undefined,
        openAudio: async () => {
          audioOpened = true;
          return { stop: async () => undefined };
        },
      });
      c.selectModel("nova-3");
      c.selectConnection("direct");
      await expect(c.start({ source: "dictation", participants: [] })).rejects.toThrow(/direct mode unavailable: the speech server has no Deepgram key.*relay/);
      const snap = c.getSnapshot();
      expect(snap).toMatchObject({ status: "error", offerRelay: true, connection: "direct" });
      expect(snap.error).toMatch(/DEEPGRAM_API_KEY/);
      expect(audioOpened).toBe(false);
      expect(c.active).toBe(false);
      // Taking the offer switches the next session to relay.
      c.selectConnection("relay");
      expect(c.getSnapshot()).toMatchObject({ selectedConnection: "relay", offerRelay: false });
    } finally {
      await plain.close();
      await local.close();
    }
  }, 60_000);

  it("refuses our server's refusal, an unreachable server and a malformed grant with DirectGrantError", async () => {
    // Our real server without our key: 401.
    const unauth = await requestDirectGrant(origin).catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(DirectGrantError);
    expect(unauth).toMatchObject({ status: 401 });
    expect((unauth as Error).message).toMatch(/refused the token request \(HTTP 401/);
    const down = await requestDirectGrant("http://127.0.0.1:1").catch((e: unknown) => e);
    expect((down as Error).message).toMatch(/could not reach http:\/\/127\.0\.0\.1:1\/v1\/auth\/grant.*relay/);
    // A grant without base_url is not used.
    const partial = (async () => Response.json({ access_token: "t", expires_in: 30 })) as typeof fetch;
    await expect(requestDirectGrant(origin, { fetchImpl: partial })).rejects.toThrow(/malformed \(\(root\) must have required property 'base_url'\)/);
    // A real grant from our server, with its lifetime.
    const grant = await requestDirectGrant(origin, { apiKey: OUR_KEY, now: () => 1_000_000 });
    expect(grant).toMatchObject({ baseUrl: fake.baseUrl, expiresIn: 30, expiresAt: 1_030_000 });
    expect(fake.granted).toContain(grant.accessToken);
  });

  it("a direct session without a Deepgram model fails before asking for a token", async () => {
    const c = controller();
    c.selectConnection("direct");
    const fetchesBefore = browserFetches.length;
    await expect(c.start({ source: "dictation", participants: [] })).rejects.toThrow(/direct mode needs a Deepgram model/);
    expect(browserFetches.length).toBe(fetchesBefore);
    expect(c.getSnapshot()).toMatchObject({ status: "error", offerRelay: true });
  });
});
