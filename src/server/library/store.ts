/**
 * The transcript library (issue 9 §1, §2): every finished transcript (live call, dictation,
 * recorded call) in table `transcripts` (migration 5), encrypted at rest, searchable.
 *
 * Encrypted yet searchable. The transcript and its analysis are one AES-256-GCM envelope
 * (`store/crypto.ts`, AAD `library:<id>`). Beside it the row keeps only what search and filters need:
 * - `search_vector`: a `tsvector` (PostgreSQL full-text search, config `english`) of the text,
 *   summary, key phrases and participant names: Snowball-stemmed lexemes with word positions, stop
 *   words dropped, case and punctuation gone. The text is handed to `to_tsvector` as a statement
 *   parameter and never stored.
 * - `transcript_lexemes`: the vocabulary, every stem once, tied to no transcript (a stem stays after
 *   its transcripts are deleted), with a trigram index, for misspellings.
 * - `names`: participant names in lower case, with a trigram index (pg_trgm needs the letters).
 * - `participant_keys`: HMAC-SHA256 (a key derived from the encryption key) of each e-mail
 *   (`email:<lower case>`) and phone (`phone:<digits>`), for exact filters; not reversible without the key.
 * - filter columns: source, call id, start/end time, duration, language, engine, topics, sentiment.
 * - dashboard columns (migration 6, `dashboard-fields.ts`): talk seconds, the agent's name and talk
 *   seconds, and keyed HMACs of the key phrases (not reversible without the key; equal phrases have
 *   equal HMACs, so a reader sees how often an unknown phrase recurs).
 *
 * What someone who reads the database (not the key) learns: who took part by name (not e-mail or
 * phone), when, how long, which engine, topic and sentiment, and for each transcript the set of word
 * stems it contains with their positions, so a stemmed, stop-word-free word order can be pieced
 * together ("refund order arriv damag"), but not the sentences as said, the summary as written, the
 * words' exact forms, nor anything in segments (speakers, timings, confidences). Snippets are built
 * in the server after decrypting the page of hits (`ts_headline` over the decrypted text, passed as
 * parameters, not stored).
 */
import { createHmac, randomUUID } from "node:crypto";
import { INTERACTION_ID_KEY, type Transcript } from "../../contracts";
import type { AtRestCipher } from "../store/crypto";
import type { Queryable } from "../store/database";
import type { Analysis } from "../store/model";
import type { AudioAvailability } from "./audio";
import { dashboardFields, keyPhraseHmacKey } from "./dashboard-fields";

/** Where a transcript came from (`fdc3.transcript` `source`). */

/** The shape of the library's own ids (the `transcripts.id` uuid column). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export type LibrarySource = "call" | "dictation" | "recording";

/** One CRM save (`POST /v1/transcripts/:id/saves`): the `fdc3.transactionResult` the CRM returned. */
export interface CrmSave {
  /** FDC3 app id of the CRM that saved it. */
  appId: string;
  /** `transactionResult.status`: Created, Updated, Deleted or Failed. */
  status: string;
  /** The record's id in the CRM (first value of `transactionResult.context.id`), when it said. */
  recordId?: string;
  /** ISO 8601, when the server recorded it. */
  savedAt: string;
  /** The whole `fdc3.transactionResult`. */
  result: Record<string, unknown>;
}

/** A stored transcript (`GET /v1/transcripts/:id`). Times ISO 8601, duration seconds. */
export interface LibraryEntry {
  id: string;
  source: LibrarySource;
  callId?: string;
  startedAt: string;
  endedAt?: string;
  duration?: number;
  language?: string;
  engine?: string;
  topic?: string;
  sentiment?: { label: string; score?: number };
  createdAt: string;
  /** Every CRM save, oldest first. */
  saves: CrmSave[];
  /** The `fdc3.transcript` with its analysis fields. */
  transcript: Transcript;
  /** Whether its recorded audio can be played (`GET /v1/transcripts/:id` only; see `audio.ts`). */
  audio?: AudioAvailability;
}

