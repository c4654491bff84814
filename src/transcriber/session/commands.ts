/**
 * Start and stop as commands from outside the app, whatever carries them: the FDC3 intents
 * StartTranscription / StopTranscription (`../fdc3/wiring.ts`) and the io.Connect interop methods
 * `Callscribe.StartTranscription` / `Callscribe.StopTranscription` (`../desktops/wiring.ts`).
 * Both take the same contexts (DESIGN §3: `fdc3.call`, `fdc3.interaction` with
 * `interactionType: "Call"`, `fdc3.contact`, `fdc3.nothing` to start; no contact to stop), checked
 * with the same JSON Schemas, so a softphone gets the same answer on either route.
 */
import { INTENTS, assertContext, type Transcript } from "../../contracts";
import type { TranscriberController } from "./controller";
import { contextMatchesSession, startRequestFromContext, type StartRequest } from "./start-request";

/** "call c-1" or "a dictation": what the running session is about, for messages. */
export function sessionSubject(controller: TranscriberController): string {
  return controller.callId ? `call ${controller.callId}` : "a dictation";
}

/**
 * The session a start context asks for.
 * @param context anything; it must be one of StartTranscription's context types and valid for its schema
 * @returns the request, and whether the running session is already this call (`sameCall`: the
 *   caller may hand back what it has for it instead of refusing)
 * @throws ContextValidationError (wrong type, schema errors), UnsupportedStartContextError (an
 *   interaction that is not a call, a call that has ended), Error when another session is running
 */
export function startRequestFor(controller: TranscriberController, context: unknown): { request: StartRequest; sameCall: boolean } {
  const ctx = assertContext(context, INTENTS.StartTranscription.contexts);
  const request = startRequestFromContext(ctx);
  const sameCall = controller.active && request.callId !== undefined && request.callId === controller.callId;
  if (controller.active && !sameCall) throw new Error(`already transcribing ${sessionSubject(controller)}; stop it first`);
  return { request, sameCall };
}

/**
 * Stop the session a stop context names and wait for its final transcript. When the session
 * has already stopped (e.g. the call ended on the user channel), its transcript is the answer.
 * @returns the final `fdc3.transcript`
 * @throws ContextValidationError for a context of the wrong type or shape; Error when nothing is
 *   running, or the running session is about another call
 */
export async function stopTranscriptionFor(controller: TranscriberController, context: unknown): Promise<Transcript> {
  const ctx = assertContext(context, INTENTS.StopTranscription.contexts);
  const snapshot = controller.getSnapshot();
  if (!controller.active) {
    if (snapshot.transcript && contextMatchesSession(ctx, snapshot.transcript.id.callId)) return snapshot.transcript;
    throw new Error("no transcription is running");
  }
  if (!contextMatchesSession(ctx, controller.callId)) {
    throw new Error(`the running transcription is for ${sessionSubject(controller)}, not this context`);
  }
  return controller.stop();
}
