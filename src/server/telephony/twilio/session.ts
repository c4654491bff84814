/**
 * One Twilio Media Stream (one WebSocket): the protocol's state machine, from the first text frame
 * to the socket's close.
 *
 * States: `open` → (`connected`) → `opening` (the `start` arrived; the live call is being opened)
 * → `streaming` (media…) → `ended` (`stop`) | `failed`. `connected` is optional (Twilio sends it
 * first; compatible platforms may not) but may come only once and only first; `start` only once;
 * `media`, `dtmf` and `mark` only after `start`; nothing after `stop`.
 *
 * - Every frame must be text, at most {@link MAX_TWILIO_MESSAGE_BYTES}, valid per
 *   `messages.ts`; a `streamSid` must be the stream's. A breach closes the socket (1003 for binary,
 *   1009 for too big, else 1008) with the reason; a call already open is kept: `interrupt(reason)`
 *   stores what was received.
 * - `start` opens the live call (`hub.openCall`): id from `customParameters.callId` else `callSid`,
 *   parties from the custom parameters (`metadata.ts`), format PCMU 8 kHz stereo, channel 0 =
 *   agent = `outbound`, channel 1 = customer = `inbound`. A call id that already streams closes
 *   with 1008, no room closes with 1013 (try again later), each with the hub's reason. Messages
 *   arriving while the call opens wait (at most `maxPendingMessages`, else 1008).
 * - `media`: the payload is base64 μ-law (strict base64; at most `maxChunkBytes` decoded), placed by
 *   the track aligner (`aligner.ts`), and the interleaved stereo it releases is written to the call.
 * - `dtmf` is logged (digit not logged: it may be a card number); `mark` is accepted and ignored:
 *   Twilio sends marks only back for marks the server sent with its own media, and we send none.
 * - `stop` flushes the aligner and ends the call (`end()`: transcript stored), then closes 1000.
 *   A call that ends on its own (its engine session failed) closes the stream with 1011 and the reason.
 * - No frame for `idleTimeoutMs` (Twilio sends 50 media messages a second per track): the call is
 *   interrupted ("no audio for N s"), the socket closed 1008. Time the session itself is not
 *   reading (the call opening, the engines' flow control pausing the socket) does not count. A socket that closes without `stop`:
 *   the call is interrupted, what was received kept.
 */
import type { FastifyBaseLogger } from "fastify";
import type { WebSocket, RawData } from "ws";
import { pauseReading, resumeReading } from "../../ws-back-pressure";
import {
  CallAlreadyStreamingError,
  LiveCallCapacityError,
  type CallAudioFormat,
  type CallTranscription,
  type LiveCallStart,
} from "../../live-calls/types";
import { closeReason } from "../../speech/live-session";
import { AlignerError, TrackAligner } from "./aligner";
import { metadataFromStart } from "./metadata";
import { MAX_TWILIO_MESSAGE_BYTES, parseTwilioMessage, type MediaMessage, type StartMessage, type TwilioMessage } from "./messages";

/** What the session needs of the live-call hub (`live-calls/hub.ts`). */
export interface LiveCallOpener {
  /**
   * Open the live call the stream feeds.
   * @throws CallAlreadyStreamingError when the id already streams; LiveCallCapacityError when there is no room
   */
  openCall(start: LiveCallStart & { format: CallAudioFormat }): Promise<CallTranscription>;
}

/** The audio format every Twilio stream is written in. */
export const TWILIO_CALL_FORMAT: CallAudioFormat = { encoding: "mulaw", sampleRate: 8000, channels: 2 };

/** Close codes (RFC 6455 §7.4.1; 1013 from the IANA registry). */
export const TwilioClose = { normal: 1000, unsupportedData: 1003, policyViolation: 1008, tooBig: 1009, internalError: 1011, tryAgainLater: 1013 } as const;

