/**
 * The CRM's records in IndexedDB (via `idb`), one database per CRM, so stored transcripts
 * survive reloads. Record ids are `<PREFIX>-<6 digits>`, numbered in save order.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { Transcript } from "../../contracts";
import type { CrmRecord, RecordStore } from "./saveTranscript";

interface CrmDb extends DBSchema {
  records: { key: string; value: CrmRecord; indexes: { byTranscriptId: string; bySavedAt: string } };
}

/** IndexedDB-backed {@link RecordStore} plus listing for the UI. */
export class IndexedDbRecordStore implements RecordStore {
  private constructor(
    private readonly db: IDBPDatabase<CrmDb>,
    private readonly prefix: string,
  ) {}

  /** Open (or create) the database `callscribe-crm-<appId>`. @throws DOMException when IndexedDB is unavailable */
  static async open(appId: string, recordPrefix: string): Promise<IndexedDbRecordStore> {
    const db = await openDB<CrmDb>(`callscribe-crm-${appId}`, 1, {
      upgrade(d) {
        const s = d.createObjectStore("records", { keyPath: "recordId" });
        s.createIndex("byTranscriptId", "transcript.id.transcriptId", { unique: true });
        s.createIndex("bySavedAt", "savedAt");
      },
    });
    return new IndexedDbRecordStore(db, recordPrefix);
  }

  async upsert(transcript: Transcript, savedAt: string): Promise<{ record: CrmRecord; created: boolean }> {
    const tx = this.db.transaction("records", "readwrite");
    const existing = await tx.store.index("byTranscriptId").get(transcript.id.transcriptId);
    const recordId = existing?.recordId ?? `${this.prefix}-${String((await tx.store.count()) + 1).padStart(6, "0")}`;
    const record: CrmRecord = { recordId, savedAt, transcript };
    await tx.store.put(record);
    await tx.done;
    return { record, created: !existing };
  }

  /** All records, newest first. */
  async list(): Promise<CrmRecord[]> {
    const all = await this.db.getAllFromIndex("records", "bySavedAt");
    return all.reverse();
  }
}
