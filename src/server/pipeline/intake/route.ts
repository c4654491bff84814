/**
 * `POST /v1/webhooks/recording-ready`: a call recorder announces a finished recording (issue 4 §1,
 * DESIGN §9). The request is checked in this order, and nothing is queued unless all pass:
 *
 * 1. intake enabled: no CALLSCRIBE_WEBHOOK_SECRET → 503 (never accept unsigned calls);
 * 2. `content-type: application/json` (415 otherwise) and at most `bodyLimit` bytes (413);
 * 3. Standard Webhooks signature over the raw body: `webhook-id`, `webhook-timestamp`,
 *    `webhook-signature` (HMAC-SHA256 of `id.timestamp.body`), 5-minute tolerance → 401 with the reason;
 * 4. JSON, and ajv validation against `recording-ready.schema.json` → 400 naming the field;
 * 5. durable enqueue, idempotent on `webhook-id` and `call_id`: new → 202 `{call_id, status: "queued"}`,
 *    seen before → 200 `{call_id, duplicate: true}` and no second job. When the queue is far behind
 *    (`backlog` says so: CALLSCRIBE_QUEUE_ALERT_DEPTH) the 202 adds `behind: true` and `waiting`,
 *    and a warning is logged; the call is still accepted.
 *
 * Errors answer the server's one shape (`../../errors.ts`): `{err_code, err_msg, request_id}`, with
 * `field` naming the body field at fault; `err_code` is a stable code. Logs carry the webhook id,
 * call id and outcome, never the body.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { WebhookSignatureError, verifyWebhook } from "../../webhooks/signing";
import { errorBody, errorHandler } from "../../errors";
import type { PipelineMetrics } from "../../observability/metrics";
import type { RecordingReady } from "../../store/model";
import { validateRecordingReady } from "./schema";

/** Route path. */
export const RECORDING_READY_PATH = "/v1/webhooks/recording-ready";

/** Durable enqueue, as `enqueueRecording(handle, recordingReady, webhookId)` in `../queue.ts` bound to its handle. */
export type EnqueueRecording = (recording: RecordingReady, webhookId: string) => Promise<{ created: boolean; callId: string }>;

/** Options of {@link intakePlugin}. */
export interface IntakePluginOptions {
  /** `whsec_…` secret (PipelineConfig.webhookSecret); undefined: the route answers 503. */
  webhookSecret?: string;
  /** Queue the job; must be idempotent on webhook id and call id. */
  enqueue: EnqueueRecording;
  /** Largest body, bytes. Default 64 KiB. */
  bodyLimit?: number;
  /** How far behind the queue is (the pipeline's `backlog`); unset: never reported. */
  backlog?: () => Promise<{ waiting: number; alertDepth: number; behind: boolean }>;
  /** Counts accepted / duplicate / rejected webhooks. */
  metrics?: Pick<PipelineMetrics, "countWebhook">;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * false: the server-wide API-key check does not apply (the route authenticates otherwise,
     * e.g. by webhook signature). See `app.ts`'s onRequest hook.
     */
    apiKeyAuth?: boolean;
  }
}

const HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

/** Client-facing reason and metric class of a verification failure. */
function signatureFailure(err: unknown): { status: number; reason: string; kind: string } {
  if (err instanceof WebhookSignatureError) {
    switch (err.reason) {
      case "stale":
        return { status: 401, reason: `stale webhook-timestamp: ${err.message}`, kind: "stale" };
      case "bad-timestamp":
        return { status: 401, reason: `invalid webhook-timestamp: ${err.message}`, kind: "bad_timestamp" };
      case "missing-headers":
        return { status: 401, reason: err.message, kind: "missing_header" };
      case "bad-secret":
        // Config validates the secret at boot, so this is the server's fault, not the sender's.
        return { status: 503, reason: "webhook intake is misconfigured on the server", kind: "bad_secret" };
      default:
        return { status: 401, reason: `invalid webhook-signature: ${err.message}`, kind: "bad_signature" };
    }
  }
  return { status: 401, reason: "invalid webhook-signature", kind: "bad_signature" };
}

