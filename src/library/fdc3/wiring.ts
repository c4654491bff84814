/**
 * The Library's FDC3 behaviour on a connected desktop agent:
 * - handles the standard `ViewInteractions` intent with an `fdc3.contact`: the search opens filtered
 *   to that person (no result on success; a refused context gets a Failed `fdc3.transactionResult`);
 * - follows `fdc3.contact` on its user channel the same way (a refused one is only reported);
 * - an `fdc3.transcript` (opened with `fdc3.open(library, transcript)`, e.g. from the transcriber's
 *   "Open transcript" notification, or on the user channel) opens that transcript, by its
 *   `id.transcriptId`;
 * - raises `SaveTranscript` with a transcript (the user picks the CRM in the desktop's resolver)
 *   and returns the CRM's `fdc3.transactionResult`.
 */
import type { Context, DesktopAgent, Listener } from "@finos/fdc3";
import { IntentName, validateContext, type Transcript } from "../../contracts";
import { contactFilter, refusal, type ContactFilter } from "./contact";
import { errorText } from "./agent";

/** The standard FDC3 intent the Library handles. */
export const VIEW_INTERACTIONS = "ViewInteractions";

/** Callbacks of {@link wireLibrary}. */
export interface LibraryFdc3Events {
  /** A valid contact arrived (`via`: the intent or the user channel). */
  onContact(filter: ContactFilter, via: "intent" | "channel"): void;
  /** A valid `fdc3.transcript` arrived: open the library's entry for its `id.transcriptId`. */
  onTranscript(transcriptId: string): void;
  /** A context was refused, with the reason. */
  onRefused(error: string, via: "intent" | "channel"): void;
}

/** Register the intent and context listeners. @returns a function that removes them */
export async function wireLibrary(agent: DesktopAgent, events: LibraryFdc3Events): Promise<() => Promise<void>> {
  const listeners: Listener[] = [];
  listeners.push(
    await agent.addIntentListener(VIEW_INTERACTIONS, async (context) => {
      const read = contactFilter(context);
      if (!read.ok) {
        events.onRefused(read.error, "intent");
        return refusal(read.error) as unknown as Context;
      }
      events.onContact(read.filter, "intent");
      return undefined;
    }),
  );
  listeners.push(
    await agent.addContextListener("fdc3.contact", (context) => {
      const read = contactFilter(context);
      if (read.ok) events.onContact(read.filter, "channel");
      else events.onRefused(read.error, "channel");
    }),
  );
  listeners.push(
    await agent.addContextListener("fdc3.transcript", (context) => {
      const v = validateContext(context);
      if (v.valid) events.onTranscript((context as unknown as Transcript).id.transcriptId);
      else events.onRefused(`invalid fdc3.transcript: ${v.error}`, "channel");
    }),
  );
  return async () => {
    await Promise.all(listeners.map((l) => l.unsubscribe()));
  };
}

/** What a CRM answered to SaveTranscript. */
export interface SaveResult {
  appId: string;
  status: string;
  message?: string;
  /** The whole `fdc3.transactionResult`. */
  result: Record<string, unknown>;
}

const FDC3_ERRORS: Record<string, string> = {
  NoAppsFound: "no app can save a transcript",
  UserCancelledResolution: "the app choice was cancelled",
  ResolverUnavailable: "the desktop's intent resolver is unavailable",
  ResolverTimeout: "no app was chosen in time",
  TargetAppUnavailable: "the chosen app could not be started",
  IntentDeliveryFailed: "the chosen app did not accept SaveTranscript in time",
  NoResultReturned: "the app returned no result",
  IntentHandlerRejected: "the app failed to save",
  ApiTimeout: "the desktop agent timed out",
};

/**
 * Raise SaveTranscript with `transcript` and wait for the CRM's answer.
 * @returns the app and its `fdc3.transactionResult` (a Failed status is returned, not thrown)
 * @throws Error with a readable message when the transcript is invalid, the intent cannot be
 *   resolved, or the answer is not a valid `fdc3.transactionResult`
 */
export async function raiseSaveTranscript(agent: DesktopAgent, transcript: Transcript): Promise<SaveResult> {
  const checked = validateContext(transcript);
  if (!checked.valid) throw new Error(`not raising SaveTranscript: ${checked.error}`);
  let appId = "unknown app";
  try {
    const resolution = await agent.raiseIntent(IntentName.SaveTranscript, transcript as Context);
    appId = resolution.source.appId;
    const result = (await resolution.getResult()) as Context | undefined;
    if (!result || typeof (result as { broadcast?: unknown }).broadcast === "function") throw new Error("NoResultReturned");
    const valid = validateContext(result);
    if (!valid.valid) throw new Error(`${appId} returned an invalid result: ${valid.error}`);
    if (result.type !== "fdc3.transactionResult") throw new Error(`${appId} returned ${result.type}, expected fdc3.transactionResult`);
    const tr = result as unknown as { status: string; message?: string };
    return { appId, status: tr.status, ...(tr.message && { message: tr.message }), result: result as unknown as Record<string, unknown> };
  } catch (e) {
    const raw = errorText(e);
    const text = FDC3_ERRORS[raw] ?? raw;
    throw new Error(appId === "unknown app" ? `SaveTranscript: ${text}` : `SaveTranscript via ${appId}: ${text}`);
  }
}
