/**
 * Recording a CRM's answer in the library's save history: `POST /v1/transcripts/:id/saves`
 * `{appId, result: fdc3.transactionResult}` (`src/server/library/routes.ts`). That route takes a
 * `listen` token (the transcriber's credential, which sends CRM results too), asked from the
 * desktop host like the library token.
 */
import { requestServerToken } from "../../transcriber/session/server-token";
import type { CrmSave } from "./types";

/**
 * @returns the whole save history, oldest first
 * @throws Error with the server's status and reason when it refuses
 */
export async function recordSave(
  baseUrl: string,
  id: string,
  appId: string,
  result: Record<string, unknown>,
  token: () => Promise<string | undefined> = () => requestServerToken(window, 5_000, "listen"),
): Promise<CrmSave[]> {
  const t = await token();
  const res = await fetch(`${baseUrl}/v1/transcripts/${encodeURIComponent(id)}/saves`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(t && { authorization: `Bearer ${t}` }) },
    body: JSON.stringify({ appId, result }),
  });
  const body = (await res.json().catch(() => ({}))) as { saves?: CrmSave[]; err_msg?: string };
  if (!res.ok || !body.saves) throw new Error(`recording the save: the server answered ${res.status}${body.err_msg ? `: ${body.err_msg}` : ""}`);
  return body.saves;
}
