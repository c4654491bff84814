/**
 * What a save step reports (shared by the controller, the transcriber's save code and the Library):
 * the outcome, and the error for a choice of app the user cancelled. No imports: cheap to share.
 */
/** Outcome of SaveTranscript as the UI shows it. */
export interface SaveOutcome {
  /** App that handled the intent (`IntentResolution.source.appId`). */
  appId: string;
  /** That app's title from the desktop agent's App Directory (`getAppMetadata`), when known. */
  appTitle?: string;
  /** `fdc3.transactionResult` `status`, e.g. `Created`, `Updated`, `Failed`. */
  status: string;
  /** The transaction result's `message`, if any. */
  message?: string;
  /** The intent that carried it: `SaveTranscript`, or the standard `CreateInteraction` (issue 10 §2). */
  intent?: string;
}

/**
 * Thrown by a `saveTranscript` step when the user cancelled the choice of app (FDC3
 * `ResolveError.UserCancelled`): the transcript is not saved, but nothing failed.
 */
export class SaveCancelledError extends Error {
  constructor(message = "the app choice was cancelled") {
    super(message);
    this.name = "SaveCancelledError";
  }
}
