/**
 * Issue 7 §1 and §14: authentication is decided on the route the router matched, never on a URL
 * prefix. With CALLSCRIBE_API_KEY set, every route but `/healthz`, the pages and the signed
 * webhook refuses a request without the key, however its path is spelled (percent-encoded,
 * double slash, upper case, dot segments, trailing slash), before doing any work: the (real)
 * engine is never called, no live session starts, the calls store is not read, and the FAKE
 * Deepgram (its cloud is unreachable here) never sees a grant request. Real HTTP on a socket
 * (not `inject`, not `fetch`, which normalise paths). `/metrics` takes the key as Prometheus
 * sends it (`Authorization: Bearer <key>`).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingEngine } from "./helpers";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import { metricsPlugin, PipelineMetrics } from "../../src/server/observability/metrics";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { intakePlugin } from "../../src/server/pipeline/intake";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { startFakeDeepgram, type FakeDeepgram } from "../support/fake-deepgram";
import { rawRequest, rawUpgrade } from "./raw-http";

const KEY = "route-auth-key-0123456789";
const DEEPGRAM_KEY = "fake-deepgram-key-0123456789";
const WAV = readFileSync(`${corpusDir()}/debian_pocketsphinx/goforward.wav`); // "go forward ten meters"

let real: SpeechEngine;
let app: FastifyInstance;
let port: number;
let fake: FakeDeepgram;
/** Calls that reached the engine or the store: each must stay 0 for a refused request. */
const work = { transcribe: 0, createStream: 0, getCall: 0, listCalls: 0 };

beforeAll(async () => {
  real = createPocketSphinxEngine({ poolSize: 1 });
  await real.ready();
  fake = await startFakeDeepgram(DEEPGRAM_KEY, real);
  const spy = countingEngine(real, work); // a spy on the real engine, not a fake
  const pages = mkdtempSync(join(tmpdir(), "callscribe-pages-"));
  mkdirSync(join(pages, "desktop-agent"));
  writeFileSync(join(pages, "desktop-agent", "index.html"), "<!doctype html><title>agent</title>");
  app = buildServer({ engine: spy, apiKey: KEY, staticDir: pages, deepgram: { apiKey: DEEPGRAM_KEY, baseUrl: fake.baseUrl } });
  app.register(intakePlugin, { enqueue: async () => ({ created: true, callId: "x" }) });
  app.register(callsApiPlugin, {
    getCall: async (id) => (work.getCall++, { call_id: id, status: "done" }) as never,
    listCalls: async () => (work.listCalls++, []),
  });
  app.register(metricsPlugin, { metrics: new PipelineMetrics() });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await fake?.close();
  await real?.close();
});

/** The spellings an attacker tries for `path` (which starts with `/v1/` or is `/metrics`). */
function spellings(path: string): string[] {
  const [, first, rest = ""] = /^\/([^/]+)(\/.*)?$/.exec(path)!;
  const encodedFirst = [...first].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
  const out = [
    path,
    `/${encodedFirst}${rest}`, // /%76%31/listen
    `/${encodedFirst.toUpperCase()}${rest}`, // /%76%31 with upper-case hex
    path.replace(/[a-z]$/, (c) => `%${c.charCodeAt(0).toString(16)}`), // last letter encoded
    `/${path}`, // //v1/listen
    path.replace(/\/([^/]+)$/, "//$1"), // /v1//listen
    path.toUpperCase(), // /V1/LISTEN
    `/${first.toUpperCase()}${rest}`, // /V1/listen
    `/x/..${path}`, // /x/../v1/listen
    `/x/%2e%2e${path}`, // encoded dot segment
    path.replace(/\/([^/]+)$/, "/./$1"), // /v1/./listen
    `${path}/`, // trailing slash
    `${path}?model=pocketsphinx`,
    `${path};x`,
  ];
  return [...new Set(out)];
}

const REFUSED = [401, 403, 404, 400];

