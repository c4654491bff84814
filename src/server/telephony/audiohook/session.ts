/**
 * One AudioHook session (protocol v2) on one WebSocket, independent of the socket library: the
 * route feeds it text and binary frames and tells it when the socket closed; it answers through a
 * {@link SessionTransport}. It opens the live call on `open` and moves audio into it.
 *
 * States: `connected` (waiting for `open`) → `opening` (the call is being opened) → `active` ⇄
 * `paused` → `closing` (client `close`: the call ends, then `closed`) → `closed`; any protocol
 * error → `disconnecting` (we sent `disconnect`, the call is interrupted and kept; we wait for
 * the client's `close`); the socket going away → `ended`.
 *
 * Rules (spec "Protocol" and "Sequencing"): client `seq` is 1, 2, 3 …; `serverseq` is never
 * above the last server `seq`; our `clientseq` is the last client `seq`; every message carries the
 * session `id`; no audio before `opened` nor while paused; frames hold whole sample frames of the
 * selected media and at most `maxFrameSeconds` of audio; text frames at most 64 KiB.
 */
import type { FastifyBaseLogger } from "fastify";
import { CallAlreadyStreamingError, LiveCallCapacityError, type CallAudioFormat, type CallTranscription, type LiveCallEvent, type LiveCallMetadata, type LiveCallStart } from "../../live-calls/types";
import { formatDuration, parseDuration } from "./duration";
import { FrameConverter, selectMedia, SUPPORTED_MEDIA } from "./media";
import { NULL_UUID, parseClientMessage, type ClientMessage, type DisconnectReason, type OpenMessage, type Participant, type ServerMessage, type ServerMessageType, type ServerParameters } from "./messages";
import { StreamTimeline, transcriptEntity } from "./transcript-entities";

/** What a session needs from its socket. */
export interface SessionTransport {
  send(text: string): void;
  /** Close the socket (WebSocket close code and reason). */
  close(code: number, reason: string): void;
  /** Bytes queued for sending and not yet written. */
  bufferedAmount(): number;
  /** Stop / restart reading the socket (the engines are behind: TCP back-pressure instead of dropping audio). */
  pauseReading(): void;
  resumeReading(): void;
}

/** Opens the live call (the hub's `openCall`). Throws CallAlreadyStreamingError / LiveCallCapacityError. */
export type OpenCall = (start: LiveCallStart & { format: CallAudioFormat }) => Promise<CallTranscription>;

/** Bounds and timings of a session. */
export interface SessionLimits {
  /** Largest binary frame, seconds of audio. Default 1. */
  maxFrameSeconds: number;
  /** Largest text frame, bytes. Default 65 536 (the spec's 64 KiB). */
  maxTextBytes: number;
  /** No message (text or audio) for this long → disconnect, the call interrupted and kept, ms. Default 30 000. */
  idleTimeoutMs: number;
  /** After our `disconnect` or `closed`, wait this long for the client to close the socket, ms. Default 5 000. */
  closeGraceMs: number;
  /** Longest wait for the call to end before answering `closed` anyway, ms. Default 30 000. */
  endTimeoutMs: number;
  /** Largest event backlog on the socket; past it events are dropped, bytes. Default 1 MiB. */
  maxBufferedBytes: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxFrameSeconds: 1,
  maxTextBytes: 64 * 1024,
  idleTimeoutMs: 30_000,
  closeGraceMs: 5_000,
  endTimeoutMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
};

/** WebSocket close codes used. */
export const WS_CLOSE = { normal: 1000, goingAway: 1001, policy: 1008 } as const;

export type SessionState = "connected" | "opening" | "active" | "paused" | "closing" | "closed" | "disconnecting" | "ended";

