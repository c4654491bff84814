import { describe, expect, it } from "vitest";
import { narrowTo, needsUserChoice, resolverOptions } from "../../src/desktop-agent/resolverOptions";
import { appUrlKey, isSameAppUrl } from "../../src/desktop-agent/appUrl";

const save = { name: "SaveTranscript", displayName: "Save Transcript" };

describe("host intent resolver options", () => {
  it("asks the user when two apps can handle the intent, and lists each once", () => {
    const appIntents = [{ intent: save, apps: [{ appId: "acme-crm" }, { appId: "notes-crm" }, { appId: "notes-crm" }] }];
    expect(needsUserChoice(appIntents)).toBe(true);
    expect(resolverOptions(appIntents).map((o) => o.key)).toEqual(["SaveTranscript|acme-crm|", "SaveTranscript|notes-crm|"]);
  });

  it("delivers without asking to the single app, or to its single running instance", () => {
    expect(needsUserChoice([{ intent: save, apps: [{ appId: "notes-crm" }] }])).toBe(false);
    expect(needsUserChoice([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }, { appId: "notes-crm" }] }])).toBe(false);
  });

  it("asks when an app has two running instances, and offers running windows before a new one", () => {
    const appIntents = [{ intent: save, apps: [{ appId: "notes-crm" }, { appId: "notes-crm", instanceId: "i1" }, { appId: "notes-crm", instanceId: "i2" }] }];
    expect(needsUserChoice(appIntents)).toBe(true);
    expect(resolverOptions(appIntents).map((o) => o.instanceId ?? "new")).toEqual(["i1", "i2", "new"]);
  });

  it("asks when several intents match a context (raiseIntentForContext)", () => {
    const start = { name: "StartTranscription" };
    expect(needsUserChoice([{ intent: start, apps: [{ appId: "transcriber" }] }, { intent: save, apps: [{ appId: "notes-crm" }] }])).toBe(true);
  });

  it("narrows to exactly the chosen app or instance", () => {
    const [running] = resolverOptions([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }] }]);
    expect(narrowTo(running!)).toEqual([{ intent: save, apps: [{ appId: "notes-crm", instanceId: "i1" }] }]);
    const [fresh] = resolverOptions([{ intent: save, apps: [{ appId: "acme-crm" }] }]);
    expect(narrowTo(fresh!)).toEqual([{ intent: save, apps: [{ appId: "acme-crm" }] }]);
  });
});

describe("app identity URLs", () => {
  const record = "http://127.0.0.1:8787/transcriber/";
  it("treats a directory path and its index.html, with any query or hash, as the same app", () => {
    expect(isSameAppUrl("http://127.0.0.1:8787/transcriber/index.html?x=1#y", record)).toBe(true);
    expect(appUrlKey("/demo/crm/notes.html", "http://localhost:1")).toBe("http://localhost:1/demo/crm/notes.html");
  });
  it("rejects another path, another origin, and non-URLs", () => {
    expect(isSameAppUrl("http://127.0.0.1:8787/demo/softphone/", record)).toBe(false);
    expect(isSameAppUrl("http://localhost:8787/transcriber/", record)).toBe(false);
    expect(isSameAppUrl("not a url", record)).toBe(false);
    expect(isSameAppUrl(undefined, record)).toBe(false);
  });
});
