/**
 * The two library writes the transcriber makes (server: `src/server/library/routes.ts`):
 * - `POST /v1/transcripts` with a finished `fdc3.transcript`: 201 `{id, created: true}`, or 200
 *   `{id, created: false}` when that `transcriptId` is already stored (first wins, so a retry of a
 *   send whose answer was lost adds no copy);
 * - `POST /v1/transcripts/:id/saves` with `{appId, result: fdc3.transactionResult}` (the shape of
 *   `src/library/api/saves.ts`): appended to that transcript's CRM save history.
 * Both take a `listen` token (the transcriber's credential). Each call says whether a failure is
 * worth retrying: the server unreachable, 5xx, 408, 429 and credential trouble (401/403, the host
 * may hand out a token later) are; 400, 404 on a save, 413 and 422 are not (the same request
 * would fail again).
 */
import type { Transcript } from "../../contracts";

/** The outcome of one write. */
export type UploadResult<T> = { ok: true; value: T } | { ok: false; retry: boolean; reason: string };

/** Where and as whom the transcriber writes. */
export interface UploadTarget {
  /** Server origin, e.g. `location.origin`. */
  baseUrl: string;
  /** A fresh `listen` token per request, or undefined (a server without an API key). */
  token: () => Promise<string | undefined>;
  fetchImpl?: typeof fetch;
}

const PERMANENT = new Set([400, 413, 415, 422]);

async function post<T>(target: UploadTarget, path: string, body: unknown, read: (json: Record<string, unknown>) => T | undefined, permanent = PERMANENT): Promise<UploadResult<T>> {
  let res: Response;
  try {
    const token = await target.token();
    res = await (target.fetchImpl ?? fetch)(`${target.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, retry: true, reason: `the server at ${target.baseUrl} is unreachable (${e instanceof Error ? e.message : String(e)})` };
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.ok) {
    const value = read(json);
    if (value !== undefined) return { ok: true, value };
    return { ok: false, retry: true, reason: `unexpected answer to POST ${path} (${res.status})` };
  }
  const reason = `the server answered ${res.status}${typeof json.err_msg === "string" ? `: ${json.err_msg}` : ""}`;
  return { ok: false, retry: !permanent.has(res.status), reason };
}

/** `POST /v1/transcripts`. @returns the library's id of the stored transcript (new or already there) */
export function postTranscript(target: UploadTarget, transcript: Transcript): Promise<UploadResult<string>> {
  return post(target, "/v1/transcripts", transcript, (j) => (typeof j.id === "string" ? j.id : undefined));
}

/** `POST /v1/transcripts/:id/saves`. A 404 (the transcript was deleted from the library) is not retried. */
export function postSave(target: UploadTarget, libraryId: string, appId: string, result: Record<string, unknown>): Promise<UploadResult<number>> {
  return post(target, `/v1/transcripts/${encodeURIComponent(libraryId)}/saves`, { appId, result }, (j) => (Array.isArray(j.saves) ? j.saves.length : undefined), new Set([...PERMANENT, 404]));
}
