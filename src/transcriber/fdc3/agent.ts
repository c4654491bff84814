/**
 * Finding the desktop agent (the `getAgent()` port of DESIGN §2): one function covers the FDC3
 * Web Connection Protocol (our browser desktop agent, any FDC3 2.2 web desktop), a preload
 * container that puts `window.fdc3` in place, and io.Connect Desktop.
 *
 * io.Connect Desktop announces itself with `window.iodesktop` and injects `window.fdc3` when the
 * app's definition enables FDC3. If it has not (yet), the io.Connect library `@interopio/fdc3`
 * provides it. That package must never be loaded elsewhere: importing it outside io.Connect
 * hangs `getAgent()` (DESIGN §7). So it is imported dynamically, only on this branch, through a
 * variable specifier that Vite leaves alone (`@vite-ignore`), and it is not a dependency here.
 * TODO(io.Connect port): for an io.Connect deployment, `npm install @interopio/fdc3` and serve it
 * under the specifier below (an import map, or replace the specifier with a bundled chunk URL).
 */
import { getAgent, type DesktopAgent } from "@finos/fdc3";

declare global {
  interface Window {
    /** Set by io.Connect Desktop in the windows it hosts. */
    iodesktop?: unknown;
  }
}

/** How long discovery of a parent-window desktop agent may take (ms). */
const GET_AGENT_TIMEOUT_MS = 5_000;
/** How long to wait for io.Connect to inject `window.fdc3` before loading @interopio/fdc3 (ms). */
const IOCONNECT_INJECT_WAIT_MS = 3_000;
/** Module that installs `window.fdc3` inside io.Connect (side-effect import). */
const IOCONNECT_FDC3_MODULE = "@interopio/fdc3";

/** Which route found the agent, for the UI. */
export type AgentRoute = "web-connection" | "io.connect";

let shared: Promise<{ agent: DesktopAgent; route: AgentRoute }> | undefined;

/**
 * Connect to the desktop agent once per page; later calls share the result.
 * The app draws no resolver or channel selector of its own: the desktop's host does.
 * @param options.ioConnectReady inside io.Connect: settles once `@interopio/desktop` has started
 *   (`../desktops/select.ts`); io.Connect's FDC3 library works on that API, so `window.fdc3` is
 *   used only after it (a failed start is reported by the desktop port, not here)
 * @throws Error (FDC3 `AgentError` text, e.g. `AgentNotFound`) when no desktop agent answers
 */
export function connectDesktopAgent(options: { ioConnectReady?: Promise<unknown> } = {}): Promise<{ agent: DesktopAgent; route: AgentRoute }> {
  shared ??= (async () => {
    if (typeof window !== "undefined" && window.iodesktop) {
      await options.ioConnectReady?.catch(() => undefined);
      return { agent: await ioConnectAgent(), route: "io.connect" as const };
    }
    const agent = await getAgent({ timeoutMs: GET_AGENT_TIMEOUT_MS, channelSelector: false, intentResolver: false });
    return { agent, route: "web-connection" as const };
  })();
  return shared;
}

async function ioConnectAgent(): Promise<DesktopAgent> {
  if (window.fdc3) return window.fdc3;
  const injected = await new Promise<DesktopAgent | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(window.fdc3), IOCONNECT_INJECT_WAIT_MS);
    window.addEventListener("fdc3Ready", () => {
      clearTimeout(timer);
      resolve(window.fdc3);
    }, { once: true });
  });
  if (injected) return injected;
  try {
    await import(/* @vite-ignore */ IOCONNECT_FDC3_MODULE);
  } catch (err) {
    throw new Error(
      `io.Connect Desktop detected but it injected no window.fdc3, and ${IOCONNECT_FDC3_MODULE} could not be loaded (${err instanceof Error ? err.message : String(err)}); enable FDC3 in the app definition or install ${IOCONNECT_FDC3_MODULE}`,
    );
  }
  if (!window.fdc3) throw new Error(`${IOCONNECT_FDC3_MODULE} loaded but set no window.fdc3`);
  return window.fdc3;
}
