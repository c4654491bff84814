/**
 * One live `/v1/listen` WebSocket session (Deepgram's streaming protocol, DESIGN.md §4).
 *
 * Binary frames are audio: raw `encoding` + `sample_rate` + `channels` from the query, or — with no
 * `encoding` — a WAV stream whose header says the format. Audio is decoded to PCM16, downmixed (or
 * split per channel with `multichannel=true`), resampled to 16 kHz and written to one engine stream
 * per transcribed channel. Text frames are control messages: KeepAlive, Finalize, CloseStream.
 *
 * Lifecycle: starting (engine streams opening; audio is queued) → open → closing (CloseStream:
 * flush, `Metadata`, close 1000) → ended. A client that vanishes ends the session at once: engine
 * streams are closed and their pending audio discarded. Any failure closes the socket with a code
 * (1008 for bad client input, 1011 for server-side failures, 1013 when the server is at capacity)
 * and a reason, never throws.
 *
 * Resources: the session holds a channel lease (see `admission.ts`) until its engine streams are
 * closed; no engine stream is opened once the client has gone. Audio ahead of real time is throttled
 * (see `LiveFlowLimits`): the socket stops being read, so one client cannot queue hours of audio.
 */
import { createHash, type Hash } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { RawData } from "ws";
import { pauseReading, resumeReading } from "../ws-back-pressure";
import type { ChannelLease } from "./admission";
import { ENGINE_SAMPLE_RATE, type RecognizerStream, type SpeechEngine } from "./engines/engine";
import { downmix, float32ToInt16, int16ToFloat32 } from "./audio/pcm";
import { RawStreamDecoder, type RawEncoding } from "./audio/raw";
import { Quality, StreamResampler } from "./audio/resample";
import { looksLikeWav } from "./audio/wav";
import { MAX_WAV_HEADER_BYTES, readWavStreamHeader } from "./audio/wav-stream";
import { LiveChannel } from "./live-channel";
import type { ClientControlMessage, MetadataMessage, ModelInfo, ServerMessage } from "./protocol";
import type { ListenOptions } from "./query";
import { roundSeconds } from "./results";
import { validateClientControl } from "./validators";

/** WebSocket close codes we use (RFC 6455 §7.4.1). */
export const CloseCode = { normal: 1000, goingAway: 1001, policyViolation: 1008, internalError: 1011, tryAgainLater: 1013 } as const;

/**
 * How far ahead of real time a client may send audio. Past `burstSeconds` of audio, the session
 * reads at most `maxSpeed` seconds of audio per second of wall time (seconds per channel); and it
 * stops reading while any channel's engine has more than `maxBacklogSeconds` of audio not yet decoded
 * (engines that report it). Throttling pauses the socket (TCP backpressure reaches the client) and
 * holds the idle timeout; nothing is dropped.
 */
export interface LiveFlowLimits {
  burstSeconds: number;
  maxSpeed: number;
  maxBacklogSeconds: number;
}

/** Defaults: a 30 s burst (a short file sent at once goes straight through), then twice real time, 10 s of engine backlog. */
export const DEFAULT_FLOW_LIMITS: LiveFlowLimits = { burstSeconds: 30, maxSpeed: 2, maxBacklogSeconds: 10 };

/** Re-check a throttled session this often, ms. */
const FLOW_POLL_MS = 100;
/** Longest wait for a session's engine streams to close before its channels are given back anyway, ms. */
const RELEASE_TIMEOUT_MS = 30_000;

/**
 * What a session needs of its socket: the part of `ws`'s WebSocket it uses. A client's WebSocket,
 * or an in-process stand-in (`live-calls/loopback-socket.ts`) when a telephony ingress feeds the session.
 */
