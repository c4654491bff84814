/**
 * The Library's search page (issue 9 §3): a search box, filters (date range, source, participant
 * e-mail or phone, topic, sentiment, language, engine), the results with "Load more", and the
 * transcript view of an opened hit. With no words it lists the newest transcripts. A contact from
 * FDC3 (`ViewInteractions`, the user channel) arrives as `contact` and replaces the filters with
 * that person.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import type { LibraryApi } from "../api/client";
import type { CrmSave, LibraryEntry, SearchHit, SearchPage as SearchPageBody } from "../api/types";
import type { ContactFilter } from "../fdc3/contact";
import { describeWho, formatDuration, formatWhen } from "./format";
import { filterProblems, NO_FILTERS, searchQueryString, type SearchFilters } from "./searchQuery";
import { Snippet } from "./Snippet";
import { TranscriptPanel } from "./TranscriptPanel";
import type { SaveOutcomeView } from "./TranscriptView";
import type { Transcript } from "../../contracts";

/** A contact to show calls of; `seq` grows with each request, so the same person twice searches twice. */
export interface ContactRequest {
  filter: ContactFilter;
  seq: number;
}

/** Props of {@link SearchPage}. */
export interface SearchPageProps {
  api: LibraryApi;
  contact?: ContactRequest;
  /** A transcript to open (the library's id or the transcript's own `id.transcriptId`); `seq` grows with each request. */
  openRequest?: { id: string; seq: number };
  /** Raise SaveTranscript from an opened transcript (absent outside a desktop). */
  onSaveTranscript?: (entry: LibraryEntry, t: Transcript) => Promise<SaveOutcomeView & { saves?: CrmSave[] }>;
}

type Results = { state: "idle" } | { state: "loading" } | { state: "ready"; hits: SearchHit[]; nextCursor?: string; loadingMore?: boolean; moreError?: string } | { state: "failed"; error: string };

