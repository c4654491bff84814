/**
 * Issue 7 §3: short-lived, scoped tokens for our own server (`POST /v1/auth/token`), so the
 * browser desktop works with CALLSCRIBE_API_KEY set without holding the key. The desktop secret
 * mints `listen` tokens and nothing else; a `listen` token opens `/v1/listen` (WebSocket, through
 * the real @deepgram/sdk and in the browser's subprotocol form; POST with a real WAV) and
 * `/v1/models`, but not `/v1/calls*`, `/metrics`, Deepgram grants (the FAKE Deepgram, standing
 * in for the unreachable cloud, sees no request) or more tokens. Tokens expire, and a forged or
 * altered one is refused. The host's token source (`src/desktop-agent/serverTokens.ts`) caches
 * and refreshes before expiry, against the real server.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ServerTokenSource } from "../../src/desktop-agent/serverTokens";
import { fetchFinishedRecordings } from "../../src/transcriber/recordings/client";
import { corpusDir } from "../../src/eval/corpus";
import { ServerTokens } from "../../src/server/auth";
import { loadConfig } from "../../src/server/config";
import { metricsPlugin, PipelineMetrics } from "../../src/server/observability/metrics";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import { startFakeDeepgram, type FakeDeepgram } from "../support/fake-deepgram";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/server/app";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { loadPcm16k, streamWithSdk } from "./helpers";

/** The speech server's section of the configuration. */
const serverConfig = (env: NodeJS.ProcessEnv) => loadConfig(env, { role: "server" }).server;

const KEY = "token-test-key-0123456789";
const SECRET = "desktop-secret-0123456789abcdef";
const DEEPGRAM_KEY = "fake-deepgram-key-0123456789";
const WAV_PATH = `${corpusDir()}/debian_pocketsphinx/goforward.wav`;

let server: { baseUrl: string; port: number; app: FastifyInstance };
let engine: SpeechEngine;
let fake: FakeDeepgram;

beforeAll(async () => {
  engine = createPocketSphinxEngine({ poolSize: 1 });
  await engine.ready();
  fake = await startFakeDeepgram(DEEPGRAM_KEY, engine);
  const app = buildServer({ engine, apiKey: KEY, desktopSecret: SECRET, tokenTtlSeconds: 120, deepgram: { apiKey: DEEPGRAM_KEY, baseUrl: fake.baseUrl } });
  app.register(callsApiPlugin, { getCall: async () => null, listCalls: async () => [] });
  app.register(metricsPlugin, { metrics: new PipelineMetrics() });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  server = { app, port, baseUrl: `http://127.0.0.1:${port}` };
}, 60_000);

afterAll(async () => {
  await server?.app.close();
  await fake?.close();
  await engine?.close();
});

async function mint(credential?: string, body: unknown = { scope: "listen" }): Promise<Response> {
  return fetch(`${server.baseUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(credential ? { authorization: `Token ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
}

async function listenToken(): Promise<string> {
  const res = await mint(SECRET);
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body).toMatchObject({ scope: "listen", expires_in: 120 });
  expect(res.headers.get("cache-control")).toBe("no-store");
  return body.access_token;
}

describe("POST /v1/auth/token", () => {
  it("mints for the desktop secret or the key, never for nobody or a wrong secret", async () => {
    expect((await mint()).status).toBe(401);
    expect((await mint("wrong-secret-0123456789")).status).toBe(401);
    expect((await mint(KEY)).status).toBe(200);
    await listenToken();
    expect((await mint(SECRET, { scope: "calls" })).status).toBe(400);
    // Never longer than configured.
    expect((await (await mint(SECRET, { scope: "listen", ttl_seconds: 86_400 })).json()).expires_in).toBe(120);
  });

  it("the desktop secret opens nothing but the token route", async () => {
    const auth = { authorization: `Token ${SECRET}` };
    expect((await fetch(`${server.baseUrl}/v1/models`, { headers: auth })).status).toBe(403);
    expect((await fetch(`${server.baseUrl}/v1/calls`, { headers: auth })).status).toBe(403);
  });
});

