/**
 * The "Recordings" panel: the user's recorded calls with their status as it changes (queued,
 * downloading, transcribing, analyzing, delivering, done, or failed with the reason; live by
 * server-sent events, no Refresh needed), each done one with its summary and sentiment as text
 * and a Send button that raises SaveTranscript with the call's `fdc3.transcript` (the desktop's
 * resolver lets the user pick the CRM).
 *
 * `data-testid`s: `recordings` (the list), `recordings-feed` (`data-state`: connecting, live,
 * reconnecting, unavailable), `recording` (one row, `data-call-id`, `data-status`), `recording-status`,
 * `recording-summary`, `recording-sentiment`, `recording-send`, `recording-result`
 * (`data-status`: the transaction status, or `error`), `recordings-error`.
 */
import type { Transcript } from "../../contracts";
import { useRecordings, type FeedState, type RecordingAnalysis, type SendState } from "../recordings/useRecordings";
import type { SaveOutcome } from "../session/controller";

/** Props of {@link RecordingsPanel}: server `baseUrl`, optional `apiKey` or `token` (a library token per request), and the SaveTranscript raiser. */
export interface RecordingsPanelProps {
  baseUrl: string;
  apiKey?: string;
  token?: () => Promise<string | undefined>;
  save: (transcript: Transcript) => Promise<SaveOutcome>;
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

/** "Sentiment: positive (0.62)". */
export function sentimentText(s: NonNullable<RecordingAnalysis["sentiment"]>): string {
  return `Sentiment: ${s.label}${s.score !== undefined ? ` (${s.score.toFixed(2)})` : ""}`;
}

function feedText(f: FeedState): string {
  if (f.state === "live") return "live";
  if (f.state === "connecting") return "connecting…";
  if (f.state === "unavailable") return "no live status";
  return `reconnecting (${f.reason})…`;
}

const STATUS_TEXT: Record<string, string> = {
  queued: "queued",
  downloading: "downloading…",
  transcribing: "transcribing…",
  analyzing: "analyzing…",
  delivering: "delivering…",
  done: "done",
  failed: "failed",
};

/** The Recordings panel (see the module comment for its `data-testid`s). */
export function RecordingsPanel({ baseUrl, apiKey, token, save }: RecordingsPanelProps) {
  const { recordings, loading, error, feed, analyses, sends, send } = useRecordings({ baseUrl, ...(apiKey && { apiKey }), ...(token && { token }), save });
  return (
    <section className="recordings">
      <h2>
        Recordings{" "}
        <small className={`feed feed-${feed.state}`} data-testid="recordings-feed" data-state={feed.state} title="status updates from the server">
          {feedText(feed)}
        </small>
      </h2>
      {error && (
        <p className="error" data-testid="recordings-error">
          {error}
        </p>
      )}
      <ul data-testid="recordings">
        {recordings.length === 0 && !error && <li className="empty">{loading ? "loading…" : "no recordings"}</li>}
        {recordings.map((r) => {
          const s = sends[r.callId];
          const a = analyses[r.callId];
          return (
            <li key={r.callId} data-testid="recording" data-call-id={r.callId} data-status={r.status}>
              <span className="call-id">{r.callId}</span> <span className="time">{whenText(r.when)}</span>
              {r.direction && <span className="direction"> {r.direction}</span>}
              {r.participants.length > 0 && <span className="participants"> · {r.participants.join(", ")}</span>}{" "}
              <span className={`call-status status-${r.status}`} data-testid="recording-status">
                {STATUS_TEXT[r.status] ?? r.status}
                {r.status === "failed" && r.reason && `: ${r.reason}`}
              </span>{" "}
              {r.status === "done" && (
                <>
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
                </>
              )}
              {a?.summary && (
                <p className="summary" data-testid="recording-summary">
                  Summary: {a.summary}
                </p>
              )}
              {a?.sentiment && (
                <p className="sentiment" data-testid="recording-sentiment">
                  {sentimentText(a.sentiment)}
                  {a.topics && a.topics.length > 0 && <> · Topics: {a.topics.join(", ")}</>}
                </p>
              )}
              {a?.error && <p className="error">{a.error}</p>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
