/**
 * A softphone that holds the call's audio itself streams both legs over `/v1/listen` with
 * `multichannel=true&channels=2` and Deepgram's `extra` parameter naming the call:
 * `extra=call_id:<id>` (required), and optionally `extra=agent_name:<name>`,
 * `extra=customer_name:<name>`, `extra=phone_number:<E.164>`, `extra=direction:inbound|outbound`.
 * Channel 0 is the agent, channel 1 the customer. The extras are validated with ajv.
 */
import Ajv from "ajv";
import type { LiveSessionOutcome } from "../speech/live-session";
import type { LiveCallMetadata, LiveCallStart } from "./types";

/** Call ids as the calls API accepts them (`pipeline/api.ts`). */
export const CALL_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";

const EXTRA_SCHEMA = {
  type: "object",
  required: ["call_id"],
  properties: {
    call_id: { type: "string", pattern: CALL_ID_PATTERN },
    agent_name: { type: "string", minLength: 1, maxLength: 200 },
    customer_name: { type: "string", minLength: 1, maxLength: 200 },
    phone_number: { type: "string", pattern: "^\\+?[0-9 ()./-]{3,32}$" },
    direction: { enum: ["inbound", "outbound"] },
  },
} as const;

const validateExtra = new Ajv({ allErrors: false, strict: false }).compile(EXTRA_SCHEMA);

/**
 * The live call a listen session's `extra` names.
 * @returns undefined when there is no `call_id`; `{ok: false, message}` naming the bad extra
 */
export function listenCallStart(extra: Record<string, string>): { ok: true; start: LiveCallStart } | { ok: false; message: string } | undefined {
  if (extra.call_id === undefined) return undefined;
  if (!validateExtra(extra)) {
    const err = validateExtra.errors?.[0];
    const key = err?.instancePath.slice(1) || "call_id";
    return { ok: false, message: `Invalid value for query parameter extra=${key}: ${key === "call_id" ? "a call id is 1–128 characters A–Z a–z 0–9 . _ : -" : (err?.message ?? "invalid")}.` };
  }
  const participants: NonNullable<LiveCallMetadata["participants"]> = [];
  if (extra.agent_name) participants.push({ name: extra.agent_name, role: "agent" });
  if (extra.customer_name || extra.phone_number) participants.push({ ...(extra.customer_name && { name: extra.customer_name }), ...(extra.phone_number && { phone: extra.phone_number }), role: "customer" });
  const metadata: LiveCallMetadata = {
    call_id: extra.call_id,
    ...(participants.length > 0 && { participants }),
    ...(extra.direction && { direction: extra.direction as "inbound" | "outbound" }),
    ...(extra.phone_number && { phone_number: extra.phone_number }),
  };
  return { ok: true, start: { callId: extra.call_id, source: "listen", metadata } };
}

/** Why a call fed by a listen session ended badly; undefined after a proper CloseStream. */
export function describeOutcome(outcome: LiveSessionOutcome | undefined): string | undefined {
  if (!outcome || outcome.kind === "normal") return undefined;
  if (outcome.kind === "client-closed") return `the stream closed without CloseStream (code ${outcome.code})`;
  return `the stream failed (${outcome.code}${outcome.reason ? `: ${outcome.reason}` : ""})`;
}
