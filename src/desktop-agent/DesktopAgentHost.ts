/**
 * The browser desktop agent's host: a `ServerContext` for `@finos/fdc3-web-impl`'s
 * `DefaultFDC3Server`, plus the Web Connection Protocol (WCP) side that the server leaves to
 * its host: answering `WCP1Hello` with a `MessageChannel` (`WCP3Handshake`), checking each app's
 * identity URL against the App Directory, and routing port messages into `server.receive`.
 *
 * Apps run in iframes of the host page, on the same origin (an app's `getAgent()` needs
 * sessionStorage, which cross-site iframes are denied). Each iframe is one app instance; the
 * iframe's `WindowProxy` is what ties a hello to an instance, so an app cannot claim another
 * app's identity by sending a different URL or another instance's `instanceUuid`.
 *
 * Protocol: FDC3 2.2 "Browser Resident Desktop Agents" (Web Connection Protocol, WCP1–WCP6),
 * https://fdc3.finos.org/docs/2.2/api/specs/webConnectionProtocol
 */
import {
  BasicDirectory,
  BroadcastHandler,
  DefaultFDC3Server,
  State,
  type AppRegistration,
  type DirectoryApp,
  type InstanceID,
  type ServerContext,
} from "@finos/fdc3-web-impl";
import { OpenError, ResolveError, type AppIdentifier, type AppIntent } from "@finos/fdc3-standard";
import type { Context } from "@finos/fdc3-context";
import type { AppDirectoryRecord } from "../contracts/app-directory";
import { isSameAppUrl } from "./appUrl";
import { labelResolverOptions, narrowTo, needsUserChoice, resolverOptions, type ResolverOption } from "./resolverOptions";
import { DEFAULT_USER_CHANNEL_ID, initialChannelState, USER_CHANNELS } from "./userChannels";

/** FDC3 version this desktop agent speaks. */
const FDC3_VERSION = "2.2";
/** Message exchanges that don't launch apps (ms). */
const MESSAGE_EXCHANGE_TIMEOUT_MS = 10_000;
/**
 * Exchanges that may launch an app (ms). It also bounds how long the user may take in the
 * host's intent resolver, because the raiser waits for `raiseIntentResponse` meanwhile.
 */
const APP_LAUNCH_TIMEOUT_MS = 120_000;
/** How long the server waits for a launched app to add its intent listener (ms). */
const INTENT_DELIVERY_TIMEOUT_MS = 30_000;

/** One app instance: an iframe in the host page. */
export interface AppInstance {
  instanceId: InstanceID;
  appId: string;
  title: string;
  /** The resolved App Directory URL the iframe loads. */
  url: string;
  /** WCP connection state. */
  state: "loading" | "connected" | "disconnected" | "refused";
  /** Why identity validation failed, when `state` is `refused`. */
  error?: string;
  /** When the window was opened (ISO 8601), to tell windows of one app apart. */
  openedAt: string;
  /** The user channel the instance is joined to, or null. */
  channelId: string | null;
}

/** A pending question to the user: which app should handle an intent. */
export interface ResolverRequest {
  id: string;
  raiser: { appId: string; title: string; instanceId?: string };
  contextType: string;
  options: Array<ResolverOption & { title: string; label: string }>;
}

/** One line of the host's activity log (shown in the UI, also useful when a test fails). */
export interface ActivityEntry {
  at: string;
  text: string;
}

/** Immutable view of the host's state for the UI. */
export interface HostSnapshot {
  instances: readonly AppInstance[];
  resolver: ResolverRequest | null;
  desktopChannelId: string | null;
  activity: readonly ActivityEntry[];
}

interface Connection {
  window: Window | null;
  port: MessagePort | null;
}

interface PendingResolution {
  request: ResolverRequest;
  settle: (choice: ResolverOption | null) => void;
}

type WcpMessage = { type?: unknown; meta?: { connectionAttemptUuid?: string }; payload?: Record<string, unknown> };

/**
 * Host-side desktop agent. Create one per host page, call {@link start}, and render
 * {@link getSnapshot} (it implements the `useSyncExternalStore` contract).
 */
