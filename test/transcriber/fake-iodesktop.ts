/**
 * FAKE io.Connect Desktop, for tests: io.Connect Desktop (a Windows/macOS Electron platform with a
 * licence and its own gateway) cannot run here. `FakeIODesktop` is the part of the
 * `@interopio/desktop` API the transcriber calls (`IoConnectApi`: interop register/unregister,
 * notifications.raise, windows.my() title/setTitle/focus), typed with the package's own
 * declarations, plus what the platform and other apps would do around it: another app's
 * `io.interop.invoke`, the user clicking a notification's action, the `IODesktop()` factory.
 *
 * Behaviour copied from the real library (@interopio/core 6.x `Server.onMethodInvoked`): a
 * handler that throws makes `invoke` reject with `{ message, method, called_with, ... }` where
 * `message` is the Error's message; a non-object result is wrapped as `{ _value }`; a method name
 * can be registered once.
 *
 * The class refers to nothing outside itself, so `FakeIODesktop.toString()` can be evaluated in a
 * browser page (the e2e test injects it as `window.IODesktop`, see {@link fakeIODesktopInitScript}).
 */
import type { IOConnectDesktop } from "@interopio/desktop";
import type { IoConnectApi, IoConnectFactory, IoConnectWindowPart } from "../../src/transcriber/desktops/ioconnect";

type Handler = (args: unknown, caller: IOConnectDesktop.Interop.Instance) => unknown;
type RaisedNotification = IOConnectDesktop.Notifications.Notification;

/** The rejection of a failed invoke, as `InvokeErrorHandler` receives it. */
export type FakeInvokeError = Parameters<IOConnectDesktop.Interop.InvokeErrorHandler>[0];

export class FakeIODesktop implements IoConnectApi {
  /** The config of every `IODesktop()` call, in order. */
  readonly configs: (IOConnectDesktop.Config | undefined)[] = [];
  /** Registered interop methods by name. */
  readonly methods = new Map<string, { definition: IOConnectDesktop.Interop.MethodDefinition; handler: Handler }>();
  /** Every notification raised, in order. */
  readonly notificationsRaised: RaisedNotification[] = [];
  /** Every title set on the window, in order. */
  readonly titles: string[] = [];
  /** How often the window was focused. */
  focusCount = 0;
  /** When set, `notifications.raise` rejects with this message (the platform refusing). */
  failNotificationsWith: string | undefined;

  private readonly window: IoConnectWindowPart;
  private readonly caller: IOConnectDesktop.Interop.Instance = { application: "fake-softphone", applicationName: "fake-softphone", instance: "fake-caller-1" } as IOConnectDesktop.Interop.Instance;

  constructor(initialTitle = "Callscribe Transcriber") {
    const titles = this.titles;
    const fake = this;
    this.window = {
      title: initialTitle,
      async setTitle(title: string) {
        this.title = title;
        titles.push(title);
        return this;
      },
      async focus() {
        fake.focusCount += 1;
        return this;
      },
    };
  }

  /** `IODesktop()`: records the config and resolves with this fake. */
  readonly factory: IoConnectFactory = async (config) => {
    this.configs.push(config);
    return this;
  };

  readonly interop: IoConnectApi["interop"] = {
    register: async <T = unknown, R = unknown>(name: string | IOConnectDesktop.Interop.MethodDefinition, handler: (args: T, caller: IOConnectDesktop.Interop.Instance) => R | void | Promise<R>) => {
      const definition = typeof name === "string" ? { name } : name;
      if (this.methods.has(definition.name)) throw new Error(`Method with a name ${definition.name} already exists`);
      this.methods.set(definition.name, { definition, handler: handler as Handler });
    },
    unregister: (definition: string | IOConnectDesktop.Interop.MethodDefinition) => {
      this.methods.delete(typeof definition === "string" ? definition : definition.name);
    },
  };

  readonly notifications: IoConnectApi["notifications"] = {
    raise: async (options: IOConnectDesktop.Notifications.IOConnectNotificationOptions) => {
      if (this.failNotificationsWith) throw new Error(this.failNotificationsWith);
      const notification = {
        ...options,
        id: options.id ?? `fake-notification-${this.notificationsRaised.length + 1}`,
        instanceId: "fake-transcriber-1",
        actions: options.actions ?? [],
        onaction: () => undefined,
        onclick: () => undefined,
        onshow: () => undefined,
        onerror: () => undefined,
        onclose: () => undefined,
        close: () => undefined,
      } satisfies RaisedNotification;
      this.notificationsRaised.push(notification);
      return notification;
    },
  };

  readonly windows: IoConnectApi["windows"] = { my: () => this.window };

  /** The window's current title. */
  get title(): string {
    return this.window.title;
  }

  /**
   * Another app's `io.interop.invoke(method, args)`.
   * @returns `{ returned, method, called_with, message }` as `InvocationResult`
   * @throws FakeInvokeError (not an Error: io.Connect rejects with a plain object) when the
   *   method is unknown or its handler threw
   */
  async invoke(method: string, args: object = {}): Promise<Pick<IOConnectDesktop.Interop.InvocationResult, "returned" | "called_with" | "message" | "method">> {
    const entry = this.methods.get(method);
    const fail = (message: string): FakeInvokeError => ({ method: { name: method }, called_with: args, executed_by: this.caller, message, status: 1, returned: {} });
    if (!entry) throw fail(`Can not find a method matching ${JSON.stringify({ name: method })} with server filter undefined`);
    let returned: unknown;
    try {
      returned = await entry.handler(args, this.caller);
    } catch (e) {
      throw fail(e instanceof Error && typeof e.message === "string" ? e.message : JSON.stringify(e));
    }
    if (returned === undefined || returned === null) returned = {};
    else if (typeof returned !== "object" || Array.isArray(returned)) returned = { _value: returned };
    return { returned, called_with: args, message: "", method: entry.definition };
  }

  /**
   * The user clicks action `action` of the `index`th notification raised: the platform invokes
   * the action's interop method with its arguments.
   */
  async clickAction(index: number, action: string): Promise<unknown> {
    const notification = this.notificationsRaised[index];
    if (!notification) throw new Error(`no notification #${index}; ${this.notificationsRaised.length} raised`);
    const settings = notification.actions.find((a) => a.action === action)?.interop;
    if (!settings) throw new Error(`notification #${index} has no action ${action} with an interop method`);
    return (await this.invoke(settings.method, settings.arguments ?? {})).returned;
  }
}

/**
 * A script for `page.addInitScript`: makes the page look like an io.Connect Desktop window with
 * the library injected (`window.iodesktop.autoInjected`, `window.IODesktop`), the way
 * `@interopio/desktop` expects it; the fake is at `window.fakeIODesktop`.
 */
export function fakeIODesktopInitScript(initialTitle = "Callscribe Transcriber"): string {
  return `(() => {
    const FakeIODesktop = (${FakeIODesktop.toString()});
    const fake = new FakeIODesktop(${JSON.stringify(initialTitle)});
    window.fakeIODesktop = fake;
    window.iodesktop = { autoInjected: true, fake: true };
    window.IODesktop = fake.factory;
  })();`;
}
