/**
 * The transcriber's view of recorded calls (issue 4 §3): the finished recordings from the
 * server's calls API (`GET /v1/calls?status=done`) and one call's `fdc3.transcript`
 * (`GET /v1/calls/:id`), both validated with ajv before use.
 */
import Ajv from "ajv";
import { validateContext, type Transcript } from "../../contracts";
import { isNetworkError, unreachableMessage } from "../session/reachability";

/** One recording as the panel lists it. */
export interface RecordingSummary {
  callId: string;
  /** Pipeline status: queued, downloading, transcribing, analyzing, delivering, done or failed. */
  status: string;
  /** Why it failed (status `failed`). */
  reason?: string;
  /** ISO 8601: when the call started (webhook `start_time`), else when it was received. */
  when: string;
  direction?: "inbound" | "outbound";
  /** Names (or emails/phones) of the participants from the webhook. */
  participants: string[];
}

const LIST_SCHEMA = {
  type: "object",
  required: ["calls"],
  properties: {
    calls: {
      type: "array",
      items: {
        type: "object",
        required: ["call_id", "status", "created_at"],
        properties: {
          call_id: { type: "string", minLength: 1 },
          status: { type: "string" },
          reason: { type: "string" },
          created_at: { type: "string" },
          metadata: {
            type: "object",
            properties: {
              start_time: { type: "string" },
              direction: { enum: ["inbound", "outbound"] },
              participants: { type: "array", items: { type: "object" } },
            },
          },
        },
      },
    },
  },
} as const;

const CALL_SCHEMA = {
  type: "object",
  required: ["call_id", "status"],
  properties: { call_id: { type: "string" }, status: { type: "string" }, reason: { type: "string" }, transcript: { type: "object" } },
} as const;

let ajv: Ajv | undefined;
const compiled = <T extends object>(schema: T) => (ajv ??= new Ajv({ allErrors: false })).compile(schema);
let validateList: ReturnType<Ajv["compile"]> | undefined;
let validateCall: ReturnType<Ajv["compile"]> | undefined;

interface ListedCall {
  call_id: string;
  status: string;
  reason?: string;
  created_at: string;
  metadata?: { start_time?: string; direction?: "inbound" | "outbound"; participants?: { name?: string; email?: string; phone?: string }[] };
}

/** Options shared by the fetch functions. */
export interface RecordingsClientOptions {
  /** Server origin, e.g. `location.origin`. */
  baseUrl: string;
  /** API key, when the server requires one (sent as `Authorization: Token <key>`). */
  apiKey?: string;
  /** A fresh `library` token per request (the desktop host's), sent as `Authorization: Bearer`; the API key wins when both are set. */
  token?: () => Promise<string | undefined>;
  fetchImpl?: typeof fetch;
}

/** The `Authorization` header of a request: the API key, else a library token, else none. */
export async function authHeader(options: RecordingsClientOptions): Promise<Record<string, string>> {
  if (options.apiKey) return { authorization: `Token ${options.apiKey}` };
  const token = await options.token?.();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** @throws Error naming the server's address when nothing answers there (`fetch` says only "Failed to fetch") */
async function getJson(url: string, options: RecordingsClientOptions): Promise<unknown> {
  let res: Response;
  try {
    res = await (options.fetchImpl ?? fetch)(url, {
      headers: { accept: "application/json", ...(await authHeader(options)) },
    });
  } catch (e) {
    if (isNetworkError(e)) throw new Error(unreachableMessage(options.baseUrl));
    throw e;
  }
  if (!res.ok) {
    let reason = "";
    try {
      reason = ((await res.json()) as { err_msg?: string }).err_msg ?? ""; // the server's error shape
    } catch {
      // not JSON: the status says enough
    }
    // With CALLSCRIBE_API_KEY set, the desktop (no key, or a listen token) may transcribe but not read recorded calls (issue 7 §3).
    if (res.status === 403 || (res.status === 401 && !options.apiKey)) throw new Error("this desktop may transcribe but not read recorded calls: the server keeps them behind its API key");
    throw new Error(`${res.status === 401 ? "not authorised to list recordings" : `server answered ${res.status}`}${reason ? `: ${reason}` : ""}`);
  }
  return res.json();
}

/**
 * Finished recordings (status `done`), newest first.
 * @param limit at most this many (1–100)
 * @throws Error with a readable message when the server refuses or answers in an unexpected shape
 */
export function fetchFinishedRecordings(options: RecordingsClientOptions, limit = 20): Promise<RecordingSummary[]> {
  return listRecordings(options, `status=done&limit=${limit}`);
}

/**
 * Recorded calls in any status (queued … done, failed), newest first.
 * @param limit at most this many (1–100)
 * @throws as {@link fetchFinishedRecordings}
 */
export function fetchRecordings(options: RecordingsClientOptions, limit = 20): Promise<RecordingSummary[]> {
  return listRecordings(options, `source=recording&limit=${limit}`);
}

async function listRecordings(options: RecordingsClientOptions, query: string): Promise<RecordingSummary[]> {
  const body = await getJson(`${options.baseUrl}/v1/calls?${query}`, options).catch((e: unknown) => {
    // A speech server run without the recorded-call pipeline has no calls API.
    if (e instanceof Error && e.message.startsWith("server answered 404")) throw new Error(`the server at ${options.baseUrl} keeps no recorded calls (GET /v1/calls answered 404)`);
    throw e;
  });
  validateList ??= compiled(LIST_SCHEMA);
  if (!validateList(body)) throw new Error(`unexpected /v1/calls answer: ${validateList.errors?.[0]?.instancePath || "(root)"} ${validateList.errors?.[0]?.message}`);
  return (body as { calls: ListedCall[] }).calls.map((c) => ({
    callId: c.call_id,
    status: c.status,
    ...(c.reason !== undefined && { reason: c.reason }),
    when: c.metadata?.start_time ?? c.created_at,
    ...(c.metadata?.direction && { direction: c.metadata.direction }),
    participants: (c.metadata?.participants ?? []).map((p) => p.name ?? p.email ?? p.phone ?? "").filter((n) => n.length > 0),
  }));
}

/**
 * The finished `fdc3.transcript` of one call (with summary, topics and sentiment when analysed).
 * @throws Error when the call is not done or the transcript is not a valid `fdc3.transcript`
 */
export async function fetchRecordingTranscript(options: RecordingsClientOptions, callId: string): Promise<Transcript> {
  const body = await getJson(`${options.baseUrl}/v1/calls/${encodeURIComponent(callId)}`, options);
  validateCall ??= compiled(CALL_SCHEMA);
  if (!validateCall(body)) throw new Error(`unexpected /v1/calls/${callId} answer: ${validateCall.errors?.[0]?.message}`);
  const call = body as { status: string; reason?: string; transcript?: unknown };
  if (call.status !== "done" || !call.transcript) throw new Error(`call ${callId} has no finished transcript (status ${call.status}${call.reason ? `: ${call.reason}` : ""})`);
  const checked = validateContext(call.transcript);
  if (!checked.valid) throw new Error(`call ${callId}: invalid fdc3.transcript: ${checked.error}`);
  return call.transcript as Transcript;
}
