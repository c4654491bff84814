/**
 * The Library's desktop-agent connection: `getAgent()` (FDC3 2.2 Web Connection Protocol; also
 * a preloaded `window.fdc3`), once per page. The desktop's host draws the resolver and the channel
 * selector, so the app asks for neither.
 */
import { getAgent, type DesktopAgent } from "@finos/fdc3";

/** How long discovery of a desktop agent may take, ms. */
export const GET_AGENT_TIMEOUT_MS = 5_000;

let shared: Promise<DesktopAgent> | undefined;

/** The desktop agent. @throws (rejects) with FDC3's AgentError message when there is none */
export function connectAgent(): Promise<DesktopAgent> {
  shared ??= getAgent({ timeoutMs: GET_AGENT_TIMEOUT_MS, channelSelector: false, intentResolver: false });
  return shared;
}

/** Text of anything an FDC3 call rejects with. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
