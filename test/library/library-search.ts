/**
 * The transcript library's search tests (issue 9 §6), run on a given database: `search.test.ts`
 * runs them on PGlite, `search-postgres.test.ts` on a real PostgreSQL 15. The transcripts are made
 * by the real PocketSphinx engine (`POST /v1/listen`) from real corpus recordings (read_en,
 * debian_pocketsphinx); the metadata around them (source, participants, dates, topic, sentiment)
 * is assigned by the test so that filters have something to tell apart.
 */
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../src/server/app";
import { corpusDir } from "../../src/eval/corpus";
import { startLibrary, type LibraryService } from "../../src/server/library/service";
import type { SearchHit, SearchPage } from "../../src/server/library/store";
import { CallRepository } from "../../src/server/store/calls";
import { createAtRestCipher } from "../../src/server/store/crypto";
import type { Database } from "../../src/server/store/database";
import { migrate } from "../../src/server/store/migrations";
import type { Transcript } from "../../src/contracts";
import { startServer, type RunningServer } from "../server/helpers";

const CORPUS = corpusDir();
/** Corpus recordings transcribed for the tests (set, file). */
export const RECORDINGS: [string, string][] = [
  ["read_en", "ljspeech/LJ001-0005.wav"],
  ["read_en", "ljspeech/LJ001-0016.wav"],
  ["read_en", "ljspeech/LJ001-0018.wav"],
  ["read_en", "librispeech/1272-128104-0000.wav"],
  ["debian_pocketsphinx", "librivox/sense_and_sensibility_01_austen_64kb-0870.wav"],
  ["debian_pocketsphinx", "librivox/sense_and_sensibility_01_austen_64kb-0880.wav"],
  ["debian_pocketsphinx", "librivox/sense_and_sensibility_01_austen_64kb-0890.wav"],
];

const API_KEY = "library-test-key-0123456789";
const KEY = Buffer.alloc(32, 9);
const SOURCES = ["call", "dictation", "recording"] as const;
const SENTIMENTS = ["positive", "neutral", "negative"] as const;
const TOPICS = ["Sales Inquiry", "Support Request", "Complaint"];

/** One transcribed recording. */
export interface Made {
  file: string;
  reference: string;
  /** The engine's text. */
  text: string;
  duration: number;
  words: { word: string; start: number; end: number; confidence: number }[];
}

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z' ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean);

