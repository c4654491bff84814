/**
 * Telling "the speech server is not there" apart from "it refused": a browser reports a
 * WebSocket that could not connect only as a close (code 1006, no reason) and a failed `fetch`
 * only as `TypeError: Failed to fetch`. One `GET /healthz` settles it: any HTTP answer means the
 * server is reachable (and refused for its own reasons); no answer means it is not.
 */

/** The message a user gets when nothing answers at `baseUrl`. */
export function unreachableMessage(baseUrl: string): string {
  return `cannot reach the speech server at ${baseUrl} (is it running, and is this its address?)`;
}

/**
 * Whether anything answers HTTP at `baseUrl` (`GET /healthz`; any status counts).
 * @param timeoutMs give up after this long (ms): no answer counts as unreachable. Default 3000.
 */
export async function isSpeechServerReachable(baseUrl: string, fetchImpl: typeof fetch = fetch, timeoutMs = 3000): Promise<boolean> {
  try {
    await fetchImpl(`${baseUrl}/healthz`, { cache: "no-store", signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

/** Whether `error` is what `fetch` throws when no HTTP answer came (network error, refused, DNS). */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError;
}
