/**
 * The server's front door, one `onRequest` hook that runs for every request (and every WebSocket
 * upgrade, before it is upgraded), after the router has matched it and before any body is read:
 *
 * 1. **Host** (DNS rebinding): the `Host` header must name the server: an IP literal, `localhost`,
 *    the configured HOST, or one of `serverNames` (CALLSCRIBE_SERVER_NAMES). Otherwise 421.
 *    A rebound name (`evil.example` resolving to 127.0.0.1) is a host name we do not serve under.
 * 2. **Origin** (other web pages): a request with an `Origin` header must come from the server's
 *    own origin (the origin the browser used to reach it: `Origin` host equal to `Host`; or a
 *    loopback/served name on the port the request arrived at) or from `allowedOrigins`
 *    (CALLSCRIBE_ALLOWED_ORIGINS). Otherwise 403, so a foreign page can neither open
 *    `ws://localhost:8787/v1/listen` nor post a form-encoded WAV. No `Origin` (server-side
 *    clients, the SDK in Node) is fine. CORS headers are sent only to an allowed foreign origin,
 *    which also gets its preflight (`OPTIONS`) answered.
 * 3. **Authentication on the matched route** (never on a URL prefix: the router decodes
 *    `/%76%31/listen` to `/v1/listen`, a prefix check did not): the route's `config.auth` lists the
 *    principals it accepts (default: only the API key); `false` opens it. Without an API key
 *    configured, nothing is checked. Unmatched URLs go to the 404 handler, which does no work.
 *    401 `INVALID_AUTH` for no or a wrong credential, 403 `INSUFFICIENT_PERMISSIONS` for a valid
 *    token of a scope the route does not take.
 */
import { isIP } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { credentialMatches, presentedCredential, type Principal, type RouteAuth, type ServerTokens } from "./auth";
import { errorBody } from "./errors";

/** Options of {@link installRequestGuard}. */
export interface RequestGuardOptions {
  /** CALLSCRIBE_API_KEY; undefined: no authentication. */
  apiKey?: string;
  /** Desktop bootstrap secret: accepted only where a route lists `desktop-secret`. */
  desktopSecret?: string;
  /** Verifies `listen` tokens. */
  tokens: ServerTokens;
  /** Extra origins allowed to call (exact `scheme://host[:port]`, lower case). */
  allowedOrigins?: readonly string[];
  /** Extra host names the server is served under (besides IP literals and `localhost`). */
  serverNames?: readonly string[];
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who the request authenticated as; undefined on open routes or without an API key. */
    principal?: Principal;
  }
}

/** The host name of a `Host` header (lower case, IPv6 without brackets), or undefined when malformed. */
export function hostNameOf(hostHeader: string): string | undefined {
  const h = hostHeader.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

/** Install the guard on `app` (root context, before routes are registered). */
export function installRequestGuard(app: FastifyInstance, options: RequestGuardOptions): void {
  // Mark WebSocket routes (those with a `wsHandler`, or `websocket: true`) so the guard can tell them apart.
  app.addHook("onRoute", (route) => {
    const r = route as typeof route & { wsHandler?: unknown; websocket?: boolean };
    if (r.wsHandler || r.websocket) route.config = { ...(route.config as object), websocket: true };
  });
  const names = new Set([...LOOPBACK_NAMES, ...(options.serverNames ?? []).map((n) => n.toLowerCase())]);
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map((o) => o.toLowerCase()));
  const { apiKey, desktopSecret, tokens } = options;

  /** Host check: IP literals cannot be rebound, names must be ours. */
  const hostAllowed = (hostHeader: string | undefined): boolean => {
    if (hostHeader === undefined) return true; // HTTP/1.0 without Host: not a browser
    const name = hostNameOf(hostHeader);
    if (!name) return false;
    return isIP(name) !== 0 || names.has(name);
  };

  /** The server's own origin, or a configured one. */
  const originAllowed = (origin: string, request: FastifyRequest): "same" | "cors" | false => {
    const o = origin.toLowerCase();
    if (allowedOrigins.has(o)) return "cors";
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false; // includes "null" (sandboxed frames, file://)
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    if (`${url.protocol}//${String(request.headers.host ?? "").toLowerCase()}` === o) return "same";
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const name = url.hostname.replace(/^\[|\]$/g, "");
    return names.has(name) && port === String(request.socket.localPort) ? "same" : false;
  };

  const principalOf = (request: FastifyRequest): Principal | undefined => {
    const presented = presentedCredential(request.headers);
    if (presented === undefined) return undefined;
    if (apiKey && credentialMatches(presented, apiKey)) return "key";
    if (desktopSecret && credentialMatches(presented, desktopSecret)) return "desktop-secret";
    const scope = tokens.verify(presented);
    if (scope === "listen") return "listen-token";
    if (scope === "library") return "library-token";
    return undefined;
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    request.log.info({ status, code, url: request.routeOptions.url ?? null }, "request refused");
    // Close the connection: the body (if any) is not read.
    return reply.code(status).header("connection", "close").send(errorBody(request, code, message));
  };

  app.addHook("onRequest", async (request, reply) => {
    if (!hostAllowed(request.headers.host)) {
      return refuse(request, reply, 421, "HOST_NOT_ALLOWED", "This server is not served under that Host name; add it to CALLSCRIBE_SERVER_NAMES if it should be.");
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const allowed = originAllowed(origin, request);
      if (!allowed) return refuse(request, reply, 403, "ORIGIN_NOT_ALLOWED", "Requests from this origin are not allowed; add it to CALLSCRIBE_ALLOWED_ORIGINS if it should be.");
      if (allowed === "cors") {
        reply.header("access-control-allow-origin", origin).header("vary", "Origin").header("access-control-expose-headers", "dg-request-id");
        if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
          return reply
            .code(204)
            .header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
            .header("access-control-allow-headers", "authorization, content-type")
            .header("access-control-max-age", "600")
            .send();
        }
      }
    }

    const config = request.routeOptions.config as { auth?: RouteAuth; apiKeyAuth?: boolean; websocket?: boolean } | undefined;
    // @fastify/websocket answers an upgrade to a plain route (a page, `//v1/listen` caught by the
    // pages' wildcard) with 101 and a close: refuse it instead, before anything is upgraded.
    if (String(request.headers.upgrade ?? "").toLowerCase() === "websocket" && config?.websocket !== true) {
      return refuse(request, reply, 404, "NOT_FOUND", "No WebSocket endpoint at this path.");
    }
    if (!apiKey || request.is404) return;
    // `apiKeyAuth: false` is the older spelling of `auth: false` (signed webhooks).
    const accepted: RouteAuth = config?.apiKeyAuth === false ? false : (config?.auth ?? ["key"]);
    if (accepted === false) return;
    const principal = principalOf(request);
    if (principal && accepted.includes(principal)) {
      request.principal = principal;
      return;
    }
    if (principal) {
      return refuse(request, reply, 403, "INSUFFICIENT_PERMISSIONS", "This credential does not grant access to this route (listen tokens only open /v1/listen, /v1/models, live calls and posting transcripts).");
    }
    return refuse(request, reply, 401, "INVALID_AUTH", "Invalid credentials.");
  });
}
