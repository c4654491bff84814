/**
 * Composition root of the Callscribe Library app: the server's library API (same origin, with the
 * desktop's library tokens) and the React UI. `#dashboard` in the URL opens the dashboard.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createLibraryApi } from "./api/client";
import { App } from "./ui/App";

const api = createLibraryApi(location.origin);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App api={api} initialPage={location.hash === "#dashboard" ? "dashboard" : "search"} />
  </StrictMode>,
);
