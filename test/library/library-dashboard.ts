/**
 * The dashboard's tests (issue 9 §4), run on a given database: `dashboard.test.ts` on PGlite,
 * `dashboard-postgres.test.ts` on a real PostgreSQL 15. The transcripts' words and times are the
 * real PocketSphinx engine's on real corpus recordings (`transcribeRecordings`), their topics, key
 * phrases and sentiment the pipeline's real analysis of them; who spoke, the source and the day
 * are assigned by the test. Every expected figure is computed here from those inputs, not read
 * back from the server. The pipeline's calls go through the real pg-boss queue on the same database.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transcript } from "../../src/contracts";
import { buildServer } from "../../src/server/app";
import type { DashboardReport } from "../../src/server/library/dashboard-store";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import { enqueueRecording, JobQueue, RECORDING_QUEUE } from "../../src/server/pipeline/queue";
import { analyzeTranscript } from "../../src/server/pipeline/stages/analyze";
import { createAtRestCipher } from "../../src/server/store/crypto";
import type { Database } from "../../src/server/store/database";
import { startServer, type RunningServer } from "../server/helpers";
import { transcribeRecordings, type Made } from "./library-search";

const API_KEY = "dashboard-test-key-0123456789";
const KEY = Buffer.alloc(32, 7);
const SOURCES = ["call", "dictation", "recording"] as const;
const AGENTS = ["Alice Agent", "Bob Agent"];
/** A key phrase given to some transcripts besides the analysis's, spelt differently each time. */
const SHARED_PHRASE = ["Account Balance", "account  balance", "ACCOUNT BALANCE "];

/** Transcript i: a day in 2026-11-01 … 11-04; a call or recording is agent (channel 0) then customer (channel 1), a dictation one speaker. */
interface Seeded {
  transcript: Transcript;
  day: string;
  source: (typeof SOURCES)[number];
  /** Seconds each speaker spoke (their one segment). */
  talk: Record<string, number>;
  agent?: string;
}

async function seededOf(m: Made, i: number): Promise<Seeded> {
  const source = SOURCES[i % 3];
  const day = `2026-11-0${1 + (i % 4)}`;
  const half = Math.max(1, Math.floor(m.words.length / 2));
  const turn = (speaker: string, channel: number | undefined, ws: Made["words"]) => ({
    speaker,
    ...(channel !== undefined && { channel }),
    start: ws[0].start,
    end: ws[ws.length - 1].end,
    text: ws.map((w) => w.word).join(" "),
    confidence: 0.8,
    words: ws,
  });
  const agent = source === "dictation" ? undefined : AGENTS[i % 2];
  const segments =
    source === "dictation"
      ? [turn("Margaret Dashwood", undefined, m.words)]
      : [turn(agent!, 0, m.words.slice(0, half)), turn("Edward Ferrars", 1, m.words.slice(half))];
  const base = {
    type: "fdc3.transcript",
    id: { transcriptId: `dash-${i}`, callId: `dash-call-${i}` },
    source,
    timeRange: { type: "fdc3.timeRange", startTime: `${day}T${String(8 + i).padStart(2, "0")}:30:00.000Z` },
    language: "en",
    text: m.text,
    segments,
    provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
    duration: m.duration,
  } as unknown as Transcript;
  const a = await analyzeTranscript(base);
  const transcript = {
    ...base,
    summary: a.summary,
    topics: [a.topic],
    sentiment: { label: a.sentiment.label, score: a.sentiment.score },
    keyPhrases: [...a.keyPhrases, ...(i < 3 ? [SHARED_PHRASE[i]] : [])],
  } as Transcript;
  const talk: Record<string, number> = {};
  for (const s of segments) talk[s.speaker] = (talk[s.speaker] ?? 0) + (s.end - s.start);
  return { transcript, day, source, talk, ...(agent && { agent }) };
}

