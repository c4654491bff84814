/**
 * The transcript library API (issue 9 §1, §2):
 * - `POST /v1/transcripts` — a finished `fdc3.transcript` (validated against its JSON Schema; 400
 *   with the reason). 201 `{id, created: true}`, or 200 `{id, created: false}` when that transcript
 *   (or the same call) is already stored. Body ≤ 2 MiB.
 * - `GET /v1/transcripts/:id` — the entry with the decrypted transcript, its CRM saves and (when
 *   the calls table is wired) `audio`, whether its recording can be played (`audio.ts`); 404.
 * - `DELETE /v1/transcripts/:id` — 204; 404.
 * - `POST /v1/transcripts/:id/saves` — `{appId, result: fdc3.transactionResult}` appended to the
 *   CRM save history; 201 `{saves}`; 404.
 * - `GET /v1/transcripts?q&from&to&source&participant&topic&sentiment&language&engine&limit&cursor`
 *   — search (`store.ts`): `{hits, nextCursor?}`. `q` ≤ 200 characters, plain text.
 *
 * Auth (the server's request guard): the two POSTs take the API key or a `listen` token, since the
 * transcriber holds listen tokens and it is the one that sends finished live calls, dictations
 * and CRM results. Reading and searching take the key or a `library` token (the Library app's,
 * minted from the desktop secret like listen tokens): a listen token alone cannot read, so a
 * leaked audio token exposes no stored call. Deleting needs the API key. A listen token cannot
 * replace a stored transcript either (POST is first-wins).
 */
