/** Transcript library search on a real PostgreSQL 15 (Debian, with contrib's pg_trgm): the same tests as on PGlite (`library-search.ts`). */
import { openPostgresDatabase } from "../../src/server/store/database";
import { startTestPostgres } from "../support/postgres";
import { librarySearchTests } from "./library-search";

librarySearchTests("PostgreSQL", async () => {
  const pg = await startTestPostgres();
  const db = await openPostgresDatabase(await pg.createDatabase("callscribe_library"));
  return {
    db,
    async close() {
      await db.close();
      await pg.stop();
    },
  };
});