const normPhrase = (p: string) => p.toLowerCase().replace(/\s+/g, " ").trim();
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Register the dashboard tests for a database made by `openDb` (called in beforeAll). */
export function dashboardTests(kind: string, openDb: () => Promise<{ db: Database; close(): Promise<void> }>): void {
  describe(`library dashboard on ${kind}`, () => {
    let speech: RunningServer;
    let db: Database;
    let closeDb: () => Promise<void>;
    let queue: JobQueue;
    let service: LibraryService;
    let app: FastifyInstance;
    let seeded: Seeded[];
    const auth = { authorization: `Token ${API_KEY}` };
    const today = new Date().toISOString().slice(0, 10);

    const dashboard = async (qs: string): Promise<DashboardReport> => {
      const res = await app.inject({ method: "GET", url: `/v1/dashboard?${qs}`, headers: auth });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as DashboardReport;
    };

    beforeAll(async () => {
      speech = await startServer();
      const made = await transcribeRecordings(speech);
      seeded = await Promise.all(made.map((m, i) => seededOf(m, i)));
      ({ db, close: closeDb } = await openDb());
      // The real queue on the same database: it migrates Callscribe's tables and pg-boss's.
      queue = await JobQueue.start(db, createAtRestCipher(KEY), { pollIntervalSec: 0.5 });
      service = startLibrary({ db, encryptionKey: KEY, calls: queue.calls, syncEverySec: 3600 });
      app = buildServer({ engine: speech.engine, apiKey: API_KEY });
      service.register(app);
      await app.ready();
      for (const s of seeded) {
        const res = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: s.transcript });
        expect(res.statusCode, res.body).toBe(201);
      }
      // One outside the range the tests ask for (October).
      const outside = { ...seeded[0].transcript, id: { transcriptId: "dash-outside" }, timeRange: { type: "fdc3.timeRange", startTime: "2026-10-31T23:59:59.000Z" } };
      expect((await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: outside })).statusCode).toBe(201);

      // The pipeline: a dead letter (pg-boss fails the job for good), two failed calls, one running, one queued, one live.
      await enqueueRecording(queue, { call_id: "dash-dead", recording_url: "http://127.0.0.1:9/dead.wav" });
      const [job] = await queue.boss.fetch(RECORDING_QUEUE);
      expect(job.data).toMatchObject({ call_id: "dash-dead" });
      await queue.failNow(job.id);
      await queue.boss.fail(RECORDING_QUEUE, job.id, { message: "decode: not an audio file", stage: "decode", retryable: false });
      await queue.reconcileFailedJobs();
      for (const id of ["dash-404", "dash-run", "dash-queued"]) await enqueueRecording(queue, { call_id: id, recording_url: `http://127.0.0.1:9/${id}.wav` });
      await queue.calls.setStatus("dash-404", "failed", "download: recording server answered HTTP 404");
      await queue.calls.setStatus("dash-run", "transcribing");
      await queue.calls.beginLiveCall("dash-live", "listen", { call_id: "dash-live" }, 30);
    }, 240_000);

    afterAll(async () => {
      service?.stop();
      await app?.close();
      await queue?.stop();
      await speech?.close();
      await closeDb?.();
    });

    it("the engine really transcribed the recordings, and the analysis found key phrases", () => {
      for (const s of seeded) expect(s.transcript.text.split(/\s+/).length).toBeGreaterThan(3);
      expect(sum(seeded.map((s) => s.transcript.keyPhrases!.length))).toBeGreaterThan(seeded.length);
    });

    it("transcripts per day by source, talk time, and sentiment, as the inputs say", async () => {
      const r = await dashboard("from=2026-11-01&to=2026-11-07");
      expect(r.days.map((d) => d.day)).toEqual(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-07"]);
      expect(r.totals.transcripts).toBe(seeded.length);
      for (const src of SOURCES) expect(r.totals.bySource[src], src).toBe(seeded.filter((s) => s.source === src).length);
      const talkOf = (s: Seeded) => sum(Object.values(s.talk));
      expect(r.totals.talkSec).toBeCloseTo(sum(seeded.map(talkOf)), 2);
      for (const d of r.days) {
        const mine = seeded.filter((s) => s.day === d.day);
        expect(d.total, d.day).toBe(mine.length);
        for (const src of SOURCES) expect(d.bySource[src], `${d.day} ${src}`).toBe(mine.filter((s) => s.source === src).length);
        expect(d.talkSec, d.day).toBeCloseTo(sum(mine.map(talkOf)), 2);
        for (const label of ["positive", "neutral", "negative"] as const) expect(d.sentiment[label], `${d.day} ${label}`).toBe(mine.filter((s) => s.transcript.sentiment?.label === label).length);
        const scores = mine.map((s) => s.transcript.sentiment!.score!);
        if (scores.length) expect(d.meanSentiment!, d.day).toBeCloseTo(sum(scores) / scores.length, 2);
        else expect(d.meanSentiment).toBeNull();
      }
      for (const label of ["positive", "neutral", "negative"] as const) expect(r.sentiment[label]).toBe(seeded.filter((s) => s.transcript.sentiment?.label === label).length);
      expect(r.sentiment.unknown).toBe(0);
      // One day less: the transcripts of 11-04 drop out.
      const shorter = await dashboard("from=2026-11-01&to=2026-11-03");
      expect(shorter.totals.transcripts).toBe(seeded.filter((s) => s.day <= "2026-11-03").length);
      expect(shorter.totals.transcripts).toBeLessThan(seeded.length);
      // The one from 10-31 23:59:59 UTC is on its own day.
      expect((await dashboard("from=2026-10-31&to=2026-10-31")).totals.transcripts).toBe(1);
    });

    it("top topics and key phrases, counted once per transcript, phrases normalised", async () => {
      const r = await dashboard("from=2026-11-01&to=2026-11-30&top=50");
      const topics = new Map<string, number>();
      for (const s of seeded) for (const t of new Set(s.transcript.topics)) topics.set(t, (topics.get(t) ?? 0) + 1);
      expect(Object.fromEntries(r.topTopics.map((t) => [t.topic, t.count]))).toEqual(Object.fromEntries(topics));
      const phrases = new Map<string, number>();
      for (const s of seeded) for (const p of new Set(s.transcript.keyPhrases!.map(normPhrase))) phrases.set(p, (phrases.get(p) ?? 0) + 1);
      expect(Object.fromEntries(r.topKeyPhrases.map((p) => [p.phrase, p.count]))).toEqual(Object.fromEntries(phrases));
      expect(r.topKeyPhrases[0]).toEqual({ phrase: "account balance", count: 3 });
      // top bounds each list.
      const top2 = await dashboard("from=2026-11-01&to=2026-11-30&top=2");
      expect(top2.topKeyPhrases.length).toBeLessThanOrEqual(2);
      expect(top2.topTopics.length).toBeLessThanOrEqual(2);
      expect(top2.topKeyPhrases[0]).toEqual({ phrase: "account balance", count: 3 });
      // The phrases are not in the database in clear.
      const { rows } = await db.query<{ dump: string }>("SELECT t::text AS dump FROM transcripts t");
      expect(rows.map((x) => x.dump).join("\n").toLowerCase()).not.toContain("account balance");
    });

    it("talk ratio per agent: the channel-0 speaker's share of the talk time", async () => {
      const r = await dashboard("from=2026-11-01&to=2026-11-30");
      const expected = AGENTS.map((agent) => {
        const mine = seeded.filter((s) => s.agent === agent);
        const talk = sum(mine.map((s) => sum(Object.values(s.talk))));
        const agentTalk = sum(mine.map((s) => s.talk[agent]));
        return { agent, transcripts: mine.length, talk, ratio: agentTalk / talk };
      }).filter((e) => e.transcripts > 0);
      expect(r.talkRatio.map((a) => a.agent).sort()).toEqual(expected.map((e) => e.agent).sort());
      for (const e of expected) {
        const got = r.talkRatio.find((a) => a.agent === e.agent)!;
        expect(got.transcripts).toBe(e.transcripts);
        expect(got.talkSec).toBeCloseTo(e.talk, 2);
        expect(got.ratio).toBeCloseTo(e.ratio, 2);
        expect(got.ratio).toBeGreaterThan(0);
        expect(got.ratio).toBeLessThan(1);
      }
    });

    it("pipeline health: queued, running and live now; failed and dead-lettered in the range, with reasons", async () => {
      const now = await dashboard(`from=${today}&to=${today}`);
      expect(now.pipeline).toMatchObject({ queued: 1, running: 1, live: 1, failed: 2, deadLettered: 1 });
      expect(now.pipeline.failures.map((f) => [f.callId, f.reason]).sort()).toEqual([
        ["dash-404", "download: recording server answered HTTP 404"],
        ["dash-dead", "decode: not an audio file"],
      ]);
      expect(now.pipeline.deadLetters).toEqual([expect.objectContaining({ callId: "dash-dead", reason: "decode: not an audio file", stage: "decode" })]);
      expect(now.pipeline.failureReasons.map((f) => f.count)).toEqual([1, 1]);
      // November: nothing failed then; what is queued or running is still shown.
      const nov = await dashboard("from=2026-11-01&to=2026-11-30");
      expect(nov.pipeline).toMatchObject({ queued: 1, running: 1, live: 1, failed: 0, deadLettered: 0, failures: [], deadLetters: [] });
    });

    it("transcripts stored before migration 6 get their dashboard columns filled", async () => {
      const before = await db.query("SELECT id, talk_sec, agent, agent_talk_sec, key_phrase_keys FROM transcripts ORDER BY id");
      await db.query("UPDATE transcripts SET talk_sec = NULL, agent = NULL, agent_talk_sec = NULL, key_phrase_keys = '{}'");
      expect(await service.library.backfillDashboard(3)).toBe(3);
      while ((await service.library.backfillDashboard(3)) > 0);
      const after = await db.query("SELECT id, talk_sec, agent, agent_talk_sec, key_phrase_keys FROM transcripts ORDER BY id");
      expect(after.rows).toEqual(before.rows);
    });

    it("auth: no credential 401, a listen token 403, a library token 200", async () => {
      expect((await app.inject({ method: "GET", url: "/v1/dashboard" })).statusCode).toBe(401);
      const listen = (await app.inject({ method: "POST", url: "/v1/auth/token", headers: auth })).json().access_token as string;
      expect((await app.inject({ method: "GET", url: "/v1/dashboard", headers: { authorization: `Bearer ${listen}` } })).statusCode).toBe(403);
      const library = (await app.inject({ method: "POST", url: "/v1/auth/token", headers: auth, payload: { scope: "library" } })).json().access_token as string;
      const ok = await app.inject({ method: "GET", url: "/v1/dashboard?from=2026-11-01&to=2026-11-30", headers: { authorization: `Bearer ${library}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().totals.transcripts).toBe(seeded.length);
      // Without dates: the last 30 days, ending today.
      const dflt = await dashboard("");
      expect(dflt.to).toBe(today);
      expect(dflt.days).toHaveLength(30);
    });

    it("a bad query gets 400 with the reason", async () => {
      const cases: [string, RegExp][] = [
        ["from=2026-13-01&to=2026-12-01", /calendar day/],
        ["from=2026-02-30&to=2026-03-01", /calendar day/],
        ["from=2026-11-10&to=2026-11-01", /after/],
        ["from=2025-01-01&to=2026-11-01", /at most 366/],
        ["from=yesterday", /from/],
        ["top=51", /top/],
        ["top=0", /top/],
        ["color=red", /unknown parameter: color/],
        ["toString=1", /unknown parameter: toString/],
      ];
      for (const [qs, reason] of cases) {
        const res = await app.inject({ method: "GET", url: `/v1/dashboard?${qs}`, headers: auth });
        expect(res.statusCode, qs).toBe(400);
        expect(res.json().err_msg, qs).toMatch(reason);
      }
      // 366 days is allowed.
      expect((await dashboard("from=2025-11-01&to=2026-11-01")).days).toHaveLength(366);
    });
  });
}