/** Filters and paging of {@link TranscriptLibrary.search}. */
export interface SearchQuery {
  /** Plain text (never query syntax), ≤ 200 characters; empty or absent: newest first. */
  q?: string;
  /** ISO 8601; call start ≥ from, < to. */
  from?: string;
  to?: string;
  source?: LibrarySource;
  /** An e-mail (has `@`) or a phone number. */
  participant?: string;
  topic?: string;
  sentiment?: "positive" | "neutral" | "negative";
  language?: string;
  engine?: string;
  /** 1–50. */
  limit: number;
  /** Opaque, from the previous page's `nextCursor`. */
  cursor?: string;
}

/** One search hit. `snippet`: HTML-escaped text with matches in `<mark>…</mark>`. */
export interface SearchHit {
  id: string;
  source: LibrarySource;
  callId?: string;
  /** Participant names (and e-mails/phones) from the decrypted transcript. */
  who: { name?: string; email?: string; phone?: string }[];
  startedAt: string;
  duration?: number;
  topic?: string;
  sentiment?: { label: string; score?: number };
  language?: string;
  engine?: string;
  snippet: string;
  /** Relevance (higher first); 0 without `q`. */
  rank: number;
  /** Matched by spelling similarity (no exact word matched). */
  fuzzy?: boolean;
}

/** A page of hits; `nextCursor` absent on the last page. */
export interface SearchPage {
  hits: SearchHit[];
  nextCursor?: string;
}

/** A cursor that does not decode, or belongs to another query. */
export class InvalidCursorError extends Error {
  constructor(message = "invalid cursor (it belongs to another query, or was altered)") {
    super(message);
    this.name = "InvalidCursorError";
  }
}

/** The transcript is too large to index (PostgreSQL's tsvector holds at most 1 MB). */
export class TranscriptTooLargeError extends Error {}

/**
 * A query matching more transcripts than this ranks the newest this many of them (and its pages walk
 * those): ranking every match of a very common word reads a large part of the table, this keeps a
 * search within tens of milliseconds at 100 000 transcripts (bench/search.ts).
 */
export const RANK_CANDIDATES = 2000;

const SELECT_COLUMNS = `id, source, call_id, started_at, started_at::text AS started_text, ended_at, duration_sec, language, engine, topic, sentiment, sentiment_score, sealed, saves, created_at`;

const iso = (v: unknown): string | undefined => (v == null ? undefined : new Date(v as string | Date).toISOString());
const toBytes = (v: unknown): Uint8Array => (typeof v === "string" ? Buffer.from(v.replace(/^\\x/, ""), "hex") : (v as Uint8Array));

/** Normalise a phone number to its digits (a leading `+` kept). */
export function normalizePhone(phone: string): string {
  const digits = phone.replace(/[^0-9]/g, "");
  return phone.trim().startsWith("+") ? `+${digits}` : digits;
}

/** The contacts of a transcript: name, e-mail, phone. */
function contactsOf(t: Transcript): { name?: string; email?: string; phone?: string }[] {
  const contacts = ((t.participants as { contacts?: unknown[] } | undefined)?.contacts ?? []) as { name?: unknown; id?: Record<string, unknown> }[];
  return contacts.map((c) => ({
    ...(typeof c.name === "string" && { name: c.name }),
    ...(typeof c.id?.email === "string" && { email: c.id.email }),
    ...(typeof c.id?.phone === "string" && { phone: c.id.phone }),
  }));
}

/** HTML-escape. */
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const START_SEL = "\u0001";
const STOP_SEL = "\u0002";

/** Repository of the library over a database or a transaction. */
export class TranscriptLibrary {
  /**
   * @param cipher the at-rest cipher (the server's encryption key)
   * @param hmacKey key of the participant HMACs (derive it from the encryption key: {@link participantHmacKey})
   */
  constructor(
    private readonly db: Queryable,
    private readonly cipher: AtRestCipher,
    private readonly hmacKey: Uint8Array,
  ) {
    this.keyPhraseKey = keyPhraseHmacKey(hmacKey);
  }

  /** Key of the key-phrase HMACs (`dashboard-fields.ts`). */
  readonly keyPhraseKey: Buffer;

