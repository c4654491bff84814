/**
 * What AudioHook sessions did to their live calls, for tests: a spy around the hub's `openCall`
 * (every call goes to the real hub) that records each call's start, the audio bytes written, the
 * metadata updates, the events the call published to the session, and how the session ended it.
 */
import type { LiveCallEvent, LiveCallMetadata } from "../../src/server/live-calls/types";
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

/** Record calls opened through `inner` (the real hub's `openCall`). */
export function startTestCalls(inner: OpenCall): TestCalls {
  const calls = new Map<string, RecordedCall>();
  const openCall: OpenCall = async (start) => {
    const t = await inner(start);
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
