/**
 * Which desktop port the page gets: io.Connect Desktop when it announces itself
 * (`window.iodesktop`, set in every window it hosts), the browser port otherwise. Called once,
 * from the composition root (`../main.tsx`).
 */
import { ioConnectDesktop, loadIODesktop, startIoConnect, type IoConnectFactory } from "./ioconnect";
import { browserDesktop, type DesktopPort } from "./port";

declare global {
  interface Window {
    /** Set by io.Connect Desktop in the windows it hosts. */
    iodesktop?: unknown;
  }
}

/**
 * Open the desktop port for this page.
 * @param load how to get `IODesktop()` (default: the `@interopio/desktop` package, loaded only here)
 * @returns the port; inside io.Connect it resolves once `IODesktop()` has started, which io.Connect's
 *   FDC3 library needs before `window.fdc3` works
 * @throws Error inside io.Connect when `@interopio/desktop` cannot start
 */
export async function openDesktop(win: Window = window, load: () => Promise<IoConnectFactory> = loadIODesktop): Promise<DesktopPort> {
  if (!win.iodesktop) return browserDesktop(win.document, win);
  return ioConnectDesktop(await startIoConnect(await load()));
}
