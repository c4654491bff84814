/**
 * Contracts between the recorded-call pipeline's stages and the job that runs them
 * (DESIGN §1, §6): download → decode → transcribe → analyze → deliver. Each stage is its own
 * small module under `stages/`; the job runner stores each stage's status and timings and skips
 * stages already done, so a retried job does no work twice.
 */
import type { Transcript } from "../../../contracts";

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
export type CallStatus = "queued" | "downloading" | "transcribing" | "analyzing" | "delivering" | "done" | "failed";

/** Per-stage record: status, attempt count, ISO start/end times, duration in seconds, error reason. */
export interface StageState {
  status: "pending" | "running" | "done" | "failed";
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationSec?: number;
  error?: string;
}

/** Downloaded recording on local disk (inside the data dir). */
export interface DownloadResult {
  path: string;
  bytes: number;
  contentType?: string;
}

/** A recording decoded for the engine (the audio module's type): mono 16 kHz PCM16 per channel, with its source's rate, duration and format. */
export type { EngineAudio } from "../../speech/audio/engine-audio";

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

/** What the CRM receives (generic JSON connector body). `duration` like `8m12s`. */
export interface CrmPayload {
  call_id: string;
  transcript: Transcript;
  summary: string;
  topic: string;
  sentiment: Analysis["sentiment"];
  duration: string;
}

/** Port for CRMs the server delivers to. */
export interface CrmConnector {
  readonly name: string;
  /**
   * Deliver one call. Must be idempotent for the same `call_id` (send it as the idempotency key).
   * @throws an Error on failure; `retryable: false` on the error marks a permanent failure (4xx).
   */
  deliver(payload: CrmPayload): Promise<{ recordId?: string; status: number }>;
}
