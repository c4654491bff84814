/**
 * Schema migrations of Callscribe's own tables (pg-boss migrates its own `pgboss` schema).
 * Applied in order, each once, under a transaction-scoped advisory lock so that several worker
 * processes starting together on one PostgreSQL server do not race.
 */
import type { AtRestCipher } from "./crypto";
import type { Database, Queryable } from "./database";
import { sealMetadata } from "./metadata";

/** Arbitrary constant key of the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 7_253_001;

/**
 * Ordered migrations; never edit a released one, append a new one. `sql` runs first, then `run`
 * (data changes that need code, e.g. the encryption key).
 */
const MIGRATIONS: { version: number; sql: string; run?: (tx: Queryable, cipher: AtRestCipher | undefined) => Promise<void> }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE calls (
        call_id          text PRIMARY KEY,
        webhook_id       text UNIQUE,
        -- pg-boss job id (uuid derived from call_id): one job per call, ever.
        job_id           uuid NOT NULL,
        status           text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued','downloading','transcribing','analyzing','delivering','done','failed')),
        reason           text,
        -- The validated recording-ready webhook body (call metadata and recording URL).
        metadata         jsonb NOT NULL,
        -- Record<StageName, StageState>.
        stages           jsonb NOT NULL,
        -- AES-256-GCM envelopes (pipeline/crypto.ts) of the fdc3.transcript JSON and the Analysis JSON:
        -- both hold what was said, so both are encrypted at rest.
        transcript       bytea,
        analysis         bytea,
        crm_result       jsonb,
        audio_path       text,
        audio_deleted_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        delivered_at     timestamptz
      );
      CREATE INDEX calls_created_at_idx ON calls (created_at DESC, call_id);
      CREATE INDEX calls_status_idx ON calls (status, created_at DESC);
    `,
  },
  {
    // Liveness of job-running processes (pipeline/liveness.ts): a heartbeat per process and a lease
    // per running job, so the jobs of a dead worker are retried within a minute.
    version: 2,
    sql: `
      CREATE TABLE worker_heartbeats (
        worker_id text PRIMARY KEY,
        host      text NOT NULL,
        pid       integer NOT NULL,
        beat_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE job_leases (
        job_id     uuid PRIMARY KEY,
        worker_id  text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // What identifies people (participants' names, phones and e-mails, the agent, the recording
    // URL) is encrypted at rest like transcripts (store/metadata.ts): the full webhook body goes
    // into metadata_sealed, and metadata keeps only call_id, direction, start_time and crm.
    // Existing rows are encrypted here; copies of the body in pg-boss's job data are removed
    // (the worker reads the call row).
    version: 3,
    sql: `ALTER TABLE calls ADD COLUMN metadata_sealed bytea`,
    run: encryptExistingMetadata,
  },
  {
    // Live calls (live-calls/): a call streamed from the telephony side is a row too, with
    // source 'live', status 'live' while it streams (updated_at is its heartbeat), and which
    // ingress it came through. live_call_events carries a call's events between server processes
    // (live-calls/postgres-bus.ts), encrypted like transcripts, and is emptied when the call ends.
    version: 4,
    sql: `
      ALTER TABLE calls ADD COLUMN source text NOT NULL DEFAULT 'recording' CHECK (source IN ('recording','live'));
      ALTER TABLE calls ADD COLUMN live_source text;
      ALTER TABLE calls DROP CONSTRAINT calls_status_check;
      ALTER TABLE calls ADD CONSTRAINT calls_status_check
        CHECK (status IN ('queued','downloading','transcribing','analyzing','delivering','live','done','failed'));
      CREATE INDEX calls_source_idx ON calls (source, created_at DESC);
      CREATE TABLE live_call_events (
        call_id    text NOT NULL,
        seq        integer NOT NULL,
        event      bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (call_id, seq)
      );
    `,
  },
  {
    // The transcript library (library/): every finished transcript (live call, dictation, recorded
    // call). The transcript and its analysis are sealed (AES-256-GCM, AAD `library:<id>`); what
    // search needs is kept beside them: `search_vector` (stemmed lexemes with positions, never the
    // sentences), `names` (participant names, lower case, for pg_trgm), `participant_keys` (keyed HMACs of e-mails and phones,
    // for exact filters), and the filter columns; `transcript_lexemes` is the vocabulary of all
    // transcripts (each stem once, tied to none), for pg_trgm misspellings. See library/store.ts.
    // `calls.library_indexed_at`: when the library took a finished call (library/store.ts syncFromCalls).
    version: 5,
    sql: `
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
      CREATE TABLE transcripts (
        id               uuid PRIMARY KEY,
        transcript_id    text NOT NULL UNIQUE,
        source           text NOT NULL CHECK (source IN ('call','dictation','recording')),
        call_id          text,
        started_at       timestamptz NOT NULL,
        ended_at         timestamptz,
        duration_sec     double precision,
        language         text,
        engine           text,
        model            text,
        topic            text,
        topics           text[] NOT NULL DEFAULT '{}',
        sentiment        text CHECK (sentiment IN ('positive','neutral','negative')),
        sentiment_score  double precision,
        participant_keys text[] NOT NULL DEFAULT '{}',
        names            text NOT NULL DEFAULT '',
        search_vector    tsvector NOT NULL,
        sealed           bytea NOT NULL,
        saves            jsonb NOT NULL DEFAULT '[]',
        created_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX transcripts_search_idx ON transcripts USING gin (search_vector);
      CREATE INDEX transcripts_names_trgm_idx ON transcripts USING gin (names gin_trgm_ops);
      CREATE TABLE transcript_lexemes (lexeme text PRIMARY KEY);
      CREATE INDEX transcript_lexemes_trgm_idx ON transcript_lexemes USING gin (lexeme gin_trgm_ops);
      CREATE INDEX transcripts_participants_idx ON transcripts USING gin (participant_keys);
      CREATE INDEX transcripts_started_idx ON transcripts (started_at DESC, id DESC);
      CREATE INDEX transcripts_call_idx ON transcripts (call_id) WHERE call_id IS NOT NULL;
      ALTER TABLE calls ADD COLUMN library_indexed_at timestamptz;
      CREATE INDEX calls_library_pending_idx ON calls (updated_at) WHERE library_indexed_at IS NULL AND transcript IS NOT NULL;
    `,
  },
  {
    // The library's dashboard (library/dashboard-store.ts): per transcript its talk seconds, its
    // agent (the channel-0 speaker) and the agent's talk seconds, and keyed HMACs of its key phrases
    // (counted in SQL, never stored in clear): library/dashboard-fields.ts. The values come from the
    // sealed transcript, so the backfill of rows stored before needs the library's key: the library
    // does it when it starts (`TranscriptLibrary.backfillDashboard`, rows with talk_sec NULL, indexed here).
    // The dashboard walks transcripts_started_idx for the date range and calls_status_idx for failed calls.
    version: 6,
    sql: `
      ALTER TABLE transcripts ADD COLUMN talk_sec double precision;
      ALTER TABLE transcripts ADD COLUMN agent text;
      ALTER TABLE transcripts ADD COLUMN agent_talk_sec double precision;
      ALTER TABLE transcripts ADD COLUMN key_phrase_keys text[] NOT NULL DEFAULT '{}';
      CREATE INDEX transcripts_dashboard_backfill_idx ON transcripts (started_at) WHERE talk_sec IS NULL;
    `,
  },
  {
    // Live status of calls (pipeline/events.ts, `GET /v1/calls/events`): every change of a call's
    // status or reason NOTIFYs `callscribe_calls` with `{id, status, reason?, updatedAt}`, whichever
    // process (server or worker-main.ts) made it. NOTIFY payloads are at most 8000 bytes: the
    // reason is cut to 500 characters (the full one stays in the row, GET /v1/calls/:id).
    version: 7,
    sql: `
      CREATE OR REPLACE FUNCTION callscribe_notify_call_status() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify('callscribe_calls', json_strip_nulls(json_build_object(
          'id', NEW.call_id, 'status', NEW.status, 'reason', left(NEW.reason, 500),
          'updatedAt', to_char(NEW.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text); RETURN NEW; END
      $fn$;
      CREATE TRIGGER calls_status_insert_notify AFTER INSERT ON calls
        FOR EACH ROW EXECUTE FUNCTION callscribe_notify_call_status();
      CREATE TRIGGER calls_status_update_notify AFTER UPDATE OF status, reason ON calls
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.reason IS DISTINCT FROM NEW.reason)
        EXECUTE FUNCTION callscribe_notify_call_status();
    `,
  },
];