export interface ListenSocket {
  on(event: "message", listener: (data: RawData, isBinary: boolean) => void): unknown;
  on(event: "close", listener: (code: number) => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  pause(): void;
  resume(): void;
  readonly readyState: number;
  readonly OPEN: number;
  readonly CONNECTING: number;
}

/** How a session ended: `normal` after CloseStream, else the close code and reason (client gone: code 1005/1006 from the client). */
export type LiveSessionOutcome = { kind: "normal" } | { kind: "failed"; code: number; reason: string } | { kind: "client-closed"; code: number };

/** Everything a session needs from the server. */
export interface LiveSessionInit {
  socket: ListenSocket;
  engine: SpeechEngine;
  options: ListenOptions;
  requestId: string;
  model: { uuid: string; info: ModelInfo };
  log: FastifyBaseLogger;
  /** Close the session after this long without any client frame (Deepgram: 10 s, error NET-0001). */
  idleTimeoutMs: number;
  /** Longest wait for the engine to flush on Finalize/CloseStream before failing the session. */
  flushTimeoutMs?: number;
  /** The channels admitted for this session; released once its engine streams are closed. */
  lease: ChannelLease;
  /** Most channels transcribed (`multichannel=true`); a WAV stream with more closes with 1008. */
  maxChannels: number;
  /** Throttling of audio sent ahead of real time. Default `DEFAULT_FLOW_LIMITS`. */
  flow?: LiveFlowLimits;
  /** Called once when the session has ended and released its engine streams. */
  onEnd: (session: LiveSession) => void;
  /** Sees every message the session sends, before it goes to the socket (a live call publishes them, `live-calls/`). */
  tap?: (message: ServerMessage) => void;
}

interface StreamFormat {
  encoding: RawEncoding;
  sampleRate: number;
  channels: number;
}

type State = "starting" | "open" | "closing" | "ended";

/** A live transcription session bound to one WebSocket. */
export class LiveSession {
  readonly requestId: string;
  readonly created = new Date();
  private state: State = "starting";
  private format?: StreamFormat;
  private headerBytes?: Uint8Array;
  private queue: Uint8Array[] = [];
  private channels: LiveChannel[] = [];
  private streams: RecognizerStream[] = [];
  private resamplers: StreamResampler[] = [];
  private decoder?: RawStreamDecoder;
  private readonly hash: Hash = createHash("sha256");
  private bytesIn = 0;
  private framesIn = 0;
  private messagesOut = 0;
  private idleTimer?: NodeJS.Timeout;
  private control: Promise<void> = Promise.resolve();
  private readonly ready: Promise<boolean>;
  private resolveReady!: (ok: boolean) => void;
  /** Set once release() started; settles when the channels are given back. */
  private releasing?: Promise<void>;
  /** The engine setup in progress or done; release waits for it, so no stream it opens is left behind. */
  private setupRun: Promise<void> = Promise.resolve();
  /** Aborted when the session ends: engine streams still being opened are not built. */
  private readonly abort = new AbortController();
  /** Audio received, seconds per channel (all of it, also what is queued before setup). */
  private secondsIn = 0;
  /** When the first audio arrived (performance.now), the origin of the real-time allowance. */
  private flowStart?: number;
  private throttleTimer?: NodeJS.Timeout;
  /** How the session ended; set when it ends. */
  outcome?: LiveSessionOutcome;

  constructor(private readonly init: LiveSessionInit) {
    this.requestId = init.requestId;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    const { socket } = init;
    // Handlers are attached synchronously: frames sent right after the handshake must not be lost.
    socket.on("message", (data: RawData, isBinary: boolean) => this.onFrame(data, isBinary));
    socket.on("close", (code: number) => this.onSocketClose(code));
    socket.on("error", (err: Error) => init.log.warn({ err: err.message, requestId: this.requestId }, "live socket error"));
    this.armIdleTimer();
    const { encoding, sampleRate, channels } = init.options;
    if (encoding !== undefined && sampleRate !== undefined) {
      this.format = { encoding, sampleRate, channels };
      this.setupRun = this.setup();
    }
  }

  /** Re-reads the state: it changes while awaits are pending (TypeScript's narrowing cannot see that). */
  private isEnded(): boolean {
    return this.state === "ended";
  }

  /** True until the session has ended. */
  get active(): boolean {
    return this.state !== "ended";
  }

  /** Seconds of audio received (per channel). */
  get receivedSeconds(): number {
    return this.format ? this.framesIn / this.format.sampleRate : 0;
  }

  /** End the session now with an error code and reason (e.g. 1008 when its live call is refused); pending audio is discarded. */
  refuse(code: number, reason: string): void {
    this.fail(code, reason);
  }

  /** End the session now because the server is stopping: close 1001 (going away); pending audio is discarded. */
  shutdown(): void {
    this.fail(CloseCode.goingAway, "server shutting down");
  }

  // ------------------------------------------------------------------------------------------
  // Inbound frames
  // ------------------------------------------------------------------------------------------

  private onFrame(data: RawData, isBinary: boolean): void {
    try {
      this.handleFrame(data, isBinary);
    } catch (err) {
      // A bug or a decoder failure must end this session only, never the server.
      this.fail(CloseCode.internalError, `could not process a frame: ${(err as Error).message ?? String(err)}`);
    }
  }