describe("a library token", () => {
  it("reads calls (the Library and the recordings panel) but does not listen, write, read metrics or mint", async () => {
    const res = await mint(SECRET, { scope: "library" });
    expect(res.status).toBe(200);
    const { access_token: token, scope } = await res.json();
    expect(scope).toBe("library");
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${server.baseUrl}/v1/calls`, { headers: auth })).status).toBe(200);
    expect(await fetchFinishedRecordings({ baseUrl: server.baseUrl, apiKey: token })).toEqual([]);
    for (const [method, path] of [["GET", "/v1/models"], ["POST", "/v1/listen"], ["GET", "/metrics"], ["POST", "/v1/auth/grant"], ["POST", "/v1/auth/token"]] as const) {
      const r = await fetch(`${server.baseUrl}${path}`, { method, headers: auth });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
  });
});

describe("a listen token", () => {
  it("opens /v1/models and POST /v1/listen (real WAV → transcript)", async () => {
    const token = await listenToken();
    expect((await fetch(`${server.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const res = await fetch(`${server.baseUrl}/v1/listen`, { method: "POST", body: readFileSync(WAV_PATH), headers: { "content-type": "audio/wav", authorization: `Token ${token}` } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.results.channels[0].alternatives[0].transcript).toMatch(/forward/);
  }, 30_000);

  it("opens a live session through the SDK and in the browser's subprotocol form", async () => {
    const token = await listenToken();
    const out = await streamWithSdk(server.baseUrl, await loadPcm16k(WAV_PATH), { apiKey: token });
    expect(out.close.code).toBe(1000);
    expect(out.finals.join(" ")).toMatch(/forward/);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?encoding=linear16&sample_rate=16000`, ["token", token]);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.protocol).toBe("token");
    ws.close();
  }, 60_000);

  it("does not read calls or metrics, mint Deepgram grants, or mint more tokens", async () => {
    const token = await listenToken();
    const auth = { authorization: `Bearer ${token}` };
    for (const [method, path] of [["GET", "/v1/calls"], ["GET", "/v1/calls/call-1"], ["GET", "/metrics"], ["POST", "/v1/auth/grant"], ["POST", "/v1/auth/token"]] as const) {
      const res = await fetch(`${server.baseUrl}${path}`, { method, headers: auth });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await res.json()).err_code).toBe("INSUFFICIENT_PERMISSIONS");
    }
    expect(fake.requests.filter((r) => r.url.includes("/auth/grant"))).toEqual([]);
    // The key still mints a Deepgram grant: the 403 above was the scope.
    expect((await fetch(`${server.baseUrl}/v1/auth/grant`, { method: "POST", headers: { authorization: `Token ${KEY}` } })).status).toBe(200);
  });

  it("in the transcriber's Recordings panel, says plainly that recorded calls need the server's key", async () => {
    const token = await listenToken();
    await expect(fetchFinishedRecordings({ baseUrl: server.baseUrl, apiKey: token })).rejects.toThrow(
      /may transcribe but not read recorded calls: the server keeps them behind its API key/,
    );
  });

  it("is refused when forged, altered or signed by another server", async () => {
    const token = await listenToken();
    const [p, payload, mac] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const altered = `${p}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600 })).toString("base64url")}.${mac}`;
    const other = new ServerTokens(600).mint("listen").access_token;
    for (const bad of [altered, other, `${token}x`, "cs1..", token.replace(/^cs1/, "cs2")]) {
      expect((await fetch(`${server.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${bad}` } })).status, bad).toBe(401);
    }
  });
});

describe("ServerTokens", () => {
  it("expires tokens after their lifetime, and caps the lifetime", () => {
    let now = 1_000_000;
    const tokens = new ServerTokens(600, undefined, () => now);
    const t = tokens.mint("listen");
    expect(t.expires_in).toBe(600);
    expect(tokens.verify(t.access_token)).toBe("listen");
    now += 599_000;
    expect(tokens.verify(t.access_token)).toBe("listen");
    now += 1_000;
    expect(tokens.verify(t.access_token)).toBeUndefined();
    expect(tokens.mint("listen", 10_000).expires_in).toBe(600);
  });

  it("CALLSCRIBE_TOKEN_TTL_SECONDS sets the lifetime (30..86400), default 600", () => {
    expect(serverConfig({}).tokenTtlSeconds).toBe(600);
    expect(serverConfig({ CALLSCRIBE_TOKEN_TTL_SECONDS: "300" }).tokenTtlSeconds).toBe(300);
    expect(() => serverConfig({ CALLSCRIBE_TOKEN_TTL_SECONDS: "5" })).toThrow(/CALLSCRIBE_TOKEN_TTL_SECONDS/);
  });
});

describe("the desktop host's token source", () => {
  it("caches a token and mints a new one before the old expires", async () => {
    let now = Date.now();
    let mints = 0;
    const counting: typeof fetch = (input, init) => (mints++, fetch(input, init));
    const source = new ServerTokenSource(server.baseUrl, SECRET, counting, () => now);
    const first = await source.token();
    expect(await source.token()).toBe(first);
    expect(mints).toBe(1);
    now += 100_000; // 20 s of 120 left: below the refresh margin (30 s)
    const second = await source.token();
    expect(second).not.toBe(first);
    expect(mints).toBe(2);
    expect((await fetch(`${server.baseUrl}/v1/models`, { headers: { authorization: `Token ${second}` } })).status).toBe(200);
  });

  it("says the desktop link is needed when it has no secret", async () => {
    await expect(new ServerTokenSource(server.baseUrl, undefined).token()).rejects.toThrow(/desktop link/);
  });
});
