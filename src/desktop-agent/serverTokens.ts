/**
 * The desktop host's side of authenticating to the Callscribe server when it has an API key
 * (trust model: `src/server/token-route.ts`). The host never sees the API key: `npm start` prints
 * a desktop link whose URL fragment carries a desktop secret (`#desktop=<secret>`), which can only
 * mint short-lived `listen` tokens. The host
 *
 * 1. takes the secret from the fragment, removes it from the address bar (and so from history),
 *    and keeps it in this tab's sessionStorage so a reload still works ({@link takeDesktopSecret});
 * 2. mints tokens with it (`POST /v1/auth/token`), cached and refreshed before they expire
 *    ({@link ServerTokenSource});
 * 3. hands them to its own app frames on request ({@link answerTokenRequests}), so apps hold only
 *    a token that opens `/v1/listen` and `/v1/models` (scope `listen`), or the transcript
 *    library's reads (scope `library`), for a few minutes.
 *
 * Without a key on the server no secret is needed: the server mints tokens for anyone, and apps
 * may as well use none.
 */

/** postMessage type an app sends to its host to ask for a server token. */
export const SERVER_TOKEN_REQUEST = "callscribe/server-token-request";
/** postMessage type of the host's answer: `{type, id, token?: string, error?: string}`. */
export const SERVER_TOKEN_RESPONSE = "callscribe/server-token";

const STORAGE_KEY = "callscribe.desktopSecret";

/**
 * The desktop secret: from the URL fragment (`#desktop=<secret>`, which is then removed from the
 * address bar), else from this tab's sessionStorage; undefined when there is none.
 */
export function takeDesktopSecret(win: Window = window): string | undefined {
  const params = new URLSearchParams(win.location.hash.replace(/^#/, ""));
  const fromLink = params.get("desktop");
  if (fromLink) {
    params.delete("desktop");
    const rest = params.toString();
    win.history.replaceState(win.history.state, "", `${win.location.pathname}${win.location.search}${rest ? `#${rest}` : ""}`);
    try {
      win.sessionStorage.setItem(STORAGE_KEY, fromLink);
    } catch {
      // storage denied: the secret lives for this page only
    }
    return fromLink;
  }
  try {
    return win.sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Token scopes an app may ask for: `listen` (audio) or `library` (reading the transcript library). */
export type ServerTokenScope = "listen" | "library";

/**
 * Mints tokens for the server at `baseUrl`, one current token per scope, kept until it is near
 * expiry.
 */
export class ServerTokenSource {
  private readonly current = new Map<ServerTokenScope, { token: string; expiresAt: number; lifetimeMs: number }>();
  private readonly pending = new Map<ServerTokenScope, Promise<string>>();

  /**
   * @param baseUrl the server's origin, e.g. `location.origin`
   * @param secret the desktop secret, if any (sent as `Authorization: Token <secret>`)
   */
  constructor(
    private readonly baseUrl: string,
    private readonly secret: string | undefined,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A token with at least a fifth of its lifetime (and 30 s) left, minted anew when needed.
   * @throws Error saying why the server refused (e.g. the desktop link is needed) or was unreachable
   */
  async token(scope: ServerTokenScope = "listen"): Promise<string> {
    const c = this.current.get(scope);
    if (c && c.expiresAt - this.now() > Math.max(30_000, c.lifetimeMs / 5)) return c.token;
    let pending = this.pending.get(scope);
    if (!pending) {
      pending = this.mint(scope).finally(() => this.pending.delete(scope));
      this.pending.set(scope, pending);
    }
    return pending;
  }

  private async mint(scope: ServerTokenScope): Promise<string> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.secret) headers.authorization = `Token ${this.secret}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}/v1/auth/token`, { method: "POST", headers, body: JSON.stringify({ scope }), cache: "no-store" });
    } catch (err) {
      throw new Error(`cannot reach the speech server at ${this.baseUrl} for a token (${err instanceof Error ? err.message : String(err)})`);
    }
    if (res.status === 401) {
      throw new Error(`the speech server at ${this.baseUrl} needs a key: open the desktop link that \`npm start\` printed (it ends in #desktop=…)`);
    }
    const body = (await res.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (!res.ok || typeof body?.access_token !== "string" || typeof body.expires_in !== "number") {
      throw new Error(`the speech server at ${this.baseUrl} did not grant a token (HTTP ${res.status})`);
    }
    const lifetimeMs = body.expires_in * 1000;
    this.current.set(scope, { token: body.access_token, expiresAt: this.now() + lifetimeMs, lifetimeMs });
    return body.access_token;
  }
}

/**
 * Answer {@link SERVER_TOKEN_REQUEST} messages from the host's own app frames that are served
 * from the host's origin (the server's pages); other windows get nothing. A request may name a
 * `scope` (`listen`, the default, or `library`); any other scope is answered with an error.
 * @returns a function that stops answering
 */
export function answerTokenRequests(win: Window, source: Pick<ServerTokenSource, "token">, isAppWindow: (w: MessageEventSource | null) => boolean): () => void {
  const onMessage = (event: MessageEvent) => {
    const data = event.data as { type?: unknown; id?: unknown; scope?: unknown } | null;
    if (data?.type !== SERVER_TOKEN_REQUEST || typeof data.id !== "string") return;
    if (event.origin !== win.location.origin || !isAppWindow(event.source) || !event.source) return;
    const reply = event.source as Window;
    const id = data.id;
    const scope = data.scope ?? "listen";
    if (scope !== "listen" && scope !== "library") {
      reply.postMessage({ type: SERVER_TOKEN_RESPONSE, id, error: `unknown token scope ${JSON.stringify(scope)}` }, event.origin);
      return;
    }
    source.token(scope).then(
      (token) => reply.postMessage({ type: SERVER_TOKEN_RESPONSE, id, token }, event.origin),
      (err: unknown) => reply.postMessage({ type: SERVER_TOKEN_RESPONSE, id, error: err instanceof Error ? err.message : String(err) }, event.origin),
    );
  };
  win.addEventListener("message", onMessage);
  return () => win.removeEventListener("message", onMessage);
}
