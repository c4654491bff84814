/**
 * The softphone's side of the demo PBX (`src/server/telephony/demo-pbx/`): when a call connects,
 * ask the server's demo PBX to stream it (`POST /v1/demo/pbx/calls`), so the transcriber hears
 * both parties from the telephony side; on hang-up stop it (`DELETE /v1/demo/pbx/calls/:id`).
 * Requests carry the desktop's short-lived `listen` token when the host has one (the same token
 * the transcriber uses; `src/desktop-agent/serverTokens.ts`). Every failure becomes a line the
 * user can read, saying that the transcriber will use the microphone instead.
 */
import { requestServerToken } from "../../transcriber/session/server-token";
import type { PhoneCall } from "./callContext";

/** What the softphone shows about the demo PBX for the current call. */
export type PbxState =
  | { status: "idle" }
  | { status: "starting" }
  | { status: "streaming"; message: string }
  | { status: "unavailable"; message: string; detail?: string }
  | { status: "stopped"; message: string };

/** Shown while the PBX streams. */
export const STREAMING_MESSAGE = "Demo PBX streaming the call audio (two parties)";
/** Appended to every reason the PBX cannot stream. */
const MIC_FALLBACK = "the transcriber will use the microphone";

/** Longest wait for the PBX's answer, ms (it answers once the AudioHook session opened). */
const REQUEST_TIMEOUT_MS = 10_000;

async function authHeaders(): Promise<Record<string, string>> {
  const token = await requestServerToken();
  return token ? { authorization: `Token ${token}` } : {};
}

/** The server's `err_msg`, or the HTTP status. */
async function reasonOf(res: Response): Promise<{ code?: string; reason: string }> {
  const body = (await res.json().catch(() => undefined)) as { err_msg?: unknown; err_code?: unknown } | undefined;
  return { code: typeof body?.err_code === "string" ? body.err_code : undefined, reason: typeof body?.err_msg === "string" ? body.err_msg : `HTTP ${res.status}` };
}

/**
 * Ask the demo PBX to stream a connected call.
 * @param baseUrl the server's origin (the pages are served by it)
 * @returns `streaming`, or `unavailable` with the reason (no corpus, PBX off, server refused)
 */
export async function startDemoStream(baseUrl: string, call: PhoneCall): Promise<PbxState> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v1/demo/pbx/calls`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await authHeaders()) },
      body: JSON.stringify({ callId: call.callId, contact: { name: call.contact.name, phoneNumber: call.contact.phoneNumber, email: call.contact.email } }),
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    return { status: "unavailable", message: `Demo PBX not reachable; ${MIC_FALLBACK}`, detail: e instanceof Error ? e.message : String(e) };
  }
  if (res.status === 201) return { status: "streaming", message: STREAMING_MESSAGE };
  const { code, reason } = await reasonOf(res);
  if (code === "NO_DEMO_AUDIO") return { status: "unavailable", message: `No demo audio; ${MIC_FALLBACK}`, detail: reason };
  if (res.status === 404) return { status: "unavailable", message: `Demo PBX off on this server; ${MIC_FALLBACK}`, detail: "CALLSCRIBE_DEMO_PBX=on turns it on" };
  return { status: "unavailable", message: `Demo PBX cannot stream the call; ${MIC_FALLBACK}`, detail: reason };
}

/** Hang up the PBX's stream of the call (it closes the AudioHook session at once). Never throws. */
export async function stopDemoStream(baseUrl: string, callId: string): Promise<PbxState> {
  try {
    const res = await fetch(`${baseUrl}/v1/demo/pbx/calls/${encodeURIComponent(callId)}`, {
      method: "DELETE",
      headers: await authHeaders(),
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (res.ok || res.status === 404) return { status: "stopped", message: "Demo PBX stream ended" };
    return { status: "stopped", message: `Demo PBX: hang-up failed (${(await reasonOf(res)).reason})` };
  } catch (e) {
    return { status: "stopped", message: `Demo PBX: hang-up failed (${e instanceof Error ? e.message : String(e)})` };
  }
}

/**
 * Whether the PBX still streams the call (`GET /v1/demo/pbx/calls/:id`).
 * @returns false once it ended (404), true while it streams or when the server cannot say
 */
export async function demoStreamActive(baseUrl: string, callId: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/v1/demo/pbx/calls/${encodeURIComponent(callId)}`, { headers: await authHeaders(), cache: "no-store", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return res.status !== 404;
  } catch {
    return true;
  }
}
