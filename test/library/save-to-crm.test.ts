/**
 * The Library's Save to CRM (saveToCrm: the transcriber's saveTranscriptAnywhere plus the whole
 * fdc3.transactionResult for the save history) against a fake desktop agent (FakeCrmAgent):
 * @finos/fdc3 2.2.1-beta.2 only runs bundled in a browser (DESIGN §7); the real agent and the
 * real Standard CRM are in test/e2e/library.test.ts. The fake answers findIntent from a fixed
 * list, records what is raised, and answers each intent with a result built from what it got.
 */
import { describe, expect, it } from "vitest";
import { interactionFromTranscript, validateContext, type Transcript } from "../../src/contracts";
import { saveToCrm } from "../../src/library/fdc3/wiring";
import { SaveCancelledError } from "../../src/transcriber/session/save-outcome";

class FakeCrmAgent {
  raised: { intent: string; context: any; target?: any }[] = [];
  constructor(
    private readonly handlers: Record<string, string[]>,
    private readonly answer: (intent: string, context: any) => unknown = (_i, context) => ({ type: "fdc3.transactionResult", status: "Created", context: { ...context, id: { ...context.id, StandardCRM: "STD-000007" } }, message: "Saved interaction STD-000007" }),
  ) {}
  async findIntent(intent: string) {
    const apps = (this.handlers[intent] ?? []).map((appId) => ({ appId }));
    if (apps.length === 0) throw new Error("NoAppsFound");
    return { intent: { name: intent }, apps };
  }
  async getAppMetadata(app: { appId: string }) {
    return { appId: app.appId, title: app.appId === "standard-crm" ? "Standard CRM" : "Notes CRM" };
  }
  async raiseIntent(intent: string, context: any, target?: any) {
    this.raised.push({ intent, context, target });
    const appId = target?.appId ?? this.handlers[intent]![0]!;
    return { source: { appId, instanceId: "i-1" }, getResult: async () => this.answer(intent, context) };
  }
}

const transcript: Transcript = {
  type: "fdc3.transcript",
  id: { transcriptId: "t-lib-3", callId: "c-3" },
  source: "call",
  participants: { type: "fdc3.contactList", contacts: [{ type: "fdc3.contact", name: "Edward Ferrars", id: { email: "edward@example.com" } }] },
  timeRange: { type: "fdc3.timeRange", startTime: "2026-11-11T09:00:00.000Z", endTime: "2026-11-11T09:00:06.000Z" },
  text: "the parcel arrives on friday",
  language: "en",
  duration: 6,
  segments: [],
};
const never = async () => {
  throw new Error("the chooser must not open");
};

describe("saveToCrm (Library)", () => {
  it("with only a CreateInteraction CRM, raises CreateInteraction with the transcript's fdc3.interaction and returns the whole result", async () => {
    const agent = new FakeCrmAgent({ CreateInteraction: ["standard-crm"] });
    const r = await saveToCrm(agent as never, transcript, never);
    expect(agent.raised.map((x) => [x.intent, x.target])).toEqual([["CreateInteraction", undefined]]);
    // The same builder as the transcriber: the raised context is interactionFromTranscript's.
    expect(agent.raised[0]!.context).toEqual(interactionFromTranscript(transcript));
    expect(agent.raised[0]!.context.interactionType).toBe("Call");
    expect(r).toMatchObject({ appId: "standard-crm", appTitle: "Standard CRM", intent: "CreateInteraction", status: "Created", message: "Saved interaction STD-000007" });
    // What goes to POST /v1/transcripts/:id/saves: the CRM's answer itself, a valid fdc3.transactionResult.
    expect(r.result).toMatchObject({ type: "fdc3.transactionResult", context: { type: "fdc3.interaction", id: { Callscribe: "t-lib-3", StandardCRM: "STD-000007" } } });
    expect(validateContext(r.result).valid).toBe(true);
  });

  it("with only SaveTranscript CRMs, raises SaveTranscript with the transcript for the resolver", async () => {
    const agent = new FakeCrmAgent({ SaveTranscript: ["notes-crm"] }, () => ({ type: "fdc3.transactionResult", status: "Created", message: "Saved as NOTE-000001" }));
    const r = await saveToCrm(agent as never, transcript, never);
    expect(agent.raised.map((x) => [x.intent, x.context.type, x.target])).toEqual([["SaveTranscript", "fdc3.transcript", undefined]]);
    expect(r).toMatchObject({ appId: "notes-crm", intent: "SaveTranscript", status: "Created", result: { type: "fdc3.transactionResult", message: "Saved as NOTE-000001" } });
  });

  it("with both kinds, the chooser decides; closing it cancels; an invalid answer is an error, not a save", async () => {
    const both = new FakeCrmAgent({ SaveTranscript: ["notes-crm"], CreateInteraction: ["standard-crm"] });
    let offered: string[] = [];
    const r = await saveToCrm(both as never, transcript, async (targets) => {
      offered = targets.map((t) => `${t.appId} ${t.intent}`);
      return targets.find((t) => t.appId === "standard-crm");
    });
    expect(offered).toEqual(["notes-crm SaveTranscript", "standard-crm CreateInteraction"]);
    expect(r.intent).toBe("CreateInteraction");
    expect(both.raised.at(-1)).toMatchObject({ intent: "CreateInteraction", target: { appId: "standard-crm" } });
    await expect(saveToCrm(both as never, transcript, async () => undefined)).rejects.toBeInstanceOf(SaveCancelledError);
    expect(both.raised).toHaveLength(1);

    const bad = new FakeCrmAgent({ CreateInteraction: ["standard-crm"] }, () => ({ type: "fdc3.transactionResult", status: 42 }));
    await expect(saveToCrm(bad as never, transcript, never)).rejects.toThrow(/CreateInteraction via standard-crm: standard-crm returned an invalid result/);
  });
});
