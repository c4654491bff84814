/**
 * What the Library does with an `fdc3.contact` (FDC3 2.2 standard context), from the
 * `ViewInteractions` intent or the user channel: validate it (ajv, `src/contracts`), and turn it
 * into the search's participant filter: its e-mail, else its phone (the server matches either
 * exactly, `src/server/library/store.ts`). Pure, so tests need no desktop agent.
 */
import { validateContext } from "../../contracts";

/** The search filter a contact opens: `participant` (an e-mail or a phone) and a label to show. */
export interface ContactFilter {
  participant: string;
  /** The contact's name, else the participant value. */
  label: string;
}

/** `fdc3.transactionResult` with status Failed (FDC3 2.2 standard context). */
export interface FailedResult {
  type: "fdc3.transactionResult";
  status: "Failed";
  message: string;
}

/**
 * Read a contact.
 * @param context whatever the desktop agent delivered
 * @returns `{ok: true, filter}`, or `{ok: false, error}` naming the problem (another context type,
 *   a field that fails the schema, or a contact with neither `id.email` nor `id.phone`). Never throws.
 */
export function contactFilter(context: unknown): { ok: true; filter: ContactFilter } | { ok: false; error: string } {
  const type = (context as { type?: unknown } | null)?.type;
  if (type !== "fdc3.contact") return { ok: false, error: `expected an fdc3.contact, got ${typeof type === "string" ? type : "no context type"}` };
  const v = validateContext(context);
  if (!v.valid) return { ok: false, error: v.error };
  const c = context as { name?: string; id: { email?: string; phone?: string } };
  const participant = c.id.email?.trim() || c.id.phone?.trim();
  if (!participant) return { ok: false, error: "the fdc3.contact has neither id.email nor id.phone to look calls up by" };
  if (participant.length < 3 || participant.length > 254) return { ok: false, error: "the contact's e-mail or phone must be 3 to 254 characters" };
  return { ok: true, filter: { participant, label: c.name?.trim() || participant } };
}

/**
 * The answer to a refused `ViewInteractions`: a Failed `fdc3.transactionResult` (the beta desktop
 * agent leaves the raiser waiting when a handler throws, DESIGN §7).
 */
export function refusal(error: string): FailedResult {
  return { type: "fdc3.transactionResult", status: "Failed", message: `Callscribe Library refused ViewInteractions: ${error}` };
}
