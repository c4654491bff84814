/** The Library's search page (issue 9 §3). Placeholder until search lands. */
import type { LibraryApi } from "../api/client";

/** Props: the Library's API client. */
export function SearchPage(_props: { api: LibraryApi }) {
  return <section aria-label="Search"><p>Search</p></section>;
}
