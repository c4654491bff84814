/**
 * Call metadata at rest (issue 7 item 14): the recording-ready body names people (participants'
 * names, phone numbers, e-mail addresses, the agent) and carries the recording URL, so it is
 * stored as an AES-256-GCM envelope (`crypto.ts`) with the AAD `metadata:<call_id>`, like
 * transcripts. Only fields that identify nobody stay readable in the `metadata` column: the call
 * id (idempotency), direction, start time and the CRM connector's name.
 */
import type { AtRestCipher } from "./crypto";
import type { RecordingReady } from "./model";

/** The metadata fields kept in clear: they identify no person. */
export type VisibleMetadata = Pick<RecordingReady, "call_id" | "direction" | "start_time" | "crm">;

/** AAD of a call's sealed metadata. */
export const metadataAad = (callId: string) => `metadata:${callId}`;

/** The clear part and the envelope of a call's metadata. */
export function sealMetadata(cipher: AtRestCipher, rr: RecordingReady): { visible: VisibleMetadata; sealed: Buffer } {
  const visible: VisibleMetadata = {
    call_id: rr.call_id,
    ...(rr.direction !== undefined && { direction: rr.direction }),
    ...(rr.start_time !== undefined && { start_time: rr.start_time }),
    ...(rr.crm !== undefined && { crm: rr.crm }),
  };
  return { visible, sealed: cipher.seal(Buffer.from(JSON.stringify(rr), "utf8"), metadataAad(rr.call_id)) };
}

/**
 * The full metadata of a stored row: decrypted from `metadata_sealed`, or the `metadata` column
 * itself for a row written before encryption (only until migration 3 has run).
 * @throws DecryptionError when the envelope does not open (wrong key, tampered)
 */
export function openMetadata(cipher: AtRestCipher, callId: string, visible: unknown, sealed: unknown): RecordingReady {
  if (sealed == null) return visible as RecordingReady;
  const bytes = typeof sealed === "string" ? Buffer.from(sealed.replace(/^\\x/, ""), "hex") : (sealed as Uint8Array);
  return JSON.parse(cipher.open(bytes, metadataAad(callId)).toString("utf8")) as RecordingReady;
}
