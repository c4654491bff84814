/** The Library's shell: a header with its pages (Search, Dashboard) and the current page. */
import { useState } from "react";
import type { LibraryApi } from "../api/client";
import { Dashboard } from "../dashboard/Dashboard";
import { SearchPage } from "./SearchPage";

/** The Library's pages. */
export type LibraryPage = "search" | "dashboard";

/** Props: the API client, and the page to open on. */
export function App({ api, initialPage = "search" }: { api: LibraryApi; initialPage?: LibraryPage }) {
  const [page, setPage] = useState<LibraryPage>(initialPage);
  return (
    <>
      <header className="lib-header">
        <h1>Callscribe Library</h1>
        <nav className="lib-tabs" role="tablist">
          <button role="tab" aria-selected={page === "search"} onClick={() => setPage("search")}>Search</button>
          <button role="tab" aria-selected={page === "dashboard"} onClick={() => setPage("dashboard")}>Dashboard</button>
        </nav>
      </header>
      <main className="lib-main">{page === "search" ? <SearchPage api={api} /> : <Dashboard api={api} />}</main>
    </>
  );
}
