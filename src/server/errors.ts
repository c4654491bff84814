/**
 * One error-body shape and one error handler for the whole server. The shape is Deepgram's (the
 * wire protocol of `/v1/listen`, which its SDK parses): `{err_code, err_msg, request_id}`, with
 * `parameter` naming a query parameter at fault and `field` naming a body field at fault (a
 * superset Deepgram clients ignore). `err_code` is a stable UPPER_SNAKE code, `err_msg` says what
 * to do; 5xx never carry internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { ErrorBody } from "./speech/protocol";

/** The server's error body: Deepgram's, plus `field` for a body field at fault. */
export interface ServerErrorBody extends ErrorBody {
  /** The body field at fault (JSON pointer-ish name, e.g. `agent.email`), when one is. */
  field?: string;
}

/**
 * Build an error body.
 * @param details the query parameter at fault (a string), or `{parameter?, field?}`
 */
export function errorBody(request: FastifyRequest, err_code: string, err_msg: string, details?: string | { parameter?: string; field?: string }): ServerErrorBody {
  const d = typeof details === "string" ? { parameter: details } : (details ?? {});
  return { err_code, err_msg, request_id: String(request.id), ...(d.parameter ? { parameter: d.parameter } : {}), ...(d.field ? { field: d.field } : {}) };
}

/** Codes for errors Fastify raises before a handler runs (body limits, content types, schemas). */
function codeOf(err: FastifyError, status: number): string {
  if (status >= 500) return "INTERNAL_SERVER_ERROR";
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  if (err.validation) return err.validationContext === "querystring" ? "INVALID_QUERY_PARAMETER" : "BAD_REQUEST";
  return err.code && /^[A-Z][A-Z0-9_]*$/.test(err.code) && !err.code.startsWith("FST_") ? err.code : "BAD_REQUEST";
}

/**
 * The server's error handler (`app.setErrorHandler(errorHandler)` in `app.ts`): 4xx with the
 * error's message and a stable code, 5xx logged and answered without details.
 */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) request.log.error({ err }, "request failed");
  else request.log.info({ code: err.code, status }, "request refused");
  const message = status >= 500 ? "Internal server error; retry later." : err.message;
  return reply.code(status).send(errorBody(request, codeOf(err, status), message));
}

/** The server's 404 (`app.setNotFoundHandler(notFoundHandler)`). */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody(request, "NOT_FOUND", `No route ${request.method} ${request.url.split("?")[0].slice(0, 200)}.`));
}
