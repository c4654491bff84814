/**
 * A Twilio Media Streams client for tests, written from Twilio's public docs ("Media Streams -
 * WebSocket Messages", "Webhooks security"), independent of the server's code: it plays Twilio's
 * part of a `<Start><Stream track="both_tracks">` stream.
 *
 * - The upgrade carries `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the wss URL)), the URL
 *   as Twilio would have it in `<Stream url>` (`signedUrl`, default the URL connected to).
 * - Messages: `connected`, `start` (streamSid, accountSid, callSid, tracks, customParameters,
 *   mediaFormat audio/x-mulaw 8000 1), `media` per track per 20 ms chunk (`track`, `chunk` counting
 *   from 1 per track, `timestamp` ms since start, base64 `payload`), `stop`; every message's
 *   `sequenceNumber` counts from 1 over the stream ("connected" has none), numbers as strings.
 * - {@link streamCall} sends both tracks' chunks interleaved as Twilio does (outbound then inbound
 *   for each 20 ms), at real-time pace or `speed` times faster.
 */
import { createHmac, randomBytes } from "node:crypto";
import WebSocket from "ws";

/** Twilio's track names: `inbound` = the caller (customer), `outbound` = the agent's side. */
export type Track = "inbound" | "outbound";

/** Signature of a URL as Twilio computes it (no POST parameters on a WebSocket upgrade). */
export function signTwilioUrl(authToken: string, url: string): string {
  return createHmac("sha1", authToken).update(url, "utf8").digest("base64");
}

/** Options of {@link TwilioMediaClient.connect}. */
export interface ConnectOptions {
  /** `ws://127.0.0.1:PORT/v1/twilio/media` */
  url: string;
  /** The auth token to sign with; undefined: no signature header. */
  authToken?: string;
  /** The URL to sign (Twilio signs the public wss URL); default `url`. */
  signedUrl?: string;
  /** A signature to send as is, instead of computing one. */
  signature?: string;
  /** Extra headers (e.g. `host`). */
  headers?: Record<string, string>;
}

/** How a connection attempt ended before or at the upgrade. */
export interface UpgradeRefusal {
  status: number;
  body: string;
}

/** A random Twilio-style SID: two letters and 32 hex digits. */
export function sid(prefix: "CA" | "MZ" | "AC"): string {
  return prefix + randomBytes(16).toString("hex");
}

/** One stream's socket plus the helpers to speak Twilio's side. */
export class TwilioMediaClient {
  private seq = 0;
  private readonly chunks: Record<Track, number> = { inbound: 0, outbound: 0 };
  readonly streamSid = sid("MZ");
  readonly accountSid = sid("AC");
  /** Close code and reason once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
  }

  /**
   * Open the WebSocket as Twilio would.
   * @returns the client, or the HTTP refusal (status and body) when the upgrade was refused
   */
  static connect(options: ConnectOptions): Promise<TwilioMediaClient | UpgradeRefusal> {
    const headers: Record<string, string> = { ...options.headers };
    const signature = options.signature ?? (options.authToken !== undefined ? signTwilioUrl(options.authToken, options.signedUrl ?? options.url) : undefined);
    if (signature !== undefined) headers["x-twilio-signature"] = signature;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(options.url, { headers });
      ws.once("open", () => resolve(new TwilioMediaClient(ws)));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once("error", (err) => reject(err));
    });
  }

  /** Send any JSON (or raw text) frame. */
  send(message: object | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  private next(): string {
    return String(++this.seq);
  }

  connected(): void {
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
  }

  start(o: { callSid?: string; tracks?: Track[]; customParameters?: Record<string, string> } = {}): string {
    const callSid = o.callSid ?? sid("CA");
    this.send({
      event: "start",
      sequenceNumber: this.next(),
      start: {
        accountSid: this.accountSid,
        streamSid: this.streamSid,
        callSid,
        tracks: o.tracks ?? ["inbound", "outbound"],
        customParameters: o.customParameters ?? {},
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
      streamSid: this.streamSid,
    });
    return callSid;
  }

  /** One media message: `payload` μ-law bytes (or a raw base64 string) of `track` at `timestampMs`. */
  media(track: Track, timestampMs: number, payload: Uint8Array | string): void {
    this.send({
      event: "media",
      sequenceNumber: this.next(),
      media: {
        track,
        chunk: String(++this.chunks[track]),
        timestamp: String(Math.round(timestampMs)),
        payload: typeof payload === "string" ? payload : Buffer.from(payload).toString("base64"),
      },
      streamSid: this.streamSid,
    });
  }

  dtmf(digit: string): void {
    this.send({ event: "dtmf", streamSid: this.streamSid, sequenceNumber: this.next(), dtmf: { track: "inbound_track", digit } });
  }

  mark(name: string): void {
    this.send({ event: "mark", sequenceNumber: this.next(), streamSid: this.streamSid, mark: { name } });
  }

  stop(callSid: string): void {
    this.send({ event: "stop", sequenceNumber: this.next(), streamSid: this.streamSid, stop: { accountSid: this.accountSid, callSid } });
  }

  /** Close the socket without `stop` (a dropped stream). */
  drop(): void {
    this.ws.terminate();
  }
}

/** Options of {@link streamCall}. */
export interface StreamCallOptions {
  /** Tracks to send. Default both. */
  tracks?: Track[];
  /** Chunk length, ms (Twilio: 20). */
  chunkMs?: number;
  /** Pace: 1 = real time; 4 = four times faster; Infinity = as fast as the socket takes it. Default 1. */
  speed?: number;
}

/**
 * Send a stereo μ-law call as Twilio's two tracks: `agent` (channel 0 of a stereo call) as
 * `outbound`, `customer` (channel 1) as `inbound`, 20 ms chunks, outbound then inbound for each
 * chunk, paced.
 * @param agent μ-law 8 kHz mono bytes of the agent's leg
 * @param customer μ-law 8 kHz mono bytes of the customer's leg (same length)
 */
export async function streamCall(client: TwilioMediaClient, agent: Uint8Array, customer: Uint8Array, options: StreamCallOptions = {}): Promise<void> {
  const tracks = options.tracks ?? ["inbound", "outbound"];
  const chunkMs = options.chunkMs ?? 20;
  const speed = options.speed ?? 1;
  const size = chunkMs * 8;
  const startedAt = Date.now();
  const total = Math.max(agent.length, customer.length);
  for (let at = 0, i = 0; at < total; at += size, i++) {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    const ts = (at / 8) | 0;
    if (tracks.includes("outbound")) client.media("outbound", ts, agent.subarray(at, at + size));
    if (tracks.includes("inbound")) client.media("inbound", ts, customer.subarray(at, at + size));
    if (Number.isFinite(speed)) {
      const due = startedAt + ((i + 1) * chunkMs) / speed;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } else if (client.ws.bufferedAmount > 1 << 20) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
