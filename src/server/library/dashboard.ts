/**
 * `GET /v1/dashboard?from=YYYY-MM-DD&to=YYYY-MM-DD&top=N` (issue 9 §4): the Library's dashboard
 * figures (`dashboard-store.ts`, {@link DashboardReport}). Days are UTC; both ends are included.
 * Defaults: `to` today, `from` 29 days before `to` (30 days), `top` 10 (1–50). The range must be
 * `from` ≤ `to` and at most 366 days; a bad query gets 400 with the reason (`INVALID_QUERY`).
 *
 * Auth: the API key or a `library` token, as the library's other reads (`LIBRARY_ROUTE_AUTH`); a
 * listen token is refused (403).
 */
import type { FastifyPluginAsync } from "fastify";
import { LIBRARY_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import type { Queryable } from "../store/database";
import { dashboardReport, MAX_RANGE_DAYS, MAX_TOP, type DashboardReport } from "./dashboard-store";
import type { TranscriptLibrary } from "./store";

export type { DashboardReport };

const DAY = "^\\d{4}-\\d{2}-\\d{2}$";

/** JSON Schema of the dashboard's query string. */
export const DASHBOARD_QUERY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    from: { type: "string", pattern: DAY },
    to: { type: "string", pattern: DAY },
    top: { type: "integer", minimum: 1, maximum: MAX_TOP, default: 10 },
  },
} as const;

/** Options of {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  db: Queryable;
  library: TranscriptLibrary;
  /** Called before reading, e.g. to take finished calls from the calls table first. */
  beforeRead?: () => Promise<unknown>;
  /** The clock, for the default range. */
  now?: () => Date;
}

/** A real calendar day (`2026-02-30` is not). */
function isCalendarDay(s: string): boolean {
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
}

/** Fastify plugin: `app.register(dashboardRoutes, {db, library})`. */
export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, { db, library, beforeRead, now = () => new Date() }) => {
  app.get<{ Querystring: { from?: string; to?: string; top: number } }>(
    "/v1/dashboard",
    { config: { auth: LIBRARY_ROUTE_AUTH }, schema: { querystring: DASHBOARD_QUERY_SCHEMA } },
    async (request, reply) => {
      // Fastify's ajv drops unknown properties (removeAdditional) rather than refusing them: refuse here.
      const unknown = [...new URLSearchParams(request.url.split("?")[1] ?? "").keys()].find((k) => !Object.hasOwn(DASHBOARD_QUERY_SCHEMA.properties, k));
      if (unknown !== undefined) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `unknown parameter: ${unknown.slice(0, 40)} (expected from, to, top)`));
      const to = request.query.to ?? now().toISOString().slice(0, 10);
      if (!isCalendarDay(to)) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `to is not a calendar day: ${to}`));
      const from = request.query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
      if (!isCalendarDay(from)) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `from is not a calendar day: ${from}`));
      const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
      if (days < 1) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `from (${from}) is after to (${to})`));
      if (days > MAX_RANGE_DAYS) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `the range is ${days} days; at most ${MAX_RANGE_DAYS}`));
      await beforeRead?.();
      return reply.send(await dashboardReport(db, library, { from, to, top: request.query.top }));
    },
  );
};
