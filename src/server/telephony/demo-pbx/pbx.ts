/**
 * The demo PBX (issue 8 §4): when the demo softphone connects a call, it streams a two-party call
 * into our own server the way a contact-centre platform does, as an AudioHook v2 client of the
 * server's `/v1/audiohook` route, over a real WebSocket to the server's own port, with the
 * `X-API-KEY` (and the HTTP message signature when a client secret is configured). The session's
 * `conversationId` is the softphone's call id; `participant` is the call's customer contact
 * (`aniName` = name, `ani` = number). The audio is the corpus call of `call-audio.ts`: PCMU 8 kHz,
 * channels `external` (customer) and `internal` (agent), sent at real-time pace in 100 ms frames,
 * then `close`; a hang-up closes at once.
 *
 * Bounds: at most `maxCalls` calls at once, one stream per call id, each at most the call audio's
 * length (about half a minute). The decoded call audio is built once and shared by every call.
 */
import { randomUUID } from "node:crypto";
import { AudioHookClient, AudioHookClientError, type AudioHookParticipant } from "./audiohook-client";
import { buildDemoCallAudio, DemoAudioUnavailableError, PBX_CHANNELS, PBX_SAMPLE_RATE, reorderChannels, type DemoCallAudio, type DemoTurn } from "./call-audio";

/** A logger with pino's call shape (Fastify's `app.log`). */
export interface PbxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options of {@link DemoPbx}. */
export interface DemoPbxOptions {
  /** The AudioHook endpoint, e.g. `ws://127.0.0.1:8787/v1/audiohook` (a function: the port is known once the server listens). */
  audiohookUrl: () => string;
  /** The server's `CALLSCRIBE_AUDIOHOOK_API_KEY` (sent as `X-API-KEY`). */
  apiKey: string;
  /** The decoded `CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET`, when configured: the upgrade is then signed. */
  clientSecret?: Uint8Array;
  /** The speech corpus root (`corpusDir()`). */
  corpusRoot: string;
  /** The call's turns (default `DEFAULT_DEMO_TURNS`). */
  turns?: readonly DemoTurn[];
  /** Calls streamed at once (default 4); more are refused with {@link DemoPbxBusyError}. */
  maxCalls?: number;
  /** Audio per binary frame, ms (default 100). */
  frameMs?: number;
  /** The demo contact centre's number, the customer's `dnis` (default `+14155550123`). */
  dnis?: string;
  /** AudioHook `organizationId` (default a random UUID per PBX). */
  organizationId?: string;
  /** Longest wait for `opened`, ms (default 5000). */
  openTimeoutMs?: number;
  /** Longest wait for `closed` after `close`, ms (default 35 000: the server ends the live call, up to 30 s, before it answers). */
  closeTimeoutMs?: number;
  logger?: PbxLogger;
}

/** What the softphone says about the call it connected. */
export interface DemoCallRequest {
  /** The softphone's call id (a UUID): the AudioHook `conversationId`. */
  callId: string;
  /** The customer. */
  contact: { name: string; phoneNumber: string; email?: string };
}

/** A call the PBX streams (or streamed). */
export interface DemoCallStatus {
  call_id: string;
  /** `closing`: hung up, AudioHook's close sent, waiting for `closed` (the server ends the live call first). */
  state: "streaming" | "closing" | "ended";
  /** ISO 8601 time the stream opened. */
  started_at: string;
  /** Length of the call audio, seconds. */
  duration_s: number;
  /** The parties as streamed: channel name and who is on it. */
  parties: Array<{ role: "agent" | "customer"; channel: string; name?: string }>;
  /** How it ended, once it has. */
  reason?: string;
}

/** The PBX already streams `maxCalls` calls. */
export class DemoPbxBusyError extends Error {
  constructor(readonly maxCalls: number) {
    super(`the demo PBX already streams ${maxCalls} calls, its limit; hang one up first`);
    this.name = "DemoPbxBusyError";
  }
}