describe("auth on the matched route, however the path is spelled", () => {
  it("the spellings include the probe's bypass", () => {
    expect(spellings("/v1/listen")).toEqual(expect.arrayContaining(["/%76%31/listen", "//v1/listen", "/V1/listen", "/x/../v1/listen", "/v1/./listen", "/v1/listen/"]));
  });

  it("POST /v1/listen with a real WAV and no key: refused in every spelling, the engine never runs", async () => {
    for (const path of spellings("/v1/listen")) {
      const res = await rawRequest(port, "POST", path, { "content-type": "audio/wav" }, WAV);
      expect(REFUSED, `${path} → ${res.status} ${res.body.slice(0, 80)}`).toContain(res.status);
      expect(res.body).not.toContain("transcript");
    }
    expect(work.transcribe).toBe(0);
    // The control: with the key the same request transcribes, so the refusals above were not an accident.
    const ok = await rawRequest(port, "POST", "/%76%31/listen", { "content-type": "audio/wav", authorization: `Token ${KEY}` }, WAV);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("transcript");
    expect(work.transcribe).toBe(1);
    work.transcribe = 0;
  }, 60_000);

  it("WebSocket /v1/listen without a key: no spelling upgrades, no session starts", async () => {
    for (const path of spellings("/v1/listen")) {
      const res = await rawUpgrade(port, `${path}${path.includes("?") ? "&" : "?"}encoding=linear16&sample_rate=16000`);
      expect(REFUSED, `${path} → ${res.status}`).toContain(res.status);
    }
    expect(work.createStream).toBe(0);
    expect(app.listenSessions.size).toBe(0);
    const ok = await rawUpgrade(port, "/%76%31/listen?encoding=linear16&sample_rate=16000", { "sec-websocket-protocol": `token, ${KEY}` });
    expect(ok.status).toBe(101);
  }, 60_000);

  it.each([
    ["GET", "/v1/models"],
    ["POST", "/v1/auth/grant"],
    ["POST", "/v1/auth/token"],
    ["GET", "/v1/calls"],
    ["GET", "/v1/calls/call-1"],
    ["GET", "/metrics"],
    ["HEAD", "/v1/models"],
    ["HEAD", "/metrics"],
  ])("%s %s without a key: refused in every spelling, nothing is read or granted", async (method, route) => {
    for (const path of spellings(route)) {
      const body = method === "POST" ? "{}" : undefined;
      const res = await rawRequest(port, method, path, body ? { "content-type": "application/json" } : {}, body);
      expect(REFUSED, `${method} ${path} → ${res.status} ${res.body.slice(0, 120)}`).toContain(res.status);
      expect(res.body).not.toMatch(/access_token|callscribe_|"models"|"calls"|call_id|stt/);
    }
    expect(work).toMatchObject({ getCall: 0, listCalls: 0 });
    expect(fake.requests.filter((r) => r.url.includes("/auth/grant"))).toEqual([]);
  });

  it("the same routes answer with the key, so each refusal above is the guard's", async () => {
    const auth = { authorization: `Token ${KEY}` };
    expect((await rawRequest(port, "GET", "/v1/models", auth)).status).toBe(200);
    expect((await rawRequest(port, "GET", "/v1/calls/call-1", auth)).status).toBe(200);
    expect((await rawRequest(port, "GET", "/v1/calls", auth)).status).toBe(200);
    expect((await rawRequest(port, "POST", "/v1/auth/token", { ...auth, "content-type": "application/json" }, "{}")).status).toBe(200);
    const grant = await rawRequest(port, "POST", "/v1/auth/grant", { ...auth, "content-type": "application/json" }, "{}");
    expect(grant.status).toBe(200);
    expect(fake.requests.filter((r) => r.url.includes("/auth/grant")).length).toBe(1);
  });

  it("/metrics takes the key as Prometheus sends it (Bearer), and refuses a wrong one", async () => {
    const ok = await rawRequest(port, "GET", "/metrics", { authorization: `Bearer ${KEY}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("callscribe_");
    expect((await rawRequest(port, "GET", "/metrics", { authorization: "Bearer wrong-key-000000000" })).status).toBe(401);
    expect((await rawRequest(port, "GET", "/metrics")).status).toBe(401);
  });

  it("keeps /healthz, the pages and the signed webhook open (it answers by its own rules)", async () => {
    expect((await rawRequest(port, "GET", "/healthz")).status).toBe(200);
    expect((await rawRequest(port, "GET", "/desktop-agent/")).status).toBe(200);
    expect((await rawRequest(port, "GET", "/")).status).toBe(302);
    // No CALLSCRIBE_WEBHOOK_SECRET here: the webhook's own 503, not the guard's 401.
    expect((await rawRequest(port, "POST", "/v1/webhooks/recording-ready", { "content-type": "application/json" }, "{}")).status).toBe(503);
    // Twilio Media Streams authenticates by X-Twilio-Signature: without CALLSCRIBE_TWILIO_AUTH_TOKEN, its own 503.
    expect((await rawRequest(port, "GET", "/v1/twilio/media")).status).toBe(503);
  });

  it("unmatched URLs are 404 without a key, and a route added later by a plugin needs the key by default", async () => {
    expect((await rawRequest(port, "GET", "/v1/nope")).status).toBe(404);
    const other = buildServer({ engine: real, apiKey: KEY });
    other.register(async (p) => {
      p.get("/v1/added-later", async () => ({ secret: true }));
    });
    const res = await other.inject({ url: "/v1/added-later" });
    expect(res.statusCode).toBe(401);
    expect((await other.inject({ url: "/v1/added-later", headers: { authorization: `Token ${KEY}` } })).statusCode).toBe(200);
    await other.close();
  });
});