  private participantKey(kind: "email" | "phone", value: string): string {
    const v = kind === "email" ? value.trim().toLowerCase() : normalizePhone(value);
    return createHmac("sha256", this.hmacKey).update(`${kind}:${v}`).digest("hex");
  }

  /** The HMAC key of a participant filter value (an e-mail when it has `@`, else a phone). */
  participantFilterKey(value: string): string {
    return value.includes("@") ? this.participantKey("email", value) : this.participantKey("phone", value);
  }

  /**
   * Store a finished transcript (already validated). Idempotent: a transcript whose
   * `id.transcriptId` is stored, or whose call (`id.callId`, same source) is, is not stored again:
   * the stored one's id comes back with `created: false` (first wins; delete it to replace it).
   * @param analysis the pipeline's analysis, when it is not already in the transcript's fields
   * @param startedAt when the call started, if the transcript has no `timeRange` (default: now)
   * @throws TranscriptTooLargeError when PostgreSQL cannot index it
   */
  async add(transcript: Transcript, opts: { analysis?: Analysis; startedAt?: Date } = {}): Promise<{ id: string; created: boolean }> {
    const t = withAnalysis(transcript, opts.analysis);
    const transcriptId = t.id.transcriptId;
    const callId = t.id.callId ?? null;
    const existing = await this.db.query<{ id: string }>(
      "SELECT id FROM transcripts WHERE transcript_id = $1 OR ($2::text IS NOT NULL AND call_id = $2 AND source = $3) LIMIT 1",
      [transcriptId, callId, t.source],
    );
    if (existing.rows[0]) return { id: existing.rows[0].id, created: false };
    const id = randomUUID();
    const range = t.timeRange as { startTime?: string; endTime?: string } | undefined;
    const startedAt = range?.startTime ? new Date(range.startTime) : (opts.startedAt ?? new Date());
    const endedAt = range?.endTime ? new Date(range.endTime) : undefined;
    const contacts = contactsOf(t);
    const keys = [
      ...contacts.filter((c) => c.email).map((c) => this.participantKey("email", c.email!)),
      ...contacts.filter((c) => c.phone).map((c) => this.participantKey("phone", c.phone!)),
    ];
    const names = contacts
      .map((c) => c.name?.toLowerCase().trim())
      .filter(Boolean)
      .join("; ");
    const summaryAndPhrases = [t.summary ?? "", ...(t.keyPhrases ?? [])].join(". ");
    const sentiment = t.sentiment as { label?: string; score?: number } | undefined;
    const sealed = this.cipher.seal(Buffer.from(JSON.stringify(t), "utf8"), `library:${id}`);
    const dash = dashboardFields(t, this.keyPhraseKey);
    try {
      const ins = await this.db.query<{ id: string }>(
        `INSERT INTO transcripts (id, transcript_id, source, call_id, started_at, ended_at, duration_sec, language, engine, model, topic, topics,
                                  sentiment, sentiment_score, participant_keys, names, search_vector, sealed, talk_sec, agent, agent_talk_sec, key_phrase_keys)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, v.vec, $20, $21, $22, $23, $24
           FROM (SELECT setweight(to_tsvector('english', $16), 'A') || setweight(to_tsvector('english', $17), 'B') || setweight(to_tsvector('english', $18), 'C')
                        || setweight(to_tsvector('english', $19), 'B') AS vec) v
         ON CONFLICT (transcript_id) DO NOTHING RETURNING id`,
        [
          id,
          transcriptId,
          t.source,
          callId,
          startedAt.toISOString(),
          endedAt?.toISOString() ?? null,
          t.duration ?? (endedAt ? (endedAt.getTime() - startedAt.getTime()) / 1000 : null),
          t.language ?? null,
          (t.provider as { name?: string } | undefined)?.name ?? null,
          (t.provider as { model?: string } | undefined)?.model ?? null,
          t.topics?.[0] ?? null,
          t.topics ?? [],
          sentiment?.label ?? null,
          sentiment?.score ?? null,
          keys,
          names,
          summaryAndPhrases,
          t.text,
          (t.topics ?? []).join(". "),
          sealed,
          dash.talkSec,
          dash.agent,
          dash.agentTalkSec,
          dash.keyPhraseKeys,
        ],
      );
      if (ins.rows[0]) {
        // The vocabulary, in lexeme order (concurrent inserts take the keys in the same order: no deadlock).
        await this.db.query(
          "INSERT INTO transcript_lexemes (lexeme) SELECT x.lexeme FROM transcripts t, unnest(t.search_vector) x WHERE t.id = $1 ORDER BY x.lexeme ON CONFLICT DO NOTHING",
          [id],
        );
      }
      if (!ins.rows[0]) {
        const again = await this.db.query<{ id: string }>("SELECT id FROM transcripts WHERE transcript_id = $1", [transcriptId]);
        return { id: again.rows[0]!.id, created: false };
      }
      return { id, created: true };
    } catch (err) {
      if (/too long for tsvector|word is too long|exceeds the maximum/i.test((err as Error).message)) throw new TranscriptTooLargeError("the transcript is too large to index");
      throw err;
    }
  }

