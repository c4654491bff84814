/**
 * Raising intents from inside an app's frame with that app's own FDC3 API (`window.fdc3`), for
 * the FDC3 hygiene test and `npm run bench:fdc3`. A result that is a channel cannot leave the
 * page, so it is described (`kind: "channel"`); a result that never comes is a `timeout`.
 */
import type { Frame } from "playwright-core";

/** What `raiseIntent(...).getResult()` gave, as seen in the raising frame. */
export type RaiseOutcome =
  | { kind: "context"; context: { type: string; status?: string; message?: string; [k: string]: unknown }; ms: number; source: { appId: string; instanceId?: string } }
  | { kind: "channel"; channelType: string; id: string; ms: number; source: { appId: string; instanceId?: string } }
  | { kind: "void"; ms: number; source: { appId: string; instanceId?: string } }
  | { kind: "rejected"; error: string; ms: number }
  | { kind: "timeout"; ms: number };

/**
 * Raise `intent` with `context` (to `target` when given) from `frame`, wait for the result.
 * `ms` is raiseIntent → getResult resolved, timed with `performance.now()` in the raising page.
 */
export function raiseFrom(frame: Frame, intent: string, context: unknown, target?: { appId: string; instanceId?: string }, timeoutMs = 15_000): Promise<RaiseOutcome> {
  return frame.evaluate(
    async ({ intent, context, target, timeoutMs }) => {
      const fdc3 = (window as any).fdc3;
      const t0 = performance.now();
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs));
      try {
        const run = (async () => {
          const res = target ? await fdc3.raiseIntent(intent, context, target) : await fdc3.raiseIntent(intent, context);
          const result = await res.getResult();
          return { res, result };
        })();
        const got = await Promise.race([run, timeout]);
        const ms = performance.now() - t0;
        if (got === "timeout") return { kind: "timeout" as const, ms };
        const source = { appId: got.res.source.appId, instanceId: got.res.source.instanceId };
        const r = got.result;
        if (r === undefined || r === null) return { kind: "void" as const, ms, source };
        if (typeof r.broadcast === "function") return { kind: "channel" as const, channelType: String(r.type), id: String(r.id), ms, source };
        return { kind: "context" as const, context: JSON.parse(JSON.stringify(r)), ms, source };
      } catch (e) {
        return { kind: "rejected" as const, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 };
      }
    },
    { intent, context, target, timeoutMs },
  ) as Promise<RaiseOutcome>;
}

/** `findIntent(intent, {type})` from `frame`: the apps (directory entries and listening instances), or the error. */
export function findIntentFrom(frame: Frame, intent: string, contextType: string): Promise<{ apps: { appId: string; instanceId?: string }[] } | { error: string }> {
  return frame.evaluate(
    async ({ intent, contextType }) => {
      try {
        const ai = await (window as any).fdc3.findIntent(intent, { type: contextType });
        return { apps: ai.apps.map((a: any) => ({ appId: a.appId, ...(a.instanceId && { instanceId: a.instanceId }) })) };
      } catch (e) {
        return { error: e instanceof Error ? e.message : String(e) };
      }
    },
    { intent, contextType },
  );
}
