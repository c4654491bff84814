/**
 * The generic CRM connector: POSTs the call as JSON to a URL, signed like our own webhooks
 * (Standard Webhooks, see `../webhooks/signing.ts`), so the receiver verifies it with the same secret.
 *
 * Idempotency: `webhook-id` is derived from the call id ({@link deliveryIdFor}), the same on
 * every retry, so a CRM that remembers ids makes a repeated delivery a no-op (the Standard
 * Webhooks convention). The response body may carry the record id as `id`, `recordId` or `record_id`.
 */
import { createHash } from "node:crypto";
import type { CrmConnector, CrmPayload } from "./connector";
import { signWebhook } from "../webhooks/signing";

/** Settings of {@link GenericJsonConnector}. */
export interface GenericJsonConnectorOptions {
  /** The CRM endpoint (http or https). */
  url: string;
  /** `whsec_…` base64 secret shared with the CRM. */
  secret: string;
  /** Request time limit in milliseconds (default 15 000). */
  timeoutMs?: number;
  /** Connector name (default `generic-json`). */
  name?: string;
}

/**
 * A delivery failed. `status` is the HTTP status when the CRM answered; `retryable` is false for
 * a 4xx other than 408/425/429 (the CRM refused this body: retrying will not help).
 */
export class CrmDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CrmDeliveryError";
  }
}

/** The stable `webhook-id` of the delivery of one call: `msg_` + 32 hex chars of SHA-256(call_id). */
export function deliveryIdFor(callId: string): string {
  return `msg_${createHash("sha256").update(`callscribe-delivery:${callId}`).digest("hex").slice(0, 32)}`;
}

const retryableStatus = (s: number) => s >= 500 || s === 408 || s === 425 || s === 429;

/** POST the payload as signed JSON. */
export class GenericJsonConnector implements CrmConnector {
  readonly name: string;
  private readonly url: URL;

  /** @throws Error when `url` is not an http(s) URL or the secret is empty */
  constructor(private readonly options: GenericJsonConnectorOptions) {
    this.name = options.name ?? "generic-json";
    this.url = new URL(options.url);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") throw new Error(`CRM url must be http or https, got ${this.url.protocol}`);
    if (!options.secret) throw new Error("CRM connector needs a webhook secret");
  }

  /**
   * Deliver one call.
   * @returns the CRM's HTTP status and its record id when the body names one
   * @throws CrmDeliveryError: retryable for network errors, timeouts, 5xx, 408/425/429; permanent for other 4xx
   */
  async deliver(payload: CrmPayload): Promise<{ recordId?: string; status: number }> {
    const body = JSON.stringify(payload);
    const headers = signWebhook(this.options.secret, deliveryIdFor(payload.call_id), new Date(), body);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers, "idempotency-key": headers["webhook-id"] },
        body,
        redirect: "error",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      const timedOut = (err as Error).name === "TimeoutError";
      throw new CrmDeliveryError(timedOut ? "CRM did not answer in time" : `CRM unreachable: ${(err as Error).message}`, true, undefined, { cause: err });
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      throw new CrmDeliveryError(`CRM answered HTTP ${response.status}`, retryableStatus(response.status), response.status);
    }
    let recordId: string | undefined;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const id = parsed.recordId ?? parsed.record_id ?? parsed.id;
      if (typeof id === "string" || typeof id === "number") recordId = String(id);
    } catch {
      // A CRM may answer 2xx with an empty or non-JSON body: delivered, no record id.
    }
    return { ...(recordId ? { recordId } : {}), status: response.status };
  }
}
