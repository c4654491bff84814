/**
 * The desktop port on io.Connect Desktop, through `@interopio/desktop` (the only module that
 * imports it, and only as a type: the package itself is loaded by {@link loadIODesktop} inside
 * io.Connect alone).
 *
 * - `IODesktop(IOCONNECT_CONFIG)` starts the library with what io.Connect's FDC3 layer needs
 *   (docs.interop.io, Desktop > FDC3 Compliance: `appManager: "full"` for the Intents Resolver
 *   UI, `channels: true` for FDC3 user channels). The FDC3 library (`window.fdc3`, injected when
 *   the app definition has `details.autoInjectFdc3`) asks for this initialized API through the
 *   library's web event (`exposeAPI`, on by default), so it must be started before `fdc3` is used.
 * - notifications: `io.notifications.raise`; the action and a click on the notification invoke
 *   the interop method {@link IOCONNECT_METHODS.open} with `{ transcriptId }`, which the platform
 *   calls even after the toast is gone (from the Notification Panel).
 * - commands: `io.interop.register` of `Callscribe.StartTranscription` / `StopTranscription`
 *   (and the notification action's method). A handler that throws makes the caller's
 *   `io.interop.invoke` reject with the Error's message (that is how io.Connect reports errors).
 * - title: `io.windows.my().setTitle`.
 */
import type { IOConnectDesktop } from "@interopio/desktop";
import type { DesktopCommands, DesktopPort, TranscriptNotification } from "./port";

/** A window as far as the transcriber uses it; `IOConnectDesktop.Windows.IOConnectWindow` satisfies it. */
export interface IoConnectWindowPart extends Pick<IOConnectDesktop.Windows.IOConnectWindow, "title"> {
  setTitle(title: string): Promise<unknown>;
  focus(): Promise<unknown>;
}

/**
 * The part of the `@interopio/desktop` API the transcriber calls. `IOConnectDesktop.API` satisfies
 * it (checked in test/transcriber/desktop-ioconnect.test.ts), so every call here type-checks
 * against the package's own declarations.
 */
export interface IoConnectApi {
  interop: Pick<IOConnectDesktop.Interop.API, "register" | "unregister">;
  notifications: Pick<IOConnectDesktop.Notifications.API, "raise">;
  windows: { my(): IoConnectWindowPart | undefined };
}

/** `IODesktop()`: the package's default export, narrowed to what we use. */
export type IoConnectFactory = (config?: IOConnectDesktop.Config) => Promise<IoConnectApi>;

/** Options for `IODesktop()`: what io.Connect's FDC3 implementation needs (see the module comment). */
export const IOCONNECT_CONFIG = {
  appManager: "full",
  channels: true,
  intents: { enableIntentsResolverUI: true },
} as const satisfies IOConnectDesktop.Config;

/** Interop method names this app registers. */
export const IOCONNECT_METHODS = {
  start: "Callscribe.StartTranscription",
  stop: "Callscribe.StopTranscription",
  open: "Callscribe.OpenTranscript",
} as const;

const METHOD_DESCRIPTIONS: Record<keyof typeof IOCONNECT_METHODS, string> = {
  start:
    "Start transcribing. Arguments: a StartTranscription context (fdc3.call, fdc3.interaction with interactionType Call, fdc3.contact or fdc3.nothing), validated with Callscribe's JSON Schemas. Returns {status, source, callId?}.",
  stop: "Stop transcribing. Arguments: a StopTranscription context (fdc3.call, fdc3.interaction or fdc3.nothing). Returns the final fdc3.transcript.",
  open: "Bring a transcript to the user. Arguments: {transcriptId}.",
};

/**
 * Load `@interopio/desktop` and return its factory. Inside io.Connect with the library injected
 * (`iodesktop.autoInjected`) the package hands back the injected `window.IODesktop`.
 */
export async function loadIODesktop(): Promise<IoConnectFactory> {
  const mod = await import("@interopio/desktop");
  return mod.default;
}

/**
 * Start `@interopio/desktop` with {@link IOCONNECT_CONFIG}.
 * @throws Error naming io.Connect when the library cannot start (no gateway, not in io.Connect)
 */
export async function startIoConnect(factory: IoConnectFactory): Promise<IoConnectApi> {
  try {
    return await factory(IOCONNECT_CONFIG);
  } catch (e) {
    throw new Error(`io.Connect Desktop: IODesktop() failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The desktop port over a started io.Connect API. */
export function ioConnectDesktop(io: IoConnectApi): DesktopPort {
  const myWindow = () => io.windows.my();
  return {
    name: "io.Connect Desktop",
    features: ["notifications", `interop methods ${IOCONNECT_METHODS.start} / ${IOCONNECT_METHODS.stop}`, "window title"],

    async notify(n: TranscriptNotification) {
      const open = { method: IOCONNECT_METHODS.open, arguments: { transcriptId: n.transcriptId }, target: "best" as const };
      try {
        await io.notifications.raise({
          title: n.title,
          body: n.body,
          severity: n.severity === "error" ? "High" : "Low",
          type: n.severity === "error" ? "Alert" : "Notification",
          // One notification per transcript: a later outcome (a retry) replaces the earlier one.
          tag: `callscribe-transcript-${n.transcriptId}`,
          renotify: true,
          data: { transcriptId: n.transcriptId },
          actions: [{ action: "open-transcript", title: n.openLabel, interop: open }],
          clickInterop: open,
        });
        return undefined;
      } catch (e) {
        return `io.Connect notification failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    },

    async registerCommands(commands: DesktopCommands) {
      const names = Object.keys(IOCONNECT_METHODS) as (keyof typeof IOCONNECT_METHODS)[];
      const registered: string[] = [];
      try {
        for (const key of names) {
          await io.interop.register({ name: IOCONNECT_METHODS[key], description: METHOD_DESCRIPTIONS[key] }, (args: unknown) => commands[key](args));
          registered.push(IOCONNECT_METHODS[key]);
        }
      } catch (e) {
        for (const name of registered) io.interop.unregister(name);
        throw new Error(`io.Connect Desktop: registering interop methods failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      return () => {
        for (const name of registered) io.interop.unregister(name);
      };
    },

    currentTitle: () => myWindow()?.title ?? globalThis.document?.title ?? "",

    async setTitle(title: string) {
      const win = myWindow();
      if (win) await win.setTitle(title);
      else if (globalThis.document) globalThis.document.title = title;
    },

    async focus() {
      await myWindow()?.focus();
    },
  };
}
