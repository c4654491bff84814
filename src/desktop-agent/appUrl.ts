/**
 * App identity by URL, as the FDC3 Web Connection Protocol asks a desktop agent to check it:
 * the `identityUrl` / `actualUrl` an app sends in `WCP4ValidateAppIdentity` must belong to the
 * App Directory record of the window it runs in.
 */

/**
 * The part of a URL that names the app: origin plus path, with a trailing `index.html`
 * dropped (`/transcriber/` and `/transcriber/index.html` are the same page). Query and hash
 * are ignored: apps may keep state there.
 * @throws TypeError when `url` does not parse
 */
export function appUrlKey(url: string, base?: string): string {
  const u = new URL(url, base);
  const path = u.pathname.replace(/\/index\.html$/, "/");
  return `${u.origin}${path}`;
}

/**
 * Whether `candidate` (an app's identity or actual URL) is the page of the directory record
 * whose resolved URL is `recordUrl`. Unparseable input is simply not a match.
 */
export function isSameAppUrl(candidate: unknown, recordUrl: string): boolean {
  if (typeof candidate !== "string" || candidate.length === 0) return false;
  try {
    return appUrlKey(candidate) === appUrlKey(recordUrl);
  } catch {
    return false;
  }
}
