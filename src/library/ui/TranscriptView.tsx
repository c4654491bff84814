/**
 * One stored transcript (issue 9 §3): turns by speaker with start times, every word a span with its
 * times (low-confidence words marked), the analysis (summary, topics, key phrases, action items),
 * sentiment per turn as a strip of coloured segments, talk time per party, the CRM save history,
 * exports (TXT, JSON, WebVTT, SRT) and Save to CRM (FDC3 SaveTranscript or CreateInteraction).
 *
 * Playback contract: with `playback`, the word with `start ≤ time < end` (`playback/clock.ts`)
 * gets class `current` and `aria-current="true"`, and clicking a word calls `seek(word.start)`;
 * `player` is drawn under the header.
 */
import { useEffect, useMemo, useState, type ReactNode } from "react";
import type { Transcript, TranscriptSegment, TranscriptWord } from "../../contracts";
import type { CrmSave, LibraryEntry } from "../api/types";
import { clock, exportTranscript, type ExportFormat } from "../export/formats";
import { downloadExport } from "../export/download";
import { carriedTurnSentiment, isLowConfidence, talkTimes, turnsOf, type TurnSentiment } from "./transcriptModel";
import { scoreTurns } from "./turnSentiment";
import { wordAt, wordTimeline, type WordRef } from "../playback/clock";
import { describeWho, formatDuration, formatWhen } from "./format";

/** Where playback is (seconds; NaN before it starts) and how to move it. */
export interface Playback {
  time: number;
  seek(seconds: number): void;
}

/** A CRM's answer to the save intent, as the view shows it. */
export interface SaveOutcomeView {
  appId: string;
  /** The app's App Directory title, when known (else the appId is shown). */
  appTitle?: string;
  /** `SaveTranscript` or `CreateInteraction`. */
  intent?: string;
  status: string;
  message?: string;
}

/** Props of {@link TranscriptView}. */
export interface TranscriptViewProps {
  entry: LibraryEntry;
  playback?: Playback;
  /** Drawn under the header (the audio player of a recorded call). */
  player?: ReactNode;
  /**
   * Save to a CRM (SaveTranscript or CreateInteraction); resolves with the CRM's answer, rejects
   * with a readable Error, or with a `SaveCancelledError` when the user closed the app choice. Absent: no button.
   */
  onSaveTranscript?: (t: Transcript) => Promise<SaveOutcomeView>;
  /** Back to the results; absent: no button. */
  onBack?: () => void;
}

const EXPORTS: { format: ExportFormat; label: string }[] = [
  { format: "txt", label: "TXT" },
  { format: "json", label: "JSON" },
  { format: "vtt", label: "WebVTT" },
  { format: "srt", label: "SRT" },
];

const pct = (n: number) => `${n.toFixed(0)}%`;

