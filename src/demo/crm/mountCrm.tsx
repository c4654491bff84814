/** Renders the demo CRM for one {@link CrmConfig} into `#root`. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Crm } from "./Crm";
import type { CrmConfig } from "./crmConfig";

/** @throws Error (from React's `createRoot`) when the page has no `#root` element */
export function mountCrm(config: CrmConfig): void {
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <Crm config={config} />
    </StrictMode>,
  );
}
