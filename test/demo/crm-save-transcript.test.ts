import { describe, expect, it } from "vitest";
import transcriptSchema from "../../contexts/transcript.schema.json" with { type: "json" };
import { validateContext, type Transcript } from "../../src/contracts";
import { saveTranscript, type CrmRecord, type RecordStore } from "../../src/demo/crm/saveTranscript";

/** In-memory fake of the CRM's IndexedDB store (IndexedDB does not exist in Node; the e2e test uses the real one). */
class FakeMemoryRecordStore implements RecordStore {
  readonly records = new Map<string, CrmRecord>();
  async upsert(transcript: Transcript, savedAt: string) {
    const existing = [...this.records.values()].find((r) => r.transcript.id.transcriptId === transcript.id.transcriptId);
    const record = { recordId: existing?.recordId ?? `NOTE-${String(this.records.size + 1).padStart(6, "0")}`, savedAt, transcript };
    this.records.set(record.recordId, record);
    return { record, created: !existing };
  }
}

const example = transcriptSchema.examples[0] as unknown as Transcript;
const now = () => new Date("2026-11-21T10:00:00Z");

describe("CRM SaveTranscript handler", () => {
  it("stores a valid transcript and answers Created with the record id, then Updated for the same transcript", async () => {
    const store = new FakeMemoryRecordStore();
    const first = await saveTranscript(example, store, "Notes CRM", now);
    expect(first.ok).toBe(true);
    expect(first.result).toMatchObject({ type: "fdc3.transactionResult", status: "Created", message: "Saved as NOTE-000001 in Notes CRM" });
    expect(first.result.context).toEqual({ ...example, id: { ...example.id, crmRecordId: "NOTE-000001" } });
    expect(validateContext(first.result)).toMatchObject({ valid: true });
    const second = await saveTranscript({ ...example, text: "changed" }, store, "Notes CRM", now);
    expect(second.result).toMatchObject({ status: "Updated", context: { text: "changed", id: { crmRecordId: "NOTE-000001" } } });
    expect(store.records.size).toBe(1);
  });

  it("refuses an invalid transcript or another context type with a Failed result naming the problem, storing nothing", async () => {
    const store = new FakeMemoryRecordStore();
    const bad = await saveTranscript({ ...example, segments: [{ speaker: "a", start: -1, end: 1, text: "x", confidence: 2 }] }, store, "Notes CRM");
    expect(bad.ok).toBe(false);
    expect(bad.result.status).toBe("Failed");
    expect(bad.result.message).toMatch(/^Notes CRM refused the transcript: invalid fdc3\.transcript: .*\/segments\/0\/start must be >= 0/);
    expect(validateContext(bad.result)).toMatchObject({ valid: true });
    const wrongType = await saveTranscript({ type: "fdc3.contact", id: { email: "a@b.c" } }, store, "Acme CRM");
    expect(wrongType.result.message).toBe("Acme CRM refused the transcript: context type fdc3.contact is not accepted here; expected fdc3.transcript");
    const notAnObject = await saveTranscript("hello", store, "Acme CRM");
    expect(notAnObject.result.status).toBe("Failed");
    expect(store.records.size).toBe(0);
  });

  it("answers Failed when the store fails, without throwing", async () => {
    const broken: RecordStore = { upsert: () => Promise.reject(new Error("QuotaExceededError")) };
    const out = await saveTranscript(example, broken, "Notes CRM");
    expect(out).toMatchObject({ ok: false, result: { status: "Failed", message: "Notes CRM could not store the transcript: QuotaExceededError" } });
  });
});
