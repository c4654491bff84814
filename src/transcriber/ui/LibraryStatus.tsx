/**
 * Where the finished transcripts stand in the transcript library (the outbox, `library/outbox.ts`):
 * "Saved to library", "Waiting to upload (n)" with the last reason, or "Not saved to library"
 * with the server's reason for each one it refused.
 *
 * `data-testid`: `library-status` (`data-state`: `idle`, `saved`, `waiting`, `rejected`),
 * `library-rejected` (one refused item).
 */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { LibraryOutbox, OutboxSnapshot } from "../library/outbox";

const EMPTY: OutboxSnapshot = { pending: 0, rejected: [] };
const noop = () => () => undefined;

/** Props of {@link LibraryStatus}: the outbox as `main.tsx` opens it (rejects when IndexedDB is unavailable). */
export interface LibraryStatusProps {
  outbox: Promise<LibraryOutbox>;
}

/** The status line (see the module comment). */
export function LibraryStatus({ outbox }: LibraryStatusProps) {
  const [box, setBox] = useState<LibraryOutbox | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    outbox.then(setBox, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [outbox]);
  const snap = useSyncExternalStore(box?.subscribe ?? noop, box?.getSnapshot ?? (() => EMPTY));
  const state = error || snap.rejected.length > 0 ? "rejected" : snap.pending > 0 ? "waiting" : snap.lastStored ? "saved" : "idle";
  return (
    <section className="library-status">
      <h2>Transcript library</h2>
      <p className={`library-${state}`} data-testid="library-status" data-state={state}>
        {error
          ? `Transcripts cannot be kept for the library here: ${error}`
          : snap.pending > 0
            ? `Waiting to upload (${snap.pending})${snap.lastError ? ` — ${snap.lastError}; retrying` : ""}`
            : snap.lastStored
              ? "Saved to library"
              : snap.rejected.length > 0
                ? "Not saved to library"
                : "Finished transcripts are kept in the library."}
      </p>
      {snap.rejected.length > 0 && (
        <ul>
          {snap.rejected.map((r, i) => (
            <li key={i} data-testid="library-rejected" className="error">
              {r.kind === "save" ? "CRM result" : "Transcript"} {r.transcriptId} not saved to library: {r.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
