/** The port for CRMs the pipeline delivers to, and the body they receive. */
import type { Transcript } from "../../contracts";
import type { Analysis } from "../store/model";

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
