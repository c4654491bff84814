/**
 * The live-call event bus: how a call's events reach its subscribers. The port has two adapters:
 * in-process (this file; the embedded default, PGlite) and PostgreSQL (`postgres-bus.ts`, with
 * `DATABASE_URL`: the ingress and the subscriber may sit on different server processes).
 *
 * Replay: a subscriber gets every event after `after` that the bus still holds, then live ones,
 * in `seq` order. The bus keeps, per call, every event but interim results, of which it keeps the
 * newest per channel (an interim is superseded by the next result of its channel); ended calls are
 * kept for `keepEndedMs` so a subscriber that arrives late still gets the whole call.
 */
import type { LiveCallEvent, SequencedEvent } from "./types";

/** Receives a call's events in order. */
export type LiveCallListener = (event: SequencedEvent) => void;

/** The bus port. */
export interface LiveCallBus {
  /** Publish one event of a call (events of a call are published in `seq` order by the call's owner). */
  publish(callId: string, event: SequencedEvent): Promise<void>;
  /**
   * Subscribe to a call (it may not have started yet): replay after `after`, then live.
   * @returns the unsubscribe function
   */
  subscribe(callId: string, after: number, listener: LiveCallListener): Promise<() => void>;
  /** Whether the bus holds events of this call (started, live or recently ended). */
  knows(callId: string): Promise<boolean>;
  /** Drop the call's held events (a stale call being taken over); subscribers stay subscribed. */
  forget(callId: string): Promise<void>;
  close(): Promise<void>;
}

/** Whether an event is an interim result (kept only as the newest of its channel). */
export function isInterim(event: LiveCallEvent): boolean {
  return event.type === "Results" && !event.is_final;
}

/** Events of one call held by the in-process bus. */
class CallLog {
  readonly events: SequencedEvent[] = [];
  readonly listeners = new Set<LiveCallListener>();
  ended = false;
  forgetTimer?: NodeJS.Timeout;

  add(e: SequencedEvent): void {
    if (e.event.type === "Results") {
      const channel = e.event.channel_index[0];
      // A result of a channel supersedes that channel's held interim.
      const i = this.events.findIndex((x) => isInterim(x.event) && x.event.type === "Results" && x.event.channel_index[0] === channel);
      if (i >= 0) this.events.splice(i, 1);
    }
    this.events.push(e);
  }
}

/** In-process bus: one process holds the calls and their subscribers. */
export class LocalLiveCallBus implements LiveCallBus {
  private readonly calls = new Map<string, CallLog>();

  /** @param keepEndedMs how long an ended call's events stay for late subscribers, ms. Default 10 min. */
  constructor(private readonly keepEndedMs = 10 * 60_000) {}

  private log(callId: string): CallLog {
    let log = this.calls.get(callId);
    if (!log) {
      log = new CallLog();
      this.calls.set(callId, log);
    }
    return log;
  }

  async publish(callId: string, e: SequencedEvent): Promise<void> {
    const log = this.log(callId);
    log.add(e);
    for (const l of log.listeners) l(e);
    if (e.event.type === "CallEnded") {
      log.ended = true;
      log.forgetTimer = setTimeout(() => {
        if (log.listeners.size === 0) this.calls.delete(callId);
      }, this.keepEndedMs);
      log.forgetTimer.unref();
    }
  }

  async subscribe(callId: string, after: number, listener: LiveCallListener): Promise<() => void> {
    const log = this.log(callId);
    for (const e of log.events) if (e.seq > after) listener(e);
    log.listeners.add(listener);
    return () => {
      log.listeners.delete(listener);
      // A subscriber that gave up on a call that never started leaves nothing behind.
      if (log.listeners.size === 0 && log.events.length === 0) this.calls.delete(callId);
    };
  }

  async knows(callId: string): Promise<boolean> {
    return (this.calls.get(callId)?.events.length ?? 0) > 0;
  }

  async forget(callId: string): Promise<void> {
    const log = this.calls.get(callId);
    if (!log) return;
    if (log.forgetTimer) clearTimeout(log.forgetTimer);
    // Subscribers waiting for the call stay; only its events go.
    if (log.listeners.size === 0) this.calls.delete(callId);
    else {
      log.events.length = 0;
      log.ended = false;
    }
  }

  /** Calls held (live or recently ended), for tests and metrics. */
  get size(): number {
    return this.calls.size;
  }

  async close(): Promise<void> {
    for (const log of this.calls.values()) if (log.forgetTimer) clearTimeout(log.forgetTimer);
    this.calls.clear();
  }
}
