/**
 * What AudioHook sessions did to their live calls, for tests: a spy around the hub's `openCall`
 * (every call goes to the real hub) that records each call's start, the audio bytes written, the
 * metadata updates and how it ended. Without a hub it stands in with a fake transcription
 * (`fakeTranscription`) that only records, for tests of the protocol alone.
 */
import { CallAlreadyStreamingError, type CallTranscription, type LiveCallEvent, type LiveCallMetadata } from "../../src/server/live-calls/types";
import type { OpenCall } from "../../src/server/telephony/audiohook/session";

/** One recorded call. */
export interface RecordedCall {
  start: Parameters<OpenCall>[0];
  writes: Buffer[];
  updates: Partial<LiveCallMetadata>[];
  /** `end`, or `interrupt: <reason>`, once finished. */
  ended?: string;
  /** Every event the call published, in order. */
  events: LiveCallEvent[];
  /** The first event (so far or to come) of `type`. */
  event<T extends LiveCallEvent["type"]>(type: T, timeoutMs?: number): Promise<Extract<LiveCallEvent, { type: T }>>;
}

export interface TestCalls {
  openCall: OpenCall;
  /** The call opened for `callId` (waits up to 5 s for it). */
  opened(callId: string): Promise<RecordedCall>;
  /** Calls opened so far. */
  count(): number;
}

/** A recording-only stand-in for a hub's call (no engines): named fake, used only without a hub. */
function fakeTranscription(callId: string): CallTranscription & { listeners: Set<(e: LiveCallEvent) => void> } {
  const listeners = new Set<(e: LiveCallEvent) => void>();
  return {
    callId,
    listeners,
    write: () => undefined,
    onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
    updateMetadata: () => undefined,
    setFlowControl: () => undefined,
    end: async () => undefined,
    interrupt: async () => undefined,
  };
}

/** Record calls opened through `inner` (the real hub's `openCall`), or through fakes when none is given. */
export function startTestCalls(inner?: OpenCall): TestCalls {
  const calls = new Map<string, RecordedCall>();
  const live = new Set<string>();
  const openCall: OpenCall = async (start) => {
    if (!inner && live.has(start.callId)) throw new CallAlreadyStreamingError(start.callId);
    const t = inner ? await inner(start) : fakeTranscription(start.callId);
    live.add(start.callId);
    const events: LiveCallEvent[] = [];
    const waiters = new Set<() => void>();
    t.onEvent((e) => {
      events.push(e);
      waiters.forEach((w) => w());
    });
    const rec: RecordedCall = {
      start,
      writes: [],
      updates: [],
      events,
      event: (type, timeoutMs = 120_000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const e = events.find((x) => x.type === type);
            if (!e) return false;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(e as never);
            return true;
          };
          const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`no ${type} event within ${timeoutMs} ms`))), timeoutMs);
          if (!check()) waiters.add(check);
        }),
    };
    calls.set(start.callId, rec);
    const finish = (how: string) => {
      rec.ended ??= how;
      live.delete(start.callId);
    };
    return {
      callId: t.callId,
      write: (bytes) => {
        rec.writes.push(Buffer.from(bytes));
        t.write(bytes);
      },
      onEvent: (l) => t.onEvent(l),
      updateMetadata: (patch) => {
        rec.updates.push(patch);
        t.updateMetadata(patch);
      },
      setFlowControl: (c) => t.setFlowControl(c),
      end: async () => {
        finish("end");
        await t.end();
      },
      interrupt: async (reason) => {
        finish(`interrupt: ${reason}`);
        await t.interrupt(reason);
      },
    };
  };
  return {
    openCall,
    count: () => calls.size,
    async opened(callId) {
      for (let i = 0; i < 100 && !calls.has(callId); i++) await new Promise((r) => setTimeout(r, 50));
      const c = calls.get(callId);
      if (!c) throw new Error(`no call opened for ${callId}`);
      return c;
    },
  };
}
