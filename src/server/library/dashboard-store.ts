/**
 * The dashboard's figures (issue 9 §4), aggregated in SQL that runs the same on PGlite and
 * PostgreSQL. Days are UTC calendar days; a range is `from` … `to`, both days included.
 *
 * - From `transcripts` (what the library keeps, by call start `started_at`): transcripts per day
 *   by source (`call` = live call, `dictation`, `recording` = recorded call), talk seconds in all
 *   and per day, sentiment labels in all and per day with the day's mean score, the top topics and
 *   key phrases (each counted once per transcript), and per agent the share of talk time that is
 *   the agent's (columns of migration 6, `dashboard-fields.ts`).
 * - From `calls` and pg-boss (the recorded-call pipeline, and live calls): calls queued, running
 *   (downloading … delivering) and live right now, whatever the range; calls that failed, by when
 *   they arrived (`created_at` in the range), with their reasons; and the jobs in the dead-letter
 *   queue (`recording-ready-dead`, created in the range) with the error of their last attempt.
 *
 * Key phrases are counted by their HMACs; the words of the top ones are read back from one sealed
 * transcript each (at most `top` decryptions a request).
 */
import type { Queryable } from "../store/database";
import { DEAD_LETTER_QUEUE } from "../pipeline/queue";
import { keyPhraseKey, normalizeKeyPhrase } from "./dashboard-fields";
import type { LibrarySource, TranscriptLibrary } from "./store";

/** Longest range, days. */
export const MAX_RANGE_DAYS = 366;
/** Largest top-N of topics, key phrases and agents. */
export const MAX_TOP = 50;
/** Failed calls and dead letters listed (newest first); the counts count them all. */
export const MAX_LISTED_FAILURES = 50;

const SOURCES: readonly LibrarySource[] = ["call", "dictation", "recording"];
const LABELS = ["positive", "neutral", "negative"] as const;
const RUNNING = ["downloading", "transcribing", "analyzing", "delivering"];

/** Counts per sentiment label; `unknown`: transcripts without one. */
export interface SentimentCounts {
  positive: number;
  neutral: number;
  negative: number;
  unknown: number;
}

/** One UTC day of the range. Seconds. */
export interface DashboardDay {
  /** YYYY-MM-DD. */
  day: string;
  /** Transcripts started that day. */
  total: number;
  bySource: Record<LibrarySource, number>;
  talkSec: number;
  sentiment: SentimentCounts;
  /** Mean sentiment score in [-1, 1] of the day's scored transcripts; null when none. */
  meanSentiment: number | null;
}

/** A failed call (status `failed`). */
export interface FailedCall {
  callId: string;
  /** `recording` or `live`. */
  source: string;
  reason: string;
  /** ISO 8601, when it last changed (when it failed). */
  at: string;
}

/** A job in the dead-letter queue. */
export interface DeadLetteredCall {
  callId: string;
  reason: string;
  stage?: string;
  /** ISO 8601, when pg-boss dead-lettered it. */
  at: string;
}

/** `GET /v1/dashboard`. Times in seconds; ratios in [0, 1]. */
export interface DashboardReport {
  from: string;
  to: string;
  totals: { transcripts: number; bySource: Record<LibrarySource, number>; talkSec: number };
  /** Every day of the range, oldest first (days without transcripts too). */
  days: DashboardDay[];
  sentiment: SentimentCounts;
  topTopics: { topic: string; count: number }[];
  topKeyPhrases: { phrase: string; count: number }[];
  /** Per agent, most talk first: transcripts, the agent's talk seconds, all parties' talk seconds, agentTalkSec / talkSec. */
  talkRatio: { agent: string; transcripts: number; agentTalkSec: number; talkSec: number; ratio: number }[];
  pipeline: {
    /** Now, whatever the range. */
    queued: number;
    running: number;
    live: number;
    /** Calls that arrived in the range and failed. */
    failed: number;
    /** Dead-letter jobs created in the range. */
    deadLettered: number;
    /** Reasons of the failed calls with how many each, most first (top N). */
    failureReasons: { reason: string; count: number }[];
    failures: FailedCall[];
    deadLetters: DeadLetteredCall[];
  };
}

