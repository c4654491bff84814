/**
 * The HTTP Message Signature an AudioHook client puts on its WebSocket upgrade request when the
 * integration has a client secret (Genesys AudioHook protocol, "Authentication"; IETF HTTP
 * Message Signatures, the draft AudioHook follows, with `@request-target`; values serialised as
 * RFC 8941 structured fields). Signed components, in this order: `@request-target` (path and
 * query), `@authority` (host, without a default port), `audiohook-organization-id`,
 * `audiohook-session-id`, `audiohook-correlation-id`, `x-api-key`; parameters `keyid` (the API
 * key), `nonce`, `alg="hmac-sha256"`, `created` and `expires` (Unix seconds). The MAC is
 * HMAC-SHA256 with the client secret over the signature base: one `"<component>": <value>` line
 * per component, then `"@signature-params": <the inner list>`, joined by `\n`.
 *
 * Only the client side lives here (the demo PBX signs); the server verifies in its AudioHook route.
 */
import { createHmac, randomBytes } from "node:crypto";

/** The headers to add to the upgrade request. */
export interface SignatureHeaders {
  "signature-input": string;
  signature: string;
}

/** What {@link signAudioHookRequest} signs. */
export interface AudioHookSignatureInput {
  /** The WebSocket URL the client connects to (`ws://host:port/v1/audiohook?…`). */
  url: string;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  apiKey: string;
  /** The client secret (the integration's base64 secret, decoded). */
  clientSecret: Uint8Array;
  /** Unix seconds; default now. */
  created?: number;
  /** Lifetime, seconds (default 30). */
  lifetimeSeconds?: number;
  /** Default 18 random bytes, base64. */
  nonce?: string;
}

/** An RFC 8941 sf-string: `"` + the text with `\` and `"` escaped + `"`. Only printable ASCII is allowed. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`not a structured-field string (printable ASCII only): ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `@authority`: the URL's host name and port, without the scheme's default port, lower case. */
export function authorityOf(url: URL): string {
  const defaultPort = url.protocol === "wss:" || url.protocol === "https:" ? "443" : "80";
  const port = url.port && url.port !== defaultPort ? `:${url.port}` : "";
  return `${url.hostname.toLowerCase()}${port}`;
}

/**
 * Sign an AudioHook upgrade request.
 * @returns the `signature-input` and `signature` headers (label `sig1`)
 * @throws RangeError when a signed value is not printable ASCII
 */
export function signAudioHookRequest(input: AudioHookSignatureInput): SignatureHeaders {
  const url = new URL(input.url);
  const components: Array<[string, string]> = [
    ["@request-target", `${url.pathname}${url.search}`],
    ["@authority", authorityOf(url)],
    ["audiohook-organization-id", input.organizationId],
    ["audiohook-session-id", input.sessionId],
    ["audiohook-correlation-id", input.correlationId],
    ["x-api-key", input.apiKey],
  ];
  const created = Math.floor(input.created ?? Date.now() / 1000);
  const expires = created + Math.floor(input.lifetimeSeconds ?? 30);
  const nonce = input.nonce ?? randomBytes(18).toString("base64");
  const params = `;keyid=${sfString(input.apiKey)};nonce=${sfString(nonce)};alg="hmac-sha256";created=${created};expires=${expires}`;
  const signatureParams = `(${components.map(([name]) => sfString(name)).join(" ")})${params}`;
  const base = [...components.map(([name, value]) => `${sfString(name)}: ${value.trim()}`), `"@signature-params": ${signatureParams}`].join("\n");
  const mac = createHmac("sha256", input.clientSecret).update(base).digest("base64");
  return { "signature-input": `sig1=${signatureParams}`, signature: `sig1=:${mac}:` };
}