/** Options of {@link AudiohookSession}. */
export interface AudiohookSessionOptions {
  transport: SessionTransport;
  openCall: OpenCall;
  log: FastifyBaseLogger;
  /** The `Audiohook-Session-Id` header, when sent: every message's `id` must equal it. */
  sessionId?: string;
  /** The `Audiohook-Organization-Id` header, when sent: `open.organizationId` must equal it. */
  organizationId?: string;
  limits?: Partial<SessionLimits>;
  /** Also send interim transcripts (`isFinal: false`). Default false: finals only. */
  interimEvents?: boolean;
  /** Called once when the socket is gone. */
  onEnd?: (session: AudiohookSession) => void;
}

/** One AudioHook session. */
export class AudiohookSession {
  state: SessionState = "connected";
  /** The conversation (call) id once opened. */
  conversationId?: string;
  /** Whether the session is a connection probe (null conversationId): no call is opened. */
  probe = false;
  /** Seconds of audio received. */
  receivedSeconds = 0;
  /** The last client `seq` processed, and our last `seq`. */
  clientseq = 0;
  seq = 0;

  private id?: string;
  private readonly limits: SessionLimits;
  private readonly log: FastifyBaseLogger;
  private converter?: FrameConverter;
  private call?: CallTranscription;
  private callFinished = false;
  private unsubscribe?: () => void;
  private readonly timeline = new StreamTimeline();
  private language = "en-US";
  private metadata?: LiveCallMetadata;
  private idleTimer?: NodeJS.Timeout;
  private graceTimer?: NodeJS.Timeout;
  private readingPaused = false;
  private eventsBlockedUntil = 0;
  private droppedEvents = 0;

