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

/** One line of the chooser: an app and the intent it would get. */
export interface SaveTarget {
  /** Stable key for UI lists: `<intent>|<appId>`. */
  key: string;
  intent: SaveIntent;
  appId: string;
  /** A running instance that listens for the intent; the intent goes to it (else a new window opens). */
  instanceId?: string;
  /** Display name (App Directory title), the appId when unknown. */
  title: string;
}

/** What to do with a transcript; see the module comment. */
export type SavePlan =
  | { kind: "none" }
  | { kind: "resolver"; intent: SaveIntent }
  | { kind: "choose"; targets: SaveTarget[] };

/**
 * One target per app: SaveTranscript apps first, then CreateInteraction-only apps, each sorted by
 * title; an app's first listening instance, when it has one, is the one targeted.
 * @param titles App Directory titles by appId (from `getAppMetadata`); apps without one show their id
 */
export function saveTargets(saveTranscript: FoundApps | undefined, createInteraction: FoundApps | undefined, titles: Readonly<Record<string, string>> = {}): SaveTarget[] {
  const byApp = new Map<string, SaveTarget>();
  const add = (intent: SaveIntent, found: FoundApps | undefined) => {
    for (const app of found?.apps ?? []) {
      const existing = byApp.get(app.appId);
      if (existing && existing.intent !== intent) continue; // handles both: keep SaveTranscript
      if (existing) {
        if (!existing.instanceId && app.instanceId) existing.instanceId = app.instanceId;
        continue;
      }
      byApp.set(app.appId, {
        key: `${intent}|${app.appId}`,
        intent,
        appId: app.appId,
        ...(app.instanceId && { instanceId: app.instanceId }),
        title: titles[app.appId] ?? app.title ?? app.appId,
      });
    }
  };
  add("SaveTranscript", saveTranscript);
  add("CreateInteraction", createInteraction);
  const rank = (t: SaveTarget) => (t.intent === "SaveTranscript" ? 0 : 1);
  return [...byApp.values()].sort((a, b) => rank(a) - rank(b) || a.title.localeCompare(b.title));
}

/** The plan for these targets (see the module comment). */
export function planSave(targets: readonly SaveTarget[]): SavePlan {
  if (targets.length === 0) return { kind: "none" };
  const intents = new Set(targets.map((t) => t.intent));
  if (intents.size === 1) return { kind: "resolver", intent: targets[0]!.intent };
  return { kind: "choose", targets: [...targets] };
}

/** The chooser's label for a target, e.g. `Standard CRM — Create Interaction (open window)`. */
export function targetLabel(t: SaveTarget): string {
  const intent = t.intent === "SaveTranscript" ? "Save Transcript" : "Create Interaction";
  return `${t.title} — ${intent}${t.instanceId ? " (open window)" : " (new window)"}`;
}
