/**
 * The transcriber's credential for our speech server when it runs in the Callscribe desktop: a
 * short-lived `listen` token asked from the desktop host (its parent frame) by postMessage, fresh
 * for every use (the host caches and refreshes it; see `src/desktop-agent/serverTokens.ts`). It is
 * sent like a key (`Sec-WebSocket-Protocol: token, <token>`, `Authorization: Token <token>`) and
 * opens only `/v1/listen` and `/v1/models`. Outside a desktop, or when the host has none, there is
 * no token: a server without an API key needs none.
 */

/** Message types, as the host defines them (`src/desktop-agent/serverTokens.ts`). */
const REQUEST = "callscribe/server-token-request";
const RESPONSE = "callscribe/server-token";

/**
 * Ask the host window for a server token.
 * @param win this app's window (its `parent`, or `opener`, is the host)
 * @param timeoutMs how long to wait for the host, ms
 * @param scope `listen` (audio, the default) or `library` (reading the transcript library)
 * @returns the token, or undefined when there is no host, it has no token, or it does not answer
 */
export function requestServerToken(win: Window = window, timeoutMs = 5_000, scope: "listen" | "library" = "listen"): Promise<string | undefined> {
  const host = win.parent !== win ? win.parent : (win.opener as Window | null);
  if (!host) return Promise.resolve(undefined);
  const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve) => {
    const done = (token: string | undefined) => {
      clearTimeout(timer);
      win.removeEventListener("message", onMessage);
      resolve(token);
    };
    const onMessage = (event: MessageEvent) => {
      const data = event.data as { type?: unknown; id?: unknown; token?: unknown; error?: unknown } | null;
      if (event.source !== host || data?.type !== RESPONSE || data.id !== id) return;
      if (typeof data.error === "string") console.warn(`speech server token: ${data.error}`);
      done(typeof data.token === "string" ? data.token : undefined);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    win.addEventListener("message", onMessage);
    // Only a host on our own origin (the server's pages) may answer; the token never goes elsewhere.
    host.postMessage({ type: REQUEST, id, scope }, win.location.origin);
  });
}
