/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, the spec DESIGN §9 follows), for
 * the webhooks we receive (recording ready) and the ones we send (CRM delivery), through the
 * maintained `standardwebhooks` package.
 *
 * - Headers: `webhook-id` (unique message id, doubles as the idempotency key), `webhook-timestamp`
 *   (Unix seconds), `webhook-signature` (`v1,<base64 HMAC>`; several may be space-separated).
 * - Signature: HMAC-SHA256 with the secret's key over `${id}.${timestamp}.${body}` (the raw body bytes
 *   as sent), base64.
 * - Secret: `whsec_` followed by the base64 key (the prefix is optional on input).
 * - Tolerance: a timestamp more than 5 minutes ({@link TOLERANCE_SECONDS}) away from now is refused
 *   (replay protection).
 */
import { randomBytes } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/** How far a `webhook-timestamp` may be from now, in seconds (the spec's and the package's 5 minutes). */
export const TOLERANCE_SECONDS = 5 * 60;

/** The three Standard Webhooks headers. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** Why a webhook was refused. */
export type WebhookRejection = "missing-headers" | "bad-timestamp" | "stale" | "bad-signature" | "bad-secret";

/** A webhook failed verification; `reason` is machine-readable, `message` is a clear sentence for a 401 body. */
export class WebhookSignatureError extends Error {
  constructor(
    readonly reason: WebhookRejection,
    message: string,
  ) {
    super(message);
    this.name = "WebhookSignatureError";
  }
}

const SECRET = /^(whsec_)?[A-Za-z0-9+/]+={0,2}$/;

function webhookFor(secret: string): Webhook {
  if (!SECRET.test(secret)) throw new WebhookSignatureError("bad-secret", "webhook secret must be whsec_ followed by base64");
  try {
    return new Webhook(secret);
  } catch (err) {
    throw new WebhookSignatureError("bad-secret", `webhook secret is invalid: ${(err as Error).message}`);
  }
}

/** A new random secret, `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/**
 * Sign a body.
 * @param secret `whsec_…` base64 secret
 * @param id the message id (`webhook-id`); reuse it for retries of the same message
 * @param timestamp when the message is sent: a Date, or Unix seconds
 * @param body the exact body bytes that will be sent (a string or a Buffer; UTF-8)
 * @returns the three headers to send
 * @throws WebhookSignatureError (`bad-secret`) for a malformed secret
 */
export function signWebhook(secret: string, id: string, timestamp: Date | number, body: string | Uint8Array): WebhookHeaders {
  const when = typeof timestamp === "number" ? new Date(timestamp * 1000) : timestamp;
  const payload = typeof body === "string" ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  const signature = webhookFor(secret).sign(id, when, payload);
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(when.getTime() / 1000)), "webhook-signature": signature };
}

/** Request headers in any common shape: Node's `IncomingHttpHeaders`, a plain record, {@link WebhookHeaders} or a Fetch `Headers`. */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>> | WebhookHeaders | Headers;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Readonly<Record<string, string | string[] | undefined>>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value.join(" ") : value;
}

/**
 * Verify a received webhook against its raw body.
 * @param secret `whsec_…` base64 secret
 * @param headers request headers (Node's `IncomingHttpHeaders`, a plain record or a Fetch `Headers`); names are case-insensitive
 * @param rawBody the body exactly as received (do not re-serialise parsed JSON)
 * @returns the verified `webhook-id` and timestamp (Unix seconds)
 * @throws WebhookSignatureError with `reason`: `missing-headers`, `bad-timestamp`, `stale` (outside
 *   the 5-minute tolerance, either direction), `bad-signature` or `bad-secret`
 */
export function verifyWebhook(secret: string, headers: HeaderBag, rawBody: string | Uint8Array): { id: string; timestamp: number } {
  const id = headerValue(headers, "webhook-id");
  const timestamp = headerValue(headers, "webhook-timestamp");
  const signature = headerValue(headers, "webhook-signature");
  if (!id || !timestamp || !signature) {
    throw new WebhookSignatureError("missing-headers", "missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookSignatureError("bad-timestamp", "webhook-timestamp must be Unix seconds");
  const body = typeof rawBody === "string" ? rawBody : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  try {
    webhookFor(secret).verify(body, { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature }, { jsonParse: false });
  } catch (err) {
    if (err instanceof WebhookSignatureError) throw err;
    if (err instanceof WebhookVerificationError) {
      const message = err.message;
      if (/too old|too new/i.test(message)) {
        throw new WebhookSignatureError("stale", `webhook-timestamp is outside the ${TOLERANCE_SECONDS / 60}-minute tolerance`);
      }
      if (/Invalid Signature Headers/i.test(message)) throw new WebhookSignatureError("bad-timestamp", "webhook-timestamp is not a number");
      throw new WebhookSignatureError("bad-signature", "webhook-signature does not match the body");
    }
    throw new WebhookSignatureError("bad-signature", `cannot verify webhook-signature: ${(err as Error).message}`);
  }
  return { id, timestamp: Number(timestamp) };
}
