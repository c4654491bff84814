/**
 * The live-call hub: one live call per call id on the server (issue 8 §1). Ingress adapters open
 * a call (`openCall`: AudioHook, Twilio) or attach a multichannel `/v1/listen` session to one
 * (`begin`, `extra=call_id:<id>`); the hub runs one engine session per channel (through the same
 * `LiveSession` as `/v1/listen`, admitted against the same channel limit), publishes every result
 * on the bus (`bus.ts`) for subscribers (`routes.ts`: `GET /v1/calls/:id/live`), and when the
 * stream ends builds the call's `fdc3.transcript`, analyses it with the recorded-call analysis and
 * stores both encrypted in the calls table (`source: "live"`), then publishes `CallEnded`.
 *
 * One stream per call id: a second one, here or (with a store) on another process, is refused
 * with `CallAlreadyStreamingError`. A live call's row carries a heartbeat (`updated_at`, every
 * 10 s); a row whose heartbeat is older than 30 s belongs to a process that died and may be taken over.
 */
import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { Transcript } from "../../contracts";
import type { Analysis } from "../store/model";
import type { ChannelAdmission } from "../speech/admission";
import type { EngineResolver } from "../speech/engines/registry";
import { LiveSession, type LiveFlowLimits, type LiveSessionOutcome } from "../speech/live-session";
import type { ResultsMessage, ServerMessage } from "../speech/protocol";
import type { ListenOptions } from "../speech/query";
import { LocalLiveCallBus, type LiveCallBus, type LiveCallListener } from "./bus";
import { LoopbackSocket } from "./loopback-socket";
import { buildLiveTranscript, liveSpeakers } from "./transcript";
import {
  CallAlreadyStreamingError,
  LiveCallCapacityError,
  type CallAudioFormat,
  type CallTranscription,
  type LiveCallEvent,
  type LiveCallMetadata,
  type LiveCallSource,
  type LiveCallStart,
  type LiveCallSummary,
} from "./types";

/** What the hub needs of the calls table (`store/calls.ts` implements it). */
export interface LiveCallStore {
  /**
   * Insert the call's row (status `live`, `source: "live"`), or take over a `live` row whose heartbeat
   * is older than `staleAfterSec`.
   * @throws CallAlreadyStreamingError when the call id is live elsewhere or already has a transcript
   */
  beginLiveCall(callId: string, source: LiveCallSource, metadata: LiveCallMetadata, staleAfterSec: number): Promise<void>;
  /** Refresh the live row's heartbeat. */
  heartbeatLiveCall(callId: string): Promise<void>;
  /** Store the outcome: status done or failed (with the reason), transcript and analysis encrypted. */
  finishLiveCall(callId: string, outcome: { status: "done" | "failed"; reason?: string; transcript: Transcript; analysis?: Analysis; metadata: LiveCallMetadata }): Promise<void>;
  /** A stored call (for subscribers of a call that ended before they came). */
  getCall(callId: string): Promise<{ status: string; reason?: string; source?: string; metadata: unknown; created_at: string; transcript?: Transcript } | undefined>;
}

/** Options of {@link LiveCallHub}. */
export interface LiveCallHubOptions {
  engines: EngineResolver;
  /** The server's live-channel admission (shared with `/v1/listen`). */
  admission: ChannelAdmission;
  /** The server's live sessions (for /healthz and shutdown); the hub's sessions join it. */
  sessions: Set<LiveSession>;
  log: FastifyBaseLogger;
  /** Default: in-process. */
  bus?: LiveCallBus;
  /** Default: none (calls are published but not stored; tests). */
  store?: LiveCallStore;
  /** Analysis of the final transcript; default the recorded-call analysis (`analyzeTranscript`). */
  analyze?: (transcript: Transcript) => Promise<Analysis>;
  /** Longest engine flush at the end of a call, ms. Default 120 000. */
  flushTimeoutMs?: number;
  flow?: LiveFlowLimits;
  /** Heartbeat of a live call's row, ms. Default 10 000. */
  heartbeatMs?: number;
}

