/** `GET /v1/calls/events` on a real PostgreSQL 15 (Debian): LISTEN/NOTIFY over its own connection; the shared tests of `call-events.ts`. */
import { openPostgresDatabase } from "../../src/server/store/database";
import { startTestPostgres } from "../support/postgres";
import { callEventsTests } from "./call-events";

callEventsTests("PostgreSQL", async () => {
  const pg = await startTestPostgres();
  const db = await openPostgresDatabase(await pg.createDatabase("callscribe_events"));
  return {
    db,
    async close() {
      await db.close();
      await pg.stop();
    },
  };
});
