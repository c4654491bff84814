/**
 * Registering a demo app's intent listener once per desktop-agent connection, as a React hook.
 *
 * Why not `useEffect(() => agent.addIntentListener(intent, handler), [handler])`: the desktop agent
 * delivers an intent that opened this window to the first listener added for it. A listener
 * re-added because the handler changed (new state, StrictMode's double mount opening the store
 * twice) unsubscribes the first one, and an intent delivered to it in between is lost: the raiser
 * waits for a result forever (the e2e flake "a CRM opened for SaveTranscript never answers").
 * Here the listener is added once, when `ready`, and calls the latest handler through a ref.
 */
import { useEffect, useRef, useState } from "react";
import type { IntentHandler } from "@finos/fdc3";
import { errorText, type Fdc3Connection } from "./useFdc3";

/**
 * Listen for `intent` once `conn` is connected and `ready` is true (e.g. the app's database is open,
 * so no intent arrives before it can be handled).
 * @returns `listening` (true once the desktop agent took the listener) and `error` (why it refused)
 */
export function useIntentListener(conn: Fdc3Connection, intent: string, ready: boolean, handler: IntentHandler): { listening: boolean; error?: string } {
  const latest = useRef(handler);
  latest.current = handler;
  const [state, setState] = useState<{ listening: boolean; error?: string }>({ listening: false });
  const agent = conn.status === "connected" ? conn.agent : undefined;

  useEffect(() => {
    if (!agent || !ready) return;
    let cancelled = false;
    let unsubscribe: (() => Promise<void>) | undefined;
    agent
      .addIntentListener(intent, (context, metadata) => latest.current(context, metadata))
      .then((l) => {
        if (cancelled) return void l.unsubscribe();
        unsubscribe = () => l.unsubscribe();
        setState({ listening: true });
      })
      .catch((e: unknown) => !cancelled && setState({ listening: false, error: `cannot listen for ${intent}: ${errorText(e)}` }));
    return () => {
      cancelled = true;
      void unsubscribe?.();
    };
  }, [agent, intent, ready]);

  return state;
}
