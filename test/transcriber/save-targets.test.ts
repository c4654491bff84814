import { describe, expect, it } from "vitest";
import { planSave, saveTargets, targetLabel } from "../../src/transcriber/fdc3/save-targets";

const titles = { "acme-crm": "Acme CRM", "notes-crm": "Notes CRM", "standard-crm": "Standard CRM", "both-crm": "Both CRM" };

describe("saveTargets / planSave", () => {
  it("SaveTranscript apps only: the desktop's resolver picks, as before", () => {
    const targets = saveTargets({ apps: [{ appId: "notes-crm" }, { appId: "acme-crm" }] }, { apps: [] }, titles);
    expect(planSave(targets)).toEqual({ kind: "resolver", intent: "SaveTranscript" });
  });

  it("CreateInteraction apps only (no SaveTranscript handler): CreateInteraction via the resolver", () => {
    expect(planSave(saveTargets({ apps: [] }, { apps: [{ appId: "standard-crm" }] }, titles))).toEqual({ kind: "resolver", intent: "CreateInteraction" });
    expect(planSave(saveTargets(undefined, { apps: [{ appId: "standard-crm" }] }, titles))).toEqual({ kind: "resolver", intent: "CreateInteraction" });
  });

  it("no app at all: none", () => expect(planSave(saveTargets({ apps: [] }, { apps: [] }))).toEqual({ kind: "none" }));

  it("both kinds: the chooser lists each app once with its intent, SaveTranscript apps first, by title", () => {
    const plan = planSave(
      saveTargets(
        { apps: [{ appId: "notes-crm" }, { appId: "acme-crm" }, { appId: "acme-crm", instanceId: "i-1" }] },
        { apps: [{ appId: "standard-crm" }] },
        titles,
      ),
    );
    expect(plan.kind).toBe("choose");
    if (plan.kind !== "choose") return;
    expect(plan.targets.map((t) => [t.appId, t.intent, t.instanceId])).toEqual([
      ["acme-crm", "SaveTranscript", "i-1"],
      ["notes-crm", "SaveTranscript", undefined],
      ["standard-crm", "CreateInteraction", undefined],
    ]);
    expect(plan.targets.map(targetLabel)).toEqual(["Acme CRM — Save Transcript (open window)", "Notes CRM — Save Transcript (new window)", "Standard CRM — Create Interaction (new window)"]);
  });

  it("an app that handles both gets SaveTranscript only; unknown titles show the appId", () => {
    const targets = saveTargets({ apps: [{ appId: "both-crm" }] }, { apps: [{ appId: "both-crm", instanceId: "x" }, { appId: "other" }] }, titles);
    expect(targets.map((t) => [t.appId, t.intent, t.title])).toEqual([
      ["both-crm", "SaveTranscript", "Both CRM"],
      ["other", "CreateInteraction", "other"],
    ]);
    expect(targets[0]!.instanceId).toBeUndefined(); // its instance listens for CreateInteraction, not SaveTranscript
  });
});
