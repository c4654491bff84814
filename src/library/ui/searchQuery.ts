/**
 * The search page's query: the words and the filters, as `GET /v1/transcripts` takes them
 * (`src/server/library/routes.ts`, SEARCH_QUERY_SCHEMA). Dates are the user's calendar days
 * (`YYYY-MM-DD`, from `<input type="date">`); both ends are inclusive, so `to` is sent as the
 * next day (the server's `to` is exclusive).
 */

/** Every filter of the search page; empty strings mean "any". */
export interface SearchFilters {
  q: string;
  from: string;
  to: string;
  source: "" | "call" | "dictation" | "recording";
  /** An e-mail or a phone number. */
  participant: string;
  topic: string;
  sentiment: "" | "positive" | "neutral" | "negative";
  language: string;
  engine: string;
}

/** No words, no filters: the newest transcripts first. */
export const NO_FILTERS: SearchFilters = { q: "", from: "", to: "", source: "", participant: "", topic: "", sentiment: "", language: "", engine: "" };

/** Results per page (the server allows 1–50). */
export const PAGE_SIZE = 20;

/** The day after `YYYY-MM-DD`, as `YYYY-MM-DD` (UTC calendar arithmetic). */
export function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The query string of a search (no leading `?`): set filters only, trimmed, plus `limit` and the
 * page's `cursor`.
 */
export function searchQueryString(f: SearchFilters, cursor?: string, limit = PAGE_SIZE): string {
  const p = new URLSearchParams();
  const set = (k: string, v: string) => {
    const x = v.trim();
    if (x) p.set(k, x);
  };
  set("q", f.q);
  if (/^\d{4}-\d{2}-\d{2}$/.test(f.from)) p.set("from", f.from);
  if (/^\d{4}-\d{2}-\d{2}$/.test(f.to)) p.set("to", nextDay(f.to));
  set("source", f.source);
  set("participant", f.participant);
  set("topic", f.topic);
  set("sentiment", f.sentiment);
  set("language", f.language);
  set("engine", f.engine);
  p.set("limit", String(limit));
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

/** Problems the page catches before asking the server (it would refuse them with 400). */
export function filterProblems(f: SearchFilters): string[] {
  const out: string[] = [];
  if (f.q.length > 200) out.push("The search words are too long (200 characters at most).");
  const participant = f.participant.trim();
  if (participant && participant.length < 3) out.push("Participant: give an e-mail or a phone number (3 characters or more).");
  if (f.from && f.to && f.from > f.to) out.push("The date range ends before it starts.");
  return out;
}
