/**
 * The server shell: configuration from the environment (ajv, errors name the variable), the
 * composition root (`npm run server` as a child process), `/healthz` readiness, static pages with
 * the `/` redirect, and the plain-GET answer of the WebSocket endpoint.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/eval/free-port";
import { buildServer } from "../../src/server/app";
import { ConfigError, loadConfig } from "../../src/server/config";
import type { SpeechEngine } from "../../src/server/speech/engines/engine";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";

/** The speech server's section of the configuration. */
const serverConfig = (env: NodeJS.ProcessEnv) => loadConfig(env, { role: "server" }).server;

let engine: SpeechEngine;

beforeAll(async () => {
  engine = createPocketSphinxEngine({ poolSize: 1 });
  await engine.ready();
});

afterAll(async () => {
  await engine?.close();
});

describe("loadConfig", () => {
  it("uses the defaults when nothing is set (empty counts as unset)", () => {
    expect(serverConfig({ PORT: "" })).toEqual({
      port: 8787, host: "127.0.0.1", apiKey: undefined, staticDir: undefined, logLevel: "info", maxAudioSeconds: 14_400,
      tokenTtlSeconds: 600, allowedOrigins: [], serverNames: [], headersTimeoutSeconds: 15, requestTimeoutSeconds: 120,
      // No pages served: the demo PBX is off (issue 8 §4).
      demoPbx: { enabled: false, corpusDir: expect.stringMatching(/corpus$/) },
    });
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ HOST: "not a host" }, "HOST"],
    [{ CALLSCRIBE_API_KEY: "short" }, "CALLSCRIBE_API_KEY"],
    [{ CALLSCRIBE_STATIC_DIR: "/definitely/not/here" }, "CALLSCRIBE_STATIC_DIR"],
    [{ CALLSCRIBE_LOG_LEVEL: "loud" }, "CALLSCRIBE_LOG_LEVEL"],
    [{ CALLSCRIBE_MAX_AUDIO_SECONDS: "0" }, "CALLSCRIBE_MAX_AUDIO_SECONDS"],
    [{ CALLSCRIBE_MAX_AUDIO_SECONDS: "4h" }, "CALLSCRIBE_MAX_AUDIO_SECONDS"],
  ])("refuses %o naming %s", (env, variable) => {
    let error: unknown;
    try {
      serverConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(variable);
  });

  it("never prints the API key in its error", () => {
    expect(() => serverConfig({ CALLSCRIBE_API_KEY: "has space" })).toThrow(/\(hidden\)/);
  });

  it("accepts a full valid configuration", () => {
    const dir = mkdtempSync(join(tmpdir(), "callscribe-static-"));
    expect(serverConfig({ PORT: "9000", HOST: "0.0.0.0", CALLSCRIBE_API_KEY: "k".repeat(20), CALLSCRIBE_STATIC_DIR: dir, CALLSCRIBE_LOG_LEVEL: "warn", CALLSCRIBE_MAX_AUDIO_SECONDS: "600" })).toEqual({
      port: 9000, host: "0.0.0.0", apiKey: "k".repeat(20), staticDir: dir, logLevel: "warn", maxAudioSeconds: 600,
      tokenTtlSeconds: 600, allowedOrigins: [], serverNames: [], headersTimeoutSeconds: 15, requestTimeoutSeconds: 120,
      // Pages served: the demo PBX is on.
      demoPbx: { enabled: true, corpusDir: expect.stringMatching(/corpus$/) },
    });
  });
});

describe("buildServer", () => {
  it("/healthz answers 503 until the engine is loaded, then 200", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A wrapper whose ready() waits for the test: the real engine loads too fast to observe.
    const fakeSlowStartEngine: SpeechEngine = {
      name: engine.name,
      model: engine.model,
      languages: engine.languages,
      ready: async () => {
        await gate;
        await engine.ready();
      },
      createStream: (o) => engine.createStream(o),
      transcribe: (p, o) => engine.transcribe(p, o),
      close: async () => undefined,
    };
    const app = buildServer({ engine: fakeSlowStartEngine, maxLiveChannels: 6 });
    const before = await app.inject({ url: "/healthz" });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ status: "starting" });
    release();
    await gate;
    await new Promise((r) => setTimeout(r, 10));
    const after = await app.inject({ url: "/healthz" });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ status: "ready", engine: "pocketsphinx", model: "pocketsphinx-en-us", sessions: 0, channels: 0, maxChannels: 6, liveCalls: 0 });
    await app.close();
  });

  it("serves the built pages when staticDir is given, redirects / to /desktop-agent/, and keeps them open with auth on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "callscribe-dist-"));
    mkdirSync(join(dir, "desktop-agent"));
    writeFileSync(join(dir, "desktop-agent", "index.html"), "<!doctype html><title>agent</title>");
    const app = buildServer({ engine, staticDir: dir, apiKey: "secret-key-123456" });
    const root = await app.inject({ url: "/" });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe("/desktop-agent/");
    const page = await app.inject({ url: "/desktop-agent/" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("<title>agent</title>");
    expect((await app.inject({ url: "/transcriber/nope.js" })).statusCode).toBe(404);
    expect((await app.inject({ method: "POST", url: "/v1/listen", payload: "x" })).statusCode).toBe(401);
    await app.close();
  });

  it("answers a plain GET /v1/listen with 426 and every response with a dg-request-id", async () => {
    const app = buildServer({ engine });
    const res = await app.inject({ url: "/v1/listen" });
    expect(res.statusCode).toBe(426);
    expect(res.json().err_code).toBe("UPGRADE_REQUIRED");
    expect(res.headers["dg-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    await app.close();
  });
});

describe("npm run server (composition root)", () => {
  it("starts, reports healthy, and stops cleanly on SIGTERM; a bad variable stops it with a message", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
      env: { ...process.env, PORT: String(port), CALLSCRIBE_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let healthy = false;
    for (let i = 0; i < 200 && !healthy; i++) {
      try {
        healthy = (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
      } catch {
        // not listening yet
      }
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    expect(healthy).toBe(true);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);

    const bad = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], { env: { ...process.env, PORT: "not-a-port" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    bad.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => bad.once("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toContain("PORT");
  }, 60_000);
});
