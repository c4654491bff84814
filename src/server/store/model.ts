/**
 * The call record's model (DESIGN §6): what a recording-ready webhook carries, the stages a call
 * goes through and their state, the call's status and its analysis. The store keeps these; the
 * pipeline, the CRM connectors and the metrics read them from here.
 */

/** The validated body of a "recording ready" webhook. */
export interface RecordingReady {
  call_id: string;
  recording_url: string;
  participants?: { name?: string; email?: string; phone?: string; role?: "agent" | "customer" | string }[];
  direction?: "inbound" | "outbound";
  /** ISO 8601. */
  start_time?: string;
  agent?: { name?: string; email?: string; id?: string };
  /** Name of the CRM connector to deliver to; default: the configured generic connector. */
  crm?: string;
}

/** Names of the stages, in order. */
export const STAGES = ["download", "decode", "transcribe", "analyze", "deliver"] as const;
/** One of {@link STAGES}. */
export type StageName = (typeof STAGES)[number];

/** Overall call status as `GET /v1/calls/:id` reports it. */
export type CallStatus = "queued" | "downloading" | "transcribing" | "analyzing" | "delivering" | "live" | "done" | "failed";

/** Where a call came from: a recording-ready webhook, or a live stream from the telephony side (`live-calls/`). */
export type CallSource = "recording" | "live";

/** Per-stage record: status, attempt count, ISO start/end times, duration in seconds, error reason. `skipped`: not part of this call's path (a live call is neither downloaded nor delivered by the server). */
export interface StageState {
  status: "pending" | "running" | "done" | "failed" | "skipped";
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationSec?: number;
  error?: string;
}

/** Analysis of a transcript (on-premise NLP by default, optionally an OpenAI-compatible LLM). */
export interface Analysis {
  summary: string;
  topic: string;
  sentiment: { label: "positive" | "neutral" | "negative"; score: number; perTurn: { segment: number; label: "positive" | "neutral" | "negative"; score: number }[] };
  keyPhrases: string[];
  actionItems: string[];
  /** Seconds of speech per speaker label, and seconds of silence (no speaker). */
  talkTime: Record<string, number>;
  silenceSec: number;
}