/** Transcribe the recordings with the real PocketSphinx engine through `POST /v1/listen`. */
export async function transcribeRecordings(speech: RunningServer): Promise<Made[]> {
  const out: Made[] = [];
  for (const [set, file] of RECORDINGS) {
    const manifest = parse(readFileSync(`${CORPUS}/${set}/manifest.csv`), { columns: true }) as { file: string; reference_text: string }[];
    const reference = manifest.find((r) => r.file === file)!.reference_text;
    const res = await fetch(`${speech.baseUrl}/v1/listen?model=pocketsphinx`, { method: "POST", headers: { "content-type": "audio/wav" }, body: readFileSync(`${CORPUS}/${set}/${file}`) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: { duration: number }; results: { channels: { alternatives: { transcript: string; words: Made["words"] }[] }[] } };
    const alt = body.results.channels[0].alternatives[0];
    out.push({ file, reference, text: alt.transcript, duration: body.metadata.duration, words: alt.words.map(({ word, start, end, confidence }) => ({ word, start, end, confidence })) });
  }
  return out;
}

/** The fdc3.transcript of recording `i`, with test metadata. */
function transcriptOf(m: Made, i: number): Transcript {
  return {
    type: "fdc3.transcript",
    id: { transcriptId: `lib-test-${i}`, callId: `call-${i}` },
    source: SOURCES[i % 3],
    participants: {
      type: "fdc3.contactList",
      contacts: [{ type: "fdc3.contact", name: i % 2 ? "Margaret Dashwood" : "Edward Ferrars", id: { email: `person${i}@example.com`, phone: `+44 20 7946 00${10 + i}` } }],
    },
    timeRange: { type: "fdc3.timeRange", startTime: new Date(Date.UTC(2026, 10, 1 + i, 9)).toISOString(), endTime: new Date(Date.UTC(2026, 10, 1 + i, 9, 0, Math.ceil(m.duration))).toISOString() },
    language: "en",
    text: m.text,
    segments: [{ speaker: "customer", start: 0, end: m.duration, text: m.text, confidence: 0.8, words: m.words }],
    summary: `Customer read a passage (${i}).`,
    topics: [TOPICS[i % 3]],
    sentiment: { label: SENTIMENTS[i % 3], score: [0.6, 0, -0.5][i % 3] },
    keyPhrases: [],
    provider: { name: "pocketsphinx", model: "pocketsphinx-en-us" },
    duration: m.duration,
  } as unknown as Transcript;
}

/**
 * The longest run of 2+ consecutive words (at least 2 not stop words) that the speaker said
 * (reference) and the engine recognised, and that no other transcript holds; undefined when none.
 */
function uniquePhrase(made: Made[], i: number): string | undefined {
  const ref = norm(made[i].reference).join(" ");
  const hyp = norm(made[i].text);
  const others = made.filter((_, j) => j !== i).map((m) => ` ${norm(m.text).join(" ")} `);
  const STOP = new Set(["the", "a", "an", "of", "to", "and", "in", "is", "he", "was", "be", "not", "it", "that", "as", "his", "by", "for", "with", "at", "on", "than"]);
  for (let len = Math.min(hyp.length, 6); len >= 2; len--) {
    for (let s = 0; s + len <= hyp.length; s++) {
      const words = hyp.slice(s, s + len);
      const p = words.join(" ");
      if (words.filter((w) => !STOP.has(w)).length < 2) continue;
      if (` ${ref} `.includes(` ${p} `) && !others.some((o) => o.includes(` ${p} `))) return p;
    }
  }
  return undefined;
}

/** Register the library search tests for a database made by `openDb` (called in beforeAll). */
export function librarySearchTests(kind: string, openDb: () => Promise<{ db: Database; close(): Promise<void> }>): void {
  describe(`transcript library search on ${kind}`, () => {
    let speech: RunningServer;
    let made: Made[];
    let app: FastifyInstance;
    let service: LibraryService;
    let db: Database;
    let closeDb: () => Promise<void>;
    let listenToken: string;
    const ids: string[] = [];
    const auth = { authorization: `Token ${API_KEY}` };

    const search = async (query: Record<string, string | number>): Promise<SearchPage> => {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
      const res = await app.inject({ method: "GET", url: `/v1/transcripts?${qs}`, headers: auth });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as SearchPage;
    };
    const idsOf = (hits: SearchHit[]) => hits.map((h) => h.id);

    beforeAll(async () => {
      speech = await startServer();
      made = await transcribeRecordings(speech);
      ({ db, close: closeDb } = await openDb());
      await migrate(db);
      service = startLibrary({ db, encryptionKey: KEY, calls: new CallRepository(db, createAtRestCipher(KEY)), syncEverySec: 3600 });
      app = buildServer({ engine: speech.engine, apiKey: API_KEY });
      service.register(app);
      await app.ready();
      const tok = await app.inject({ method: "POST", url: "/v1/auth/token", headers: auth });
      listenToken = (tok.json() as { access_token: string }).access_token;
      expect(listenToken).toBeTruthy();
      for (let i = 0; i < made.length; i++) {
        // The transcriber's credential: a listen token.
        const res = await app.inject({ method: "POST", url: "/v1/transcripts", headers: { authorization: `Bearer ${listenToken}` }, payload: transcriptOf(made[i], i) });
        expect(res.statusCode, res.body).toBe(201);
        ids.push((res.json() as { id: string }).id);
      }
    }, 240_000);

    afterAll(async () => {
      service?.stop();
      await app?.close();
      await speech?.close();
      await closeDb?.();
    });

    it("the engine really transcribed the recordings (each text shares words with its reference)", () => {
      for (const m of made) {
        const ref = new Set(norm(m.reference));
        const shared = norm(m.text).filter((w) => ref.has(w)).length;
        expect(shared, `${m.file}: ${m.text}`).toBeGreaterThanOrEqual(3);
      }
    });

    it("a phrase from a call finds that call and ranks it first", async () => {
      let tested = 0;
      for (let i = 0; i < made.length; i++) {
        const phrase = uniquePhrase(made, i);
        if (!phrase) continue;
        const page = await search({ q: phrase });
        expect(page.hits[0]?.id, `"${phrase}" (${made[i].file})`).toBe(ids[i]);
        expect(page.hits[0].snippet).toContain("<mark>");
        expect(page.hits[0].who[0].email).toBe(`person${i}@example.com`);
        expect(page.hits[0].duration).toBeCloseTo(made[i].duration, 1);
        tested++;
      }
      expect(tested).toBeGreaterThanOrEqual(4);
    });

    it("the hit carries id, who, when, duration, source, topic, sentiment and a highlighted, escaped snippet", async () => {
      const i = made.findIndex((m) => uniquePhrase(made, made.indexOf(m)));
      const phrase = uniquePhrase(made, i)!;
      const hit = (await search({ q: phrase })).hits[0];
      expect(hit).toMatchObject({
        id: ids[i],
        source: SOURCES[i % 3],
        callId: `call-${i}`,
        startedAt: new Date(Date.UTC(2026, 10, 1 + i, 9)).toISOString(),
        topic: TOPICS[i % 3],
        sentiment: { label: SENTIMENTS[i % 3] },
        language: "en",
        engine: "pocketsphinx",
      });
      expect(hit.who[0].name).toBe(i % 2 ? "Margaret Dashwood" : "Edward Ferrars");
      expect(hit.snippet).not.toMatch(/<(?!\/?mark>)/);
    });

    it("participant names match by similarity, misspellings by trigrams", async () => {
      const byName = await search({ q: "Margaret", limit: 50 });
      expect(idsOf(byName.hits).sort()).toEqual(ids.filter((_, i) => i % 2).sort());
      const misspelt = await search({ q: "Dashwod", limit: 50 });
      expect(idsOf(misspelt.hits)).toEqual(expect.arrayContaining(ids.filter((_, i) => i % 2)));
      // A recognised content word, misspelt by one letter.
      const i = made.findIndex((m) => norm(m.text).some((w) => w.length >= 7));
      const word = norm(made[i].text).find((w) => w.length >= 7)!;
      const typo = word.slice(0, 3) + word.slice(4);
      const fuzzy = await search({ q: typo, limit: 50 });
      expect(idsOf(fuzzy.hits), `${word} → ${typo}`).toContain(ids[i]);
      expect(fuzzy.hits.every((h) => h.fuzzy)).toBe(true);
    });

    it("filters: source, participant e-mail and phone, topic, sentiment, language, engine, date range", async () => {
      const all = (q: Record<string, string | number>) => search({ limit: 50, ...q }).then((p) => idsOf(p.hits).sort());
      const expectIds = (pred: (i: number) => boolean) => ids.filter((_, i) => pred(i)).sort();
      expect(await all({ source: "dictation" })).toEqual(expectIds((i) => i % 3 === 1));
      expect(await all({ participant: "PERSON2@example.com" })).toEqual([ids[2]]);
      expect(await all({ participant: "+44 (20) 7946-0013" })).toEqual([ids[3]]);
      expect(await all({ topic: "Complaint" })).toEqual(expectIds((i) => i % 3 === 2));
      expect(await all({ sentiment: "positive" })).toEqual(expectIds((i) => i % 3 === 0));
      expect(await all({ language: "en" })).toEqual([...ids].sort());
      expect(await all({ language: "de" })).toEqual([]);
      expect(await all({ engine: "pocketsphinx" })).toEqual([...ids].sort());
      expect(await all({ engine: "whisper" })).toEqual([]);
      expect(await all({ from: "2026-11-03T00:00:00Z", to: "2026-11-05T00:00:00Z" })).toEqual([ids[2], ids[3]].sort());
      // Text and filter together.
      expect(await all({ q: "Margaret", source: "call" })).toEqual(expectIds((i) => i % 2 === 1 && i % 3 === 0));
    });

    it("cursor pagination walks every hit once, in order, with and without q", async () => {
      for (const q of [{}, { q: "Margaret Dashwood" }] as Record<string, string>[]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await search({ ...q, limit: 2, ...(cursor && { cursor }) });
          expect(page.hits.length).toBeLessThanOrEqual(2);
          seen.push(...idsOf(page.hits));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages < 20);
        const full = idsOf((await search({ ...q, limit: 50 })).hits);
        expect(seen).toEqual(full);
        expect(new Set(seen).size).toBe(seen.length);
      }
      expect((await search({})).hits.map((h) => h.startedAt)).toEqual([...(await search({})).hits.map((h) => h.startedAt)].sort().reverse());
      // A cursor from another query, or altered, is refused.
      const first = await search({ limit: 2 });
      const other = await app.inject({ method: "GET", url: `/v1/transcripts?q=Margaret&limit=2&cursor=${first.nextCursor}`, headers: auth });
      expect(other.statusCode).toBe(400);
      expect(other.json().err_code).toBe("INVALID_CURSOR");
      const junk = await app.inject({ method: "GET", url: `/v1/transcripts?cursor=bm90LWpzb24`, headers: auth });
      expect(junk.statusCode).toBe(400);
    });

    it("hostile q stays plain text: no error, never everything", async () => {
      const hostile = [
        `"`,
        `'`,
        `' OR 1=1 --`,
        `'); DROP TABLE transcripts; --`,
        `a & | !`,
        `!!!`,
        `:*`,
        `printing:*`,
        `p:* | m:*`,
        `(.*)`,
        `.*`,
        `%`,
        `_`,
        `\\`,
        `<->`,
        `-middle`,
        `middle OR ages`,
        `"middle ages`,
        `\u0000`,
        `${"printing ".repeat(22)}`.slice(0, 200),
        "x".repeat(200),
      ];
      for (const q of hostile) {
        const res = await app.inject({ method: "GET", url: `/v1/transcripts?${new URLSearchParams({ q, limit: "50" })}`, headers: auth });
        // A NUL is refused (400) or searched; never a 500.
        if (q === "\u0000") {
          expect([200, 400]).toContain(res.statusCode);
          continue;
        }
        expect(res.statusCode, `${JSON.stringify(q)}: ${res.body}`).toBe(200);
        expect((res.json() as SearchPage).hits.length, JSON.stringify(q)).toBeLessThan(ids.length);
      }
      // The table is still there.
      expect((await search({ limit: 50 })).hits.length).toBe(ids.length);
      const tooLong = await app.inject({ method: "GET", url: `/v1/transcripts?q=${"a".repeat(201)}`, headers: auth });
      expect(tooLong.statusCode).toBe(400);
    });

    it("bounds: page size, unknown parameters, bad dates and enums are refused", async () => {
      for (const qs of ["limit=51", "limit=0", "source=email", "sentiment=happy", "from=yesterday", "engine=a%20b", "participant=x"]) {
        const res = await app.inject({ method: "GET", url: `/v1/transcripts?${qs}`, headers: auth });
        expect(res.statusCode, qs).toBe(400);
      }
    });

    it("the plain text is not in the database: no sentence, no e-mail, no phone", async () => {
      const { rows } = await db.query<{ dump: string }>("SELECT t::text AS dump FROM transcripts t");
      const dump = rows.map((r) => r.dump).join("\n").toLowerCase();
      expect(rows.length).toBe(ids.length);
      for (let i = 0; i < made.length; i++) {
        const words = norm(made[i].text);
        // No three consecutive words as said (lexemes are stemmed and stored in sorted order).
        for (let s = 0; s + 3 <= words.length; s++) expect(dump).not.toContain(words.slice(s, s + 3).join(" "));
        expect(dump).not.toContain(`person${i}@example.com`);
        expect(dump).not.toContain(`7946 00${10 + i}`);
        expect(dump).not.toContain(`customer read a passage`);
      }
      // What search needs is there: lexemes.
      expect(dump).toContain("'dashwood'");
    });

    it("GET returns the transcript, saves append to the history, DELETE removes it", async () => {
      const got = await app.inject({ method: "GET", url: `/v1/transcripts/${ids[0]}`, headers: auth });
      expect(got.statusCode).toBe(200);
      expect(got.json().transcript.text).toBe(made[0].text);
      expect(got.json().saves).toEqual([]);
      // The transcript's own id.transcriptId (what a desktop app knows) finds the same entry.
      const tid = got.json().transcript.id.transcriptId as string;
      expect(tid).not.toBe(ids[0]);
      const byTid = await app.inject({ method: "GET", url: `/v1/transcripts/${encodeURIComponent(tid)}`, headers: auth });
      expect(byTid.statusCode).toBe(200);
      expect(byTid.json().id).toBe(ids[0]);
      expect((await app.inject({ method: "GET", url: "/v1/transcripts/no-such-transcript", headers: auth })).statusCode).toBe(404);
      expect((await app.inject({ method: "GET", url: "/v1/transcripts/bad%20id", headers: auth })).statusCode).toBe(400);
      const result = (recordId: string, status: string) => ({ type: "fdc3.transactionResult", status, context: { type: "fdc3.interaction", id: { acmeId: recordId }, participants: { type: "fdc3.contactList", contacts: [] }, timeRange: { type: "fdc3.timeRange", startTime: "2026-11-01T09:00:00Z" }, interactionType: "Call", description: "x", initiator: { type: "fdc3.contact", id: { email: "a@b.example" } } } });
      const s1 = await app.inject({ method: "POST", url: `/v1/transcripts/${ids[0]}/saves`, headers: { authorization: `Bearer ${listenToken}` }, payload: { appId: "acme-crm", result: result("R-1", "Created") } });
      expect(s1.statusCode, s1.body).toBe(201);
      const s2 = await app.inject({ method: "POST", url: `/v1/transcripts/${ids[0]}/saves`, headers: auth, payload: { appId: "acme-crm", result: result("R-1", "Updated") } });
      expect(s2.statusCode, s2.body).toBe(201);
      // A CRM that echoes the transcript's ids and names its own record as crmRecordId: that is the record id.
      const echoing = result("R-1", "Created") as { context: { id: Record<string, string> } };
      echoing.context.id = { transcriptId: "t-echo", crmRecordId: "NOTE-7" };
      const s3 = await app.inject({ method: "POST", url: `/v1/transcripts/${ids[0]}/saves`, headers: auth, payload: { appId: "notes-crm", result: echoing } });
      expect(s3.statusCode, s3.body).toBe(201);
      const history = (await app.inject({ method: "GET", url: `/v1/transcripts/${ids[0]}`, headers: auth })).json().saves;
      expect(history.map((s: { appId: string; status: string; recordId: string }) => [s.appId, s.status, s.recordId])).toEqual([
        ["acme-crm", "Created", "R-1"],
        ["acme-crm", "Updated", "R-1"],
        ["notes-crm", "Created", "NOTE-7"],
      ]);
      expect(history[1].result.type).toBe("fdc3.transactionResult");
      const badSave = await app.inject({ method: "POST", url: `/v1/transcripts/${ids[0]}/saves`, headers: auth, payload: { appId: "acme-crm", result: { type: "fdc3.transactionResult", status: "Maybe" } } });
      expect(badSave.statusCode).toBe(400);
      // Posting the same transcript again does not copy it.
      const again = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: transcriptOf(made[0], 0) });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual({ id: ids[0], created: false });
      // A listen token may post, not read, search or delete.
      for (const [method, url] of [["GET", `/v1/transcripts/${ids[0]}`], ["GET", "/v1/transcripts?q=printing"], ["DELETE", `/v1/transcripts/${ids[0]}`]] as const) {
        expect((await app.inject({ method, url, headers: { authorization: `Bearer ${listenToken}` } })).statusCode).toBe(403);
      }
      expect((await app.inject({ method: "GET", url: "/v1/transcripts?q=printing" })).statusCode).toBe(401);
      // A library token (the Library app's) reads and searches, but neither deletes nor posts.
      const lib = await app.inject({ method: "POST", url: "/v1/auth/token", headers: auth, payload: { scope: "library" } });
      const libraryAuth = { authorization: `Bearer ${(lib.json() as { access_token: string }).access_token}` };
      expect((await app.inject({ method: "GET", url: `/v1/transcripts/${ids[0]}`, headers: libraryAuth })).statusCode).toBe(200);
      expect((await app.inject({ method: "GET", url: "/v1/transcripts?q=printing", headers: libraryAuth })).json().hits.length).toBeGreaterThan(0);
      expect((await app.inject({ method: "DELETE", url: `/v1/transcripts/${ids[0]}`, headers: libraryAuth })).statusCode).toBe(403);
      expect((await app.inject({ method: "POST", url: "/v1/transcripts", headers: libraryAuth, payload: transcriptOf(made[0], 0) })).statusCode).toBe(403);
      // However the path is spelled, no key: no transcript.
      for (const url of ["/%76%31/transcripts?q=printing", "//v1/transcripts", "/V1/transcripts", "/v1/transcripts/", "/x/../v1/transcripts", `/%76%31/transcripts/${ids[0]}`]) {
        const res = await app.inject({ method: "GET", url });
        expect([400, 401, 403, 404], `${url} → ${res.statusCode}`).toContain(res.statusCode);
        expect(res.body).not.toContain(made[0].text);
      }
      const extra = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: { ...transcriptOf(made[1], 1), id: { transcriptId: "to-delete" } } });
      const extraId = extra.json().id as string;
      expect((await app.inject({ method: "DELETE", url: `/v1/transcripts/${extraId}`, headers: auth })).statusCode).toBe(204);
      expect((await app.inject({ method: "GET", url: `/v1/transcripts/${extraId}`, headers: auth })).statusCode).toBe(404);
      expect((await app.inject({ method: "DELETE", url: `/v1/transcripts/${extraId}`, headers: auth })).statusCode).toBe(404);
    });

    it("a bad transcript gets 400 with the reason", async () => {
      const bad = { ...transcriptOf(made[0], 0), id: { transcriptId: "bad" }, segments: [{ speaker: "x", start: "soon", end: 1, text: "t", confidence: 1 }] };
      const res = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: bad });
      expect(res.statusCode).toBe(400);
      expect(res.json().err_msg).toMatch(/segments\/0\/start/);
      const notTranscript = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: { type: "fdc3.contact", id: {} } });
      expect(notTranscript.statusCode).toBe(400);
      const big = await app.inject({ method: "POST", url: "/v1/transcripts", headers: auth, payload: { ...transcriptOf(made[0], 0), id: { transcriptId: "big" }, text: "word ".repeat(600_000) } });
      expect(big.statusCode).toBe(413);
    });

    it("finished live calls in the calls table are taken into the library", async () => {
      const calls = new CallRepository(db, createAtRestCipher(KEY));
      const m = made[3];
      // A call whose stored transcript does not open (damaged) comes first: it must not block the others.
      await calls.beginLiveCall("live-lib-bad", "listen", { call_id: "live-lib-bad" }, 30);
      await calls.finishLiveCall("live-lib-bad", { status: "done", transcript: { ...transcriptOf(m, 3), id: { transcriptId: "bad-t", callId: "live-lib-bad" } }, metadata: { call_id: "live-lib-bad" } });
      await db.query("UPDATE calls SET transcript = $1 WHERE call_id = 'live-lib-bad'", [Buffer.from("not an envelope")]);
      await calls.beginLiveCall("live-lib-1", "listen", { call_id: "live-lib-1", participants: [{ name: "Lucy Steele", email: "lucy@example.com" }] }, 30);
      const t = { ...transcriptOf(m, 3), id: { transcriptId: "live-lib-1-t", callId: "live-lib-1" }, source: "call", participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: "Lucy Steele", id: { email: "lucy@example.com" } }] } } as Transcript;
      await calls.finishLiveCall("live-lib-1", { status: "done", transcript: t, metadata: { call_id: "live-lib-1" } });
      await service.sync();
      const page = await search({ q: "Lucy Steele" });
      expect(page.hits.map((h) => h.callId)).toEqual(["live-lib-1"]);
      expect(page.hits[0].source).toBe("call");
      const bad = await db.query<{ taken: boolean }>("SELECT library_indexed_at IS NOT NULL AS taken FROM calls WHERE call_id = 'live-lib-bad'");
      expect(bad.rows[0].taken).toBe(true);
      // Deleted stays deleted: the call is not taken again.
      expect((await app.inject({ method: "DELETE", url: `/v1/transcripts/${page.hits[0].id}`, headers: auth })).statusCode).toBe(204);
      await db.query("UPDATE calls SET updated_at = now() WHERE call_id = 'live-lib-1'");
      await service.sync();
      expect((await search({ q: "Lucy Steele" })).hits).toEqual([]);
    });

    it("retention deletes transcripts older than the given days", async () => {
      const now = new Date(Date.UTC(2026, 10, 5, 12));
      const before = (await search({ limit: 50 })).hits.length;
      const n = await service.library.deleteOlderThan(2, now);
      // Calls started 2026-11-01 … 11-03 09:00 are older than two days at 11-05 12:00.
      expect(n).toBe(3);
      expect((await search({ limit: 50 })).hits.length).toBe(before - 3);
    });
  });
}
