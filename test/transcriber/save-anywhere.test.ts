/**
 * saveTranscriptAnywhere (issue 10 §2) against a fake desktop agent (FakeSaveAgent): @finos/fdc3
 * 2.2.1-beta.2 only runs bundled in a browser (DESIGN §7); the real agent is in the e2e flow.
 * The fake answers findIntent from a fixed list and records what is raised, to whom.
 */
import { describe, expect, it } from "vitest";
import { validateContext, type Transcript } from "../../src/contracts";
import { saveTranscriptAnywhere } from "../../src/transcriber/fdc3/wiring";
import { SaveCancelledError } from "../../src/transcriber/session/controller";

class FakeSaveAgent {
  raised: { intent: string; context: any; target?: any }[] = [];
  constructor(private readonly handlers: Record<string, { appId: string; instanceId?: string }[]>) {}
  async findIntent(intent: string) {
    const apps = this.handlers[intent] ?? [];
    if (apps.length === 0) throw new Error("NoAppsFound");
    return { intent: { name: intent }, apps };
  }
  async getAppMetadata(app: { appId: string }) {
    return { appId: app.appId, title: app.appId.replace(/-crm$/, "").toUpperCase() + " CRM" };
  }
  async raiseIntent(intent: string, context: any, target?: any) {
    this.raised.push({ intent, context, target });
    const appId = target?.appId ?? this.handlers[intent]![0]!.appId;
    return { source: { appId, instanceId: "i-9" }, getResult: async () => ({ type: "fdc3.transactionResult", status: "Created", message: `kept by ${appId}` }) };
  }
}

const transcript: Transcript = { type: "fdc3.transcript", id: { transcriptId: "t-5" }, source: "call", text: "we agreed on friday", language: "en", duration: 4, segments: [] };
const never = async () => {
  throw new Error("the chooser must not open");
};

describe("saveTranscriptAnywhere", () => {
  it("raises CreateInteraction with a valid fdc3.interaction when no app handles SaveTranscript", async () => {
    const agent = new FakeSaveAgent({ CreateInteraction: [{ appId: "standard-crm" }] });
    const out = await saveTranscriptAnywhere(agent as never, transcript, never);
    expect(out).toEqual({ appId: "standard-crm", appTitle: "STANDARD CRM", status: "Created", message: "kept by standard-crm", intent: "CreateInteraction" });
    expect(agent.raised).toHaveLength(1);
    expect(agent.raised[0]!.target).toBeUndefined();
    expect(agent.raised[0]!.context).toMatchObject({ type: "fdc3.interaction", interactionType: "Call", id: { Callscribe: "t-5" } });
    expect(validateContext(agent.raised[0]!.context).valid).toBe(true);
  });

  it("raises SaveTranscript through the resolver when only SaveTranscript apps exist", async () => {
    const agent = new FakeSaveAgent({ SaveTranscript: [{ appId: "notes-crm" }, { appId: "acme-crm" }] });
    const out = await saveTranscriptAnywhere(agent as never, transcript, never);
    expect(out.intent).toBe("SaveTranscript");
    expect(agent.raised.map((r) => [r.intent, r.context.type, r.target])).toEqual([["SaveTranscript", "fdc3.transcript", undefined]]);
  });

  it("with both kinds, asks the chooser and raises the chosen app's intent to it", async () => {
    const agent = new FakeSaveAgent({ SaveTranscript: [{ appId: "notes-crm" }, { appId: "notes-crm", instanceId: "n-1" }], CreateInteraction: [{ appId: "standard-crm" }] });
    let offered: string[] = [];
    const out = await saveTranscriptAnywhere(agent as never, transcript, async (targets) => {
      offered = targets.map((t) => `${t.title}/${t.intent}`);
      return targets.find((t) => t.intent === "CreateInteraction");
    });
    expect(offered).toEqual(["NOTES CRM/SaveTranscript", "NOTES CRM/SaveTranscript", "STANDARD CRM/CreateInteraction"]);
    expect(out).toMatchObject({ appId: "standard-crm", intent: "CreateInteraction", status: "Created" });
    expect(agent.raised[0]).toMatchObject({ intent: "CreateInteraction", target: { appId: "standard-crm" } });

    await saveTranscriptAnywhere(agent as never, transcript, async (targets) => targets[0]);
    expect(agent.raised[1]).toMatchObject({ intent: "SaveTranscript", target: { appId: "notes-crm", instanceId: "n-1" } });
  });

  it("closing the chooser is a cancel, not a failure; no app at all is a clear error", async () => {
    const both = new FakeSaveAgent({ SaveTranscript: [{ appId: "notes-crm" }], CreateInteraction: [{ appId: "standard-crm" }] });
    await expect(saveTranscriptAnywhere(both as never, transcript, async () => undefined)).rejects.toBeInstanceOf(SaveCancelledError);
    expect(both.raised).toHaveLength(0);
    await expect(saveTranscriptAnywhere(new FakeSaveAgent({}) as never, transcript, never)).rejects.toThrow(/no app can save a transcript/);
  });
});
