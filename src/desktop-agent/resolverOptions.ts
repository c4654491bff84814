/**
 * What the host-side intent resolver offers, derived from the `AppIntent[]` that
 * `@finos/fdc3-web-impl`'s IntentHandler passes to `ServerContext.narrowIntents`.
 *
 * Kept free of `@finos/*` imports (they don't load in plain Node) so it is unit-tested.
 */

/** The fields of an FDC3 `AppIntent` this module reads. */
export interface AppIntentLike {
  intent: { name: string; displayName?: string };
  apps: ReadonlyArray<{ appId: string; instanceId?: string }>;
}

/** One choice in the resolver: an intent delivered to an app (new window) or to a running instance. */
export interface ResolverOption {
  /** Stable key for UI lists, e.g. `SaveTranscript|notes-crm|` or `SaveTranscript|notes-crm|<instanceId>`. */
  key: string;
  intent: { name: string; displayName?: string };
  appId: string;
  /** Set when the option is an already running instance. */
  instanceId?: string;
}

/** Every distinct (intent, app, instance) choice, running instances first within an app. */
export function resolverOptions(appIntents: readonly AppIntentLike[]): ResolverOption[] {
  const seen = new Set<string>();
  const options: ResolverOption[] = [];
  for (const ai of appIntents) {
    const sorted = [...ai.apps].sort((a, b) => Number(!a.instanceId) - Number(!b.instanceId));
    for (const app of sorted) {
      const key = `${ai.intent.name}|${app.appId}|${app.instanceId ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      options.push({
        key,
        intent: { name: ai.intent.name, displayName: ai.intent.displayName },
        appId: app.appId,
        ...(app.instanceId ? { instanceId: app.instanceId } : {}),
      });
    }
  }
  return options;
}

/**
 * Whether the desktop agent can deliver without asking the user. This mirrors the
 * IntentHandler of @finos/fdc3-web-impl 2.2.1-beta.2 (`raiseIntentToAnyApp`): one intent, one
 * app, and at most one running instance of it (then it goes to that instance, else a new one).
 */
export function needsUserChoice(appIntents: readonly AppIntentLike[]): boolean {
  if (appIntents.length !== 1) return appIntents.length > 1;
  const apps = appIntents[0]!.apps;
  const appIds = new Set(apps.map((a) => a.appId));
  const instances = new Set(apps.filter((a) => a.instanceId).map((a) => a.instanceId));
  return appIds.size > 1 || instances.size > 1;
}

/** The narrowed `AppIntent[]` to hand back to the IntentHandler for the chosen option. */
export function narrowTo(option: ResolverOption): AppIntentLike[] {
  return [
    {
      intent: option.intent,
      apps: [option.instanceId ? { appId: option.appId, instanceId: option.instanceId } : { appId: option.appId }],
    },
  ];
}

/** The fields of an open window {@link labelResolverOptions} reads. */
export interface OpenWindowLike {
  instanceId: string;
  appId: string;
  /** ISO 8601. */
  openedAt: string;
}

/** `HH:MM:SS` of an ISO 8601 time in the user's time zone (the ISO text itself if it is not a date). */
function clockTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/**
 * Title and label for each option, as a person reads them: `Acme CRM (new window)`;
 * `Acme CRM (the open window)` when it is that app's only window; with several,
 * `Acme CRM (open window 2 of 3, opened 14:02:11)`, counting that app's windows in desktop order.
 * @param titleOf App Directory title of an app id
 * @param windows the desktop's open windows, in the order they are shown
 */
export function labelResolverOptions<O extends ResolverOption>(
  options: readonly O[],
  titleOf: (appId: string) => string,
  windows: readonly OpenWindowLike[],
): Array<O & { title: string; label: string }> {
  return options.map((o) => {
    const title = titleOf(o.appId);
    if (!o.instanceId) return { ...o, title, label: `${title} (new window)` };
    const ofApp = windows.filter((w) => w.appId === o.appId);
    const at = ofApp.findIndex((w) => w.instanceId === o.instanceId);
    if (at < 0) return { ...o, title, label: `${title} (an open window)` };
    if (ofApp.length === 1) return { ...o, title, label: `${title} (the open window)` };
    return { ...o, title, label: `${title} (open window ${at + 1} of ${ofApp.length}, opened ${clockTime(ofApp[at]!.openedAt)})` };
  });
}
