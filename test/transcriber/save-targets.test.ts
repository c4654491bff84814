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

  it("both kinds: the chooser lists open windows and a new window per app, with the intent, SaveTranscript apps first, by title", () => {
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
      ["acme-crm", "SaveTranscript", undefined],
      ["notes-crm", "SaveTranscript", undefined],
      ["standard-crm", "CreateInteraction", undefined],
    ]);
    expect(plan.targets.map(targetLabel)).toEqual([
      "Acme CRM (the open window) · Save Transcript",
      "Acme CRM (new window) · Save Transcript",
      "Notes CRM (new window) · Save Transcript",
      "Standard CRM (new window) · Create Interaction",
    ]);
    expect(new Set(plan.targets.map((t) => t.key)).size).toBe(4);
  });

  it("numbers several open windows of one app", () => {
    const targets = saveTargets({ apps: [{ appId: "notes-crm", instanceId: "a" }, { appId: "notes-crm", instanceId: "b" }, { appId: "notes-crm", instanceId: "a" }] }, undefined, titles);
    expect(targets.map(targetLabel)).toEqual(["Notes CRM (open window 1) · Save Transcript", "Notes CRM (open window 2) · Save Transcript", "Notes CRM (new window) · Save Transcript"]);
  });

  it("an app that handles both gets SaveTranscript only; unknown titles show the appId", () => {
    const targets = saveTargets({ apps: [{ appId: "both-crm" }] }, { apps: [{ appId: "both-crm", instanceId: "x" }, { appId: "other" }] }, titles);
    expect(targets.map((t) => [t.appId, t.intent, t.title, t.instanceId])).toEqual([
      ["both-crm", "SaveTranscript", "Both CRM", undefined], // its open window listens for CreateInteraction, not SaveTranscript
      ["other", "CreateInteraction", "other", undefined],
    ]);
  });
});