  /**
   * One transcript, decrypted; undefined when unknown. `id` is the library's id, else the
   * transcript's own `id.transcriptId` (what the desktop apps know, e.g. a notification's "Open").
   */
  async get(id: string): Promise<LibraryEntry | undefined> {
    let rows: Record<string, unknown>[] = [];
    if (UUID.test(id)) ({ rows } = await this.db.query(`SELECT ${SELECT_COLUMNS} FROM transcripts WHERE id = $1`, [id]));
    if (rows.length === 0) ({ rows } = await this.db.query(`SELECT ${SELECT_COLUMNS} FROM transcripts WHERE transcript_id = $1`, [id]));
    const r = rows[0];
    if (!r) return undefined;
    const transcript = this.openTranscript(r);
    return {
      id: r.id as string,
      source: r.source as LibrarySource,
      ...(r.call_id != null && { callId: r.call_id as string }),
      startedAt: iso(r.started_at)!,
      ...(r.ended_at != null && { endedAt: iso(r.ended_at) }),
      ...(r.duration_sec != null && { duration: Number(r.duration_sec) }),
      ...(r.language != null && { language: r.language as string }),
      ...(r.engine != null && { engine: r.engine as string }),
      ...(r.topic != null && { topic: r.topic as string }),
      ...(r.sentiment != null && { sentiment: { label: r.sentiment as string, ...(r.sentiment_score != null && { score: Number(r.sentiment_score) }) } }),
      createdAt: iso(r.created_at)!,
      saves: (r.saves as StoredSave[]).map((s) => this.openSave(r.id as string, s)),
      transcript,
    };
  }

  /** Where one transcript came from (without decrypting it); undefined when unknown. */
  async originOf(id: string): Promise<{ source: LibrarySource; callId?: string } | undefined> {
    const { rows } = await this.db.query("SELECT source, call_id FROM transcripts WHERE id = $1", [id]);
    const r = rows[0];
    return r ? { source: r.source as LibrarySource, ...(r.call_id != null && { callId: r.call_id as string }) } : undefined;
  }

  /** Delete one transcript; false when unknown. */
  async delete(id: string): Promise<boolean> {
    const { rows } = await this.db.query("DELETE FROM transcripts WHERE id = $1 RETURNING id", [id]);
    return rows.length > 0;
  }

