/**
 * Connects a desktop port (`port.ts`) to the transcriber, whichever desktop it is:
 *
 * - commands: start / stop from other apps (io.Connect interop methods), with the same contexts,
 *   JSON Schema checks and answers as the FDC3 intents (`../session/commands.ts`); a refusal is
 *   thrown with its reason (the caller's invoke rejects with it) and shown as a notice;
 * - notifications: {@link notifyingSave} wraps the save step, so every SaveTranscript outcome
 *   (a live session's, a recorded call's) raises one, with an action that opens the transcript:
 *   it brings the transcriber's window, which shows the transcript and its save result, forward,
 *   or, when the transcriber has moved on to another session, opens it in the Callscribe Library
 *   (`fdc3.open` with the `fdc3.transcript`; the Library looks it up by `id.transcriptId`);
 * - title: while a session runs, the window's title says so ("● Live call with …"); the original
 *   title comes back when it ends.
 */
import Ajv from "ajv";
import type { Transcript } from "../../contracts";
import { startRequestFor, stopTranscriptionFor } from "../session/commands";
import { SaveCancelledError, type SaveOutcome, type TranscriberController, type TranscriberSnapshot } from "../session/controller";
import type { DesktopPort } from "./port";

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Arguments of the "open transcript" command (a notification's action). */
const OPEN_ARGS_SCHEMA = {
  type: "object",
  properties: { transcriptId: { type: "string", minLength: 1, maxLength: 200 } },
  required: ["transcriptId"],
  additionalProperties: false,
} as const;
const validateOpenArgs = new Ajv({ allErrors: true }).compile<{ transcriptId: string }>(OPEN_ARGS_SCHEMA);

/** The last transcripts notifications were raised about, by `id.transcriptId` (at most {@link RecentTranscripts.MAX}). */
export class RecentTranscripts {
  static readonly MAX = 20;
  private readonly byId = new Map<string, Transcript>();
  remember(t: Transcript): void {
    this.byId.delete(t.id.transcriptId);
    this.byId.set(t.id.transcriptId, t);
    if (this.byId.size > RecentTranscripts.MAX) this.byId.delete(this.byId.keys().next().value!);
  }
  get(transcriptId: string): Transcript | undefined {
    return this.byId.get(transcriptId);
  }
}

/** Options of {@link wireDesktop}: where a transcript no longer on screen is opened. */
export interface WireDesktopOptions {
  /** Transcripts the notifications were about ({@link notifyingSave}'s). */
  recent?: RecentTranscripts;
  /** Open a transcript in the Library (e.g. `fdc3.open({appId: "callscribe-library"}, transcript)`). */
  openInLibrary?: (t: Transcript) => Promise<void>;
}

/** What `start` answers when it started (or is already running) a session. */
export interface StartAnswer {
  status: "listening" | "already-transcribing";
  source: "call" | "dictation";
  callId?: string;
}

/** Handles to undo {@link wireDesktop}. */
export interface DesktopWiring {
  dispose(): void;
}

/**
 * The window title for a snapshot: the live session in front of `baseTitle`, or `baseTitle`.
 * A call names its parties (else its id); a dictation says so.
 */
export function sessionTitle(snapshot: Pick<TranscriberSnapshot, "status" | "request" | "participants">, baseTitle: string): string {
  const live = snapshot.status === "starting" || snapshot.status === "listening" || snapshot.status === "stopping";
  if (!live || !snapshot.request) return baseTitle;
  if (snapshot.request.source === "dictation") return `● Dictating — ${baseTitle}`;
  const names = snapshot.participants.map((c) => c.name ?? c.id?.email).filter((n): n is string => Boolean(n));
  const who = names.length > 0 ? `with ${names.join(", ")}` : snapshot.request.callId ? `(${snapshot.request.callId})` : "";
  return `● Live call ${who}`.trimEnd() + ` — ${baseTitle}`;
}

/**
 * Offer start / stop / open commands on `port`, and keep its window title in step with the session.
 * @returns handles to withdraw the commands and stop following the session
 * @throws Error when the desktop refuses the commands (then nothing is left wired)
 */
export async function wireDesktop(port: DesktopPort, controller: TranscriberController, options: WireDesktopOptions = {}): Promise<DesktopWiring> {
  const refuse = (what: string, e: unknown): never => {
    const message = `${what} refused: ${errorText(e)}`;
    controller.notice(message);
    throw new Error(message);
  };

  const withdraw = await port.registerCommands({
    async start(args): Promise<StartAnswer> {
      try {
        const { request, sameCall } = startRequestFor(controller, args);
        const answer = { source: request.source, ...(request.callId && { callId: request.callId }) };
        if (sameCall) return { status: "already-transcribing", ...answer };
        await controller.start(request);
        return { status: "listening", ...answer };
      } catch (e) {
        return refuse("StartTranscription", e);
      }
    },
    async stop(args): Promise<Transcript> {
      try {
        return await stopTranscriptionFor(controller, args);
      } catch (e) {
        return refuse("StopTranscription", e);
      }
    },
    async open(args) {
      if (!validateOpenArgs(args)) return refuse("OpenTranscript", new Error(`expected {transcriptId: string}: ${new Ajv().errorsText(validateOpenArgs.errors)}`));
      const shown = controller.getSnapshot().transcript?.id.transcriptId === args.transcriptId;
      const known = shown ? undefined : options.recent?.get(args.transcriptId);
      if (known && options.openInLibrary) {
        try {
          await options.openInLibrary(known);
          return { transcriptId: args.transcriptId, shown: false, openedIn: "callscribe-library" };
        } catch (e) {
          controller.notice(`transcript ${args.transcriptId} could not be opened in the Library: ${errorText(e)}`);
        }
      }
      await port.focus();
      if (!shown) controller.notice(`transcript ${args.transcriptId} is no longer the one on screen; find it in the Callscribe Library`);
      return { transcriptId: args.transcriptId, shown };
    },
  });

  const baseTitle = port.currentTitle() || "Callscribe Transcriber";
  let shownTitle = baseTitle;
  const followTitle = () => {
    const wanted = sessionTitle(controller.getSnapshot(), baseTitle);
    if (wanted === shownTitle) return;
    shownTitle = wanted;
    port.setTitle(wanted).catch((e: unknown) => controller.notice(`window title not set: ${errorText(e)}`));
  };
  const unsubscribe = controller.subscribe(followTitle);
  followTitle();

  return {
    dispose() {
      unsubscribe();
      withdraw();
      if (shownTitle !== baseTitle) void port.setTitle(baseTitle).catch(() => undefined);
    },
  };
}

/** What a transcript is about, for a notification: "Call c-1 with Jane Doe", "Dictation". */
function transcriptSubject(t: Transcript): string {
  const names = (t.participants?.contacts ?? []).map((c) => c.name).filter(Boolean);
  const what = t.source === "dictation" ? "Dictation" : t.source === "recording" ? "Recorded call" : "Call";
  return `${what}${t.id.callId ? ` ${t.id.callId}` : ""}${names.length ? ` with ${names.join(", ")}` : ""}`;
}

/**
 * Wrap a SaveTranscript step so that each outcome raises a desktop notification: saved (the
 * CRM and its status), or not saved (the CRM's `Failed`, or why it could not be raised), each
 * with an "Open transcript" action (`recent` remembers the transcript for it). A cancelled app choice is the user's own doing: no notification.
 * The outcome is passed on unchanged; a notification that fails is only reported to `onNotice`.
 */
export function notifyingSave(
  port: Pick<DesktopPort, "notify">,
  save: (t: Transcript) => Promise<SaveOutcome>,
  onNotice: (message: string) => void = () => undefined,
  recent?: RecentTranscripts,
): (t: Transcript) => Promise<SaveOutcome> {
  const tell = (t: Transcript, title: string, body: string, severity: "info" | "error") => {
    recent?.remember(t);
    void port
      .notify({ title, body: `${transcriptSubject(t)}: ${body}`, severity, transcriptId: t.id.transcriptId, openLabel: "Open transcript" })
      .then((failed) => failed && onNotice(failed));
  };
  return async (t) => {
    let outcome: SaveOutcome;
    try {
      outcome = await save(t);
    } catch (e) {
      const cancelled = e instanceof SaveCancelledError || (e instanceof Error && e.name === "SaveCancelledError");
      if (!cancelled) tell(t, "Transcript not saved", errorText(e), "error");
      throw e;
    }
    const crm = outcome.appTitle ?? outcome.appId;
    if (outcome.status === "Failed") tell(t, `Transcript not saved in ${crm}`, `${crm} answered Failed${outcome.message ? ` (${outcome.message})` : ""}`, "error");
    else tell(t, `Transcript saved in ${crm}`, `${outcome.status}${outcome.message ? ` — ${outcome.message}` : ""}`, "info");
    return outcome;
  };
}