/** A live row whose heartbeat is older than this belongs to a dead process, seconds. */
export const STALE_LIVE_CALL_SECONDS = 30;

/** Deepgram options of the engine sessions of a telephony call. */
function telephonyListenOptions(format: CallAudioFormat, language: string | undefined): ListenOptions {
  return {
    language,
    encoding: format.encoding,
    sampleRate: format.sampleRate,
    channels: format.channels,
    multichannel: true,
    interimResults: true,
    endpointing: 10,
    utteranceEndMs: 1000,
    vadEvents: false,
    punctuate: true,
    smartFormat: true,
    keyterms: [],
    diarize: false,
    utterances: false,
    detectLanguage: false,
    extra: {},
  };
}

/** The hub's record of one call it owns (its stream arrives in this process). */
export class LiveCall {
  private seq = 0;
  private readonly finals: ResultsMessage[] = [];
  private readonly listeners = new Set<(e: LiveCallEvent) => void>();
  private ended?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;
  readonly startedAt = new Date();
  /** Audio received, seconds per channel (set by the session that feeds the call). */
  receivedSeconds = () => 0;

  constructor(
    readonly callId: string,
    readonly source: LiveCallSource,
    private metadata: LiveCallMetadata,
    private readonly hub: LiveCallHub,
    private readonly provider: { name: string; model: string; language?: string },
  ) {}

