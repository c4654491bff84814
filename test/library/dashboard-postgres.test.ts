/** The library dashboard on a real PostgreSQL 15: the same tests as on PGlite (`library-dashboard.ts`). */
import { openPostgresDatabase } from "../../src/server/store/database";
import { startTestPostgres } from "../support/postgres";
import { dashboardTests } from "./library-dashboard";

dashboardTests("PostgreSQL", async () => {
  const pg = await startTestPostgres();
  const db = await openPostgresDatabase(await pg.createDatabase("callscribe_dashboard"));
  return {
    db,
    async close() {
      await db.close();
      await pg.stop();
    },
  };
});
