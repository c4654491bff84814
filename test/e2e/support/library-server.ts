/**
 * The transcript library (`src/server/library`) and the calls API with its event stream
 * (`GET /v1/calls`, `GET /v1/calls/events`) on an e2e test's server, as `src/server/main.ts` wires
 * them: real PGlite in a temp folder, migrated, the routes registered (before the server listens).
 * The transcriber sends every finished live call and dictation to `POST /v1/transcripts`, and its
 * Recordings panel follows the calls, so servers in e2e tests serve them like the real one.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { startLibrary, type LibraryService } from "../../../src/server/library/service";
import { callsApiPlugin } from "../../../src/server/pipeline/api";
import { callEventsRoutes } from "../../../src/server/pipeline/events";
import { CallRepository } from "../../../src/server/store/calls";
import { createAtRestCipher } from "../../../src/server/store/crypto";
import { openPgliteDatabase, type Database } from "../../../src/server/store/database";
import { migrate } from "../../../src/server/store/migrations";

/** A library on a test server; `close()` after the server has closed. */
export interface TestLibrary {
  service: LibraryService;
  db: Database;
  close(): Promise<void>;
}

/** Register the library, calls and call-event routes on `server` (not yet listening), on a fresh PGlite. */
export async function attachLibrary(server: FastifyInstance): Promise<TestLibrary> {
  const dir = mkdtempSync(join(tmpdir(), "callscribe-e2e-library-db-"));
  const db = await openPgliteDatabase(dir);
  await migrate(db);
  const key = randomBytes(32);
  const calls = new CallRepository(db, createAtRestCipher(key));
  const service = startLibrary({ db, encryptionKey: key, calls, syncEverySec: 3600 });
  service.register(server);
  server.register(callsApiPlugin, { getCall: (id) => calls.getCall(id), listCalls: (q) => calls.listCalls(q) });
  server.register(callEventsRoutes, { db });
  return {
    service,
    db,
    async close() {
      service.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