/** The call id already streams. */
export class DemoCallExistsError extends Error {
  constructor(readonly callId: string) {
    super(`the demo PBX already streams call ${callId}: one stream per call id`);
    this.name = "DemoCallExistsError";
  }
}

interface ActiveCall {
  status: DemoCallStatus;
  client?: AudioHookClient;
  timer?: ReturnType<typeof setTimeout>;
  /** Resolves when the stream has ended (closed or failed). */
  done: Promise<void>;
  finish: (reason: string) => void;
  stopping: boolean;
}

/** The demo PBX: one AudioHook client session per connected demo call. */
export class DemoPbx {
  readonly maxCalls: number;
  private readonly calls = new Map<string, ActiveCall>();
  private audioPromise: Promise<DemoCallAudio> | undefined;
  private readonly organizationId: string;
  private closed = false;

  constructor(private readonly options: DemoPbxOptions) {
    this.maxCalls = options.maxCalls ?? 4;
    this.organizationId = options.organizationId ?? randomUUID();
  }

  /**
   * The call audio, built on first use and kept. A failure is not kept (the corpus may be added later).
   * @throws DemoAudioUnavailableError saying what is missing
   */
  audio(): Promise<DemoCallAudio> {
    this.audioPromise ??= buildDemoCallAudio({ corpusRoot: this.options.corpusRoot, turns: this.options.turns }).catch((err: unknown) => {
      this.audioPromise = undefined;
      throw err;
    });
    return this.audioPromise;
  }

  /** Whether the PBX has call audio, and if not, why (for the softphone and the boot log). */
  async availability(): Promise<{ available: true; duration_s: number } | { available: false; reason: string }> {
    try {
      return { available: true, duration_s: (await this.audio()).durationS };
    } catch (err) {
      return { available: false, reason: err instanceof DemoAudioUnavailableError ? err.message : `demo audio failed: ${(err as Error).message}` };
    }
  }

  /** Calls streaming now. */
  get activeCalls(): number {
    return this.calls.size;
  }

  /** The status of a call streaming now. */
  status(callId: string): DemoCallStatus | undefined {
    return this.calls.get(callId)?.status;
  }

