/**
 * "View calls" in the demo CRMs: the record's contact as an `fdc3.contact` (FDC3 2.2 standard
 * context) for the standard `ViewInteractions` intent, which the Callscribe Library handles.
 */
import { validateContext, type Transcript } from "../../contracts";

/** The standard intent name. */
export const VIEW_INTERACTIONS = "ViewInteractions";

/** An `fdc3.contact` with an e-mail and/or a phone. */
export interface ContactContext {
  type: "fdc3.contact";
  name?: string;
  id: { email?: string; phone?: string };
}

/**
 * The first participant of a stored transcript that has an e-mail or a phone, as an `fdc3.contact`
 * (valid against the standard schema); undefined when none has either.
 */
export function recordContact(t: Transcript): ContactContext | undefined {
  for (const c of t.participants?.contacts ?? []) {
    const id = c.id as { email?: string; phone?: string };
    if (!id.email && !id.phone) continue;
    const contact: ContactContext = { type: "fdc3.contact", ...(c.name && { name: c.name }), id: { ...(id.email && { email: id.email }), ...(id.phone && { phone: id.phone }) } };
    if (validateContext(contact).valid) return contact;
  }
  return undefined;
}