  /**
   * Append a CRM save (`fdc3.transactionResult`, validated) to a transcript's history.
   * @returns the whole history, oldest first; undefined when the transcript is unknown
   */
  async addSave(id: string, appId: string, result: Record<string, unknown>): Promise<CrmSave[] | undefined> {
    const ctxId = (result.context as { id?: Record<string, unknown> } | undefined)?.id;
    // The CRM's own record id: `crmRecordId` when it names it (our CRMs echo the transcript's ids
    // too), else the first string id it returned that is not our own `Callscribe` id (a CreateInteraction
    // CRM echoes the fdc3.interaction's `id.Callscribe`, the transcript id, beside its own key).
    const recordId =
      typeof ctxId?.crmRecordId === "string" ? ctxId.crmRecordId : ctxId ? Object.entries(ctxId).find(([k, v]) => k !== INTERACTION_ID_KEY && typeof v === "string")?.[1] : undefined;
    const save: StoredSave = {
      appId,
      status: String(result.status),
      ...(recordId !== undefined && { recordId: recordId as string }),
      savedAt: new Date().toISOString(),
      // The CRM's answer may echo what was saved (names, the text): sealed like the transcript.
      sealed: this.cipher.seal(Buffer.from(JSON.stringify(result), "utf8"), `library-save:${id}`).toString("base64"),
    };
    const { rows } = await this.db.query<{ saves: StoredSave[] }>("UPDATE transcripts SET saves = saves || $2::jsonb WHERE id = $1 RETURNING saves", [id, JSON.stringify([save])]);
    if (!rows[0]) return undefined;
    return rows[0].saves.map((s) => this.openSave(id, s));
  }