async function encryptExistingMetadata(tx: Queryable, cipher: AtRestCipher | undefined): Promise<void> {
  const { rows } = await tx.query<{ call_id: string; metadata: Record<string, unknown> }>("SELECT call_id, metadata FROM calls WHERE metadata_sealed IS NULL");
  if (rows.length && !cipher) throw new Error("migration 3 encrypts call metadata and needs the encryption key (CALLSCRIBE_ENCRYPTION_KEY)");
  for (const r of rows) {
    const { visible, sealed } = sealMetadata(cipher!, r.metadata as never);
    await tx.query("UPDATE calls SET metadata = $2, metadata_sealed = $3 WHERE call_id = $1", [r.call_id, JSON.stringify(visible), sealed]);
  }
  for (const table of ["pgboss.job", "pgboss.archive"]) {
    const exists = await tx.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [table]);
    if (exists.rows[0]?.t) {
      await tx.query(`UPDATE ${table} SET data = data - 'recording' WHERE name IN ('recording-ready', 'recording-ready-dead') AND data ? 'recording'`);
    }
  }
}

/**
 * Apply the migrations that are missing. Safe to call from several processes at once.
 * @param cipher the at-rest cipher; needed when existing rows must be encrypted (migration 3)
 * @throws when a migration fails (nothing of it is applied)
 */
export async function migrate(db: Database, cipher?: AtRestCipher): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query("CREATE TABLE IF NOT EXISTS callscribe_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    // Each migration not recorded as applied runs, in order (not only those past the highest applied).
    const { rows } = await tx.query<{ version: number }>("SELECT version FROM callscribe_migrations");
    const applied = new Set(rows.map((r) => Number(r.version)));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      // One statement at a time: the extended protocol inside a transaction takes one per call.
      for (const stmt of m.sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) await tx.query(stmt);
      await m.run?.(tx, cipher);
      await tx.query("INSERT INTO callscribe_migrations (version) VALUES ($1)", [m.version]);
    }
  });
}
