/**
 * Repository of recorded calls (table `calls`, see migrations.ts): one row per `call_id`, created
 * by the webhook intake, updated by the job runner stage by stage, read by `GET /v1/calls[/:id]`.
 * Transcripts, analyses and the call metadata that identifies people (names, phones, e-mails,
 * the recording URL: `metadata.ts`) are stored as AES-256-GCM envelopes (store/crypto.ts) with the
 * AAD `transcript:<call_id>` / `analysis:<call_id>` / `metadata:<call_id>`.
 */
import { createHash } from "node:crypto";
import type { Transcript } from "../../contracts";
import type { AtRestCipher } from "./crypto";
import { STAGES, type Analysis, type CallSource, type CallStatus, type RecordingReady, type StageName, type StageState } from "./model";
import { CallAlreadyStreamingError, type LiveCallMetadata, type LiveCallSource } from "../live-calls/types";
import type { Queryable } from "./database";
import { openMetadata, sealMetadata } from "./metadata";

/** A call as the API returns it (`GET /v1/calls/:id`); times are ISO 8601 strings. */
export interface CallView {
  call_id: string;
  /** `recording` (webhook) or `live` (streamed from the telephony side). */
  source: CallSource;
  /** Live calls: the ingress, `audiohook`, `twilio` or `listen`. */
  live_source?: LiveCallSource;
  status: CallStatus;
  /** Why the call failed (status `failed`), client-safe. */
  reason?: string;
  stages: Record<StageName, StageState>;
  /** The recording-ready webhook body: call metadata and recording URL (a live call: its metadata, no URL). */
  metadata: RecordingReady | LiveCallMetadata;
  created_at: string;
  updated_at: string;
  delivered_at?: string;
  /** When retention deleted the downloaded audio. */
  audio_deleted_at?: string;
  /** The fdc3.transcript with the analysis fields (summary, topics, sentiment, key phrases, action items) filled in; only when `status` is `done`. */
  transcript?: Transcript;
}

/** What the job runner needs of a call. */
export interface CallRunState {
  call_id: string;
  status: CallStatus;
  metadata: RecordingReady;
  stages: Record<StageName, StageState>;
  audio_path?: string;
  audio_deleted_at?: string;
  delivered_at?: string;
}

/** Namespace of {@link jobIdForCall} (a random UUID fixed for Callscribe). */
const CALL_JOB_NAMESPACE = "6f1c2a4e-8b0d-4c55-9a7e-1d3f5b2c9e80";

/**
 * The pg-boss job id of a call: a name-based UUID (RFC 9562 version 5, SHA-1) of the call_id, so
 * the same call always maps to the same job and `send(…, {id})` cannot create a second one.
 */