/** The search page. */
export function SearchPage({ api, contact, openRequest, onSaveTranscript }: SearchPageProps) {
  const [draft, setDraft] = useState<SearchFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<SearchFilters>(NO_FILTERS);
  const [results, setResults] = useState<Results>({ state: "idle" });
  const [opened, setOpened] = useState<{ state: "loading"; id: string } | { state: "ready"; entry: LibraryEntry } | { state: "failed"; id: string; error: string } | undefined>();
  const [contactLabel, setContactLabel] = useState<string | undefined>();
  const seq = useRef(0);

  const run = useCallback(
    async (f: SearchFilters, cursor?: string) => {
      const problems = filterProblems(f);
      if (problems.length) {
        setResults({ state: "failed", error: problems.join(" ") });
        return;
      }
      const mine = ++seq.current;
      if (cursor) setResults((r) => (r.state === "ready" ? { ...r, loadingMore: true } : r));
      else setResults({ state: "loading" });
      try {
        const page = await api.getJson<SearchPageBody>(`/v1/transcripts?${searchQueryString(f, cursor)}`);
        if (mine !== seq.current) return;
        setResults((r) => ({ state: "ready", hits: cursor && r.state === "ready" ? [...r.hits, ...page.hits] : page.hits, ...(page.nextCursor && { nextCursor: page.nextCursor }) }));
      } catch (e) {
        if (mine !== seq.current) return;
        const error = e instanceof Error ? e.message : String(e);
        // A failed "Load more" keeps the hits already shown.
        if (cursor) setResults((r) => (r.state === "ready" ? { ...r, loadingMore: false, moreError: `Loading more failed: ${error}` } : r));
        else setResults({ state: "failed", error: `Search failed: ${error}` });
      }
    },
    [api],
  );

  const search = (f: SearchFilters) => {
    setApplied(f);
    setOpened(undefined);
    void run(f);
  };

  // First page: the newest transcripts.
  useEffect(() => {
    void run(NO_FILTERS);
  }, [run]);

  // A contact from FDC3: that person's calls, every other filter cleared.
  useEffect(() => {
    if (!contact) return;
    const f = { ...NO_FILTERS, participant: contact.filter.participant };
    setDraft(f);
    setContactLabel(contact.filter.label);
    search(f);
    // Only a new request (its seq) searches again.
  }, [contact?.seq]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (draft.participant.trim() !== applied.participant.trim()) setContactLabel(undefined);
    search(draft);
  };
  const clear = () => {
    setDraft(NO_FILTERS);
    setContactLabel(undefined);
    search(NO_FILTERS);
  };

  const open = async (id: string) => {
    setOpened({ state: "loading", id });
    try {
      const entry = await api.getJson<LibraryEntry>(`/v1/transcripts/${encodeURIComponent(id)}`);
      setOpened({ state: "ready", entry });
    } catch (e) {
      setOpened({ state: "failed", id, error: `Could not open the transcript: ${e instanceof Error ? e.message : String(e)}` });
    }
  };

  // A transcript asked for by FDC3 (`fdc3.open` with an fdc3.transcript) or by the URL (#transcript=…).
  useEffect(() => {
    if (openRequest) void open(openRequest.id);
    // Only a new request (its seq) opens again.
  }, [openRequest?.seq]);

  const field = <K extends keyof SearchFilters>(k: K) => ({
    value: draft[k],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value as SearchFilters[K] })),
  });

  if (opened?.state === "ready") {
    return (
      <TranscriptPanel
        entry={opened.entry}
        api={api}
        onBack={() => setOpened(undefined)}
        {...(onSaveTranscript && {
          onSaveTranscript: async (t: Transcript) => {
            const { saves, ...outcome } = await onSaveTranscript(opened.entry, t);
            // The server's save history, with this save in it.
            if (saves) setOpened((o) => (o?.state === "ready" && o.entry.id === opened.entry.id ? { state: "ready", entry: { ...o.entry, saves } } : o));
            return outcome;
          },
        })}
      />
    );
  }

  return (
    <section aria-label="Search" className="lib-search">
      <form className="lib-search-form" onSubmit={submit} role="search">
        <div className="lib-search-row">
          <input type="search" aria-label="Search transcripts" placeholder="Search words, phrases or names" maxLength={200} {...field("q")} />
          <button type="submit" className="primary">
            Search
          </button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
        <fieldset className="lib-filters" aria-label="Filters">
          <label>
            From <input type="date" aria-label="From" {...field("from")} />
          </label>
          <label>
            To <input type="date" aria-label="To" {...field("to")} />
          </label>
          <label>
            Source
            <select aria-label="Source" {...field("source")}>
              <option value="">any</option>
              <option value="call">call</option>
              <option value="dictation">dictation</option>
              <option value="recording">recording</option>
            </select>
          </label>
          <label>
            Participant <input type="text" aria-label="Participant" placeholder="e-mail or phone" maxLength={254} {...field("participant")} />
          </label>
          <label>
            Topic <input type="text" aria-label="Topic" maxLength={100} {...field("topic")} />
          </label>
          <label>
            Sentiment
            <select aria-label="Sentiment" {...field("sentiment")}>
              <option value="">any</option>
              <option value="positive">positive</option>
              <option value="neutral">neutral</option>
              <option value="negative">negative</option>
            </select>
          </label>
          <label>
            Language <input type="text" aria-label="Language" placeholder="en" maxLength={35} {...field("language")} />
          </label>
          <label>
            Engine <input type="text" aria-label="Engine" placeholder="pocketsphinx" maxLength={64} {...field("engine")} />
          </label>
        </fieldset>
      </form>

      {contactLabel && applied.participant && (
        <p className="lib-contact" data-testid="contact-filter" data-participant={applied.participant}>
          Calls with <strong>{contactLabel}</strong>
          {contactLabel !== applied.participant ? ` (${applied.participant})` : ""}
        </p>
      )}
      {opened?.state === "loading" && <p className="lib-muted">Opening the transcript…</p>}
      {opened?.state === "failed" && (
        <p role="alert" className="lib-error">
          {opened.error}
        </p>
      )}
      {results.state === "failed" && (
        <p role="alert" className="lib-error" data-testid="search-error">
          {results.error}
        </p>
      )}
      {results.state === "loading" && <p className="lib-muted">Searching…</p>}
      {results.state === "ready" && (
        <>
          <p className="lib-muted" data-testid="result-count">
            {results.hits.length === 0 ? "No transcripts match." : `${results.hits.length}${results.nextCursor ? "+" : ""} transcript${results.hits.length === 1 ? "" : "s"}${applied.q.trim() ? "" : ", newest first"}`}
          </p>
          <ol aria-label="Results" className="lib-results">
            {results.hits.map((h) => (
              <Hit key={h.id} hit={h} onOpen={() => void open(h.id)} />
            ))}
          </ol>
          {results.moreError && (
            <p role="alert" className="lib-error" data-testid="search-error">
              {results.moreError}
            </p>
          )}
          {results.nextCursor && (
            <button type="button" onClick={() => void run(applied, results.nextCursor)} disabled={results.loadingMore}>
              {results.loadingMore ? "Loading…" : "Load more"}
            </button>
          )}
        </>
      )}
    </section>
  );
}

/** One hit: who, when, duration, source, topic, sentiment, snippet; the title opens it. */
function Hit({ hit, onOpen }: { hit: SearchHit; onOpen: () => void }) {
  return (
    <li className="hit" data-testid="hit" data-id={hit.id}>
      <div className="hit-head">
        <button type="button" className="hit-open" onClick={onOpen}>
          <span className="hit-who">{describeWho(hit.who)}</span>
        </button>
        <span className="hit-when">{formatWhen(hit.startedAt)}</span>
        {hit.duration !== undefined && <span className="hit-duration">{formatDuration(hit.duration)}</span>}
        <span className="lib-pill hit-source">{hit.source}</span>
        {hit.topic && <span className="hit-topic">{hit.topic}</span>}
        {hit.sentiment && <span className={`lib-sentiment hit-sentiment ${hit.sentiment.label}`}>{hit.sentiment.label}</span>}
        {hit.fuzzy && <span className="lib-muted">similar spelling</span>}
      </div>
      <Snippet html={hit.snippet} />
    </li>
  );
}