  /**
   * Full-text search (see the module comment; a query matching more than {@link RANK_CANDIDATES}
   * transcripts ranks the newest that many). `q` is plain text: `plainto_tsquery` (every word,
   * stemmed, operators ignored) selects, `ts_rank_cd` (cover density) ranks, a transcript holding the
   * words as a phrase (`phraseto_tsquery`) ranks above one holding them apart, and participant names
   * match by trigram similarity (`<%`, pg_trgm). When nothing matches on the first page, each
   * query word (stop words aside) is replaced by its most similar stems of the vocabulary (misspellings).
   * Order: rank, then newest first; the cursor carries the last hit's (rank, start, id).
   * @throws InvalidCursorError
   */
  async search(query: SearchQuery): Promise<SearchPage> {
    const q = (query.q ?? "").trim();
    const limit = Math.min(Math.max(Math.trunc(query.limit), 1), 50);
    const fingerprint = createHmac("sha256", this.hmacKey)
      .update(JSON.stringify([q, query.from, query.to, query.source, query.participant, query.topic, query.sentiment, query.language, query.engine]))
      .digest("base64url")
      .slice(0, 12);
    const cursor = query.cursor ? decodeCursor(query.cursor, fingerprint) : undefined;
    const filters: unknown[] = [
      query.from ?? null,
      query.to ?? null,
      query.source ?? null,
      query.participant ? this.participantFilterKey(query.participant) : null,
      query.topic ?? null,
      query.sentiment ?? null,
      query.language ?? null,
      query.engine ?? null,
    ];
    // $1…$8: filters; $9 limit+1; $10–$12 cursor; $13 q.
    const where = `($1::timestamptz IS NULL OR t.started_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR t.started_at < $2::timestamptz)
       AND ($3::text IS NULL OR t.source = $3) AND ($4::text IS NULL OR t.participant_keys @> ARRAY[$4::text])
       AND ($5::text IS NULL OR $5 = ANY(t.topics)) AND ($6::text IS NULL OR t.sentiment = $6)
       AND ($7::text IS NULL OR lower(t.language) = lower($7) OR lower(t.language) LIKE lower($7) || '-%') AND ($8::text IS NULL OR t.engine = $8)`;
    const after = `($10::real IS NULL OR (s.rank, s.started_at, s.id) < ($10::real, $11::timestamptz, $12::uuid))`;
    const params = [...filters, limit + 1, cursor?.r ?? null, cursor?.t ?? null, cursor?.id ?? null];
    let rows: Record<string, unknown>[];
    let fuzzy = cursor?.f === 1;
    if (!q) {
      ({ rows } = await this.db.query(
        `SELECT * FROM (SELECT ${prefixed(SELECT_COLUMNS)}, 0::real AS rank, '0' AS rank_text FROM transcripts t WHERE ${where}) s
          WHERE ${after} ORDER BY s.rank DESC, s.started_at DESC, s.id DESC LIMIT $9`,
        params,
      ));
    } else if (!fuzzy) {
      // Candidates: the newest RANK_CANDIDATES text matches and the newest name matches (each an
      // index walk: GIN, or the start-time index for very common words), then ranked.
      ({ rows } = await this.db.query(
        `WITH cand AS (
           (SELECT t.id FROM transcripts t WHERE t.search_vector @@ plainto_tsquery('english', $13) AND ${where}
             ORDER BY t.started_at DESC, t.id DESC LIMIT ${RANK_CANDIDATES})
           UNION
           (SELECT t.id FROM transcripts t WHERE $13 <% t.names AND ${where} ORDER BY t.started_at DESC, t.id DESC LIMIT ${RANK_CANDIDATES}))
         SELECT s.*, s.rank::text AS rank_text FROM (
           SELECT ${prefixed(SELECT_COLUMNS)},
                  (ts_rank_cd(t.search_vector, plainto_tsquery('english', $13)) + CASE WHEN t.search_vector @@ phraseto_tsquery('english', $13) THEN 1 ELSE 0 END
                   + CASE WHEN $13 <% t.names THEN word_similarity($13, t.names) ELSE 0 END)::real AS rank
             FROM cand JOIN transcripts t ON t.id = cand.id) s
          WHERE ${after} ORDER BY s.rank DESC, s.started_at DESC, s.id DESC LIMIT $9`,
        [...params, q],
      ));
      if (rows.length === 0 && !cursor) fuzzy = true;
    } else rows = [];
    if (fuzzy && q && (rows.length === 0 || cursor?.f === 1)) {
      // Misspellings: each query word (at most 8 of 3+ letters) is replaced by the 5 most similar
      // stems of the vocabulary (trigram similarity `%`, GIN-indexed), OR-ed; the words are AND-ed.
      // The tsquery is built by PostgreSQL (websearch_to_tsquery over stems it stored) and comes
      // back as a parameter, so the second query is planned with it. No word in the SQL text.
      const candidates = [...new Set(q.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])].slice(0, 8);
      // Stop words are not searched ("more" is not a misspelling of "moor").
      const words = candidates.length
        ? ((await this.db.query<{ w: string[] | null }>("SELECT array_agg(w ORDER BY n) AS w FROM unnest($1::text[]) WITH ORDINALITY AS x(w, n) WHERE numnode(plainto_tsquery('english', w)) > 0", [candidates])).rows[0]?.w ?? [])
        : [];
      const similar = (k: number) =>
        `websearch_to_tsquery('simple', (SELECT string_agg(l.lexeme, ' or ') FROM (SELECT lexeme FROM transcript_lexemes WHERE lexeme % $${k + 1} ORDER BY similarity(lexeme, $${k + 1}) DESC, lexeme LIMIT 5) l))`;
      const fq = words.length ? (await this.db.query<{ fq: string | null }>(`SELECT (${words.map((_, k) => similar(k)).join(" && ")})::text AS fq`, words)).rows[0]?.fq : null;
      if (fq) {
        ({ rows } = await this.db.query(
          `WITH cand AS (SELECT t.id FROM transcripts t WHERE t.search_vector @@ $13::tsquery AND ${where} ORDER BY t.started_at DESC, t.id DESC LIMIT ${RANK_CANDIDATES})
           SELECT s.*, s.rank::text AS rank_text FROM (
             SELECT ${prefixed(SELECT_COLUMNS)}, ts_rank_cd(t.search_vector, $13::tsquery)::real AS rank FROM cand JOIN transcripts t ON t.id = cand.id) s
            WHERE ${after} ORDER BY s.rank DESC, s.started_at DESC, s.id DESC LIMIT $9`,
          [...params, fq],
        ));
      }
    }
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const transcripts = page.map((r) => this.openTranscript(r));
    const snippets = await this.snippets(transcripts.map((t) => t.text), fuzzy ? "" : q);
    const hits: SearchHit[] = page.map((r, i) => {
      const t = transcripts[i];
      return {
        id: r.id as string,
        source: r.source as LibrarySource,
        ...(r.call_id != null && { callId: r.call_id as string }),
        who: contactsOf(t),
        startedAt: iso(r.started_at)!,
        ...(r.duration_sec != null && { duration: Number(r.duration_sec) }),
        ...(r.topic != null && { topic: r.topic as string }),
        ...(r.sentiment != null && { sentiment: { label: r.sentiment as string, ...(r.sentiment_score != null && { score: Number(r.sentiment_score) }) } }),
        ...(r.language != null && { language: r.language as string }),
        ...(r.engine != null && { engine: r.engine as string }),
        snippet: snippets[i],
        rank: Number(r.rank),
        ...(fuzzy && { fuzzy: true }),
      };
    });
    const last = page[page.length - 1];
    return {
      hits,
      ...(more && last && { nextCursor: encodeCursor({ r: String(last.rank_text), t: String(last.started_text), id: String(last.id), h: fingerprint, ...(fuzzy && { f: 1 }) }) }),
    };
  }

  /**
   * Snippets of decrypted texts: `ts_headline` (matches of `q` marked) when `q`, else the start of
   * the text; HTML-escaped with `<mark>…</mark>`. The texts travel as parameters and are not stored.
   */
  private async snippets(texts: string[], q: string): Promise<string[]> {
    if (!texts.length) return [];
    if (!q) return texts.map((t) => escapeHtml(t.length > 200 ? `${t.slice(0, 200)}…` : t));
    const { rows } = await this.db.query<{ h: string }>(
      `SELECT ts_headline('english', x.t, plainto_tsquery('english', $2), $3) AS h FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY x.n`,
      [texts.map((t) => t.slice(0, 100_000)), q, `StartSel=${START_SEL}, StopSel=${STOP_SEL}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`],
    );
    return rows.map((r) => escapeHtml(r.h).replaceAll(START_SEL, "<mark>").replaceAll(STOP_SEL, "</mark>"));
  }

  /**
   * Retention (CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS): delete transcripts whose call started more
   * than `days` days before `now`. @returns how many were deleted
   */
  async deleteOlderThan(days: number, now = new Date()): Promise<number> {
    const { rows } = await this.db.query("DELETE FROM transcripts WHERE started_at < $1 RETURNING id", [new Date(now.getTime() - days * 86_400_000).toISOString()]);
    return rows.length;
  }

  /**
   * Take finished calls from the `calls` table (recorded calls when done, live calls when done or
   * failed with a transcript) that the library has not taken yet (`calls.library_indexed_at`), at
   * most `limit` per run. A call is marked taken even when its transcript is already in the library
   * (the transcriber posted it) or was deleted from it, so deleting stays deleted.
   * @param openCall the call's decrypted transcript and analysis (`CallRepository.loadTranscript`, `loadAnalysis`)
   * @param onError told about a call that could not be taken (it is marked taken all the same)
   * @returns how many calls were taken
   */
  async syncFromCalls(
    openCall: (callId: string) => Promise<{ transcript?: Transcript; analysis?: Analysis }>,
    limit = 100,
    onError?: (callId: string, err: Error) => void,
  ): Promise<number> {
    const { rows } = await this.db.query<{ call_id: string; source: string; created_at: unknown }>(
      `SELECT call_id, source, created_at FROM calls
        WHERE library_indexed_at IS NULL AND transcript IS NOT NULL AND (status = 'done' OR (source = 'live' AND status = 'failed'))
        ORDER BY updated_at LIMIT $1`,
      [limit],
    );
    for (const r of rows) {
      try {
        const { transcript, analysis } = await openCall(r.call_id);
        if (transcript) {
          const t: Transcript = { ...transcript, id: { ...transcript.id, callId: transcript.id.callId ?? r.call_id }, source: r.source === "live" ? "call" : "recording" };
          await this.add(t, { analysis, startedAt: new Date(r.created_at as string) });
        }
      } catch (err) {
        // One call that cannot be taken (a transcript that does not open, or is too large to index)
        // must not block the others: it is reported and marked taken.
        onError?.(r.call_id, err as Error);
      }
      await this.db.query("UPDATE calls SET library_indexed_at = now() WHERE call_id = $1", [r.call_id]);
    }
    return rows.length;
  }

  /**
   * Fill the dashboard columns (migration 6) of up to `limit` transcripts stored before them
   * (`talk_sec` NULL), from their sealed transcripts. A transcript that does not open gets zeros
   * (it is counted, without talk time or key phrases) so it is not tried again.
   * @returns how many were filled
   */
  async backfillDashboard(limit = 200): Promise<number> {
    const { rows } = await this.db.query<{ id: string; sealed: unknown }>("SELECT id, sealed FROM transcripts WHERE talk_sec IS NULL ORDER BY started_at LIMIT $1", [limit]);
    for (const r of rows) {
      let dash = { talkSec: 0, agent: null as string | null, agentTalkSec: null as number | null, keyPhraseKeys: [] as string[] };
      try {
        dash = dashboardFields(this.openTranscript(r), this.keyPhraseKey);
      } catch {
        // a damaged envelope: zeros, see above
      }
      await this.db.query("UPDATE transcripts SET talk_sec = $2, agent = $3, agent_talk_sec = $4, key_phrase_keys = $5 WHERE id = $1", [r.id, dash.talkSec, dash.agent, dash.agentTalkSec, dash.keyPhraseKeys]);
    }
    return rows.length;
  }

  /** One transcript's decrypted `fdc3.transcript` (for the dashboard's key phrases); undefined when unknown. */
  async openById(id: string): Promise<Transcript | undefined> {
    const { rows } = await this.db.query("SELECT id, sealed FROM transcripts WHERE id = $1", [id]);
    return rows[0] ? this.openTranscript(rows[0]) : undefined;
  }

  private openTranscript(r: Record<string, unknown>): Transcript {
    return JSON.parse(this.cipher.open(toBytes(r.sealed), `library:${r.id as string}`).toString("utf8")) as Transcript;
  }

  private openSave(id: string, s: StoredSave): CrmSave {
    const { sealed, ...rest } = s;
    return { ...rest, result: JSON.parse(this.cipher.open(Buffer.from(sealed, "base64"), `library-save:${id}`).toString("utf8")) as Record<string, unknown> };
  }
}