  private handleFrame(data: RawData, isBinary: boolean): void {
    if (this.state === "ended") return;
    this.armIdleTimer();
    const bytes = toBytes(data);
    if (!isBinary) {
      this.onText(bytes);
      return;
    }
    if (this.state === "closing") return; // audio after CloseStream is ignored
    if (bytes.length === 0) {
      // Deepgram's older clients close a stream with an empty binary frame.
      this.enqueueControl({ type: "CloseStream" });
      return;
    }
    this.hash.update(bytes);
    this.bytesIn += bytes.length;
    if (!this.format) {
      this.onContainerBytes(bytes);
      return;
    }
    if (this.state === "starting") this.queue.push(bytes);
    else this.processAudio(bytes);
    this.countAudio(bytes.length);
  }

  /** Account for `byteCount` bytes of audio in the session's format and throttle if it runs ahead. */
  private countAudio(byteCount: number): void {
    const format = this.format!;
    const bytesPerFrame = (format.encoding === "linear16" ? 2 : 1) * format.channels;
    this.secondsIn += byteCount / bytesPerFrame / format.sampleRate;
    this.flowStart ??= performance.now();
    this.throttle();
  }

  /**
   * Pause reading the socket while the client is ahead of `LiveFlowLimits`, resume when it is not.
   * @returns nothing; re-arms itself every `FLOW_POLL_MS` while paused
   */
  private throttle(): void {
    if (this.throttleTimer || this.state === "ended") return;
    const wait = this.flowWaitMs();
    if (wait <= 0) return;
    const { socket } = this.init;
    pauseReading(socket); // pinged while paused: a client that went away is noticed (ws-back-pressure.ts)
    this.clearIdleTimer(); // a throttled client is not idle
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = undefined;
      if (this.state === "ended") return;
      if (this.flowWaitMs() > 0) {
        this.throttle();
        return;
      }
      resumeReading(socket);
      this.armIdleTimer();
    }, Math.min(wait, FLOW_POLL_MS));
  }

  /** How long the client must wait before more audio is read, ms (0: read on). */
  private flowWaitMs(): number {
    const flow = this.init.flow ?? DEFAULT_FLOW_LIMITS;
    const elapsed = (performance.now() - (this.flowStart ?? performance.now())) / 1000;
    const ahead = this.secondsIn - (flow.burstSeconds + flow.maxSpeed * elapsed);
    const rateWait = ahead > 0 ? (ahead / flow.maxSpeed) * 1000 : 0;
    const backlog = Math.max(0, ...this.streams.map((s) => (s as RecognizerStream & { queuedSeconds?: number }).queuedSeconds ?? 0));
    return Math.max(rateWait, backlog > flow.maxBacklogSeconds ? FLOW_POLL_MS : 0);
  }

  private onText(bytes: Uint8Array): void {
    let message: unknown;
    try {
      message = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch {
      this.fail(CloseCode.policyViolation, 'invalid text frame: expected JSON {"type":"KeepAlive"|"Finalize"|"CloseStream"}');
      return;
    }
    if (!validateClientControl(message)) {
      const type = typeof message === "object" && message && "type" in message ? String((message as { type: unknown }).type) : "";
      this.fail(CloseCode.policyViolation, `unknown control message${type ? ` type "${type.slice(0, 30)}"` : ""}: expected KeepAlive, Finalize or CloseStream`);
      return;
    }
    this.enqueueControl(message as ClientControlMessage);
  }

  /** No `encoding` in the query: the stream must start with a WAV header. */
  private onContainerBytes(bytes: Uint8Array): void {
    const prev = this.headerBytes ?? new Uint8Array(0);
    const all = new Uint8Array(prev.length + bytes.length);
    all.set(prev, 0);
    all.set(bytes, prev.length);
    this.headerBytes = all;
    if (all.length < 12) return;
    if (!looksLikeWav(all)) {
      this.fail(
        CloseCode.policyViolation,
        "unrecognised audio: set encoding (linear16|mulaw|alaw) and sample_rate for raw audio, or stream a WAV file",
      );
      return;
    }
    try {
      const header = readWavStreamHeader(all);
      if (!header) {
        if (all.length > MAX_WAV_HEADER_BYTES) throw new Error("WAV header too long");
        return;
      }
      this.format = { encoding: header.encoding, sampleRate: header.sampleRate, channels: header.channels };
      this.headerBytes = undefined;
      if (header.dataOffset < all.length) {
        const data = all.subarray(header.dataOffset);
        this.queue.push(data);
        this.countAudio(data.length);
      }
      this.setupRun = this.setup();
    } catch (err) {
      this.fail(CloseCode.policyViolation, (err as Error).message);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Engine setup and audio path
  // ------------------------------------------------------------------------------------------

  private async setup(): Promise<void> {
    const { engine, options, log } = this.init;
    const format = this.format!;
    const count = options.multichannel ? format.channels : 1;
    const { lease, maxChannels } = this.init;
    if (count > maxChannels) {
      this.fail(CloseCode.policyViolation, `WAV stream with ${count} channels and multichannel=true: at most ${maxChannels} channels per session are transcribed (downmix with multichannel=false)`);
      return;
    }
    if (count > lease.channels && !lease.grow(count - lease.channels)) {
      this.fail(CloseCode.tryAgainLater, `server at capacity: no room for ${count} live channels (the WAV header's channel count); try again later`);
      return;
    }
    try {
      await engine.ready();
      if (this.isEnded()) return; // the client left while the engine loaded: open nothing
      const signal = this.abort.signal;
      const results = await Promise.allSettled(
        Array.from({ length: count }, () =>
          engine.createStream({ language: options.language, keyterms: options.keyterms, signal, ...(options.detectLanguage ? { detectLanguage: true } : {}) }),
        ),
      );
      const streams = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failure || this.isEnded()) {
        await Promise.allSettled(streams.map((s) => s.close()));
        if (failure && !this.isEnded()) throw failure.reason;
        return;
      }
      this.streams = streams;
      for (const s of streams) s.on("error", (err: Error) => this.fail(CloseCode.internalError, `engine failed: ${err.message}`));
      this.resamplers = await Promise.all(
        // Telephony rates (8 kHz) are upsampled with the quality the pre-recorded path uses, so a live call hears what POST hears.
        streams.map(() => StreamResampler.create(format.sampleRate, ENGINE_SAMPLE_RATE, format.sampleRate < ENGINE_SAMPLE_RATE ? Quality.medium : Quality.fastest)),
      );
      if (this.isEnded()) {
        // The client left while the converters were created; release() already closed the streams.
        for (const r of this.resamplers) r.close();
        return;
      }
      const meta = { requestId: this.requestId, modelUuid: this.init.model.uuid, modelInfo: this.init.model.info };
      this.channels = streams.map((s, i) => new LiveChannel(i, count, s, options, meta, () => this.receivedSeconds, (m) => this.send(m)));
      this.decoder = new RawStreamDecoder(format.encoding, format.channels);
      if (this.state === "starting") this.state = "open";
      const queued = this.queue;
      this.queue = [];
      for (const chunk of queued) this.processAudio(chunk);
      log.debug({ requestId: this.requestId, channels: count, sampleRate: format.sampleRate, encoding: format.encoding }, "live session ready");
      this.resolveReady(true);
    } catch (err) {
      this.resolveReady(false);
      this.fail(CloseCode.internalError, `could not start recognition: ${(err as Error).message}`);
    }
  }

  private processAudio(bytes: Uint8Array): void {
    const format = this.format!;
    const perChannel = this.decoder!.push(bytes);
    const frames = perChannel[0]?.length ?? 0;
    if (frames === 0) return;
    this.framesIn += frames;
    const direct = format.sampleRate === ENGINE_SAMPLE_RATE && (this.channels.length === format.channels || format.channels === 1);
    if (direct) {
      // Already 16 kHz and no downmix needed: hand the PCM16 over as it is.
      for (let i = 0; i < this.channels.length; i++) this.channels[i].stream.write(perChannel[i]);
    } else {
      const floats = perChannel.map(int16ToFloat32);
      const sources = this.channels.length === format.channels ? floats : [downmix(floats)];
      for (let i = 0; i < this.channels.length; i++) {
        const pcm = float32ToInt16(this.resamplers[i].process(sources[i]));
        if (pcm.length > 0) this.channels[i].stream.write(pcm);
      }
    }
    const t = this.receivedSeconds;
    for (const ch of this.channels) ch.onAudioTime(t);
  }

  // ------------------------------------------------------------------------------------------
  // Control messages
  // ------------------------------------------------------------------------------------------

  private enqueueControl(message: ClientControlMessage): void {
    if (message.type === "KeepAlive") return; // the idle timer was re-armed on receipt
    if (message.type === "CloseStream") {
      if (this.state === "closing") return;
      this.state = "closing";
      this.clearIdleTimer();
    }
    this.control = this.control
      .then(() => (message.type === "CloseStream" ? this.closeStream() : this.finalize()))
      .catch((err: Error) => this.fail(CloseCode.internalError, `flush failed: ${err.message}`));
  }

  private async finalize(): Promise<void> {
    if (this.state === "ended" || this.state === "closing" || !this.format) return;
    if (!(await this.ready)) return;
    await this.withTimeout(Promise.all(this.channels.map((c) => c.flush("finalize"))));
  }

  private async closeStream(): Promise<void> {
    if (this.state === "ended") return;
    if (this.format && (await this.ready)) {
      await this.withTimeout(Promise.all(this.channels.map((c) => c.flush("close"))));
    }
    if (this.isEnded()) return;
    this.send(this.metadata());
    this.end(CloseCode.normal, "");
  }

  private metadata(): MetadataMessage {
    const { uuid, info } = this.init.model;
    return {
      type: "Metadata",
      transaction_key: "deprecated",
      request_id: this.requestId,
      sha256: this.hash.copy().digest("hex"),
      created: this.created.toISOString(),
      duration: roundSeconds(this.receivedSeconds),
      channels: this.format?.channels ?? this.init.options.channels,
      models: [uuid],
      model_info: { [uuid]: info },
      ...(Object.keys(this.init.options.extra ?? {}).length > 0 && { extra: this.init.options.extra }),
    };
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.init.flushTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`engine did not flush within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  // ------------------------------------------------------------------------------------------
  // Output, timers, teardown
  // ------------------------------------------------------------------------------------------

  private send(message: ServerMessage): void {
    const { socket } = this.init;
    if (this.state === "ended") return;
    this.init.tap?.(message);
    if (socket.readyState !== socket.OPEN) return;
    this.messagesOut++;
    socket.send(JSON.stringify(message));
  }

  private armIdleTimer(): void {
    this.clearIdleTimer();
    if (this.state === "closing" || this.state === "ended") return;
    this.idleTimer = setTimeout(() => {
      this.fail(
        CloseCode.internalError,
        `NET-0001: no audio or KeepAlive received for ${Math.round(this.init.idleTimeoutMs / 1000)} s`,
      );
    }, this.init.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Close the socket with an error code and reason, and release everything. */
  private fail(code: number, reason: string): void {
    if (this.state === "ended") return;
    this.init.log.warn({ requestId: this.requestId, code, reason }, "live session closed with an error");
    this.end(code, reason);
  }

  private end(code: number, reason: string): void {
    if (this.state === "ended") return;
    this.state = "ended";
    this.outcome = code === CloseCode.normal ? { kind: "normal" } : { kind: "failed", code, reason };
    this.abort.abort(new Error("live session ended"));
    this.resolveReady(false);
    const { socket } = this.init;
    const closeSocket = () => {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(code, closeReason(reason));
      }
    };
    // A normal close waits until the channels are given back, so a client that opens its next
    // session on seeing the close is not refused for channels its last session still held.
    if (code === CloseCode.normal) void this.release().then(closeSocket);
    else {
      closeSocket();
      void this.release();
    }
  }

  private onSocketClose(code: number): void {
    if (this.state !== "ended") {
      this.init.log.info({ requestId: this.requestId, code }, "client closed the live socket");
      this.state = "ended";
      this.outcome = { kind: "client-closed", code };
      this.abort.abort(new Error("client closed the live socket"));
      this.resolveReady(false);
    }
    void this.release();
  }

  /**
   * Close engine streams (discarding unflushed audio) and resamplers, wait for a setup in progress to
   * close what it opened, then give the channels back and report the end, once.
   */
  private release(): Promise<void> {
    this.clearIdleTimer();
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
    if (this.releasing) return this.releasing;
    const streams = this.streams;
    this.streams = [];
    for (const r of this.resamplers) r.close();
    this.resamplers = [];
    this.queue = [];
    let timer: NodeJS.Timeout | undefined;
    const released = Promise.allSettled([this.setupRun, ...streams.map((s) => s.close())]);
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.init.log.warn({ requestId: this.requestId }, `engine streams did not close within ${RELEASE_TIMEOUT_MS} ms; giving the channels back anyway`);
        resolve();
      }, RELEASE_TIMEOUT_MS);
      timer.unref();
    });
    this.releasing = Promise.race([released, timedOut]).then(() => {
      clearTimeout(timer);
      this.init.lease.release();
      this.init.log.info(
        {
          requestId: this.requestId,
          audioSeconds: roundSeconds(this.receivedSeconds),
          bytes: this.bytesIn,
          messages: this.messagesOut,
          channels: this.format?.channels,
        },
        "live session ended",
      );
      this.init.onEnd(this);
    });
    return this.releasing;
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** A WebSocket close reason cut to the 123 bytes of UTF-8 that RFC 6455 §5.5 allows. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason, "utf8") <= 123) return reason;
  let r = reason;
  while (Buffer.byteLength(r, "utf8") > 120) r = r.slice(0, -1);
  return `${r}…`;
}