import type { FastifyPluginAsync } from "fastify";
import { LIBRARY_ROUTE_AUTH, LISTEN_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import { validateContext, type Transcript } from "../../contracts";
import type { AudioAvailability } from "./audio";
import { InvalidCursorError, TranscriptTooLargeError, type LibraryEntry, type SearchQuery, type TranscriptLibrary } from "./store";

/** Largest `POST /v1/transcripts` body, bytes. */
export const MAX_TRANSCRIPT_BODY_BYTES = 2 * 1024 * 1024;
/** Longest `q`, characters. */
export const MAX_QUERY_LENGTH = 200;

/** Params schema of `/v1/transcripts/:id…` routes: a UUID. */
export const ID_PARAMS = { type: "object", required: ["id"], properties: { id: { type: "string", pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" } } } as const;
/** `GET /v1/transcripts/:id` also takes the transcript's own `id.transcriptId` (what desktop apps know), in a URL-safe spelling. */
const ENTRY_REF_PARAMS = { type: "object", required: ["id"], properties: { id: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,200}$" } } } as const;
const ISO_TIME = "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?$";

/** JSON Schema of the search query string. */
export const SEARCH_QUERY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    q: { type: "string", maxLength: MAX_QUERY_LENGTH, pattern: "^[^\\u0000]*$" },
    from: { type: "string", pattern: ISO_TIME, maxLength: 40 },
    to: { type: "string", pattern: ISO_TIME, maxLength: 40 },
    source: { type: "string", enum: ["call", "dictation", "recording"] },
    participant: { type: "string", minLength: 3, maxLength: 254, pattern: "^[^\\u0000]*$" },
    topic: { type: "string", minLength: 1, maxLength: 100, pattern: "^[^\\u0000]*$" },
    sentiment: { type: "string", enum: ["positive", "neutral", "negative"] },
    language: { type: "string", pattern: "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", maxLength: 35 },
    engine: { type: "string", pattern: "^[A-Za-z0-9._-]{1,64}$" },
    limit: { type: "integer", minimum: 1, maximum: 50, default: 20 },
    cursor: { type: "string", pattern: "^[A-Za-z0-9_-]{1,400}$" },
  },
} as const;

const SAVE_BODY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["appId", "result"],
  properties: {
    appId: { type: "string", minLength: 1, maxLength: 200 },
    result: { type: "object" },
  },
} as const;

/** Options of {@link libraryRoutes}. */
export interface LibraryRoutesOptions {
  library: TranscriptLibrary;
  /** Called before reads and searches, e.g. to take finished calls from the calls table first. */
  beforeRead?: () => Promise<unknown>;
  /** Whether an entry's recorded audio can be played (`audio.ts`); absent: the entry says nothing. */
  audioOf?: (entry: LibraryEntry) => Promise<AudioAvailability>;
}

/** Fastify plugin: `app.register(libraryRoutes, {library})`. */
export const libraryRoutes: FastifyPluginAsync<LibraryRoutesOptions> = async (app, { library, beforeRead, audioOf }) => {
  app.post("/v1/transcripts", { bodyLimit: MAX_TRANSCRIPT_BODY_BYTES, config: { auth: LISTEN_ROUTE_AUTH } }, async (request, reply) => {
    const body = request.body as { type?: unknown } | null;
    if (body?.type !== "fdc3.transcript") return reply.code(400).send(errorBody(request, "INVALID_TRANSCRIPT", "expected an fdc3.transcript context (`type` must be fdc3.transcript)"));
    const v = validateContext(body);
    if (!v.valid) return reply.code(400).send(errorBody(request, "INVALID_TRANSCRIPT", v.error));
    try {
      const { id, created } = await library.add(body as unknown as Transcript);
      return reply.code(created ? 201 : 200).send({ id, created });
    } catch (err) {
      if (err instanceof TranscriptTooLargeError) return reply.code(413).send(errorBody(request, "TRANSCRIPT_TOO_LARGE", err.message));
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>("/v1/transcripts/:id", { config: { auth: LIBRARY_ROUTE_AUTH }, schema: { params: ENTRY_REF_PARAMS } }, async (request, reply) => {
    await beforeRead?.();
    const entry = await library.get(request.params.id);
    if (!entry) return reply.code(404).send(errorBody(request, "NOT_FOUND", `No transcript with id ${request.params.id}.`));
    return reply.send(audioOf ? { ...entry, audio: await audioOf(entry) } : entry);
  });

  app.delete<{ Params: { id: string } }>("/v1/transcripts/:id", { schema: { params: ID_PARAMS } }, async (request, reply) => {
    if (!(await library.delete(request.params.id))) return reply.code(404).send(errorBody(request, "NOT_FOUND", `No transcript with id ${request.params.id}.`));
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string }; Body: { appId: string; result: Record<string, unknown> } }>(
    "/v1/transcripts/:id/saves",
    { bodyLimit: 256 * 1024, config: { auth: LISTEN_ROUTE_AUTH }, schema: { params: ID_PARAMS, body: SAVE_BODY_SCHEMA } },
    async (request, reply) => {
      const { appId, result } = request.body;
      if (result.type !== "fdc3.transactionResult") return reply.code(400).send(errorBody(request, "INVALID_SAVE", "`result` must be an fdc3.transactionResult"));
      const v = validateContext(result);
      if (!v.valid) return reply.code(400).send(errorBody(request, "INVALID_SAVE", v.error));
      const saves = await library.addSave(request.params.id, appId, result);
      if (!saves) return reply.code(404).send(errorBody(request, "NOT_FOUND", `No transcript with id ${request.params.id}.`));
      return reply.code(201).send({ saves });
    },
  );

  app.get<{ Querystring: SearchQuery }>("/v1/transcripts", { config: { auth: LIBRARY_ROUTE_AUTH }, schema: { querystring: SEARCH_QUERY_SCHEMA } }, async (request, reply) => {
    const query = request.query;
    for (const k of ["from", "to"] as const) {
      if (query[k] !== undefined && Number.isNaN(Date.parse(query[k]!))) return reply.code(400).send(errorBody(request, "INVALID_QUERY", `${k} is not a valid date`));
    }
    await beforeRead?.();
    try {
      return reply.send(await library.search(query));
    } catch (err) {
      if (err instanceof InvalidCursorError) return reply.code(400).send(errorBody(request, "INVALID_CURSOR", err.message));
      throw err;
    }
  });
};