/** Limits of one stream. */
export interface TwilioSessionLimits {
  /** Longest text frame, bytes. Default {@link MAX_TWILIO_MESSAGE_BYTES} (64 KiB). */
  maxMessageBytes?: number;
  /** Largest decoded payload of one media message, bytes (= samples). Default 8000 (1 s). */
  maxChunkBytes?: number;
  /** Silence on the socket after which the stream counts as dropped, ms. Default 10 000. */
  idleTimeoutMs?: number;
  /** Messages held while the call opens. Default 1000 (10 s of both tracks). */
  maxPendingMessages?: number;
  /** Track aligner: how far one track may lead, and the longest gap padded, ms. Defaults 500 and 10 000. */
  leadMs?: number;
  maxGapMs?: number;
}

/** Options of {@link TwilioMediaSession}. */
export interface TwilioSessionOptions {
  socket: WebSocket;
  hub: LiveCallOpener;
  log: FastifyBaseLogger;
  limits?: TwilioSessionLimits;
  /** Called once when the session is over (socket closed, call ended or interrupted). */
  onEnd?: (session: TwilioMediaSession) => void;
  now?: () => Date;
}

type State = "open" | "connected" | "opening" | "streaming" | "ended" | "failed";

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A refusal: the close code and the reason. */
class Refusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One Media Stream. See the module comment. */
export class TwilioMediaSession {
  private state: State = "open";
  private readonly socket: WebSocket;
  private readonly hub: LiveCallOpener;
  private readonly log: FastifyBaseLogger;
  private readonly limits: Required<TwilioSessionLimits>;
  private readonly now: () => Date;
  private call?: CallTranscription;
  private aligner?: TrackAligner;
  private streamSid?: string;
  private pending: string[] = [];
  private idleTimer?: NodeJS.Timeout;
  private finished = false;
  private flowPaused = false;
  private failReason?: string;
  private readonly onEnd?: (session: TwilioMediaSession) => void;
  /** Counters for logs and tests. */
  readonly stats = { messages: 0, media: 0, dtmf: 0, marks: 0, bytesWritten: 0 };
  /** Settles when the session is over and the call (if any) was ended or interrupted. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(options: TwilioSessionOptions) {
    this.socket = options.socket;
    this.hub = options.hub;
    this.log = options.log;
    this.onEnd = options.onEnd;
    this.now = options.now ?? (() => new Date());
    this.limits = {
      maxMessageBytes: options.limits?.maxMessageBytes ?? MAX_TWILIO_MESSAGE_BYTES,
      maxChunkBytes: options.limits?.maxChunkBytes ?? 8000,
      idleTimeoutMs: options.limits?.idleTimeoutMs ?? 10_000,
      maxPendingMessages: options.limits?.maxPendingMessages ?? 1000,
      leadMs: options.limits?.leadMs ?? 500,
      maxGapMs: options.limits?.maxGapMs ?? 10_000,
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.socket.on("message", (data: RawData, isBinary: boolean) => this.onFrame(data, isBinary));
    this.socket.on("close", () => void this.onSocketClose());
    this.socket.on("error", (err) => this.log.info({ err: err.message }, "twilio stream socket error"));
    this.armIdle();
  }

  /** The call id once `start` was accepted. */
  get callId(): string | undefined {
    return this.call?.callId;
  }