export function jobIdForCall(callId: string, namespace = CALL_JOB_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const h = createHash("sha1").update(ns).update(callId, "utf8").digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Every stage pending, no attempts yet. */
export function initialStages(): Record<StageName, StageState> {
  return Object.fromEntries(STAGES.map((s) => [s, { status: "pending", attempts: 0 }])) as Record<StageName, StageState>;
}

const iso = (v: unknown): string | undefined => (v == null ? undefined : new Date(v as string | Date).toISOString());
const toBytes = (v: unknown): Uint8Array => (typeof v === "string" ? Buffer.from(v.replace(/^\\x/, ""), "hex") : (v as Uint8Array));

/** The transcript with the analysis written into its optional fields. */
export function transcriptWithAnalysis(t: Transcript, a: Analysis | undefined): Transcript {
  if (!a) return t;
  return {
    ...t,
    summary: a.summary,
    topics: [a.topic],
    sentiment: { label: a.sentiment.label, score: a.sentiment.score },
    keyPhrases: a.keyPhrases,
    actionItems: a.actionItems,
  };
}

/** Repository over a database or a transaction. */
export class CallRepository {
  constructor(
    private readonly db: Queryable,
    private readonly cipher: AtRestCipher,
  ) {}

  /** The same repository inside a transaction. */
  withTransaction(tx: Queryable): CallRepository {
    return new CallRepository(tx, this.cipher);
  }

  /**
   * Insert a call in status `queued` with every stage pending. Idempotent: when the `call_id` or the
   * `webhook_id` is already stored nothing changes and `created` is false; `callId` is then the
   * stored call's id (which differs from `rr.call_id` when only the webhook id matched).
   */
  async createCall(rr: RecordingReady, webhookId?: string): Promise<{ created: boolean; callId: string; jobId: string }> {
    const jobId = jobIdForCall(rr.call_id);
    const { visible, sealed } = sealMetadata(this.cipher, rr);
    const ins = await this.db.query<{ call_id: string }>(
      `INSERT INTO calls (call_id, webhook_id, job_id, metadata, metadata_sealed, stages) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING RETURNING call_id`,
      [rr.call_id, webhookId ?? null, jobId, JSON.stringify(visible), sealed, JSON.stringify(initialStages())],
    );
    if (ins.rows.length) return { created: true, callId: rr.call_id, jobId };
    const { rows } = await this.db.query<{ call_id: string; job_id: string }>(
      "SELECT call_id, job_id FROM calls WHERE call_id = $1 OR ($2::text IS NOT NULL AND webhook_id = $2) ORDER BY (call_id = $1) DESC LIMIT 1",
      [rr.call_id, webhookId ?? null],
    );
    return { created: false, callId: rows[0]?.call_id ?? rr.call_id, jobId: rows[0]?.job_id ?? jobId };
  }

  /** One call for the API, with the decrypted transcript when done; undefined when unknown. */
  async getCall(callId: string): Promise<CallView | undefined> {
    const { rows } = await this.db.query(
      `SELECT call_id, source, live_source, status, reason, metadata, metadata_sealed, stages, created_at, updated_at, delivered_at, audio_deleted_at,
              CASE WHEN status = 'done' OR (source = 'live' AND status = 'failed') THEN transcript END AS transcript,
              CASE WHEN status = 'done' OR (source = 'live' AND status = 'failed') THEN analysis END AS analysis
         FROM calls WHERE call_id = $1`,
      [callId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const view = this.toView(row);
    if (row.transcript != null) {
      const analysis = row.analysis != null ? (this.openJson(row.analysis, `analysis:${callId}`) as Analysis) : undefined;
      view.transcript = transcriptWithAnalysis(this.openJson(row.transcript, `transcript:${callId}`) as Transcript, analysis);
    }
    return view;
  }

  /** Calls, newest first, without transcripts; `total` counts all matching calls. `limit` 1–500. */
  async listCalls(opts: { limit?: number; offset?: number; status?: CallStatus; source?: CallSource } = {}): Promise<{ calls: CallView[]; total: number }> {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 500);
    const offset = Math.max(Math.trunc(opts.offset ?? 0), 0);
    const status = opts.status ?? null;
    const source = opts.source ?? null;
    const { rows } = await this.db.query(
      `SELECT call_id, source, live_source, status, reason, metadata, metadata_sealed, stages, created_at, updated_at, delivered_at, audio_deleted_at
         FROM calls WHERE ($1::text IS NULL OR status = $1) AND ($4::text IS NULL OR source = $4) ORDER BY created_at DESC, call_id LIMIT $2 OFFSET $3`,
      [status, limit, offset, source],
    );
    const count = await this.db.query<{ n: string | number }>("SELECT count(*) AS n FROM calls WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR source = $2)", [status, source]);
    return { calls: rows.map((r) => this.toView(r)), total: Number(count.rows[0]?.n ?? 0) };
  }

  /** Counts of calls per status (for metrics). */
  async countByStatus(): Promise<Partial<Record<CallStatus, number>>> {
    const { rows } = await this.db.query<{ status: CallStatus; n: string | number }>("SELECT status, count(*) AS n FROM calls GROUP BY status");
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** What the runner needs; undefined when unknown. */
  async getRunState(callId: string): Promise<CallRunState | undefined> {
    const { rows } = await this.db.query(
      "SELECT call_id, status, metadata, metadata_sealed, stages, audio_path, audio_deleted_at, delivered_at FROM calls WHERE call_id = $1",
      [callId],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      call_id: r.call_id as string,
      status: r.status as CallStatus,
      metadata: openMetadata(this.cipher, r.call_id as string, r.metadata, r.metadata_sealed),
      stages: { ...initialStages(), ...(r.stages as Record<StageName, StageState>) },
      ...(r.audio_path != null && { audio_path: r.audio_path as string }),
      ...(r.audio_deleted_at != null && { audio_deleted_at: iso(r.audio_deleted_at) }),
      ...(r.delivered_at != null && { delivered_at: iso(r.delivered_at) }),
    };
  }

  /** Replace one stage's state. */
  async updateStage(callId: string, stage: StageName, state: StageState): Promise<void> {
    await this.db.query("UPDATE calls SET stages = jsonb_set(stages, ARRAY[$2::text], $3::jsonb, true), updated_at = now() WHERE call_id = $1", [
      callId,
      stage,
      JSON.stringify(state),
    ]);
  }

  /** Set the overall status; `reason` is kept only for `failed`. */
  async setStatus(callId: string, status: CallStatus, reason?: string): Promise<void> {
    await this.db.query("UPDATE calls SET status = $2, reason = $3, updated_at = now() WHERE call_id = $1", [
      callId,
      status,
      status === "failed" ? (reason ?? "failed") : null,
    ]);
  }

  /** Store the transcript, encrypted. */
  async saveTranscript(callId: string, transcript: Transcript): Promise<void> {
    await this.db.query("UPDATE calls SET transcript = $2, updated_at = now() WHERE call_id = $1", [callId, this.sealJson(transcript, `transcript:${callId}`)]);
  }

  /** The stored transcript (decrypted), without analysis fields; undefined when none. */
  async loadTranscript(callId: string): Promise<Transcript | undefined> {
    const { rows } = await this.db.query("SELECT transcript FROM calls WHERE call_id = $1", [callId]);
    const v = rows[0]?.transcript;
    return v == null ? undefined : (this.openJson(v, `transcript:${callId}`) as Transcript);
  }

  /** Store the analysis, encrypted. */
  async saveAnalysis(callId: string, analysis: Analysis): Promise<void> {
    await this.db.query("UPDATE calls SET analysis = $2, updated_at = now() WHERE call_id = $1", [callId, this.sealJson(analysis, `analysis:${callId}`)]);
  }

  /** The stored analysis (decrypted); undefined when none. */
  async loadAnalysis(callId: string): Promise<Analysis | undefined> {
    const { rows } = await this.db.query("SELECT analysis FROM calls WHERE call_id = $1", [callId]);
    const v = rows[0]?.analysis;
    return v == null ? undefined : (this.openJson(v, `analysis:${callId}`) as Analysis);
  }

  /** Record where the encrypted recording lies. */
  async setAudioPath(callId: string, path: string): Promise<void> {
    await this.db.query("UPDATE calls SET audio_path = $2, audio_deleted_at = NULL, updated_at = now() WHERE call_id = $1", [callId, path]);
  }

  /** Record a CRM delivery (connector name, HTTP status, record id). */
  async markDelivered(callId: string, result: Record<string, unknown>): Promise<void> {
    await this.db.query("UPDATE calls SET delivered_at = now(), crm_result = $2, updated_at = now() WHERE call_id = $1", [callId, JSON.stringify(result)]);
  }

  /** Calls whose audio is still on disk and was created before `before`: candidates for retention. */
  async listAudioCreatedBefore(before: Date, limit = 500): Promise<{ call_id: string; audio_path: string; status: CallStatus }[]> {
    const { rows } = await this.db.query<{ call_id: string; audio_path: string; status: CallStatus }>(
      `SELECT call_id, audio_path, status FROM calls
        WHERE audio_path IS NOT NULL AND audio_deleted_at IS NULL AND created_at < $1
        ORDER BY created_at LIMIT $2`,
      [before.toISOString(), limit],
    );
    return rows;
  }

  /**
   * Where a call's audio is, for playback: its source, the encrypted file's path (set once
   * downloaded) and when retention deleted it; undefined for an unknown call.
   */
  async audioOf(callId: string): Promise<{ source: CallSource; audioPath?: string; audioDeletedAt?: string } | undefined> {
    const { rows } = await this.db.query("SELECT source, audio_path, audio_deleted_at FROM calls WHERE call_id = $1", [callId]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      source: (r.source as CallSource | undefined) ?? "recording",
      ...(r.audio_path != null && { audioPath: r.audio_path as string }),
      ...(r.audio_deleted_at != null && { audioDeletedAt: iso(r.audio_deleted_at) }),
    };
  }

  /** Record that retention deleted a call's audio. */
  async markAudioDeleted(callId: string): Promise<void> {
    await this.db.query("UPDATE calls SET audio_deleted_at = now(), updated_at = now() WHERE call_id = $1", [callId]);
  }

  /**
   * Begin a live call (`LiveCallStore.beginLiveCall`): insert its row in status `live`, or take over
   * a `live` row whose heartbeat (`updated_at`) is older than `staleAfterSec` (its process died).
   * @throws CallAlreadyStreamingError when the id streams elsewhere, or the call already exists (a recording, or a live call that ended)
   */
  async beginLiveCall(callId: string, liveSource: LiveCallSource, metadata: LiveCallMetadata, staleAfterSec: number): Promise<void> {
    const { visible, sealed } = sealMetadata(this.cipher, metadata as RecordingReady);
    const stages = { ...initialStages(), download: { status: "skipped", attempts: 0 }, decode: { status: "skipped", attempts: 0 }, deliver: { status: "skipped", attempts: 0 }, transcribe: { status: "running", attempts: 1, startedAt: new Date().toISOString() } };
    const { rows } = await this.db.query<{ call_id: string }>(
      `INSERT INTO calls (call_id, job_id, status, source, live_source, metadata, metadata_sealed, stages)
            VALUES ($1, $2, 'live', 'live', $3, $4, $5, $6)
       ON CONFLICT (call_id) DO UPDATE SET live_source = EXCLUDED.live_source, metadata = EXCLUDED.metadata, metadata_sealed = EXCLUDED.metadata_sealed,
              stages = EXCLUDED.stages, reason = NULL, transcript = NULL, analysis = NULL, updated_at = now()
        WHERE calls.source = 'live' AND calls.status = 'live' AND calls.updated_at < now() - make_interval(secs => $7)
       RETURNING call_id`,
      [callId, jobIdForCall(callId), liveSource, JSON.stringify(visible), sealed, JSON.stringify(stages), staleAfterSec],
    );
    if (rows.length) return;
    const existing = await this.db.query<{ status: string; source: string }>("SELECT status, source FROM calls WHERE call_id = $1", [callId]);
    const row = existing.rows[0];
    const err = new CallAlreadyStreamingError(callId);
    if (row && (row.status !== "live" || row.source !== "live")) {
      err.message = `call ${callId} already exists (${row.source === "live" ? "a live call" : "a recorded call"}, status ${row.status}): a call id streams once`;
    }
    throw err;
  }

  /** Refresh a live call's heartbeat. */
  async heartbeatLiveCall(callId: string): Promise<void> {
    await this.db.query("UPDATE calls SET updated_at = now() WHERE call_id = $1 AND status = 'live'", [callId]);
  }

  /** Store a live call's outcome: status, reason, metadata (participants may have changed), transcript and analysis encrypted, stage times. */
  async finishLiveCall(
    callId: string,
    outcome: { status: "done" | "failed"; reason?: string; transcript: Transcript; analysis?: Analysis; metadata: LiveCallMetadata },
  ): Promise<void> {
    const { visible, sealed } = sealMetadata(this.cipher, outcome.metadata as RecordingReady);
    const now = new Date().toISOString();
    const finished = (status: StageState["status"]) => ({ status, attempts: 1, finishedAt: now });
    const { rows } = await this.db.query<{ stages: Record<string, StageState> }>("SELECT stages FROM calls WHERE call_id = $1", [callId]);
    const stages = { ...initialStages(), ...(rows[0]?.stages as Record<StageName, StageState> | undefined) };
    stages.transcribe = { ...stages.transcribe, ...finished(outcome.status === "done" ? "done" : "failed"), ...(outcome.reason && { error: outcome.reason }) };
    stages.analyze = outcome.analysis ? finished("done") : { status: "skipped", attempts: 0 };
    await this.db.query(
      `UPDATE calls SET status = $2, reason = $3, metadata = $4, metadata_sealed = $5, transcript = $6, analysis = $7, stages = $8, updated_at = now()
        WHERE call_id = $1`,
      [
        callId,
        outcome.status,
        outcome.status === "failed" ? (outcome.reason ?? "failed") : null,
        JSON.stringify(visible),
        sealed,
        this.sealJson(outcome.transcript, `transcript:${callId}`),
        outcome.analysis ? this.sealJson(outcome.analysis, `analysis:${callId}`) : null,
        JSON.stringify(stages),
      ],
    );
  }

  private sealJson(value: unknown, aad: string): Buffer {
    return this.cipher.seal(Buffer.from(JSON.stringify(value), "utf8"), aad);
  }

  private openJson(value: unknown, aad: string): unknown {
    return JSON.parse(this.cipher.open(toBytes(value), aad).toString("utf8"));
  }

  private toView(r: Record<string, unknown>): CallView {
    return {
      call_id: r.call_id as string,
      source: (r.source as CallSource | undefined) ?? "recording",
      ...(r.live_source != null && { live_source: r.live_source as LiveCallSource }),
      status: r.status as CallStatus,
      ...(r.reason != null && { reason: r.reason as string }),
      stages: { ...initialStages(), ...(r.stages as Record<StageName, StageState>) },
      metadata: openMetadata(this.cipher, r.call_id as string, r.metadata, r.metadata_sealed),
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
      ...(r.delivered_at != null && { delivered_at: iso(r.delivered_at) }),
      ...(r.audio_deleted_at != null && { audio_deleted_at: iso(r.audio_deleted_at) }),
    };
  }
}
