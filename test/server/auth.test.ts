/**
 * API-key auth as Deepgram clients send it (real engine, real SDK): `Authorization: Token <key>`
 * and `Bearer <key>` on REST, the SDK's header on Node WebSockets, and the browser form
 * `Sec-WebSocket-Protocol: token, <key>`, where the server must echo `token`. Wrong or missing
 * keys get 401 (the WebSocket upgrade is refused with 401). `/healthz` stays open.
 */
import { readFileSync } from "node:fs";
import { DeepgramClient } from "@deepgram/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { corpusDir } from "../../src/eval/corpus";
import { validateErrorBody } from "../../src/server/speech/validators";
import { loadPcm16k, startServer, streamWithSdk, type RunningServer } from "./helpers";

const KEY = "test-key-0123456789abcdef";
const WAV = `${corpusDir()}/debian_pocketsphinx/goforward.wav`; // "go forward ten meters"

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ apiKey: KEY });
});

afterAll(async () => {
  await server?.close();
});

/** Outcome of a raw WebSocket handshake: opened (with the echoed subprotocol) or refused (HTTP status). */
function handshake(headers: Record<string, string>, protocols?: string[]): Promise<{ opened: boolean; status?: number; protocol?: string; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/listen?encoding=linear16&sample_rate=16000`, protocols, { headers });
    ws.once("open", () => resolve({ opened: true, protocol: ws.protocol, ws }));
    ws.once("unexpected-response", (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once("error", () => resolve({ opened: false }));
  });
}

describe("auth with CALLSCRIBE_API_KEY", () => {
  it("keeps /healthz open", async () => {
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });

  it("REST: 401 without or with a wrong key, 200 with Token or Bearer", async () => {
    const wav = readFileSync(WAV);
    const post = (authorization?: string) =>
      fetch(`${server.baseUrl}/v1/listen`, {
        method: "POST",
        body: wav,
        headers: { "content-type": "audio/wav", ...(authorization ? { authorization } : {}) },
      });
    for (const bad of [undefined, "Token wrong-key-0000000000", `Basic ${KEY}`, KEY]) {
      const res = await post(bad);
      expect(res.status, String(bad)).toBe(401);
      const body = await res.json();
      expect(validateErrorBody(body)).toBe(true);
      expect(body.err_code).toBe("INVALID_AUTH");
    }
    expect((await post(`Token ${KEY}`)).status).toBe(200);
    expect((await post(`Bearer ${KEY}`)).status).toBe(200);
  });

  it("REST through the SDK: the right key works, a wrong key is refused", async () => {
    const ok = new DeepgramClient({ apiKey: KEY, baseUrl: server.baseUrl });
    const body = await ok.listen.v1.media.transcribeFile(readFileSync(WAV), { model: "pocketsphinx" });
    expect("results" in body && body.results.channels.length).toBe(1);
    const wrong = new DeepgramClient({ apiKey: "wrong-key-0000000000", baseUrl: server.baseUrl });
    await expect(wrong.listen.v1.media.transcribeFile(readFileSync(WAV), { model: "pocketsphinx" })).rejects.toMatchObject({ statusCode: 401 });
  });

  it("WebSocket through the SDK (Authorization header): works with the key", async () => {
    const pcm = await loadPcm16k(WAV);
    const out = await streamWithSdk(server.baseUrl, pcm, { apiKey: KEY });
    expect(out.close.code).toBe(1000);
    expect(out.finals[0].length).toBeGreaterThan(0);
  });

  it("WebSocket with the browser's subprotocol form: `token, <key>` opens and the server echoes `token`", async () => {
    const r = await handshake({}, ["token", KEY]);
    expect(r.opened).toBe(true);
    expect(r.protocol).toBe("token");
    r.ws?.close();
    const b = await handshake({}, ["bearer", KEY]);
    expect(b.opened).toBe(true);
    expect(b.protocol).toBe("bearer");
    b.ws?.close();
  });

  it("WebSocket: the upgrade is refused with 401 for a wrong key, no key, or a wrong subprotocol key", async () => {
    expect(await handshake({})).toMatchObject({ opened: false, status: 401 });
    expect(await handshake({ authorization: "Token wrong-key-0000000000" })).toMatchObject({ opened: false, status: 401 });
    expect(await handshake({}, ["token", "wrong-key-0000000000"])).toMatchObject({ opened: false, status: 401 });
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  });
});
