/**
 * What a Twilio `start` message tells of the call: its id and its parties.
 *
 * Twilio itself sends only `accountSid`, `callSid`, `streamSid` and the tracks; everything else
 * comes from the `<Parameter name="…" value="…"/>`s of the `<Stream>` TwiML, which arrive as
 * `start.customParameters`. We read:
 *
 * | parameter | meaning |
 * |---|---|
 * | `callId` | the call's id in the desktop (the `fdc3.call` id the transcriber attaches by); else `callSid` |
 * | `agentName`, `agentEmail`, `agentId` | the agent (channel 0, track `outbound`) |
 * | `customerName` | the customer (channel 1, track `inbound`) |
 * | `from`, `to` (or Twilio's webhook spelling `From`, `To`) | the caller's and the dialled number (`dialled_number` = `to`) |
 * | `direction` | `inbound` (default: the customer called, so `from` is the customer's number) or `outbound` (the customer is `to`) |
 *
 * Other parameters are ignored. Values that do not fit (a phone "number" like `client:alice`)
 * are left out rather than refused; a `callId` that is not a valid call id is refused.
 */
import { CALL_ID_PATTERN as LIVE_CALL_ID_PATTERN } from "../../live-calls/listen-call";
import type { LiveCallMetadata } from "../../live-calls/types";
import type { StartMessage } from "./messages";

/** A call id as the rest of the server takes it (the live calls' and the recording-ready schema's rule). */
export const CALL_ID_PATTERN = new RegExp(LIVE_CALL_ID_PATTERN);
const PHONE_PATTERN = /^[0-9+() .#*-]{1,40}$/;
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/** The call id and metadata of a stream, or why the start message cannot open a call. */
export type StartMetadata = { ok: true; callId: string; metadata: LiveCallMetadata } | { ok: false; error: string };

function param(p: Record<string, string>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = p[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

/**
 * Read a `start` message's call id and parties (see the module comment).
 * @param startedAt the stream's start time (ISO 8601 `start_time`)
 */
export function metadataFromStart(message: StartMessage, startedAt: Date): StartMetadata {
  const p = message.start.customParameters ?? {};
  const given = param(p, "callId");
  const callId = given ?? message.start.callSid;
  if (!CALL_ID_PATTERN.test(callId)) {
    const field = given !== undefined ? "start.customParameters.callId" : "start.callSid";
    return { ok: false, error: `${field} is not a valid call id: 1 to 128 letters, digits and . _ : - starting with a letter or digit` };
  }
  const rawDirection = param(p, "direction");
  const direction = rawDirection === "inbound" || rawDirection === "outbound" ? rawDirection : undefined;
  const phone = (v: string | undefined) => (v !== undefined && PHONE_PATTERN.test(v) ? v : undefined);
  const from = phone(param(p, "from", "From"));
  const to = phone(param(p, "to", "To"));
  const customerPhone = direction === "outbound" ? to : from;
  const agentName = param(p, "agentName")?.slice(0, 200);
  const agentEmail = param(p, "agentEmail");
  const agentId = param(p, "agentId")?.slice(0, 128);
  const customerName = param(p, "customerName")?.slice(0, 200);
  const email = agentEmail !== undefined && EMAIL_PATTERN.test(agentEmail) ? agentEmail : undefined;

  const agent = { ...(agentName && { name: agentName }), ...(email && { email }), ...(agentId && { id: agentId }) };
  const metadata: LiveCallMetadata = {
    call_id: callId,
    participants: [
      { role: "agent", ...(agentName && { name: agentName }), ...(email && { email }) },
      { role: "customer", ...(customerName && { name: customerName }), ...(customerPhone && { phone: customerPhone }) },
    ],
    start_time: startedAt.toISOString(),
    ...(direction && { direction }),
    ...(Object.keys(agent).length > 0 && { agent }),
    ...(customerPhone && { phone_number: customerPhone }),
    ...(to && { dialled_number: to }),
  };
  return { ok: true, callId, metadata };
}
