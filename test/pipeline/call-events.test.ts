/** `GET /v1/calls/events` on embedded PGlite (a folder on disk): the shared tests of `call-events.ts`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPgliteDatabase } from "../../src/server/store/database";
import { callEventsTests } from "./call-events";

callEventsTests("PGlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "callscribe-events-"));
  const db = await openPgliteDatabase(dir);
  return {
    db,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
