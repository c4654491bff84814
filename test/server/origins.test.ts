/**
 * Issue 7 §2: other web pages and DNS-rebound host names. In the default setup (no key), a page
 * on another origin can neither open `ws://127.0.0.1:PORT/v1/listen` (refused before the upgrade)
 * nor post a form-encoded WAV to `/v1/listen`, and a request whose `Host` is a name the server is
 * not served under (`evil.example`) cannot read `/v1/calls/:id`. Requests without `Origin` keep
 * working; the server's own origins and CALLSCRIBE_ALLOWED_ORIGINS are allowed, and only the
 * latter get CORS headers. Real HTTP on a socket; the real PocketSphinx engine behind a counting
 * spy, so "refused" also means "the engine never ran".
 */
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingEngine } from "./helpers";
import { corpusDir } from "../../src/eval/corpus";
import { buildServer } from "../../src/server/app";
import { loadConfig } from "../../src/server/config";
import { hostNameOf } from "../../src/server/request-guard";
import { callsApiPlugin } from "../../src/server/pipeline/api";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";
import { rawRequest, rawUpgrade } from "./raw-http";

/** The speech server's section of the configuration. */
const serverConfig = (env: NodeJS.ProcessEnv) => loadConfig(env, { role: "server" }).server;

const WAV = readFileSync(`${corpusDir()}/debian_pocketsphinx/goforward.wav`);
const EXTRA_ORIGIN = "http://localhost:5173";

let real: SpeechEngine;
let app: FastifyInstance;
let port: number;
const work = { transcribe: 0, createStream: 0, getCall: 0 };

beforeAll(async () => {
  real = createPocketSphinxEngine({ poolSize: 1 });
  await real.ready();
  const spy = countingEngine(real, work); // a spy on the real engine, not a fake
  app = buildServer({ engine: spy, allowedOrigins: [EXTRA_ORIGIN], serverNames: ["callscribe.internal"] });
  app.register(callsApiPlugin, {
    getCall: async (id) => (work.getCall++, { call_id: id, status: "done", participants: [{ phone: "+14155550100" }] }) as never,
    listCalls: async () => [],
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await real?.close();
});

const LIVE = "/v1/listen?encoding=linear16&sample_rate=16000";

describe("Origin", () => {
  it("refuses a WebSocket upgrade from a foreign page before upgrading; no session starts", async () => {
    for (const origin of ["http://evil.example", `http://127.0.0.1:${port + 1}`, "null", "https://127.0.0.1.evil.example"]) {
      const res = await rawUpgrade(port, LIVE, { origin });
      expect(res.status, origin).toBe(403);
      expect(JSON.parse(res.body).err_code).toBe("ORIGIN_NOT_ALLOWED");
    }
    expect(work.createStream).toBe(0);
    expect(app.listenSessions.size).toBe(0);
  });

  it("refuses a form-encoded WAV posted from a foreign page; the engine never runs", async () => {
    const res = await rawRequest(port, "POST", "/v1/listen", { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" }, WAV);
    expect(res.status).toBe(403);
    expect(res.body).not.toContain("transcript");
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(work.transcribe).toBe(0);
  });

  it("allows the server's own origins (localhost, 127.0.0.1, [::1] on its port) and no Origin at all", async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      const res = await rawRequest(port, "GET", "/v1/models", { origin });
      expect(res.status, origin).toBe(200);
      expect(res.headers["access-control-allow-origin"], origin).toBeUndefined();
    }
    expect((await rawRequest(port, "GET", "/v1/models")).status).toBe(200);
    const upgraded = await rawUpgrade(port, LIVE, { origin: `http://localhost:${port}` });
    expect(upgraded.status).toBe(101);
    const posted = await rawRequest(port, "POST", "/v1/listen", { "content-type": "audio/wav" }, WAV);
    expect(posted.status).toBe(200);
    expect(posted.body).toContain("transcript");
  }, 30_000);

  it("allows CALLSCRIBE_ALLOWED_ORIGINS with CORS headers and answers their preflight", async () => {
    const res = await rawRequest(port, "GET", "/v1/models", { origin: EXTRA_ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(EXTRA_ORIGIN);
    const preflight = await rawRequest(port, "OPTIONS", "/v1/listen", { origin: EXTRA_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-headers"]).toContain("authorization");
    const foreign = await rawRequest(port, "OPTIONS", "/v1/listen", { origin: "http://evil.example", "access-control-request-method": "POST" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("Host (DNS rebinding)", () => {
  it("refuses a Host the server is not served under: the call's participants are never read", async () => {
    for (const host of [`evil.example:${port}`, "evil.example", `localhost.evil.example:${port}`, "bad host"]) {
      const res = await rawRequest(port, "GET", "/v1/calls/call-1", { host });
      expect(res.status, host).toBe(421);
      expect(res.body).not.toContain("+1415");
    }
    // A rebound page is same-origin with itself: Origin http://evil.example:PORT and Host evil.example:PORT.
    const rebound = await rawRequest(port, "GET", "/v1/calls/call-1", { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
    expect(rebound.status).toBe(421);
    expect(work.getCall).toBe(0);
  });

  it("serves IP literals, localhost and the configured names", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `callscribe.internal:${port}`, `192.168.1.20:${port}`]) {
      expect((await rawRequest(port, "GET", "/healthz", { host })).status, host).toBe(200);
    }
    const same = await rawRequest(port, "GET", "/v1/calls/call-1", { host: `callscribe.internal:${port}`, origin: `http://callscribe.internal:${port}` });
    expect(same.status).toBe(200);
    expect(work.getCall).toBe(1);
  });

  it("hostNameOf parses names, IPv4 and bracketed IPv6, with or without a port", () => {
    expect(hostNameOf("LocalHost:8787")).toBe("localhost");
    expect(hostNameOf("[::1]:8787")).toBe("::1");
    expect(hostNameOf("10.0.0.1")).toBe("10.0.0.1");
    expect(hostNameOf("evil.example:80:80")).toBeUndefined();
    expect(hostNameOf("a b")).toBeUndefined();
  });
});

describe("configuration", () => {
  it("reads CALLSCRIBE_ALLOWED_ORIGINS and CALLSCRIBE_SERVER_NAMES as lists, and names a bad entry's variable", () => {
    const c = serverConfig({ CALLSCRIBE_ALLOWED_ORIGINS: "http://localhost:5173, https://Desk.example.com", CALLSCRIBE_SERVER_NAMES: "callscribe.internal" });
    expect(c.allowedOrigins).toEqual(["http://localhost:5173", "https://desk.example.com"]);
    expect(c.serverNames).toEqual(["callscribe.internal"]);
    expect(() => serverConfig({ CALLSCRIBE_ALLOWED_ORIGINS: "http://ok.example,http://bad.example/path" })).toThrow(/CALLSCRIBE_ALLOWED_ORIGINS/);
    expect(() => serverConfig({ CALLSCRIBE_SERVER_NAMES: "bad name" })).toThrow(/CALLSCRIBE_SERVER_NAMES/);
  });
});
