/**
 * A small AudioHook protocol version 2 client (Genesys Cloud AudioHook, the client side that the
 * Genesys platform plays), for the demo PBX: it connects to an AudioHook server over a WebSocket,
 * opens a session for one conversation, streams binary audio frames, answers the server's
 * `pause`/`resume`/`disconnect`, pings, and closes with the close transaction.
 *
 * Messages are JSON text frames `{version:"2", id, type, seq, …, parameters}`: the client's carry
 * `serverseq` (the last server `seq` it saw) and `position` (ISO 8601 duration of the audio
 * stream so far, e.g. `PT1.5S`); the server's carry `clientseq`. Every server message is checked
 * (ajv) before it is acted on; one that breaks the protocol ends the session with `error` + `close`.
 *
 * Sequence: connect (headers `Audiohook-Organization-Id`, `Audiohook-Session-Id`,
 * `Audiohook-Correlation-Id`, `X-API-KEY`, and the HTTP message signature when a client secret is
 * given) → `open` → `opened` (the server selects one of the offered media) → binary frames,
 * `ping`/`pong` → `close {reason}` → `closed` → the client closes the WebSocket.
 */
import { randomUUID } from "node:crypto";
import Ajv from "ajv";
import WebSocket from "ws";
import { signAudioHookRequest } from "./signature";

/** A media format offered in `open` and selected in `opened`. */
export interface AudioHookMedia {
  type: "audio";
  format: "PCMU" | "L16";
  /** Channel names in interleaving order, e.g. `["external", "internal"]`. */
  channels: string[];
  /** Hz. */
  rate: number;
}

/** `open.parameters.participant`: the external party (the customer). */
export interface AudioHookParticipant {
  id: string;
  /** The customer's number (E.164). */
  ani: string;
  /** The customer's name. */
  aniName: string;
  /** The number dialled. */
  dnis: string;
}

/** A server message as received (validated shape). */
export interface AudioHookServerMessage {
  version: "2";
  id: string;
  type: string;
  seq: number;
  clientseq: number;
  parameters: Record<string, unknown>;
}

/** Options of {@link AudioHookClient.connect}. */
export interface AudioHookClientOptions {
  /** `ws://host:port/v1/audiohook`. */
  url: string;
  apiKey: string;
  /** Decoded client secret; when given, the upgrade request is signed. */
  clientSecret?: Uint8Array;
  organizationId: string;
  conversationId: string;
  participant: AudioHookParticipant;
  /** Media offered, most preferred first. */
  media: AudioHookMedia[];
  /** BCP 47 language tag, e.g. `en-US`. */
  language?: string;
  /** Session id (default a random UUID). */
  sessionId?: string;
  /** Longest wait for the WebSocket and `opened`, ms (default 5000). */
  openTimeoutMs?: number;
  /** Longest wait for `closed` after `close`, ms (default 5000). */
  closeTimeoutMs?: number;
  /** Ping interval, ms (default 5000). */
  pingIntervalMs?: number;
  /** Every `event` message (e.g. transcript entities). */
  onEvent?: (message: AudioHookServerMessage) => void;
  /** The session ended (closed, refused, dropped): why, and who ended it. Called once. */
  onEnd?: (end: AudioHookSessionEnd) => void;
}

/** How a session ended. */
export interface AudioHookSessionEnd {
  /** `closed`: the close transaction completed; `disconnected`: the server asked (and we closed); `failed`: anything else. */
  how: "closed" | "disconnected" | "failed";
  reason: string;
}

