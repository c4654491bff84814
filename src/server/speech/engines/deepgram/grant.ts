/**
 * `POST /v1/auth/grant` (Deepgram's shape, API reference "Token-based Auth"): direct mode. A caller
 * authenticated with *our* API key gets a short-lived Deepgram access token, asked from Deepgram's
 * own `/v1/auth/grant` with the server's DEEPGRAM_API_KEY, and then talks to Deepgram itself
 * (`new DeepgramClient({accessToken})`; browsers send `Sec-WebSocket-Protocol: bearer, <token>`).
 * The long-lived key never leaves the server.
 *
 * Request body (optional JSON): `{ "ttl_seconds": 1..3600 }` (Deepgram's range; default 30).
 * Response: `{ access_token, expires_in, base_url }` — `base_url` (ours) says where to connect.
 * Without DEEPGRAM_API_KEY the route answers 404 `DIRECT_MODE_UNAVAILABLE`.
 */
import type { FastifyInstance } from "fastify";
import { DeepgramClient } from "@deepgram/sdk";
import Ajv from "ajv";
import { errorBody } from "../../../errors";

/** Deepgram's default token lifetime, seconds. */
export const DEFAULT_GRANT_TTL_SECONDS = 30;

const ajv = new Ajv({ allErrors: false });
const validateRequest = ajv.compile({
  type: "object",
  additionalProperties: false,
  properties: { ttl_seconds: { type: "integer", minimum: 1, maximum: 3600 } },
});
const validateGrant = ajv.compile({
  type: "object",
  required: ["access_token"],
  properties: { access_token: { type: "string", minLength: 1 }, expires_in: { type: "number" } },
});

/** Options of {@link grantRoutes}. */
export interface GrantRoutesOptions {
  /** Deepgram access, or undefined when no key is configured. */
  deepgram?: { apiKey: string; baseUrl: string };
}

/** Fastify plugin: `POST /v1/auth/grant` (only our API key opens it, the route default: `listen` tokens cannot mint grants). */
export async function grantRoutes(app: FastifyInstance, opts: GrantRoutesOptions): Promise<void> {
  const deepgram = opts.deepgram;
  const client = deepgram ? new DeepgramClient({ apiKey: deepgram.apiKey, baseUrl: deepgram.baseUrl }) : undefined;
  app.post("/v1/auth/grant", async (request, reply) => {
    if (!deepgram || !client) {
      return reply.code(404).send(errorBody(request, "DIRECT_MODE_UNAVAILABLE", "Direct mode needs DEEPGRAM_API_KEY on the server; use the relay (model=nova-3 on /v1/listen) or a local model."));
    }
    const body = request.body ?? {};
    if (!validateRequest(body)) {
      return reply.code(400).send(errorBody(request, "INVALID_REQUEST", "Body must be empty or {\"ttl_seconds\": an integer from 1 to 3600}."));
    }
    const ttl = (body as { ttl_seconds?: number }).ttl_seconds ?? DEFAULT_GRANT_TTL_SECONDS;
    let grant: unknown;
    try {
      grant = await client.auth.v1.tokens.grant({ ttl_seconds: ttl });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      request.log.warn({ status, err: (err as Error).message }, "Deepgram refused or failed the token grant");
      return reply.code(502).send(errorBody(request, "UPSTREAM_GRANT_FAILED", `Deepgram did not grant a token${status ? ` (HTTP ${status})` : ""}.`));
    }
    if (!validateGrant(grant)) {
      return reply.code(502).send(errorBody(request, "UPSTREAM_GRANT_FAILED", "Deepgram's grant answer had no access_token."));
    }
    const g = grant as { access_token: string; expires_in?: number };
    return reply.header("cache-control", "no-store").send({ access_token: g.access_token, expires_in: g.expires_in ?? ttl, base_url: deepgram.baseUrl });
  });
}