/** The transcript view. */
export function TranscriptView({ entry, playback, player, onSaveTranscript, onBack }: TranscriptViewProps) {
  const t = entry.transcript;
  const turns = turnsOf(t);
  const sentiments = useTurnSentiments(t, turns);
  const timeline = useMemo(() => wordTimeline(turns), [t]);
  const current = playback ? wordAt(timeline, playback.time) : undefined;
  const [save, setSave] = useState<{ state: "idle" } | { state: "saving" } | { state: "done"; outcome: SaveOutcomeView } | { state: "failed"; error: string } | { state: "cancelled" }>({ state: "idle" });

  const runSave = async () => {
    if (!onSaveTranscript) return;
    setSave({ state: "saving" });
    try {
      setSave({ state: "done", outcome: await onSaveTranscript(t) });
    } catch (e) {
      if (e instanceof Error && e.name === "SaveCancelledError") setSave({ state: "cancelled" });
      else setSave({ state: "failed", error: e instanceof Error ? e.message : String(e) });
    }
  };

  return (
    <article className={`lib-transcript${playback ? " playable" : ""}`} aria-label="Transcript" data-id={entry.id} data-playback-time={playback && Number.isFinite(playback.time) ? playback.time : undefined} data-transcript-id={t.id.transcriptId}>
      <header className="lib-transcript-head">
        {onBack && (
          <button type="button" onClick={onBack}>
            ← Back to results
          </button>
        )}
        <h2 data-testid="transcript-who">{describeWho(t.participants?.contacts.map((c) => ({ name: c.name, email: c.id.email, phone: (c.id as { phone?: string }).phone })) ?? [])}</h2>
        <div className="lib-meta">
          <span data-testid="transcript-when">{formatWhen(entry.startedAt)}</span>
          {entry.duration !== undefined && <span>{formatDuration(entry.duration)}</span>}
          <span className="lib-pill">{entry.source}</span>
          {entry.language && <span>{entry.language}</span>}
          {entry.engine && <span>{entry.engine}{t.provider?.model ? ` (${t.provider.model})` : ""}</span>}
          {t.id.callId && <span>call {t.id.callId}</span>}
        </div>
        <div className="lib-actions">
          <span className="lib-label">Export</span>
          {EXPORTS.map((e) => (
            <button key={e.format} type="button" aria-label={`Export as ${e.label}`} onClick={() => downloadExport(exportTranscript(t, e.format))}>
              {e.label}
            </button>
          ))}
          {onSaveTranscript && (
            <button type="button" className="primary" onClick={runSave} disabled={save.state === "saving"}>
              {save.state === "saving" ? "Saving…" : "Save to CRM"}
            </button>
          )}
        </div>
        {save.state === "done" && (
          <p role="status" data-testid="save-result" data-status={save.outcome.status} data-app-id={save.outcome.appId} data-intent={save.outcome.intent} className={save.outcome.status === "Failed" ? "lib-error" : "lib-ok"}>
            {save.outcome.status} by {save.outcome.appTitle ?? save.outcome.appId}
            {save.outcome.intent ? ` via ${save.outcome.intent}` : ""}
            {save.outcome.message ? `: ${save.outcome.message}` : ""}
          </p>
        )}
        {save.state === "cancelled" && (
          <p role="status" className="lib-muted" data-testid="save-cancelled">
            Not saved: the app choice was cancelled.
          </p>
        )}
        {save.state === "failed" && (
          <p role="alert" className="lib-error" data-testid="save-error">
            {save.error}
          </p>
        )}
      </header>
      {player && <div className="lib-player">{player}</div>}

      <section aria-label="Analysis" className="lib-analysis">
        {t.summary && (
          <div>
            <h3>Summary</h3>
            <p data-testid="summary">{t.summary}</p>
          </div>
        )}
        <Chips title="Topics" items={t.topics} />
        <Chips title="Key phrases" items={t.keyPhrases} />
        {t.actionItems && t.actionItems.length > 0 && (
          <div>
            <h3>Action items</h3>
            <ul aria-label="Action items">
              {t.actionItems.map((a) => (
                <li key={a}>{a}</li>
              ))}
            </ul>
          </div>
        )}
        {t.sentiment && (
          <div>
            <h3>Sentiment</h3>
            <span className={`lib-sentiment ${t.sentiment.label}`}>
              {t.sentiment.label}
              {t.sentiment.score !== undefined ? ` (${t.sentiment.score.toFixed(2)})` : ""}
            </span>
          </div>
        )}
      </section>

      <SentimentTimeline turns={turns} sentiments={sentiments} />
      <TalkTimeTable turns={turns} />

      <section aria-label="Turns" className="lib-turns">
        <h3>Transcript</h3>
        {turns.length === 0 && <p className="lib-muted">Nothing was said.</p>}
        {turns.map((s, i) => (
          <Turn key={i} segment={s} index={i} sentiment={sentiments?.[i]} playback={playback} current={current} />
        ))}
      </section>

      <SaveHistory saves={entry.saves} />
    </article>
  );
}

/** Per-turn sentiment: carried by the transcript, else scored in the browser (undefined while loading or on failure). */
function useTurnSentiments(t: Transcript, turns: TranscriptSegment[]): (TurnSentiment | undefined)[] | undefined {
  const carried = carriedTurnSentiment(t, turns);
  const hasCarried = carried !== undefined;
  const [scored, setScored] = useState<{ key: string; values: TurnSentiment[] } | undefined>();
  const key = t.id.transcriptId;
  useEffect(() => {
    if (hasCarried) return;
    let live = true;
    scoreTurns(turns.map((s) => s.text)).then(
      (values) => live && setScored({ key, values }),
      () => undefined, // no scorer: the strip shows the turns without sentiment
    );
    return () => {
      live = false;
    };
    // The transcript id names the turns (a new transcript, new turns).
  }, [key, hasCarried]);
  return carried ?? (scored?.key === key ? scored.values : undefined);
}