/** Fastify plugin: the intake route. Register with `app.register(intakePlugin, {webhookSecret, enqueue, metrics})`. */
export const intakePlugin: FastifyPluginAsync<IntakePluginOptions> = async (app, options) => {
  const { webhookSecret, enqueue, metrics, backlog } = options;
  const bodyLimit = options.bodyLimit ?? 64 * 1024;

  const reject = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, reason: string, kind: string, field?: string) => {
    metrics?.countWebhook("rejected", kind);
    return reply.code(status).send(errorBody(request, code, reason, { field }));
  };

  // Keep the raw text: the signature covers the exact bytes, so parsing happens after verification.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit }, (_req, body, done) => done(null, body));

  // Errors raised before the handler (body too large, wrong content type, aborted upload) are
  // counted here and answered by the server's one handler.
  app.addHook("onError", async (request, _reply, err: FastifyError) => {
    const status = err.statusCode ?? 500;
    const kind = status === 413 ? "too_large" : status === 415 ? "media_type" : status >= 500 ? "internal" : "bad_request";
    if (status >= 500) request.log.error({ err, webhookId: request.headers["webhook-id"] }, "webhook intake failed");
    metrics?.countWebhook("rejected", kind);
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.statusCode === 413) err.message = `the body is larger than ${bodyLimit} bytes`;
    else if (err.statusCode === 415) err.message = "the body must be application/json";
    return errorHandler(err, request, reply);
  });

  app.post(
    RECORDING_READY_PATH,
    {
      config: { apiKeyAuth: false },
      // Answer 503 before reading the body when intake is not configured.
      onRequest: async (request, reply) => {
        if (webhookSecret) return;
        request.log.warn("webhook refused: CALLSCRIBE_WEBHOOK_SECRET is not set");
        return reject(request, reply, 503, "INTAKE_DISABLED", "webhook intake is disabled: CALLSCRIBE_WEBHOOK_SECRET is not set on the server", "no_secret");
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const raw = typeof request.body === "string" ? request.body : "";
      for (const name of HEADERS) {
        const value = request.headers[name];
        if (typeof value !== "string" || value.length === 0) {
          return reject(request, reply, 401, "INVALID_SIGNATURE", `missing ${name} header`, "missing_header");
        }
      }
      const webhookId = request.headers["webhook-id"] as string;
      if (webhookId.length > 256) return reject(request, reply, 400, "BAD_REQUEST", "webhook-id header is longer than 256 characters", "bad_header");
      try {
        verifyWebhook(webhookSecret!, request.headers, raw);
      } catch (err) {
        const { status, reason, kind } = signatureFailure(err);
        request.log.info({ webhookId, kind }, "webhook refused: signature check failed");
        return reject(request, reply, status, status === 401 ? "INVALID_SIGNATURE" : "INTAKE_UNAVAILABLE", reason, kind);
      }

      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return reject(request, reply, 400, "INVALID_BODY", "the body is not valid JSON", "invalid_json");
      }
      const checked = validateRecordingReady(body);
      if (!checked.valid) {
        request.log.info({ webhookId, field: checked.field }, "webhook refused: invalid body");
        return reject(request, reply, 400, "INVALID_BODY", checked.error, "invalid_body", checked.field);
      }

      const { created, callId } = await enqueue(checked.value, webhookId);
      if (!created) {
        metrics?.countWebhook("duplicate");
        request.log.info({ webhookId, callId }, "webhook duplicate: no new job");
        return reply.code(200).send({ call_id: callId, duplicate: true });
      }
      metrics?.countWebhook("accepted");
      request.log.info({ webhookId, callId }, "recording queued");
      const queue = await backlog?.().catch(() => undefined);
      if (queue?.behind) {
        request.log.warn({ waiting: queue.waiting, alertDepth: queue.alertDepth }, "recording queue is far behind");
        return reply.code(202).send({ call_id: callId, status: "queued", behind: true, waiting: queue.waiting });
      }
      return reply.code(202).send({ call_id: callId, status: "queued" });
    },
  );
};
