import { describe, expect, it } from "vitest";
import { interactionFromTranscript, validateContext, type Interaction } from "../../src/contracts";
import { createInteraction, type InteractionRecord, type InteractionStore } from "../../src/demo/crm/createInteraction";

/** In-memory store with the IndexedDB store's rules (same Callscribe id → same record). */
class MemoryInteractionStore implements InteractionStore {
  records: InteractionRecord[] = [];
  async upsert(interaction: Interaction, savedAt: string) {
    const existing = this.records.find((r) => r.interaction.id.Callscribe === interaction.id.Callscribe);
    const record = { recordId: existing?.recordId ?? `STD-${String(this.records.length + 1).padStart(6, "0")}`, savedAt, interaction };
    this.records = [record, ...this.records.filter((r) => r !== existing)];
    return { record, created: !existing };
  }
}

const interaction = interactionFromTranscript({ type: "fdc3.transcript", id: { transcriptId: "t-1" }, source: "call", text: "hello there", language: "en", duration: 3, segments: [] });

describe("Standard CRM's CreateInteraction handler", () => {
  it("stores a valid fdc3.interaction and answers Created, then Updated for the same transcript", async () => {
    const store = new MemoryInteractionStore();
    const first = await createInteraction(interaction, store, "Standard CRM");
    expect(first.ok).toBe(true);
    expect(first.result).toMatchObject({ type: "fdc3.transactionResult", status: "Created", message: "Saved interaction STD-000001 in Standard CRM", context: { type: "fdc3.interaction", id: { Callscribe: "t-1", StandardCRM: "STD-000001" } } });
    expect(validateContext(first.result).valid).toBe(true);
    const again = await createInteraction(interaction, store, "Standard CRM");
    expect(again.result.status).toBe("Updated");
    expect(store.records).toHaveLength(1);
  });

  it("refuses another context type or an invalid interaction with a Failed result naming the problem", async () => {
    const store = new MemoryInteractionStore();
    const wrongType = await createInteraction({ type: "fdc3.transcript", id: { transcriptId: "x" } }, store, "Standard CRM");
    expect(wrongType.result).toMatchObject({ status: "Failed" });
    expect(wrongType.result.message).toContain("fdc3.transcript is not accepted here");
    const { description: _d, ...noDescription } = interaction;
    const invalid = await createInteraction(noDescription, store, "Standard CRM");
    expect(invalid.result.message).toContain("must have required property 'description'");
    expect(store.records).toHaveLength(0);
  });

  it("turns a storage failure into a Failed result", async () => {
    const out = await createInteraction(interaction, { upsert: () => Promise.reject(new Error("disk full")) }, "Standard CRM");
    expect(out.result).toEqual({ type: "fdc3.transactionResult", status: "Failed", message: "Standard CRM could not store the interaction: disk full" });
  });
});
