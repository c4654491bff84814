/**
 * Deliver stage: the CRM body (issue 4: `call_id`, `transcript`, `summary`, `topic`, `sentiment`,
 * `duration` like `8m12s`) and its hand-off to a `CrmConnector`, with the connector's failures
 * mapped to {@link StageError}s so the job runner retries or dead-letters them.
 */
import type { Transcript } from "../../../contracts";
import { isStageError, isRetryableHttpStatus, StageError } from "./errors";
import type { Analysis, CrmConnector, CrmPayload } from "./types";

/**
 * A duration in seconds as `<minutes>m<seconds>s`, seconds rounded: 492 → `8m12s`, 59.6 → `1m0s`,
 * 3725 → `62m5s` (minutes are not folded into hours, so every value has the same shape).
 */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  return `${Math.floor(total / 60)}m${total % 60}s`;
}

/**
 * Build the CRM body. The transcript inside carries the analysis too (`summary`, `topics`,
 * `sentiment`, `keyPhrases`, `actionItems`), so it is a complete `fdc3.transcript` for an FDC3 CRM.
 * @param callId the webhook's `call_id`
 * @param transcript the transcript from the transcribe stage (its `duration` in seconds)
 * @param analysis the analyze stage's result
 */
export function buildCrmPayload(callId: string, transcript: Transcript, analysis: Analysis): CrmPayload {
  const duration = transcript.duration ?? Math.max(0, ...(transcript.segments ?? []).map((s) => s.end));
  return {
    call_id: callId,
    transcript: {
      ...transcript,
      summary: analysis.summary,
      topics: [analysis.topic],
      sentiment: { label: analysis.sentiment.label, score: analysis.sentiment.score },
      keyPhrases: analysis.keyPhrases,
      actionItems: analysis.actionItems,
    },
    summary: analysis.summary,
    topic: analysis.topic,
    sentiment: analysis.sentiment,
    duration: formatDuration(duration),
  };
}

/**
 * Deliver one call through a connector.
 * @returns the connector's answer (record id, HTTP status)
 * @throws StageError (stage `deliver`): permanent when the connector says `retryable: false` or the
 *   CRM answered a 4xx other than 408/425/429; retryable otherwise (5xx, network, timeout)
 */
export async function deliverToCrm(connector: CrmConnector, payload: CrmPayload): Promise<{ recordId?: string; status: number }> {
  try {
    return await connector.deliver(payload);
  } catch (err) {
    if (isStageError(err)) throw err;
    const e = err as { message?: string; retryable?: unknown; status?: unknown };
    const status = typeof e.status === "number" ? e.status : undefined;
    const retryable = e.retryable === false ? false : status !== undefined ? isRetryableHttpStatus(status) : true;
    throw new StageError(`delivery to CRM ${connector.name} failed: ${e.message ?? String(err)}`, { retryable, stage: "deliver", cause: err });
  }
}
