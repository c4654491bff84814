/**
 * The calls API (issue 4 §6): `GET /v1/calls/:id` — status (queued, downloading, transcribing,
 * analyzing, delivering, done, failed with the reason; a live call: live, then done or failed), each
 * stage's status and timings, and when done the `fdc3.transcript`; `GET /v1/calls?limit&offset&status&source`
 * — a page of calls, newest first, without transcripts (fetch one call for its transcript); `source`
 * is `recording` (webhook) or `live` (streamed from the telephony side, `live-calls/`).
 *
 * Auth: the API key (`Authorization: Token|Bearer <key>`) or a `library` token (the desktop's
 * Library and recordings panel read calls with it), decided by the server's request guard
 * (`request-guard.ts`) on the matched route; `listen` tokens are refused. On an
 * app without that guard (tests), give `apiKey` and the plugin checks it itself. Errors answer the
 * server's one shape, `{err_code, err_msg, request_id}` (`../errors.ts`).
 * The store is injected (`getCall`, `listCalls` from `../store/calls.ts`), so tests and other
 * stores plug in.
 */
import type { FastifyPluginAsync } from "fastify";
import { credentialMatches, LIBRARY_ROUTE_AUTH, presentedCredential } from "../auth";
import { errorBody, errorHandler } from "../errors";
import type { CallView } from "../store/calls";
import type { CallSource, CallStatus } from "../store/model";

export type { CallView };

/** All call statuses, for the `status` filter. */
export const CALL_STATUSES: readonly CallStatus[] = ["queued", "downloading", "transcribing", "analyzing", "delivering", "live", "done", "failed"];

/** Query of {@link CallsApiOptions.listCalls}. `limit` 1–100, `offset` ≥ 0. */
export interface ListCallsQuery {
  limit: number;
  offset: number;
  status?: CallStatus;
  /** `recording` or `live`. */
  source?: CallSource;
}

/** Options of {@link callsApiPlugin}. */
export interface CallsApiOptions {
  /** One call, or null/undefined when unknown. */
  getCall: (id: string) => Promise<CallView | null | undefined>;
  /** A page of calls, newest first; an array, or `{calls, total}`. */
  listCalls: (query: ListCallsQuery) => Promise<CallView[] | { calls: CallView[]; total?: number }>;
  /** Only for use outside `buildServer` (whose guard already requires the key): requests must present this key. */
  apiKey?: string;
}

const CALL_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";

/** Fastify plugin: register with `app.register(callsApiPlugin, {getCall, listCalls, apiKey})`. */
export const callsApiPlugin: FastifyPluginAsync<CallsApiOptions> = async (app, options) => {
  const { getCall, listCalls, apiKey } = options;

  if (apiKey) {
    app.addHook("onRequest", async (request, reply) => {
      if (credentialMatches(presentedCredential(request.headers), apiKey)) return;
      return reply.code(401).send(errorBody(request, "INVALID_AUTH", "Invalid credentials."));
    });
  }

  // The server's one handler (buildServer sets it too): the same shape when the plugin runs alone.
  app.setErrorHandler(errorHandler);

  app.get<{ Params: { id: string } }>(
    "/v1/calls/:id",
    { config: { auth: LIBRARY_ROUTE_AUTH }, schema: { params: { type: "object", required: ["id"], properties: { id: { type: "string", pattern: CALL_ID_PATTERN } } } } },
    async (request, reply) => {
      const call = await getCall(request.params.id);
      if (!call) return reply.code(404).send(errorBody(request, "NOT_FOUND", `No call with id ${request.params.id}.`));
      return reply.send(call);
    },
  );

  app.get<{ Querystring: { limit: number; offset: number; status?: CallStatus; source?: CallSource } }>(
    "/v1/calls",
    {
      config: { auth: LIBRARY_ROUTE_AUTH },
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: 100, default: 20 },
            offset: { type: "integer", minimum: 0, maximum: 1_000_000, default: 0 },
            status: { type: "string", enum: [...CALL_STATUSES] },
            source: { type: "string", enum: ["recording", "live"] },
          },
        },
      },
    },
    async (request) => {
      const { limit, offset, status, source } = request.query;
      const page = await listCalls({ limit, offset, ...(status && { status }), ...(source && { source }) });
      const calls = Array.isArray(page) ? page : page.calls;
      const total = Array.isArray(page) ? undefined : page.total;
      // Lists stay small: transcripts only come with a single call.
      const items = calls.map(({ transcript: _t, ...rest }) => rest);
      return { calls: items, limit, offset, ...(total !== undefined && { total }) };
    },
  );
};