function Chips({ title, items }: { title: string; items?: string[] }) {
  if (!items || items.length === 0) return null;
  return (
    <div>
      <h3>{title}</h3>
      <ul className="lib-chips" aria-label={title}>
        {items.map((x) => (
          <li key={x} className="lib-chip">
            {x}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Sentiment per turn as a strip: one segment per turn, its width the turn's share of the call. */
function SentimentTimeline({ turns, sentiments }: { turns: TranscriptSegment[]; sentiments?: (TurnSentiment | undefined)[] }) {
  if (turns.length === 0) return null;
  const end = Math.max(...turns.map((s) => s.end), 0.001);
  return (
    <section aria-label="Sentiment timeline" className="lib-timeline-box">
      <h3>Sentiment per turn</h3>
      <div className="lib-timeline" role="list">
        {turns.map((s, i) => {
          const st = sentiments?.[i];
          const width = Math.max(((s.end - s.start) / end) * 100, 0.5);
          const left = (s.start / end) * 100;
          const label = `${clock(s.start)} ${s.speaker}: ${st ? `${st.label} (${st.score.toFixed(2)})` : "not scored"}`;
          return <div key={i} role="listitem" className={`lib-timeline-seg ${st?.label ?? "unknown"}`} data-turn={i} data-sentiment={st?.label ?? ""} style={{ left: `${left}%`, width: `${width}%` }} title={label} aria-label={label} />;
        })}
      </div>
      <div className="lib-timeline-axis">
        <span>00:00</span>
        <span>{clock(end)}</span>
      </div>
    </section>
  );
}

function TalkTimeTable({ turns }: { turns: TranscriptSegment[] }) {
  const rows = talkTimes(turns);
  if (rows.length === 0) return null;
  return (
    <section aria-label="Talk time" className="lib-talk">
      <h3>Talk time</h3>
      <table>
        <tbody>
          {rows.map((r) => (
            <tr key={r.speaker} data-speaker={r.speaker}>
              <th scope="row">{r.speaker}</th>
              <td className="lib-talk-seconds">{r.seconds.toFixed(1)} s</td>
              <td className="lib-talk-percent">{pct(r.percent)}</td>
              <td className="lib-talk-bar-cell">
                <div className="lib-talk-bar" style={{ width: `${r.percent}%` }} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One turn: speaker, start time (mm:ss), then its words (or its text when it has no word times). */
function Turn({ segment, index, sentiment, playback, current }: { segment: TranscriptSegment; index: number; sentiment?: TurnSentiment; playback?: Playback; current?: WordRef }) {
  return (
    <div className="turn" data-turn={index} data-speaker={segment.speaker} data-start={segment.start} data-end={segment.end}>
      <div className="turn-head">
        <span className="turn-speaker">{segment.speaker}</span>
        <time className="turn-start" dateTime={`PT${segment.start.toFixed(2)}S`}>
          {clock(segment.start)}
        </time>
        {sentiment && <span className={`lib-sentiment ${sentiment.label}`}>{sentiment.label}</span>}
      </div>
      <p className="turn-text">
        {segment.words && segment.words.length > 0
          ? segment.words.map((w, i) => (
              <span key={i}>
                {i > 0 ? " " : ""}
                <Word word={w} playback={playback} current={current?.turn === index && current.word === i} />
              </span>
            ))
          : segment.text}
      </p>
    </div>
  );
}

function Word({ word, playback, current }: { word: TranscriptWord; playback?: Playback; current: boolean }) {
  const low = isLowConfidence(word.confidence);
  const className = ["word", low && "low-confidence", current && "current"].filter(Boolean).join(" ");
  return (
    <span
      className={className}
      data-start={word.start}
      data-end={word.end}
      data-confidence={word.confidence}
      {...(low && { title: `confidence ${word.confidence.toFixed(2)}` })}
      {...(current && { "aria-current": "true" as const })}
      {...(playback && { onClick: () => playback.seek(word.start) })}
    >
      {word.word}
    </span>
  );
}

/**
 * The CRM's record id: `result.context.id.crmRecordId` when the CRM sent the stored transcript back
 * (the demo CRMs do), else the server's `recordId` (the first id value of the result's context).
 */
function crmRecordId(s: CrmSave): string | undefined {
  const id = (s.result.context as { id?: { crmRecordId?: unknown } } | undefined)?.id?.crmRecordId;
  return typeof id === "string" ? id : s.recordId;
}

function SaveHistory({ saves }: { saves: CrmSave[] }) {
  return (
    <section aria-label="CRM saves" className="lib-saves">
      <h3>Saved to CRMs</h3>
      {saves.length === 0 ? (
        <p className="lib-muted">Not saved to a CRM yet.</p>
      ) : (
        <ul>
          {saves.map((s, i) => (
            <li key={i} data-testid="crm-save" data-app-id={s.appId} data-status={s.status}>
              <strong>{s.status}</strong> by {s.appId}
              {crmRecordId(s) ? ` as ${crmRecordId(s)}` : ""} · {formatWhen(s.savedAt)}
              {typeof s.result.message === "string" ? ` · ${s.result.message}` : ""}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
