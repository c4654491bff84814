/**
 * The `recording-ready` job handler: runs download → decode → transcribe → analyze → deliver for
 * one call, storing each stage's state (status, attempts, times, error) and the call's status as
 * it goes. Stages already `done` are skipped, so a job that is delivered again (a retry, or after
 * a worker was killed) resumes where it stopped. What later stages need survives a crash: the
 * recording (encrypted on disk), the transcript and the analysis (encrypted in the database); the
 * decoded audio is never held whole: the decode stage checks the recording, the transcribe stage
 * decodes it again chunk by chunk into the engine (memory does not grow with the duration).
 */
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Transcript } from "../../contracts";
import type { ChunkedEngineAudio } from "../speech/audio/engine-audio";
import type { SpeechEngine } from "../speech/engines/engine";
import type { CallRunState } from "../store/calls";
import { isDiskFull } from "../store/disk-full";
import type { PipelineConfig } from "../config";
import { DecryptionError, encryptFileInPlace, readEncryptedFile, type AtRestCipher } from "../store/crypto";
import type { JobQueue, RecordingJobData } from "./queue";
import { isStageError, StageError } from "./stages/errors";
import {
  STAGES,
  type Analysis,
  type CallStatus,
  type CrmConnector,
  type CrmPayload,
  type DownloadResult,
  type RecordingReady,
  type StageName,
  type StageState,
} from "./stages/types";

/** The stage functions the runner calls (the real ones: {@link loadDefaultStages}). */
export interface PipelineStages {
  downloadRecording(url: string, destPath: string, opts: { allowedHosts: string[]; allowedAddresses?: string[]; maxBytes: number; timeoutMs: number; signal?: AbortSignal }): Promise<DownloadResult>;
  /**
   * Check the recording without keeping its samples and return it ready for chunked decoding.
   * Permanent StageError for undecodable audio, a sample rate outside 8–48 kHz, or more than `maxAudioSeconds`.
   */
  openRecording(bytes: Uint8Array, options?: { maxAudioSeconds?: number }): Promise<ChunkedEngineAudio>;
  transcribeRecording(engine: SpeechEngine, audio: ChunkedEngineAudio, meta: RecordingReady): Promise<Transcript>;
  analyzeTranscript(transcript: Transcript, opts: { taxonomy: string[]; llm?: { baseUrl: string; apiKey?: string; model: string } }): Promise<Analysis>;
  buildCrmPayload(callId: string, transcript: Transcript, analysis: Analysis): CrmPayload;
  /** Deliver through a connector; throws StageError (retryable for 5xx/network, permanent for 4xx). */
  deliverToCrm(connector: CrmConnector, payload: CrmPayload): Promise<{ recordId?: string; status: number }>;
}

/** The real stage modules of `stages/`. */
export async function loadDefaultStages(): Promise<PipelineStages> {
  const [download, decode, transcribe, analyze, deliver] = await Promise.all([
    import("./stages/download"),
    import("./stages/decode"),
    import("./stages/transcribe"),
    import("./stages/analyze"),
    import("./stages/deliver"),
  ]);
  return {
    downloadRecording: download.downloadRecording,
    openRecording: decode.openRecording,
    transcribeRecording: transcribe.transcribeRecording,
    analyzeTranscript: analyze.analyzeTranscript,
    buildCrmPayload: deliver.buildCrmPayload,
    deliverToCrm: deliver.deliverToCrm,
  };
}

/** Structured log sink (pino-compatible subset). Never receives transcript text. */
export interface PipelineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Hooks for metrics. `durationSec` in seconds. */
export interface PipelineObserver {
  stageStarted?(stage: StageName, callId: string): void;
  /** `failure` is given for a failed attempt: whether it will be retried. */
  stageFinished?(stage: StageName, outcome: "done" | "failed", durationSec: number, failure?: { retryable: boolean }): void;
  callFinished?(outcome: "done" | "failed"): void;
}

/** Everything the handler needs. */
export interface RunnerDeps {
  queue: JobQueue;
  cipher: AtRestCipher;
  engine: SpeechEngine;
  config: Pick<PipelineConfig, "dataDir" | "allowedHosts" | "allowedAddresses" | "maxRecordingBytes" | "downloadTimeoutMs" | "topics" | "llm" | "audioRetentionDays" | "maxAudioSeconds">;
  stages: PipelineStages;
  /** CRM connectors by name; `RecordingReady.crm` picks one, else `defaultConnector`. */
  connectors: Map<string, CrmConnector>;
  defaultConnector?: string;
  logger?: PipelineLogger;
  observer?: PipelineObserver;
}

/** The part of a pg-boss job (fetched with `includeMetadata: true`) the handler reads. */
export interface RecordingJob {
  id: string;
  data: RecordingJobData;
  /** Attempts before this one. */
  retryCount: number;
  retryLimit: number;
}

