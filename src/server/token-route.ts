/**
 * `POST /v1/auth/token`: short-lived tokens for *our* server, the way `/v1/auth/grant` hands out
 * Deepgram tokens. Trust model:
 *
 * - The API key (CALLSCRIBE_API_KEY) opens everything; it stays with operators and server-side
 *   clients and is never put in a web page.
 * - The browser desktop gets a **desktop secret** instead: a random value made at boot, printed by
 *   `npm start` as part of the desktop link (`http://localhost:8787/#desktop=<secret>`, in the URL
 *   fragment, which browsers never send to servers or put in Referer). The desktop host takes it
 *   from the fragment, removes it from the address bar, keeps it in this tab's sessionStorage, and
 *   exchanges it here for `listen` and `library` tokens. The secret can do nothing else: it
 *   cannot delete transcripts, read `/metrics`, or mint Deepgram grants. Anyone who can read the
 *   console or this tab can listen and read the transcript library (the desktop user's own calls:
 *   the Library app is a desktop app, so the desktop must be able to read it), no more.
 * - The host hands tokens to its apps (same-origin iframes it opened), which use them on
 *   `/v1/listen` (`Sec-WebSocket-Protocol: token, <token>` from browsers, or `Authorization`) and
 *   `/v1/models`. A token of scope `listen` opens only those routes; it expires (default 600 s,
 *   CALLSCRIBE_TOKEN_TTL_SECONDS) and the host refreshes it before it does.
 *
 * What it protects against: other web pages (they also fail the Origin check), other users on
 * the network who do not have the link, a leaked app token (short-lived, listen only), and a page
 * or log that shows the desktop link (listen only, dies with the process).
 *
 * Request body (optional JSON): `{ "scope": "listen" | "library" (default listen), "ttl_seconds": 1..max }`.
 * Response: `{ access_token, expires_in, scope }`, `cache-control: no-store`. Without an API key
 * on the server, anyone may mint (tokens are not needed then, but the desktop's flow stays one).
 */
import type { FastifyInstance } from "fastify";
import Ajv from "ajv";
import { TOKEN_SCOPES, type ServerTokens, type TokenScope } from "./auth";
import { errorBody } from "./errors";

/** Route path. */
export const TOKEN_PATH = "/v1/auth/token";

const validateRequest = new Ajv({ allErrors: false }).compile({
  type: "object",
  additionalProperties: false,
  properties: { scope: { enum: [...TOKEN_SCOPES] }, ttl_seconds: { type: "integer", minimum: 1, maximum: 86_400 } },
});

/** Fastify plugin: `POST /v1/auth/token` (accepts the API key or the desktop secret). */
export async function tokenRoutes(app: FastifyInstance, opts: { tokens: ServerTokens }): Promise<void> {
  app.post(TOKEN_PATH, { config: { auth: ["key", "desktop-secret"] } }, async (request, reply) => {
    const body = request.body ?? {};
    if (!validateRequest(body)) {
      return reply.code(400).send(errorBody(request, "INVALID_REQUEST", `Body must be empty or {"scope": "listen" | "library", "ttl_seconds": 1 to ${opts.tokens.ttlSeconds}}.`));
    }
    const { scope, ttl_seconds } = body as { scope?: TokenScope; ttl_seconds?: number };
    return reply.header("cache-control", "no-store").send(opts.tokens.mint(scope ?? "listen", ttl_seconds));
  });
}
