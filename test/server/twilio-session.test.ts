/**
 * The Twilio stream's state machine (`telephony/twilio/session.ts`) through its real route on a
 * bare Fastify app, with a fake live-call hub (`FakeLiveCallHub`: records what the session writes
 * and how the call ended; the real hub's behaviour is tested in `twilio-media.test.ts`). This
 * checks what only a recording hub can see: the exact stereo bytes written (channel 0 = outbound,
 * channel 1 = inbound), messages held while the call opens, and the hub's refusals mapped to
 * close codes.
 */
import Fastify, { type FastifyInstance } from "fastify";
import fastifyWebsocket from "@fastify/websocket";
import { afterEach, describe, expect, it } from "vitest";
import {
  CallAlreadyStreamingError,
  LiveCallCapacityError,
  type CallAudioFormat,
  type CallTranscription,
  type LiveCallEvent,
  type LiveCallStart,
} from "../../src/server/live-calls/types";
import { twilioMediaRoutes } from "../../src/server/telephony/twilio/route";
import type { LiveCallOpener } from "../../src/server/telephony/twilio/session";
import { TwilioMediaClient } from "../support/twilio-media-client";

const TOKEN = "session-test-token-0123456789";

/** A fake hub: every opened call records its writes and its end. */
class FakeLiveCallHub implements LiveCallOpener {
  readonly calls: {
    start: LiveCallStart & { format: CallAudioFormat };
    bytes: number[];
    ended?: { how: "end" | "interrupt"; reason?: string };
    listeners: ((e: LiveCallEvent) => void)[];
  }[] = [];
  delayMs = 0;
  refuse?: Error;
  async openCall(start: LiveCallStart & { format: CallAudioFormat }): Promise<CallTranscription> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.refuse) throw this.refuse;
    const rec: (typeof this.calls)[number] = { start, bytes: [], listeners: [] };
    this.calls.push(rec);
    return {
      callId: start.callId,
      write: (b) => rec.bytes.push(...b),
      onEvent: (l) => {
        rec.listeners.push(l);
        return () => undefined;
      },
      updateMetadata: () => undefined,
      setFlowControl: () => undefined,
      end: async () => void (rec.ended = { how: "end" }),
      interrupt: async (reason) => void (rec.ended = { how: "interrupt", reason }),
    };
  }
}

let app: FastifyInstance | undefined;

