/**
 * Where a finished transcript can go (issue 10 §2): apps that handle our `SaveTranscript`
 * (`fdc3.transcript`) and apps that know only the standard `CreateInteraction` (`fdc3.interaction`).
 *
 * - only SaveTranscript apps → raise SaveTranscript, the desktop's resolver picks (as before);
 * - only CreateInteraction apps → raise CreateInteraction, the desktop's resolver picks;
 * - both kinds → the transcriber's own "Save to…" chooser lists the apps (name + intent) and the
 *   chosen one gets its intent, targeted (a desktop resolver cannot offer two intents with two
 *   different contexts in one list);
 * - none → nothing can save.
 *
 * An app that handles both gets SaveTranscript (the whole transcript, not a text description).
 * Pure: no `@finos/*` imports, unit-tested in Node.
 */

/** The two save intents. */
export type SaveIntent = "SaveTranscript" | "CreateInteraction";

/** The fields of an FDC3 `AppIntent` (from `findIntent`) this module reads. */
export interface FoundApps {
  apps: ReadonlyArray<{ appId: string; instanceId?: string; title?: string }>;
}

/** One line of the chooser: an app (a new window of it, or one of its open windows) and the intent it would get. */
export interface SaveTarget {
  /** Stable key for UI lists: `<intent>|<appId>|<instanceId or empty>`. */
  key: string;
  intent: SaveIntent;
  appId: string;
  /** An open window that listens for the intent; unset: a new window of the app. */
  instanceId?: string;
  /** 1-based number of the open window among the app's open windows (labels), when there are several. */
  windowNumber?: number;
  /** Display name (App Directory title), the appId when unknown. */
  title: string;
}

/** What to do with a transcript; see the module comment. */
export type SavePlan =
  | { kind: "none" }
  | { kind: "resolver"; intent: SaveIntent }
  | { kind: "choose"; targets: SaveTarget[] };

/**
 * The chooser's lines, as the desktop's resolver offers them: per app, its open windows that
 * listen for the intent, then a new window; SaveTranscript apps first, then CreateInteraction-only
 * apps, each by title. An app that handles both is offered SaveTranscript only.
 * @param titles App Directory titles by appId (from `getAppMetadata`); apps without one show their id
 */
export function saveTargets(saveTranscript: FoundApps | undefined, createInteraction: FoundApps | undefined, titles: Readonly<Record<string, string>> = {}): SaveTarget[] {
  const byApp = new Map<string, { intent: SaveIntent; instances: string[]; title: string }>();
  const add = (intent: SaveIntent, found: FoundApps | undefined) => {
    for (const app of found?.apps ?? []) {
      let entry = byApp.get(app.appId);
      if (entry && entry.intent !== intent) continue; // handles both: keep SaveTranscript
      if (!entry) {
        entry = { intent, instances: [], title: titles[app.appId] ?? app.title ?? app.appId };
        byApp.set(app.appId, entry);
      }
      if (app.instanceId && !entry.instances.includes(app.instanceId)) entry.instances.push(app.instanceId);
    }
  };
  add("SaveTranscript", saveTranscript);
  add("CreateInteraction", createInteraction);
  const rank = (intent: SaveIntent) => (intent === "SaveTranscript" ? 0 : 1);
  const apps = [...byApp.entries()].sort(([, a], [, b]) => rank(a.intent) - rank(b.intent) || a.title.localeCompare(b.title));
  return apps.flatMap(([appId, { intent, instances, title }]) => [
    ...instances.map((instanceId, k) => ({ key: `${intent}|${appId}|${instanceId}`, intent, appId, instanceId, title, ...(instances.length > 1 && { windowNumber: k + 1 }) })),
    { key: `${intent}|${appId}|`, intent, appId, title },
  ]);
}

/** The plan for these targets (see the module comment). */
export function planSave(targets: readonly SaveTarget[]): SavePlan {
  if (targets.length === 0) return { kind: "none" };
  const intents = new Set(targets.map((t) => t.intent));
  if (intents.size === 1) return { kind: "resolver", intent: targets[0]!.intent };
  return { kind: "choose", targets: [...targets] };
}

/** The chooser's label for a target, e.g. `Acme CRM (the open window) · Save Transcript`, `Standard CRM (new window) · Create Interaction`. */
export function targetLabel(t: SaveTarget): string {
  const intent = t.intent === "SaveTranscript" ? "Save Transcript" : "Create Interaction";
  const where = !t.instanceId ? "new window" : t.windowNumber ? `open window ${t.windowNumber}` : "the open window";
  return `${t.title} (${where}) · ${intent}`;
}
