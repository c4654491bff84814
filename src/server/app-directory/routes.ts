/**
 * The App Directory API (FDC3 App Directory 2.2, `app-directory/spec/`), so other desktops
 * (io.Connect, Sail, ...) load our records by URL:
 *
 * - `GET /appd/v2/apps` → 200 `AllApplicationsResponse` `{applications: Application[], message}`;
 * - `GET /appd/v2/apps/:appId` → 200 `Application`, or 404 `ErrorDTO` `{code, message}` for an unknown appId
 *   (an appId over 100 characters never reaches the handler: Fastify's `maxParamLength` answers 414).
 *
 * Open (no auth): the records hold no secrets, and the standard's `bearerAuth` is for directories
 * that restrict who sees which apps. `details.url` is made absolute against `publicUrl`
 * (CALLSCRIBE_PUBLIC_URL, `ws(s)://` read as `http(s)://`, its path prefix kept) or else the
 * request's own origin (its Host header, already checked by the request guard).
 * The work per request is fixed (a handful of small records), so there is nothing to bound further.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { APP_DIRECTORY, type AppDirectoryRecord } from "../../contracts";

/** Options of {@link appDirectoryRoutes}. */
export interface AppDirectoryRouteOptions {
  /** CALLSCRIBE_PUBLIC_URL without a trailing slash, e.g. `wss://calls.example.com/callscribe`. */
  publicUrl?: string;
  /** The records to serve; default {@link APP_DIRECTORY}. */
  records?: readonly AppDirectoryRecord[];
}

/** FDC3 appd `ErrorDTO`. */
export interface AppdErrorDTO {
  code: number;
  message: string;
}

/** `http(s)://host[:port][/prefix]` the pages are served under, without a trailing slash. */
export function publicBase(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/^ws(s?):/i, "http$1:").replace(/\/+$/, "");
  return `${request.protocol}://${request.host}`;
}

/** A record with `details.url` absolute under `base` (a relative `/path` keeps `base`'s path prefix). */
export function servedRecord(record: AppDirectoryRecord, base: string): AppDirectoryRecord {
  const url = record.details.url;
  const absolute = /^https?:\/\//i.test(url) ? url : new URL(base + (url.startsWith("/") ? url : `/${url}`)).href;
  return { ...record, details: { ...record.details, url: absolute } };
}

/** Registers the two routes (see the module comment). */
export async function appDirectoryRoutes(app: FastifyInstance, options: AppDirectoryRouteOptions): Promise<void> {
  const records = options.records ?? APP_DIRECTORY;

  app.get("/appd/v2/apps", { config: { auth: false } }, async (request, reply) => {
    const base = publicBase(request, options.publicUrl);
    return reply.header("cache-control", "no-cache").send({ applications: records.map((r) => servedRecord(r, base)), message: "OK" });
  });

  app.get<{ Params: { appId: string } }>("/appd/v2/apps/:appId", { config: { auth: false } }, async (request, reply) => {
    const { appId } = request.params;
    const record = records.find((r) => r.appId === appId);
    if (!record) return reply.code(404).send({ code: 404, message: `no application with appId ${JSON.stringify(appId)} in this directory` } satisfies AppdErrorDTO);
    return reply.header("cache-control", "no-cache").send(servedRecord(record, publicBase(request, options.publicUrl)));
  });
}
