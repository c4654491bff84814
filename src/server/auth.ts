/**
 * API-key authentication the way Deepgram clients send it:
 * - `Authorization: Token <key>` (the SDK's REST calls and Node WebSockets), or `Bearer <key>`;
 * - browsers, which cannot set headers on a WebSocket, send `Sec-WebSocket-Protocol: token, <key>`
 *   (or `bearer, <token>`). The server must then answer with one of the offered subprotocols
 *   (`token`), or Chromium fails the handshake: see {@link selectSubprotocol}.
 * Keys are compared in constant time (SHA-256 digests, `timingSafeEqual`).
 */
import { createHash, timingSafeEqual } from "node:crypto";
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
