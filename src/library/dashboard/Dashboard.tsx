/**
 * The Library's dashboard page (issue 9 §4), from `GET /v1/dashboard`: a date-range picker (two
 * days, presets), then calls per day by source, talk time, sentiment (distribution and trend), top
 * topics and key phrases, talk ratio per agent, and pipeline health (queued, running, live, failed,
 * dead-lettered, with the reasons). Charts are Recharts (`charts.tsx`); every figure is also text
 * (a `data-testid` on each count, tables beside the charts), so it can be read without the charts.
 */
import { useEffect, useRef, useState } from "react";
import type { LibraryApi } from "../api/client";
import type { DashboardReport } from "../api/types";
import { formatDuration, formatWhen } from "../ui/format";
import { CallsPerDayChart, HorizontalBars, SentimentPie, SentimentTrendChart, SOURCE_LABELS, TalkTimeChart } from "./charts";
import { lastDays, presetOf, PRESETS, rangeProblem, type DayRange } from "./dateRange";

type Load = { state: "loading"; range: DayRange } | { state: "ready"; report: DashboardReport } | { state: "failed"; error: string };

const SOURCES = ["call", "dictation", "recording"] as const;
const LABELS = ["positive", "neutral", "negative", "unknown"] as const;
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Props: the Library's API client; `today` for the presets (default now). */
export function Dashboard({ api, today }: { api: LibraryApi; today?: Date }) {
  const [range, setRange] = useState<DayRange>(() => lastDays(30, today));
  const [load, setLoad] = useState<Load>({ state: "loading", range });
  const seq = useRef(0);
  const problem = rangeProblem(range);

  useEffect(() => {
    if (problem) return;
    const mine = ++seq.current;
    setLoad({ state: "loading", range });
    api
      .getJson<DashboardReport>(`/v1/dashboard?${new URLSearchParams({ from: range.from, to: range.to, top: "10" })}`)
      .then((report) => mine === seq.current && setLoad({ state: "ready", report }))
      .catch((e: unknown) => mine === seq.current && setLoad({ state: "failed", error: e instanceof Error ? e.message : String(e) }));
  }, [api, range.from, range.to, problem]);

  const preset = presetOf(range, today);
  return (
    <section aria-label="Dashboard" className="dash">
      <form className="dash-range" aria-label="Date range" onSubmit={(e) => e.preventDefault()}>
        <label>
          From <input type="date" aria-label="From" value={range.from} max={range.to} onChange={(e) => setRange((r) => ({ ...r, from: e.target.value }))} />
        </label>
        <label>
          To <input type="date" aria-label="To" value={range.to} min={range.from} onChange={(e) => setRange((r) => ({ ...r, to: e.target.value }))} />
        </label>
        {PRESETS.map((p) => (
          <button key={p.label} type="button" aria-pressed={preset === p.label} onClick={() => setRange(lastDays(p.days, today))}>
            {p.label}
          </button>
        ))}
        <span className="lib-muted">Days in UTC, both included.</span>
        {problem && (
          <span role="alert" className="lib-error" data-testid="range-problem">
            {problem}
          </span>
        )}
      </form>
      {load.state === "failed" && (
        <p role="alert" className="lib-error dash-error" data-testid="dashboard-error">
          The dashboard could not be loaded: {load.error}
        </p>
      )}
      {load.state === "loading" && (
        <p className="lib-muted" data-testid="dashboard-loading">
          Loading {load.range.from} … {load.range.to}…
        </p>
      )}
      {load.state === "ready" && <Report report={load.report} />}
    </section>
  );
}

