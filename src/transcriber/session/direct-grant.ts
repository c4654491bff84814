/**
 * Deepgram direct mode, browser side: ask *our* speech server for a short-lived Deepgram access
 * token (`POST /v1/auth/grant`, Deepgram's own route and answer shape, plus `base_url` saying
 * where Deepgram is), then connect the SDK to `base_url` with `accessToken` (the SDK sends
 * `Sec-WebSocket-Protocol: bearer, <token>`). The browser never holds DEEPGRAM_API_KEY; our server
 * keeps it and only hands out tokens (DESIGN §4 "Auth"; Deepgram docs "Token-based Auth").
 *
 * Tokens are short-lived (Deepgram's default 30 s) and only needed to open the WebSocket: an open
 * connection outlives its token. So a grant is requested for every session start and never kept.
 */
import Ajv from "ajv";

/** How the transcriber reaches a Deepgram model: through our server, or straight to Deepgram. */
export type ConnectionMode = "relay" | "direct";

/** The modes, default first. */
export const CONNECTION_MODES: readonly ConnectionMode[] = ["relay", "direct"];

/** A granted token, ready to connect with. */
export interface DirectGrant {
  /** Deepgram access token (JWT at Deepgram), used as `accessToken` → `bearer, <token>`. */
  accessToken: string;
  /** Lifetime in seconds, as granted. */
  expiresIn: number;
  /** When the token stops opening connections, ms since the epoch (local clock at receipt + `expiresIn`). */
  expiresAt: number;
  /** Deepgram's API root to connect to, e.g. `https://api.deepgram.com`. */
  baseUrl: string;
}

/** A grant that could not be had; `code` is the server's `err_code` when it sent one. */
export class DirectGrantError extends Error {
  constructor(
    message: string,
    /** e.g. `DIRECT_MODE_UNAVAILABLE` (no Deepgram key on the server), `UPSTREAM_GRANT_FAILED`, `INVALID_AUTH`. */
    readonly code?: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = "DirectGrantError";
  }
}

const GRANT_SCHEMA = {
  type: "object",
  required: ["access_token", "expires_in", "base_url"],
  properties: {
    access_token: { type: "string", minLength: 1 },
    expires_in: { type: "number", exclusiveMinimum: 0 },
    base_url: { type: "string", pattern: "^(https?|wss?)://[^\\s/?#]+" },
  },
} as const;

const ERROR_SCHEMA = {
  type: "object",
  required: ["err_code"],
  properties: { err_code: { type: "string" }, err_msg: { type: "string" } },
} as const;

let validateGrant: ReturnType<Ajv["compile"]> | undefined;
let validateError: ReturnType<Ajv["compile"]> | undefined;

/** Options of {@link requestDirectGrant}. */
export interface GrantRequestOptions {
  /** Our server's API key, if it needs one (`Authorization: Token <key>`); never a Deepgram key. */
  apiKey?: string;
  fetchImpl?: typeof fetch;
  /** Clock for `expiresAt`, ms. Default `Date.now`. */
  now?: () => number;
}

/** `fetch failed` alone says little: add undici's cause (e.g. `ECONNREFUSED`) when there is one. */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail && !err.message.includes(detail) ? `${err.message}: ${detail}` : err.message;
}

const RELAY_HINT = "Switch the connection to relay to reach Deepgram through the Callscribe server.";

/**
 * Request a Deepgram access token from our server (`POST <serverBaseUrl>/v1/auth/grant`, no body:
 * the server's default lifetime).
 * @param serverBaseUrl our speech server's origin, e.g. `location.origin`
 * @throws DirectGrantError with a message for the user when the server is unreachable, refuses
 *   (404 `DIRECT_MODE_UNAVAILABLE` without a Deepgram key, 401, 502 when Deepgram refused), or
 *   answers something that is not a grant
 */
export async function requestDirectGrant(serverBaseUrl: string, options: GrantRequestOptions = {}): Promise<DirectGrant> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.apiKey) headers.authorization = `Token ${options.apiKey}`;
  let res: Response;
  try {
    res = await fetchImpl(`${serverBaseUrl}/v1/auth/grant`, { method: "POST", headers, cache: "no-store" });
  } catch (err) {
    throw new DirectGrantError(`direct mode: could not reach ${serverBaseUrl}/v1/auth/grant for a Deepgram token (${describeFetchError(err)}). ${RELAY_HINT}`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    validateError ??= new Ajv().compile(ERROR_SCHEMA);
    const err = validateError(body) ? (body as { err_code: string; err_msg?: string }) : undefined;
    const why =
      err?.err_code === "DIRECT_MODE_UNAVAILABLE"
        ? "the speech server has no Deepgram key, so it cannot grant Deepgram tokens"
        : `the speech server refused the token request (HTTP ${res.status}${err ? ` ${err.err_code}` : ""})`;
    throw new DirectGrantError(`direct mode unavailable: ${why}${err?.err_msg ? `: ${err.err_msg}` : ""}. ${RELAY_HINT}`, err?.err_code, res.status);
  }
  validateGrant ??= new Ajv().compile(GRANT_SCHEMA);
  if (!validateGrant(body)) {
    const e = validateGrant.errors?.[0];
    throw new DirectGrantError(`direct mode: the speech server's grant is malformed (${e?.instancePath || "(root)"} ${e?.message}). ${RELAY_HINT}`, undefined, res.status);
  }
  const g = body as { access_token: string; expires_in: number; base_url: string };
  return {
    accessToken: g.access_token,
    expiresIn: g.expires_in,
    expiresAt: (options.now ?? Date.now)() + g.expires_in * 1000,
    baseUrl: g.base_url.replace(/\/+$/, ""),
  };
}