  /** The call as subscribers see it. */
  get summary(): LiveCallSummary {
    const { speakers, roles } = liveSpeakers(this.metadata);
    return { call_id: this.callId, source: this.source, speakers, roles, metadata: this.metadata, started_at: this.startedAt.toISOString() };
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** Start publishing: `CallStarted`, and the heartbeat of the call's row. */
  start(heartbeatMs: number, beat?: () => Promise<void>): void {
    this.publish({ type: "CallStarted", call: this.summary });
    if (beat) {
      this.heartbeat = setInterval(() => void beat().catch((err: Error) => this.hub.log.warn({ callId: this.callId, err: err.message }, "live call heartbeat failed")), heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Publish one event: numbered, kept for the transcript when final, sent to the bus and the owner's listeners. */
  publish(event: LiveCallEvent): void {
    if (this.ended && event.type !== "CallEnded") return;
    const seq = ++this.seq;
    if (event.type === "Results" && event.is_final) this.finals.push(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.hub.log.warn({ callId: this.callId, err: (err as Error).message }, "live call listener failed");
      }
    }
    this.hub.bus.publish(this.callId, { seq, event }).catch((err: Error) => this.hub.log.warn({ callId: this.callId, seq, err: err.message }, "live call event not published"));
  }

  /** A message of the call's engine session: Results and UtteranceEnd are published, the rest is the session's own. */
  onSessionMessage = (m: ServerMessage): void => {
    if (m.type === "Results" || m.type === "UtteranceEnd") this.publish(m);
  };

  /** Listen to this call's events (the ingress adapter's way back to its platform). */
  onEvent(listener: (e: LiveCallEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Merge new metadata (participants, numbers) and publish `CallUpdated`. */
  updateMetadata(patch: Partial<LiveCallMetadata>): void {
    if (this.ended) return;
    this.metadata = { ...this.metadata, ...patch, call_id: this.callId };
    this.publish({ type: "CallUpdated", call: this.summary });
  }

  /**
   * End the call once: build, analyse and store the transcript, publish `CallEnded`.
   * @param interrupted the reason when the stream stopped without a proper close (status failed, transcript kept)
   */
  finish(interrupted?: string): Promise<void> {
    this.ended ??= this.doFinish(interrupted);
    return this.ended;
  }

  private async doFinish(interrupted: string | undefined): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const { log, store } = this.hub;
    if (interrupted) this.publish({ type: "StreamInterrupted", reason: interrupted });
    let transcript: Transcript | undefined;
    let status: "done" | "failed" = interrupted ? "failed" : "done";
    let reason = interrupted;
    try {
      transcript = buildLiveTranscript(this.callId, this.metadata, this.finals, this.receivedSeconds(), { name: this.provider.name, model: this.provider.model }, this.provider.language);
      let analysis: Analysis | undefined;
      try {
        if (transcript.segments?.length) analysis = await this.hub.analyze(transcript);
      } catch (err) {
        log.warn({ callId: this.callId, err: (err as Error).message }, "live call analysis failed; the transcript is stored without it");
      }
      if (analysis) {
        const { transcriptWithAnalysis } = await import("../store/calls");
        transcript = transcriptWithAnalysis(transcript, analysis);
      }
      await store?.finishLiveCall(this.callId, { status, ...(reason && { reason }), transcript, analysis, metadata: this.metadata });
    } catch (err) {
      status = "failed";
      reason = `could not store the transcript: ${(err as Error).message}`;
      log.error({ callId: this.callId, err: (err as Error).message }, "live call not stored");
    }
    log.info({ callId: this.callId, source: this.source, status, segments: transcript?.segments?.length ?? 0, audioSeconds: this.receivedSeconds() }, "live call ended");
    this.publish({ type: "CallEnded", status, ...(reason && { reason }), ...(transcript && { transcript }) });
    this.hub.released(this);
  }
}

/** Live calls of this server process, and the way to subscribe to any call on the bus. */
export class LiveCallHub {
  bus: LiveCallBus;
  store?: LiveCallStore;
  readonly log: FastifyBaseLogger;
  /** Analysis of a finished call's transcript (replaceable by the composition root). */
  analyze: (t: Transcript) => Promise<Analysis>;
  private readonly calls = new Map<string, LiveCall>();
  /** Call ids being begun (the store is asked asynchronously): a second begin is refused at once. */
  private readonly beginning = new Set<string>();

  constructor(private readonly options: LiveCallHubOptions) {
    this.bus = options.bus ?? new LocalLiveCallBus();
    this.store = options.store;
    this.log = options.log;
    this.analyze =
      options.analyze ??
      (async (t) => {
        const { analyzeTranscript } = await import("../pipeline/stages/analyze");
        return analyzeTranscript(t);
      });
  }

  /**
   * Plug in the store and, with `DATABASE_URL`, the PostgreSQL bus, once the composition root has
   * opened them (the app is built before the pipeline). Call before the server listens.
   */
  use(parts: { store?: LiveCallStore; bus?: LiveCallBus }): void {
    if (this.calls.size > 0) throw new Error("LiveCallHub.use: calls are already streaming");
    if (parts.store) this.store = parts.store;
    if (parts.bus) this.bus = parts.bus;
  }

  /** Live calls streaming into this process. */
  get size(): number {
    return this.calls.size;
  }

  /** A call streaming into this process, if any. */
  local(callId: string): LiveCall | undefined {
    return this.calls.get(callId);
  }

  /** Summaries of the calls streaming into this process. */
  list(): LiveCallSummary[] {
    return [...this.calls.values()].map((c) => c.summary);
  }

  /**
   * Register a call whose audio arrives in this process and publish `CallStarted`.
   * @throws CallAlreadyStreamingError when the id already streams (here, or per the store elsewhere)
   */
  async begin(start: LiveCallStart): Promise<LiveCall> {
    const { callId } = start;
    if (this.calls.has(callId) || this.beginning.has(callId)) throw new CallAlreadyStreamingError(callId);
    this.beginning.add(callId);
    try {
      const metadata: LiveCallMetadata = { ...start.metadata, call_id: callId, start_time: start.metadata.start_time ?? new Date().toISOString() };
      await this.store?.beginLiveCall(callId, start.source, metadata, STALE_LIVE_CALL_SECONDS);
      // A stale call of a process that died, or a call that ended here a moment ago: its old events go.
      await this.bus.forget(callId);
      const { engine } = this.options.engines.resolve(undefined);
      const call = new LiveCall(callId, start.source, metadata, this, { name: engine.name, model: engine.model, language: engine.languages.length === 1 ? engine.languages[0] : undefined });
      this.calls.set(callId, call);
      const store = this.store;
      call.start(this.options.heartbeatMs ?? 10_000, store ? () => store.heartbeatLiveCall(callId) : undefined);
      return call;
    } finally {
      this.beginning.delete(callId);
    }
  }

  /** @internal a call finished: it no longer streams here. */
  released(call: LiveCall): void {
    if (this.calls.get(call.callId) === call) this.calls.delete(call.callId);
  }

  /**
   * Open a telephony call's transcription: admit its channels, begin the call, and start one engine
   * session per channel (a `LiveSession` over an in-process socket, see `loopback-socket.ts`).
   * @throws LiveCallCapacityError when the channels are not admitted; CallAlreadyStreamingError
   */
  async openCall(start: LiveCallStart & { format: CallAudioFormat }): Promise<CallTranscription> {
    const { admission, engines } = this.options;
    const lease = admission.tryAdmit(start.format.channels);
    if (!lease) {
      throw new LiveCallCapacityError(
        `server at capacity: ${admission.inUse} of ${admission.limit} live channels are in use and this call needs ${start.format.channels}; try again later`,
      );
    }
    let call: LiveCall;
    try {
      call = await this.begin(start);
    } catch (err) {
      lease.release();
      throw err;
    }
    const { engine, identity } = engines.resolve(undefined);
    let flow = { pause() {}, resume() {} };
    const socket = new LoopbackSocket({ pause: () => flow.pause(), resume: () => flow.resume() });
    let resolveEnded!: (outcome: LiveSessionOutcome | undefined) => void;
    const sessionEnded = new Promise<LiveSessionOutcome | undefined>((r) => (resolveEnded = r));
    const session = new LiveSession({
      socket,
      engine,
      options: telephonyListenOptions(start.format, engine.languages.length === 1 ? undefined : "en"),
      requestId: randomUUID(),
      model: identity,
      log: this.log.child({ callId: start.callId, source: start.source }),
      // The ingress has its own liveness rules (AudioHook pings, Twilio's media cadence): no idle timeout here.
      idleTimeoutMs: 24 * 3600_000,
      flushTimeoutMs: this.options.flushTimeoutMs ?? 120_000,
      lease,
      maxChannels: start.format.channels,
      flow: this.options.flow,
      tap: call.onSessionMessage,
      onEnd: (s) => {
        this.options.sessions.delete(s);
        resolveEnded(s.outcome);
      },
    });
    this.options.sessions.add(session);
    call.receivedSeconds = () => session.receivedSeconds;
    const close = async (interrupted?: string): Promise<void> => {
      socket.deliver(JSON.stringify({ type: "CloseStream" }));
      const outcome = await sessionEnded;
      const failure = outcome && outcome.kind === "failed" ? `engine session failed: ${outcome.reason}` : undefined;
      await call.finish(interrupted ?? failure);
    };
    // An engine failure ends the session on its own: the call ends then, keeping what it has.
    void sessionEnded.then((outcome) => {
      if (outcome?.kind === "failed" && !call.isEnded) void call.finish(`engine session failed: ${outcome.reason}`);
    });
    return {
      callId: start.callId,
      write: (bytes) => {
        if (!call.isEnded && bytes.length > 0) socket.deliver(bytes);
      },
      onEvent: (listener) => call.onEvent(listener),
      updateMetadata: (patch) => call.updateMetadata(patch),
      setFlowControl: (control) => {
        flow = control;
      },
      end: () => close(),
      interrupt: (reason) => close(reason),
    };
  }

  /**
   * Subscribe to a call's events on the bus (any process): replay after `after`, then live.
   * @returns the unsubscribe function
   */
  subscribe(callId: string, after: number, listener: LiveCallListener): Promise<() => void> {
    return this.bus.subscribe(callId, after, listener);
  }

  /** Whether the call is known live or recently ended on the bus. */
  knows(callId: string): Promise<boolean> {
    return this.calls.has(callId) ? Promise.resolve(true) : this.bus.knows(callId);
  }

  /** End every call streaming here (server shutdown): each is stored with what it has. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.calls.values()].map((c) => c.finish("server shutting down")));
    await this.bus.close();
  }
}
