/**
 * What the transcriber needs from the desktop it runs in, beyond FDC3 (which has no desktop
 * notifications, no plain request/response methods and no window title): the desktop port.
 *
 * Adapters: `ioconnect.ts` (io.Connect Desktop, through `@interopio/desktop`) and
 * {@link browserDesktop} (any other desktop: a browser tab, our browser desktop agent, Sail).
 * `select.ts` picks one; `wiring.ts` connects the port to the session controller.
 */

/** A desktop notification about a transcript, with one action that opens it. */
export interface TranscriptNotification {
  title: string;
  body: string;
  /** `info`: it worked; `error`: it did not, the user should act. */
  severity: "info" | "error";
  /** The transcript the action opens (`fdc3.transcript` `id.transcriptId`). */
  transcriptId: string;
  /** Label of the action button, e.g. "Open transcript". */
  openLabel: string;
}

/**
 * Handlers for commands the desktop delivers (io.Connect interop methods). Each receives the
 * caller's arguments as they came (unvalidated) and resolves with a JSON-able answer; a thrown
 * Error's message is what the caller gets back.
 */
export interface DesktopCommands {
  /** Start a session for a StartTranscription context (`fdc3.call`, `fdc3.interaction`, `fdc3.contact`, `fdc3.nothing`). */
  start(args: unknown): Promise<object>;
  /** Stop the session a StopTranscription context names; resolves with the final `fdc3.transcript`. */
  stop(args: unknown): Promise<object>;
  /** A notification's action: bring the transcript `{ transcriptId }` to the user. */
  open(args: unknown): Promise<object>;
}

/** The desktop port. Every method resolves (or is a no-op) where the desktop lacks the feature. */
export interface DesktopPort {
  /** Which desktop, for the UI, e.g. "io.Connect Desktop" or "browser". */
  readonly name: string;
  /** What this desktop adds beyond FDC3, for the UI (empty: nothing). */
  readonly features: readonly string[];
  /**
   * Raise a desktop notification. Never rejects: resolves with why it failed, or undefined (shown,
   * or the desktop has no notifications: the app's own screen shows the outcome anyway).
   */
  notify(notification: TranscriptNotification): Promise<string | undefined>;
  /** Offer the commands to other apps; resolves with a function that withdraws them. */
  registerCommands(commands: DesktopCommands): Promise<() => void>;
  /** The window's title now (to restore it later). */
  currentTitle(): string;
  /** Set the window's title. */
  setTitle(title: string): Promise<void>;
  /** Bring this app's window to the front. */
  focus(): Promise<void>;
}

/**
 * The port for desktops without extras: no notifications or commands (FDC3 intents cover start
 * and stop there); the title is the document's (seen when the app runs in a tab of its own).
 */
export function browserDesktop(doc: Pick<Document, "title"> = document, win: Pick<Window, "focus"> = window): DesktopPort {
  return {
    name: "browser",
    features: [],
    notify: async () => undefined,
    registerCommands: async () => () => undefined,
    currentTitle: () => doc.title,
    setTitle: async (title) => {
      doc.title = title;
    },
    focus: async () => win.focus(),
  };
}