async function serve(hub: LiveCallOpener, idleTimeoutMs = 5000): Promise<string> {
  app = Fastify();
  await app.register(fastifyWebsocket);
  await app.register(twilioMediaRoutes, { authToken: TOKEN, hub, limits: { idleTimeoutMs } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}/v1/twilio/media`;
}

async function open(url: string): Promise<TwilioMediaClient> {
  const c = await TwilioMediaClient.connect({ url, authToken: TOKEN });
  if (!(c instanceof TwilioMediaClient)) throw new Error(`refused ${c.status}`);
  return c;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("Twilio stream session (fake hub)", () => {
  it("writes interleaved stereo μ-law: outbound on channel 0, inbound on channel 1, PCMU 8 kHz × 2, source twilio", async () => {
    const hub = new FakeLiveCallHub();
    const c = await open(await serve(hub));
    c.connected();
    const sid = c.start({ customParameters: { callId: "c-1", agentName: "A" } });
    for (let k = 0; k < 5; k++) {
      c.media("outbound", k * 20, new Uint8Array(160).fill(10 + k));
      c.media("inbound", k * 20, new Uint8Array(160).fill(100 + k));
    }
    c.stop(sid);
    expect((await c.closed).code).toBe(1000);
    await until(() => hub.calls[0]?.ended !== undefined);
    const call = hub.calls[0]!;
    expect(call.start).toMatchObject({ callId: "c-1", source: "twilio", format: { encoding: "mulaw", sampleRate: 8000, channels: 2 } });
    expect(call.ended).toEqual({ how: "end" });
    expect(call.bytes.length).toBe(5 * 160 * 2);
    for (let i = 0; i < call.bytes.length; i += 2) {
      const k = Math.floor(i / 2 / 160);
      expect(call.bytes[i]).toBe(10 + k);
      expect(call.bytes[i + 1]).toBe(100 + k);
    }
  });

  it("holds the messages that arrive while the call opens, and writes them after", async () => {
    const hub = new FakeLiveCallHub();
    hub.delayMs = 300;
    const c = await open(await serve(hub));
    const sid = c.start({ customParameters: { callId: "c-2" }, tracks: ["inbound"] });
    for (let k = 0; k < 10; k++) c.media("inbound", k * 20, new Uint8Array(160).fill(7));
    c.stop(sid);
    await until(() => hub.calls[0]?.ended !== undefined);
    expect(hub.calls[0]!.ended).toEqual({ how: "end" });
    expect(hub.calls[0]!.bytes.length).toBe(10 * 160 * 2);
    expect(hub.calls[0]!.bytes.filter((_, i) => i % 2 === 0).every((b) => b === 0xff)).toBe(true); // no agent track: silence
  });

  it.each([
    ["CallAlreadyStreamingError", new CallAlreadyStreamingError("c-3"), 1008, /call c-3 is already streaming/],
    ["LiveCallCapacityError", new LiveCallCapacityError("server at capacity: try again later"), 1013, /server at capacity/],
    ["any other failure", new Error("disk on fire"), 1011, /^the live call could not be opened; try again later$/],
  ])("the hub's %s closes the stream with its code and reason", async (_name, err, code, reason) => {
    const hub = new FakeLiveCallHub();
    hub.refuse = err;
    const c = await open(await serve(hub));
    c.start({ customParameters: { callId: "c-3" } });
    const closed = await c.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(reason);
  });

  it("a socket that closes while the call opens: the call is interrupted as soon as it is open", async () => {
    const hub = new FakeLiveCallHub();
    hub.delayMs = 300;
    const c = await open(await serve(hub));
    c.start({ customParameters: { callId: "c-4" } });
    await new Promise((r) => setTimeout(r, 50));
    c.drop();
    await until(() => hub.calls[0]?.ended !== undefined);
    expect(hub.calls[0]!.ended).toEqual({ how: "interrupt", reason: "socket closed without a stop message" });
  });

  it("a streamSid that is not the stream's: 1008, the call interrupted", async () => {
    const hub = new FakeLiveCallHub();
    const c = await open(await serve(hub));
    c.start({ customParameters: { callId: "c-5" } });
    await until(() => hub.calls.length === 1);
    c.send({ event: "media", streamSid: "MZother", media: { track: "inbound", timestamp: "0", payload: "/w==" } });
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/media message for stream MZother/);
    await until(() => hub.calls[0]?.ended !== undefined);
    expect(hub.calls[0]!.ended?.how).toBe("interrupt");
  });

  it("a timestamp jumping more than 10 s ahead is refused (bounded buffers)", async () => {
    const hub = new FakeLiveCallHub();
    const c = await open(await serve(hub));
    c.start({ customParameters: { callId: "c-6" } });
    c.media("inbound", 0, new Uint8Array(160));
    c.media("inbound", 3_600_000, new Uint8Array(160));
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/jumps \d+ ms past the track's end/);
  });

  it("a call that ends on its own (its engine failed) closes the stream with 1011 and the reason", async () => {
    const hub = new FakeLiveCallHub();
    const c = await open(await serve(hub));
    c.start({ customParameters: { callId: "c-7" } });
    await until(() => (hub.calls[0]?.listeners.length ?? 0) > 0);
    for (const l of hub.calls[0]!.listeners) l({ type: "CallEnded", status: "failed", reason: "engine session failed: decoder crashed" });
    expect(await c.closed).toEqual({ code: 1011, reason: "engine session failed: decoder crashed" });
  });

  it("no start within the idle timeout: 1008", async () => {
    const hub = new FakeLiveCallHub();
    const c = await open(await serve(hub, 300));
    c.connected();
    expect(await c.closed).toEqual({ code: 1008, reason: "no start message within 0.3 s" });
    expect(hub.calls).toHaveLength(0);
  });
});