const STATUS_OF_STAGE: Record<StageName, CallStatus> = {
  download: "downloading",
  decode: "transcribing",
  transcribe: "transcribing",
  analyze: "analyzing",
  deliver: "delivering",
};

/** Where a call's encrypted recording lies. */
export function recordingPath(dataDir: string, jobId: string): string {
  return join(dataDir, "recordings", `${jobId}.enc`);
}

/** AAD of a call's encrypted recording. */
export const audioAad = (callId: string) => `audio:${callId}`;

/** A failure's reason and whether a retry may help. Errors without a `retryable` flag count as transient. */
function classify(err: unknown): { retryable: boolean; message: string } {
  if (isStageError(err)) return { retryable: err.retryable, message: err.message };
  if (err instanceof DecryptionError) return { retryable: false, message: `stored data cannot be decrypted: ${err.message}` };
  const e = err as { retryable?: unknown; message?: unknown };
  return { retryable: e?.retryable !== false, message: typeof e?.message === "string" ? e.message : String(err) };
}

/**
 * Run (or resume) one call. Resolves when the call is `done` (or was already). Rejects with the
 * stage's error when a stage fails: for a retryable error pg-boss retries the job with backoff;
 * for a permanent one the job is first marked to fail now ({@link JobQueue.failNow}), so it goes
 * straight to the dead-letter queue. The call's status becomes `failed` (with the reason) when no
 * attempt is left.
 * @param signal aborted when the job's time is up (passed to the download)
 */
export async function runCall(deps: RunnerDeps, job: RecordingJob, signal?: AbortSignal): Promise<{ status: CallStatus }> {
  const { queue, logger } = deps;
  const calls = queue.calls;
  const callId = job.data.call_id;
  const state = await calls.getRunState(callId);
  if (!state) {
    await queue.failNow(job.id);
    throw new StageError(`unknown call ${callId}`, { retryable: false });
  }
  if (state.status === "done") return { status: "done" };
  logger?.info({ call_id: callId, job_id: job.id, attempt: job.retryCount + 1 }, "call started");

  // The recording lies on the disk of the worker that downloaded it. A worker on another machine
  // resuming this call (the first one died) downloads it again, unless retention deleted it.
  const needsAudio = state.stages.decode.status !== "done" || state.stages.transcribe.status !== "done";
  if (state.stages.download.status === "done" && needsAudio && !state.audio_deleted_at && !(state.audio_path && existsSync(state.audio_path))) {
    state.stages.download = { ...state.stages.download, status: "pending" };
  }

  const ctx = new CallContext(deps, job, state, signal);
  for (const stage of STAGES) {
    if (state.stages[stage].status === "done") continue;
    const prev = state.stages[stage];
    const started = new Date();
    const running: StageState = { status: "running", attempts: prev.attempts + 1, startedAt: started.toISOString() };
    state.stages[stage] = running;
    await calls.setStatus(callId, STATUS_OF_STAGE[stage]);
    await calls.updateStage(callId, stage, running);
    deps.observer?.stageStarted?.(stage, callId);
    logger?.info({ call_id: callId, job_id: job.id, stage, attempt: running.attempts }, "stage started");
    try {
      await ctx.run(stage);
    } catch (err) {
      const { retryable, message } = classify(err);
      const durationSec = (Date.now() - started.getTime()) / 1000;
      await calls.updateStage(callId, stage, { ...running, status: "failed", finishedAt: new Date().toISOString(), durationSec, error: message });
      const final = !retryable || job.retryCount >= job.retryLimit;
      deps.observer?.stageFinished?.(stage, "failed", durationSec, { retryable: !final });
      logger?.warn({ call_id: callId, job_id: job.id, stage, retryable, final, attempt: job.retryCount + 1, reason: message }, "stage failed");
      if (final) {
        await calls.setStatus(callId, "failed", `${stage}: ${message}`);
        deps.observer?.callFinished?.("failed");
      }
      if (!retryable) await queue.failNow(job.id);
      throw err instanceof Error ? err : new StageError(message, { retryable, stage });
    }
    const finished = new Date();
    const durationSec = (finished.getTime() - started.getTime()) / 1000;
    const done: StageState = { ...running, status: "done", finishedAt: finished.toISOString(), durationSec };
    state.stages[stage] = done;
    await calls.updateStage(callId, stage, done);
    deps.observer?.stageFinished?.(stage, "done", durationSec);
  }
  await calls.setStatus(callId, "done");
  deps.observer?.callFinished?.("done");
  logger?.info({ call_id: callId, job_id: job.id }, "call done");
  if (deps.config.audioRetentionDays === 0 && state.audio_path) {
    // Retention 0 days: keep no audio once the call is done.
    await rm(state.audio_path, { force: true });
    await calls.markAudioDeleted(callId);
  }
  return { status: "done" };
}