/** A save as stored in `saves` (jsonb): the transactionResult sealed (base64 envelope). */
type StoredSave = Omit<CrmSave, "result"> & { sealed: string };

/** The key of the participant HMACs, derived from the 32-byte encryption key. */
export function participantHmacKey(encryptionKey: Uint8Array): Buffer {
  return createHmac("sha256", encryptionKey).update("callscribe library participant keys v1").digest();
}

/** The transcript with the pipeline's analysis in its optional fields (the transcript's own fields win when set). */
function withAnalysis(t: Transcript, a: Analysis | undefined): Transcript {
  if (!a) return t;
  return {
    ...t,
    summary: t.summary ?? a.summary,
    topics: t.topics ?? [a.topic],
    // perTurn ({segment, label, score} per segment) lets the Library draw the sentiment timeline
    // from the pipeline's analysis instead of scoring each turn again in the browser.
    sentiment: t.sentiment ?? { label: a.sentiment.label, score: a.sentiment.score, ...(a.sentiment.perTurn && { perTurn: a.sentiment.perTurn }) },
    keyPhrases: t.keyPhrases ?? a.keyPhrases,
    actionItems: t.actionItems ?? a.actionItems,
  };
}

const prefixed = (cols: string) =>
  cols
    .split(",")
    .map((c) => `t.${c.trim()}`)
    .join(", ");

interface Cursor {
  r: string;
  t: string;
  id: string;
  h: string;
  f?: 1;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), "utf8").toString("base64url");
}

function decodeCursor(s: string, fingerprint: string): Cursor {
  let c: Cursor;
  try {
    c = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Cursor;
  } catch {
    throw new InvalidCursorError();
  }
  const ok =
    c &&
    typeof c === "object" &&
    c.h === fingerprint &&
    typeof c.r === "string" &&
    /^-?[0-9.eE+-]{1,40}$/.test(c.r) &&
    typeof c.t === "string" &&
    /^[0-9 :.+-]{10,40}$/.test(c.t) &&
    typeof c.id === "string" &&
    /^[0-9a-f-]{36}$/.test(c.id);
  if (!ok) throw new InvalidCursorError();
  return c;
}