const num = (v: unknown) => (v == null ? 0 : Number(v));
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const zeroSources = (): Record<LibrarySource, number> => ({ call: 0, dictation: 0, recording: 0 });
const zeroSentiment = (): SentimentCounts => ({ positive: 0, neutral: 0, negative: 0, unknown: 0 });

/** The days from `from` to `to` (YYYY-MM-DD, UTC), both included. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * The dashboard of `from` … `to` (YYYY-MM-DD, UTC, both included; the caller checks the range:
 * from ≤ to, ≤ {@link MAX_RANGE_DAYS} days). `top` (1–{@link MAX_TOP}) bounds each top list.
 */
export async function dashboardReport(db: Queryable, library: TranscriptLibrary, range: { from: string; to: string; top: number }): Promise<DashboardReport> {
  const top = Math.min(Math.max(Math.trunc(range.top), 1), MAX_TOP);
  const start = `${range.from}T00:00:00Z`;
  const end = new Date(Date.parse(`${range.to}T00:00:00Z`) + 86_400_000).toISOString();
  const inRange = "t.started_at >= $1::timestamptz AND t.started_at < $2::timestamptz";

  const groups = await db.query<{ day: string; source: LibrarySource; sentiment: string | null; n: unknown; talk: unknown; score_sum: unknown; scored: unknown }>(
    `SELECT to_char(t.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, t.source, t.sentiment, count(*) AS n,
            sum(COALESCE(t.talk_sec, 0)) AS talk, sum(t.sentiment_score) AS score_sum, count(t.sentiment_score) AS scored
       FROM transcripts t WHERE ${inRange} GROUP BY 1, 2, 3`,
    [start, end],
  );
  const dayMap = new Map(daysOf(range.from, range.to).map((day) => [day, { day, total: 0, bySource: zeroSources(), talkSec: 0, sentiment: zeroSentiment(), scoreSum: 0, scored: 0 }]));
  const totals = { transcripts: 0, bySource: zeroSources(), talkSec: 0 };
  const sentiment = zeroSentiment();
  for (const g of groups.rows) {
    const d = dayMap.get(g.day);
    if (!d) continue;
    const n = num(g.n);
    const label = (LABELS as readonly string[]).includes(g.sentiment ?? "") ? (g.sentiment as (typeof LABELS)[number]) : "unknown";
    d.total += n;
    d.bySource[g.source] += n;
    d.talkSec += num(g.talk);
    d.sentiment[label] += n;
    d.scoreSum += num(g.score_sum);
    d.scored += num(g.scored);
    totals.transcripts += n;
    totals.bySource[g.source] += n;
    totals.talkSec += num(g.talk);
    sentiment[label] += n;
  }
  const days: DashboardDay[] = [...dayMap.values()].map(({ scoreSum, scored, ...d }) => ({ ...d, talkSec: round3(d.talkSec), meanSentiment: scored ? round3(scoreSum / scored) : null }));
  totals.talkSec = round3(totals.talkSec);

  const topics = await db.query<{ topic: string; n: unknown }>(
    `SELECT x.topic, count(DISTINCT t.id) AS n FROM transcripts t, unnest(t.topics) AS x(topic) WHERE ${inRange}
      GROUP BY x.topic ORDER BY n DESC, x.topic LIMIT $3`,
    [start, end, top],
  );

  const phraseRows = await db.query<{ k: string; n: unknown; sample: string }>(
    `SELECT x.k, count(DISTINCT t.id) AS n, min(t.id::text) AS sample FROM transcripts t, unnest(t.key_phrase_keys) AS x(k) WHERE ${inRange}
      GROUP BY x.k ORDER BY n DESC, x.k LIMIT $3`,
    [start, end, top],
  );
  const topKeyPhrases: { phrase: string; count: number }[] = [];
  for (const r of phraseRows.rows) {
    const t = await library.openById(r.sample).catch(() => undefined);
    const phrase = (t?.keyPhrases ?? []).map(normalizeKeyPhrase).find((p) => keyPhraseKey(library.keyPhraseKey, p) === r.k);
    if (phrase) topKeyPhrases.push({ phrase, count: num(r.n) });
  }
  topKeyPhrases.sort((a, b) => b.count - a.count || a.phrase.localeCompare(b.phrase));

  const agents = await db.query<{ agent: string; n: unknown; agent_talk: unknown; talk: unknown }>(
    `SELECT t.agent, count(*) AS n, sum(COALESCE(t.agent_talk_sec, 0)) AS agent_talk, sum(COALESCE(t.talk_sec, 0)) AS talk
       FROM transcripts t WHERE t.agent IS NOT NULL AND ${inRange} GROUP BY t.agent ORDER BY talk DESC, t.agent LIMIT $3`,
    [start, end, top],
  );

  return {
    from: range.from,
    to: range.to,
    totals,
    days,
    sentiment,
    topTopics: topics.rows.map((r) => ({ topic: r.topic, count: num(r.n) })),
    topKeyPhrases,
    talkRatio: agents.rows.map((r) => {
      const talk = num(r.talk);
      const agentTalk = num(r.agent_talk);
      return { agent: r.agent, transcripts: num(r.n), agentTalkSec: round3(agentTalk), talkSec: round3(talk), ratio: talk > 0 ? round3(agentTalk / talk) : 0 };
    }),
    pipeline: await pipelineHealth(db, start, end, top),
  };
}

