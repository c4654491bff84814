/**
 * AudioHook connection authentication (the spec's "Authentication" section): the `X-API-KEY`
 * header names the integration, and when the integration has a client secret the upgrade request
 * carries an HTTP Message Signature (RFC 9421, as drafted when AudioHook adopted it) over
 * `@request-target`, `@authority`, `audiohook-organization-id`, `audiohook-session-id`,
 * `audiohook-correlation-id` and `x-api-key`, with parameters `keyid` (= the API key), `nonce`,
 * `alg="hmac-sha256"`, `created` and `expires` (Unix seconds); the key is the base64-decoded
 * client secret. We check the MAC in constant time, `created` not in the future and not older
 * than the age limit, `expires` not passed, and that a nonce is never used twice within its
 * lifetime ({@link NonceCache}, bounded).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isInnerList, parseDictionary, serializeInnerList, serializeItem, StructuredFieldError, type BareItem, type InnerList } from "./structured-fields";

/** Components the signature must cover. */
export const REQUIRED_COMPONENTS = ["@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id", "x-api-key"];

/** Constant-time string equality (SHA-256 digests, `timingSafeEqual`). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

/**
 * Nonces seen, each kept until its signature could no longer be accepted anyway; at most
 * `maxEntries` (expired ones are dropped first; when all are live, new ones are refused).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(
    readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remember `nonce` until `untilMs`. @returns "fresh", "replayed", or "full" */
  use(nonce: string, untilMs: number): "fresh" | "replayed" | "full" {
    const t = this.now();
    const known = this.seen.get(nonce);
    if (known !== undefined && known > t) return "replayed";
    if (this.seen.size >= this.maxEntries) {
      for (const [n, until] of this.seen) if (until <= t) this.seen.delete(n);
      if (this.seen.size >= this.maxEntries) return "full";
    }
    this.seen.delete(nonce);
    this.seen.set(nonce, untilMs);
    return "fresh";
  }

  get size(): number {
    return this.seen.size;
  }
}

/** Options of {@link verifyAudiohookSignature}. */
export interface SignatureCheck {
  headers: IncomingHttpHeaders;
  /** The request target as received (path and query), for `@request-target`. */
  target: string;
  method: string;
  /** The client secret (base64-decoded CALLSCRIBE_AUDIOHOOK_CLIENT_SECRET). */
  secret: Buffer;
  /** The API key the request presented (already checked); `keyid` must equal it. */
  apiKey: string;
  nonces: NonceCache;
  /** Oldest `created` accepted, seconds. Default 30. */
  maxAgeSeconds?: number;
  /** Clock skew tolerated, seconds. Default 5. */
  skewSeconds?: number;
  /** Unix time now, seconds. Default `Date.now()/1000`. */
  nowSeconds?: number;
}

/** A refused signature: why, in words a client operator can act on. */
export type SignatureResult = { ok: true } | { ok: false; reason: string; status: 401 | 503 };

const fail = (reason: string, status: 401 | 503 = 401): SignatureResult => ({ ok: false, reason, status });

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => x.trim().replace(/[ \t]*\r\n[ \t]+/g, " ")).join(", ");
}

function param(list: InnerList, name: string): BareItem | undefined {
  return list.params.find(([k]) => k === name)?.[1];
}

/**
 * Verify the request's `Signature-Input` / `Signature` headers (the first signature label).
 * Never throws.
 */
export function verifyAudiohookSignature(check: SignatureCheck): SignatureResult {
  const maxAge = check.maxAgeSeconds ?? 30;
  const skew = check.skewSeconds ?? 5;
  const now = check.nowSeconds ?? Date.now() / 1000;
  const inputHeader = header(check.headers, "signature-input");
  const sigHeader = header(check.headers, "signature");
  if (!inputHeader || !sigHeader) return fail("the request is not signed: Signature-Input and Signature headers are required (the integration has a client secret)");
  if (inputHeader.length > 4096 || sigHeader.length > 4096) return fail("signature headers too long");
  let inputs, sigs;
  try {
    inputs = parseDictionary(inputHeader);
    sigs = parseDictionary(sigHeader);
  } catch (err) {
    return fail(`signature headers do not parse as structured fields: ${err instanceof StructuredFieldError ? err.message : "invalid"}`);
  }
  const [label, input] = [...inputs][0] ?? [];
  if (!label || !input || !isInnerList(input)) return fail("Signature-Input has no signature (expected label=(components);params)");
  const sig = sigs.get(label);
  if (!sig || isInnerList(sig) || !(sig.value instanceof Uint8Array)) return fail(`Signature has no byte sequence for label ${label}`);

  const alg = param(input, "alg");
  if (alg !== undefined && alg !== "hmac-sha256") return fail(`signature algorithm ${JSON.stringify(alg)} is not supported (hmac-sha256)`);
  const keyid = param(input, "keyid");
  if (typeof keyid !== "string" || !safeEqual(keyid, check.apiKey)) return fail("signature keyid does not match X-API-KEY");
  const created = param(input, "created");
  if (typeof created !== "number" || !Number.isInteger(created)) return fail("signature has no created time");
  if (created > now + skew) return fail("signature created time is in the future");
  if (created < now - maxAge - skew) return fail(`signature is too old (created ${Math.round(now - created)} s ago, at most ${maxAge} s)`);
  const expires = param(input, "expires");
  if (expires !== undefined && (typeof expires !== "number" || expires < now - skew)) return fail("signature has expired");
  const nonce = param(input, "nonce");
  if (typeof nonce !== "string" || nonce.length < 16 || nonce.length > 256) return fail("signature needs a nonce of 16 to 256 characters");

  const lines: string[] = [];
  const covered = new Set<string>();
  for (const item of input.items) {
    if (typeof item.value !== "string" || item.params.length > 0) return fail("signature components must be plain strings");
    const name = item.value;
    if (covered.has(name)) return fail(`signature covers ${name} twice`);
    let value: string | undefined;
    if (name === "@request-target") value = check.target;
    else if (name === "@authority") value = header(check.headers, "host")?.toLowerCase();
    else if (name === "@method") value = check.method.toUpperCase();
    else if (name === "@path") value = check.target.split("?")[0];
    else if (name === "@query") value = `?${check.target.split("?")[1] ?? ""}`;
    else if (name.startsWith("@")) return fail(`signature component ${name} is not supported`);
    else value = header(check.headers, name);
    if (value === undefined) return fail(`signature covers ${name}, which the request lacks`);
    lines.push(`${serializeItem(item)}: ${value}`);
    covered.add(name);
  }
  const missing = REQUIRED_COMPONENTS.filter((c) => !covered.has(c));
  if (missing.length > 0) return fail(`signature does not cover ${missing.join(", ")}`);
  lines.push(`"@signature-params": ${serializeInnerList(input)}`);
  const expected = createHmac("sha256", check.secret).update(lines.join("\n")).digest();
  const given = Buffer.from(sig.value);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail("signature does not match");

  // Only a verified signature spends a cache entry, so junk cannot fill it.
  // Past `created + maxAge + skew` the age check refuses the signature anyway.
  const until = (created + maxAge + skew) * 1000;
  const used = check.nonces.use(nonce, until);
  if (used === "replayed") return fail("signature nonce was already used (replayed request)");
  if (used === "full") return fail("too many signed connections in the last seconds; retry later", 503);
  return { ok: true };
}
