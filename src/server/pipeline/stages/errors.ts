/**
 * The one error type stages throw. The job runner reads `retryable` to choose between a retry
 * with backoff (network trouble, a 5xx, a timeout, an engine crash) and an immediate move to the
 * dead-letter queue (a 4xx, a host that is not allowed, corrupt audio: trying again cannot help).
 */
import type { StageName } from "./types";

/** Options for {@link StageError}. */
export interface StageErrorOptions {
  /** true: the same input may succeed later (transient); false: permanent, do not retry. */
  retryable: boolean;
  /** The stage that failed, when known. */
  stage?: StageName;
  /** The underlying error, kept for logs (never shown to callers as is). */
  cause?: unknown;
}

/**
 * A stage failed. `message` is a clear, client-safe reason (it is stored and shown by
 * `GET /v1/calls/:id`); it never contains transcript text.
 */
export class StageError extends Error {
  /** true when a retry may succeed; false for a permanent failure (goes to the dead-letter queue). */
  retryable: boolean;
  /** The stage that failed. */
  stage?: StageName;

  constructor(message: string, options: StageErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StageError";
    this.retryable = options.retryable;
    this.stage = options.stage;
  }
}

/** True for a {@link StageError} (also across module copies: checks the name and field). */
export function isStageError(err: unknown): err is StageError {
  return err instanceof StageError || (err instanceof Error && err.name === "StageError" && typeof (err as StageError).retryable === "boolean");
}

/**
 * Retry policy for HTTP status codes shared by download and delivery: 408 (request timeout),
 * 425 (too early) and 429 (too many requests) are transient like 5xx; every other 4xx is permanent.
 */
export function isRetryableHttpStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}
