/**
 * Playback of a recorded call's audio from the Library (issue 9 §3):
 * `GET /v1/transcripts/:id/audio` (auth {@link LIBRARY_ROUTE_AUTH}, on the matched route).
 *
 * - The transcript must come from a recorded call (`source` `recording`) whose encrypted
 *   recording is still on this server's disk. 404 `NO_AUDIO` for an unknown id or a transcript
 *   with no recording (live calls, dictations), 410 `AUDIO_DELETED` once retention
 *   (CALLSCRIBE_AUDIO_RETENTION_DAYS) removed it, 404 `AUDIO_MISSING` when the row names a file
 *   this server's disk does not hold (another worker's disk).
 * - Ranges (RFC 9110 §14, parsed by `range-parser`): one range → 206 with `Content-Range`;
 *   unsatisfiable → 416 with `Content-Range: bytes *\/<size>`; several ranges, a malformed header,
 *   another unit, or an `If-Range` that does not match the ETag → the whole file, 200. Always
 *   `Accept-Ranges: bytes`, a strong `ETag` (the envelope's IV, new for every sealing) and
 *   `Cache-Control: no-store` (it is a person's voice).
 * - Memory: the file is decrypted as it streams (`store/sealed-file.ts`, after one whole-file
 *   GCM tag check, cached), never held whole. 503 `AUDIO_BUSY` when too many checks run at once;
 *   500 `AUDIO_UNREADABLE` when the file does not authenticate.
 */
import { stat } from "node:fs/promises";
import type { FastifyPluginAsync } from "fastify";
import parseRange from "range-parser";
import { LIBRARY_ROUTE_AUTH } from "../auth";
import { errorBody } from "../errors";
import { audioAad } from "../pipeline/run-call";
import type { CallRepository } from "../store/calls";
import { DecryptionError, ENVELOPE } from "../store/crypto";
import { VerifierBusyError, type SealedFileReader } from "../store/sealed-file";
import { ID_PARAMS } from "./routes";
import type { LibrarySource, TranscriptLibrary } from "./store";

/**
 * Whether a transcript's audio can be played: `available` (with its size, bytes), `deleted` by
 * retention (when, ISO 8601), `missing` from this server's disk, or `none` (not a recorded call).
 */
export type AudioAvailability = { status: "available"; bytes: number } | { status: "deleted"; deletedAt: string } | { status: "missing" } | { status: "none" };

/** Where a transcript's audio is, and whether it can be played. */
export async function audioAvailability(calls: Pick<CallRepository, "audioOf">, origin: { source: LibrarySource; callId?: string }): Promise<AudioAvailability & { path?: string; callId?: string }> {
  if (origin.source !== "recording" || !origin.callId) return { status: "none" };
  const call = await calls.audioOf(origin.callId);
  // Only the calls table's recorded calls have audio (a POSTed transcript claiming a call id gets none from a live call).
  if (!call || call.source !== "recording") return { status: "none" };
  if (call.audioDeletedAt) return { status: "deleted", deletedAt: call.audioDeletedAt };
  if (!call.audioPath) return { status: "none" };
  try {
    const st = await stat(call.audioPath);
    return { status: "available", bytes: Math.max(0, st.size - ENVELOPE.HEADER_BYTES), path: call.audioPath, callId: origin.callId };
  } catch {
    return { status: "missing" };
  }
}

/** The media type of audio from its first bytes (the formats the decode stage takes); `application/octet-stream` otherwise. */
export function sniffAudioType(head: Uint8Array): string {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const ascii = (from: number, to: number) => b.subarray(from, to).toString("latin1");
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "audio/wav";
  if (ascii(0, 4) === "fLaC") return "audio/flac";
  if (ascii(0, 4) === "OggS") return "audio/ogg";
  if (ascii(0, 3) === "ID3" || (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0)) return "audio/mpeg";
  return "application/octet-stream";
}

/** Options of {@link audioRoutes}. */
export interface AudioRoutesOptions {
  library: Pick<TranscriptLibrary, "originOf">;
  calls: Pick<CallRepository, "audioOf">;
  reader: SealedFileReader;
}

/** Fastify plugin: `GET /v1/transcripts/:id/audio`. */
export const audioRoutes: FastifyPluginAsync<AudioRoutesOptions> = async (app, { library, calls, reader }) => {
  app.get<{ Params: { id: string } }>("/v1/transcripts/:id/audio", { config: { auth: LIBRARY_ROUTE_AUTH }, schema: { params: ID_PARAMS } }, async (request, reply) => {
    const { id } = request.params;
    const origin = await library.originOf(id);
    if (!origin) return reply.code(404).send(errorBody(request, "NO_AUDIO", `No transcript with id ${id}.`));
    const where = await audioAvailability(calls, origin);
    if (where.status === "none") return reply.code(404).send(errorBody(request, "NO_AUDIO", "This transcript has no recorded audio: only recorded calls keep theirs."));
    if (where.status === "deleted") return reply.code(410).send(errorBody(request, "AUDIO_DELETED", `The audio of this call is no longer retained: the retention period deleted it at ${where.deletedAt}.`));
    if (where.status === "missing") return reply.code(404).send(errorBody(request, "AUDIO_MISSING", "The recording is not on this server's disk."));

    let file;
    try {
      file = await reader.verify(where.path!, audioAad(where.callId!));
    } catch (err) {
      if (err instanceof VerifierBusyError) return reply.code(503).header("retry-after", "1").send(errorBody(request, "AUDIO_BUSY", err.message));
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return reply.code(404).send(errorBody(request, "AUDIO_MISSING", "The recording is not on this server's disk."));
      if (err instanceof DecryptionError) {
        request.log.error({ transcript: id, err: err.message }, "recorded audio does not authenticate");
        return reply.code(500).send(errorBody(request, "AUDIO_UNREADABLE", "The stored recording could not be decrypted."));
      }
      throw err;
    }

    const size = file.plainBytes;
    const etag = `"${file.iv.toString("hex")}"`;
    reply.header("accept-ranges", "bytes").header("etag", etag).header("cache-control", "no-store");

    const rangeHeader = request.headers.range;
    const ifRange = request.headers["if-range"];
    let start = 0;
    let end = size - 1;
    if (rangeHeader !== undefined && (ifRange === undefined || ifRange === etag)) {
      const ranges = parseRange(size, rangeHeader, { combine: true });
      if (ranges === -1) {
        return reply.code(416).header("content-range", `bytes */${size}`).send(errorBody(request, "RANGE_NOT_SATISFIABLE", `The range ${rangeHeader.slice(0, 100)} is outside the audio's ${size} bytes.`));
      }
      // -2 (malformed), another unit, or several ranges: RFC 9110 §14.2 lets the server ignore Range.
      if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1) {
        ({ start, end } = ranges[0]);
        reply.code(206).header("content-range", `bytes ${start}-${end}/${size}`);
      }
    }
    reply.header("content-type", sniffAudioType(file.head)).header("content-length", String(size === 0 ? 0 : end - start + 1));
    if (size === 0) return reply.send(Buffer.alloc(0));
    return reply.send(await reader.range(file, start, end));
  });
};
