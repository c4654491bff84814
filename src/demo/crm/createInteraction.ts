/**
 * The Standard CRM's `CreateInteraction` intent handler (FDC3 2.2 standard intent), without the UI
 * or the database: validate the `fdc3.interaction`, store it, answer with an
 * `fdc3.transactionResult` whose `context` is the interaction with the CRM's record id in `id`.
 *
 * Like `saveTranscript.ts`, a refusal is a `Failed` result with a message, never a throw (the
 * 2.2.1-beta.2 agent leaves the raiser waiting when a handler throws, DESIGN §7).
 */
import { assertContext, validateContext, type Interaction } from "../../contracts";

/** What the Standard CRM keeps per interaction. `savedAt` is ISO 8601. */
export interface InteractionRecord {
  recordId: string;
  savedAt: string;
  interaction: Interaction;
}

/** Storage the handler needs (IndexedDB in the browser, see `interactionStore.ts`). */
export interface InteractionStore {
  /** Stores a new record, or replaces the one for the same `id.Callscribe` (the same transcript saved again). */
  upsert(interaction: Interaction, savedAt: string): Promise<{ record: InteractionRecord; created: boolean }>;
}

/** The `id` key of the Standard CRM's own record id in the returned interaction. */
export const STANDARD_CRM_ID_KEY = "StandardCRM";

/** `fdc3.transactionResult` (only the fields we set). */
export interface InteractionResult {
  type: "fdc3.transactionResult";
  status: "Created" | "Updated" | "Failed";
  context?: Interaction & { id: Record<string, string> };
  message: string;
}

/** Outcome for the UI: the result sent back, plus the stored record or the refusal reason. */
export type CreateInteractionOutcome = { ok: true; result: InteractionResult; record: InteractionRecord } | { ok: false; result: InteractionResult; error: string };

/**
 * Handle one `CreateInteraction` context.
 * @param context whatever the desktop agent delivered
 * @param crmName shown in messages, e.g. "Standard CRM"
 * @returns never rejects: a refused context and storage errors become a `Failed` result
 */
export async function createInteraction(context: unknown, store: InteractionStore, crmName: string, now = () => new Date()): Promise<CreateInteractionOutcome> {
  let interaction: Interaction;
  try {
    interaction = assertContext<Interaction>(context, ["fdc3.interaction"]);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ok: false, error, result: failed(`${crmName} refused the interaction: ${error}`) };
  }
  try {
    const { record, created } = await store.upsert(interaction, now().toISOString());
    const result: InteractionResult = {
      type: "fdc3.transactionResult",
      status: created ? "Created" : "Updated",
      context: { ...record.interaction, id: { ...record.interaction.id, [STANDARD_CRM_ID_KEY]: record.recordId } },
      message: `${created ? "Saved" : "Updated"} interaction ${record.recordId} in ${crmName}`,
    };
    const checked = validateContext(result);
    if (!checked.valid) throw new Error(`built an invalid result: ${checked.error}`);
    return { ok: true, result, record };
  } catch (e) {
    const error = `could not store the interaction: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, error, result: failed(`${crmName} ${error}`) };
  }
}

function failed(message: string): InteractionResult {
  return { type: "fdc3.transactionResult", status: "Failed", message };
}