  constructor(private readonly o: AudiohookSessionOptions) {
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...o.limits };
    this.log = o.log;
    this.id = o.sessionId?.toLowerCase();
    this.armIdle();
  }

  // ---- input -------------------------------------------------------------------------------

  /** A text frame arrived (its UTF-8 bytes, or the string). */
  onText(frame: string | Uint8Array): void {
    if (this.state === "ended") return;
    this.armIdle();
    const bytes = typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
    if (bytes > this.limits.maxTextBytes) return this.fail(`text message of ${bytes} bytes is too large: at most ${this.limits.maxTextBytes} bytes`);
    const parsed = parseClientMessage(typeof frame === "string" ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("utf8"));
    if (!parsed.ok) return this.fail(parsed.error);
    const m = parsed.message;
    if (this.state === "disconnecting") {
      // After our disconnect only the client's close matters; the message that caused it may have broken the numbering.
      this.clientseq = m.seq;
      if (m.type === "close") void this.onClose(m.parameters.reason);
      return;
    }
    if (m.seq !== this.clientseq + 1) return this.fail(`invalid seq ${m.seq}: expected ${this.clientseq + 1} (client seq numbers go 1, 2, 3, …)`);
    this.clientseq = m.seq;
    if (m.serverseq > this.seq) return this.fail(`invalid serverseq ${m.serverseq}: the server has sent only ${this.seq} messages`);
    const id = m.id.toLowerCase();
    if (this.id === undefined) this.id = id;
    else if (id !== this.id) return this.fail(`session id mismatch: messages of this session carry id ${this.id}`);
    this.dispatch(m);
  }

  /** A binary frame arrived. */
  onBinary(frame: Uint8Array): void {
    if (this.state === "ended") return;
    this.armIdle();
    if (this.state === "disconnecting" || this.state === "closing" || this.state === "closed") return; // in flight after our disconnect or the client's close
    if (this.state === "connected" || this.state === "opening") return this.fail("audio received before opened: send audio only after the server's opened message");
    if (this.state === "paused") return this.fail("audio received while paused");
    const converter = this.converter!;
    if (frame.length === 0) return;
    const maxBytes = Math.floor(this.limits.maxFrameSeconds * converter.media.rate) * converter.wireChannels;
    if (frame.length > maxBytes) return this.fail(`audio frame of ${frame.length} bytes is more than ${this.limits.maxFrameSeconds} s of audio (at most ${maxBytes} bytes per frame)`);
    if (frame.length % converter.wireChannels !== 0) {
      return this.fail(`audio frame of odd length ${frame.length}: ${converter.media.format} with ${converter.wireChannels} channels carries ${converter.wireChannels} bytes per sample frame`);
    }
    this.receivedSeconds += converter.seconds(frame.length);
    if (this.call && !this.callFinished) this.call.write(converter.convert(frame));
  }

  /** The socket closed (either side). */
  onSocketClosed(code?: number): void {
    if (this.state === "ended") return;
    const was = this.state;
    this.state = "ended";
    this.clearTimers();
    if (was !== "closed") this.log.info({ conversationId: this.conversationId, state: was, code }, "audiohook socket closed without a close transaction");
    this.finishCall("interrupt", `the AudioHook stream dropped without a close (socket closed in state ${was})`);
    this.o.onEnd?.(this);
  }

  // ---- server-initiated --------------------------------------------------------------------

  /** Ask the client to pause the stream (`pause`); it answers `paused`. */
  pause(): boolean {
    if (this.state !== "active" && this.state !== "paused") return false;
    this.send("pause", {});
    return true;
  }

  /** Ask the client to resume (`resume`); it answers `resumed`. */
  resume(): boolean {
    if (this.state !== "active" && this.state !== "paused") return false;
    this.send("resume", {});
    return true;
  }

  /** Disconnect because the server shuts down: the call is interrupted and kept. */
  shutdown(): Promise<void> {
    if (this.state === "ended" || this.state === "closed") {
      this.o.transport.close(WS_CLOSE.goingAway, "server shutting down");
      return Promise.resolve();
    }
    const done = this.disconnect("error", "server shutting down");
    this.o.transport.close(WS_CLOSE.goingAway, "server shutting down");
    // The call stores what it has; shutdown waits for that, but not forever.
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, this.limits.endTimeoutMs)))]).finally(() => clearTimeout(timer));
  }

  // ---- messages ----------------------------------------------------------------------------

  private dispatch(m: ClientMessage): void {
    switch (m.type) {
      case "open":
        return void this.onOpen(m);
      case "ping":
        return void this.send("pong", {});
      case "paused":
        if (this.state === "active") this.state = "paused";
        return;
      case "resumed":
        if (this.state === "paused") this.state = "active";
        return;
      case "discarded":
        // Audio the client dropped: later positions count it, our received audio does not.
        this.timeline.addGap(this.receivedSeconds, parseDuration(m.parameters.discarded));
        this.log.info({ conversationId: this.conversationId, start: m.parameters.start, discarded: m.parameters.discarded }, "audiohook client discarded audio");
        return;
      case "update":
        return this.onUpdate(m.parameters);
      case "error":
        this.log.warn({ conversationId: this.conversationId, code: m.parameters.code, message: m.parameters.message.slice(0, 200) }, "audiohook client reported an error");
        if (m.parameters.code === 429) {
          const wait = m.parameters.retryAfter ? parseDuration(m.parameters.retryAfter) : 1;
          this.eventsBlockedUntil = Date.now() + Math.min(wait, 60) * 1000;
        }
        return;
      case "close":
        return void this.onClose(m.parameters.reason);
    }
  }

  private async onOpen(m: OpenMessage): Promise<void> {
    if (this.state !== "connected") return this.fail("open received twice: one open per session");
    const p = m.parameters;
    if (this.o.organizationId !== undefined && this.o.organizationId.toLowerCase() !== p.organizationId.toLowerCase()) {
      void this.disconnect("unauthorized", "organizationId does not match the Audiohook-Organization-Id header");
      return;
    }
    const media = selectMedia(p.media);
    if (!media) return this.fail(`no supported media offered: this server takes ${SUPPORTED_MEDIA}`);
    this.converter = new FrameConverter(media);
    if (p.language) this.language = p.language;
    this.conversationId = p.conversationId.toLowerCase();
    this.probe = this.conversationId === NULL_UUID;
    if (!this.probe) {
      this.state = "opening";
      this.metadata = metadataOf(this.conversationId, p.participant);
      try {
        this.call = await this.o.openCall({
          callId: this.conversationId,
          source: "audiohook",
          metadata: this.metadata,
          format: { encoding: "mulaw", sampleRate: 8000, channels: 2 },
        });
      } catch (err) {
        if ((this.state as SessionState) === "ended") return;
        if (err instanceof CallAlreadyStreamingError || err instanceof LiveCallCapacityError) {
          this.log.info({ conversationId: this.conversationId, reason: err.message }, "audiohook open refused");
          void this.disconnect("error", err.message);
        } else {
          this.log.error({ err, conversationId: this.conversationId }, "audiohook open failed");
          void this.disconnect("error", "the server could not start transcribing this call; retry later");
        }
        return;
      }
      if ((this.state as SessionState) !== "opening") {
        // The socket went away (or a protocol error came in) while the call was being opened.
        this.finishCall("interrupt", "the AudioHook stream ended while the call was being opened");
        return;
      }
      this.unsubscribe = this.call.onEvent((e) => this.onCallEvent(e));
      this.call.setFlowControl({
        pause: () => {
          this.readingPaused = true;
          this.clearIdle();
          this.o.transport.pauseReading();
        },
        resume: () => {
          this.readingPaused = false;
          this.armIdle();
          this.o.transport.resumeReading();
        },
      });
    }
    const opened: ServerParameters["opened"] = { media: [media], startPaused: false };
    if (p.supportedLanguages) opened.supportedLanguages = ["en-US"];
    this.send("opened", opened);
    this.state = "active";
    this.log.info({ conversationId: this.conversationId, probe: this.probe, media }, "audiohook session opened");
  }

  private onUpdate(p: { language?: string; participant?: Participant }): void {
    if (p.language) this.language = p.language;
    if (p.participant && this.call && !this.callFinished && this.metadata) {
      this.metadata = metadataOf(this.metadata.call_id, p.participant);
      this.call.updateMetadata(this.metadata);
    }
  }

  private async onClose(reason: string): Promise<void> {
    if (this.state === "closing" || this.state === "closed") return;
    const wasDisconnecting = this.state === "disconnecting";
    this.state = "closing";
    this.clearIdle(); // ending the call may take a while; the client waits for closed
    if (!wasDisconnecting) {
      const ending = reason === "end" ? this.finishCall("end") : this.finishCall("interrupt", `the AudioHook client closed the stream with reason ${JSON.stringify(reason)}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ending, new Promise<void>((r) => (timer = setTimeout(r, this.limits.endTimeoutMs)))]);
      clearTimeout(timer);
    }
    if (this.state !== "closing") return; // the socket went away meanwhile
    this.send("closed", {});
    this.state = "closed";
    this.clearIdle();
    this.armGrace("closed");
  }

  // ---- the call's events -------------------------------------------------------------------

  private onCallEvent(e: LiveCallEvent): void {
    if (e.type === "CallEnded" && !this.callFinished) {
      // The call ended on its own (its engine session failed): the stream has nowhere to go.
      this.callFinished = true;
      this.unsubscribe?.();
      if (this.state === "active" || this.state === "paused") void this.disconnect("error", `transcription ended: ${e.reason ?? e.status}`);
      return;
    }
    if (e.type !== "Results") return;
    if (!e.is_final && !this.o.interimEvents) return;
    if (this.state !== "active" && this.state !== "paused" && this.state !== "closing") return;
    if (Date.now() < this.eventsBlockedUntil || this.o.transport.bufferedAmount() > this.limits.maxBufferedBytes) {
      if (this.droppedEvents++ === 0) this.log.warn({ conversationId: this.conversationId }, "audiohook transcript events dropped (client rate limit or slow socket)");
      return;
    }
    const entity = transcriptEntity(e, { channelId: this.converter?.channelIdOf(e.channel_index[0]), timeline: this.timeline, language: this.language });
    if (entity) this.send("event", { entities: [entity] });
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** A protocol error by the client: disconnect with the reason (the call is interrupted, kept). */
  private fail(info: string): void {
    if (this.state === "disconnecting" || this.state === "closing" || this.state === "closed" || this.state === "ended") return;
    this.log.info({ conversationId: this.conversationId, state: this.state, info }, "audiohook protocol error");
    void this.disconnect("error", info);
  }

  /** Send `disconnect`, interrupt the call, and wait for the client's `close`. */
  private disconnect(reason: DisconnectReason, info: string): Promise<void> {
    if (this.state === "ended") return Promise.resolve();
    if (this.state !== "disconnecting" && this.state !== "closing" && this.state !== "closed") {
      this.send("disconnect", { reason, info: info.slice(0, 500) });
      this.state = "disconnecting";
    }
    this.clearIdle();
    this.armGrace("disconnect");
    return this.finishCall("interrupt", info);
  }

  private finishCall(how: "end" | "interrupt", reason = ""): Promise<void> {
    if (!this.call || this.callFinished) return Promise.resolve();
    this.callFinished = true;
    if (this.readingPaused) {
      this.readingPaused = false;
      this.o.transport.resumeReading();
    }
    const call = this.call;
    const p = how === "end" ? call.end() : call.interrupt(reason);
    return p.then(
      () => this.unsubscribe?.(),
      (err: unknown) => {
        this.unsubscribe?.();
        this.log.error({ err, conversationId: this.conversationId }, `audiohook call ${how} failed`);
      },
    );
  }

  private send<T extends ServerMessageType>(type: T, parameters: ServerParameters[T]): void {
    const message: ServerMessage<T> = { version: "2", id: this.id ?? NULL_UUID, type, seq: ++this.seq, clientseq: this.clientseq, parameters };
    try {
      this.o.transport.send(JSON.stringify(message));
    } catch (err) {
      this.log.info({ err, type }, "audiohook send failed");
    }
  }

  private armIdle(): void {
    if (this.readingPaused || this.state === "disconnecting" || this.state === "closing" || this.state === "closed" || this.state === "ended") return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        const s = this.limits.idleTimeoutMs / 1000;
        this.log.info({ conversationId: this.conversationId, state: this.state }, "audiohook stream timed out");
        void this.disconnect("error", `no message or audio for ${s} s: the stream timed out`);
      }, this.limits.idleTimeoutMs);
      this.idleTimer.unref?.();
    }
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private armGrace(after: "closed" | "disconnect"): void {
    if (this.graceTimer) return;
    this.graceTimer = setTimeout(() => {
      this.o.transport.close(after === "closed" ? WS_CLOSE.normal : WS_CLOSE.policy, after === "closed" ? "closed" : "disconnected");
    }, this.limits.closeGraceMs);
    this.graceTimer.unref?.();
  }

  private clearTimers(): void {
    this.clearIdle();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  /** The client's position as this server counts it (received + discarded audio), `PT…S`. */
  get position(): string {
    return formatDuration(this.receivedSeconds + this.timeline.discarded);
  }
}

/**
 * The call's metadata from `open.parameters.participant` (the remote party): the customer is
 * named `aniName` with phone `ani`; the agent is unnamed (AudioHook does not say who).
 */
export function metadataOf(conversationId: string, participant: Participant): LiveCallMetadata {
  const name = participant.aniName?.trim() || undefined;
  const ani = participant.ani?.trim() || undefined;
  const dnis = participant.dnis?.trim() || undefined;
  return {
    call_id: conversationId,
    participants: [{ role: "agent" }, { role: "customer", ...(name && { name }), ...(ani && { phone: ani }) }],
    start_time: new Date().toISOString(),
    ...(ani && { phone_number: ani }),
    ...(dnis && { dialled_number: dnis }),
  };
}
