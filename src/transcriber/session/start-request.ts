/**
 * What a transcription session is about, derived from the context it was started with
 * (StartTranscription: `fdc3.call`, `fdc3.interaction` with `interactionType: "Call"`,
 * `fdc3.contact`, `fdc3.nothing`; or the Dictate button), and the rules for contexts that
 * arrive later on the user channel. Contexts reaching this module are already schema-validated
 * (`assertContext`); the checks here are the semantic ones a schema cannot express.
 */
import type { Call, Contact } from "../../../contexts/types";

/** The subject of a session. */
export interface StartRequest {
  /** `call` when started with a call or call interaction, `dictation` otherwise. */
  source: "call" | "dictation";
  /** The call's id (`fdc3.call` `id.callId`, or an interaction's first id value). */
  callId?: string;
  /** Known participants: the call's or interaction's contact list, or the contact given. */
  participants: Contact[];
  /** When the call was connected (ISO 8601), if the context said so. */
  callStartTime?: string;
}

/** Thrown when a context is valid for its schema but cannot start a transcription. */
export class UnsupportedStartContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedStartContextError";
  }
}

interface InteractionLike {
  type: "fdc3.interaction";
  id?: Record<string, unknown>;
  interactionType: string;
  participants?: { contacts?: Contact[] };
  timeRange?: { startTime?: string };
}

/**
 * Derive the session subject from a validated start context.
 * @throws UnsupportedStartContextError for an `fdc3.interaction` that is not a call, an `fdc3.call`
 *   that has already ended, or an unexpected type
 */
export function startRequestFromContext(context: { type: string; [k: string]: unknown }): StartRequest {
  switch (context.type) {
    case "fdc3.call": {
      const call = context as unknown as Call;
      if (call.state === "ended") throw new UnsupportedStartContextError(`call ${call.id.callId} has already ended; nothing to transcribe`);
      return {
        source: "call",
        callId: call.id.callId,
        participants: call.participants?.contacts ?? [],
        ...(call.startTime && { callStartTime: call.startTime }),
      };
    }
    case "fdc3.interaction": {
      const interaction = context as unknown as InteractionLike;
      if (interaction.interactionType !== "Call") {
        throw new UnsupportedStartContextError(`fdc3.interaction with interactionType "${interaction.interactionType}" is not a call; only "Call" can be transcribed`);
      }
      const callId = interactionCallId(interaction);
      return {
        source: "call",
        ...(callId && { callId }),
        participants: interaction.participants?.contacts ?? [],
        ...(interaction.timeRange?.startTime && { callStartTime: interaction.timeRange.startTime }),
      };
    }
    case "fdc3.contact":
      return { source: "dictation", participants: [context as unknown as Contact] };
    case "fdc3.nothing":
      return { source: "dictation", participants: [] };
    default:
      throw new UnsupportedStartContextError(`context type ${context.type} cannot start a transcription`);
  }
}

/** The call id an interaction carries: `id.URI`, else its first string id value. */
export function interactionCallId(interaction: { id?: Record<string, unknown> }): string | undefined {
  const id = interaction.id ?? {};
  if (typeof id.URI === "string" && id.URI) return id.URI;
  return Object.values(id).find((v): v is string => typeof v === "string" && v.length > 0);
}

/**
 * Whether a StopTranscription context (or an `fdc3.call` on the user channel) is about the
 * running session: `fdc3.nothing` always is; a call or interaction is when its id matches the
 * session's call id, or when the session has none (dictation, or a call without an id).
 */
export function contextMatchesSession(context: { type: string; [k: string]: unknown }, sessionCallId: string | undefined): boolean {
  if (context.type === "fdc3.nothing") return true;
  let callId: string | undefined;
  if (context.type === "fdc3.call") callId = (context as unknown as Call).id.callId;
  else if (context.type === "fdc3.interaction") callId = interactionCallId(context as unknown as InteractionLike);
  else return false;
  return sessionCallId === undefined || callId === undefined || callId === sessionCallId;
}

/** Whether an `fdc3.call` from the user channel ends the running session. */
export function callEndsSession(call: Call, sessionCallId: string | undefined): boolean {
  return call.state === "ended" && (sessionCallId === undefined || call.id.callId === sessionCallId);
}

/**
 * Merge contacts, dropping duplicates (same email, else same FDS_ID, else same name).
 * Order: earlier lists first.
 */
export function mergeContacts(...lists: readonly (readonly Contact[] | undefined)[]): Contact[] {
  const seen = new Set<string>();
  const out: Contact[] = [];
  for (const list of lists) {
    for (const c of list ?? []) {
      const key = c.id?.email ? `email:${c.id.email.toLowerCase()}` : c.id?.FDS_ID ? `fds:${c.id.FDS_ID}` : `name:${(c.name ?? "").toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(c);
    }
  }
  return out;
}
