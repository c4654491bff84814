/**
 * The Library's client for the server's transcript library API (`src/server/library/routes.ts`)
 * and dashboard API. Every request carries a `library` token asked from the desktop host
 * (`requestServerToken(…, "library")`; none outside a desktop, where a server without an API key
 * needs none). Answers are JSON; a refusal becomes an Error with the server's `err_msg`.
 */
import { requestServerToken } from "../../transcriber/session/server-token";

/** A non-2xx answer: `status` is the HTTP status, `code` the server's `err_code` when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** How the Library reaches the server. */
export interface LibraryApi {
  /** Server origin, e.g. `location.origin`. */
  baseUrl: string;
  /** GET `path` (with query) as JSON. @throws ApiError with the server's reason on a non-2xx answer */
  getJson<T>(path: string): Promise<T>;
  /** GET `path` as a Blob (audio). @throws ApiError with the status on a non-2xx answer */
  getBlob(path: string): Promise<Blob>;
}

/** The Library's API client against `baseUrl`, authenticated with the desktop's library tokens. */
export function createLibraryApi(baseUrl: string, token: () => Promise<string | undefined> = () => requestServerToken(window, 5_000, "library"), fetchImpl: typeof fetch = (...a) => fetch(...a)): LibraryApi {
  const get = async (path: string, accept: string): Promise<Response> => {
    const t = await token();
    const res = await fetchImpl(`${baseUrl}${path}`, { headers: { accept, ...(t && { authorization: `Bearer ${t}` }) } });
    if (!res.ok) {
      let reason = "";
      let code: string | undefined;
      try {
        const body = (await res.json()) as { err_msg?: string; err_code?: string };
        reason = body.err_msg ?? "";
        code = body.err_code;
      } catch {
        // not JSON: the status says enough
      }
      throw new ApiError(`${path.split("?")[0]}: the server answered ${res.status}${reason ? `: ${reason}` : ""}`, res.status, code);
    }
    return res;
  };
  return {
    baseUrl,
    getJson: async <T,>(path: string) => (await (await get(path, "application/json")).json()) as T,
    getBlob: async (path: string) => (await get(path, "*/*")).blob(),
  };
}
