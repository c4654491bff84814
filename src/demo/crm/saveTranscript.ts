/**
 * The CRMs' `SaveTranscript` intent handler, without the UI or the database: validate the
 * context, store it, answer with an `fdc3.transactionResult` (FDC3 2.2 standard context type).
 *
 * FDC3 2.2.1-beta.2's agent proxy cannot send an error back as an intent result (a handler
 * that throws leaves the raiser waiting), so a refused context is answered with status
 * `Failed` and a message that names the problem.
 */
import { assertContext, validateContext, type Transcript } from "../../contracts";

/** What the CRM keeps per transcript. `savedAt` is ISO 8601. */
export interface CrmRecord {
  recordId: string;
  savedAt: string;
  transcript: Transcript;
}

/** Storage the handler needs (IndexedDB in the browser, see `recordStore.ts`). */
export interface RecordStore {
  /** Stores a new record for the transcript, or replaces the one with the same transcriptId. */
  upsert(transcript: Transcript, savedAt: string): Promise<{ record: CrmRecord; created: boolean }>;
}

/** A stored transcript as sent back: the transcript with the CRM's record id added to `id`. */
export type StoredTranscript = Transcript & { id: { crmRecordId: string } };

/** `fdc3.transactionResult` (only the fields we set). */
export interface TransactionResult {
  type: "fdc3.transactionResult";
  status: "Created" | "Updated" | "Failed";
  context?: StoredTranscript;
  message: string;
}

/** Outcome for the UI: the result sent back, plus the stored record or the refusal reason. */
export type SaveOutcome =
  | { ok: true; result: TransactionResult; record: CrmRecord }
  | { ok: false; result: TransactionResult; error: string };

/**
 * Handle one `SaveTranscript` context.
 * @param context whatever the desktop agent delivered
 * @param store where records go
 * @param crmName shown in messages, e.g. "Notes CRM"
 * @returns never rejects: storage errors become a `Failed` result too
 */
export async function saveTranscript(context: unknown, store: RecordStore, crmName: string, now = () => new Date()): Promise<SaveOutcome> {
  let transcript: Transcript;
  try {
    transcript = assertContext<Transcript>(context, ["fdc3.transcript"]);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ok: false, error, result: failed(`${crmName} refused the transcript: ${error}`) };
  }
  try {
    const { record, created } = await store.upsert(transcript, now().toISOString());
    const stored: StoredTranscript = { ...record.transcript, id: { ...record.transcript.id, crmRecordId: record.recordId } };
    const result: TransactionResult = {
      type: "fdc3.transactionResult",
      status: created ? "Created" : "Updated",
      context: stored,
      message: `${created ? "Saved" : "Updated"} as ${record.recordId} in ${crmName}`,
    };
    // Our own answer crosses a boundary too.
    const checked = validateContext(result);
    if (!checked.valid) throw new Error(`built an invalid result: ${checked.error}`);
    return { ok: true, result, record };
  } catch (e) {
    const error = `could not store the transcript: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, error, result: failed(`${crmName} ${error}`) };
  }
}

function failed(message: string): TransactionResult {
  return { type: "fdc3.transactionResult", status: "Failed", message };
}