/** The connection or the `open` transaction failed; `message` says why (HTTP status, server's reason). */
export class AudioHookClientError extends Error {
  constructor(
    message: string,
    /** The HTTP status of a refused upgrade, when that is what happened. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "AudioHookClientError";
  }
}

const MEDIA_SCHEMA = {
  type: "object",
  required: ["type", "format", "channels", "rate"],
  properties: {
    type: { const: "audio" },
    format: { enum: ["PCMU", "L16"] },
    channels: { type: "array", minItems: 1, maxItems: 8, items: { type: "string", maxLength: 64 } },
    rate: { type: "integer", minimum: 1 },
  },
} as const;

const validateServerMessage = new Ajv({ allErrors: false }).compile<AudioHookServerMessage>({
  type: "object",
  required: ["version", "id", "type", "seq", "clientseq", "parameters"],
  properties: {
    version: { const: "2" },
    id: { type: "string", maxLength: 128 },
    type: { enum: ["opened", "pong", "pause", "resume", "event", "disconnect", "closed", "reconnect", "updated"] },
    seq: { type: "integer", minimum: 1 },
    clientseq: { type: "integer", minimum: 0 },
    parameters: { type: "object" },
  },
});

const validateOpened = new Ajv({ allErrors: false }).compile<{ media: AudioHookMedia[]; startPaused?: boolean; discardTo?: string }>({
  type: "object",
  required: ["media"],
  properties: {
    media: { type: "array", maxItems: 1, items: MEDIA_SCHEMA },
    startPaused: { type: "boolean" },
    discardTo: { type: "string", pattern: "^PT(\\d+(\\.\\d*)?|\\.\\d+)S$" },
  },
});

/** Largest server text message accepted, bytes. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** An ISO 8601 duration of `seconds`, as AudioHook writes positions: `PT0S`, `PT1.25S`. */
export function isoDuration(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  return `PT${ms / 1000}S`;
}

type State = "connecting" | "opening" | "open" | "closing" | "ended";

/**
 * One AudioHook session as a client. {@link AudioHookClient.connect} resolves once the server
 * answered `opened`; then {@link sendAudio} frames and {@link close} at the end.
 */
export class AudioHookClient {
  /** The media the server selected in `opened`. */
  selected!: AudioHookMedia;
  readonly sessionId: string;
  private state: State = "connecting";
  private seq = 0;
  private serverseq = 0;
  /** Seconds of the audio stream so far (sent, plus discarded while paused). */
  private positionS = 0;
  private paused = false;
  private pausedAtS = 0;
  private pendingPing: { seq: number; at: number } | undefined;
  private rttS: number | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closeWaiter: { resolve: () => void; timer: ReturnType<typeof setTimeout> } | undefined;
  private endReported = false;
  private readonly ws: WebSocket;

  private constructor(
    private readonly options: AudioHookClientOptions,
    private readonly onOpened: (err?: Error) => void,
  ) {
    this.sessionId = options.sessionId ?? randomUUID();
    const correlationId = randomUUID();
    const headers: Record<string, string> = {
      "Audiohook-Organization-Id": options.organizationId,
      "Audiohook-Session-Id": this.sessionId,
      "Audiohook-Correlation-Id": correlationId,
      "X-API-KEY": options.apiKey,
    };
    if (options.clientSecret) {
      Object.assign(
        headers,
        signAudioHookRequest({ url: options.url, organizationId: options.organizationId, sessionId: this.sessionId, correlationId, apiKey: options.apiKey, clientSecret: options.clientSecret }),
      );
    }
    this.ws = new WebSocket(options.url, { headers, followRedirects: false, handshakeTimeout: options.openTimeoutMs ?? 5000, maxPayload: MAX_MESSAGE_BYTES });
    this.ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < 2000) body += chunk;
      });
      res.on("end", () => {
        let why = body.trim();
        try {
          const parsed = JSON.parse(body) as { err_msg?: unknown; message?: unknown };
          why = String(parsed.err_msg ?? parsed.message ?? body);
        } catch {
          // not JSON: the text as is
        }
        why = why.slice(0, 300).replace(/\.$/, "");
        this.fail(new AudioHookClientError(`the AudioHook server refused the connection (HTTP ${res.statusCode}${why ? `: ${why}` : ""})`, res.statusCode));
      });
    });
    this.ws.on("open", () => {
      this.state = "opening";
      this.send("open", {
        organizationId: options.organizationId,
        conversationId: options.conversationId,
        participant: options.participant,
        media: options.media,
        ...(options.language ? { language: options.language } : {}),
      });
    });
    this.ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.ws.on("error", (err) => this.fail(new AudioHookClientError(`AudioHook connection error: ${err.message}`)));
    this.ws.on("close", (code, reason) => {
      const text = reason.toString("utf8");
      if (this.state === "closing" && this.closeWaiter) this.finishClose();
      this.fail(new AudioHookClientError(`the AudioHook connection closed (${code}${text ? ` ${text}` : ""})`));
    });
  }

  /**
   * Connect and open a session.
   * @returns the client once `opened` arrived, with {@link selected} set
   * @throws AudioHookClientError when the upgrade is refused (its HTTP status and reason), the
   *   server does not answer in time, answers `disconnect`, or selects no or an unoffered medium
   */
  static connect(options: AudioHookClientOptions): Promise<AudioHookClient> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const client: AudioHookClient = new AudioHookClient(options, (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(client);
      });
      const timer = setTimeout(() => client.fail(new AudioHookClientError(`no "opened" from the AudioHook server within ${options.openTimeoutMs ?? 5000} ms`)), options.openTimeoutMs ?? 5000);
    });
  }

  /** Whether audio may be sent now (open and not paused by the server). */
  get canSend(): boolean {
    return this.state === "open" && !this.paused;
  }

  /** Whether the session has ended (closed, refused or dropped). */
  get ended(): boolean {
    return this.state === "ended";
  }

  /** The last ping's round-trip time, seconds, once a pong came back. */
  get rttSeconds(): number | undefined {
    return this.rttS;
  }

  /**
   * Send one binary frame of `seconds` of audio in the selected format. While the server has
   * paused the stream the frame is discarded (and counted in the position, then reported in
   * `resumed`). @returns whether it was sent
   */
  sendAudio(frame: Uint8Array, seconds: number): boolean {
    if (this.state !== "open") return false;
    this.positionS += seconds;
    if (this.paused) return false;
    this.ws.send(frame, { binary: true });
    return true;
  }

  /**
   * The close transaction: `close {reason}`, wait for `closed` (at most `closeTimeoutMs`), then
   * close the WebSocket. Safe to call more than once and after the session ended.
   */
  async close(reason: "end" | "error" | "disconnect" = "end"): Promise<void> {
    if (this.state === "ended") return;
    if (this.state !== "open") {
      this.terminate(`closed before the session opened (${reason})`);
      return;
    }
    this.state = "closing";
    this.stopPing();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.closeWaiter = undefined;
        this.terminate(`no "closed" from the AudioHook server within ${this.options.closeTimeoutMs ?? 5000} ms`);
        resolve();
      }, this.options.closeTimeoutMs ?? 5000);
      this.closeWaiter = { resolve, timer };
      this.send("close", { reason });
    });
  }

  /** End at once without the close transaction (the socket is dropped). */
  terminate(reason = "terminated by the client"): void {
    if (this.state === "ended") return;
    this.fail(new AudioHookClientError(reason));
    this.ws.terminate();
  }

  private send(type: string, parameters: Record<string, unknown>): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const message = { version: "2", id: this.sessionId, type, seq: ++this.seq, serverseq: this.serverseq, position: isoDuration(this.positionS), parameters };
    this.ws.send(JSON.stringify(message));
  }

  /** A protocol error of the server's: say so (`error`), then close. */
  private protocolError(code: number, message: string): void {
    if (this.state === "opening") {
      this.send("error", { code, message });
      this.ws.close(1000);
      this.fail(new AudioHookClientError(`AudioHook server protocol error: ${message}`));
      return;
    }
    if (this.state !== "open") return;
    this.send("error", { code, message });
    void this.close("error");
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.protocolError(415, "unexpected binary message from the server");
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString("utf8"));
    } catch {
      return this.protocolError(400, "server message is not JSON");
    }
    if (!validateServerMessage(parsed)) {
      const err = validateServerMessage.errors?.[0];
      return this.protocolError(400, `not an AudioHook server message: ${err?.instancePath || "(message)"} ${err?.message ?? ""}`.trim());
    }
    const message = parsed;
    if (message.seq !== this.serverseq + 1) return this.protocolError(400, `server seq ${message.seq} after ${this.serverseq}`);
    this.serverseq = message.seq;
    switch (message.type) {
      case "opened":
        return this.onOpenedMessage(message);
      case "pong":
        if (this.pendingPing && this.pendingPing.seq === message.clientseq) {
          this.rttS = (performance.now() - this.pendingPing.at) / 1000;
          this.pendingPing = undefined;
        }
        return;
      case "pause":
        if (this.state === "open" && !this.paused) {
          this.paused = true;
          this.pausedAtS = this.positionS;
          this.send("paused", {});
        }
        return;
      case "resume":
        if (this.state === "open" && this.paused) {
          this.paused = false;
          this.send("resumed", { start: isoDuration(this.pausedAtS), discarded: isoDuration(this.positionS - this.pausedAtS) });
        }
        return;
      case "event":
        this.options.onEvent?.(message);
        return;
      case "disconnect": {
        const p = message.parameters as { reason?: unknown; info?: unknown };
        const why = `the AudioHook server disconnected the session (${String(p.reason ?? "no reason")}${p.info ? `: ${String(p.info).slice(0, 300)}` : ""})`;
        if (this.state === "opening") {
          this.ws.close(1000);
          return this.fail(new AudioHookClientError(why));
        }
        if (this.state === "open") {
          this.report({ how: "disconnected", reason: why });
          void this.close("disconnect");
        }
        return;
      }
      case "closed":
        if (this.state === "closing") return this.finishClose();
        return this.protocolError(409, `unexpected "closed" in state ${this.state}`);
      default:
        // reconnect, updated: nothing to do for a demo stream
        return;
    }
  }

  private onOpenedMessage(message: AudioHookServerMessage): void {
    if (this.state !== "opening") return this.protocolError(409, `unexpected "opened" in state ${this.state}`);
    if (!validateOpened(message.parameters)) {
      const err = validateOpened.errors?.[0];
      return this.protocolError(400, `invalid "opened" parameters: ${err?.instancePath || "(parameters)"} ${err?.message ?? ""}`.trim());
    }
    const chosen = message.parameters.media[0];
    if (!chosen) return this.protocolError(400, "the server selected no media");
    const offered = this.options.media.some((m) => m.format === chosen.format && m.rate === chosen.rate && m.channels.length === chosen.channels.length && m.channels.every((c, i) => c === chosen.channels[i]));
    if (!offered) return this.protocolError(400, `the server selected media that was not offered: ${JSON.stringify(chosen)}`);
    this.selected = chosen;
    this.state = "open";
    if (message.parameters.startPaused) {
      this.paused = true;
      this.pausedAtS = 0;
    }
    const every = this.options.pingIntervalMs ?? 5000;
    this.pingTimer = setInterval(() => this.ping(), every);
    this.pingTimer.unref?.();
    this.onOpened();
  }

  private ping(): void {
    if (this.state !== "open") return;
    this.send("ping", this.rttS !== undefined ? { rtt: isoDuration(this.rttS) } : {});
    this.pendingPing = { seq: this.seq, at: performance.now() };
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private finishClose(): void {
    const waiter = this.closeWaiter;
    this.closeWaiter = undefined;
    if (waiter) clearTimeout(waiter.timer);
    this.state = "ended";
    this.stopPing();
    this.report({ how: "closed", reason: "the session closed" });
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    waiter?.resolve();
  }

  private report(end: AudioHookSessionEnd): void {
    if (this.endReported) return;
    this.endReported = true;
    this.options.onEnd?.(end);
  }

  /** End with an error: reject a pending open, or report the end. */
  private fail(err: Error): void {
    if (this.state === "ended") return;
    const wasOpen = this.state === "open" || this.state === "closing";
    this.state = "ended";
    this.stopPing();
    if (this.closeWaiter) {
      clearTimeout(this.closeWaiter.timer);
      this.closeWaiter.resolve();
      this.closeWaiter = undefined;
    }
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    if (wasOpen) this.report({ how: "failed", reason: err.message });
    else this.onOpened(err);
  }
}
