/** The library dashboard (issue 9 §4) on the embedded PGlite: see `library-dashboard.ts`. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPgliteDatabase } from "../../src/server/store/database";
import { dashboardTests } from "./library-dashboard";

dashboardTests("PGlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "callscribe-dashboard-"));
  const db = await openPgliteDatabase(dir);
  return {
    db,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
