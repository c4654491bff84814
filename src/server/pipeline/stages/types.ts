/**
 * Contracts between the recorded-call pipeline's stages and the job that runs them
 * (DESIGN §1, §6): download → decode → transcribe → analyze → deliver. Each stage is its own
 * small module under `stages/`; the job runner stores each stage's status and timings and skips
 * stages already done, so a retried job does no work twice. The call record's types live in the
 * store's model (`../../store/model.ts`) and the CRM port in `../../crm/connector.ts`; they are
 * re-exported here for the stages.
 */
export { STAGES, type RecordingReady, type StageName, type CallStatus, type StageState, type Analysis } from "../../store/model";
export type { CrmPayload, CrmConnector } from "../../crm/connector";

/** Downloaded recording on local disk (inside the data dir). */
export interface DownloadResult {
  path: string;
  bytes: number;
  contentType?: string;
}

/** A recording decoded for the engine (the audio module's type): mono 16 kHz PCM16 per channel, with its source's rate, duration and format. */
export type { EngineAudio } from "../../speech/audio/engine-audio";
