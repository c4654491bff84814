/**
 * A Genesys Cloud AudioHook (protocol v2) client for tests, written from the public spec
 * (developer.genesys.cloud, "AudioHook protocol") and independent of the server's modules: it
 * connects with the `Audiohook-*` and `X-API-KEY` headers and, given a client secret, an HTTP
 * Message Signature (RFC 9421: HMAC-SHA256 over `@request-target`, `@authority` and the four
 * headers, with keyid, nonce, alg, created and expires); sends `open` with media offers; streams
 * PCMU frames at a chosen pace; answers the server's `pause` (`paused`), `resume` (`resumed`)
 * and `disconnect` (`close` with reason `disconnect`) like Genesys does; and records every server
 * message. Envelopes (`seq`, `serverseq`, `position`) are filled in unless a test overrides them.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import WebSocket from "ws";

/** A server message as received. */
export interface ServerMsg {
  version: string;
  id: string;
  type: string;
  seq: number;
  clientseq: number;
  parameters: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Signature knobs for tests (defaults: a correct, fresh signature). */
export interface SignOptions {
  /** Unix seconds; default now. */
  created?: number;
  /** Seconds after `created`; default 30. */
  lifetime?: number;
  /** Default 24 random base64 characters. */
  nonce?: string;
  /** Sign with this secret instead of the client's (a bad signature). */
  wrongSecret?: Buffer;
  /** Leave these components out of the signature. */
  omit?: string[];
}

/** Options of {@link AudiohookTestClient.connect}. */
export interface AudiohookClientOptions {
  /** `ws://127.0.0.1:<port>/v1/audiohook` */
  url: string;
  apiKey?: string;
  /** Sign the upgrade with this (decoded) client secret. */
  clientSecret?: Buffer;
  sign?: SignOptions;
  organizationId?: string;
  sessionId?: string;
  correlationId?: string;
  /** Extra or replacement request headers. */
  headers?: Record<string, string>;
  /** Answer `pause`/`resume`/`disconnect` automatically (default true). */
  auto?: boolean;
}

/** The upgrade was refused with an HTTP response. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upgrade refused: HTTP ${status} ${body}`);
  }
}

/** `PT<seconds>S` with millisecond precision. */
export const dur = (seconds: number) => `PT${Number(seconds.toFixed(3))}S`;
/** Seconds of `PT<seconds>S`. */
export const secondsOf = (d: string) => Number(/^PT([0-9.]+)S$/.exec(d)![1]);

/** Build the signature headers for an upgrade to `url` (RFC 9421 §2.5 signature base). */
export function signatureHeaders(url: URL, headers: Record<string, string>, apiKey: string, secret: Buffer, o: SignOptions = {}): Record<string, string> {
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const nonce = o.nonce ?? randomBytes(18).toString("base64");
  const components: [string, string][] = [
    ["@request-target", url.pathname + url.search],
    ["@authority", url.host],
    ["audiohook-organization-id", headers["Audiohook-Organization-Id"]!],
    ["audiohook-session-id", headers["Audiohook-Session-Id"]!],
    ["audiohook-correlation-id", headers["Audiohook-Correlation-Id"]!],
    ["x-api-key", apiKey],
  ];
  const used = components.filter(([n]) => !(o.omit ?? []).includes(n));
  const params = `(${used.map(([n]) => `"${n}"`).join(" ")});keyid="${apiKey}";nonce="${nonce}";alg="hmac-sha256";created=${created};expires=${created + (o.lifetime ?? 30)}`;
  const base = [...used.map(([n, v]) => `"${n}": ${v}`), `"@signature-params": ${params}`].join("\n");
  const mac = createHmac("sha256", o.wrongSecret ?? secret).update(base).digest("base64");
  return { "Signature-Input": `sig1=${params}`, Signature: `sig1=:${mac}:` };
}

/** A PCMU 8 kHz media offer. */
export const pcmu = (channels: ("external" | "internal")[]) => ({ type: "audio" as const, format: "PCMU", channels, rate: 8000 });

/** One AudioHook client connection. */
export class AudiohookTestClient {
  readonly messages: ServerMsg[] = [];
  /** Non-JSON or otherwise unexpected text the server sent. */
  readonly junk: string[] = [];
  seq = 0;
  serverseq = 0;
  /** Seconds of audio sent (plus discarded), the client's stream position. */
  position = 0;
  readonly sessionId: string;
  closed?: Promise<{ code: number; reason: string }>;
  private waiters: { test: (m: ServerMsg) => boolean; resolve: (m: ServerMsg) => void }[] = [];
  private pausedAt?: number;
  /** Set while the server asked to pause: {@link streamAudio} stops sending. */
  paused = false;

