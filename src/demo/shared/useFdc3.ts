/**
 * Connecting a demo app to the desktop agent with `getAgent()` (FDC3 Web Connection Protocol),
 * as a React hook. The desktop agent's host page draws the intent resolver and the channel
 * selector, so the app asks for neither.
 */
import { useEffect, useState } from "react";
import { getAgent, type DesktopAgent } from "@finos/fdc3";

/** Connection state: `connecting`, then `connected` with the agent, or `failed` with the error. */
export type Fdc3Connection =
  | { status: "connecting" }
  | { status: "connected"; agent: DesktopAgent; appId: string; instanceId?: string }
  | { status: "failed"; error: string };

/** How long discovery of a parent-window desktop agent may take (ms). */
const GET_AGENT_TIMEOUT_MS = 5_000;

let shared: Promise<DesktopAgent> | undefined;

/** Connect once per page; later calls share the same agent. Rejects with an FDC3 AgentError message. */
export function connectFdc3(): Promise<DesktopAgent> {
  shared ??= getAgent({ timeoutMs: GET_AGENT_TIMEOUT_MS, channelSelector: false, intentResolver: false });
  return shared;
}

/** React hook around {@link connectFdc3}. */
export function useFdc3(): Fdc3Connection {
  const [conn, setConn] = useState<Fdc3Connection>({ status: "connecting" });
  useEffect(() => {
    let live = true;
    connectFdc3()
      .then(async (agent) => {
        const info = await agent.getInfo();
        if (live) setConn({ status: "connected", agent, appId: info.appMetadata.appId, instanceId: info.appMetadata.instanceId });
      })
      .catch((e: unknown) => {
        if (live) setConn({ status: "failed", error: `no FDC3 desktop agent: ${e instanceof Error ? e.message : String(e)}` });
      });
    return () => {
      live = false;
    };
  }, []);
  return conn;
}

/** Error text from anything an FDC3 call rejects with (the API rejects with Error(message) or strings). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
