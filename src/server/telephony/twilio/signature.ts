/**
 * Twilio request signatures (`X-Twilio-Signature`), per Twilio's "Webhooks security" page
 * (twilio.com/docs/usage/webhooks/webhooks-security): base64 of HMAC-SHA1, keyed with the
 * account's auth token, over the full URL Twilio requested, followed (for form posts) by every
 * POST parameter's name and value, sorted by name. A Media Stream's WebSocket upgrade is a GET
 * without parameters, so the signed text is the URL alone: the `wss://` URL exactly as written in
 * `<Stream url="…">` (Twilio's `<Stream>` URL takes no query string; custom values travel as
 * `<Parameter>`s in the `start` message). Twilio's own validators accept the URL both with and
 * without the scheme's default port, since Twilio's signing is inconsistent there; so do we.
 *
 * Comparison is constant-time (`timingSafeEqual` on SHA-256 digests of both sides, so lengths
 * leak nothing either).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * The signature Twilio sends for `url` (and, for form posts, `params`).
 * @param authToken the account's auth token (the HMAC key)
 * @param url the full URL as Twilio requested it, query string included
 * @param params POST form parameters; none for GET and WebSocket upgrades
 * @returns base64 HMAC-SHA1
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string> = {}): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf8")).digest("base64");
}

const DEFAULT_PORT: Record<string, string> = { "ws:": "80", "http:": "80", "wss:": "443", "https:": "443" };

/**
 * The spellings of one URL that Twilio may have signed: as given, without the scheme's default
 * port, and with it (`wss://h/p`, `wss://h:443/p`). A URL that does not parse is its only spelling.
 */
export function urlSpellings(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/is.exec(url);
  const port = m ? DEFAULT_PORT[m[1]!.toLowerCase()] : undefined;
  if (!m || port === undefined) return [url];
  const [, scheme, authority, tail] = m as unknown as [string, string, string, string];
  const withDefault = new RegExp(`:${port}$`);
  if (withDefault.test(authority)) return [url, `${scheme}//${authority.replace(withDefault, "")}${tail}`];
  if (/:\d*$/.test(authority)) return [url]; // another port: signed as is
  return [url, `${scheme}//${authority}:${port}${tail}`];
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether `presented` is Twilio's signature of one of `urls` (each in its default-port spellings).
 * @param authToken CALLSCRIBE_TWILIO_AUTH_TOKEN
 * @param presented the `X-Twilio-Signature` header; undefined or empty never matches
 * @param urls the URLs the request may have been signed under (public URL, Host-based URL)
 */
export function verifyTwilioSignature(authToken: string, presented: string | undefined, urls: readonly string[], params: Record<string, string> = {}): boolean {
  if (!presented || presented.length > 256) return false;
  const given = digest(presented);
  let ok = false;
  for (const url of urls) {
    for (const spelling of urlSpellings(url)) {
      // No early exit: every candidate is computed and compared.
      if (timingSafeEqual(given, digest(twilioSignature(authToken, spelling, params)))) ok = true;
    }
  }
  return ok;
}