export class DesktopAgentHost implements ServerContext<AppRegistration> {
  private readonly directory: BasicDirectory;
  private readonly records: Map<string, AppDirectoryRecord>;
  private readonly server: DefaultFDC3Server;
  private readonly broadcastHandler: BroadcastHandler;
  private readonly registrations = new Map<InstanceID, AppRegistration>();
  private readonly connections = new Map<InstanceID, Connection>();
  private instances: AppInstance[] = [];
  private desktopChannelId: string | null = DEFAULT_USER_CHANNEL_ID;
  private readonly resolverQueue: PendingResolution[] = [];
  private activity: ActivityEntry[] = [];
  private readonly listeners = new Set<() => void>();
  private snapshot: HostSnapshot;

  /**
   * @param records App Directory records with absolute `details.url` (see `resolveAppDirectory`)
   * @throws Error when a record is not a web app with a URL
   */
  constructor(records: readonly AppDirectoryRecord[]) {
    for (const r of records) {
      if (r.type !== "web" || typeof r.details?.url !== "string" || !/^https?:\/\//.test(r.details.url)) {
        throw new Error(`App Directory record ${r.appId} must be a web app with an absolute details.url (got ${JSON.stringify(r.details)})`);
      }
    }
    this.records = new Map(records.map((r) => [r.appId, r]));
    this.directory = new BasicDirectory(records as unknown as DirectoryApp[]);
    // No heartbeats: every app is an iframe of this page, so the host sees it go (× button,
    // WCP6Goodbye on pagehide, a new hello on reload) without polling it.
    this.server = new DefaultFDC3Server(this, this.directory, initialChannelState(), false, INTENT_DELIVERY_TIMEOUT_MS, INTENT_DELIVERY_TIMEOUT_MS);
    const bh = this.server.handlers.find((h): h is BroadcastHandler => h instanceof BroadcastHandler);
    if (!bh) throw new Error("DefaultFDC3Server has no BroadcastHandler");
    this.broadcastHandler = bh;
    this.snapshot = this.buildSnapshot();
  }

  /** Start answering WCP hellos posted to `win` (the host window). Returns a stop function. */
  start(win: Window = window): () => void {
    const onMessage = (event: MessageEvent) => this.onWindowMessage(event);
    win.addEventListener("message", onMessage);
    return () => win.removeEventListener("message", onMessage);
  }

