/**
 * Our `fdc3.transcript` as the standard `fdc3.interaction` (FDC3 2.2 context, schema in
 * `@finos/fdc3-context`), for CRMs that know only the standard `CreateInteraction` intent
 * (DESIGN §3, issue 10 §2).
 *
 * Mapping: `interactionType` "Call" (for a dictation "Note"), `participants` and `timeRange` from
 * the transcript, `description` = summary + transcript text, `id.Callscribe` = the transcriptId
 * (the schema's `id` is an open object whose documented keys are CRM record ids: `URI`,
 * `SALESFORCE`, `SINGLETRACK`; ours is one more key of that kind), `origin` "Callscribe".
 */
import type { Contact, Transcript } from "../../contexts/types";
import { validateContext } from "./validate";

/**
 * Longest `description`, in bytes of UTF-8: 32 KiB. A CRM's free-text field is often limited
 * (Salesforce's long text area defaults to 32,768 characters) and desktop agents carry contexts
 * in single messages, so the description stays well under both; the full transcript is in the
 * Callscribe library under the id.
 */
export const INTERACTION_DESCRIPTION_MAX_BYTES = 32 * 1024;

/** The FDC3 2.2 standard intent that takes an `fdc3.interaction` and answers `fdc3.transactionResult`. */
export const CREATE_INTERACTION = "CreateInteraction";

/** The `id` key under which the transcriptId travels. */
export const INTERACTION_ID_KEY = "Callscribe";

/** `fdc3.interaction` as we build it (only the fields we set). */
export interface Interaction {
  type: "fdc3.interaction";
  id: { [INTERACTION_ID_KEY]: string };
  interactionType: string;
  participants: { type: "fdc3.contactList"; contacts: Contact[] };
  timeRange: { type: "fdc3.timeRange"; startTime: string; endTime?: string };
  description: string;
  initiator?: Contact;
  origin: string;
}

/** Options of {@link interactionFromTranscript}. */
export interface InteractionOptions {
  /** The contact who started the call, when the caller knows it (the transcript does not say). */
  initiator?: Contact;
  /** Byte limit of `description` (UTF-8); default {@link INTERACTION_DESCRIPTION_MAX_BYTES}. */
  maxDescriptionBytes?: number;
  /** Clock for a transcript without `timeRange` (its end; start = end − duration). */
  now?: () => Date;
}

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

/**
 * `text` cut so that `text + marker` fits in `maxBytes` of UTF-8, at the last whitespace before
 * the cut (a word is never split; a single word longer than the room is cut at a code point).
 * @returns `text` unchanged when it already fits
 */
export function truncateUtf8AtWord(text: string, maxBytes: number, marker: string): string {
  if (bytes(text) <= maxBytes) return text;
  const room = maxBytes - bytes(marker);
  if (room <= 0) return marker.slice(0, Math.max(0, maxBytes));
  // Longest prefix of whole code points within `room` bytes.
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const n = bytes(ch);
    if (used + n > room) break;
    used += n;
    end += ch.length;
  }
  const prefix = text.slice(0, end);
  // The prefix ends on a word boundary when the next character is whitespace; else drop the partial word.
  const atBoundary = /^\s/.test(text.slice(end));
  const lastSpace = prefix.search(/\s\S*$/);
  const cut = atBoundary ? prefix : lastSpace > 0 ? prefix.slice(0, lastSpace) : prefix;
  return cut.trimEnd() + marker;
}

/**
 * Build the `fdc3.interaction` for a finished transcript.
 * @returns an interaction that validates against the FDC3 `fdc3.interaction` schema (with the
 *   `oneOf`→`anyOf` fix of `validate.ts`)
 * @throws Error when the result would not validate (e.g. an invalid contact in the transcript)
 */
export function interactionFromTranscript(transcript: Transcript, options: InteractionOptions = {}): Interaction {
  const max = options.maxDescriptionBytes ?? INTERACTION_DESCRIPTION_MAX_BYTES;
  const transcriptId = transcript.id.transcriptId;
  const head = transcript.summary ? `Summary: ${transcript.summary.trim()}\n\nTranscript:\n` : "Transcript:\n";
  const body = transcript.text.trim();
  const marker = ` … [truncated to ${max} bytes; full transcript: Callscribe ${transcriptId}]`;
  let description = head + body;
  if (bytes(description) > max) {
    // The summary is kept whole when it leaves room for some transcript; else everything is cut together.
    description = bytes(head) + bytes(marker) < max ? head + truncateUtf8AtWord(body, max - bytes(head), marker) : truncateUtf8AtWord(description, max, marker);
  }
  const interaction: Interaction = {
    type: "fdc3.interaction",
    id: { [INTERACTION_ID_KEY]: transcriptId },
    interactionType: transcript.source === "dictation" ? "Note" : "Call",
    participants: { type: "fdc3.contactList", contacts: (transcript.participants?.contacts ?? []) as Contact[] },
    timeRange: timeRangeOf(transcript, options.now ?? (() => new Date())),
    description,
    ...(options.initiator && { initiator: options.initiator }),
    origin: "Callscribe",
  };
  const checked = validateContext(interaction);
  if (!checked.valid) throw new Error(`cannot build fdc3.interaction for ${transcriptId}: ${checked.error}`);
  return interaction;
}

function timeRangeOf(t: Transcript, now: () => Date): Interaction["timeRange"] {
  const start = t.timeRange?.startTime;
  const end = t.timeRange?.endTime;
  if (start) return { type: "fdc3.timeRange", startTime: start, ...(end && { endTime: end }) };
  const endAt = end ? new Date(end) : now();
  const startAt = new Date(endAt.getTime() - (t.duration ?? 0) * 1000);
  return { type: "fdc3.timeRange", startTime: startAt.toISOString(), endTime: endAt.toISOString() };
}
