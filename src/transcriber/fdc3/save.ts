/**
 * Saving a transcript over FDC3 (issue 10 §2), for the transcriber and the Library alike:
 * SaveTranscript with the `fdc3.transcript`, or the standard CreateInteraction with its
 * `fdc3.interaction` for CRMs that know only the standard; the plan is `save-targets.ts`.
 * Kept apart from `wiring.ts` so the Library can use it without the transcriber's session code.
 */
import type { AppIdentifier, Channel, Context, DesktopAgent } from "@finos/fdc3";
import { CREATE_INTERACTION, IntentName, interactionFromTranscript, validateContext, type Transcript } from "../../contracts";
import { SaveCancelledError, type SaveOutcome } from "../session/save-outcome";
import { planSave, saveTargets, type FoundApps, type SaveIntent, type SaveTarget } from "./save-targets";

const errorText = (e: unknown): string => (e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e));

/** Readable text for FDC3 `ResolveError` / `ResultError` values. */
const FDC3_ERRORS: Record<string, string> = {
  NoAppsFound: "no app can save a transcript (no SaveTranscript handler in the App Directory)",
  UserCancelledResolution: "the app choice was cancelled",
  ResolverUnavailable: "the desktop's intent resolver is unavailable",
  ResolverTimeout: "no app was chosen in time",
  TargetAppUnavailable: "the chosen app could not be started",
  IntentDeliveryFailed: "the chosen app did not accept the intent in time",
  MalformedContext: "the desktop agent rejected the context as malformed",
  NoResultReturned: "the app returned no result",
  IntentHandlerRejected: "the app failed to save",
  ApiTimeout: "the desktop agent timed out",
};

/** Longest wait for the saving app's title once its result is in, ms (the title is a label, not the outcome). */
const METADATA_WAIT_MS = 1_000;

/** Called with the handler app and its valid `fdc3.transactionResult` (the library keeps it: `library/crm-saves.ts`). */
export type OnSaveResult = (appId: string, result: Record<string, unknown>) => void;

/**
 * Raise a save intent (`SaveTranscript` with the transcript, or `CreateInteraction` with its
 * `fdc3.interaction`), optionally to one app, and wait for its `fdc3.transactionResult`.
 * @param target the chosen app (an instance, or an appId for a new window); none: the desktop's resolver picks
 * @param onResult gets the handler app and its valid result
 * @returns the app that handled it, its title, the intent and the result's status (`Failed` is returned, not thrown)
 * @throws SaveCancelledError when the user cancelled the desktop's resolver (`UserCancelledResolution`)
 * @throws Error with a readable message when the intent cannot be resolved or the result is not a
 *   valid `fdc3.transactionResult`
 */
export async function raiseSaveIntent(agent: DesktopAgent, intent: SaveIntent, context: Context, target?: AppIdentifier, onResult?: OnSaveResult): Promise<SaveOutcome> {
  const checked = validateContext(context);
  if (!checked.valid) throw new Error(`not raising ${intent}: ${checked.error}`);
  let appId = "unknown app";
  try {
    const resolution = target ? await agent.raiseIntent(intent, context, target) : await agent.raiseIntent(intent, context);
    appId = resolution.source.appId;
    // The app's title only labels the result: ask for it alongside, never let it hold the result up.
    const metadata = Promise.resolve()
      .then(() => agent.getAppMetadata(resolution.source))
      .then(
        (m) => m?.title,
        () => undefined, // no metadata: the id is enough to report the result
      );
    const result = await resolution.getResult();
    const appTitle = await Promise.race([metadata, new Promise<undefined>((r) => setTimeout(() => r(undefined), METADATA_WAIT_MS))]);
    if (!result || typeof (result as Channel).broadcast === "function") throw new Error("NoResultReturned");
    const valid = validateContext(result);
    if (!valid.valid) throw new Error(`${appId} returned an invalid result: ${valid.error}`);
    if (result.type !== "fdc3.transactionResult") throw new Error(`${appId} returned ${result.type}, expected fdc3.transactionResult`);
    const tr = result as unknown as { status: string; message?: string };
    onResult?.(appId, result as unknown as Record<string, unknown>);
    return { appId, ...(appTitle && { appTitle }), status: tr.status, ...(tr.message && { message: tr.message }), intent };
  } catch (e) {
    const raw = errorText(e);
    // The desktop's resolver was closed: not a failure (DesktopAgentHost rejects with ResolveError.UserCancelled).
    if (raw === "UserCancelledResolution") throw new SaveCancelledError();
    const text = FDC3_ERRORS[raw] ?? raw;
    throw new Error(appId === "unknown app" ? `${intent}: ${text}` : `${intent} via ${appId}: ${text}`);
  }
}