  // ----- UI store -----

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): HostSnapshot => this.snapshot;

  private changed(): void {
    this.snapshot = this.buildSnapshot();
    for (const l of this.listeners) l();
  }

  private buildSnapshot(): HostSnapshot {
    return {
      instances: this.instances.map((i) => ({ ...i })),
      resolver: this.resolverQueue[0]?.request ?? null,
      desktopChannelId: this.desktopChannelId,
      activity: [...this.activity],
    };
  }

  private logActivity(text: string): void {
    this.activity = [...this.activity.slice(-49), { at: new Date().toISOString(), text }];
    this.log(text);
  }

  /** App Directory records, in directory order, for the launcher. */
  apps(): AppDirectoryRecord[] {
    return [...this.records.values()];
  }

  private titleOf(appId: string): string {
    return this.records.get(appId)?.title ?? appId;
  }

  /** The intent's `displayName` in the app's App Directory record (web-impl 2.2.1-beta.2 passes only the name). */
  private intentDisplayName(appId: string, intent: string): string | undefined {
    return this.records.get(appId)?.interop?.intents?.listensFor?.[intent]?.displayName;
  }

  // ----- host actions (launcher, window chrome, channel selector, resolver) -----

  /** Open a new instance of `appId` (launcher button). */
  launch(appId: string): Promise<InstanceID> {
    return this.open(appId);
  }

  /** Tell the host which window an instance's iframe has (called when the iframe mounts). */
  attachWindow(instanceId: InstanceID, win: Window | null): void {
    const c = this.connections.get(instanceId);
    if (c) c.window = win;
  }

  /** Close an instance: disconnect it from the server and remove its iframe. */
  close(instanceId: InstanceID): void {
    const c = this.connections.get(instanceId);
    if (c?.port) c.port.close();
    this.connections.delete(instanceId);
    if (this.registrations.has(instanceId)) this.server.cleanup(instanceId);
    this.instances = this.instances.filter((i) => i.instanceId !== instanceId);
    this.logActivity(`closed ${instanceId.slice(0, 8)}`);
    this.changed();
  }

  /** Join one instance to a user channel (`null` leaves its channel), as its channel selector does. */
  setInstanceChannel(instanceId: InstanceID, channelId: string | null): void {
    const inst = this.instances.find((i) => i.instanceId === instanceId);
    if (!inst) return;
    if (channelId !== null && !USER_CHANNELS.some((c) => c.id === channelId)) {
      throw new Error(`unknown user channel ${channelId}`);
    }
    if (inst.state === "connected") {
      this.sendOnBehalfOf(instanceId, channelId === null ? "leaveCurrentChannelRequest" : "joinUserChannelRequest", channelId === null ? {} : { channelId });
    } else {
      this.updateInstance(instanceId, { channelId });
    }
  }

  /** The desktop-wide channel: new apps join it, and every open app moves to it. */
  setDesktopChannel(channelId: string | null): void {
    this.desktopChannelId = channelId;
    for (const inst of this.instances) this.setInstanceChannel(inst.instanceId, channelId);
    this.changed();
  }

  /** The user's answer to the resolver shown for `requestId`; `null` cancels. */
  resolve(requestId: string, optionKey: string | null): void {
    const head = this.resolverQueue[0];
    if (!head || head.request.id !== requestId) return;
    this.resolverQueue.shift();
    const choice = optionKey === null ? null : (head.request.options.find((o) => o.key === optionKey) ?? null);
    head.settle(choice);
    this.changed();
  }

  /**
   * Run a request through the server as if the instance had sent it. Used for the host's
   * channel selector: the server then updates its state and sends the app a
   * `channelChangedEvent`, so the app's user-channel listeners follow. The app ignores the
   * response, whose requestUuid it never issued.
   */
  private sendOnBehalfOf(instanceId: InstanceID, type: string, payload: Record<string, unknown>): void {
    const reg = this.registrations.get(instanceId);
    if (!reg) return;
    const msg = {
      type,
      meta: { requestUuid: this.createUUID(), timestamp: new Date(), source: { appId: reg.appId, instanceId } },
      payload,
    };
    this.server
      .receive(msg as never, instanceId)
      .then(() => this.syncChannel(instanceId))
      .catch((e: unknown) => this.log(`${type} for ${instanceId} failed: ${e instanceof Error ? e.message : String(e)}`));
  }

  private syncChannel(instanceId: InstanceID): void {
    const reg = this.registrations.get(instanceId);
    if (!reg) return;
    const current = this.broadcastHandler.getCurrentChannel({ appId: reg.appId, instanceId });
    this.updateInstance(instanceId, { channelId: current?.id ?? null });
  }

  private updateInstance(instanceId: InstanceID, patch: Partial<AppInstance>): void {
    this.instances = this.instances.map((i) => (i.instanceId === instanceId ? { ...i, ...patch } : i));
    this.changed();
  }

  // ----- Web Connection Protocol -----

  private onWindowMessage(event: MessageEvent): void {
    const data = event.data as WcpMessage | null;
    if (data?.type !== "WCP1Hello") return;
    const instanceId = this.instanceOfWindow(event.source);
    if (!instanceId) {
      this.log(`WCP1Hello from a window that is not one of this desktop's app frames (origin ${event.origin}); ignored`);
      return;
    }
    const connectionAttemptUuid = data.meta?.connectionAttemptUuid;
    if (typeof connectionAttemptUuid !== "string") return;
    const inst = this.instances.find((i) => i.instanceId === instanceId)!;
    if (event.origin !== new URL(inst.url).origin) {
      this.refuse(instanceId, `hello from origin ${event.origin}, but ${inst.appId} is served from ${new URL(inst.url).origin}`);
      return;
    }
    const conn = this.connections.get(instanceId)!;
    if (conn.port) {
      // The app reloaded or navigated in its frame: drop what the old page registered.
      conn.port.close();
      conn.port = null;
      this.server.cleanup(instanceId);
    }
    const channel = new MessageChannel();
    conn.port = channel.port1;
    // A malformed message from an app must not become an unhandled rejection in the host.
    channel.port1.onmessage = (e: MessageEvent) =>
      void this.onPortMessage(instanceId, channel.port1, e.data as WcpMessage).catch((err: unknown) =>
        this.log(`message from ${instanceId} failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    const handshake = {
      type: "WCP3Handshake",
      meta: { connectionAttemptUuid, timestamp: new Date() },
      payload: {
        fdc3Version: FDC3_VERSION,
        // The host page draws the resolver and the channel selector itself (narrowIntents).
        intentResolverUrl: false,
        channelSelectorUrl: false,
        messageExchangeTimeout: MESSAGE_EXCHANGE_TIMEOUT_MS,
        appLaunchTimeout: APP_LAUNCH_TIMEOUT_MS,
      },
    };
    (event.source as Window).postMessage(handshake, { targetOrigin: event.origin, transfer: [channel.port2] });
  }

  /** Whether `source` is the window of one of this desktop's app frames (it may ask for server tokens). */
  isAppWindow(source: MessageEventSource | null): boolean {
    return this.instanceOfWindow(source) !== undefined;
  }

  private instanceOfWindow(source: MessageEventSource | null): InstanceID | undefined {
    if (!source) return undefined;
    for (const [id, c] of this.connections) if (c.window === source) return id;
    return undefined;
  }

  private async onPortMessage(instanceId: InstanceID, port: MessagePort, msg: WcpMessage): Promise<void> {
    const conn = this.connections.get(instanceId);
    if (!conn || conn.port !== port) return; // a stale port of a closed or reloaded page
    const inst = this.instances.find((i) => i.instanceId === instanceId);
    if (!inst || typeof msg?.type !== "string") return;
    switch (msg.type) {
      case "WCP4ValidateAppIdentity":
        return this.validateIdentity(inst, msg);
      case "WCP6Goodbye":
        this.server.cleanup(instanceId);
        conn.port = null;
        port.close();
        this.updateInstance(instanceId, { state: "disconnected" });
        return;
      default:
        if (inst.state !== "connected") return; // nothing before identity validation
        await this.server.receive(msg as never, instanceId);
        if (msg.type === "joinUserChannelRequest" || msg.type === "leaveCurrentChannelRequest") this.syncChannel(instanceId);
        if (msg.type === "raiseIntentRequest" || msg.type === "raiseIntentForContextRequest") {
          const p = msg.payload ?? {};
          const ctx = p.context as { type?: string } | undefined;
          this.logActivity(`${inst.title} raised ${String(p.intent ?? "(intent for context)")} with ${ctx?.type ?? "?"}`);
        }
    }
  }

  private async validateIdentity(inst: AppInstance, msg: WcpMessage): Promise<void> {
    const p = msg.payload ?? {};
    const problem = !isSameAppUrl(p.identityUrl, inst.url)
      ? `identityUrl ${String(p.identityUrl)} is not ${inst.appId}'s App Directory URL ${inst.url}`
      : !isSameAppUrl(p.actualUrl, inst.url)
        ? `actualUrl ${String(p.actualUrl)} is not ${inst.appId}'s App Directory URL ${inst.url}`
        : null;
    if (problem) {
      this.connections.get(inst.instanceId)?.port?.postMessage({
        type: "WCP5ValidateAppIdentityFailedResponse",
        meta: { connectionAttemptUuid: msg.meta?.connectionAttemptUuid, timestamp: new Date() },
        payload: { message: problem },
      });
      this.refuse(inst.instanceId, problem);
      return;
    }
    // A reconnecting page may ask for its previous instance back (sessionStorage), but only
    // the instance of its own frame: anything else would let it impersonate another app.
    const payload = { ...p };
    if (payload.instanceUuid !== undefined && payload.instanceUuid !== inst.instanceId) {
      delete payload.instanceUuid;
      delete payload.instanceId;
    }
    // Mark it connected first: the app's next requests may arrive while receive() settles.
    this.updateInstance(inst.instanceId, { state: "connected", error: undefined });
    await this.server.receive({ ...msg, payload } as never, inst.instanceId);
    this.logActivity(`${inst.title} connected`);
    const channelId = inst.channelId ?? this.desktopChannelId;
    if (channelId) this.sendOnBehalfOf(inst.instanceId, "joinUserChannelRequest", { channelId });
  }

  private refuse(instanceId: InstanceID, reason: string): void {
    this.logActivity(`refused connection: ${reason}`);
    this.updateInstance(instanceId, { state: "refused", error: reason });
  }

  // ----- ServerContext -----

  createUUID(): string {
    return crypto.randomUUID();
  }

  async post(message: object, instanceId: InstanceID): Promise<void> {
    const port = this.connections.get(instanceId)?.port;
    if (!port) {
      this.log(`no connection to ${instanceId}; dropped ${(message as { type?: string }).type}`);
      return;
    }
    port.postMessage(message);
  }

  async open(appId: string): Promise<InstanceID> {
    const record = this.records.get(appId);
    if (!record) throw new Error(OpenError.AppNotFound);
    const instanceId = this.createUUID();
    this.registrations.set(instanceId, { appId, instanceId, state: State.Pending });
    this.connections.set(instanceId, { window: null, port: null });
    this.instances = [
      ...this.instances,
      { instanceId, appId, title: record.title, url: record.details.url, state: "loading", channelId: null, openedAt: new Date().toISOString() },
    ];
    this.logActivity(`opened ${record.title}`);
    this.changed();
    return instanceId;
  }

  setFDC3Server(): void {
    // DefaultFDC3Server does not call this in 2.2.1-beta.2; the host keeps its own reference.
  }

  setInstanceDetails(uuid: InstanceID, details: AppRegistration): void {
    this.registrations.set(uuid, details);
  }

  getInstanceDetails(uuid: InstanceID): AppRegistration | undefined {
    return this.registrations.get(uuid);
  }

  async setAppState(app: InstanceID, state: State): Promise<void> {
    const reg = this.registrations.get(app);
    if (reg) this.registrations.set(app, { ...reg, state });
  }

  async getConnectedApps(): Promise<AppRegistration[]> {
    return [...this.registrations.values()].filter((r) => r.state === State.Connected);
  }

  async getAllApps(): Promise<AppRegistration[]> {
    return [...this.registrations.values()];
  }

  async isAppConnected(app: InstanceID): Promise<boolean> {
    return this.registrations.get(app)?.state === State.Connected;
  }

  log(message: string): void {
    console.log(`[desktop-agent] ${message}`);
  }

  provider(): string {
    return "Callscribe browser desktop agent";
  }

  providerVersion(): string {
    return "0.1.0";
  }

  fdc3Version(): string {
    return FDC3_VERSION;
  }

  /**
   * The host's intent resolver. When more than one app (or instance) can take the intent, ask
   * the user; the answer narrows the list to that one choice.
   * @throws Error(`ResolveError.UserCancelled`) when the user cancels: web-impl 2.2.1-beta.2's
   *   IntentHandler sends a thrown error's message to the raiser as the `raiseIntentResponse`
   *   error, so `raiseIntent` rejects with `UserCancelledResolution` (returning `[]` would
   *   report `NoAppsFound`, as if no app could take the intent).
   */
  async narrowIntents(raiser: AppIdentifier, appIntents: AppIntent[], context: Context): Promise<AppIntent[]> {
    if (!needsUserChoice(appIntents)) return appIntents;
    const options = labelResolverOptions(resolverOptions(appIntents), (appId) => this.titleOf(appId), this.instances).map((o) => ({
      ...o,
      intent: { ...o.intent, displayName: this.intentDisplayName(o.appId, o.intent.name) ?? o.intent.displayName },
    }));
    const request: ResolverRequest = {
      id: this.createUUID(),
      raiser: { appId: raiser.appId, instanceId: raiser.instanceId, title: this.titleOf(raiser.appId) },
      contextType: context.type,
      options,
    };
    const choice = await new Promise<ResolverOption | null>((settle) => {
      this.resolverQueue.push({ request, settle });
      this.changed();
    });
    if (!choice) {
      this.logActivity(`resolver cancelled for ${context.type} from ${request.raiser.title}`);
      throw new Error(ResolveError.UserCancelled);
    }
    this.logActivity(`${choice.intent.name} → ${this.titleOf(choice.appId)}${choice.instanceId ? " (running)" : ""}`);
    return narrowTo(choice) as AppIntent[];
  }
}
