/**
 * The Library's FDC3 behaviour on a connected desktop agent:
 * - handles the standard `ViewInteractions` intent with an `fdc3.contact`: the search opens filtered
 *   to that person (no result on success; a refused context gets a Failed `fdc3.transactionResult`);
 * - follows `fdc3.contact` on its user channel the same way (a refused one is only reported);
 * - an `fdc3.transcript` (opened with `fdc3.open(library, transcript)`, e.g. from the transcriber's
 *   "Open transcript" notification, or on the user channel) opens that transcript, by its
 *   `id.transcriptId`;
 * - saves a transcript as the transcriber does ({@link saveToCrm}): `SaveTranscript`, or the standard
 *   `CreateInteraction` with an `fdc3.interaction` for CRMs that know only that, with the "Save to…"
 *   chooser when both kinds are in the desktop; returns the CRM's `fdc3.transactionResult`.
 */
import type { Context, DesktopAgent, Listener } from "@finos/fdc3";
import { validateContext, type Transcript } from "../../contracts";
import type { SaveIntent } from "../../transcriber/fdc3/save-targets";
import { saveTranscriptAnywhere, type ChooseSaveTarget } from "../../transcriber/fdc3/save";
import { contactFilter, refusal, type ContactFilter } from "./contact";

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

/** What the CRM answered to the save intent. */
export interface SaveResult {
  appId: string;
  /** The app's App Directory title, when the desktop agent told it. */
  appTitle?: string;
  /** The intent that carried the transcript. */
  intent: SaveIntent;
  status: string;
  message?: string;
  /** The whole `fdc3.transactionResult`. */
  result: Record<string, unknown>;
}

/**
 * Save `transcript` the way the transcriber does (`transcriber/fdc3/save.ts` `saveTranscriptAnywhere`, plan in
 * `transcriber/fdc3/save-targets.ts`): SaveTranscript apps only → SaveTranscript, the desktop's
 * resolver picks; CreateInteraction apps only → CreateInteraction with the transcript's
 * `fdc3.interaction` (`interactionFromTranscript`); both kinds → `choose` (the "Save to…" chooser).
 * @returns the app, the intent and its `fdc3.transactionResult` (a Failed status is returned, not thrown)
 * @throws SaveCancelledError when the user closed the chooser or the resolver
 * @throws Error with a readable message when the transcript is invalid, no app can save, the
 *   intent cannot be resolved, or the answer is not a valid `fdc3.transactionResult`
 */
export async function saveToCrm(agent: DesktopAgent, transcript: Transcript, choose: ChooseSaveTarget): Promise<SaveResult> {
  let result: Record<string, unknown> | undefined;
  const outcome = await saveTranscriptAnywhere(agent, transcript, choose, (_appId, r) => {
    result = r;
  });
  // saveTranscriptAnywhere hands over every valid result before it returns; this guards that contract.
  if (!result) throw new Error(`${outcome.intent ?? "SaveTranscript"} via ${outcome.appId}: no fdc3.transactionResult to record`);
  return {
    appId: outcome.appId,
    ...(outcome.appTitle && { appTitle: outcome.appTitle }),
    intent: (outcome.intent as SaveIntent | undefined) ?? "SaveTranscript",
    status: outcome.status,
    ...(outcome.message && { message: outcome.message }),
    result,
  };
}
