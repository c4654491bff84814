/**
 * Entry of the browser desktop agent page (`/desktop-agent/`): builds the host from the App
 * Directory records (bundled at build time, URLs resolved against this page's origin) and renders
 * the launcher, app windows, channel selector and intent resolver. When the server has an API
 * key, the host exchanges the desktop link's secret for short-lived `listen` tokens and hands
 * them to its app frames (`serverTokens.ts`).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { resolveAppDirectory } from "../contracts/app-directory";
import { DesktopAgentHost } from "./DesktopAgentHost";
import { answerTokenRequests, ServerTokenSource, takeDesktopSecret } from "./serverTokens";
import { Desktop } from "./ui/Desktop";

const host = new DesktopAgentHost(resolveAppDirectory(window.location.origin));
host.start(window);
answerTokenRequests(window, new ServerTokenSource(window.location.origin, takeDesktopSecret(window)), (w) => host.isAppWindow(w));
// Handy in the browser console and for end-to-end tests that inspect the host's state.
(window as unknown as { callscribeDesktop: DesktopAgentHost }).callscribeDesktop = host;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Desktop host={host} />
  </StrictMode>,
);
