/**
 * The "Recordings" panel: the user's finished recorded calls, each with a Send button that raises
 * SaveTranscript with the call's `fdc3.transcript` (the desktop's resolver lets the user pick the CRM).
 *
 * `data-testid`s: `recordings` (the list), `recording` (one row, `data-call-id`), `recording-send`,
 * `recording-result` (`data-status`: the transaction status, or `error`), `recordings-refresh`,
 * `recordings-error`.
 */
import type { Transcript } from "../../contracts";
import { useRecordings } from "../recordings/useRecordings";
import type { SendState } from "../recordings/useRecordings";
import type { SaveOutcome } from "../session/controller";

/** Props of {@link RecordingsPanel}: server `baseUrl` and optional `apiKey`, the SaveTranscript raiser, and the list's poll interval in ms (default 15 000). */
export interface RecordingsPanelProps {
  baseUrl: string;
  apiKey?: string;
  save: (transcript: Transcript) => Promise<SaveOutcome>;
  pollMs?: number;
}

function sendText(s: SendState | undefined): string {
  if (!s) return "";
  if (s.state === "sending") return "sending…";
  if (s.state === "saved") return `${s.appTitle ?? s.appId}: ${s.status}`;
  if (s.state === "cancelled") return "not sent — you closed the picker";
  return `error: ${s.error}`;
}

function whenText(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** The Recordings panel (see the module comment for its `data-testid`s). */
export function RecordingsPanel({ baseUrl, apiKey, save, pollMs }: RecordingsPanelProps) {
  const { recordings, loading, error, sends, refresh, send } = useRecordings({ baseUrl, apiKey, save, pollMs });
  return (
    <section className="recordings">
      <h2>
        Recordings{" "}
        <button type="button" data-testid="recordings-refresh" onClick={refresh} disabled={loading}>
          Refresh
        </button>
      </h2>
      {error && (
        <p className="error" data-testid="recordings-error">
          {error}
        </p>
      )}
      <ul data-testid="recordings">
        {recordings.length === 0 && !error && <li className="empty">{loading ? "loading…" : "no finished recordings"}</li>}
        {recordings.map((r) => {
          const s = sends[r.callId];
          return (
            <li key={r.callId} data-testid="recording" data-call-id={r.callId}>
              <span className="call-id">{r.callId}</span> <span className="time">{whenText(r.when)}</span>
              {r.direction && <span className="direction"> {r.direction}</span>}
              {r.participants.length > 0 && <span className="participants"> · {r.participants.join(", ")}</span>}{" "}
              <button type="button" data-testid="recording-send" onClick={() => void send(r.callId)} disabled={s?.state === "sending"}>
                Send to CRM
              </button>{" "}
              <span
                className={`save-${s?.state ?? "none"}`}
                data-testid="recording-result"
                data-status={s?.state === "saved" ? s.status : s?.state === "failed" ? "error" : s?.state === "cancelled" ? "cancelled" : undefined}
              >
                {sendText(s)}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
