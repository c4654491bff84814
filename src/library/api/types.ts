/**
 * Shapes of the library API's answers, as the server defines them (`src/server/library/store.ts`;
 * type-only, nothing of the server is bundled).
 */
export type { CrmSave, LibraryEntry, LibrarySource, SearchHit, SearchPage } from "../../server/library/store";
export type { AudioAvailability } from "../../server/library/audio";
export type { DashboardReport, DashboardDay, FailedCall, DeadLetteredCall, SentimentCounts } from "../../server/library/dashboard-store";