/**
 * Raise SaveTranscript with the transcript, let the desktop's resolver pick the CRM, and wait
 * for its `fdc3.transactionResult` (see {@link raiseSaveIntent}).
 */
export async function saveTranscriptViaIntent(agent: DesktopAgent, transcript: Transcript, onResult?: OnSaveResult): Promise<SaveOutcome> {
  return raiseSaveIntent(agent, IntentName.SaveTranscript, transcript as Context, undefined, onResult);
}

/** Asks the user where to save (the "Save to…" chooser); `undefined` when they closed it. */
export type ChooseSaveTarget = (targets: SaveTarget[]) => Promise<SaveTarget | undefined>;

/** Apps for an intent and context type; none when the agent answers NoAppsFound (FDC3 `findIntent` may reject so). */
async function findApps(agent: DesktopAgent, intent: string, contextType: string): Promise<FoundApps> {
  try {
    return await agent.findIntent(intent, { type: contextType });
  } catch (e) {
    if (errorText(e) === "NoAppsFound") return { apps: [] };
    throw new Error(`cannot ask the desktop agent who handles ${intent}: ${errorText(e)}`);
  }
}

/**
 * Save a finished transcript to whichever app can take it (issue 10 §2, plan in `save-targets.ts`):
 * SaveTranscript apps only → SaveTranscript via the desktop's resolver; CreateInteraction apps
 * only → CreateInteraction with {@link interactionFromTranscript}; both kinds → `choose` lists
 * them and the chosen app gets its intent.
 * @throws SaveCancelledError when the user closed the chooser or the resolver
 * @throws Error when no app can save, or as {@link raiseSaveIntent}
 */
export async function saveTranscriptAnywhere(agent: DesktopAgent, transcript: Transcript, choose: ChooseSaveTarget, onResult?: OnSaveResult): Promise<SaveOutcome> {
  const checked = validateContext(transcript);
  if (!checked.valid) throw new Error(`not saving: ${checked.error}`);
  const [save, create] = await Promise.all([
    findApps(agent, IntentName.SaveTranscript, "fdc3.transcript"),
    findApps(agent, CREATE_INTERACTION, "fdc3.interaction"),
  ]);
  const appIds = [...new Set([...save.apps, ...create.apps].map((a) => a.appId))];
  const titles: Record<string, string> = {};
  await Promise.all(
    appIds.map(async (id) => {
      const title = await agent.getAppMetadata({ appId: id }).then((m) => m?.title, () => undefined);
      if (title) titles[id] = title;
    }),
  );
  const plan = planSave(saveTargets(save, create, titles));
  const contextFor = (intent: SaveIntent): Context => (intent === "SaveTranscript" ? (transcript as Context) : (interactionFromTranscript(transcript) as unknown as Context));
  if (plan.kind === "none") throw new Error("SaveTranscript: no app can save a transcript (no SaveTranscript or CreateInteraction handler in the App Directory)");
  if (plan.kind === "resolver") return raiseSaveIntent(agent, plan.intent, contextFor(plan.intent), undefined, onResult);
  const chosen = await choose(plan.targets);
  if (!chosen) throw new SaveCancelledError();
  const target: AppIdentifier = chosen.instanceId ? { appId: chosen.appId, instanceId: chosen.instanceId } : { appId: chosen.appId };
  return raiseSaveIntent(agent, chosen.intent, contextFor(chosen.intent), target, onResult);
}
