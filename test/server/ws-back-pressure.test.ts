/**
 * ws-back-pressure: a client that floods a WebSocket until the server pauses reading, then goes
 * away, is noticed within a few seconds while paused (the pings fail), where a plain pause sees
 * nothing until reading resumes. Real `ws` server and client over loopback TCP.
 */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { pauseReading, resumeReading } from "../../src/server/ws-back-pressure";

let wss: WebSocketServer | undefined;
afterEach(async () => {
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  wss = undefined;
});

/** Server that pauses each socket after its first message; resolves with the ms from the client's terminate to the server's close (or undefined after `waitMs`). */
async function floodThenVanish(pause: (s: WebSocket) => void, waitMs: number): Promise<number | undefined> {
  let serverSide: WebSocket | undefined;
  const closed = new Promise<number>((resolve) => {
    wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    wss.on("connection", (s) => {
      serverSide = s;
      s.once("message", () => pause(s));
      s.on("close", () => resolve(Date.now()));
      s.on("error", () => undefined);
    });
  });
  await new Promise((r) => wss!.once("listening", r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss!.address() as AddressInfo).port}`);
  client.on("error", () => undefined);
  await new Promise((r) => client.once("open", r));
  // Flood until the client's own send buffer holds 4 MiB: the server is not reading.
  const chunk = Buffer.alloc(64 * 1024, 0x7f);
  while (client.bufferedAmount < 4 * 1024 * 1024) {
    client.send(chunk);
    await new Promise((r) => setImmediate(r));
  }
  expect(serverSide).toBeDefined();
  const gone = Date.now();
  client.terminate();
  const at = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(r, waitMs))]);
  return at === undefined ? undefined : at - gone;
}

describe("pausing a WebSocket's reading", () => {
  it("with pauseReading, a client that goes away while paused is closed within about two pings", async () => {
    const ms = await floodThenVanish((s) => pauseReading(s, 200), 5_000);
    expect(ms).toBeDefined();
    expect(ms!).toBeLessThan(2_000);
  }, 20_000);

  it("with a plain pause it goes unnoticed (what the pings are for)", async () => {
    expect(await floodThenVanish((s) => s.pause(), 3_000)).toBeUndefined();
  }, 20_000);

  it("resumeReading stops the pings and reads on", async () => {
    let pings = 0;
    const fake = { readyState: 1, OPEN: 1, paused: false, pause() { this.paused = true; }, resume() { this.paused = false; }, ping: () => void pings++ };
    pauseReading(fake, 20);
    pauseReading(fake, 20); // idempotent: one timer
    await new Promise((r) => setTimeout(r, 110));
    const during = pings;
    resumeReading(fake);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.paused).toBe(false);
    expect(during).toBeGreaterThanOrEqual(3);
    expect(during).toBeLessThanOrEqual(6);
    expect(pings).toBe(during);
  });
});