async function pipelineHealth(db: Queryable, start: string, end: string, top: number): Promise<DashboardReport["pipeline"]> {
  const now = await db.query<{ status: string; n: unknown }>("SELECT status, count(*) AS n FROM calls WHERE status = ANY($1::text[]) GROUP BY status", [["queued", "live", ...RUNNING]]);
  const byStatus = Object.fromEntries(now.rows.map((r) => [r.status, num(r.n)]));
  const failedRange = "c.status = 'failed' AND c.created_at >= $1::timestamptz AND c.created_at < $2::timestamptz";
  const failed = await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM calls c WHERE ${failedRange}`, [start, end]);
  const reasons = await db.query<{ reason: string | null; n: unknown }>(
    `SELECT c.reason, count(*) AS n FROM calls c WHERE ${failedRange} GROUP BY c.reason ORDER BY n DESC, c.reason LIMIT $3`,
    [start, end, top],
  );
  const failures = await db.query<{ call_id: string; source: string; reason: string | null; updated_at: unknown }>(
    `SELECT c.call_id, c.source, c.reason, c.updated_at FROM calls c WHERE ${failedRange} ORDER BY c.updated_at DESC, c.call_id LIMIT $3`,
    [start, end, MAX_LISTED_FAILURES],
  );
  // pg-boss creates its schema when the queue first starts: a library without a pipeline has none.
  const hasBoss = (await db.query<{ t: string | null }>("SELECT to_regclass('pgboss.job')::text AS t")).rows[0]?.t;
  let deadLettered = 0;
  let deadLetters: DeadLetteredCall[] = [];
  if (hasBoss) {
    const deadRange = "j.name = $3 AND j.created_on >= $1::timestamptz AND j.created_on < $2::timestamptz";
    deadLettered = num((await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM pgboss.job j WHERE ${deadRange}`, [start, end, DEAD_LETTER_QUEUE])).rows[0]?.n);
    const { rows } = await db.query<{ call_id: string | null; reason: string | null; stage: string | null; created_on: unknown }>(
      `SELECT j.data->>'call_id' AS call_id, j.output->>'message' AS reason, j.output->>'stage' AS stage, j.created_on
         FROM pgboss.job j WHERE ${deadRange} ORDER BY j.created_on DESC, j.id LIMIT $4`,
      [start, end, DEAD_LETTER_QUEUE, MAX_LISTED_FAILURES],
    );
    deadLetters = rows.map((r) => ({ callId: r.call_id ?? "", reason: r.reason ?? "unknown", ...(r.stage && { stage: r.stage }), at: new Date(r.created_on as string).toISOString() }));
  }
  return {
    queued: byStatus.queued ?? 0,
    running: RUNNING.reduce((a, s) => a + (byStatus[s] ?? 0), 0),
    live: byStatus.live ?? 0,
    failed: num(failed.rows[0]?.n),
    deadLettered,
    failureReasons: reasons.rows.map((r) => ({ reason: r.reason ?? "failed", count: num(r.n) })),
    failures: failures.rows.map((r) => ({ callId: r.call_id, source: r.source, reason: r.reason ?? "failed", at: new Date(r.updated_at as string).toISOString() })),
    deadLetters,
  };
}
