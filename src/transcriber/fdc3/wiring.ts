/**
 * The transcriber's FDC3 surface (DESIGN §3): the StartTranscription and StopTranscription
 * intent handlers, the user-channel listeners for `fdc3.call` and `fdc3.contact`, the private
 * channel of live `fdc3.transcript` updates, and (in `./save`, re-exported) saving a transcript (SaveTranscript, or the standard
 * CreateInteraction for CRMs that know only the standard).
 *
 * Every context that arrives is validated (ajv, `assertContext`). A refused context is shown in
 * the UI and answered with an `fdc3.transactionResult` of status `Failed` whose `message` says
 * why. The FDC3 standard would have the handler throw (the raiser's `getResult()` then rejects
 * with `IntentHandlerRejected`), but the 2.2.1-beta.2 agent proxy has no way to send a handler's
 * error back: a rejected handler leaves the raiser waiting forever and surfaces as an unhandled
 * rejection here. See {@link refusal}; switch it to `throw` once the agent reports errors.
 */
import type { Context, DesktopAgent, IntentResult, Listener, PrivateChannel } from "@finos/fdc3";
import { IntentName, validateContext, type Call, type Contact, type Transcript } from "../../contracts";
import { sessionSubject, startRequestFor, stopTranscriptionFor } from "../session/commands";
import type { TranscriberController } from "../session/controller";
import { callEndsSession } from "../session/start-request";
// Saving lives in ./save (shared with the Library); re-exported for the transcriber's callers.
export { raiseSaveIntent, saveTranscriptAnywhere, saveTranscriptViaIntent, type ChooseSaveTarget, type OnSaveResult } from "./save";

/** `fdc3.transactionResult` as sent for a refused intent. */
export interface FailedResult {
  type: "fdc3.transactionResult";
  status: "Failed";
  message: string;
}

/** The answer to an intent that cannot be carried out (see the module comment). */
export function refusal(message: string): FailedResult {
  return { type: "fdc3.transactionResult", status: "Failed", message };
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e));

/** Handles to undo {@link wireTranscriber}. */
export interface TranscriberWiring {
  dispose(): Promise<void>;
}

/**
 * Register the intent handlers and user-channel listeners for `controller` on `agent`.
 * @returns handles to remove them again
 */
export async function wireTranscriber(agent: DesktopAgent, controller: TranscriberController): Promise<TranscriberWiring> {
  let live: { channel: PrivateChannel; callId?: string; off: () => void } | undefined;

  const closeLive = async () => {
    const previous = live;
    live = undefined;
    if (!previous) return;
    previous.off();
    await previous.channel.disconnect().catch(() => undefined);
  };

  const startHandler = async (context: Context): Promise<IntentResult> => {
    try {
      const { request, sameCall } = startRequestFor(controller, context);
      // The same call asked twice: hand back the channel already streaming it.
      if (sameCall && live) return live.channel;
      if (controller.active) throw new Error(`already transcribing ${sessionSubject(controller)}; stop it first`);
      await closeLive();
      const channel = await agent.createPrivateChannel();
      const off = controller.onLiveTranscript((t) => {
        channel.broadcast(t).catch((e: unknown) => controller.notice(`live update not delivered: ${errorText(e)}`));
      });
      live = { channel, off, ...(request.callId && { callId: request.callId }) };
      try {
        await controller.start(request);
      } catch (e) {
        await closeLive();
        throw e;
      }
      return channel;
    } catch (e) {
      const message = `StartTranscription refused: ${errorText(e)}`;
      controller.notice(message);
      return refusal(message);
    }
  };

  const stopHandler = async (context: Context): Promise<IntentResult> => {
    try {
      // Already stopped (e.g. by the `ended` call on the user channel): answered with that transcript.
      return await stopTranscriptionFor(controller, context);
    } catch (e) {
      const message = `StopTranscription refused: ${errorText(e)}`;
      controller.notice(message);
      return refusal(message);
    }
  };

  const onCall = (context: Context) => {
    const checked = validateContext(context);
    if (!checked.valid) return controller.notice(`ignored an fdc3.call from the user channel: ${checked.error}`);
    const call = context as unknown as Call;
    if (controller.active && (controller.callId === undefined || controller.callId === call.id.callId)) {
      controller.addParticipants(call.participants?.contacts ?? []);
    }
    if (controller.active && callEndsSession(call, controller.callId)) {
      controller.stop().catch((e: unknown) => controller.notice(`stopping on call end failed: ${errorText(e)}`));
    }
  };

  const onContact = (context: Context) => {
    const checked = validateContext(context);
    if (!checked.valid) return controller.notice(`ignored an fdc3.contact from the user channel: ${checked.error}`);
    controller.contactSeen(context as unknown as Contact);
  };

  const listeners: Listener[] = await Promise.all([
    agent.addIntentListener(IntentName.StartTranscription, startHandler),
    agent.addIntentListener(IntentName.StopTranscription, stopHandler),
    agent.addContextListener("fdc3.call", onCall),
    agent.addContextListener("fdc3.contact", onContact),
  ]);

  return {
    async dispose() {
      await Promise.all(listeners.map((l) => l.unsubscribe()));
      await closeLive();
    },
  };
}

/** App Directory id of the Callscribe Library. */
export const LIBRARY_APP_ID = "callscribe-library";

/**
 * Open `transcript` in the Callscribe Library: `fdc3.open` with the `fdc3.transcript` as context
 * (the Library opens its entry by `id.transcriptId`).
 * @throws the desktop agent's error (e.g. AppNotFound) when the Library cannot be opened
 */
export async function openTranscriptInLibrary(agent: DesktopAgent, transcript: Transcript): Promise<void> {
  await agent.open({ appId: LIBRARY_APP_ID }, transcript as unknown as Context);
}