function Report({ report: r }: { report: DashboardReport }) {
  const p = r.pipeline;
  const empty = r.totals.transcripts === 0;
  return (
    <div className="dash-report" data-testid="dashboard-report" data-from={r.from} data-to={r.to}>
      <dl className="dash-totals" aria-label="Totals">
        <div>
          <dt>Transcripts</dt>
          <dd data-testid="total-transcripts">{r.totals.transcripts}</dd>
        </div>
        {SOURCES.map((s) => (
          <div key={s}>
            <dt>{SOURCE_LABELS[s]}</dt>
            <dd data-testid={`total-${s}`}>{r.totals.bySource[s]}</dd>
          </div>
        ))}
        <div>
          <dt>Talk time</dt>
          <dd data-testid="total-talk" data-seconds={r.totals.talkSec}>
            {formatDuration(r.totals.talkSec)}
          </dd>
        </div>
      </dl>
      {empty ? (
        <p className="dash-empty" data-testid="dashboard-empty">
          No calls or dictations from {r.from} to {r.to}. Pick other days, or make a call: finished calls, dictations and recorded calls appear here.
        </p>
      ) : (
        <div className="dash-grid">
          <Panel title="Calls per day, by source">
            <CallsPerDayChart days={r.days} />
            <details>
              <summary>Per day as a table</summary>
              <table className="dash-table" aria-label="Calls per day">
                <thead>
                  <tr>
                    <th>Day</th>
                    {SOURCES.map((s) => (
                      <th key={s}>{SOURCE_LABELS[s]}</th>
                    ))}
                    <th>Talk time</th>
                  </tr>
                </thead>
                <tbody>
                  {r.days
                    .filter((d) => d.total > 0)
                    .map((d) => (
                      <tr key={d.day} data-day={d.day} data-total={d.total}>
                        <td>{d.day}</td>
                        {SOURCES.map((s) => (
                          <td key={s} data-source={s}>
                            {d.bySource[s]}
                          </td>
                        ))}
                        <td data-seconds={d.talkSec}>{formatDuration(d.talkSec)}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </details>
          </Panel>
          <Panel title="Talk time per day">
            <TalkTimeChart days={r.days} />
          </Panel>
          <Panel title="Sentiment">
            <div className="dash-split">
              <SentimentPie counts={r.sentiment} />
              <ul className="dash-counts" aria-label="Sentiment counts">
                {LABELS.map((l) => (
                  <li key={l}>
                    <span className={`lib-sentiment ${l}`}>{l}</span> <span data-testid={`sentiment-${l}`}>{r.sentiment[l]}</span>
                  </li>
                ))}
              </ul>
            </div>
          </Panel>
          <Panel title="Sentiment trend (per day, mean score)">
            <SentimentTrendChart days={r.days} />
          </Panel>
          <Panel title="Top topics">
            <RankedList testid="topic" items={r.topTopics.map((t) => ({ name: t.topic, count: t.count }))} colour="#3b6ea5" />
          </Panel>
          <Panel title="Top key phrases">
            <RankedList testid="key-phrase" items={r.topKeyPhrases.map((k) => ({ name: k.phrase, count: k.count }))} colour="#6a9fd8" />
          </Panel>
          <Panel title="Talk ratio per agent">
            {r.talkRatio.length === 0 ? (
              <p className="lib-muted">No call with an agent (channel 0) in these days.</p>
            ) : (
              <>
                <HorizontalBars data={r.talkRatio.map((a) => ({ name: a.agent, value: Math.round(a.ratio * 100) }))} colour="#1f3a5f" unit="%" />
                <table className="dash-table" aria-label="Talk ratio per agent">
                  <thead>
                    <tr>
                      <th>Agent</th>
                      <th>Calls</th>
                      <th>Agent talk</th>
                      <th>All talk</th>
                      <th>Ratio</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.talkRatio.map((a) => (
                      <tr key={a.agent} data-testid="agent-row" data-agent={a.agent} data-ratio={a.ratio}>
                        <td>{a.agent}</td>
                        <td data-testid="agent-calls">{a.transcripts}</td>
                        <td>{formatDuration(a.agentTalkSec)}</td>
                        <td>{formatDuration(a.talkSec)}</td>
                        <td data-testid="agent-ratio">{pct(a.ratio)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </Panel>
        </div>
      )}
      <Panel title="Pipeline health" wide>
        <dl className="dash-totals dash-health" aria-label="Pipeline health">
          {(
            [
              ["queued", "Queued (now)", p.queued],
              ["running", "Running (now)", p.running],
              ["live", "Live (now)", p.live],
              ["failed", "Failed", p.failed],
              ["dead-lettered", "Dead-lettered", p.deadLettered],
            ] as const
          ).map(([id, label, n]) => (
            <div key={id} className={n > 0 && (id === "failed" || id === "dead-lettered") ? "bad" : ""}>
              <dt>{label}</dt>
              <dd data-testid={`pipeline-${id}`}>{n}</dd>
            </div>
          ))}
        </dl>
        <p className="lib-muted">Failed: calls that arrived in these days and failed. Dead-lettered: jobs the queue gave up on after their retries (or at once, for a permanent error).</p>
        {p.failures.length + p.deadLetters.length === 0 ? (
          <p className="lib-ok" data-testid="pipeline-ok">
            No failed or dead-lettered calls in these days.
          </p>
        ) : (
          <table className="dash-table dash-failures" aria-label="Failed and dead-lettered calls">
            <thead>
              <tr>
                <th>Call</th>
                <th>What</th>
                <th>Reason</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {p.deadLetters.map((d) => (
                <tr key={`dl-${d.callId}-${d.at}`} data-testid="failure-row" data-kind="dead-lettered" data-call-id={d.callId}>
                  <td>{d.callId}</td>
                  <td>dead-lettered{d.stage ? ` (${d.stage})` : ""}</td>
                  <td className="dash-reason">{d.reason}</td>
                  <td>{formatWhen(d.at)}</td>
                </tr>
              ))}
              {p.failures.map((f) => (
                <tr key={`f-${f.callId}`} data-testid="failure-row" data-kind="failed" data-call-id={f.callId}>
                  <td>{f.callId}</td>
                  <td>failed ({f.source === "live" ? "live call" : "recorded call"})</td>
                  <td className="dash-reason">{f.reason}</td>
                  <td>{formatWhen(f.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
    </div>
  );
}

function Panel({ title, wide, children }: { title: string; wide?: boolean; children: React.ReactNode }) {
  return (
    <section className={`dash-panel${wide ? " wide" : ""}`} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A top list as bars and as text (`testid` on each item, with data-name and data-count). */
function RankedList({ items, testid, colour }: { items: { name: string; count: number }[]; testid: string; colour: string }) {
  if (items.length === 0) return <p className="lib-muted">None in these days.</p>;
  return (
    <>
      <HorizontalBars data={items.map((i) => ({ name: i.name, value: i.count }))} colour={colour} />
      <ol className="dash-ranked">
        {items.map((i) => (
          <li key={i.name} data-testid={testid} data-name={i.name} data-count={i.count}>
            {i.name} <span className="lib-pill">{i.count}</span>
          </li>
        ))}
      </ol>
    </>
  );
}