  private constructor(
    readonly ws: WebSocket,
    sessionId: string,
    private readonly auto: boolean,
  ) {
    this.sessionId = sessionId;
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return void this.junk.push("<binary>");
      let m: ServerMsg;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return void this.junk.push(data.toString());
      }
      this.messages.push(m);
      if (typeof m.seq === "number") this.serverseq = m.seq;
      if (this.auto) this.react(m);
      for (const w of [...this.waiters]) {
        if (w.test(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  /**
   * Connect (the WebSocket upgrade).
   * @throws UpgradeRefused with the HTTP status and body when the server refuses the upgrade
   */
  static connect(o: AudiohookClientOptions): Promise<AudiohookTestClient> {
    const url = new URL(o.url);
    const sessionId = o.sessionId ?? randomUUID();
    const headers: Record<string, string> = {
      "Audiohook-Organization-Id": o.organizationId ?? "d7934305-0972-4844-938e-9060eef73d05",
      "Audiohook-Session-Id": sessionId,
      "Audiohook-Correlation-Id": o.correlationId ?? randomUUID(),
      ...(o.apiKey !== undefined && { "X-API-KEY": o.apiKey }),
    };
    if (o.clientSecret && o.apiKey !== undefined) Object.assign(headers, signatureHeaders(url, headers, o.apiKey, o.clientSecret, o.sign));
    Object.assign(headers, o.headers);
    const ws = new WebSocket(url, { headers, followRedirects: false });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new AudiohookTestClient(ws, sessionId, o.auto ?? true)));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
        res.on("error", () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      });
      ws.once("error", (err) => reject(err));
    });
  }

  private react(m: ServerMsg): void {
    if (m.type === "pause" && !this.paused) {
      this.paused = true;
      this.pausedAt = this.position;
      this.send("paused", {});
    } else if (m.type === "resume" && this.paused) {
      this.paused = false;
      this.send("resumed", { start: dur(this.pausedAt ?? this.position), discarded: "PT0S" });
    } else if (m.type === "disconnect") {
      this.send("close", { reason: "disconnect" });
    }
  }

  /** Send a client message; `override` replaces envelope fields (e.g. a wrong `seq`). */
  send(type: string, parameters: object, override: Record<string, unknown> = {}): void {
    const m = { version: "2", id: this.sessionId, type, seq: ++this.seq, serverseq: this.serverseq, position: dur(this.position), parameters, ...override };
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  /** Send raw text or bytes. */
  sendRaw(data: string | Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  /** Send one audio frame of `channels` interleaved PCMU channels. */
  sendAudio(frame: Uint8Array, channels = 2): void {
    this.position += frame.length / channels / 8000;
    this.sendRaw(frame);
  }

  /** The next server message (already received or still to come) of `type` after `afterSeq`. */
  next(type: string, timeoutMs = 10_000, afterSeq = 0): Promise<ServerMsg> {
    const test = (m: ServerMsg) => m.type === type && m.seq > afterSeq;
    const have = this.messages.find(test);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (m: ServerMsg) => (clearTimeout(t), resolve(m)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no ${type} message within ${timeoutMs} ms; got ${this.messages.map((x) => x.type).join(", ") || "nothing"}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Send `open` and wait for `opened` (or `disconnect`, whichever comes first). */
  async open(p: { conversationId: string; participant?: object; media?: object[]; language?: string; supportedLanguages?: boolean }, timeoutMs = 10_000): Promise<ServerMsg> {
    this.send("open", {
      organizationId: "d7934305-0972-4844-938e-9060eef73d05",
      conversationId: p.conversationId,
      participant: p.participant ?? { id: randomUUID(), ani: "+14155550100", aniName: "Bob Customer", dnis: "+18005550199" },
      media: p.media ?? [pcmu(["external", "internal"]), pcmu(["external"]), pcmu(["internal"])],
      ...(p.language && { language: p.language }),
      ...(p.supportedLanguages !== undefined && { supportedLanguages: p.supportedLanguages }),
    });
    return Promise.race([this.next("opened", timeoutMs), this.next("disconnect", timeoutMs)]);
  }

  /**
   * Stream interleaved PCMU in frames of `frameMs`, at `speed` × real time (0: as fast as the
   * socket takes it). Waits while the server has paused the stream (the paused span is skipped,
   * as Genesys discards audio during a pause).
   */
  async streamAudio(audio: Uint8Array, o: { channels?: number; frameMs?: number; speed?: number } = {}): Promise<void> {
    const channels = o.channels ?? 2;
    const frameBytes = Math.round((8000 * (o.frameMs ?? 100)) / 1000) * channels;
    const speed = o.speed ?? 1;
    const t0 = Date.now();
    let sentSeconds = 0;
    for (let i = 0; i < audio.length; i += frameBytes) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      while (this.paused && this.ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 20));
      const frame = audio.subarray(i, Math.min(audio.length, i + frameBytes));
      this.sendAudio(frame, channels);
      sentSeconds += frame.length / channels / 8000;
      if (speed > 0) {
        const due = t0 + (sentSeconds * 1000) / speed - Date.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      } else if (this.ws.bufferedAmount > 1 << 20) {
        while (this.ws.bufferedAmount > 1 << 18) await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Send `close` (reason `end`) and wait for `closed`. */
  async close(reason = "end", timeoutMs = 60_000): Promise<ServerMsg> {
    const after = this.serverseq;
    this.send("close", { reason });
    return this.next("closed", timeoutMs, after);
  }

  /** Close the socket itself (after `closed`, as Genesys does, or abruptly). */
  async hangUp(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    await this.closed;
  }

  /** Server messages of a type. */
  of(type: string): ServerMsg[] {
    return this.messages.filter((m) => m.type === type);
  }
}
