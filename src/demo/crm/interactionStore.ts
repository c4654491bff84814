/**
 * The Standard CRM's interactions in IndexedDB (via `idb`), database `callscribe-crm-standard-crm`.
 * Record ids are `STD-<6 digits>` in save order; an interaction with the same `id.Callscribe`
 * (the same transcript saved again) replaces its record.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { INTERACTION_ID_KEY, type Interaction } from "../../contracts";
import type { InteractionRecord, InteractionStore } from "./createInteraction";

interface StdDb extends DBSchema {
  interactions: { key: string; value: InteractionRecord & { sourceId: string }; indexes: { bySourceId: string; bySavedAt: string } };
}

/** IndexedDB-backed {@link InteractionStore} plus listing for the UI. */
export class IndexedDbInteractionStore implements InteractionStore {
  private constructor(private readonly db: IDBPDatabase<StdDb>) {}

  /** @throws DOMException when IndexedDB is unavailable */
  static async open(appId: string): Promise<IndexedDbInteractionStore> {
    const db = await openDB<StdDb>(`callscribe-crm-${appId}`, 1, {
      upgrade(d) {
        const s = d.createObjectStore("interactions", { keyPath: "recordId" });
        s.createIndex("bySourceId", "sourceId");
        s.createIndex("bySavedAt", "savedAt");
      },
    });
    return new IndexedDbInteractionStore(db);
  }

  async upsert(interaction: Interaction, savedAt: string): Promise<{ record: InteractionRecord; created: boolean }> {
    const tx = this.db.transaction("interactions", "readwrite");
    const sourceId = (interaction.id as Record<string, string> | undefined)?.[INTERACTION_ID_KEY];
    const existing = sourceId ? await tx.store.index("bySourceId").get(sourceId) : undefined;
    const recordId = existing?.recordId ?? `STD-${String((await tx.store.count()) + 1).padStart(6, "0")}`;
    const record: InteractionRecord = { recordId, savedAt, interaction };
    // Without a Callscribe id an interaction is always new: key it by its own record id.
    await tx.store.put({ ...record, sourceId: sourceId ?? `record:${recordId}` });
    await tx.done;
    return { record, created: !existing };
  }

  /** All records, newest first. */
  async list(): Promise<InteractionRecord[]> {
    const all = await this.db.getAllFromIndex("interactions", "bySavedAt");
    return all.reverse().map(({ recordId, savedAt, interaction }) => ({ recordId, savedAt, interaction }));
  }
}
