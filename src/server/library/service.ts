/**
 * The library at run time (composition in `main.ts`): the repository, the routes, and two timers:
 * - every `syncEverySec` (default 5 s, and before each read or search, at most once a second),
 *   finished calls are taken from the `calls` table into the library (`syncFromCalls`): recorded
 *   calls once the pipeline marks them done, live calls once the hub stores their outcome. Reading
 *   the calls table (rather than hooks in the pipeline and the hub) is what survives a crash
 *   between "call done" and "indexed": the next sweep takes it, in whatever process runs one.
 * - with `calls`, `GET /v1/transcripts/:id/audio` plays a recorded call's audio while it is
 *   retained (`audio.ts`), and `GET /v1/transcripts/:id` says whether it can.
 * - once at start, the dashboard columns of transcripts stored before migration 6 are filled
 *   (`backfillDashboard`); the dashboard waits for it up to 5 s (a large backlog goes on behind).
 * - hourly, when `retentionDays` is set (CALLSCRIBE_TRANSCRIPT_RETENTION_DAYS), transcripts whose
 *   call started longer ago are deleted.
 */
import type { FastifyInstance } from "fastify";
import type { CallRepository } from "../store/calls";
import { createAtRestCipher } from "../store/crypto";
import type { Database } from "../store/database";
import { dashboardRoutes } from "./dashboard";
import { libraryRoutes } from "./routes";
import { SealedFileReader } from "../store/sealed-file";
import { audioAvailability, audioRoutes, type AudioAvailability } from "./audio";
import { participantHmacKey, TranscriptLibrary, type LibraryEntry } from "./store";

/** Options of {@link startLibrary}. */
export interface LibraryServiceOptions {
  db: Database;
  /** The 32-byte at-rest key (CALLSCRIBE_ENCRYPTION_KEY). */
  encryptionKey: Uint8Array;
  /** The calls repository, to open finished calls' transcripts; undefined: no sync. */
  calls?: CallRepository;
  retentionDays?: number;
  syncEverySec?: number;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** A running library. */
export interface LibraryService {
  library: TranscriptLibrary;
  /** Take finished calls now (all pending ones). */
  sync(): Promise<void>;
  /** Register the routes on `app`. */
  register(app: FastifyInstance): void;
  stop(): void;
}

/** Start the library's timers; {@link LibraryService.register} adds the routes. */
export function startLibrary(opts: LibraryServiceOptions): LibraryService {
  const library = new TranscriptLibrary(opts.db, createAtRestCipher(opts.encryptionKey), participantHmacKey(opts.encryptionKey));
  const calls = opts.calls;
  let running: Promise<void> | undefined;
  let lastSync = 0;
  const sync = (): Promise<void> => {
    if (!calls) return Promise.resolve();
    running ??= (async () => {
      try {
        const open = async (id: string) => ({ transcript: await calls.loadTranscript(id), analysis: await calls.loadAnalysis(id) });
        const failed = (callId: string, err: Error) => opts.log?.warn({ callId, err: err.message }, "library: a finished call could not be taken");
        while ((await library.syncFromCalls(open, 100, failed)) > 0);
        lastSync = Date.now();
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const quietSync = () => sync().catch((err: Error) => opts.log?.warn({ err: err.message }, "library: taking finished calls failed"));
  const timers = [setInterval(quietSync, (opts.syncEverySec ?? 5) * 1000)];
  if (opts.retentionDays !== undefined) {
    const days = opts.retentionDays;
    const sweep = () =>
      library.deleteOlderThan(days).then(
        (n) => n && opts.log?.info({ transcripts: n }, "library retention deleted transcripts"),
        (err: Error) => opts.log?.warn({ err: err.message }, "library retention failed"),
      );
    timers.push(setInterval(sweep, 3_600_000));
    void sweep();
  }
  for (const t of timers) t.unref();
  // Transcripts stored before migration 6 get their dashboard columns (the values are in the sealed transcripts).
  const backfilled = (async () => {
    while ((await library.backfillDashboard(200)) > 0);
  })().catch((err: Error) => opts.log?.warn({ err: err.message }, "library: filling the dashboard columns failed"));
  return {
    library,
    sync,
    register(app) {
      // Before a read, take what finished since the last sweep, waiting at most 2 s (a backlog, e.g.
      // the first start after an upgrade, goes on in the background).
      const beforeRead = () => (Date.now() - lastSync > 1000 ? Promise.race([quietSync(), new Promise((r) => setTimeout(r, 2000).unref())]) : Promise.resolve());
      const dashboardReady = () => Promise.all([beforeRead(), Promise.race([backfilled, new Promise((r) => setTimeout(r, 5000).unref())])]);
      app.register(dashboardRoutes, { db: opts.db, library, beforeRead: dashboardReady });
      if (!calls) return void app.register(libraryRoutes, { library, beforeRead });
      // Recorded calls' audio: playable while retained (audio.ts).
      const audioOf = async (entry: LibraryEntry): Promise<AudioAvailability> => {
        const where = await audioAvailability(calls, entry);
        delete where.path; // where the file lies stays on the server
        delete where.callId;
        return where;
      };
      app.register(libraryRoutes, { library, beforeRead, audioOf });
      app.register(audioRoutes, { library, calls, reader: new SealedFileReader(opts.encryptionKey) });
    },
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
