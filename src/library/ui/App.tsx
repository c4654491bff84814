/**
 * The Library's shell: a header with its pages (Search, Dashboard), the FDC3 connection and the
 * current page. FDC3 (`../fdc3/wiring.ts`): a contact from `ViewInteractions` or the user channel
 * opens the search filtered to that person; an opened transcript can be sent to a CRM with
 * SaveTranscript or the standard CreateInteraction (the transcriber's "Save to…" chooser when both
 * kinds of CRM are there), and the CRM's answer goes into the library's save history.
 */
import { useEffect, useState } from "react";
import type { DesktopAgent } from "@finos/fdc3";
import type { Transcript } from "../../contracts";
import { SaveChooser, SaveChooserStore } from "../../transcriber/ui/SaveChooser";
import type { LibraryApi } from "../api/client";
import { recordSave } from "../api/saves";
import type { CrmSave } from "../api/types";
import { Dashboard } from "../dashboard/Dashboard";
import { connectAgent, errorText } from "../fdc3/agent";
import { libraryInbox } from "../fdc3/inbox";
import { saveToCrm, VIEW_INTERACTIONS } from "../fdc3/wiring";
import { SearchPage, type ContactRequest } from "./SearchPage";

/** The Library's pages. */
export type LibraryPage = "search" | "dashboard";

type Connection = { status: "connecting" } | { status: "connected"; agent: DesktopAgent } | { status: "failed"; error: string };

/** Props: the API client, the page to open on, a transcript to open first (`#transcript=<id>`), and how to reach the desktop agent (default `getAgent()`). */
export function App({ api, initialPage = "search", initialTranscript, connect = connectAgent }: { api: LibraryApi; initialPage?: LibraryPage; initialTranscript?: string; connect?: () => Promise<DesktopAgent> }) {
  const [page, setPage] = useState<LibraryPage>(initialPage);
  const [conn, setConn] = useState<Connection>({ status: "connecting" });
  const [contact, setContact] = useState<ContactRequest | undefined>();
  const [refused, setRefused] = useState<string | undefined>();
  const [chooser] = useState(() => new SaveChooserStore());
  const [openRequest, setOpenRequest] = useState<{ id: string; seq: number } | undefined>(initialTranscript ? { id: initialTranscript, seq: 1 } : undefined);

  useEffect(() => {
    let live = true;
    let detach: (() => void) | undefined;
    connect()
      .then(async (agent) => {
        const inbox = await libraryInbox(agent);
        if (!live) return;
        detach = inbox.attach({
          onContact: (filter) => {
            setRefused(undefined);
            setPage("search");
            setContact((c) => ({ filter, seq: (c?.seq ?? 0) + 1 }));
          },
          onTranscript: (id) => {
            setRefused(undefined);
            setPage("search");
            setOpenRequest((r) => ({ id, seq: (r?.seq ?? 0) + 1 }));
          },
          onRefused: (error, via) => setRefused(`Refused a contact from ${via === "intent" ? VIEW_INTERACTIONS : "the user channel"}: ${error}`),
        });
        setConn({ status: "connected", agent });
      })
      .catch((e: unknown) => live && setConn({ status: "failed", error: `no FDC3 desktop agent: ${errorText(e)}` }));
    return () => {
      live = false;
      detach?.();
    };
  }, [connect]);

  const agent = conn.status === "connected" ? conn.agent : undefined;
  const onSaveTranscript = agent
    ? async (entry: { id: string }, t: Transcript) => {
        const r = await saveToCrm(agent, t, chooser.choose);
        const shown = { appId: r.appId, ...(r.appTitle && { appTitle: r.appTitle }), intent: r.intent, status: r.status };
        let saves: CrmSave[] | undefined;
        try {
          saves = await recordSave(api.baseUrl, entry.id, r.appId, r.result);
        } catch (e) {
          return { ...shown, message: `${r.message ?? ""} (not in the save history: ${errorText(e)})`.trim() };
        }
        return { ...shown, ...(r.message && { message: r.message }), saves };
      }
    : undefined;

  return (
    <>
      <header className="lib-header">
        <h1>Callscribe Library</h1>
        <nav className="lib-tabs" role="tablist">
          <button role="tab" aria-selected={page === "search"} onClick={() => setPage("search")}>Search</button>
          <button role="tab" aria-selected={page === "dashboard"} onClick={() => setPage("dashboard")}>Dashboard</button>
        </nav>
        <span className={`lib-fdc3 ${conn.status}`} data-testid="fdc3-status">
          {conn.status === "failed" ? conn.error : conn.status}
          {conn.status === "connected" ? ` · handling ${VIEW_INTERACTIONS}` : ""}
        </span>
      </header>
      {refused && (
        <p role="alert" className="lib-error lib-banner" data-testid="fdc3-refused">
          {refused}
        </p>
      )}
      <main className="lib-main">
        {page === "search" ? <SearchPage api={api} {...(contact && { contact })} {...(openRequest && { openRequest })} {...(onSaveTranscript && { onSaveTranscript })} /> : <Dashboard api={api} />}
      </main>
      <SaveChooser store={chooser} />
    </>
  );
}
