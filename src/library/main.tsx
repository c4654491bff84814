/**
 * Composition root of the Callscribe Library app: the server's library API (same origin, with the
 * desktop's library tokens) and the React UI. `#dashboard` in the URL opens the dashboard, `#transcript=<id>` a transcript.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createLibraryApi } from "./api/client";
import { App } from "./ui/App";

const api = createLibraryApi(location.origin);
/** `#transcript=<id>` opens that transcript (the library's id or the transcript's own id). */
const transcript = /^#transcript=(.+)$/.exec(location.hash)?.[1];

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App api={api} initialPage={location.hash === "#dashboard" ? "dashboard" : "search"} {...(transcript && { initialTranscript: transcript })} />
  </StrictMode>,
);
