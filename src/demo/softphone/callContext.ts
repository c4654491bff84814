/**
 * Building the `fdc3.call` and `fdc3.contact` contexts the softphone broadcasts (schemas in
 * `contexts/call.schema.json` and the FDC3 standard). Every context is validated before it
 * leaves the app, so a bug here shows up as an error in the softphone, not in a peer app.
 */
import { assertContext, type Call, type Contact } from "../../contracts";
import type { DemoContact } from "./contacts";

/** A call as the softphone tracks it. Times are ISO 8601 strings. */
export interface PhoneCall {
  callId: string;
  direction: "inbound" | "outbound";
  state: Call["state"];
  contact: DemoContact;
  startTime?: string;
  endTime?: string;
}

/** `fdc3.contact` for a demo contact. @throws ContextValidationError if it does not match the schema */
export function contactContext(c: DemoContact) {
  return assertContext<Contact>({ type: "fdc3.contact", name: c.name, id: { email: c.email } }, ["fdc3.contact"]);
}

/** `fdc3.call` for the call's current state. @throws ContextValidationError if it does not match the schema */
export function callContext(call: PhoneCall): Call {
  const ctx: Call = {
    type: "fdc3.call",
    id: { callId: call.callId },
    direction: call.direction,
    state: call.state,
    participants: { type: "fdc3.contactList", contacts: [contactContext(call.contact)] },
    phoneNumber: call.contact.phoneNumber,
    ...(call.startTime ? { startTime: call.startTime } : {}),
    ...(call.endTime ? { endTime: call.endTime } : {}),
  };
  return assertContext<Call>(ctx, ["fdc3.call"]);
}