  /** Close the stream because the server shuts down: the call is interrupted, its transcript kept. */
  shutdown(): void {
    void this.fail(new Refusal(1001, "server shutting down"));
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.state === "ended" || this.state === "failed") return;
    this.idleTimer = setTimeout(() => {
      // Not reading on purpose (the call is opening, or the engines asked us to wait): not Twilio's silence.
      if (this.state === "opening" || this.flowPaused) return this.armIdle();
      const s = this.limits.idleTimeoutMs / 1000;
      const reason = this.call ? `no audio from Twilio for ${s} s: stream dropped` : `no start message within ${s} s`;
      void this.fail(new Refusal(TwilioClose.policyViolation, reason));
    }, this.limits.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.state === "ended" || this.state === "failed") return;
    this.armIdle();
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (isBinary) return void this.fail(new Refusal(TwilioClose.unsupportedData, "binary frame: Twilio Media Streams sends JSON text frames"));
    if (size > this.limits.maxMessageBytes) {
      return void this.fail(new Refusal(TwilioClose.tooBig, `message of ${size} bytes is larger than ${this.limits.maxMessageBytes} bytes`));
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as Buffer).toString("utf8");
    if (this.state === "opening") {
      if (this.pending.length >= this.limits.maxPendingMessages) {
        return void this.fail(new Refusal(TwilioClose.policyViolation, `more than ${this.limits.maxPendingMessages} messages while the call was opening`));
      }
      this.pending.push(text);
      return;
    }
    this.handleText(text);
  }

  private handleText(text: string): void {
    this.stats.messages++;
    const parsed = parseTwilioMessage(text);
    if (!parsed.ok) return void this.fail(new Refusal(TwilioClose.policyViolation, parsed.error));
    try {
      this.handle(parsed.message);
    } catch (err) {
      if (err instanceof Refusal) return void this.fail(err);
      if (err instanceof AlignerError) return void this.fail(new Refusal(TwilioClose.policyViolation, err.message));
      this.log.error({ err }, "twilio stream failed");
      void this.fail(new Refusal(TwilioClose.internalError, "internal error"));
    }
  }

  private handle(m: TwilioMessage): void {
    if (m.event !== "connected" && m.event !== "start" && m.streamSid !== undefined && this.streamSid !== undefined && m.streamSid !== this.streamSid) {
      throw new Refusal(TwilioClose.policyViolation, `${m.event} message for stream ${m.streamSid.slice(0, 40)}, but this socket carries ${this.streamSid}`);
    }
    switch (m.event) {
      case "connected":
        if (this.state !== "open") throw new Refusal(TwilioClose.policyViolation, "connected message after the stream began: it must come first, once");
        this.state = "connected";
        return;
      case "start":
        if (this.state !== "open" && this.state !== "connected") throw new Refusal(TwilioClose.policyViolation, "second start message: one stream per connection");
        void this.start(m);
        return;
      case "media":
        this.requireStreaming("media");
        this.media(m);
        return;
      case "dtmf":
        this.requireStreaming("dtmf");
        this.stats.dtmf++;
        this.log.info({ callId: this.call?.callId, track: m.dtmf.track }, "twilio dtmf (digit not logged)");
        return;
      case "mark":
        this.requireStreaming("mark");
        // Marks only echo marks the server sent with its own media; we send none.
        this.stats.marks++;
        return;
      case "stop":
        this.requireStreaming("stop");
        void this.stop();
        return;
    }
  }

  private requireStreaming(event: string): void {
    if (this.state !== "streaming") throw new Refusal(TwilioClose.policyViolation, `${event} message before start: the stream must begin with start`);
  }

  private async start(m: StartMessage): Promise<void> {
    const meta = metadataFromStart(m, this.now());
    if (!meta.ok) return void this.fail(new Refusal(TwilioClose.policyViolation, meta.error));
    this.state = "opening";
    this.streamSid = m.streamSid;
    this.socket.pause();
    let call: CallTranscription;
    try {
      call = await this.hub.openCall({ callId: meta.callId, source: "twilio", metadata: meta.metadata, format: TWILIO_CALL_FORMAT });
    } catch (err) {
      this.socket.resume();
      if (this.state !== "opening") return this.over(); // the socket closed meanwhile: nothing was opened
      if (err instanceof CallAlreadyStreamingError) return void this.fail(new Refusal(TwilioClose.policyViolation, err.message));
      if (err instanceof LiveCallCapacityError) return void this.fail(new Refusal(TwilioClose.tryAgainLater, err.message));
      this.log.error({ err, callId: meta.callId }, "twilio stream: opening the live call failed");
      return void this.fail(new Refusal(TwilioClose.internalError, "the live call could not be opened; try again later"));
    }
    if (this.state !== "opening") {
      // The socket closed (or failed) while the call opened: the call is interrupted at once.
      this.call = call;
      await this.finishCall("interrupt", this.failReason ?? "stream closed while the call opened");
      return;
    }
    this.call = call;
    this.aligner = new TrackAligner({ tracks: m.start.tracks, leadMs: this.limits.leadMs, maxGapMs: this.limits.maxGapMs, maxChunkMs: this.limits.maxChunkBytes / 8 });
    call.setFlowControl({
      pause: () => {
        this.flowPaused = true;
        pauseReading(this.socket); // pinged while paused: a client that went away is noticed (ws-back-pressure.ts)
      },
      resume: () => {
        this.flowPaused = false;
        resumeReading(this.socket);
        this.armIdle();
      },
    });
    // The call may end without us (its engine session failed): the stream then has nowhere to go.
    call.onEvent((e) => {
      if (e.type !== "CallEnded" || this.state !== "streaming") return;
      this.state = "failed";
      clearTimeout(this.idleTimer);
      this.closeSocket(TwilioClose.internalError, e.reason ?? "the live call ended");
      this.over();
    });
    this.state = "streaming";
    this.log.info({ callId: call.callId, streamSid: m.streamSid, tracks: m.start.tracks }, "twilio stream started");
    this.socket.resume();
    const pending = this.pending;
    this.pending = [];
    for (const text of pending) {
      if (this.state !== "streaming") break;
      this.handleText(text);
    }
  }

  private media(m: MediaMessage): void {
    const { payload, track, timestamp } = m.media;
    const tooBig = () =>
      new Refusal(TwilioClose.policyViolation, `media payload larger than ${this.limits.maxChunkBytes} bytes (${this.limits.maxChunkBytes / 8} ms of 8 kHz μ-law)`);
    // Checked on the text first (nothing is decoded), then exactly on the bytes.
    if (payload.length > Math.ceil(this.limits.maxChunkBytes / 3) * 4) throw tooBig();
    if (!STRICT_BASE64.test(payload)) throw new Refusal(TwilioClose.policyViolation, "media.payload is not base64");
    const bytes = Buffer.from(payload, "base64");
    if (bytes.length > this.limits.maxChunkBytes) throw tooBig();
    this.stats.media++;
    this.write(this.aligner!.push(track, Number(timestamp), bytes));
  }

  private write(stereo: Uint8Array): void {
    if (stereo.length === 0 || !this.call) return;
    this.stats.bytesWritten += stereo.length;
    this.call.write(stereo);
  }

  private async stop(): Promise<void> {
    this.state = "ended";
    clearTimeout(this.idleTimer);
    this.write(this.aligner!.flush());
    this.log.info({ callId: this.call?.callId, media: this.stats.media, late: this.aligner!.stats.lateSamples, padded: this.aligner!.stats.paddedSamples }, "twilio stream stopped");
    this.closeSocket(TwilioClose.normal, "stream stopped");
    await this.finishCall("end");
  }

  /** Refuse: close the socket with the reason; an open call is interrupted (kept). */
  private async fail(refusal: Refusal): Promise<void> {
    if (this.state === "ended" || this.state === "failed") return;
    const wasOpening = this.state === "opening";
    this.state = "failed";
    this.failReason = refusal.message;
    clearTimeout(this.idleTimer);
    this.log.info({ callId: this.call?.callId, code: refusal.code, reason: refusal.message }, "twilio stream refused");
    this.closeSocket(refusal.code, refusal.message);
    if (this.call) {
      if (this.aligner) this.write(this.aligner.flush());
      await this.finishCall("interrupt", refusal.message);
    } else if (!wasOpening) this.over();
    // While opening, `start` finishes: it sees the failed state and interrupts the call it got.
  }

  private async onSocketClose(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.state === "ended" || this.state === "failed") return;
    await this.fail(new Refusal(TwilioClose.normal, "socket closed without a stop message"));
  }

  private closeSocket(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, closeReason(reason));
    }
  }

  private async finishCall(how: "end" | "interrupt", reason?: string): Promise<void> {
    const call = this.call!;
    try {
      if (how === "end") await call.end();
      else await call.interrupt(reason ?? "stream interrupted");
    } catch (err) {
      this.log.error({ err, callId: call.callId }, `twilio stream: ${how} failed`);
    } finally {
      this.over();
    }
  }

  private over(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd?.(this);
    this.resolveDone();
  }
}