/** One run of one call: stage bodies, with the intermediate results they pass on. */
class CallContext {
  private decoded?: ChunkedEngineAudio;
  private transcript?: Transcript;
  private analysis?: Analysis;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly job: RecordingJob,
    private readonly state: CallRunState,
    private readonly signal?: AbortSignal,
  ) {}

  private get callId() {
    return this.state.call_id;
  }

  async run(stage: StageName): Promise<void> {
    switch (stage) {
      case "download":
        return this.download();
      case "decode":
        await this.audio();
        return;
      case "transcribe": {
        const t = await this.deps.stages.transcribeRecording(this.deps.engine, await this.audio(), this.state.metadata);
        await this.deps.queue.calls.saveTranscript(this.callId, t);
        this.transcript = t;
        return;
      }
      case "analyze": {
        const { topics, llm } = this.deps.config;
        const a = await this.deps.stages.analyzeTranscript(await this.storedTranscript(), { taxonomy: topics, ...(llm && { llm }) });
        await this.deps.queue.calls.saveAnalysis(this.callId, a);
        this.analysis = a;
        return;
      }
      case "deliver":
        return this.deliver();
    }
  }

  private async download(): Promise<void> {
    const { config, stages, cipher, queue } = this.deps;
    const dest = recordingPath(config.dataDir, this.job.id);
    const part = `${dest.slice(0, -".enc".length)}.download`;
    await mkdir(join(config.dataDir, "recordings"), { recursive: true });
    try {
      const res = await stages.downloadRecording(this.state.metadata.recording_url, part, {
        allowedHosts: config.allowedHosts,
        allowedAddresses: config.allowedAddresses,
        maxBytes: config.maxRecordingBytes,
        timeoutMs: config.downloadTimeoutMs,
        ...(this.signal && { signal: this.signal }),
      });
      // Encrypt at rest right away; the plaintext is removed.
      try {
        await encryptFileInPlace(cipher, res.path, dest, audioAad(this.callId));
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        throw new StageError(`the disk is full (no space left on device) writing ${dirname(dest)}`, { retryable: true, stage: "download", cause: err });
      }
    } finally {
      await rm(part, { force: true });
    }
    await queue.calls.setAudioPath(this.callId, dest);
    this.state.audio_path = dest;
    delete this.state.audio_deleted_at;
  }

  /**
   * The recording, checked and ready to be decoded chunk by chunk (the transcribe stage decodes it
   * into the engine, so memory does not grow with the duration); checked again from the encrypted
   * file after a restart. Holds the decrypted file (at most `maxRecordingBytes`), never its samples.
   */
  private async audio(): Promise<ChunkedEngineAudio> {
    if (this.decoded) return this.decoded;
    const path = this.state.audio_path;
    if (!path || this.state.audio_deleted_at) {
      throw new StageError("the recording is no longer stored (deleted by the retention period)", { retryable: false, stage: "decode" });
    }
    let bytes: Buffer;
    try {
      bytes = await readEncryptedFile(this.deps.cipher, path, audioAad(this.callId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new StageError("the downloaded recording is missing from the data dir", { retryable: false, stage: "decode", cause: err });
      }
      throw err;
    }
    const { maxAudioSeconds } = this.deps.config;
    this.decoded = await this.deps.stages.openRecording(bytes, maxAudioSeconds === undefined ? {} : { maxAudioSeconds });
    return this.decoded;
  }

  private async storedTranscript(): Promise<Transcript> {
    this.transcript ??= await this.deps.queue.calls.loadTranscript(this.callId);
    if (!this.transcript) throw new StageError("no stored transcript", { retryable: false, stage: "analyze" });
    return this.transcript;
  }

  private async deliver(): Promise<void> {
    const { connectors, defaultConnector, stages, queue } = this.deps;
    if (this.state.delivered_at) return;
    const name = this.state.metadata.crm ?? defaultConnector;
    if (name === undefined) {
      // No CRM configured: the call is still listed for the desktop (SaveTranscript), nothing to send.
      await queue.calls.markDelivered(this.callId, { connector: null, skipped: "no CRM connector configured" });
      return;
    }
    const connector = connectors.get(name);
    if (!connector) throw new StageError(`unknown CRM connector "${name}"`, { retryable: false, stage: "deliver" });
    this.analysis ??= await queue.calls.loadAnalysis(this.callId);
    if (!this.analysis) throw new StageError("no stored analysis", { retryable: false, stage: "deliver" });
    const payload = stages.buildCrmPayload(this.callId, await this.storedTranscript(), this.analysis);
    const res = await stages.deliverToCrm(connector, payload);
    await queue.calls.markDelivered(this.callId, { connector: connector.name, status: res.status, ...(res.recordId && { recordId: res.recordId }) });
  }
}
