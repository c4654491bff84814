/**
 * API-key authentication the way Deepgram clients send it:
 * - `Authorization: Token <key>` (the SDK's REST calls and Node WebSockets), or `Bearer <key>`;
 * - browsers, which cannot set headers on a WebSocket, send `Sec-WebSocket-Protocol: token, <key>`
 *   (or `bearer, <token>`). The server must then answer with one of the offered subprotocols
 *   (`token`), or Chromium fails the handshake: see {@link selectSubprotocol}.
 * Keys are compared in constant time (SHA-256 digests, `timingSafeEqual`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Subprotocol names that announce a credential in the next subprotocol entry. */
const CREDENTIAL_PROTOCOLS = ["token", "bearer"];

/**
 * The credential a request presents, if any.
 * @returns the key/token from `Authorization` (Token or Bearer scheme, any case) or from the
 *   `Sec-WebSocket-Protocol` pair `token, <key>` / `bearer, <token>`
 */
export function presentedCredential(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(authorization);
    if (m) return m[2];
  }
  const protocolHeader = headers["sec-websocket-protocol"];
  if (protocolHeader) {
    const protocols = String(protocolHeader).split(",").map((p) => p.trim());
    const i = protocols.findIndex((p) => CREDENTIAL_PROTOCOLS.includes(p.toLowerCase()));
    if (i >= 0 && protocols[i + 1]) return protocols[i + 1];
  }
  return undefined;
}

/** Constant-time comparison of a presented credential with the configured key. */
export function credentialMatches(presented: string | undefined, apiKey: string): boolean {
  if (presented === undefined) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(apiKey).digest();
  return timingSafeEqual(a, b);
}

/**
 * `ws` `handleProtocols`: choose the subprotocol to echo in the handshake response. Clients that
 * authenticate by subprotocol offer `token, <key>`; echoing `token` (never the key) completes the
 * handshake. Other offers get their first entry echoed, since a client that offers subprotocols
 * fails the handshake when none comes back.
 * @returns the protocol to echo, or `false` when none was offered
 */
export function selectSubprotocol(protocols: Set<string>): string | false {
  for (const p of protocols) if (CREDENTIAL_PROTOCOLS.includes(p.toLowerCase())) return p;
  const first = protocols.values().next();
  return first.done ? false : first.value;
}

/**
 * Who presented what, as the request guard (`request-guard.ts`) decided it:
 * - `key`: the server's API key (CALLSCRIBE_API_KEY): every route;
 * - `desktop-secret`: the desktop bootstrap secret (`npm start` prints the desktop link carrying
 *   it): only mints `listen` tokens (`POST /v1/auth/token`);
 * - `listen-token`: a short-lived token of scope `listen` (see {@link ServerTokens});
 * - `library-token`: a short-lived token of scope `library`: reads the desktop user's transcript
 *   library (search, transcript view, audio playback, dashboard) and recorded calls.
 */
export type Principal = "key" | "desktop-secret" | "listen-token" | "library-token";

/**
 * A route's authentication (`config: { auth }`): `false` for an open route (health, static pages,
 * routes that authenticate otherwise such as signed webhooks), or the principals it accepts.
 * Routes that say nothing accept only the API key.
 */
export type RouteAuth = false | readonly Principal[];

/** Routes that a `listen` token may use: live and pre-recorded transcription, and the model list. */
export const LISTEN_ROUTE_AUTH: RouteAuth = ["key", "listen-token"];

/**
 * Routes that a `library` token may use: reading the transcript library and the dashboard
 * (`GET /v1/transcripts…`, `GET /v1/dashboard`) and the recorded calls' status. Deleting stays
 * with the API key.
 */
export const LIBRARY_ROUTE_AUTH: RouteAuth = ["key", "library-token"];

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route; default only the API key. See {@link RouteAuth}. */
    auth?: RouteAuth;
    /** Set by the request guard on WebSocket routes; upgrades to any other route are refused. */
    websocket?: boolean;
  }
}

/**
 * Token scopes: `listen` opens `/v1/listen` (WebSocket and POST), `/v1/models` and the writes of
 * finished transcripts; `library` opens the library's reads ({@link LIBRARY_ROUTE_AUTH}).
 */
export type TokenScope = "listen" | "library";

/** Every {@link TokenScope}. */
export const TOKEN_SCOPES: readonly TokenScope[] = ["listen", "library"];

/** A minted token. */
export interface MintedToken {
  access_token: string;
  /** Lifetime, seconds. */
  expires_in: number;
  scope: TokenScope;
}

const TOKEN_PREFIX = "cs1";

/**
 * Short-lived bearer tokens for our own server, HMAC-SHA256 signed with a secret held in memory
 * (a fresh random one per process unless given): `cs1.<base64url(JSON {scope, exp})>.<base64url(mac)>`.
 * A restart invalidates every token; holders mint new ones. An open WebSocket outlives its token:
 * tokens are checked when a request (or upgrade) arrives.
 */
export class ServerTokens {
  private readonly secret: Buffer;

  /**
   * @param ttlSeconds default lifetime, seconds (1..86400)
   * @param secret signing secret (at least 32 bytes); default 32 random bytes
   */
  constructor(
    readonly ttlSeconds: number,
    secret?: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    this.secret = secret ?? randomBytes(32);
    if (this.secret.length < 32) throw new Error("ServerTokens secret must be at least 32 bytes");
  }

  /** Mint a token of `scope` living `ttlSeconds` (default the configured lifetime, never longer). */
  mint(scope: TokenScope, ttlSeconds = this.ttlSeconds): MintedToken {
    const ttl = Math.max(1, Math.min(Math.floor(ttlSeconds), this.ttlSeconds));
    const payload = Buffer.from(JSON.stringify({ scope, exp: Math.floor(this.now() / 1000) + ttl, n: randomBytes(6).toString("base64url") })).toString("base64url");
    return { access_token: `${TOKEN_PREFIX}.${payload}.${this.mac(payload)}`, expires_in: ttl, scope };
  }

  /** The scope of a valid, unexpired token; undefined for anything else (never throws). */
  verify(token: string | undefined): TokenScope | undefined {
    if (!token || token.length > 512) return undefined;
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return undefined;
    const expected = Buffer.from(this.mac(parts[1]));
    const given = Buffer.from(parts[2]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const { scope, exp } = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as { scope?: unknown; exp?: unknown };
      if (!TOKEN_SCOPES.includes(scope as TokenScope) || typeof exp !== "number" || exp * 1000 <= this.now()) return undefined;
      return scope as TokenScope;
    } catch {
      return undefined;
    }
  }

  private mac(payload: string): string {
    return createHmac("sha256", this.secret).update(`${TOKEN_PREFIX}.${payload}`).digest("base64url");
  }
}
