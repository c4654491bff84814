/**
 * A CRM's answer to SaveTranscript, kept in the transcript's library entry (issue 9 §1: "every CRM
 * that saved them with the `fdc3.transactionResult` it returned"; saving again adds to that
 * history). The body is the one the Library app sends for its own saves (`src/library/api/saves.ts`:
 * `{appId, result}` to `POST /v1/transcripts/:id/saves`); here it goes through the outbox, so it
 * waits for the transcript's own upload and survives the server being away.
 */
import type { Transcript } from "../../contracts";
import type { LibraryOutbox } from "./outbox";

/**
 * Queue `result` (a valid `fdc3.transactionResult`) from `appId` for `transcript`. Never throws:
 * a failure to queue is reported to `onError` (the CRM save itself has succeeded either way).
 */
export function recordCrmSave(outbox: Promise<LibraryOutbox>, transcript: Transcript, appId: string, result: Record<string, unknown>, onError: (message: string) => void): void {
  outbox
    .then((o) => o.addSave(transcript, appId, result))
    .catch((e: unknown) => onError(`the CRM's answer could not be queued for the library: ${e instanceof Error ? e.message : String(e)}`));
}
