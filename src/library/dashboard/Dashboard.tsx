/** The Library's dashboard page (issue 9 §4). Placeholder until the dashboard lands. */
import type { LibraryApi } from "../api/client";

/** Props: the Library's API client. */
export function Dashboard(_props: { api: LibraryApi }) {
  return <section aria-label="Dashboard"><p>Dashboard</p></section>;
}