  /**
   * Open an AudioHook session for the call and start streaming; resolves once the server answered
   * `opened` (so the live call exists when the softphone asks for its transcription).
   * @throws DemoPbxBusyError, DemoCallExistsError, DemoAudioUnavailableError (no corpus),
   *   AudioHookClientError (the server refused or did not open the session: its reason)
   */
  async startCall(request: DemoCallRequest): Promise<DemoCallStatus> {
    if (this.closed) throw new AudioHookClientError("the demo PBX is shutting down");
    if (this.calls.has(request.callId)) throw new DemoCallExistsError(request.callId);
    if (this.calls.size >= this.maxCalls) throw new DemoPbxBusyError(this.maxCalls);
    let finish!: (reason: string) => void;
    const done = new Promise<void>((resolve) => {
      finish = (reason) => {
        if (call.status.state === "ended") return;
        call.status.state = "ended";
        call.status.reason = reason;
        clearTimeout(call.timer);
        this.calls.delete(request.callId);
        this.options.logger?.info({ callId: request.callId, reason }, "demo PBX call ended");
        resolve();
      };
    });
    const call: ActiveCall = {
      status: { call_id: request.callId, state: "streaming", started_at: new Date().toISOString(), duration_s: 0, parties: [] },
      done,
      finish,
      stopping: false,
    };
    // Reserve the id and the slot before anything async, so concurrent requests are bounded.
    this.calls.set(request.callId, call);
    try {
      const audio = await this.audio();
      if (call.stopping) throw new AudioHookClientError("the call was hung up before its stream opened");
      const participant: AudioHookParticipant = { id: randomUUID(), ani: request.contact.phoneNumber, aniName: request.contact.name, dnis: this.options.dnis ?? "+14155550123" };
      const client = await AudioHookClient.connect({
        url: this.options.audiohookUrl(),
        apiKey: this.options.apiKey,
        clientSecret: this.options.clientSecret,
        organizationId: this.organizationId,
        conversationId: request.callId,
        participant,
        media: [{ type: "audio", format: "PCMU", channels: [...PBX_CHANNELS], rate: PBX_SAMPLE_RATE }],
        language: "en-US",
        openTimeoutMs: this.options.openTimeoutMs,
        closeTimeoutMs: this.options.closeTimeoutMs ?? 35_000,
        onEnd: (end) => {
          if (end.how !== "closed") this.options.logger?.warn({ callId: request.callId, how: end.how, reason: end.reason }, "demo PBX stream ended early");
          call.finish(end.how === "closed" ? (call.stopping ? "hung up" : "call audio ended") : end.reason);
        },
      });
      call.client = client;
      if (call.stopping) {
        await client.close("end");
        call.finish("hung up");
        return call.status;
      }
      const frames = reorderChannels(audio, client.selected.channels);
      const channels = client.selected.channels;
      call.status.duration_s = audio.durationS;
      call.status.started_at = new Date().toISOString();
      call.status.parties = channels.map((channel) =>
        channel === "external" ? { role: "customer" as const, channel, name: request.contact.name } : { role: "agent" as const, channel },
      );
      this.stream(call, client, frames, channels.length);
      this.options.logger?.info({ callId: request.callId, seconds: audio.durationS, channels }, "demo PBX streaming the call");
      return { ...call.status };
    } catch (err) {
      call.finish(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /**
   * Hang up: stop sending and start AudioHook's close transaction at once (`state: "closing"`; the
   * call leaves the PBX when the server answers `closed`, or the close times out).
   * @param wait also wait until the call has left the PBX
   * @returns the call's status, or undefined when it does not stream (never started or already over)
   */
  async endCall(callId: string, wait = false): Promise<DemoCallStatus | undefined> {
    const call = this.calls.get(callId);
    if (!call) return undefined;
    if (!call.stopping) {
      call.stopping = true;
      clearTimeout(call.timer);
      if (call.status.state === "streaming") call.status.state = "closing";
      call.status.reason = "hung up";
      // Not yet opened: startCall sees `stopping` and closes as soon as the session opens.
      if (call.client) void call.client.close("end").then(() => call.finish("hung up"));
    }
    if (wait) await call.done;
    return { ...call.status };
  }

  /** Hang up every call and wait until they are closed (server shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.calls.keys()].map((id) => this.endCall(id, true)));
  }

  /** Send `frames` at real-time pace, `frameMs` per binary frame, then close the session. */
  private stream(call: ActiveCall, client: AudioHookClient, frames: Uint8Array, channelCount: number): void {
    const frameMs = this.options.frameMs ?? 100;
    const bytesPerFrame = Math.round((PBX_SAMPLE_RATE * frameMs) / 1000) * channelCount;
    const frameCount = Math.ceil(frames.length / bytesPerFrame);
    const t0 = performance.now();
    let next = 0;
    const tick = () => {
      if (call.stopping || client.ended) return;
      // Send every frame that is due (a late timer catches up), so the pace follows the clock, not the timer.
      const due = Math.min(frameCount, Math.floor((performance.now() - t0) / frameMs) + 1);
      for (; next < due; next++) {
        const frame = frames.subarray(next * bytesPerFrame, Math.min(frames.length, (next + 1) * bytesPerFrame));
        client.sendAudio(frame, frame.length / channelCount / PBX_SAMPLE_RATE);
      }
      if (next >= frameCount) {
        void client.close("end").then(() => call.finish("call audio ended"));
        return;
      }
      call.timer = setTimeout(tick, Math.max(0, t0 + next * frameMs - performance.now()));
    };
    tick();
  }
}
