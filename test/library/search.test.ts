/** Transcript library search on the embedded PGlite (with its pg_trgm extension): see `library-search.ts`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPgliteDatabase } from "../../src/server/store/database";
import { librarySearchTests } from "./library-search";

librarySearchTests("PGlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "callscribe-library-"));
  const db = await openPgliteDatabase(dir);
  return {
    db,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
