/**
 * The transcript library (`src/server/library`) on an e2e test's server, as `src/server/main.ts`
 * wires it: real PGlite in a temp folder, migrated, the library's routes registered (before the
 * server listens). The transcriber sends every finished live call and dictation to
 * `POST /v1/transcripts`, so servers in e2e tests serve it like the real one.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { startLibrary, type LibraryService } from "../../../src/server/library/service";
import { openPgliteDatabase, type Database } from "../../../src/server/store/database";
import { migrate } from "../../../src/server/store/migrations";

/** A library on a test server; `close()` after the server has closed. */
export interface TestLibrary {
  service: LibraryService;
  db: Database;
  close(): Promise<void>;
}

/** Register the library routes on `server` (not yet listening), on a fresh PGlite. */
export async function attachLibrary(server: FastifyInstance): Promise<TestLibrary> {
  const dir = mkdtempSync(join(tmpdir(), "callscribe-e2e-library-db-"));
  const db = await openPgliteDatabase(dir);
  await migrate(db);
  const service = startLibrary({ db, encryptionKey: randomBytes(32), syncEverySec: 3600 });
  service.register(server);
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
