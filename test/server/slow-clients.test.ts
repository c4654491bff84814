/**
 * Issue 7 §12: slow clients (slowloris). The server, run as `npm run server` in a child process so
 * its RSS is its own, closes a connection that announced a 100 MB body and sent 1 KB once
 * CALLSCRIBE_REQUEST_TIMEOUT_SECONDS has passed, and one that trickles its headers once
 * CALLSCRIBE_HEADERS_TIMEOUT_SECONDS has passed; 50 of each leave its RSS where it was (VmRSS from
 * /proc, margin 64 MiB: the connections themselves are a few KiB each). An open WebSocket session
 * is not a slow request and outlives both timeouts. Before the fix Node's defaults applied
 * (headers 60 s, request 300 s, swept every 30 s): the probe saw them open after 75 s.
 */
import { rssBytes } from "../support/rss";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "../../src/eval/free-port";
import { buildServer } from "../../src/server/app";
import { createPocketSphinxEngine } from "../../src/server/speech/engines/pocketsphinx/index";

const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 4;
/** Node sweeps for timed-out requests every second (our connectionsCheckingInterval); plus slack for a loaded 2-core CI. */
const SLACK_MS = 4_000;
const CONNECTIONS = 50;

let child: ChildProcess;
let port: number;
let dataDir: string;

const rssKiB = (pid: number) => rssBytes(pid) / 1024;

beforeAll(async () => {
  port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), "callscribe-slow-"));
  child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    env: {
      ...process.env,
      PORT: String(port),
      CALLSCRIBE_LOG_LEVEL: "warn",
      CALLSCRIBE_DATA_DIR: dataDir,
      CALLSCRIBE_DEFAULT_MODEL: "pocketsphinx",
      CALLSCRIBE_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_S),
      CALLSCRIBE_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_S),
      CALLSCRIBE_API_KEY: "",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not become healthy");
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Open a connection, send `first`, and resolve with the ms until the server closes it (capped by `capMs`). */
function slowConnection(first: string | Buffer, trickle?: () => string): Promise<{ closedAfterMs: number; socket: Socket }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1");
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
      socket.write(first);
      if (trickle) timer = setInterval(() => socket.writable && socket.write(trickle()), 300);
    });
    socket.on("data", () => undefined);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, socket });
    });
  });
}

describe("slow clients", () => {
  it("buildServer bounds headers (15 s) and whole requests (120 s) by default", async () => {
    const engine = createPocketSphinxEngine({ poolSize: 1 });
    const app = buildServer({ engine });
    await app.ready();
    expect(app.server.headersTimeout).toBe(15_000);
    expect(app.server.requestTimeout).toBe(120_000);
    await app.close();
    await engine.close();
  });

  it(`closes ${CONNECTIONS} stalled 100 MB uploads and ${CONNECTIONS} trickled headers within the bounds, and RSS does not grow`, async () => {
    const before = rssKiB(child.pid!);
    const body = Buffer.concat([
      Buffer.from(`POST /v1/listen HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: audio/wav\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n`),
      Buffer.alloc(1024, 1),
    ]);
    let n = 0;
    const uploads = Array.from({ length: CONNECTIONS }, () => slowConnection(body));
    const headers = Array.from({ length: CONNECTIONS }, () => slowConnection(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`, () => `x-slow-${n++}: 1\r\n`));
    await new Promise((r) => setTimeout(r, 1_000));
    const during = rssKiB(child.pid!);
    const up = await Promise.all(uploads);
    const hd = await Promise.all(headers);
    const after = rssKiB(child.pid!);
    console.log(
      `slow clients: RSS before ${(before / 1024).toFixed(0)} MiB, during ${(during / 1024).toFixed(0)} MiB, after ${(after / 1024).toFixed(0)} MiB; ` +
        `uploads closed after ${Math.max(...up.map((u) => u.closedAfterMs))} ms max, headers after ${Math.max(...hd.map((h) => h.closedAfterMs))} ms max`,
    );
    for (const u of up) expect(u.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + SLACK_MS);
    for (const h of hd) expect(h.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_S * 1000 + SLACK_MS);
    // The header bound is the tighter one: trickled headers go before the request bound.
    expect(Math.max(...hd.map((h) => h.closedAfterMs))).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + 1_000);
    expect(after - before).toBeLessThan(64 * 1024);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 60_000);

  it("keeps an open live session past both timeouts", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/listen?encoding=linear16&sample_rate=16000`);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    let closed = false;
    ws.on("close", () => (closed = true));
    const silence = Buffer.alloc(3200); // 100 ms of 16 kHz PCM16
    for (let i = 0; i < (REQUEST_TIMEOUT_S + 2) * 5; i++) {
      ws.send(silence);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(closed).toBe(false);
    ws.close();
  }, 30_000);
});
